"""Calibration files, the array models inside them, and the fitted key point thresholds.

scoring/calibration.py + calibration_file.py + models.py + thresholds.py:
a calibration is data (arrays and JSON) that round-trips exactly, predicts
bit for bit as scikit-learn does, and is refused when it is anything else.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from harness.errors import CalibrationError
from harness.scoring import calibration, calibration_file
from harness.scoring.features import FEATURE_NAMES
from harness.scoring.models import BoostedTrees, LogisticProbability
from harness.scoring.thresholds import PointThresholds, Thresholds, fit_bundled, fit_derived, from_status


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((300, len(FEATURE_NAMES)))
    y = np.clip(0.7 * x[:, 0] + 0.3 * x[:, 1] + rng.normal(0, 0.05, 300), 0, 1)
    real = rng.random(300) > 0.15
    return x, np.where(real, y, 0.0), real


@pytest.fixture(scope="module")
def regressor(data) -> HistGradientBoostingRegressor:  # type: ignore[no-untyped-def]
    x, y, _ = data
    return calibration.new_model().fit(x, y)


@pytest.fixture(scope="module")
def fitted(data) -> calibration.Calibration:  # type: ignore[no-untyped-def]
    x, y, real = data
    points = {"derived/en": Thresholds(0.1, 0.8), "bundled/zh": Thresholds(0.39, 0.59)}
    return calibration.fit(x, y, real, embedder_id="test-embedder", trained_on=("set",), cv={"set_pearson": 0.5},
                           point_thresholds=points)


def test_boosted_trees_predict_bit_for_bit_as_scikit_learn(data, regressor) -> None:  # type: ignore[no-untyped-def]
    x, _, _ = data
    model = regressor
    x_nan = x.copy()
    x_nan[::7, 2] = np.nan
    for rows in (x, x_nan):
        assert np.array_equal(BoostedTrees.from_sklearn(model).predict(rows), model.predict(rows))


def test_logistic_probability_predicts_as_scikit_learn(data) -> None:  # type: ignore[no-untyped-def]
    x, _, real = data
    pipeline = calibration.new_relevance().fit(x, real.astype(int))
    ours = LogisticProbability.from_sklearn(pipeline).predict(x)
    np.testing.assert_allclose(ours, pipeline.predict_proba(x)[:, 1], rtol=0, atol=1e-15)  # tanh form: last bit


def test_models_round_trip_through_arrays(data, regressor) -> None:  # type: ignore[no-untyped-def]
    x, _, real = data
    trees = BoostedTrees.from_sklearn(regressor)
    again = BoostedTrees.from_arrays(trees.to_arrays("m"), "m")
    assert np.array_equal(again.predict(x), trees.predict(x))
    logistic = LogisticProbability.from_sklearn(calibration.new_relevance().fit(x, real.astype(int)))
    assert np.array_equal(LogisticProbability.from_arrays(logistic.to_arrays("r"), "r").predict(x), logistic.predict(x))


def test_linear_arrays_with_a_zero_scale_or_mismatched_shapes_are_refused(data) -> None:  # type: ignore[no-untyped-def]
    from harness.scoring.models import LinearModel

    x, _, real = data
    logistic = LogisticProbability.from_sklearn(calibration.new_relevance().fit(x, real.astype(int))).to_arrays("r")
    ridge = LinearModel(np.zeros(3), np.ones(3), np.ones(3), 0.5).to_arrays("l")
    for model, arrays, prefix in ((LogisticProbability, logistic, "r"), (LinearModel, ridge, "l")):
        zero = {**arrays, f"{prefix}.scale": np.where(np.arange(len(arrays[f"{prefix}.scale"])) == 0, 0.0, 1.0)}
        with pytest.raises(ValueError, match="scale that is not positive"):
            model.from_arrays(zero, prefix)
        short = {**arrays, f"{prefix}.coef": np.ones(2)}
        with pytest.raises(ValueError, match="inconsistent shapes"):
            model.from_arrays(short, prefix)


def test_tree_arrays_that_would_index_out_of_range_or_loop_are_refused(regressor) -> None:  # type: ignore[no-untyped-def]
    arrays = BoostedTrees.from_sklearn(regressor).to_arrays("m")
    inner = int(np.flatnonzero(~arrays["m.is_leaf"])[1])
    for name, value in (("m.left", 10**9), ("m.left", 0), ("m.right", inner)):
        broken = {k: v.copy() for k, v in arrays.items()}
        broken[name][inner] = value
        with pytest.raises(ValueError, match="tree"):
            BoostedTrees.from_arrays(broken, "m")
    with pytest.raises(ValueError, match="unexpected array type"):
        BoostedTrees.from_arrays({**arrays, "m.threshold": arrays["m.threshold"].astype(str)}, "m")


def test_a_calibration_round_trips_exactly(fitted, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    x, _, _ = data
    path = tmp_path / "c.npz"
    calibration.save(fitted, path)
    again = calibration.load(path)
    assert np.array_equal(again.predict(x), fitted.predict(x))
    assert (again.id, again.thresholds, again.point_thresholds, again.cv, again.embedder_id) == (
        fitted.id, fitted.thresholds, fitted.point_thresholds, fitted.cv, fitted.embedder_id)
    assert again.points.get(derived=True, zh=False) == Thresholds(0.1, 0.8)
    assert again.points.get(derived=True, zh=True) == fitted.thresholds  # not fitted: the default


def test_the_id_changes_with_the_point_thresholds(fitted) -> None:  # type: ignore[no-untyped-def]
    assert fitted.id == calibration.content_id(fitted)
    ids = {calibration.content_id(replace(fitted, point_thresholds=pts))
           for pts in ((), (("derived/en", Thresholds(0.1, 0.8)),), (("derived/en", Thresholds(0.1, 0.7)),))}
    assert len(ids) == 3


def _rewrite_meta(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    arrays, meta = calibration_file.load(path)
    change(meta)
    meta.pop("format")
    path.write_bytes(calibration_file.dumps(arrays, meta))


def test_a_calibration_made_before_point_thresholds_still_loads(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "old.npz"
    calibration.save(fitted, path)
    _rewrite_meta(path, lambda meta: meta.pop("point_thresholds"))
    old = calibration.load(path)
    assert old.point_thresholds == () and old.points.get(derived=False, zh=True) == fitted.thresholds


def test_unknown_point_threshold_kinds_are_refused(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "odd.npz"
    calibration.save(fitted, path)
    _rewrite_meta(path, lambda meta: meta["point_thresholds"].update({"derived/fr": {"low": 0, "high": 1}}))
    with pytest.raises(CalibrationError, match="not a usable calibration.*derived/fr"):
        calibration.load(path)


def test_a_pickle_is_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"model": "anything"}))
    with pytest.raises(CalibrationError, match="not a calibration file: expected a calibration archive"):
        calibration_file.load(path)


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    meta = json.dumps({"format": calibration_file.FORMAT})
    np.savez(path, meta=np.asarray(meta), model=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CalibrationError, match="not a usable calibration"):
        calibration_file.load(path)


def test_a_zip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibration_file, "MAX_UNPACKED", 1_000_000)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.npy", b"\0" * 2_000_000)
    path = tmp_path / "bomb.npz"
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < 10_000
    with pytest.raises(CalibrationError, match="unpacks to more than 1,000,000 bytes"):
        calibration_file.load(path)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibration_file, "MAX_BYTES", 100)
    path = tmp_path / "big.npz"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    with pytest.raises(CalibrationError, match="204 bytes is too large for a calibration"):
        calibration_file.load(path)


def test_another_format_and_a_missing_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / "v1.npz"
    buf = io.BytesIO()
    np.savez(buf, meta=np.asarray(json.dumps({"format": 1})))
    path.write_bytes(buf.getvalue())
    with pytest.raises(CalibrationError, match="calibration format 1, this harness reads 2"):
        calibration_file.load(path)
    with pytest.raises(CalibrationError, match="calibration file not found"):
        calibration_file.load(tmp_path / "missing.npz")


def test_a_calibration_for_another_embedder_is_refused(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.npz"
    calibration.save(fitted, path)
    with pytest.raises(CalibrationError, match="fitted for embedder 'test-embedder', not 'use-multilingual'"):
        calibration.resolve("use-multilingual", path=path)


def test_thresholds_from_status_similarities() -> None:
    t = from_status(0.5, 0.6)  # without keyword hits a clause earns 0.6 x the similarity's share
    assert 0.6 * t.credit(0.5) == pytest.approx(0.3) and 0.6 * t.credit(0.6) == pytest.approx(0.6)
    assert from_status(0.5, 0.4).high > 0.5  # covered never below partial


def test_fit_derived_finds_where_the_mean_grade_crosses_half_and_eighty_percent() -> None:
    best = np.linspace(0, 1, 201)
    grade = np.clip(best * 1.25, 0, 1)  # mean grade 0.5 at similarity 0.4, 0.8 at 0.64
    zh = np.arange(201) % 2 == 0
    fitted = fit_derived(best, grade, zh)
    for key in ("derived/zh", "derived/en"):
        t = fitted[key]
        assert (t.low + t.high) / 2 == pytest.approx(0.4, abs=0.01)
        assert t.high == pytest.approx(0.64, abs=0.01)


def test_fit_derived_falls_back_to_all_answers_for_a_rare_language() -> None:
    best = np.linspace(0, 1, 200)
    grade = best.copy()
    zh = np.zeros(200, bool)
    zh[:10] = True
    fitted = fit_derived(best, grade, zh)
    assert fitted["derived/zh"] == fitted["derived/en"]


def test_fit_bundled_uses_other_points_and_own_phrasings() -> None:
    own = [(True, s) for s in (0.5, 0.6, 0.7)] + [(False, 0.8)]
    other = [(True, s / 200) for s in range(100)] + [(False, 0.1)]
    fitted = fit_bundled(own, other)
    t = fitted["bundled/zh"]
    assert (t.low + t.high) / 2 == pytest.approx(np.quantile([s / 200 for s in range(100)], 0.9), abs=1e-4)
    assert t.high == pytest.approx(0.6)
    assert set(fitted) == {"bundled/zh", "bundled/en"}


def test_point_thresholds_fall_back_to_the_default() -> None:
    default = Thresholds(0.3, 0.6)
    points = PointThresholds(default, (("bundled/en", Thresholds(0.35, 0.59)),))
    assert points.get(derived=False, zh=False) == Thresholds(0.35, 0.59)
    assert points.get(derived=False, zh=True) == default


def test_sklearn_model_kind_is_what_calibration_fits() -> None:
    assert isinstance(calibration.new_model(), HistGradientBoostingRegressor)
