"""How sure a score is: an 80% interval per answer and a "wide" flag, fitted on held-out residuals.

Normalised split-conformal prediction, per rubric language group (`GROUPS`:
Chinese references or other), fitted on the out-of-fold scores that
`calibrate` computes anyway (each question scored by models that never saw
it), so the residuals are as large as on a new question:

    z       = [score01, p, |trees - ridge|, the features but kwcov, gap1, gap2, |gap1|, |gap2|]
              gap1 = z(cov) - z(tok_rec), gap2 = z(cos) - z(dem_rec)
              (semantic vs lexical disagreement, standardised on the group's answers)
    sigma   = max(0.02, ridge(z))       expected |human01 - score01|
    q_up    = Q((y - f) / sigma, 0.9),  q_dn = Q((f - y) / sigma, 0.9)
              (finite-sample level ceil(0.9 (n + 1)) / n)
    interval = [f - q_dn sigma, f + q_up sigma], clipped to 0..1
    (z is clipped to the range seen in fitting before the ridge, so an
    answer unlike the calibration answers is not extrapolated)

One quantile per side (10% each) because grades pile up at full marks, so
errors are often one-sided. An answer is flagged "wide" when its sigma is
above `threshold`, the 87th percentile of sigma on the group's answers (a
13% budget, leaving room for the other reasons in `review` - two text
rules, the off-topic gate, no key point matched - under a quarter; it was
15% before the no-point rule joined them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.scoring.features import FEATURE_NAMES
from harness.scoring.fitting import combine, fit_ridge
from harness.scoring.models import Arrays, LinearModel
from harness.scoring.text import has_cjk
from harness.types import Rubric

GROUPS = ("zh", "other")


def in_zh_group(rubric: Rubric) -> bool:
    """Whether a rubric's answers fall in the "zh" group: its first reference answer is written in Chinese."""
    return has_cjk(rubric.references[0].primary)
LEVEL = 0.8
FLOOR = 0.02
FLAG_SHARE = 0.13
MIN_ANSWERS = 50  # a group with fewer calibration answers uses the fit on all of them
ArrayOrFloat = np.ndarray | float
_GAPS = ("cov", "tok_rec", "cos", "dem_rec")
_GAP_COLUMNS = [FEATURE_NAMES.index(n) for n in _GAPS]
# The features the spread model reads: all but keyword coverage, whose keywords are picked from the
# reference in the rubrics calibration is fitted on (derived) but chosen by hand in written ones, so
# that its level means something else there (complete answers to the bundled bank: 0.96 against 0.39).
SPREAD_FEATURES = tuple(n for n in FEATURE_NAMES if n != "kwcov")
_SPREAD_COLUMNS = [FEATURE_NAMES.index(n) for n in SPREAD_FEATURES]
N_INPUTS = 7 + len(SPREAD_FEATURES)  # `_inputs`: score, p, |trees - ridge|, the features, two gaps and their sizes


