"""The calibration's models: fitted with scikit-learn, kept as arrays, cross-validated by question.

The zero-shot score of an answer on 0..1, from its features `x`
(`features.FEATURE_NAMES`):

    grade   = (clip(trees(x), 0, 1) + clip(ridge(x), 0, 1)) / 2
    p       = relevance(x)            probability that it is an attempt at this question
    score01 = grade * min(1, 2 p)

`trees` are small gradient-boosted regression trees and `ridge` a ridge
regression on standardised features (alpha 10); both are monotone in the
similarity features (`features.MONOTONE`: the ridge keeps their coefficients
>= 0) and fitted on human grades (0..1) plus off-topic negatives (answers to
other questions, grade 0) at weight 0.3. Their mean has no weight to tune and
is steadier than either alone. `relevance` is a logistic regression telling
real attempts from the negatives; `min(1, 2 p)` discounts only where it leans
off-topic (p < 0.5, its own decision boundary), so a weak but real attempt
keeps its grade. Every fitted number is an array (`models`), never a pickle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import CalibrationError
from harness.scoring.features import FEATURE_NAMES, MONOTONE
from harness.scoring.models import Arrays, BoostedTrees, LinearModel, LogisticProbability

if TYPE_CHECKING:  # scikit-learn is imported where a model is fitted: scoring with a saved calibration never needs it
    from sklearn.ensemble import HistGradientBoostingRegressor

RELEVANCE_FEATURES = ("cos", "cov", "prec", "qsim", "tok_rec", "dem_rec")
RELEVANCE_COLUMNS = [FEATURE_NAMES.index(n) for n in RELEVANCE_FEATURES]
# Off-topic negatives (grade 0) also enter the regressors, at this weight against 1 for a real
# answer: enough that a far-off answer is not extrapolated to a middling grade, little enough
# to keep the fit to human grades (chosen on pooled cross-validation; see calibrations/README.md).
NEGATIVE_WEIGHT = 0.3
RIDGE_ALPHA = 10.0  # light for ~2,000 standardised rows: it only steadies correlated features
GATE = 2.0  # score01 = grade * min(1, GATE * p)
INNER_FOLDS = 5


@dataclass(frozen=True, eq=False)
class Ensemble:
    """The fitted models: regression trees, a monotone ridge and the on-topic gate."""

    trees: BoostedTrees
    ridge: LinearModel
    relevance: LogisticProbability

    def components(self, x: np.ndarray) -> np.ndarray:
        """Columns: clipped tree grade, clipped ridge grade, on-topic probability p (one row per answer)."""
        x = np.asarray(x, dtype=np.float64)
        return np.column_stack([np.clip(self.trees.predict(x), 0.0, 1.0), np.clip(self.ridge.predict(x), 0.0, 1.0),
                                self.relevance.predict(x[:, RELEVANCE_COLUMNS])])

    def to_arrays(self) -> Arrays:
        """The parameters as named arrays."""
        return {**self.trees.to_arrays("model"), **self.ridge.to_arrays("ridge"),
                **self.relevance.to_arrays("relevance")}

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> Ensemble:
        """Rebuild from `to_arrays` output, checking it reads the features this harness computes.

        Raises:
            ValueError: arrays missing, inconsistent or made for other features.
        """
        trees = BoostedTrees.from_arrays(arrays, "model")
        trees.check_features(len(FEATURE_NAMES))
        ridge = LinearModel.from_arrays(arrays, "ridge")
        if len(ridge.coef) != len(FEATURE_NAMES):
            raise ValueError(f"ridge: {len(ridge.coef)} coefficients for {len(FEATURE_NAMES)} features")
        return cls(trees, ridge, LogisticProbability.from_arrays(arrays, "relevance"))


def combine(components: np.ndarray) -> np.ndarray:
    """Scores on 0..1 from `Ensemble.components` rows: the mean grade, discounted where p < 0.5."""
    grade = components[:, :2].mean(axis=1)
    return np.asarray(grade * np.minimum(1.0, GATE * components[:, 2]), dtype=np.float64)


def new_model() -> HistGradientBoostingRegressor:
    """The tree regressor: small boosted trees, monotone in the similarity features."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=25,
        l2_regularization=1.0, monotonic_cst=[MONOTONE.get(n, 0) for n in FEATURE_NAMES],
        random_state=0,
    )


