"""Calibration files: numpy arrays plus JSON metadata in one `.npz`, never a pickle.

A calibration file is an uncompressed-or-deflated zip of `.npy` arrays, as
`numpy.savez_compressed` writes: the fitted models' parameters (see
`models`) and one text array, `meta`, holding JSON. It is read with
`allow_pickle=False` after checking its size, so a file dropped into a
folder the harness searches cannot run code; anything else (a pickle or a
skops file included) is refused with a message that says what is expected.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import CalibrationError

FORMAT = 2
SUFFIX = ".npz"
MAX_BYTES = 32 * 1024 * 1024
MAX_UNPACKED = 128 * 1024 * 1024
Arrays = dict[str, np.ndarray]


def dumps(arrays: Arrays, meta: dict[str, Any]) -> bytes:
    """The bytes of a calibration file: named arrays plus JSON-ready `meta`."""
    buf = io.BytesIO()
    text = json.dumps({**meta, "format": FORMAT}, sort_keys=True, ensure_ascii=False)
    named: dict[str, Any] = {"meta": np.asarray(text), **arrays}
    np.savez_compressed(buf, **named)
    return buf.getvalue()


def digest(arrays: Arrays) -> str:
    """A short content id of a calibration's fitted parameters."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def save_bytes(data: bytes, path: Path) -> None:
    """Write atomically (temp file, then rename), so a crash leaves the old file.

    Raises:
        CalibrationError: the folder cannot be written.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CalibrationError(f"{path}: cannot save the calibration: {exc.strerror}") from exc


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CalibrationError(f"{path}: {size:,} bytes is too large for a calibration (at most {MAX_BYTES:,})")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path}: calibration file not found") from exc
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the calibration: {exc.strerror}") from exc


def load(path: Path) -> tuple[Arrays, dict[str, Any]]:
    """(arrays, meta) of a calibration file; nothing in it is executed or unpickled.

    Raises:
        CalibrationError: missing, too large, not a calibration archive (a pickle,
            say), holding object arrays, or of another format.
    """
    data = _read(path)
    expected = f"expected a calibration archive ({SUFFIX}) as `harness calibrate` writes; pickles are never loaded"
    if not data.startswith(b"PK\x03\x04"):
        raise CalibrationError(f"{path}: not a calibration file: {expected}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNPACKED:
                raise CalibrationError(f"{path}: unpacks to more than {MAX_UNPACKED:,} bytes; not a calibration")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        if not isinstance(meta, dict):
            raise ValueError("metadata is not a mapping")
    except CalibrationError:
        raise
    except Exception as exc:  # zipfile, numpy and json each raise their own kinds
        raise CalibrationError(f"{path}: not a usable calibration ({str(exc)[:120]}); {expected}") from exc
    if meta.get("format") != FORMAT:
        raise CalibrationError(f"{path}: calibration format {meta.get('format')!r}, this harness reads {FORMAT}; "
                               "remake it with `harness calibrate GRADED.csv`")
    return arrays, meta
