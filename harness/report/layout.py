"""A report laid out as sections of text, tables and charts, in one language.

`layout` turns a `CandidateReport` or `CohortReport` into a `Document` that
`render.markdown` and `render.html` both draw, so the two formats carry the
same content. Cells hold raw text; the renderers escape it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from harness.grade.tally import PASS_MARK
from harness.report.candidate import CandidateReport
from harness.report.charts import Bar, Series, bar_chart, heatmap, line_chart
from harness.report.cohort import CohortReport

Cell = str | tuple[str, ...]
L = Mapping[str, str]


@dataclass(frozen=True)
class Section:
    """One block of a report.

    `numeric` and `score` hold column indexes (right-aligned; score chips);
    a `fold_label` folds the table under that label in HTML (a chart shows it).
    """

    title: str
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""
    empty: str = ""
    numeric: frozenset[int] = frozenset()
    score: frozenset[int] = frozenset()
    chart: str = ""
    fold_label: str = ""


@dataclass(frozen=True)
class Document:
    """A report laid out: title, summary lines, cards (label, value) and sections."""

    title: str
    lines: tuple[str, ...]
    cards: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    lang: str


def num(value: object, digits: int = 0) -> str:
    """A number for display; an em dash for a missing one."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def signed(value: float) -> str:
    """A change with its sign (+5, -3, 0); an em dash for a missing one."""
    if math.isnan(value):
        return "—"
    return f"{value:+.0f}" if round(value) else "0"


def day(value: datetime | pd.Timestamp | None) -> str:
    """The UTC date, or an em dash."""
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def layout(report: CandidateReport | CohortReport, words: L, *, lang: str) -> Document:
    """The report's document in the language of `words` (see `report_labels.labels`)."""
    if isinstance(report, CandidateReport):
        return _candidate(report, words, lang)
    return _cohort(report, words, lang)


def _when(report: CandidateReport | CohortReport, w: L) -> str:
    return w["generated"].format(when=pd.Timestamp(report.generated_at).strftime("%Y-%m-%d %H:%M"))


# --- candidate ------------------------------------------------------------------


def _candidate(r: CandidateReport, w: L, lang: str) -> Document:
    practised = r.topics[r.topics["attempts"] > 0]
    lines = [
        _when(r, w),
        w["c_summary"].format(
            attempts=r.attempts, questions=r.questions, bank=r.bank_questions or r.questions, mean=num(r.mean)
        ),
    ]
    if r.first_attempt is not None:
        lines.append(w["c_span"].format(first=day(r.first_attempt), last=day(r.last_attempt)))
    cards = (
        (w["mean_latest"], num(r.mean)),
        (w["attempts"], str(r.attempts)),
        (w["questions"], f"{r.questions}/{r.bank_questions or r.questions}"),
        (w["weakest_topic"], str(practised["topic"].iloc[0]) if len(practised) else "—"),
    )
    sections = (
        _candidate_topics(r, w),
        _candidate_points(r, w),
        _candidate_next(r, w),
        _candidate_progress(r, w),
    )
    return Document(w["candidate_title"].format(user=r.user), tuple(lines), cards, sections, lang)


def _candidate_topics(r: CandidateReport, w: L) -> Section:
    bars = [
        Bar(str(t.topic), float(t.mean), note="" if t.attempts else w["not_practised"])
        for t in r.topics.itertuples()
    ]
    rows = tuple(
        (
            str(i),
            str(t.topic),
            num(t.mean),
            f"{t.questions}/{num(t.bank_questions)}" if not pd.isna(t.bank_questions) else str(t.questions),
            str(t.attempts),
            signed(t.trend),
            day(t.last_practised),
        )
        for i, t in enumerate(r.topics.itertuples(), 1)
    )
    return Section(
        w["topics_head"],
        ("#", w["topic"], w["mean"], w["questions"], w["attempts"], w["trend"], w["last_practised"]),
        rows,
        numeric=frozenset({0, 2, 3, 4, 5}),
        score=frozenset({2}),
        chart=bar_chart(bars, title=w["bar_chart"]) if bars else "",
        empty=w["no_data"],
    )


