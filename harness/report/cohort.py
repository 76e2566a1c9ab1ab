"""The one cohort report model: a grade run's report.md and `harness report --scores` both come from here.

`cohort_report` turns a cohort's `CohortStats` (`grade.tally`: filled while
grading, or from a scores.csv by `tally_scores`) into tables that answer
"what did my cohort not understand?":

- **topics**, weakest first: the mean of the people's topic means (each
  person counts once, however many of the topic's questions they answered),
  their spread (SD), lowest and highest;
- **person x topic** table, people weakest first;
- **hardest questions**: lowest facility (the share of answers scoring at
  least `PASS_MARK`, as in the run's questions.csv), and every question with
  **negative discrimination** (a question's score against the mean of each
  person's other answers; below zero, stronger people did worse on it, a
  sign of a bad question or rubric);
- the **most-missed key points** with the rubric's statement, found by id
  (the rate is over the non-blank answers judged on the point, as in
  questions.csv), and the most frequent misconceptions;
- the **people who need attention**: mean below `attention_below`, more than
  one SD below the cohort (5 people or more), a quarter or more of the
  questions left blank, or half or more of their answers flagged (say
  `keyword-list`);
- the **answers to review**: those the scorer flagged (scores.csv `review`:
  an unsure score, a verdict or formula at odds with the reference, an
  answer that may be about another question), with the score and the range
  the human grade likely lies in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.bank.lookup import point_statements
from harness.grade.outputs import RunFacts
from harness.grade.schema import BLANK_FLAG, ScoresChunks, counts_as_flagged, label_for, point_label
from harness.grade.tally import PASS_MARK, CohortStats, CohortTally, Graded
from harness.types import Bank

TOPIC_COLUMNS = ("topic", "mean", "sd", "lowest", "highest", "people", "answers")
QUESTION_COLUMNS = ("question_id", "topic", "answers", "mean", "facility", "discrimination")
POINT_COLUMNS = ("question_id", "topic", "title", "statement", "statement_en", "missed", "judged", "rate")
MISCONCEPTION_COLUMNS = ("question_id", "topic", "misconception", "count", "answers", "rate")
REVIEW_COLUMNS = ("person", "question_id", "score", "score_low", "score_high", "review")
_REVIEW_ORDER = ["question_id", "person"]  # answers to review: by question, then person
ATTENTION_COLUMNS = (
    "person", "mean", "answers", "weakest_topic", "weakest_mean", "below_mark", "sd_below", "blank", "flagged",
)


@dataclass(frozen=True, eq=False)
class CohortReport:
    """A cohort's report; `person_topic` has a `person` column, one per topic (weakest first), `overall`.

    `run` holds the facts of the grade run (from its run.json) when known;
    `generated_at` is then the time the run finished.
    """

    source: str
    generated_at: datetime
    run: RunFacts | None
    people: int
    answers: int
    questions: int
    mean: float
    skipped_rows: int
    attention_below: float
    topics: pd.DataFrame
    person_topic: pd.DataFrame
    hardest: pd.DataFrame
    negative: pd.DataFrame
    missed_points: pd.DataFrame
    misconceptions: pd.DataFrame
    attention: pd.DataFrame
    to_review: pd.DataFrame = field(default_factory=lambda: no_review())
    review_total: int = 0  # answers flagged for review; `to_review` may list only the first REVIEW_SHOWN


def cohort_report(stats: CohortStats, *, bank: Bank | None, now: datetime, source: str = "",
                  run: RunFacts | None = None, skipped_rows: int = 0, attention_below: float = PASS_MARK,
                  top: int = 10, to_review: pd.DataFrame | None = None,
                  review_total: int | None = None) -> CohortReport:
    """Build the report; `bank` supplies key point labels and statements (by id).

    `to_review` is `review_table` of the cohort's scores (none: no section
    rows), or its first rows when `review_total` says how many there are in all.
    """
    person_topic = person_topic_table(stats)
    questions = question_table(stats)
    return CohortReport(
        source=source,
        generated_at=now,
        run=run,
        people=len(stats.people),
        answers=int(stats.answers.sum()),
        questions=len(stats.questions),
        mean=float(stats.overall.mean()) if len(stats.people) else float("nan"),
        skipped_rows=skipped_rows,
        attention_below=attention_below,
        topics=topic_table(stats, person_topic),
        person_topic=person_topic,
        hardest=questions.head(top).reset_index(drop=True),
        negative=questions[questions["discrimination"] < 0].sort_values("discrimination", kind="stable")
        .reset_index(drop=True),
        missed_points=missed_points(stats, bank, top=top),
        misconceptions=misconception_table(stats, bank, top=top),
        attention=attention(stats, below=attention_below),
        to_review=no_review() if to_review is None else to_review,
        review_total=(0 if to_review is None else len(to_review)) if review_total is None else review_total,
    )


def no_review() -> pd.DataFrame:
    """An empty `review_table`."""
    return pd.DataFrame(columns=list(REVIEW_COLUMNS))


def review_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The answers flagged for review, by question then person (`REVIEW_COLUMNS`).

    `frame` has scores.csv columns (`student_id`, `question_id`, `score`,
    `score_low`, `score_high`, `review`); a file without a `review` column
    (written before it existed) has none to review.
    """
    if "review" not in frame.columns or frame.empty:
        return no_review()
    flagged = frame[[bool(r) for r in frame["review"]]]
    table = pd.DataFrame({
        "person": flagged["student_id"].astype(str).tolist(),
        "question_id": flagged["question_id"].astype(str).tolist(),
        "score": flagged["score"].astype(float).tolist(),
        **{c: (flagged[c].astype(float).tolist() if c in flagged.columns else [np.nan] * len(flagged))
           for c in ("score_low", "score_high")},
        "review": [tuple(r) for r in flagged["review"]],
    }, columns=list(REVIEW_COLUMNS))
    return table.sort_values(_REVIEW_ORDER, kind="stable").reset_index(drop=True)


