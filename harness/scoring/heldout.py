"""Zero-shot agreement, intervals and the review flag, measured with questions held out.

For outer fold k (its questions held out), the models are fitted on the
other questions (`fitting.nested_components`), and the intervals on those
questions' inner out-of-fold residuals, so neither has seen the question
it is measured on. Per set: Pearson r pooled over the set's answers and
its mean per question, the share of human scores inside the interval, its
mean width on the human scale, the share flagged for review, and the mean
absolute error (human scale) of flagged and unflagged answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.scoring.features import PointMatch
from harness.scoring.fitting import Nested, combine
from harness.scoring.intervals import fit_intervals, moved
from harness.scoring.metrics import agreement
from harness.scoring.review import reasons
from harness.scoring.rules import CLOSENESS_CAP, CLOSENESS_FLOOR, point_results
from harness.scoring.thresholds import PointThresholds, fit_derived
from harness.scoring.training import TrainingSet
from harness.types import caught


@dataclass(frozen=True)
class Reviewed:
    """Each real answer's held-out score, interval (0..1) and review reasons, in `TrainingSet` row order."""

    score01: np.ndarray
    low: np.ndarray
    high: np.ndarray
    review: tuple[tuple[str, ...], ...]

    @property
    def flagged(self) -> np.ndarray:
        """True where any review reason applies."""
        return np.array([bool(r) for r in self.review], dtype=bool)


def review_held_out(data: TrainingSet, nested: Nested) -> Reviewed:
    """Scores, intervals and review reasons of every real answer, each fitted without its question.

    The score is the scorer's: the calibration's, held at `rules.CLOSENESS_CAP`
    where no key point is caught (point thresholds fitted per fold too), the
    interval moved with it as `Scorer` moves it.
    """
    real = np.flatnonzero(data.real)
    x, y = data.x[real], data.y[real]
    zh = np.concatenate([m.rubric_zh for m in data.measured])
    text = [r for m in data.measured for r in m.text_reasons]
    fold, outer = nested.fold[real], nested.outer[real]
    score = combine(outer)
    low, high, wide = np.zeros(len(real)), np.zeros(len(real)), np.zeros(len(real), dtype=bool)
    explained = np.ones(len(real), dtype=bool)  # some key point covered or partly covered
    best = np.concatenate([m.best_point for m in data.measured])
    answer_zh = np.concatenate([m.answer_zh for m in data.measured])
    matches = [ms for m in data.measured for ms in m.matches]
    for k in np.unique(fold):
        cal, test = fold != k, fold == k
        model = fit_intervals(nested.inner[k][real][cal], x[cal], y[cal], zh[cal])
        b = model.bounds(outer[test], x[test], zh[test])
        low[test], high[test], wide[test] = b.low, b.high, b.wide
        if matches:
            explained[test] = _caught(best, answer_zh, matches, y, cal, test)
    held = np.where(explained, score, np.minimum(score, CLOSENESS_CAP / 100.0))
    low, high = moved(score, low, high, held)
    unmatched = ~explained & (held * 100.0 >= CLOSENESS_FLOOR)
    why = tuple(reasons(wide=bool(w), on_topic=float(p), text=t, unmatched=bool(u))
                for w, p, t, u in zip(wide, outer[:, 2], text, unmatched))
    return Reviewed(held, low, high, why)


def _caught(best: np.ndarray, answer_zh: np.ndarray, matches: Sequence[tuple[PointMatch, ...]], y: np.ndarray,
            cal: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Whether each `test` answer covers or partly covers a key point, thresholds fitted on the `cal` answers.

    Per answer: `best` derived point similarity (nan: none), written in Chinese, point `matches`, human grade `y`.
    """
    known = cal & ~np.isnan(best)
    fitted = fit_derived(best[known], y[known], answer_zh[known])
    points = PointThresholds(default=fitted["derived/en"], fitted=tuple(sorted(fitted.items())))
    return np.array([caught(point_results(matches[int(i)], points, zh=bool(z)))
                     for i, z in zip(np.flatnonzero(test), answer_zh[test])], dtype=bool)


@dataclass(frozen=True)
class HeldOutRow:
    """One set's held-out figures (MAE and width on the human scale)."""

    name: str
    n: int
    pearson: float
    per_question: float
    coverage: float
    width: float
    flagged: float
    mae_flagged: float
    mae_unflagged: float

    @property
    def ratio(self) -> float:
        """MAE of flagged answers over MAE of unflagged ones."""
        return self.mae_flagged / self.mae_unflagged if self.mae_unflagged else float("nan")


def held_out_rows(data: TrainingSet, reviewed: Reviewed) -> list[HeldOutRow]:
    """The figures of each set (see the module docstring)."""
    out = []
    g_real = data.groups[data.real]
    for i, graded in enumerate(data.sets):
        rows = data.set_of_real == i
        f, lo, hi = reviewed.score01[rows], reviewed.low[rows], reviewed.high[rows]
        y, scale = graded.target, graded.scale_max
        a = agreement(f * scale, graded.human, scale_max=scale, groups=list(g_real[rows]))
        err = np.abs(f - y) * scale
        flag = reviewed.flagged[rows]
        out.append(HeldOutRow(
            graded.name.removesuffix("_answers"), int(rows.sum()), a.pearson, a.per_question_mean,
            float(np.mean((y >= lo - 1e-9) & (y <= hi + 1e-9))), float(np.mean((hi - lo) * scale)),
            float(flag.mean()), float(err[flag].mean()) if flag.any() else float("nan"),
            float(err[~flag].mean()) if (~flag).any() else float("nan")))
    return out


def reason_shares(data: TrainingSet, reviewed: Reviewed) -> dict[str, dict[str, tuple[float, float]]]:
    """Per set and review reason: (share of answers, MAE of those answers over MAE of the rest)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for i, graded in enumerate(data.sets):
        rows = data.set_of_real == i
        err = np.abs(reviewed.score01[rows] - graded.target) * graded.scale_max
        why = [r for r, keep in zip(reviewed.review, rows) if keep]
        found = {reason for r in why for reason in r}
        out[graded.name.removesuffix("_answers")] = {
            reason: (float(hit.mean()), float(err[hit].mean() / err[~hit].mean()) if (~hit).any() else float("nan"))
            for reason in sorted(found) if (hit := np.array([reason in r for r in why])).any()}
    return out
