"""Cohort aggregates kept while grading, and the summaries built from them.

Memory is what the summaries need and no more: per question, running counts
and per-key-point miss counts; per person, one float32 score per question
(NaN where unanswered), which is what discrimination needs. Nothing per
answer text is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.types import Bank, Rubric

PASS_MARK = 60.0


def point_labels(rubric: Rubric) -> dict[str, str]:
    """Point id -> the name shown for it.

    That is the point's title, or its whole text for points derived from
    reference answers (whose titles are cut short).
    """
    return {p.id: p.text if p.derived else p.title for p in rubric.key_points}


@dataclass(frozen=True, slots=True)
class Graded:
    """One graded answer in the compact form the grader keeps and writes.

    `cells` are the scores.csv cells after student and question
    (topic, score, covered, partial, missed, misconceptions, flags, feedback),
    already made safe for Excel (`files.write.safe_cell`);
    `seen` and `missed` are the key point ids judged and missed.
    """

    score: float
    blank: bool
    seen: tuple[str, ...]
    missed: tuple[str, ...]
    cells: tuple[str, ...]


@dataclass(frozen=True)
class QuestionStats:
    """How the cohort did on one question.

    `facility` is the share scoring at least `PASS_MARK`; `discrimination`
    the Pearson correlation between the question's score and the mean of each
    person's other answers (None with fewer than 3 people or no spread);
    `most_missed` holds (point id, title, missed, judged), most missed first.
    """

    question_id: str
    topic: str
    answers: int
    blanks: int
    mean: float | None
    facility: float | None
    discrimination: float | None
    most_missed: tuple[tuple[str, str, int, int], ...]


@dataclass(frozen=True)
class StudentStats:
    """One person's overall mean, per-topic means (None where unanswered) and weakest topic."""

    student_id: str
    answers: int
    blanks: int
    overall: float
    topics: tuple[float | None, ...]
    weakest_topic: str


class CohortTally:
    """Running aggregates; `add` one graded answer, then read the summaries."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.qids = list(bank.questions)
        self._qindex = {q: i for i, q in enumerate(self.qids)}
        nq = len(self.qids)
        self.n = np.zeros(nq, dtype=np.int64)
        self.blanks = np.zeros(nq, dtype=np.int64)
        self.total = np.zeros(nq, dtype=np.float64)
        self.passed = np.zeros(nq, dtype=np.int64)
        self.seen: list[Counter[str]] = [Counter() for _ in range(nq)]
        self.missed: list[Counter[str]] = [Counter() for _ in range(nq)]
        self.people = 0
        self._matrix = np.full((64, nq), np.nan, dtype=np.float32)
        self._student_blanks = np.zeros(64, dtype=np.int32)

    @property
    def answers(self) -> int:
        """Answers tallied so far."""
        return int(self.n.sum())

    def add(self, student_index: int, question_id: str, *, graded: Graded) -> None:
        """Count one graded answer of the person with this (roster) index."""
        self.add_many([student_index], [question_id], [graded])

    def add_many(self, students: Sequence[int], questions: Sequence[str], graded: Sequence[Graded]) -> None:
        """Count graded answers: `graded[i]` is person `students[i]`'s answer to `questions[i]`."""
        n = len(graded)
        if not n:
            return
        s = np.fromiter(students, dtype=np.int64, count=n)
        q = np.fromiter(map(self._qindex.__getitem__, questions), dtype=np.int64, count=n)
        scores = np.fromiter((g.score for g in graded), dtype=np.float64, count=n)
        blank = np.fromiter((g.blank for g in graded), dtype=bool, count=n)
        top = int(s.max())
        if top >= self._matrix.shape[0]:
            self._grow(top)
        self.people = max(self.people, top + 1)
        self._matrix[s, q] = scores
        np.add.at(self.n, q, 1)
        np.add.at(self.total, q, scores)
        np.add.at(self.passed, q, scores >= PASS_MARK)
        np.add.at(self.blanks, q, blank)
        np.add.at(self._student_blanks, s, blank)
        # Identical answers share one Graded object: count each (question, result) once.
        repeats = Counter(zip(q.tolist(), map(id, graded), strict=True))
        by_id = {id(g): g for g in graded}
        for (qi, gid), count in repeats.items():
            g = by_id[gid]
            if not g.blank:
                _add_counts(self.seen[qi], g.seen, count)
                _add_counts(self.missed[qi], g.missed, count)

    def _grow(self, student_index: int) -> None:
        rows = max(student_index + 1, 2 * self._matrix.shape[0]) - self._matrix.shape[0]
        self._matrix = np.vstack([self._matrix, np.full((rows, len(self.qids)), np.nan, np.float32)])
        self._student_blanks = np.concatenate([self._student_blanks, np.zeros(rows, np.int32)])

    @property
    def matrix(self) -> np.ndarray:
        """Scores, people x questions (NaN where unanswered); rows in first-seen order."""
        return self._matrix[: self.people]

    def questions(self) -> list[QuestionStats]:
        """Per-question statistics, in bank order, for the questions answered."""
        disc = discrimination(self.matrix)
        out = []
        for q, qid in enumerate(self.qids):
            n = int(self.n[q])
            if not n:
                continue
            rubric = self.bank.rubrics[qid]
            titles = point_labels(rubric)
            ranked = sorted(self.missed[q].items(), key=lambda kv: (-kv[1], list(titles).index(kv[0])
                                                                  if kv[0] in titles else 0))
            most = tuple((pid, titles.get(pid, pid), count, self.seen[q][pid])
                         for pid, count in ranked if count)
            out.append(QuestionStats(
                qid, self.bank.questions[qid].topic, n, int(self.blanks[q]),
                float(self.total[q] / n), float(self.passed[q] / n), disc[q], most,
            ))
        return out

    def topics(self) -> tuple[str, ...]:
        """Topics with at least one answer, in bank order."""
        return tuple(t for t in self.bank.topics
                     if any(self.n[i] for i, q in enumerate(self.qids)
                            if self.bank.questions[q].topic == t))

    def students(self, student_ids: list[str]) -> list[StudentStats]:
        """Per-person statistics, in roster order (`student_ids[i]` has index i)."""
        topics = self.topics()
        m = self.matrix
        columns = [[i for i, q in enumerate(self.qids) if self.bank.questions[q].topic == t] for t in topics]
        answered = ~np.isnan(m)
        counts = answered.sum(axis=1)
        overall = np.where(counts > 0, np.nansum(m, axis=1) / np.maximum(counts, 1), 0.0)
        topic_means = np.full((m.shape[0], len(topics)), np.nan)
        for j, cols in enumerate(columns):
            k = answered[:, cols].sum(axis=1)
            s = np.nansum(m[:, cols], axis=1)
            topic_means[:, j] = np.where(k > 0, s / np.maximum(k, 1), np.nan)
        out = []
        for i, sid in enumerate(student_ids[: self.people]):
            if not counts[i]:
                continue
            row = topic_means[i]
            means = tuple(None if np.isnan(v) else float(v) for v in row)
            weakest = topics[int(np.nanargmin(row))] if not np.all(np.isnan(row)) else ""
            out.append(StudentStats(sid, int(counts[i]), int(self._student_blanks[i]),
                                    float(overall[i]), means, weakest))
        return out


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
