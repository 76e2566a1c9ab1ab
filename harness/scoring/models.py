"""Fitted models as plain arrays: boosted regression trees, a linear model and a logistic probability.

scikit-learn fits them (`fitting`); these classes hold what
prediction needs as numpy arrays, predict exactly as scikit-learn does, and
turn into and back from a dict of arrays, so a calibration file is data
that cannot run code and does not depend on the installed scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class BoostedTrees:
    """A HistGradientBoostingRegressor's trees (numerical features, squared or quantile loss).

    Nodes of all trees are concatenated; `roots` holds each tree's first
    node, and `left`/`right` index the concatenated arrays.
    """

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray

    @classmethod
    def from_sklearn(cls, model: Any) -> BoostedTrees:
        """Export a fitted HistGradientBoostingRegressor.

        Raises:
            ValueError: the model uses categorical splits or predicts several outputs.
        """
        nodes, roots, offset = [], [], 0
        for iteration in model._predictors:
            if len(iteration) != 1:
                raise ValueError("only single-output regressors can be exported")
            tree = iteration[0].nodes
            if tree["is_categorical"].any():
                raise ValueError("categorical splits cannot be exported")
            roots.append(offset)
            nodes.append((tree, offset))
            offset += len(tree)
        cat = np.concatenate([t for t, _ in nodes]) if nodes else np.zeros(0, dtype=[("value", "f8")])
        shift = np.concatenate([np.full(len(t), o, dtype=np.int64) for t, o in nodes]) if nodes else np.zeros(0, int)
        baseline = float(np.asarray(model._baseline_prediction).ravel()[0])
        return cls(
            baseline=baseline, roots=np.asarray(roots, dtype=np.int64),
            feature=cat["feature_idx"].astype(np.int64), threshold=cat["num_threshold"].astype(np.float64),
            missing_left=cat["missing_go_to_left"].astype(bool),
            left=cat["left"].astype(np.int64) + shift, right=cat["right"].astype(np.int64) + shift,
            is_leaf=cat["is_leaf"].astype(bool), value=cat["value"].astype(np.float64),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of `x`, summed tree by tree as scikit-learn does."""
        x = np.asarray(x, dtype=np.float64)
        n = len(x)
        raw = np.full(n, self.baseline)
        if n == 0 or len(self.roots) == 0:
            return raw
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        while True:
            inner = ~self.is_leaf[node]
            if not inner.any():
                break
            values = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(values), self.missing_left[node], values <= self.threshold[node])
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        leaves = self.value[node]
        for t in range(leaves.shape[1]):
            raw += leaves[:, t]
        return raw

    def to_arrays(self, prefix: str) -> Arrays:
        """The trees as named arrays (see `from_arrays`)."""
        fields = ("roots", "feature", "threshold", "missing_left", "left", "right", "is_leaf", "value")
        out = {f"{prefix}.{f}": getattr(self, f) for f in fields}
        out[f"{prefix}.baseline"] = np.asarray(self.baseline)
        return out

    @classmethod
    def from_arrays(cls, arrays: Arrays, prefix: str) -> BoostedTrees:
        """Rebuild from `to_arrays` output, checking every index stays in range.

        Raises:
            ValueError: arrays missing, of the wrong kind or inconsistent.
        """
        def get(name: str, kind: str) -> np.ndarray:
            a = np.asarray(arrays[f"{prefix}.{name}"])
            if a.dtype.kind not in kind:
                raise ValueError(f"{prefix}.{name}: unexpected array type {a.dtype}")
            return a

        trees = cls(
            baseline=float(get("baseline", "f")), roots=get("roots", "iu").astype(np.int64),
            feature=get("feature", "iu").astype(np.int64), threshold=get("threshold", "f").astype(np.float64),
            missing_left=get("missing_left", "b"), left=get("left", "iu").astype(np.int64),
            right=get("right", "iu").astype(np.int64), is_leaf=get("is_leaf", "b"),
            value=get("value", "f").astype(np.float64),
        )
        size = len(trees.value)
        lengths = {len(a) for a in (trees.feature, trees.threshold, trees.missing_left, trees.left, trees.right,
                                    trees.is_leaf)}
        inner = ~trees.is_leaf
        if lengths != {size} or trees.roots.ndim != 1 or (len(trees.roots) and (
                trees.roots.min() < 0 or trees.roots.max() >= size)):
            raise ValueError(f"{prefix}: inconsistent tree arrays")
        for child in (trees.left, trees.right):
            # A child must lie after its parent: no index out of range, no cycle.
            if (child[inner] >= size).any() or (child[inner] <= np.flatnonzero(inner)).any():
                raise ValueError(f"{prefix}: tree node links out of order")
        return trees

    def check_features(self, n_features: int) -> None:
        """Raise ValueError if a split reads a feature beyond `n_features`."""
        used = self.feature[~self.is_leaf]
        if len(used) and (used.min() < 0 or used.max() >= n_features):
            raise ValueError("a tree splits on a feature the calibration does not have")


