"""Calibration: fitted models from features to a 0-100 score and how sure it is.

Fitting is cross-validated with questions held out (group k-fold by
question), never a random split of answers. A calibration is saved with the
embedder id it was fitted for, the bank versions and the cross-validated
agreement, as arrays plus JSON in one `.npz` (`calibration_file`; never a pickle); the
package ships one per bundled embedder (see
`harness/scoring/calibrations/README.md` for how they were made).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import CalibrationError
from harness.scoring import calibration_file
from harness.scoring.calibration_choice import SHIPPED_DIR as SHIPPED_DIR
from harness.scoring.calibration_choice import choose
from harness.scoring.calibration_choice import shipped_path as shipped_path
from harness.scoring.calibration_choice import slug as slug
from harness.scoring.calibration_choice import user_path as user_path
from harness.scoring.features import FEATURE_NAMES as FEATURE_NAMES
from harness.scoring.fitting import Ensemble, cross_val_components, fit_ensemble
from harness.scoring.fitting import combine as combine
from harness.scoring.fitting import new_model as new_model
from harness.scoring.fitting import new_relevance as new_relevance
from harness.scoring.intervals import LEVEL, Intervals
from harness.scoring.thresholds import KINDS, PointThresholds, Thresholds


@dataclass(frozen=True)
class Calibration:
    """A fitted feature -> score model and what it was fitted on.

    `ensemble` maps features to a score on 0..1 (`fitting`: the mean of
    monotone regression trees and a monotone ridge, both fitted on human
    grades, discounted when the on-topic gate leans off-topic). `intervals`
    say how sure each score is (`intervals`; None in a calibration fitted
    without held-out predictions). `point_thresholds` say when a key point
    counts as covered, per kind of point and answer language (see
    `thresholds`); `thresholds` serves the rest. `extra` holds JSON-ready
    data that other parts fit beside the calibration (keyed by part, such as
    the teacher-anchor prior), saved and loaded with it and part of its id.
    """

    ensemble: Ensemble
    feature_names: tuple[str, ...]
    thresholds: Thresholds
    embedder_id: str
    trained_on: tuple[str, ...] = ()
    bank_versions: tuple[str, ...] = ()
    cv: dict[str, float] = field(default_factory=dict)
    created: str = ""
    id: str = ""
    point_thresholds: tuple[tuple[str, Thresholds], ...] = ()
    intervals: Intervals | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def points(self) -> PointThresholds:
        """Key point thresholds per kind and language (`thresholds` where none were fitted)."""
        return PointThresholds(self.thresholds, self.point_thresholds)

    def components(self, features: np.ndarray) -> np.ndarray:
        """`fitting.Ensemble.components` of a (n, len(feature_names)) feature matrix: trees, ridge, p."""
        if len(features) == 0:
            return np.zeros((0, 3))
        return self.ensemble.components(features)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scores 0-100 for a (n, len(feature_names)) feature matrix."""
        return combine(self.components(features)) * 100.0


