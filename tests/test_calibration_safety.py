"""A calibration file is data: a pickle anywhere the harness looks is never unpickled."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.errors import CalibrationError
from harness.scoring import calibration, calibration_file


class _Boom:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "ran"))  # type: ignore[return-value]


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"format": 1, "calibration": _Boom(marker)}, protocol=4)


def test_pickle_in_the_user_folder_is_never_loaded(tmp_path: Path) -> None:
    results, marker = tmp_path / "results", tmp_path / "ran.txt"
    user = calibration.user_path(results, "use-multilingual")
    user.parent.mkdir(parents=True)
    # Under the old name: not searched at all, the shipped calibration is used.
    user.with_suffix(".pkl").write_bytes(_evil_pickle(marker))
    assert calibration.resolve("use-multilingual", results_dir=results).id == \
        calibration.load(calibration.shipped_path("use-multilingual")).id
    # Under the searched name: refused, with the expected format named.
    user.write_bytes(_evil_pickle(marker))
    with pytest.raises(CalibrationError, match=r"not a calibration file: expected a calibration archive \(\.npz\)"):
        calibration.resolve("use-multilingual", results_dir=results)
    assert not marker.exists()


def test_pickle_given_as_calibration_is_refused(tmp_path: Path) -> None:
    marker, path = tmp_path / "ran.txt", tmp_path / "cal.pkl"
    path.write_bytes(_evil_pickle(marker))
    with pytest.raises(CalibrationError, match="pickles are never loaded"):
        calibration.resolve("use-multilingual", path=path)
    assert not marker.exists()


def test_object_array_inside_an_npz_is_refused(tmp_path: Path) -> None:
    marker, path = tmp_path / "ran.txt", tmp_path / "cal.npz"
    buf = io.BytesIO()
    np.savez(buf, meta=np.asarray('{"format": 2}'), model=np.array([_Boom(marker)], dtype=object))
    path.write_bytes(buf.getvalue())
    with pytest.raises(CalibrationError, match="not a usable calibration"):
        calibration.load(path)
    assert not marker.exists()


def test_zip_bomb_and_huge_files_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.npy", b"\0" * (calibration_file.MAX_UNPACKED + 1))
    with pytest.raises(CalibrationError, match="unpacks to more than"):
        calibration.load(bomb)
    huge = tmp_path / "huge.npz"
    with huge.open("wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(calibration_file.MAX_BYTES + 1)
    with pytest.raises(CalibrationError, match="too large for a calibration"):
        calibration.load(huge)


def test_round_trip_keeps_predictions_and_metadata(tmp_path: Path) -> None:
    shipped = calibration.load(calibration.shipped_path("use-multilingual"))
    path = tmp_path / "copy.npz"
    calibration.save(shipped, path)
    back = calibration.load(path)
    x = np.random.default_rng(0).random((200, len(shipped.feature_names)))
    assert np.array_equal(back.predict(x), shipped.predict(x))
    assert (back.id, back.thresholds, back.cv, back.embedder_id) == \
        (shipped.id, shipped.thresholds, shipped.cv, shipped.embedder_id)