@dataclass(frozen=True, eq=False)
class _Standardised:
    """Parameters of a linear function of standardised inputs, (x - mean) / scale, stored as named arrays."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def standardised(self, x: np.ndarray) -> np.ndarray:
        """The rows of `x`, standardised."""
        return np.asarray((np.asarray(x, dtype=np.float64) - self.mean) / self.scale, dtype=np.float64)

    def to_arrays(self, prefix: str) -> Arrays:
        """The parameters as named arrays."""
        return {f"{prefix}.mean": self.mean, f"{prefix}.scale": self.scale, f"{prefix}.coef": self.coef,
                f"{prefix}.intercept": np.asarray(self.intercept)}

    @staticmethod
    def _read(arrays: Arrays, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """mean, scale, coef (as stored) and intercept from `to_arrays` output; mean and scale checked.

        Raises:
            ValueError: arrays missing, mean and scale of different shapes, or a scale that is not positive.
        """
        mean, scale, coef = (np.asarray(arrays[f"{prefix}.{k}"], dtype=np.float64) for k in ("mean", "scale", "coef"))
        if not (mean.ndim == 1 and mean.shape == scale.shape):
            raise ValueError(f"{prefix}: inconsistent shapes")
        if not (scale > 0).all():
            raise ValueError(f"{prefix}: a scale that is not positive")
        return mean, scale, coef, float(np.asarray(arrays[f"{prefix}.intercept"], dtype=np.float64))


@dataclass(frozen=True, eq=False)
class LogisticProbability(_Standardised):
    """A StandardScaler + binary LogisticRegression pipeline: P(class 1) for each row (`coef` 1 x n)."""

    @classmethod
    def from_sklearn(cls, pipeline: Any) -> LogisticProbability:
        """Export a fitted make_pipeline(StandardScaler(), LogisticRegression()) of two classes."""
        scaler, logistic = pipeline[0], pipeline[-1]
        return cls(np.asarray(scaler.mean_, dtype=np.float64), np.asarray(scaler.scale_, dtype=np.float64),
                   np.asarray(logistic.coef_, dtype=np.float64).reshape(1, -1), float(logistic.intercept_[0]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(class 1) for each row of `x`."""
        decision = self.standardised(x) @ self.coef.T + self.intercept
        # the logistic function as 0.5 (1 + tanh(d / 2)): exact, never overflows, and no scipy import at start-up
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * decision.ravel())), dtype=np.float64)

    @classmethod
    def from_arrays(cls, arrays: Arrays, prefix: str) -> LogisticProbability:
        """Rebuild from `to_arrays` output.

        Raises:
            ValueError: arrays missing, of inconsistent shapes, or a scale that is not positive.
        """
        mean, scale, coef, intercept = cls._read(arrays, prefix)
        coef = coef.reshape(1, -1)
        if mean.shape != (coef.shape[1],):
            raise ValueError(f"{prefix}: inconsistent shapes")
        return cls(mean, scale, coef, intercept)


@dataclass(frozen=True, eq=False)
class LinearModel(_Standardised):
    """A linear model on standardised inputs: ((x - mean) / scale) . coef + intercept (`coef` of length n)."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The prediction for each row of `x`."""
        return np.asarray(self.standardised(x) @ self.coef + self.intercept, dtype=np.float64)

    @classmethod
    def from_arrays(cls, arrays: Arrays, prefix: str) -> LinearModel:
        """Rebuild from `to_arrays` output.

        Raises:
            ValueError: arrays missing, of inconsistent shapes, or a scale that is not positive.
        """
        mean, scale, coef, intercept = cls._read(arrays, prefix)
        if coef.shape != mean.shape:
            raise ValueError(f"{prefix}: inconsistent shapes")
        return cls(mean, scale, coef, intercept)