def merge_review(parts: Sequence[pd.DataFrame], keep: int | None) -> pd.DataFrame:
    """`review_table`s of parts of one file merged in the same order, cut to `keep` rows if given."""
    merged = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True).sort_values(
        _REVIEW_ORDER, kind="stable")
    return (merged.head(keep) if keep is not None else merged).reset_index(drop=True)


def person_topic_table(stats: CohortStats) -> pd.DataFrame:
    """Each person's mean per topic (topics weakest first) and overall; people weakest first."""
    cohort = [np.nanmean(col) if np.any(~np.isnan(col)) else np.nan for col in stats.topic_means.T]
    order = sorted(range(len(stats.topics)), key=lambda j: (cohort[j], stats.topics[j]))
    table = pd.DataFrame(stats.topic_means[:, order], columns=[stats.topics[j] for j in order])
    table.insert(0, "person", list(stats.people))
    table["overall"] = stats.overall
    return table.sort_values(["overall", "person"], kind="stable").reset_index(drop=True)


def topic_table(stats: CohortStats, person_topic: pd.DataFrame) -> pd.DataFrame:
    """Per topic: mean and spread (population SD) of the people's topic means, weakest first."""
    rows = []
    for topic in person_topic.columns[1:-1]:
        means = person_topic[topic].dropna().to_numpy()
        answers = sum(int(n) for q, n in zip(stats.questions, stats.answers, strict=True)
                      if stats.topic_of[q] == topic)
        rows.append((topic, float(means.mean()), float(means.std()) if len(means) > 1 else 0.0,
                     float(means.min()), float(means.max()), len(means), answers))
    return pd.DataFrame(rows, columns=list(TOPIC_COLUMNS))


