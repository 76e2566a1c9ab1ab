"""The rows a calibration is fitted on, and what is known about them with questions held out.

`collect` measures every graded answer of every set (each with its own
bank) and adds off-topic negatives (`off_topic_negatives`: answers borrowed
from other questions, graded 0). `OutOfFold` is what `calibrate` knows about
each real answer from models that never saw its question; the parts fitted
on residuals (the intervals here, the teacher-anchor prior elsewhere) are
fitted on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from harness.scoring.features import FEATURE_NAMES, PointMatch
from harness.scoring.fitting import combine
from harness.scoring.intervals import in_zh_group
from harness.scoring.text import has_cjk

if TYPE_CHECKING:
    from harness.scoring.evaluation import GradedSet
    from harness.scoring.scorer import Scorer

Progress = Callable[[str, int, int], None]
CHUNK = 256  # answers per scorer call, so progress advances; rubrics are embedded 8 questions at a time
RUBRIC_CHUNK = 8


def no_progress(step: str, done: int, total: int) -> None:
    """A progress callback that reports nowhere."""


@dataclass(frozen=True)
class Measured:
    """One graded set measured by the scorer, one row per answer.

    `features` (zeros for a blank answer), `best_point` the best derived key
    point similarity (nan: blank or no derived points), `answer_zh` whether
    the answer is written in Chinese, `rubric_zh` whether its rubric's
    reference is (the interval group), `vectors` the answer vectors (zeros
    for a blank answer), `text_reasons` the review text rules that fire
    (`review.text_reasons`), `seconds` the time it took, and `matches` each
    answer's key point matches (empty for a blank), from which the point
    statuses follow once thresholds are fitted (`heldout`).
    """

    features: np.ndarray
    best_point: np.ndarray
    answer_zh: np.ndarray
    rubric_zh: np.ndarray
    vectors: np.ndarray
    text_reasons: tuple[tuple[str, ...], ...]
    seconds: float
    matches: tuple[tuple[PointMatch, ...], ...] = ()


def embed_rubrics(scorer: Scorer, question_ids: Sequence[str], *, progress: Progress = no_progress) -> None:
    """Embed (or read from the disk cache) the rubrics of these questions, a few at a time.

    Raises:
        UnknownQuestionError: an id not in the scorer's bank.
    """
    from harness.bank.lookup import find_question

    ids = list(dict.fromkeys(question_ids))
    for qid in ids:
        find_question(scorer.bank, qid)
    progress("Embedding rubrics", 0, len(ids))
    for start in range(0, len(ids), RUBRIC_CHUNK):
        scorer.rubric_vectors(ids[start:start + RUBRIC_CHUNK])
        progress("Embedding rubrics", min(start + RUBRIC_CHUNK, len(ids)), len(ids))


def measure(scorer: Scorer, graded: GradedSet, *, progress: Progress = no_progress) -> Measured:
    """Features and the rest of `Measured` for every answer of a set.

    Rubrics are embedded a few questions at a time and answers `CHUNK` at a
    time, so `progress` advances.

    Raises:
        UnknownQuestionError: an id not in the scorer's bank.
    """
    import time

    from harness.scoring.scorer import text_reasons

    start = time.perf_counter()
    items = list(zip(graded.question_ids, graded.answers))
    embed_rubrics(scorer, graded.question_ids, progress=progress)
    analyses = []
    progress(f"Embedding answers ({graded.name})", 0, len(items))
    for first in range(0, len(items), CHUNK):
        analyses.extend(scorer.analyse_many(items[first:first + CHUNK]))
        progress(f"Embedding answers ({graded.name})", len(analyses), len(items))
    x = np.array([[a.features.values[n] if a.features else 0.0 for n in FEATURE_NAMES] for a in analyses])
    best = np.array([max((m.similarity for m in a.features.matches if m.point.derived), default=np.nan)
                     if a.features else np.nan for a in analyses])
    dim = next((len(a.answer.vector) for a in analyses if a.answer), 0)
    vectors = np.array([a.answer.vector if a.answer else np.zeros(dim, np.float32) for a in analyses],
                       dtype=np.float32).reshape(len(analyses), dim)
    rubric_zh = {q: in_zh_group(scorer.bank.rubrics[q]) for q in set(graded.question_ids)}
    return Measured(x.reshape(len(analyses), len(FEATURE_NAMES)), best,
                    np.array([has_cjk(t) for t in graded.answers], dtype=bool),
                    np.array([rubric_zh[q] for q in graded.question_ids], dtype=bool), vectors,
                    tuple(text_reasons(a, scorer.bank.rubrics[a.question_id]) for a in analyses),
                    time.perf_counter() - start, tuple(a.features.matches if a.features else () for a in analyses))


@dataclass(frozen=True)
class TrainingSet:
    """Every row a calibration is fitted on: each set's real answers, then its negatives, set after set.

    `groups` are set-qualified question ids (`set/question`), `real` marks
    human-graded rows, `sets` and `measured` give each set's graded answers
    and their measures (real rows only), in the order of the rows.
    """

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    real: np.ndarray
    sets: tuple[GradedSet, ...]
    measured: tuple[Measured, ...]

    @cached_property
    def set_of_real(self) -> np.ndarray:
        """Index into `sets` of each real row, in row order."""
        return np.concatenate([np.full(len(g.answers), i) for i, g in enumerate(self.sets)])


def collect(pairs: Sequence[tuple[Scorer, GradedSet]], *, progress: Progress = no_progress) -> TrainingSet:
    """Measure every set with its scorer and add its off-topic negatives.

    Raises:
        UnknownQuestionError: an id not in a scorer's bank.
    """
    from harness.scoring.evaluation import off_topic_negatives

    xs, ys, gs, real, measured = [], [], [], [], []
    for scorer, graded in pairs:
        m = measure(scorer, graded, progress=progress)
        measured.append(m)
        neg = off_topic_negatives(graded)
        x_neg = measure(scorer, neg, progress=progress).features
        for xx, gg, is_real in ((m.features, graded, True), (x_neg, neg, False)):
            xs.append(xx)
            ys.append(gg.target)
            gs.append(np.array([f"{graded.name}/{q}" for q in gg.question_ids]))
            real.append(np.full(len(gg.question_ids), is_real))
    return TrainingSet(np.vstack(xs), np.concatenate(ys), np.concatenate(gs), np.concatenate(real),
                       tuple(g for _, g in pairs), tuple(measured))


@dataclass(frozen=True)
class OutOfFold:
    """The real graded answers as models that never saw their question score them.

    One row per real answer, sets in order: `groups` (set-qualified question
    ids), `target` (human score 0..1), `components` (`fitting.Ensemble.components`
    out of fold), `features`, `rubric_zh` (the interval group), `vectors` (the
    answers' embeddings, zeros for a blank answer).
    """

    groups: np.ndarray
    target: np.ndarray
    components: np.ndarray
    features: np.ndarray
    rubric_zh: np.ndarray
    vectors: np.ndarray

    @property
    def score01(self) -> np.ndarray:
        """The out-of-fold score of each answer on 0..1."""
        return combine(self.components)

    @classmethod
    def of(cls, data: TrainingSet, components: np.ndarray) -> OutOfFold:
        """Pick the real rows out of `collect`'s rows and their out-of-fold components."""
        r = data.real
        vectors = [m.vectors for m in data.measured]
        dim = max((v.shape[1] for v in vectors), default=0)
        return cls(data.groups[r], data.y[r], components[r], data.x[r],
                   np.concatenate([m.rubric_zh for m in data.measured]),
                   np.vstack([v if v.shape[1] == dim else np.zeros((len(v), dim), np.float32) for v in vectors]))