def new_relevance() -> Any:
    """Logistic regression on the similarity features: on-topic attempt or not."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def fit_ridge(x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None,
              monotone: list[int] | None = None, alpha: float = RIDGE_ALPHA) -> LinearModel:
    """Ridge regression on features standardised with the (weighted) mean and sd of the rows.

    With `monotone`, a feature marked +1 gets a coefficient >= 0 and the
    others any sign: each free feature enters twice (as z and -z) into a ridge
    with non-negative coefficients, and the two are netted.
    """
    from sklearn.linear_model import Ridge

    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w)) + 1e-9
    z = (x - mean) / scale
    free = [j for j, m in enumerate(monotone or []) if m == 0]
    design = np.hstack([z, -z[:, free]]) if monotone is not None else z
    fitted = Ridge(alpha=alpha, positive=monotone is not None).fit(design, y, sample_weight=w)
    coef = np.array(fitted.coef_[: x.shape[1]], dtype=np.float64)
    coef[free] -= fitted.coef_[x.shape[1]:]
    return LinearModel(mean, scale, coef, float(fitted.intercept_))


def fit_ensemble(x: np.ndarray, y: np.ndarray, real: np.ndarray) -> Ensemble:
    """Fit the three models (`real` marks human-graded rows; the others are off-topic negatives)."""
    from threadpoolctl import threadpool_limits

    weights = np.where(real, 1.0, NEGATIVE_WEIGHT)
    monotone = [MONOTONE.get(n, 0) for n in FEATURE_NAMES]
    with threadpool_limits(limits=1):  # small data: OpenMP start-up on a busy machine costs more than it saves
        trees = new_model().fit(x, y, sample_weight=weights)
        relevance = new_relevance().fit(x[:, RELEVANCE_COLUMNS], real.astype(int))
        ridge = fit_ridge(x, y, weights=weights, monotone=monotone)
    return Ensemble(BoostedTrees.from_sklearn(trees), ridge, LogisticProbability.from_sklearn(relevance))


def _splits(groups: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold over the question ids (deterministic).

    Raises:
        CalibrationError: fewer than two questions.
    """
    k = min(folds, len(np.unique(groups)))
    if k < 2:
        raise CalibrationError("cross-validation needs answers to at least two questions")
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=k).split(groups, groups, groups))


def cross_val_components(x: np.ndarray, y: np.ndarray, groups: np.ndarray, real: np.ndarray, *,
                         folds: int = 10, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Out-of-fold `Ensemble.components`: each question's rows predicted by models that never saw it.

    `progress(done, total)` is called after each fold.

    Raises:
        CalibrationError: fewer than two questions.
    """
    splits = _splits(groups, folds)
    out = np.zeros((len(y), 3))
    for fold, (train, test) in enumerate(splits, start=1):
        out[test] = fit_ensemble(x[train], y[train], real[train]).components(x[test])
        if progress is not None:
            progress(fold, len(splits))
    return out


@dataclass(frozen=True)
class Nested:
    """Nested cross-validation: what anything fitted on out-of-fold residuals must be evaluated with.

    `fold[i]` is row i's outer fold; `outer[i]` its components from models
    fitted on the other folds' questions; `inner[k]` the components of the
    rows outside fold k from `INNER_FOLDS` folds over those questions only
    (NaN on fold k's rows). A part fitted on residuals (intervals, priors) is
    fitted for fold k on `inner[k]` and checked on fold k's `outer` rows, so
    neither the model nor that part has seen the question it is checked on.
    """

    fold: np.ndarray
    outer: np.ndarray
    inner: np.ndarray


def nested_components(x: np.ndarray, y: np.ndarray, groups: np.ndarray, real: np.ndarray, *,
                      folds: int = 10, progress: Callable[[int, int], None] | None = None) -> Nested:
    """Nested out-of-fold components (see `Nested`); about (1 + INNER_FOLDS) x folds model fits.

    Raises:
        CalibrationError: fewer than two questions in a fold's training part.
    """
    splits = _splits(groups, folds)
    fold = np.zeros(len(y), dtype=np.int64)
    outer = np.zeros((len(y), 3))
    inner = np.full((len(splits), len(y), 3), np.nan)
    for k, (train, test) in enumerate(splits):
        fold[test] = k
        outer[test] = fit_ensemble(x[train], y[train], real[train]).components(x[test])
        inner[k, train] = cross_val_components(x[train], y[train], groups[train], real[train], folds=INNER_FOLDS)
        if progress is not None:
            progress(k + 1, len(splits))
    return Nested(fold, outer, inner)
