"""Re-score stored attempts with the current rubrics, embedder and calibration.

Old scores are kept; the new ones become current (`store.add_scores`), so
that history compares like with like. Only attempts scored with another
rubric version, embedder or calibration are stale, unless forced; attempts
on questions no longer in the bank are left alone and named.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from harness.practice import store
from harness.practice.store import StoredAttempt
from harness.types import Bank, Score

BATCH = 64
LOADING = "Loading the embedder"
RESCORING = "Re-scoring attempts"
EMBEDDING = "Embedding rubrics"
RUBRIC_CHUNK = 8
T = TypeVar("T")


class RescorerLike(Protocol):
    """What rescoring needs of `harness.scoring.scorer.Scorer`."""

    @property
    def embedder_id(self) -> str: ...

    @property
    def calibration_id(self) -> str: ...

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]: ...

    def rubric_vectors(self, question_ids: Sequence[str]) -> object:
        """Embed (or read from the disk cache) these questions' rubrics."""
        ...


@dataclass(frozen=True)
class RescoreResult:
    """What a rescore did: how many attempts, with what, and the mean change of their scores."""

    embedder_id: str
    calibration_id: str
    rescored: int
    up_to_date: int
    mean_change: float | None
    gone: tuple[str, ...]


def is_stale(attempt: StoredAttempt, scorer: RescorerLike, *, bank: Bank) -> bool:
    """True when the attempt's current score came from another rubric version, embedder or calibration."""
    return (attempt.embedder_id, attempt.calibration_id, attempt.rubric_version) != (
        scorer.embedder_id, scorer.calibration_id, bank.rubrics[attempt.question_id].version_id)


def stale(rows: Sequence[StoredAttempt], scorer: RescorerLike, *, bank: Bank,
          force: bool = False) -> list[StoredAttempt]:
    """The attempts to re-score (all of them with `force`); every row's question must be in the bank."""
    return [a for a in rows if force or is_stale(a, scorer, bank=bank)]


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _ignore(step: str, done: int, total: int) -> None:
    """A progress callback that reports nowhere."""


def rescore(
    conn: sqlite3.Connection,
    bank: Bank,
    *,
    load: Callable[[], RescorerLike],
    user: str | None,
    force: bool = False,
    progress: Callable[[str, int, int], None] = _ignore,
) -> RescoreResult:
    """Re-score a user's (None: everyone's) stale attempts and store the new scores in one transaction.

    `load` builds the scorer; `progress(step, done, total)` is called as the
    embedder loads, as the rubrics are embedded and after each batch of
    `BATCH` attempts (a progress bar in the terminal).

    Raises:
        HarnessError: the scorer cannot load, or scoring or storing failed;
            nothing is stored then.

    """
    rows = store.attempts(conn, user=user)
    gone = tuple(sorted({a.question_id for a in rows if a.question_id not in bank.rubrics}))
    rows = [a for a in rows if a.question_id in bank.rubrics]
    progress(LOADING, 0, 1)
    scorer = load()
    progress(LOADING, 1, 1)
    todo = stale(rows, scorer, bank=bank, force=force)
    questions = list(dict.fromkeys(a.question_id for a in todo))
    progress(EMBEDDING, 0, len(questions))
    for start in range(0, len(questions), RUBRIC_CHUNK):  # a bank's first embedding is slow on a cold cache
        scorer.rubric_vectors(questions[start:start + RUBRIC_CHUNK])
        progress(EMBEDDING, min(start + RUBRIC_CHUNK, len(questions)), len(questions))
    new: list[Score] = []
    progress(RESCORING, 0, len(todo))
    for batch in batches(todo):
        new.extend(scorer.score_many([(a.question_id, a.answer) for a in batch]))
        progress(RESCORING, len(new), len(todo))
    store.add_scores(conn, [(a.attempt_id, s) for a, s in zip(todo, new, strict=True)])
    change = sum(s.score - a.score for a, s in zip(todo, new, strict=True)) / len(todo) if todo else None
    return RescoreResult(scorer.embedder_id, scorer.calibration_id, len(todo), len(rows) - len(todo), change,
                         gone)
