"""Reports -> Markdown, self-contained HTML, or CSV. Escaped and injection-safe.

Markdown and HTML are drawn from one list of `Section`s (heading, note,
table, chart), so both carry the same content; HTML adds inline SVG charts
(`harness.report.charts`) and a Content-Security-Policy that forbids scripts and
network requests, so the file opens offline and can be mailed. Every piece
of data is escaped: `html.escape` in HTML, backslash escapes in Markdown,
and a leading `'` before CSV cells a spreadsheet would run as a formula.

CSV is one table: a `section` column, then the union of the sections'
columns (English names, stable for scripts), one row per table row.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from html import escape
from typing import IO

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.files.write import safe_cell
from harness.grade.schema import LIST_SEP
from harness.report.candidate import CandidateReport
from harness.report.charts import score_color
from harness.report.cohort import CohortReport
from harness.report.document import Cell, Document, Section
from harness.report.formats import FORMATS
from harness.report.labels import labels
from harness.report.layout import layout
from harness.report.progress import ProgressReport

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_MD_LEADING = re.compile(r"^([#>=]|[-+*](?=\s)|\d+(?=[.)]\s))")
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
CSP = "default-src 'none'; style-src 'unsafe-inline'"
_FONTS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "PingFang SC", '
    '"Hiragino Sans GB", "Microsoft YaHei", sans-serif'
)
CSS = (
    ":root{color-scheme:light}"
    f"body{{margin:0;background:#f6f7f9;color:#1f2937;font:15px/1.5 {_FONTS}}}"
    "main{max-width:1040px;margin:0 auto;padding:24px 28px 48px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 8px}"
    ".meta p{margin:0;color:#4b5563}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}"
    ".card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:10px 16px;min-width:130px}"
    ".card .k{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.03em}"
    ".card .v{font-size:24px;font-weight:600}"
    "section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px 20px;margin:14px 0;"
    "break-inside:avoid}"
    ".note,.empty{color:#4b5563;margin:0 0 10px}figure{margin:8px 0 12px;overflow-x:auto}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}"
    "th{background:#f9fafb;font-weight:600;white-space:nowrap}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".sub{color:#6b7280;font-size:13px}details summary{cursor:pointer;color:#374151;margin:4px 0}"
    ".chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;"
    "vertical-align:baseline;border:1px solid rgba(0,0,0,.15)}"
    f"svg.chart{{display:block;font:13px {_FONTS};overflow:visible}}"
    "svg .grid{stroke:#e5e7eb;stroke-width:1}svg .tick,svg .muted{fill:#6b7280;font-size:12px}"
    "svg .bar{stroke:rgba(0,0,0,.28);stroke-width:1}svg .value{font-weight:600;fill:#374151}"
    "svg .head{font-size:12px;font-weight:600;fill:#374151}"
    "svg .num{font-size:12px}svg .line{fill:none;stroke-width:2.2}"
    "svg .whisker{stroke:#374151;stroke-width:1.5;fill:none}"
    "@media print{body{background:#fff}section{border:0}}"
)


Report = CandidateReport | CohortReport | ProgressReport


def render(report: Report, fmt: str, *, lang: str = "en") -> str:
    """The report as text in `fmt` ("md", "html" or "csv").

    Raises:
        HarnessError: an unknown format or language.

    """
    if fmt == "csv":
        return csv_text(report)
    if fmt not in FORMATS:
        raise HarnessError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    charts = fmt == "html"  # Markdown draws no charts
    if isinstance(report, ProgressReport):
        from harness.report.progress_layout import progress_document

        doc = progress_document(report, labels(lang), lang, charts=charts)
    else:
        doc = layout(report, labels(lang), lang=lang, charts=charts)
    return html(doc) if fmt == "html" else markdown(doc)


# --- Markdown -----------------------------------------------------------------


def md_escape(text: str, *, line: bool = False) -> str:
    """Text safe in a Markdown table cell (with `line`, as a paragraph): one line, specials escaped."""
    flat = _MD_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split())))
    return _MD_LEADING.sub(r"\\\1", flat) if line else flat


def _md_cell(cell: Cell, memo: dict[str, str]) -> str:
    """A table cell (a tuple joined by " / "); `memo` keeps escapes, since tables repeat their values."""
    if isinstance(cell, str):
        done = memo.get(cell)
        if done is None:
            done = memo[cell] = md_escape(cell)
        return done
    return " / ".join(_md_cell(p, memo) for p in cell if p)


def markdown(doc: Document) -> str:
    """The document as GitHub-flavoured Markdown."""
    out = [f"# {md_escape(doc.title)}", ""]
    memo: dict[str, str] = {}
    out += [md_escape(line, line=True) + "  " for line in doc.lines] + [""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        if s.note:
            out += [s.note, ""]
        if not s.rows:
            out += [s.empty, ""] if s.empty else []
            continue
        out.append("| " + " | ".join(md_escape(h) for h in s.headers) + " |")
        out.append("|" + "|".join("---:" if i in s.numeric else "---" for i in range(len(s.headers))) + "|")
        out += ["| " + " | ".join([_md_cell(c, memo) for c in row]) + " |" for row in s.rows]
        out.append("")
    return "\n".join(out)


# --- HTML ---------------------------------------------------------------------


def _html_cell(cell: Cell, *, is_score: bool) -> str:
    if isinstance(cell, tuple):
        first, *rest = [c for c in cell if c] or [""]
        return escape(first) + "".join(f'<br><span class="sub">{escape(r)}</span>' for r in rest)
    if is_score and cell not in ("", "—"):
        try:
            value = float(cell)
        except ValueError:
            return escape(cell)
        return f'<span class="chip" style="background:{score_color(value)}"></span>{escape(cell)}'
    return escape(cell)


def _html_table(s: Section) -> str:
    head = "".join(
        f"<th{' class=num' if i in s.numeric else ''}>{escape(h)}</th>" for i, h in enumerate(s.headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in s.numeric else ''}>{_html_cell(c, is_score=i in s.score)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in s.rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if s.fold_label:
        return f"<details><summary>{escape(s.fold_label)}</summary>{table}</details>"
    return table


def _html_section(s: Section) -> str:
    parts = [f"<section><h2>{escape(s.title)}</h2>"]
    if s.note:
        parts.append(f'<p class="note">{escape(s.note)}</p>')
    if s.chart:
        parts.append(f"<figure>{s.chart}</figure>")
    if s.rows:
        parts.append(f'<div class="scroll">{_html_table(s)}</div>')
    elif s.empty:
        parts.append(f'<p class="empty">{escape(s.empty)}</p>')
    parts.append("</section>")
    return "".join(parts)


def html(doc: Document) -> str:
    """The document as one self-contained HTML page: inline CSS and SVG, no scripts, no requests."""
    cards = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div></div>'
        for k, v in doc.cards
    )
    lines = "".join(f"<p>{escape(line)}</p>" for line in doc.lines)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-CN" if doc.lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(doc.title)}</title><style>{CSS}</style></head>"
        f'<body><main><header><h1>{escape(doc.title)}</h1><div class="meta">{lines}</div></header>'
        f'<div class="cards">{cards}</div>'
        + "".join(_html_section(s) for s in doc.sections)
        + "</main></body></html>\n"
    )


# --- CSV ----------------------------------------------------------------------


def csv_safe(value: object) -> object:
    """A string a spreadsheet would run as a formula gets a leading `'` (`csvfile.safe_cell`); other values pass."""
    return safe_cell(value) if isinstance(value, str) else value


def _tables(report: Report) -> Mapping[str, pd.DataFrame]:
    """The report's tables by section name; the first, `summary`, holds its single values."""
    values = {f.name: getattr(report, f.name) for f in fields(report) if f.name not in ("run", "labels", "shared")}
    summary = pd.DataFrame([{k: v for k, v in values.items() if not isinstance(v, pd.DataFrame)}])
    if isinstance(report, ProgressReport):
        return _progress_tables(report, summary)
    if isinstance(report, CandidateReport):
        return {
            "summary": summary,
            "topics": report.topics,
            "missed_points": report.missed_points,
            "next_questions": report.next_questions,
            "progress": report.progress,
            "to_check": _joined(report.to_check),
        }
    run = report.run
    if run is not None:
        facts = {f"run_{k}": v for k, v in asdict(run).items() if k not in ("problems", "columns")}
        summary = summary.assign(**{k: [v] for k, v in facts.items()})
    wide = report.person_topic.set_index("person")
    people = wide["overall"].rename("mean").reset_index()
    long = wide.drop(columns="overall").stack().rename("mean").rename_axis(["person", "topic"]).reset_index()
    tables = {
        "summary": summary,
        "topics": report.topics,
        "people": people,
        "person_topic": long,
        "hardest": report.hardest,
        "negative_discrimination": report.negative,
        "missed_points": report.missed_points,
        "misconceptions": report.misconceptions,
        "attention": report.attention,
        "to_review": _joined(report.to_review),
        "problems": pd.DataFrame({"problem": list(run.problems if run else ())}),
    }
    if run is not None and run.columns:
        tables["columns"] = pd.DataFrame(list(run.columns), columns=["column", "read_as", "how"])
    return tables


