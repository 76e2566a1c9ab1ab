"""`grade --suggest-anchors K`: the answers a teacher should grade, written to `anchors-to-grade.csv`.

While the run grades, `Suggester` keeps a fixed sample of each question's
answers (at most `SAMPLE_PER_QUESTION`, chosen by a hash of student and
question, so the same file gives the same sample) and, apart, the answers
flagged for review. After grading it embeds the sample with the run's
encoder and picks K per question with `scoring.anchors.choose`: one at a
time, the answer whose grade would teach the most about the others
(representative and mutually different), after the grades the run already
has. Review-flagged answers are candidates like the others; those not picked
are listed after the K (up to K, widest range first), marked and not
counted: they need a teacher's eye for their own sake, but being atypical
(a wrong verdict, an unusual answer) their grades teach little about the
rest. `benchmarks/bench_anchors.py` measures both choices: leaving the
flagged answers out of the candidates, or spending the K on them first,
teaches less than choosing among all.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.files.write import SafeCsvWriter
from harness.grade.schema import LIST_SEP, RESULT_COLUMNS
from harness.scoring.anchors import (
    AnchorPrior,
    AnchorState,
    QuestionAnchors,
    anchor_prior,
    choose,
    unit,
)
from harness.types import ANCHOR_FLAG

if TYPE_CHECKING:
    from harness.grade.anchors import AnchorScorer
    from harness.grade.folder import RunFolder
    from harness.grade.submissions import Answer
    from harness.grade.tally import Graded
    from harness.types import Bank

SUGGEST_FILE = "anchors-to-grade.csv"
SAMPLE_PER_QUESTION = 300
DEFAULT_SCALE = 100  # human_score_max written for the teacher to keep or change
_NAMES = [c.name for c in RESULT_COLUMNS]
_INTERVAL = ("score_low", "score_high")
_AT = {name: _NAMES.index(name) for name in ("flags", "review", *_INTERVAL)}
_SKIP = frozenset({"no-answer", ANCHOR_FLAG})


@dataclass(frozen=True)
class Candidate:
    """A graded answer that may be suggested: who, what, its score (and interval cells, if the run has them)."""

    key: int
    student_id: str
    question_id: str
    text: str
    score: float
    interval: tuple[str, ...]
    review: bool

    @property
    def width(self) -> float:
        """The interval's width (0 without one)."""
        try:
            return float(self.interval[1]) - float(self.interval[0]) if self.interval else 0.0
        except ValueError:
            return 0.0


def candidate(a: Answer, g: Graded) -> Candidate | None:
    """The row as a candidate; None for a blank, "don't know" or already graded answer."""
    if g.blank or not a.text or not g.cells:
        return None
    flags = set(g.cells[_AT["flags"]].split(LIST_SEP)) - {""}
    if flags & _SKIP:
        return None
    review = bool(g.cells[_AT["review"]].strip())  # the review reasons, as scores.csv holds them
    key = zlib.crc32(f"{a.student_id}\x1f{a.question_id}".encode())
    return Candidate(key, a.student_id, a.question_id, a.text, g.score,
                     tuple(g.cells[_AT[c]] for c in _INTERVAL), review)


class Suggester:
    """Keeps each question's sample and its review-flagged answers as the run grades, then picks K."""

    def __init__(self, k: int, bank: Bank, *, sample: int = SAMPLE_PER_QUESTION) -> None:
        self.k, self.bank, self.sample = k, bank, sample
        self._pool: dict[str, list[tuple[int, str, Candidate]]] = {}
        self._review: dict[str, list[tuple[tuple[float, int], str, Candidate]]] = {}

    def add(self, rows: list[tuple[Answer, Graded]]) -> None:
        """Consider a batch of graded rows."""
        for a, g in rows:
            c = candidate(a, g)
            if c is None:
                continue
            # the lowest keys: a fixed sample, flagged answers included
            _keep(self._pool.setdefault(c.question_id, []), (-c.key, c.student_id, c), self.sample)
            if c.review:  # the widest intervals, then the lowest keys; 2K, so K are left after the picks
                _keep(self._review.setdefault(c.question_id, []), ((c.width, -c.key), c.student_id, c), 2 * self.k)

    def write(self, folder: RunFolder, scorer: AnchorScorer,
              state: AnchorState | None) -> tuple[str, dict[str, Any]]:
        """Pick and write `anchors-to-grade.csv`: (its name, run.json's `suggested_anchors`).

        Raises:
            CalibrationError: the calibration has no anchor prior.
        """
        prior = state.prior if state is not None else anchor_prior(scorer.calibration)
        pools = {q: sorted((e[-1] for e in self._pool[q]), key=lambda c: (c.key, c.student_id))
                 for q in self.bank.questions if self._pool.get(q)}
        items = [(c.question_id, c.text) for cands in pools.values() for c in cands]
        vectors = iter(scorer.answer_vectors(items))
        rows: list[list[object]] = []
        chosen = review = 0
        for qid in self.bank.questions:
            cands = [(c, v) for c, v in zip(pools.get(qid, []), vectors) if v is not None]
            picked = _pick(prior, cands, self.k, state.questions.get(qid) if state else None)
            taken = {(c.student_id, c.key) for c, _ in picked}
            flagged = [e[-1] for e in sorted(self._review.get(qid, []), key=lambda e: e[:2], reverse=True)]
            flagged = [c for c in flagged if (c.student_id, c.key) not in taken][: self.k]
            rows += [row for _, row in picked]
            rows += [_row(c, f"review: its score is unsure; grade it for its own sake (not one of the {self.k})")
                     for c in flagged]
            chosen, review = chosen + len(picked), review + len(flagged)
        with SafeCsvWriter(folder / SUGGEST_FILE) as out:
            out.row(["student_id", "question_id", "answer", "predicted_score", *_INTERVAL, "why_chosen",
                     "human_score", "human_score_max"])
            out.rows(rows)
        return SUGGEST_FILE, {"file": SUGGEST_FILE, "per_question": self.k, "chosen": chosen, "review": review,
                              "sample_per_question": self.sample}


def _keep(heap: list[Any], entry: Any, size: int) -> None:
    """Push `entry`, dropping the smallest once more than `size` are kept."""
    if len(heap) < size:
        heapq.heappush(heap, entry)
    elif entry > heap[0]:
        heapq.heapreplace(heap, entry)


def _pick(prior: AnchorPrior, cands: Sequence[tuple[Candidate, np.ndarray]], k: int,
          given: QuestionAnchors | None) -> list[tuple[Candidate, list[object]]]:
    """The k candidates to grade with their rows, each saying how many of the sample it stands for."""
    if not cands or k <= 0:
        return []
    vectors = unit(np.stack([v for _, v in cands]))
    scores = np.array([c.score / 100.0 for c, _ in cands])
    picks = choose(prior, vectors, scores, k, given_vectors=given.vectors if given is not None else None,
                   given_scores=given.scores if given is not None else None)
    nearest = np.argmax(vectors @ vectors[picks].T, axis=1)
    return [(cands[j][0], _row(cands[j][0], f"pick {n + 1} of {len(picks)}: stands for "
                                             f"{int(np.sum(nearest == n))} of the {len(cands)} answers considered"))
            for n, j in enumerate(picks)]


def _row(c: Candidate, why: str) -> list[object]:
    return [c.student_id, c.question_id, c.text, f"{c.score:.1f}", *c.interval, why, "", DEFAULT_SCALE]
