"""The progress report laid out: summary lines, cards and sections, in one language.

`progress_document` turns a `ProgressReport` into the `Document` that
Markdown and HTML both draw. When the runs were not all scored the same way
the summary says so and a *Scored differently* section, placed first, names
each difference (the embedder, the calibration, anchors, or the rubric or
prompt of a question) and the fix (`harness regrade`); topics and questions
scored differently in some run carry a `*`.
"""

from __future__ import annotations

import pandas as pd

from harness.grade.tally import PASS_MARK
from harness.report.charts import change_heatmap, run_lines
from harness.report.document import PEOPLE_SHOWN, Cell, Document, L, Section, more_people, num, signed, stamp
from harness.report.progress import ProgressReport

MARK = " *"


def progress_document(r: ProgressReport, w: L, lang: str, *, charts: bool = True) -> Document:
    """The progress report's document in the language of `w` (see `labels.labels`); `charts=False` draws none."""
    every = r.people[r.people["status"] == "every"]
    first, last = (float(r.runs["mean"].iloc[k]) for k in (0, -1))
    cards = (
        (w["runs_card"], str(len(r.labels))),
        (w["every_card"], f"{len(every)}/{len(r.people)}"),
        (w["mean"], f"{num(first)} → {num(last)}"),
        (w["change_card"], signed(last - first)),
    )
    sections = (
        *_differences(r, w),
        _runs(r, w),
        _topics(r, w, charts),
        _movers(r, w, up=True),
        _movers(r, w, up=False),
        _churn(r, w),
        _grid(r, w, charts),
        _questions(r, w),
        _points(r.points_better, w, w["points_better_head"]),
        _points(r.points_worse, w, w["points_worse_head"]),
    )
    title = w["progress_title"].format(first=r.labels[0], last=r.labels[-1])
    return Document(title, tuple(_lines(r, w)), cards, sections, lang)


def _lines(r: ProgressReport, w: L) -> list[str]:
    lines = [w["generated"].format(when=stamp(r.generated_at)),
             w["p_runs"].format(n=len(r.labels), runs=" → ".join(r.labels)),
             w["p_shared"].format(n=len(r.shared))]
    times = [t for t in r.runs["answered"] if pd.notna(t)]
    late = next((k for k in range(1, len(times)) if times[k] < times[k - 1]), None)
    if late is not None and len(times) == len(r.labels):
        lines.append(w["p_order"].format(run=r.labels[late], earlier=r.labels[late - 1]))
    partial = int((~r.questions["in_every_run"]).sum())
    if partial:
        lines.append(w["p_partial"].format(n=partial))
    if not r.comparable:
        lines.append(w["p_unsure"])
        return lines
    latest = r.runs.iloc[-1]
    lines.append(w["p_same"].format(embedder=latest["embedder"], calibration=latest["calibration"]))
    for d in r.differences.itertuples():  # only notes that the bank changed elsewhere
        lines.append(w["p_bank"].format(run=d.run, value=d.value, against=d.against, latest=d.latest))
    return lines


def _differences(r: ProgressReport, w: L) -> tuple[Section, ...]:
    found = r.differences[r.differences["what"] != "bank"]
    if found.empty:
        return ()
    rows = tuple((str(d.run), w[f"what_{d.what}"].format(item=d.item), str(d.value), str(d.latest))
                 for d in found.itertuples())
    return (Section(w["diff_head"], (w["run"], w["what"], w["in_run"], w["in_latest"]), rows,
                    note=w["diff_note"].format(latest=r.labels[-1])),)


def _runs(r: ProgressReport, w: L) -> Section:
    rows = []
    for x in r.runs.itertuples():
        name: Cell = (str(x.run), w["regraded_from"].format(run=x.regraded_from)) if x.regraded_from else str(x.run)
        rows.append((str(x.run_index), name, "—" if pd.isna(x.graded) else stamp(x.graded), str(x.people),
                     str(x.answers), str(x.questions), num(x.mean), x.embedder or "—", x.calibration or "—"))
    return Section(w["runs_head"], ("#", w["run"], w["graded"], w["people"], w["answers"], w["questions"],
                                    w["mean_shared"], w["embedder"], w["calibration"]),
                   tuple(rows), numeric=frozenset({0, 3, 4, 5, 6}), score=frozenset({6}))


def _per_run(row: object, name: str, count: int, digits: int = 0) -> list[str]:
    return [num(getattr(row, f"{name}_{k + 1}"), digits) for k in range(count)]


def _topics(r: ProgressReport, w: L, charts: bool) -> Section:
    n = len(r.labels)
    rows = tuple((str(t.topic) + ("" if t.scored_same else MARK), str(t.questions), *_per_run(t, "mean", n),
                  signed(t.change)) for t in r.topics.itertuples())
    series = [(str(t.topic), [float(getattr(t, f"mean_{k + 1}")) for k in range(n)]) for t in r.topics.itertuples()]
    chart = run_lines(r.labels, series, title=w["run_chart"]) if charts and series else ""
    note = w["p_topics_note"] + ("" if r.topics["scored_same"].all() else " " + w["mark_note"])
    return Section(w["p_topics_head"], (w["topic"], w["questions"], *r.labels, w["change"]), rows, note=note,
                   numeric=frozenset(range(1, n + 3)), score=frozenset(range(2, n + 2)), chart=chart,
                   empty=w["no_data"])