def question_table(stats: CohortStats) -> pd.DataFrame:
    """Per question: answers, mean, facility and discrimination; lowest facility first."""
    table = pd.DataFrame({
        "question_id": list(stats.questions),
        "topic": [stats.topic_of[q] for q in stats.questions],
        "answers": stats.answers.astype(int),
        "mean": stats.mean,
        "facility": stats.facility,
        "discrimination": [np.nan if r is None else r for r in stats.discrimination],
    }, columns=list(QUESTION_COLUMNS))
    return table.sort_values(["facility", "mean", "question_id"], kind="stable").reset_index(drop=True)


def missed_points(stats: CohortStats, bank: Bank | None, *, top: int = 10) -> pd.DataFrame:
    """The `top` key points missed by the most answers (blank answers left out), with the rubric statement."""
    rows = []
    for qid in stats.questions:
        seen = stats.seen[qid]
        for pid, n in stats.missed[qid].items():
            if n:
                statement, statement_en = point_statements(bank, qid, pid)
                rows.append((qid, stats.topic_of[qid], label_for(bank, qid, pid, stats.labels), statement,
                             statement_en, n, seen[pid], n / seen[pid]))
    table = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    table = table.sort_values(["missed", "rate", "question_id", "title"], ascending=[False, False, True, True],
                              kind="stable")
    return table.head(top).reset_index(drop=True)


def misconception_table(stats: CohortStats, bank: Bank | None, *, top: int = 10) -> pd.DataFrame:
    """The `top` misconceptions stated by the most answers."""
    rows = []
    for k, qid in enumerate(stats.questions):
        answers = int(stats.answers[k])
        for mid, n in stats.misconceptions[qid].items():
            if n:
                rows.append((qid, stats.topic_of[qid], label_for(bank, qid, mid, stats.labels), n, answers,
                             n / answers))
    table = pd.DataFrame(rows, columns=list(MISCONCEPTION_COLUMNS))
    table = table.sort_values(["count", "question_id", "misconception"], ascending=[False, True, True],
                              kind="stable")
    return table.head(top).reset_index(drop=True)


def attention(stats: CohortStats, *, below: float) -> pd.DataFrame:
    """People who need attention, weakest first, one column per reason (see the module doc)."""
    overall, n = stats.overall, len(stats.people)
    centre, spread = (float(overall.mean()), float(overall.std())) if n else (0.0, 0.0)
    sd_below = (centre - overall) / spread if n >= 5 and spread > 0 else np.full(n, np.nan)
    blank = stats.blanks + (len(stats.questions) - stats.answered)
    many_blank = (blank > 0) & (blank * 4 >= len(stats.questions))
    many_flagged = (stats.flagged > 0) & (stats.flagged * 2 >= stats.answered)
    chosen = (overall < below) | (sd_below > 1) | many_blank | many_flagged
    rows = []
    for i in map(int, np.flatnonzero(chosen)):
        weakest = stats.weakest[i]
        rows.append((stats.people[i], float(overall[i]), int(stats.answered[i]), weakest,
                     float(stats.topic_means[i, stats.topics.index(weakest)]) if weakest else np.nan,
                     bool(overall[i] < below), float(sd_below[i]), int(blank[i]), int(stats.flagged[i])))
    table = pd.DataFrame(rows, columns=list(ATTENTION_COLUMNS))
    return table.sort_values(["mean", "person"], kind="stable").reset_index(drop=True)


# --- from a scores.csv ---------------------------------------------------------------------


