"""Calibration: a fitted scikit-learn model from features to a 0-100 score.

Fitting is cross-validated with questions held out (group k-fold by
question), never a random split of answers. A calibration is saved with the
embedder id it was fitted for, the bank versions and the cross-validated
agreement, as arrays plus JSON in one `.npz` (`calibration_file`; never a pickle); the
package ships one per bundled embedder (see
`harness/scoring/calibrations/README.md` for how they were made).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from harness.errors import CalibrationError
from harness.scoring import calibration_file
from harness.scoring.calibration_choice import SHIPPED_DIR as SHIPPED_DIR
from harness.scoring.calibration_choice import choose
from harness.scoring.calibration_choice import shipped_path as shipped_path
from harness.scoring.calibration_choice import slug as slug
from harness.scoring.calibration_choice import user_path as user_path
from harness.scoring.features import FEATURE_NAMES, MONOTONE
from harness.scoring.models import BoostedTrees, LogisticProbability
from harness.scoring.thresholds import KINDS, PointThresholds, Thresholds


@dataclass(frozen=True)
class Calibration:
    """A fitted feature -> score model and what it was fitted on.

    `model` regresses the human score (0..1) on real graded answers (and,
    at a lower weight, answers to other questions graded 0);
    `relevance` is a classifier that tells real attempts at the question from
    answers to other questions. The score is their product, so an off-topic
    answer scores near 0 without distorting the scale for real attempts.
    `point_thresholds` say when a key point counts as covered, per kind of
    point and answer language (see `thresholds`); `thresholds` serves the rest.
    """

    model: BoostedTrees
    relevance: LogisticProbability
    feature_names: tuple[str, ...]
    thresholds: Thresholds
    embedder_id: str
    trained_on: tuple[str, ...] = ()
    bank_versions: tuple[str, ...] = ()
    cv: dict[str, float] = field(default_factory=dict)
    created: str = ""
    id: str = ""
    point_thresholds: tuple[tuple[str, Thresholds], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-ready parts saved with the meta (anchor_prior)

    @cached_property
    def points(self) -> PointThresholds:
        """Key point thresholds per kind and language (`thresholds` where none were fitted)."""
        return PointThresholds(self.thresholds, self.point_thresholds)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scores 0-100 for a (n, len(feature_names)) feature matrix."""
        if len(features) == 0:
            return np.zeros(0)
        return predict01(self.model, self.relevance, features) * 100.0


def predict01(model: BoostedTrees, relevance: LogisticProbability, features: np.ndarray) -> np.ndarray:
    """Score on 0..1: regressed grade times the probability the answer is on topic."""
    grade = np.clip(model.predict(features), 0.0, 1.0)
    return np.asarray(grade * relevance.predict(features[:, _RELEVANCE_COLUMNS]), dtype=np.float64)


_RELEVANCE_FEATURES = ("cos", "cov", "prec", "qsim", "tok_rec", "dem_rec")
_RELEVANCE_COLUMNS = [FEATURE_NAMES.index(n) for n in _RELEVANCE_FEATURES]