def cross_val_predict(x: np.ndarray, y: np.ndarray, groups: np.ndarray, real: np.ndarray, *,
                      folds: int = 10, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Out-of-fold scores (0..1), each question's answers predicted by models that never saw it.

    `real` marks human-graded rows; the others are off-topic negatives, which
    train the relevance classifier and, down-weighted, the regressors.
    `progress(done, total)` is called after each fold.

    Raises:
        CalibrationError: fewer than two questions.
    """
    return combine(cross_val_components(x, y, groups, real, folds=folds, progress=progress))


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


def fit(x: np.ndarray, y: np.ndarray, real: np.ndarray, *, embedder_id: str, trained_on: tuple[str, ...] = (),
        bank_versions: tuple[str, ...] = (), cv: dict[str, float] | None = None,
        point_thresholds: dict[str, Thresholds] | None = None, intervals: Intervals | None = None,
        extra: dict[str, Any] | None = None) -> Calibration:
    """Fit on all given answers (`y` on 0..1; `real` marks human-graded rows).

    `point_thresholds` are the key point thresholds fitted beside (see
    `thresholds`), `intervals` the interval model fitted on held-out
    predictions (`intervals.fit_intervals`), `extra` see `Calibration`.

    Raises:
        CalibrationError: fewer than 20 graded answers.
    """
    if int(real.sum()) < 20:
        raise CalibrationError(f"calibration needs at least 20 graded answers, got {int(real.sum())}")
    cov = x[real, FEATURE_NAMES.index("cov")]
    cal = Calibration(
        ensemble=fit_ensemble(x, y, real), feature_names=FEATURE_NAMES, thresholds=fit_thresholds(cov, y[real]),
        embedder_id=embedder_id, trained_on=trained_on, bank_versions=bank_versions, cv=dict(cv or {}),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        point_thresholds=tuple(sorted((point_thresholds or {}).items())), intervals=intervals,
        extra=dict(extra or {}),
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


def with_extra(cal: Calibration, key: str, value: Any) -> Calibration:
    """The calibration with `extra[key] = value` (JSON-ready) and its id recomputed.

    Raises:
        CalibrationError: the value is not JSON-ready.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"calibration extra {key!r} is not plain JSON: {exc}") from exc
    changed = replace(cal, extra={**cal.extra, key: value})
    return replace(changed, id=content_id(changed))


def content_id(cal: Calibration) -> str:
    """A short digest of what a calibration predicts with: models, intervals, point thresholds and extra."""
    extra = json.dumps(cal.extra, sort_keys=True, ensure_ascii=False)
    return calibration_file.digest({**_arrays(cal), **_threshold_arrays(cal),
                                    **({"extra": np.frombuffer(extra.encode(), np.uint8)} if cal.extra else {})})


def _meta(cal: Calibration) -> dict[str, Any]:
    return {
        "feature_names": list(cal.feature_names),
        "thresholds": {"low": cal.thresholds.low, "high": cal.thresholds.high},
        "embedder_id": cal.embedder_id, "trained_on": list(cal.trained_on), "bank_versions": list(cal.bank_versions),
        "cv": cal.cv, "created": cal.created, "id": cal.id,
        "point_thresholds": {k: {"low": t.low, "high": t.high} for k, t in cal.point_thresholds},
        "interval_level": LEVEL if cal.intervals else None, "extra": cal.extra,
    }


def _arrays(cal: Calibration) -> dict[str, np.ndarray]:
    return {**cal.ensemble.to_arrays(), **(cal.intervals.to_arrays() if cal.intervals else {})}


def _threshold_arrays(cal: Calibration) -> dict[str, np.ndarray]:
    """The fitted key point thresholds as one array, so that the calibration id changes with them."""
    return {"point_thresholds": np.array([[t.low, t.high] for _, t in cal.point_thresholds], dtype=np.float64)}


def save(cal: Calibration, path: Path) -> None:
    """Write atomically as arrays plus JSON (`calibration_file`), so a crash leaves the old file.

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
    names = meta.get("feature_names")
    if isinstance(names, list) and tuple(names) != FEATURE_NAMES:
        raise CalibrationError(
            f"{path}: made for other features ({', '.join(map(str, names))}); remake it with `harness calibrate`"
        )
    try:
        th = meta["thresholds"]
        extra = meta.get("extra", {})
        if not isinstance(extra, dict):
            raise ValueError("extra is not a mapping")
        cal = Calibration(
            ensemble=Ensemble.from_arrays(arrays), feature_names=tuple(meta["feature_names"]),
            thresholds=Thresholds(float(th["low"]), float(th["high"])), embedder_id=str(meta["embedder_id"]),
            trained_on=tuple(meta["trained_on"]), bank_versions=tuple(meta["bank_versions"]),
            cv={str(k): float(v) for k, v in meta["cv"].items()}, created=str(meta["created"]), id=str(meta["id"]),
            point_thresholds=_point_thresholds(meta.get("point_thresholds", {})),
            intervals=Intervals.from_arrays(arrays), extra=dict(extra),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CalibrationError(f"{path}: not a usable calibration (bad metadata: {exc!r}); "
                               "remake it with `harness calibrate GRADED.csv`") from exc
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