def _candidate_points(r: CandidateReport, w: L) -> Section:
    rows = tuple(
        (
            str(p.topic),
            (str(p.title), str(p.question_id)),
            (str(p.statement), str(p.statement_en)),
            (
                w["status_" + str(p.latest_status)]
                if "status_" + str(p.latest_status) in w
                else str(p.latest_status),
                w["missed_of"].format(missed=p.missed, partial=p.partial, seen=p.seen),
            ),
            str(p.closest),
        )
        for p in r.missed_points.itertuples()
    )
    return Section(
        w["points_head"],
        (w["topic"], w["key_point"], w["statement"], w["latest"], w["closest"]),
        rows,
        note=w["points_note"],
        empty=w["no_points"] if r.attempts else w["no_data"],
    )


def _candidate_next(r: CandidateReport, w: L) -> Section:
    rows = tuple(
        (
            str(n.rank),
            str(n.question_id),
            str(n.topic),
            w.get("reason_" + str(n.reason), str(n.reason)),
            num(n.last_score),
            str(n.prompt),
        )
        for n in r.next_questions.itertuples()
    )
    return Section(
        w["next_head"],
        ("#", w["question"], w["topic"], w["why"], w["last_score"], w["prompt"]),
        rows,
        note=w["next_note"],
        numeric=frozenset({0, 4}),
        score=frozenset({4}),
        empty=w["none"],
    )


def daily_progress(progress: pd.DataFrame, topics: list[str]) -> pd.DataFrame:
    """Per UTC day with practice: each topic's latest-per-question mean at the day's end, and overall."""
    if progress.empty:
        return pd.DataFrame(columns=["date", *topics, "overall"])
    frame = progress.assign(date=progress["submitted_at"].dt.strftime("%Y-%m-%d"))
    wide = frame.pivot_table(index="date", columns="topic", values="topic_mean", aggfunc="last").ffill()
    wide = wide.reindex(columns=[t for t in topics if t in wide.columns])
    wide["overall"] = frame.groupby("date")["overall_mean"].last()
    return wide.rename_axis("date").reset_index()


def _candidate_progress(r: CandidateReport, w: L) -> Section:
    order = [str(t) for t in r.topics["topic"] if t in set(r.progress["topic"])]
    series = [
        Series(
            t,
            tuple(
                (ts.to_pydatetime(), float(v))
                for ts, v in zip(g["submitted_at"], g["topic_mean"], strict=True)
            ),
        )
        for t in order
        for g in [r.progress[r.progress["topic"] == t]]
    ]
    daily = daily_progress(r.progress, order)
    rows = tuple(
        (str(d["date"]), *(num(d[t]) for t in order), num(d["overall"])) for _, d in daily.iterrows()
    )
    chart = line_chart(series, title=w["line_chart"], empty=w["no_data"])
    return Section(
        w["progress_head"],
        (w["date"], *order, w["overall"]),
        rows,
        note=w["progress_note"],
        numeric=frozenset(range(1, len(order) + 2)),
        chart=chart,
        fold_label=w["show_table"],
        empty=w["no_data"],
    )


# --- cohort -----------------------------------------------------------------------


def _cohort(r: CohortReport, w: L, lang: str) -> Document:
    lines = [
        _when(r, w),
        w["k_summary"].format(people=r.people, answers=r.answers, questions=r.questions, mean=num(r.mean)),
    ]
    if r.skipped_rows:
        lines.append(w["k_skipped"].format(n=r.skipped_rows))
    cards = (
        (w["mean"], num(r.mean)),
        (w["people"], str(r.people)),
        (w["answers"], str(r.answers)),
        (w["questions"], str(r.questions)),
        (w["attention_card"], str(len(r.attention))),
    )
    sections = (
        _cohort_topics(r, w),
        _cohort_attention(r, w),
        _cohort_grid(r, w),
        _question_section(r.hardest, w, w["hardest_head"], "", w["none"]),
        _question_section(
            r.negative, w, w["negative_head"], w["negative_note"] if len(r.negative) else "", w["no_negative"]
        ),
        _cohort_points(r, w),
        _cohort_misconceptions(r, w),
    )
    return Document(w["cohort_title"].format(source=r.source), tuple(lines), cards, sections, lang)


