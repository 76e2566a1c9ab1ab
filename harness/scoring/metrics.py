"""Agreement between scores and human grades. Higher is better for all but RMSE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score


@dataclass(frozen=True)
class Agreement:
    """Pearson r, Spearman rho, RMSE (human scale), QWK, and spread of r across questions."""

    n: int
    pearson: float
    spearman: float
    rmse: float
    qwk: float
    per_question_mean: float
    per_question_sd: float

    def row(self) -> dict[str, float]:
        """The figures as a flat dict, for tables and JSON."""
        return {"n": self.n, "pearson": self.pearson, "spearman": self.spearman, "rmse": self.rmse,
                "qwk": self.qwk, "r_by_question_mean": self.per_question_mean,
                "r_by_question_sd": self.per_question_sd}


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r (nan for fewer than 3 values or when either side is constant)."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(pearsonr(a, b)[0])


def agreement(pred: ArrayLike, human: ArrayLike, *, scale_max: ArrayLike,
              groups: Sequence[str], step: float = 0.5) -> Agreement:
    """Agreement of predicted and human scores, both given on the human scale.

    QWK rounds both to the human scale's steps (`step`, e.g. 0.5 on Mohler's 0-5).
    """
    p, h = np.asarray(pred, float), np.asarray(human, float)
    mx = np.asarray(scale_max, float)
    rmse = float(np.sqrt(np.mean((p - h) ** 2)))
    p_steps = np.rint(np.clip(p, 0, mx) / step).astype(int)
    h_steps = np.rint(h / step).astype(int)
    qwk = float(cohen_kappa_score(h_steps, p_steps, weights="quadratic"))
    g = np.asarray(groups)
    rs = [r for q in np.unique(g) if not np.isnan(r := pearson(p[g == q], h[g == q]))]
    return Agreement(len(p), pearson(p, h), float(spearmanr(p, h)[0]), rmse, qwk,
                     float(np.mean(rs)) if rs else float("nan"), float(np.std(rs)) if rs else float("nan"))


def human_step(scores: ArrayLike) -> float:
    """The human scale's step: 0.5 if any half points occur, else 1."""
    frac = np.abs(np.asarray(scores, float) % 1)
    return 0.5 if np.any((frac > 0.01) & (frac < 0.99)) else 1.0