def _movers(r: ProgressReport, w: L, *, up: bool) -> Section:
    table = r.improved if up else r.declined
    total = int((r.people["change"] > 0).sum() if up else (r.people["change"] < 0).sum())
    rows = tuple((str(m.person), num(m.first), num(m.last), signed(m.change),
                  f"{m.topic} ({signed(m.topic_change)})" if m.topic else "—") for m in table.itertuples())
    return Section(w["improved_head" if up else "declined_head"],
                   (w["person"], w["first"], w["last"], w["change"], w["topic_moved"]), rows,
                   note=w["movers_note"].format(n=total) if rows else "",
                   numeric=frozenset({1, 2, 3}), score=frozenset({1, 2}),
                   empty=w["nobody_improved" if up else "nobody_declined"])


def status_text(status: str, runs: str, labels: tuple[str, ...], w: L) -> str:
    """Why a person is not in every run, in words: new in a run, missing from later ones, or both."""
    inside = [label in runs.split(", ") for label in labels]
    start = inside.index(True)
    parts = [w["st_new"].format(run=labels[start])] if start else []
    gone = [label for label, yes in zip(labels[start:], inside[start:], strict=True) if not yes]
    if gone:
        parts.append(w["st_missing"].format(runs=", ".join(gone)))
    return "; ".join(parts)


def _churn(r: ProgressReport, w: L) -> Section:
    away = r.people[r.people["status"] != "every"]
    rows = tuple((str(p.person), status_text(str(p.status), str(p.in_runs), r.labels, w), str(p.in_runs),
                  *_per_run(p, "mean", len(r.labels))) for p in away.head(PEOPLE_SHOWN).itertuples())
    return Section(w["churn_head"], (w["person"], w["status"], w["in_runs"], *r.labels), rows,
                   note=more_people("", len(away), w["p_people_more"]),
                   numeric=frozenset(range(3, 3 + len(r.labels))), score=frozenset(range(3, 3 + len(r.labels))),
                   empty=w["churn_none"])


def _grid(r: ProgressReport, w: L, charts: bool) -> Section:
    topics = [str(t) for t in r.topics["topic"]]
    moved = r.person_topic.dropna(subset=["change"])  # people in one run only are listed under churn
    wide = moved.pivot(index="person", columns="topic", values="change").reindex(columns=topics)
    overall = r.people.set_index("person")["change"]
    change = {p: float(overall.get(p, float("nan"))) for p in wide.index}
    ranked = sorted(wide.index, key=lambda p: (pd.isna(change[p]), -change[p], p))  # most improved first
    people = ranked[:PEOPLE_SHOWN]
    wide = wide.reindex(people)
    values = wide.to_numpy(float).tolist()
    chart = change_heatmap(people, topics, values, title=w["change_heatmap"]) if charts and people else ""
    rows = tuple((p, *(signed(v) for v in row), signed(change[p]))
                 for p, row in zip(people, values, strict=True))
    return Section(w["p_grid_head"], (w["person"], *topics, w["overall"]), rows,
                   note=more_people(w["p_grid_note"], len(ranked), w["p_people_more"]),
                   numeric=frozenset(range(1, len(topics) + 2)), chart=chart, fold_label=w["show_table"],
                   empty=w["no_data"])


def _questions(r: ProgressReport, w: L) -> Section:
    n = len(r.labels)
    rows = tuple(
        (str(q.question_id) + ("" if q.scored_same else MARK), str(q.topic), *_per_run(q, "mean", n),
         signed(q.mean_change), *(_share(getattr(q, f"facility_{k + 1}")) for k in range(n)),
         signed(100 * q.facility_change), str(q.in_runs) if not q.in_every_run else "")
        for q in r.questions.itertuples()
    )
    facility = [f"{w['facility_short']} {label}" for label in r.labels]
    note = w["p_questions_note"].format(mark=f"{PASS_MARK:.0f}")
    note += "" if r.questions["scored_same"].all() else " " + w["mark_note"]
    return Section(w["p_questions_head"],
                   (w["question"], w["topic"], *r.labels, w["change"], *facility, w["facility_change"], w["in_runs"]),
                   rows, note=note, numeric=frozenset(range(2, 2 * n + 4)), score=frozenset(range(2, n + 2)),
                   empty=w["no_data"])


def _share(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.0%}"


def _points(table: pd.DataFrame, w: L, title: str) -> Section:
    rows = tuple(
        ((str(p.title) + ("" if p.scored_same else MARK), str(p.question_id)),
         f"{p.rate_first:.0%} → {p.rate_last:.0%}", signed(100 * p.change), (str(p.statement), str(p.statement_en)))
        for p in table.itertuples()
    )
    return Section(title, (w["key_point"], w["missed_first_last"], w["change"], w["statement"]), rows,
                   note=w["points_change_note"] if rows else "", numeric=frozenset({1, 2}), empty=w["none"])