@dataclass(frozen=True, eq=False)
class GroupIntervals:
    """The interval model of one language group."""

    gap_mean: np.ndarray
    gap_sd: np.ndarray
    sigma: LinearModel
    q_up: float
    q_dn: float
    threshold: float
    z_range: np.ndarray  # (2, inputs): the lowest and highest input seen in fitting

    def spread(self, components: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Sigma of each answer: its expected absolute error on 0..1.

        Inputs are clipped to the range seen in fitting, so an answer unlike
        the calibration answers (a hand-written rubric's, say) is not given a
        linear extrapolation.
        """
        z = np.clip(_inputs(components, x, self.gap_mean, self.gap_sd), self.z_range[0], self.z_range[1])
        return np.asarray(np.maximum(FLOOR, self.sigma.predict(z)), dtype=np.float64)

    def to_arrays(self, prefix: str) -> Arrays:
        """The parameters as named arrays."""
        return {f"{prefix}.gap_mean": self.gap_mean, f"{prefix}.gap_sd": self.gap_sd,
                f"{prefix}.q": np.array([self.q_up, self.q_dn, self.threshold]), f"{prefix}.z_range": self.z_range,
                **self.sigma.to_arrays(f"{prefix}.sigma")}

    @classmethod
    def from_arrays(cls, arrays: Arrays, prefix: str) -> GroupIntervals:
        """Rebuild from `to_arrays` output.

        Raises:
            ValueError: arrays missing or of inconsistent shapes.
        """
        mean, sd, q, z_range = (np.asarray(arrays[f"{prefix}.{k}"], dtype=np.float64)
                                for k in ("gap_mean", "gap_sd", "q", "z_range"))
        sigma = LinearModel.from_arrays(arrays, f"{prefix}.sigma")
        if mean.shape != (len(_GAPS),) or sd.shape != mean.shape or q.shape != (3,) or not (sd > 0).all():
            raise ValueError(f"{prefix}: inconsistent interval arrays")
        if not (np.isfinite(q).all() and q[0] >= 0 and q[1] >= 0):
            raise ValueError(f"{prefix}: interval quantiles must be finite and not negative, got {q.tolist()}")
        if len(sigma.coef) != N_INPUTS or z_range.shape != (2, N_INPUTS) or not (z_range[0] <= z_range[1]).all():
            raise ValueError(f"{prefix}: the spread model must read {N_INPUTS} inputs, each with a range")
        return cls(mean, sd, sigma, float(q[0]), float(q[1]), float(q[2]), z_range)


@dataclass(frozen=True)
class Bounds:
    """Intervals of a batch of answers on 0..1, and which are wide."""

    low: np.ndarray
    high: np.ndarray
    wide: np.ndarray


@dataclass(frozen=True, eq=False)
class Intervals:
    """One `GroupIntervals` per language group (`GROUPS`), at `LEVEL` nominal coverage."""

    zh: GroupIntervals
    other: GroupIntervals

    def bounds(self, components: np.ndarray, x: np.ndarray, zh: np.ndarray) -> Bounds:
        """Each answer's interval around its score01, and whether it is wide (`zh`: the rubric is Chinese)."""
        n = len(x)
        low, high, wide = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        for model, rows in ((self.zh, np.flatnonzero(zh)), (self.other, np.flatnonzero(~zh))):
            if len(rows):
                f, s = combine(components[rows]), model.spread(components[rows], x[rows])
                low[rows] = np.clip(f - model.q_dn * s, 0.0, 1.0)
                high[rows] = np.clip(f + model.q_up * s, 0.0, 1.0)
                wide[rows] = s > model.threshold
        return Bounds(low, high, wide)

    def to_arrays(self) -> Arrays:
        """The parameters as named arrays."""
        return {**self.zh.to_arrays("intervals.zh"), **self.other.to_arrays("intervals.other")}

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> Intervals | None:
        """Rebuild from `to_arrays` output; None when the file holds none (made before intervals existed).

        Raises:
            ValueError: arrays inconsistent.
        """
        if "intervals.zh.q" not in arrays:
            return None
        return cls(GroupIntervals.from_arrays(arrays, "intervals.zh"),
                   GroupIntervals.from_arrays(arrays, "intervals.other"))


def _inputs(components: np.ndarray, x: np.ndarray, gap_mean: np.ndarray, gap_sd: np.ndarray) -> np.ndarray:
    """The difficulty inputs `z` of each answer (see the module docstring): 7 + the features."""
    g = (x[:, _GAP_COLUMNS] - gap_mean) / gap_sd
    gap1, gap2 = g[:, 0] - g[:, 1], g[:, 2] - g[:, 3]
    return np.column_stack([combine(components), components[:, 2], np.abs(components[:, 0] - components[:, 1]),
                            x[:, _SPREAD_COLUMNS], gap1, gap2, np.abs(gap1), np.abs(gap2)])


def moved(before: ArrayOrFloat, low: ArrayOrFloat, high: ArrayOrFloat, after: ArrayOrFloat, *,
          top: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The interval [low, high] around the score `before`, moved with it to `after`, clipped to 0..top.

    The scorer's rules (coverage, penalties, caps) move the estimate, not the doubt about it.
    """
    below = np.maximum(0.0, np.asarray(before) - low)
    above = np.maximum(0.0, np.asarray(high) - before)
    return np.clip(np.asarray(after) - below, 0.0, top), np.clip(np.asarray(after) + above, 0.0, top)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ceil(level (n + 1))-th smallest score."""
    n = len(scores)
    return float(np.sort(scores)[min(n, math.ceil(level * (n + 1))) - 1])


def fit_group(components: np.ndarray, x: np.ndarray, y: np.ndarray) -> GroupIntervals:
    """Fit one group's interval model on out-of-fold components, features and human scores (0..1)."""
    gaps = x[:, _GAP_COLUMNS]
    mean, sd = gaps.mean(axis=0), gaps.std(axis=0) + 1e-9
    z = _inputs(components, x, mean, sd)
    f = combine(components)
    sigma = fit_ridge(z, np.abs(y - f))
    s = np.maximum(FLOOR, sigma.predict(z))
    side = (1 + LEVEL) / 2
    return GroupIntervals(mean, sd, sigma, conformal_quantile((y - f) / s, side),
                          conformal_quantile((f - y) / s, side), float(np.quantile(s, 1 - FLAG_SHARE)),
                          np.vstack([z.min(axis=0), z.max(axis=0)]))


def fit_intervals(components: np.ndarray, x: np.ndarray, y: np.ndarray, zh: np.ndarray) -> Intervals:
    """Fit both groups on real graded answers' out-of-fold components (`zh`: the rubric is Chinese).

    A group with fewer than `MIN_ANSWERS` answers gets the fit on all answers.
    """
    pooled: GroupIntervals | None = None
    fitted = {}
    for name, rows in (("zh", zh), ("other", ~zh)):
        if rows.sum() >= MIN_ANSWERS:
            fitted[name] = fit_group(components[rows], x[rows], y[rows])
        else:
            pooled = pooled or fit_group(components, x, y)
            fitted[name] = pooled
    return Intervals(fitted["zh"], fitted["other"])
