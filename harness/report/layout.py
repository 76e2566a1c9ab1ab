"""A report laid out as sections of text, tables and charts, in one language.

`layout` turns a `CandidateReport` or `CohortReport` into a `Document` that
`render.markdown` and `render.html` both draw, so the two formats carry the
same content. The practice report's sections are laid out here, the cohort
report's in `cohort_layout`.
"""

from __future__ import annotations

import pandas as pd

from harness.report.candidate import CandidateReport
from harness.report.charts import Bar, Series, bar_chart, line_chart
from harness.report.cohort import CohortReport
from harness.report.cohort_layout import cohort_document
from harness.report.document import Document, L, Section, day, likely, num, plain_reasons, signed, stamp
from harness.report.labels import counted


def layout(report: CandidateReport | CohortReport, words: L, *, lang: str, charts: bool = True) -> Document:
    """The report's document in the language of `words` (see `labels.labels`); `charts=False` draws none."""
    if isinstance(report, CandidateReport):
        return _candidate(report, words, lang, charts)
    return cohort_document(report, words, lang, charts=charts)


# --- candidate ------------------------------------------------------------------


def _candidate(r: CandidateReport, w: L, lang: str, charts: bool) -> Document:
    practised = r.topics[r.topics["attempts"] > 0]
    lines = [
        w["generated"].format(when=stamp(r.generated_at)),
        w["c_summary"].format(**counted(
            attempts=int(r.attempts), questions=r.questions, bank=r.bank_questions or r.questions, mean=num(r.mean)
        )),
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
        _candidate_topics(r, w, charts),
        _candidate_points(r, w),
        _candidate_check(r, w),
        _candidate_next(r, w),
        _candidate_progress(r, w, charts),
    )
    return Document(w["candidate_title"].format(user=r.user), tuple(lines), cards, sections, lang)


def _candidate_topics(r: CandidateReport, w: L, charts: bool) -> Section:
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
        chart=bar_chart(bars, title=w["bar_chart"]) if bars and charts else "",
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
                w["missed_of"].format(**counted(missed=p.missed, partial=p.partial, seen=int(p.seen))),
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


def _candidate_check(r: CandidateReport, w: L) -> Section:
    """Latest scores flagged for review: question, score, likely range, why in plain words, and when."""
    rows = tuple(
        (str(c.question_id), num(c.score), likely(c.score_low, c.score_high), plain_reasons(c.review, w),
         day(c.submitted_at))
        for c in r.to_check.itertuples()
    )
    return Section(
        w["check_head"],
        (w["question"], w["score"], w["likely"], w["reasons"], w["date"]),
        rows,
        note=w["check_note"] if rows else "",
        numeric=frozenset({1}),
        score=frozenset({1}),
        empty=w["no_check"],
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


def _candidate_progress(r: CandidateReport, w: L, charts: bool) -> Section:
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
    chart = line_chart(series, title=w["line_chart"], empty=w["no_data"]) if charts else ""
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
