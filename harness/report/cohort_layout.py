"""The cohort report laid out: summary lines, cards and sections, in one language.

`cohort_document` turns a `CohortReport` into the `Document` every format
draws. For a grade run (`CohortReport.run`) the summary says when and from
what it was graded, with which bank, embedder and calibration, and an
*Columns read* section says how each column of the file was read (which
question it answers and how that was decided, which were not graded), and an
*Input problems* section lists the rows that were skipped.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness.grade.tally import PASS_MARK
from harness.report.charts import Bar, bar_chart, heatmap
from harness.report.cohort import CohortReport
from harness.report.document import (
    PEOPLE_SHOWN,
    Document,
    L,
    Section,
    likely,
    more_people,
    num,
    plain_reasons,
    stamp,
)
from harness.report.labels import counted

PROBLEMS_SHOWN = 50
REVIEW_SHOWN = 100


def cohort_document(r: CohortReport, w: L, lang: str, *, charts: bool = True) -> Document:
    """The cohort report's document in the language of `w` (see `labels.labels`); `charts=False` draws none."""
    lines = [*_run_lines(r, w),
             w["k_summary"].format(people=r.people, answers=r.answers, questions=r.questions, mean=num(r.mean))]
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
        _cohort_topics(r, w, charts),
        _cohort_attention(r, w),
        _cohort_review(r, w),
        _cohort_grid(r, w, charts),
        _question_section(r.hardest, w, w["hardest_head"], "", w["none"]),
        _question_section(
            r.negative, w, w["negative_head"], w["negative_note"] if len(r.negative) else "", w["no_negative"]
        ),
        _cohort_points(r, w),
        _cohort_misconceptions(r, w),
        *_columns(r, w),
        *_problems(r, w),
    )
    return Document(w["cohort_title"].format(source=r.source), tuple(lines), cards, sections, lang)


def _run_lines(r: CohortReport, w: L) -> list[str]:
    if r.run is None:
        return [w["generated"].format(when=stamp(r.generated_at))]
    f = r.run
    lines = [
        w["k_graded"].format(when=stamp(f.finished), answers=f.answers, blanks=f.blanks, file=f.submissions),
        w["k_scorer"].format(bank=f.bank, version=f.bank_version, embedder=f.embedder, calibration=f.calibration),
    ]
    if f.rows is not None:
        lines.append(w["k_rows"].format(records=f.rows.records, graded=f.rows.graded, skipped=f.rows.skipped,
                                        empty=f.rows.empty))
    if f.skipped_rows:
        lines.append(w["k_bad_rows"].format(n=f.skipped_rows))
    return lines


def _columns(r: CohortReport, w: L) -> tuple[Section, ...]:
    if r.run is None or not r.run.columns:
        return ()
    note = w["columns_note"].format(note=r.run.columns_note) if r.run.columns_note else ""
    return (Section(w["columns_head"], (w["column"], w["read_as"], w["how"]), r.run.columns, note=note),)


def _problems(r: CohortReport, w: L) -> tuple[Section, ...]:
    if r.run is None or not r.run.problems:
        return ()
    shown = r.run.problems[:PROBLEMS_SHOWN]
    more = len(r.run.problems) - len(shown) + r.run.problems_not_listed
    return (Section(w["problems_head"], (w["problem"],), tuple((p,) for p in shown),
                    note=w["problems_more"].format(n=more) if more else ""),)


def _cohort_topics(r: CohortReport, w: L, charts: bool) -> Section:
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
        chart=bar_chart(bars, title=w["bar_chart"]) if bars and charts else "",
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
        out.append(w["r_flagged"].format(**counted(n=int(row.flagged))))
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
        for a in r.attention.head(PEOPLE_SHOWN).itertuples()
    )
    return Section(
        w["attention_head"],
        (w["person"], w["mean"], w["answers"], w["weakest_topic"], w["reasons"]),
        rows,
        note=more_people("", len(r.attention), w["people_more"]),
        numeric=frozenset({1, 2}),
        score=frozenset({1}),
        empty=w["no_attention"],
    )


def _cohort_review(r: CohortReport, w: L) -> Section:
    """The answers flagged for review: person, question, score, likely range and why, in plain words."""
    shown = r.to_review.head(REVIEW_SHOWN)
    rows = tuple(
        (str(a.person), str(a.question_id), num(a.score), likely(a.score_low, a.score_high),
         plain_reasons(a.review, w))
        for a in shown.itertuples()
    )
    more = r.review_total - len(shown)
    note = w["review_note"] + (" " + w["review_more"].format(n=more) if more > 0 else "") if rows else ""
    return Section(
        w["review_head"],
        (w["person"], w["question"], w["score"], w["likely"], w["reasons"]),
        rows,
        note=note,
        numeric=frozenset({2}),
        score=frozenset({2}),
        empty=w["no_review"],
    )


def _cohort_grid(r: CohortReport, w: L, charts: bool) -> Section:
    topics = [str(c) for c in r.person_topic.columns[1:-1]]
    shown = r.person_topic.head(PEOPLE_SHOWN)  # weakest first
    people = [str(p) for p in shown["person"]]
    values = shown[topics].to_numpy(float).tolist()
    chart = heatmap(people, topics, values, title=w["heatmap"]) if people and charts else ""
    rows = tuple(
        (person, *(num(v) for v in means), num(overall))
        for person, means, overall in zip(people, values, shown["overall"].tolist(), strict=True)
    )
    return Section(
        w["grid_head"],
        (w["person"], *topics, w["overall"]),
        rows,
        note=more_people("", len(r.person_topic), w["people_more"]),
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
