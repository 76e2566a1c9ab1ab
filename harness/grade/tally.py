"""Cohort aggregates, filled while grading or from a scores.csv, and the statistics made from them.

Both ways of filling go through `CohortTally.add_many`, and `stats` sorts
people and questions by id before any sum, so a grade run's summaries and
the report of its scores.csv come from the same floats whatever order the
answers arrived in.

Memory is what the statistics need: per person one float64 per question
(NaN where unanswered) and counts of blank and flagged answers; per question
counts of the key points judged and missed and of misconceptions stated.
Nothing per answer text is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PASS_MARK = 60.0


@dataclass(frozen=True, slots=True)
class Graded:
    """One graded answer in the compact form the grader keeps and the tally counts.

    `score` is the score as scores.csv holds it (one decimal), so a report
    read from the file finds the same numbers; `seen`, `missed` and
    `misconceptions` are ids (key points judged, key points missed,
    misconceptions stated); `flagged` marks a non-blank answer with a flag;
    `cells` are its scores.csv result cells (`schema.RESULT_COLUMNS`),
    Excel-safe, empty when it was read from a file.
    """

    topic: str
    score: float
    blank: bool
    flagged: bool
    seen: tuple[str, ...]
    missed: tuple[str, ...]
    misconceptions: tuple[str, ...]
    cells: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CohortStats:
    """The cohort's numbers. People, questions and topics are sorted; arrays follow that order.

    `scores` is people x questions (NaN where unanswered); `topic_means`
    people x topics, each person's mean over their answers in the topic
    (NaN where none); `overall` each person's mean over all their answers;
    `blanks` and `flagged` count each person's blank answers and non-blank
    answers with a flag. Per question: `answers`, `question_blanks`, `mean`,
    `facility` (share scoring at least `PASS_MARK`) and `discrimination`
    (see `discrimination`). `seen`, `missed` and `misconceptions` count ids
    per question over non-blank answers; `labels` holds the label the data
    gave each (question, id). `first_seen` lists people (indexes) in the
    order their first answer arrived.
    """

    people: tuple[str, ...]
    questions: tuple[str, ...]
    topics: tuple[str, ...]
    topic_of: Mapping[str, str]
    scores: np.ndarray
    topic_means: np.ndarray
    overall: np.ndarray
    answered: np.ndarray
    blanks: np.ndarray
    flagged: np.ndarray
    answers: np.ndarray
    question_blanks: np.ndarray
    mean: np.ndarray
    facility: np.ndarray
    discrimination: tuple[float | None, ...]
    seen: Mapping[str, Counter[str]]
    missed: Mapping[str, Counter[str]]
    misconceptions: Mapping[str, Counter[str]]
    labels: Mapping[tuple[str, str], str]
    first_seen: tuple[int, ...]
    weakest: tuple[str, ...]  # each person's lowest topic mean (ties: the first topic by name)


class CohortTally:
    """Running aggregates: `add_many` graded answers (one per person and question), then `stats`."""

    def __init__(self) -> None:
        self.people: dict[str, int] = {}
        self.questions: dict[str, int] = {}
        self.topic_of: dict[str, str] = {}
        self.seen: list[Counter[str]] = []
        self.missed: list[Counter[str]] = []
        self.misconceptions: list[Counter[str]] = []
        self.labels: dict[tuple[str, str], str] = {}
        self.answers = 0
        self._scores = np.full((64, 8), np.nan)
        self._person_counts = np.zeros((64, 2), dtype=np.int64)  # blanks, flagged
        self._question_blanks = np.zeros(8, dtype=np.int64)

    def add_many(self, students: Sequence[str], questions: Sequence[str], graded: Sequence[Graded]) -> None:
        """Count graded answers: `graded[i]` is person `students[i]`'s answer to `questions[i]`."""
        n = len(graded)
        if not n:
            return
        people, qindex = self.people, self.questions
        s = np.fromiter((people.setdefault(p, len(people)) for p in students), dtype=np.int64, count=n)
        for qid, g in zip(questions, graded, strict=True):
            if qid not in qindex:
                self._add_question(qid, g.topic)
        q = np.fromiter(map(qindex.__getitem__, questions), dtype=np.int64, count=n)
        self._grow(len(people), len(qindex))
        blank = np.fromiter((g.blank for g in graded), dtype=bool, count=n)
        self._scores[s, q] = np.fromiter((g.score for g in graded), dtype=np.float64, count=n)
        np.add.at(self._person_counts[:, 0], s, blank)
        np.add.at(self._person_counts[:, 1], s, np.fromiter((g.flagged for g in graded), dtype=bool, count=n))
        np.add.at(self._question_blanks, q, blank)
        self.answers += n
        # Identical answers share one Graded object: count each (question, result) once.
        repeats = Counter(zip(q.tolist(), map(id, graded), strict=True))
        by_id = {id(g): g for g in graded}
        for (qi, gid), count in repeats.items():
            g = by_id[gid]
            if not g.blank:
                _add_counts(self.seen[qi], g.seen, count)
                _add_counts(self.missed[qi], g.missed, count)
                _add_counts(self.misconceptions[qi], g.misconceptions, count)

    def add_labels(self, question_id: str, ids: Sequence[str], labels: Sequence[str]) -> None:
        """Remember the labels the data gives ids of a question (the first one given wins)."""
        for key, label in zip(ids, labels, strict=True):
            self.labels.setdefault((question_id, key), label)

    def _add_question(self, question_id: str, topic: str) -> None:
        self.questions[question_id] = len(self.questions)
        self.topic_of[question_id] = topic
        for counters in (self.seen, self.missed, self.misconceptions):
            counters.append(Counter())

    def _grow(self, people: int, questions: int) -> None:
        rows, cols = self._scores.shape
        if people <= rows and questions <= cols:
            return
        rows = rows if people <= rows else max(people, 2 * rows)
        cols = cols if questions <= cols else max(questions, 2 * cols)
        scores = np.full((rows, cols), np.nan)
        scores[: self._scores.shape[0], : self._scores.shape[1]] = self._scores
        counts = np.zeros((rows, 2), dtype=np.int64)
        counts[: len(self._person_counts)] = self._person_counts
        blanks = np.zeros(cols, dtype=np.int64)
        blanks[: len(self._question_blanks)] = self._question_blanks
        self._scores, self._person_counts, self._question_blanks = scores, counts, blanks

    def stats(self, *, topic_of: Mapping[str, str] | None = None) -> CohortStats:
        """The statistics of everything added so far (people and questions sorted by id).

        `topic_of` gives questions another topic than their answers did (a
        progress report takes each question's topic from the latest run).
        """
        people = sorted(self.people)
        questions = sorted(self.questions)
        topic_of = {**self.topic_of, **{q: t for q, t in (topic_of or {}).items() if q in self.topic_of}}
        p = np.array([self.people[x] for x in people], dtype=np.int64)
        q = np.array([self.questions[x] for x in questions], dtype=np.int64)
        m = self._scores[np.ix_(p, q)]
        done = ~np.isnan(m)
        answered = done.sum(axis=1)
        topics = tuple(sorted({topic_of[x] for x in questions}))
        topic_means = np.full((len(people), len(topics)), np.nan)
        for j, topic in enumerate(topics):
            cols = [k for k, x in enumerate(questions) if topic_of[x] == topic]
            k = done[:, cols].sum(axis=1)
            topic_means[:, j] = np.where(k > 0, np.nansum(m[:, cols], axis=1) / np.maximum(k, 1), np.nan)
        answers = done.sum(axis=0)
        rank = {x: i for i, x in enumerate(people)}
        low = np.where(np.isnan(topic_means), np.inf, topic_means).argmin(axis=1) if len(topics) else []
        weakest = tuple(topics[j] for j in low)  # everyone answered something, so some topic mean
        return CohortStats(
            people=tuple(people), questions=tuple(questions), topics=topics,
            topic_of={x: topic_of[x] for x in questions}, scores=m, topic_means=topic_means,
            overall=np.nansum(m, axis=1) / np.maximum(answered, 1), answered=answered,
            blanks=self._person_counts[p, 0], flagged=self._person_counts[p, 1], answers=answers,
            question_blanks=self._question_blanks[q], mean=np.nansum(m, axis=0) / np.maximum(answers, 1),
            facility=(m >= PASS_MARK).sum(axis=0) / np.maximum(answers, 1),
            discrimination=tuple(discrimination(m)),
            seen={x: self.seen[self.questions[x]] for x in questions},
            missed={x: self.missed[self.questions[x]] for x in questions},
            misconceptions={x: self.misconceptions[self.questions[x]] for x in questions},
            labels=dict(self.labels), first_seen=tuple(rank[x] for x in self.people), weakest=weakest,
        )


def _add_counts(counter: Counter[str], keys: tuple[str, ...], count: int) -> None:
    for key in keys:
        counter[key] += count


def discrimination(matrix: np.ndarray) -> list[float | None]:
    """Per column: Pearson r between the column and the mean of each row's other answers.

    Rows that did not answer the column, or answered nothing else, are left
    out; None with fewer than 3 such rows or no spread on either side.
    """
    m = np.asarray(matrix, dtype=np.float64)
    answered = ~np.isnan(m)
    row_sum = np.nansum(m, axis=1)
    row_n = answered.sum(axis=1)
    out: list[float | None] = []
    for q in range(m.shape[1]):
        keep = answered[:, q] & (row_n > 1)
        if keep.sum() < 3:
            out.append(None)
            continue
        x = m[keep, q]
        rest = (row_sum[keep] - x) / (row_n[keep] - 1)
        if np.ptp(x) == 0 or np.ptp(rest) == 0:
            out.append(None)
            continue
        out.append(float(np.corrcoef(x, rest)[0, 1]))
    return out
