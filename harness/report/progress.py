"""A cohort's progress over two or more grade runs: the model every format draws.

`progress_report` compares runs (oldest first, as `progress_runs.load_runs`
reads them) with the numbers the cohort report uses (`cohort.tally_scores`):

- **topics**: per topic, the mean of the people's topic means in each run
  and the change from the first run to the last;
- **people**, matched by student id: each person's mean in each run and the
  change between the first and last run they have a mean in; who improved
  most, who declined, who is new or missing in a later run (`status`);
- **person x topic**: each person's change per topic;
- **questions**: mean and facility in each run and their change; the key
  points missed less (or more) often in the last run than in the first.

Topic and person means are taken over the questions every run asked
(`shared`), so a question added later does not move them; the questions
only some runs asked are listed with the runs that asked them, never
dropped. `differences` says how each run was scored differently from the
latest (`progress_runs.differences`); `comparable` is False when any such
difference can change scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from harness.bank.lookup import point_statements
from harness.errors import HarnessError, InputFileError
from harness.grade.schema import label_for
from harness.grade.tally import CohortStats
from harness.report.progress_runs import Difference, RunScores, differences, open_runs, read_runs
from harness.types import Bank

DIFFERENCE_COLUMNS = ("run", "against", "what", "item", "value", "latest")
POINT_COLUMNS = ("question_id", "topic", "point_id", "title", "statement", "statement_en", "rate_first",
                 "rate_last", "change", "judged_first", "judged_last", "scored_same")


@dataclass(frozen=True, eq=False)
class ProgressReport:
    """Runs compared; per-run columns end in `_1`, `_2`, ... (the run's place, oldest first).

    `people.status` is `every` (in every run), `new` (not in the first run),
    `missing` (not in a run after their first) or `new+missing`;
    `people.in_runs` lists the runs they are in.
    """

    generated_at: datetime
    labels: tuple[str, ...]
    runs: pd.DataFrame
    shared: tuple[str, ...]
    differences: pd.DataFrame
    comparable: bool
    topics: pd.DataFrame
    people: pd.DataFrame
    person_topic: pd.DataFrame
    improved: pd.DataFrame
    declined: pd.DataFrame
    questions: pd.DataFrame
    points_better: pd.DataFrame
    points_worse: pd.DataFrame


def load_progress(paths: Sequence[Path], *, bank_dir: Path | None, now: datetime) -> ProgressReport:
    """The progress report of the runs at `paths`, oldest first.

    Without `bank_dir` the rubric statements come from the bank the latest
    run used (if that folder still exists), else the bundled bank.

    Raises:
        HarnessError: fewer than two runs, a run that cannot be read, or runs with no question in common.

    """
    from harness.bank.loader import load_bank

    found = open_runs(paths)
    if bank_dir is None:
        latest = found[-1].facts
        bank_dir = Path(latest.bank) if latest is not None and Path(latest.bank).is_dir() else None
    bank = load_bank(bank_dir)
    return progress_report(read_runs(found, bank=bank), bank=bank, now=now)


def progress_report(runs: Sequence[RunScores], *, bank: Bank | None, now: datetime, top: int = 10) -> ProgressReport:
    """Compare `runs` (oldest first); `bank` gives key point labels and statements.

    Raises:
        HarnessError: fewer than two runs.
        InputFileError: no question is in every run (say, runs over different banks).

    """
    if len(runs) < 2:
        raise HarnessError("a progress report compares two runs or more: give --scores once per run, oldest first")
    asked = [set(r.topics) for r in runs]
    shared = set.intersection(*asked)
    if not shared:
        raise InputFileError(_nothing_shared(runs, asked))
    topic_of: dict[str, str] = {}
    for r in runs:  # a question's topic as the latest run that asked it gives it
        topic_of.update(r.topics)
    on_all = [r.tally.stats(topic_of=topic_of) for r in runs]
    on_shared = [shared_means(s, shared) for s in on_all]
    diffs = differences(runs, asked)
    order = _question_order(bank, topic_of)
    people = people_table(runs, on_shared)
    person_topic = person_topic_table(on_shared)
    better, worse = point_tables(on_all, bank, diffs, top=top)
    return ProgressReport(
        generated_at=now, labels=tuple(r.label for r in runs),
        runs=run_table(runs, on_shared),
        shared=tuple(q for q in order if q in shared),
        differences=pd.DataFrame([asdict(d) for d in diffs], columns=list(DIFFERENCE_COLUMNS)),
        comparable=not any(d.scoring for d in diffs),
        topics=topic_table(on_shared, shared, topic_of, diffs),
        people=people,
        person_topic=person_topic,
        improved=_movers(people, person_topic, top=top, up=True),
        declined=_movers(people, person_topic, top=top, up=False),
        questions=question_table(on_all, order, topic_of, diffs, labels=[r.label for r in runs]),
        points_better=better, points_worse=worse,
    )


def _nothing_shared(runs: Sequence[RunScores], asked: list[set[str]]) -> str:
    parts = []
    for r, qs in zip(runs, asked, strict=True):
        shown = ", ".join(sorted(qs)[:3]) + (", ..." if len(qs) > 3 else "")
        parts.append(f"{r.path}: {len(qs)} question(s) ({shown})")
    return ("no question is in every run, so there is no progress to measure: " + "; ".join(parts)
            + ". Were they graded against different banks? Compare runs of the same questions")


def _question_order(bank: Bank | None, topic_of: dict[str, str]) -> list[str]:
    """Questions in bank order, then those the bank lacks by id."""
    known = [q for q in (bank.questions if bank else ()) if q in topic_of]
    return known + sorted(set(topic_of) - set(known))


def _spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a rows x runs array: first and last non-NaN value, and last - first (NaN unless 2 values)."""
    frame = pd.DataFrame(values)
    first = frame.bfill(axis=1).iloc[:, 0].to_numpy(float)
    last = frame.ffill(axis=1).iloc[:, -1].to_numpy(float)
    enough = (~np.isnan(values)).sum(axis=1) >= 2
    return first, last, np.where(enough, last - first, np.nan)


def _per_run(columns: dict[str, list[object]], name: str, values: np.ndarray) -> None:
    for k in range(values.shape[1]):
        columns[f"{name}_{k + 1}"] = list(values[:, k])


@dataclass(frozen=True, eq=False)
class Means:
    """People's means over the shared questions in one run, overall and per topic (NaN where none)."""

    people: tuple[str, ...]
    topics: tuple[str, ...]
    overall: np.ndarray
    topic_means: np.ndarray


def shared_means(stats: CohortStats, shared: set[str]) -> Means:
    """The means of `stats` over the `shared` questions only, as `CohortTally.stats` computes them."""
    cols = [k for k, q in enumerate(stats.questions) if q in shared]
    m = stats.scores[:, cols]
    keep = (~np.isnan(m)).any(axis=1)  # people who answered a shared question
    m = m[keep]
    done = ~np.isnan(m)
    topic = [stats.topic_of[stats.questions[k]] for k in cols]
    topics = tuple(sorted(set(topic)))
    topic_means = np.full((len(m), len(topics)), np.nan)
    for j, t in enumerate(topics):
        at = [i for i, x in enumerate(topic) if x == t]
        n = done[:, at].sum(axis=1)
        topic_means[:, j] = np.where(n > 0, np.nansum(m[:, at], axis=1) / np.maximum(n, 1), np.nan)
    people = tuple(p for p, k in zip(stats.people, keep, strict=True) if k)
    return Means(people, topics, np.nansum(m, axis=1) / np.maximum(done.sum(axis=1), 1), topic_means)


def run_table(runs: Sequence[RunScores], stats: Sequence[Means]) -> pd.DataFrame:
    """One row per run: when it was graded, how, and its mean over the shared questions."""
    rows = []
    for i, (r, s) in enumerate(zip(runs, stats, strict=True), 1):
        f, sc = r.facts, r.scoring
        rows.append({
            "run_index": i, "run": r.label, "graded": f.finished if f else pd.NaT,
            "regraded_from": r.regraded_from, "answered": r.answered or pd.NaT,
            "people": len(r.tally.people), "answers": r.tally.answers, "questions": len(r.tally.questions),
            "mean": float(s.overall.mean()) if len(s.people) else np.nan,
            "bank_version": sc.bank_version, "embedder": sc.embedder, "calibration": sc.calibration,
            "anchors": sc.anchors if sc.known else "", "source": str(r.path),
        })
    return pd.DataFrame(rows)


def topic_table(stats: Sequence[Means], shared: set[str], topic_of: dict[str, str],
                diffs: Sequence[Difference]) -> pd.DataFrame:
    """Per topic: the mean of the people's topic means in each run, and the change; most improved first."""
    topics = sorted({topic_of[q] for q in shared})
    values = np.full((len(topics), len(stats)), np.nan)
    for k, s in enumerate(stats):
        for j, t in enumerate(s.topics):
            column = s.topic_means[:, j]
            if np.any(~np.isnan(column)):
                values[topics.index(t), k] = np.nanmean(column)
    _, _, change = _spread(values)
    odd = _differently(diffs)
    columns: dict[str, list[object]] = {
        "topic": list(topics),
        "questions": [sum(topic_of[q] == t for q in shared) for t in topics],
    }
    _per_run(columns, "mean", values)
    columns["change"] = list(change)
    columns["scored_same"] = [not any(odd(q) for q in shared if topic_of[q] == t) for t in topics]
    table = pd.DataFrame(columns)
    return table.sort_values(["change", "topic"], ascending=[False, True], kind="stable",
                             na_position="last").reset_index(drop=True)


@dataclass(frozen=True)
class _Differently:
    """Was a question scored differently in some run? A run-wide difference counts for every question."""

    every: bool
    items: frozenset[str]

    def __call__(self, question_id: str) -> bool:
        return self.every or question_id in self.items


def _differently(diffs: Sequence[Difference]) -> _Differently:
    return _Differently(any(d.scoring and not d.item for d in diffs),
                        frozenset(d.item for d in diffs if d.scoring and d.item))


def people_table(runs: Sequence[RunScores], stats: Sequence[Means]) -> pd.DataFrame:
    """Per person: in which runs, their mean over the shared questions in each, and the change."""
    present = [set(r.tally.people) for r in runs]
    people = sorted(set().union(*present))
    where = {p: i for i, p in enumerate(people)}
    values = np.full((len(people), len(runs)), np.nan)
    for k, s in enumerate(stats):
        values[[where[p] for p in s.people], k] = s.overall
    first, last, change = _spread(values)
    labels = [r.label for r in runs]
    columns: dict[str, list[object]] = {"person": list(people)}
    inside = [[p in present[k] for k in range(len(runs))] for p in people]
    columns["status"] = [_status(row) for row in inside]
    columns["in_runs"] = [", ".join(label for label, yes in zip(labels, row, strict=True) if yes) for row in inside]
    _per_run(columns, "mean", values)
    columns.update(first=list(first), last=list(last), change=list(change))
    return pd.DataFrame(columns)


def _status(inside: list[bool]) -> str:
    """every, new (not in the first run), missing (not in a run after their first) or new+missing."""
    if all(inside):
        return "every"
    start = inside.index(True)
    new, missing = start > 0, not all(inside[start:])
    return "new+missing" if new and missing else "new" if new else "missing"


def person_topic_table(stats: Sequence[Means]) -> pd.DataFrame:
    """Per person and topic (shared questions): first and last topic mean, and the change."""
    people = sorted(set().union(*(s.people for s in stats)))
    topics = sorted(set().union(*(s.topics for s in stats)))
    where = {p: i for i, p in enumerate(people)}
    cube = np.full((len(people), len(topics), len(stats)), np.nan)
    for k, s in enumerate(stats):
        rows = [where[p] for p in s.people]
        for j, t in enumerate(s.topics):
            cube[rows, topics.index(t), k] = s.topic_means[:, j]
    flat = cube.reshape(len(people) * len(topics), len(stats))
    first, last, change = _spread(flat)
    table = pd.DataFrame({
        "person": np.repeat(people, len(topics)), "topic": np.tile(topics, len(people)),
        "first": first, "last": last, "change": change,
    })
    return table[~np.isnan(flat).all(axis=1)].reset_index(drop=True)


def _movers(people: pd.DataFrame, person_topic: pd.DataFrame, *, top: int, up: bool) -> pd.DataFrame:
    """The `top` people who improved most (`up`) or declined most, with the topic that moved most their way."""
    moved = people[people["change"] > 0] if up else people[people["change"] < 0]
    moved = moved.sort_values(["change", "person"], ascending=[not up, True], kind="stable").head(top)
    topics = person_topic.dropna(subset=["change"]).sort_values(["change", "topic"], ascending=[not up, True],
                                                                 kind="stable")
    best = topics.drop_duplicates("person").set_index("person")
    table = moved[["person", "first", "last", "change"]].reset_index(drop=True)
    table["topic"] = [best["topic"].get(p, "") for p in table["person"]]
    table["topic_change"] = [best["change"].get(p, np.nan) for p in table["person"]]
    return table


def question_table(stats: Sequence[CohortStats], order: Sequence[str], topic_of: dict[str, str],
                   diffs: Sequence[Difference], *, labels: Sequence[str]) -> pd.DataFrame:
    """Per question (bank order): mean and facility in each run, their change, and the runs that asked it."""
    means = np.full((len(order), len(stats)), np.nan)
    facility = np.full((len(order), len(stats)), np.nan)
    for k, s in enumerate(stats):
        for i, q in enumerate(order):
            if q in s.topic_of:
                at = s.questions.index(q)
                means[i, k], facility[i, k] = s.mean[at], s.facility[at]
    odd = _differently(diffs)
    asked = ~np.isnan(means)
    columns: dict[str, list[object]] = {
        "question_id": list(order), "topic": [topic_of[q] for q in order],
        "in_every_run": list(asked.all(axis=1)),
        "in_runs": [", ".join(lb for lb, yes in zip(labels, row, strict=True) if yes) for row in asked],
    }
    _per_run(columns, "mean", means)
    _per_run(columns, "facility", facility)
    columns["mean_change"] = list(_spread(means)[2])
    columns["facility_change"] = list(_spread(facility)[2])
    columns["scored_same"] = [not odd(q) for q in order]
    return pd.DataFrame(columns)


def point_tables(stats: Sequence[CohortStats], bank: Bank | None, diffs: Sequence[Difference], *,
                 top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Key points missed less often (most first) and more often in the last run that asked their question."""
    odd = _differently(diffs)
    rows = []
    for q in sorted(set().union(*(s.topic_of for s in stats))):
        runs = [s for s in stats if q in s.topic_of]
        if len(runs) < 2:
            continue
        a, b = runs[0], runs[-1]
        for pid in sorted(set(a.seen[q]) & set(b.seen[q])):
            ja, jb = a.seen[q][pid], b.seen[q][pid]
            ra, rb = a.missed[q][pid] / ja, b.missed[q][pid] / jb
            if ra != rb:
                text, text_en = point_statements(bank, q, pid)
                rows.append((q, b.topic_of[q], pid, label_for(bank, q, pid, {**a.labels, **b.labels}), text,
                             text_en, ra, rb, rb - ra, ja, jb, not odd(q)))
    table = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    better = table[table["change"] < 0].sort_values(["change", "question_id", "point_id"], kind="stable")
    worse = table[table["change"] > 0].sort_values(["change", "question_id", "point_id"],
                                                   ascending=[False, True, True], kind="stable")
    return better.head(top).reset_index(drop=True), worse.head(top).reset_index(drop=True)