def tally_scores(frame: pd.DataFrame, *, bank: Bank | None, tally: CohortTally | None = None) -> CohortTally:
    """A tally of the rows of a scores.csv (`grade.schema.read_scores(...).frame`, or its columns).

    Given `tally`, the rows are added to it (a file read in chunks) and it is returned.

    Key points and misconceptions are taken by id (`*_ids`); a row without
    ids (a file from before the id columns, or a hand-made frame) has its
    labels looked up in the bank (title, label or id), and a label the bank
    does not know stands for its own id. Labels of ids the bank lacks are
    kept for display.
    """
    ids = _LabelIds(bank)
    tally = CohortTally() if tally is None else tally

    def col(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [()] * len(frame)

    qids = [str(q) for q in frame["question_id"].tolist()]
    labels = [col(n) for n in _LABELS]
    found = [col(n) for n in _IDS]
    for k in range(len(_IDS)):
        if any(n and not g for n, g in zip(labels[k], found[k], strict=True)):
            found[k] = [g if g or not n else ids(q, n) for q, n, g in zip(qids, labels[k], found[k], strict=True)]
    graded = []
    for topic, score, flags, covered, partial, missed, wrong in zip(col("topic"), col("score"), col("flags"),
                                                                   *found, strict=True):
        blank = BLANK_FLAG in flags
        graded.append(Graded(str(topic), float(score), blank, counts_as_flagged(flags),
                             (*covered, *partial, *missed), missed, wrong))
    tally.add_many([str(s) for s in frame["student_id"].tolist()], qids, graded)
    unknown = {q for q in tally.questions if not ids.knows(q, _counted(tally, q))}
    for i, qid in enumerate(qids):
        if qid in unknown:  # keep the labels the file gives ids the bank lacks, for display
            for names, given in zip(labels, found, strict=True):
                if len(names[i]) == len(given[i]):
                    tally.add_labels(qid, given[i], names[i])
    return tally


_LABELS = ("covered", "partial", "missed", "misconceptions")
_IDS = ("covered_ids", "partial_ids", "missed_ids", "misconception_ids")
COLUMNS_READ = ("flags", *_LABELS, *_IDS)  # the scores.csv columns `tally_scores` uses, beside the required
REVIEW_READ = ("score_low", "score_high", "review")  # and those `review_table` adds
READ_CHUNK = 50_000  # scores.csv rows `tally_file` reads at a time


def tally_file(path: Path, *, bank: Bank | None, columns: Sequence[str] = COLUMNS_READ,
               each: Callable[[pd.DataFrame], None] | None = None) -> tuple[CohortTally, ScoresChunks]:
    """A tally of the scores.csv at `path` (or in that run folder), read READ_CHUNK rows at a time.

    Memory stays that of one chunk and the tally, however long the file.
    `each` sees every chunk (with `columns`) once it is tallied. Returns the
    tally and the chunks read (their `path`, and `skipped`: rows without a score).

    Raises:
        InputFileError: as `grade.schema.read_scores`.

    """
    chunks = ScoresChunks(path, columns=columns, size=READ_CHUNK)
    tally = CohortTally()
    for frame in chunks:
        tally_scores(frame, bank=bank, tally=tally)
        if each is not None:
            each(frame)
    return tally, chunks


def _counted(tally: CohortTally, question_id: str) -> set[str]:
    k = tally.questions[question_id]
    return {*tally.seen[k], *tally.misconceptions[k]}


class _LabelIds:
    """Label -> id, per question, from the bank's key points and misconceptions."""

    def __init__(self, bank: Bank | None) -> None:
        self.bank = bank
        self.maps: dict[str, dict[str, str]] = {}

    def knows(self, question_id: str, keys: set[str]) -> bool:
        """True when the bank has every one of these ids of the question."""
        return keys <= set(self._map(question_id).values())

    def __call__(self, question_id: str, labels: Sequence[str]) -> tuple[str, ...]:
        """The ids of these labels of the question (a label the bank lacks stands for itself)."""
        found = self.maps.get(question_id)
        if found is None:
            found = self.maps[question_id] = self._map(question_id)
        return tuple(found.get(label, label) for label in labels)

    def _map(self, question_id: str) -> dict[str, str]:
        rubric = self.bank.rubrics.get(question_id) if self.bank else None
        out: dict[str, str] = {}
        for p in rubric.key_points if rubric else ():
            for name in (p.id, point_label(p), p.title):
                out.setdefault(name, p.id)
        for m in rubric.misconceptions if rubric else ():
            for name in (m.id, m.text):
                out.setdefault(name, m.id)
        return out