def _cohort_topics(r: CohortReport, w: L) -> Section:
    bars = [
        Bar(
            str(t.topic),
            float(t.mean),
            low=t.mean - t.sd,
            high=t.mean + t.sd,
            note=f"{t.mean:.0f} ± {t.sd:.0f}",
        )
        for t in r.topics.itertuples()
    ]
    rows = tuple(
        (
            str(i),
            str(t.topic),
            num(t.mean),
            num(t.sd),
            num(t.lowest),
            num(t.highest),
            str(t.people),
            str(t.answers),
        )
        for i, t in enumerate(r.topics.itertuples(), 1)
    )
    return Section(
        w["topics_head"],
        ("#", w["topic"], w["mean"], w["sd"], w["lowest"], w["highest"], w["people"], w["answers"]),
        rows,
        note=w["spread_head"],
        numeric=frozenset({0, 2, 3, 4, 5, 6, 7}),
        score=frozenset({2}),
        chart=bar_chart(bars, title=w["bar_chart"]) if bars else "",
        empty=w["no_data"],
    )


def reasons(row: Any, w: L, *, mark: float) -> str:
    """Why a person needs attention, from an `attention` row, in the language of `w`."""
    out = []
    if row.below_mark:
        out.append(w["r_below"].format(mark=f"{mark:.0f}"))
    sd = float(row.sd_below)
    if not math.isnan(sd) and sd > 1:
        out.append(w["r_sd"].format(sd=f"{sd:.1f}"))
    if row.flagged:
        out.append(w["r_flagged"].format(n=row.flagged))
    if row.blank:
        out.append(w["r_blank"].format(n=row.blank))
    return "; ".join(out)


def _cohort_attention(r: CohortReport, w: L) -> Section:
    rows = tuple(
        (
            str(a.person),
            num(a.mean),
            str(a.answers),
            f"{a.weakest_topic} ({num(a.weakest_mean)})",
            reasons(a, w, mark=r.attention_below),
        )
        for a in r.attention.itertuples()
    )
    return Section(
        w["attention_head"],
        (w["person"], w["mean"], w["answers"], w["weakest_topic"], w["reasons"]),
        rows,
        numeric=frozenset({1, 2}),
        score=frozenset({1}),
        empty=w["no_attention"],
    )


def _cohort_grid(r: CohortReport, w: L) -> Section:
    topics = [str(c) for c in r.person_topic.columns[1:-1]]
    people = [str(p) for p in r.person_topic["person"]]
    values = r.person_topic[topics].to_numpy(float).tolist()
    chart = heatmap(people, topics, values, title=w["heatmap"]) if people else ""
    rows = tuple(
        (str(p["person"]), *(num(p[t]) for t in topics), num(p["overall"]))
        for _, p in r.person_topic.iterrows()
    )
    return Section(
        w["grid_head"],
        (w["person"], *topics, w["overall"]),
        rows,
        numeric=frozenset(range(1, len(topics) + 2)),
        score=frozenset({len(topics) + 1}),
        chart=chart,
        fold_label=w["show_table"],
        empty=w["no_data"],
    )


def _question_section(table: pd.DataFrame, w: L, title: str, note: str, empty: str) -> Section:
    rows = tuple(
        (
            str(q.question_id),
            str(q.topic),
            str(q.answers),
            num(q.mean),
            f"{q.facility:.0%}",
            num(q.discrimination, 2),
        )
        for q in table.itertuples()
    )
    facility = w["facility"].format(mark=f"{PASS_MARK:.0f}")
    return Section(
        title,
        (w["question"], w["topic"], w["answers"], w["mean"], facility, w["discrimination"]),
        rows,
        note=note,
        numeric=frozenset({2, 3, 4, 5}),
        score=frozenset({3}),
        empty=empty,
    )


def _cohort_points(r: CohortReport, w: L) -> Section:
    rows = tuple(
        (
            (str(p.title), str(p.question_id)),
            f"{p.missed}/{p.judged} ({p.rate:.0%})",
            (str(p.statement), str(p.statement_en)),
        )
        for p in r.missed_points.itertuples()
    )
    return Section(
        w["missed_head"],
        (w["key_point"], w["missed"], w["statement"]),
        rows,
        numeric=frozenset({1}),
        empty=w["none"],
    )


def _cohort_misconceptions(r: CohortReport, w: L) -> Section:
    rows = tuple(
        (str(m.misconception), str(m.question_id), f"{m.count}/{m.answers} ({m.rate:.0%})")
        for m in r.misconceptions.itertuples()
    )
    return Section(
        w["misc_head"],
        (w["misconception"], w["question"], w["count"]),
        rows,
        numeric=frozenset({2}),
        empty=w["none"],
    )