def new_relevance() -> Any:
    """Logistic regression on the similarity features: on-topic attempt or not."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


# Off-topic negatives (grade 0) also enter the regressor, at this weight against 1 for a real
# answer: enough that a far-off answer is not extrapolated to a middling grade, little enough
# to keep the fit to human grades (chosen on pooled cross-validation; see calibrations/README.md).
NEGATIVE_WEIGHT = 0.3


def _fit_pair(x: np.ndarray, y: np.ndarray, real: np.ndarray) -> tuple[BoostedTrees, LogisticProbability]:
    """Fit both models with scikit-learn and keep their parameters as arrays."""
    from threadpoolctl import threadpool_limits

    weights = np.where(real, 1.0, NEGATIVE_WEIGHT)
    with threadpool_limits(limits=1):  # small data: OpenMP start-up on a busy machine costs more than it saves
        model = new_model().fit(x, y, sample_weight=weights)
        relevance = new_relevance().fit(x[:, _RELEVANCE_COLUMNS], real.astype(int))
    return BoostedTrees.from_sklearn(model), LogisticProbability.from_sklearn(relevance)


def new_model() -> HistGradientBoostingRegressor:
    """The regressor: small boosted trees, monotone in the similarity features."""
    return HistGradientBoostingRegressor(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=25,
        l2_regularization=1.0, monotonic_cst=[MONOTONE.get(n, 0) for n in FEATURE_NAMES],
        random_state=0,
    )


def fit_thresholds(point_sims: np.ndarray, target: np.ndarray) -> Thresholds:
    """Point-similarity thresholds from data: where poor and where full answers sit.

    `point_sims` is each answer's mean best-clause similarity to its points
    (feature `cov`), `target` the human score on 0..1. Low is the median for
    answers graded at most 30%, high the median for answers graded at least 90%.
    """
    low_set, high_set = point_sims[target <= 0.3], point_sims[target >= 0.9]
    low = float(np.median(low_set)) if len(low_set) else float(np.quantile(point_sims, 0.2))
    high = float(np.median(high_set)) if len(high_set) else float(np.quantile(point_sims, 0.8))
    return Thresholds(round(low, 4), round(max(high, low + 0.05), 4))


def cross_val_predict(x: np.ndarray, y: np.ndarray, groups: np.ndarray, real: np.ndarray, *,
                      folds: int = 10, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Out-of-fold predictions (0..1), each question's answers predicted by models that never saw it.

    `real` marks human-graded rows; the others are off-topic negatives, which
    train the relevance classifier and, down-weighted, the regressor.
    `progress(done, total)` is called after each fold.
    """
    k = min(folds, len(np.unique(groups)))
    if k < 2:
        raise CalibrationError("cross-validation needs answers to at least two questions")
    pred = np.zeros(len(y))
    for fold, (train, test) in enumerate(GroupKFold(n_splits=k).split(x, y, groups), start=1):
        model, relevance = _fit_pair(x[train], y[train], real[train])
        pred[test] = predict01(model, relevance, x[test])
        if progress is not None:
            progress(fold, k)
    return pred


def fit(x: np.ndarray, y: np.ndarray, real: np.ndarray, *, embedder_id: str, trained_on: tuple[str, ...] = (),
        bank_versions: tuple[str, ...] = (), cv: dict[str, float] | None = None,
        point_thresholds: dict[str, Thresholds] | None = None, extra: dict[str, Any] | None = None) -> Calibration:
    """Fit on all given answers (`y` on 0..1; `real` marks human-graded rows).

    `point_thresholds` are the key point thresholds fitted beside (see `thresholds`);
    `extra` JSON-ready parts fitted beside, saved with the metadata (the anchor prior).
    """
    if int(real.sum()) < 20:
        raise CalibrationError(f"calibration needs at least 20 graded answers, got {int(real.sum())}")
    cov = x[real, FEATURE_NAMES.index("cov")]
    model, relevance = _fit_pair(x, y, real)
    cal = Calibration(
        model=model, relevance=relevance, feature_names=FEATURE_NAMES, thresholds=fit_thresholds(cov, y[real]),
        embedder_id=embedder_id, trained_on=trained_on, bank_versions=bank_versions, cv=dict(cv or {}),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        point_thresholds=tuple(sorted((point_thresholds or {}).items())), extra=dict(extra or {}),
    )
    return replace(cal, id=content_id(cal))


def fit_anchor_prior(target: np.ndarray, predicted: np.ndarray, vectors: np.ndarray,
                     groups: np.ndarray) -> dict[str, float]:
    """The teacher anchors' prior (`scoring.anchors`) from out-of-fold predictions of real answers, as JSON.

    Blank answers (zero vectors) are left out: they score 0 whatever a teacher says.
    """
    from harness.scoring.anchors import fit_prior, group_residuals

    keep = np.abs(vectors).sum(axis=1) > 0
    data = group_residuals(target[keep] - predicted[keep], vectors[keep], predicted[keep], groups[keep])
    return fit_prior(data).as_json()