def _joined(table: pd.DataFrame) -> pd.DataFrame:
    """A review table with its reason codes in one cell, as scores.csv writes them."""
    return table.assign(review=[LIST_SEP.join(r) for r in table["review"]])


def _progress_tables(report: ProgressReport, summary: pd.DataFrame) -> Mapping[str, pd.DataFrame]:
    """A progress report's tables; `summary` adds the runs compared and the shared questions."""
    summary = summary.assign(runs=len(report.labels), shared_questions=len(report.shared),
                             people_every_run=int((report.people["status"] == "every").sum()))
    return {
        "summary": summary,
        "runs": report.runs,
        "differences": report.differences,
        "topics": report.topics,
        "people": report.people,
        "person_topic": report.person_topic,
        "improved": report.improved,
        "declined": report.declined,
        "questions": report.questions,
        "points_better": report.points_better,
        "points_worse": report.points_worse,
    }


def csv_cell(value: object) -> str:
    """One CSV cell: "" for missing, whole numbers without a point, at most 3 decimals, ISO times, safe text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return str(csv_safe(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if float(value).is_integer():
            return str(int(value))
        text = f"{value:.3f}".rstrip("0").rstrip(".")  # 50.0000001 -> "50", not "50."
        return "0" if text == "-0" else text
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if value is pd.NA:
        return ""
    return str(value)


def csv_text(report: Report) -> str:
    """Every table of the report in one CSV text, a `section` column first (see `write_csv`)."""
    buffer = io.StringIO()
    write_csv(report, buffer)
    return buffer.getvalue()


def write_csv(report: Report, out: IO[str]) -> None:
    """Write every table of the report to `out` as CSV, a `section` column first.

    The columns are the union of the tables'; rows are written one at a time,
    so a large table (every flagged answer of a big cohort) is never held
    again as text.
    """
    tables = [(name, table) for name, table in _tables(report).items() if len(table)]
    columns = ["section", *dict.fromkeys(c for _, t in tables for c in t.columns if c != "section")]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    blank = [""] * len(columns)
    for name, table in tables:
        at = [(k, columns.index(c)) for k, c in enumerate(table.columns) if c != "section"]
        for values in table.itertuples(index=False, name=None):
            row = blank.copy()
            row[0] = name
            for k, i in at:
                row[i] = csv_cell(values[k])
            writer.writerow(row)