def content_id(cal: Calibration) -> str:
    """A short digest of what a calibration predicts with: the models' parameters and the point thresholds."""
    return calibration_file.digest({**_arrays(cal), **_threshold_arrays(cal)})


def _meta(cal: Calibration) -> dict[str, Any]:
    return {
        "feature_names": list(cal.feature_names),
        "thresholds": {"low": cal.thresholds.low, "high": cal.thresholds.high},
        "embedder_id": cal.embedder_id, "trained_on": list(cal.trained_on), "bank_versions": list(cal.bank_versions),
        "cv": cal.cv, "created": cal.created, "id": cal.id,
        "point_thresholds": {k: {"low": t.low, "high": t.high} for k, t in cal.point_thresholds},
        "extra": cal.extra,
    }


def _arrays(cal: Calibration) -> dict[str, np.ndarray]:
    return {**cal.model.to_arrays("model"), **cal.relevance.to_arrays("relevance")}


def _threshold_arrays(cal: Calibration) -> dict[str, np.ndarray]:
    """The fitted key point thresholds as one array, so that the calibration id changes with them."""
    return {"point_thresholds": np.array([[t.low, t.high] for _, t in cal.point_thresholds], dtype=np.float64)}


def save(cal: Calibration, path: Path) -> None:
    """Write atomically as a skops archive, so a crash leaves the old file.

    Raises:
        CalibrationError: the folder cannot be written.
    """
    calibration_file.save_bytes(calibration_file.dumps(_arrays(cal), _meta(cal)), path)


def load(path: Path) -> Calibration:
    """Read a calibration file (see `calibration_file.load` for the checks).

    Raises:
        CalibrationError: missing, unreadable, not a calibration, or made for other features.
    """
    arrays, meta = calibration_file.load(path)
    try:
        th = meta["thresholds"]
        model = BoostedTrees.from_arrays(arrays, "model")
        model.check_features(len(FEATURE_NAMES))
        cal = Calibration(
            model=model, relevance=LogisticProbability.from_arrays(arrays, "relevance"),
            feature_names=tuple(meta["feature_names"]),
            thresholds=Thresholds(float(th["low"]), float(th["high"])), embedder_id=str(meta["embedder_id"]),
            trained_on=tuple(meta["trained_on"]), bank_versions=tuple(meta["bank_versions"]),
            cv={str(k): float(v) for k, v in meta["cv"].items()}, created=str(meta["created"]), id=str(meta["id"]),
            point_thresholds=_point_thresholds(meta.get("point_thresholds", {})),
            extra=dict(meta.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CalibrationError(f"{path}: not a usable calibration (bad metadata: {exc!r}); "
                               "remake it with `harness calibrate GRADED.csv`") from exc
    if tuple(cal.feature_names) != FEATURE_NAMES:
        raise CalibrationError(
            f"{path}: made for other features ({', '.join(cal.feature_names)}); remake it with `harness calibrate`"
        )
    return cal


def _point_thresholds(data: dict[str, Any]) -> tuple[tuple[str, Thresholds], ...]:
    """Fitted key point thresholds from the metadata (absent in files made before they were fitted).

    Raises:
        ValueError: a kind this harness does not know.
    """
    unknown = set(data) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown key point threshold kinds {sorted(unknown)}")
    return tuple(sorted((k, Thresholds(float(v["low"]), float(v["high"]))) for k, v in data.items()))


def resolve(embedder_id: str, *, path: Path | None = None, results_dir: Path | None = None) -> Calibration:
    """The calibration to use: `path` if given, else the user's, else the shipped one (`calibration_choice`).

    Raises:
        CalibrationError: none exists for this embedder, or it was fitted for another.
    """
    candidate = choose(embedder_id, path=path, results_dir=results_dir)
    cal = load(candidate)
    if cal.embedder_id != embedder_id:
        raise CalibrationError(
            f"{candidate}: fitted for embedder {cal.embedder_id!r}, not {embedder_id!r}; "
            f"run `harness calibrate GRADED.csv --embedder {embedder_id}`"
        )
    return cal

