"""Which calibration file a run uses, and how a user goes back to the shipped one.

A run uses, in order: the file given with `--calibration`, else the user's
own (`harness calibrate` saves it as `calibrations/<embedder>.npz` in the
results folder), else the one shipped in the package. A run that uses a
file other than the shipped one says so (`notice`), and `reset` moves the
user's file aside, so no run changes scorer without the user seeing it.

This module reads no calibration and imports nothing heavy, so a command can
name its calibration before the scorer (and scikit-learn) has loaded.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import CalibrationError

SHIPPED_DIR = Path(__file__).resolve().parent / "calibrations"
SUFFIX = ".npz"  # as calibration_file.SUFFIX (tests check they agree)
DEFAULT_EMBEDDER = "use-multilingual"  # as encoders.DEFAULT_EMBEDDER, without importing the encoders


def reset_hint(embedder_id: str) -> str:
    """The command that goes back to the shipped calibration of this embedder."""
    flag = "" if embedder_id == DEFAULT_EMBEDDER else f" --embedder {embedder_id}"
    return f"`harness calibrate --reset{flag}` goes back to the shipped one"


def slug(embedder_id: str) -> str:
    """A file-name-safe form of an embedder id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id).strip("_").lower()


def user_path(results_dir: Path, embedder_id: str) -> Path:
    """Where `harness calibrate` saves, and later runs look first."""
    return results_dir / "calibrations" / f"{slug(embedder_id)}{SUFFIX}"


def shipped_path(embedder_id: str) -> Path:
    """The calibration shipped in the package for a bundled embedder."""
    return SHIPPED_DIR / f"{slug(embedder_id)}{SUFFIX}"


def is_shipped(path: Path) -> bool:
    """True for a calibration file shipped inside the package."""
    return path.resolve().parent == SHIPPED_DIR


def choose(embedder_id: str, *, path: Path | None = None, results_dir: Path | None = None) -> Path:
    """The calibration file to use: `path` if given, else the user's, else the shipped one.

    Raises:
        CalibrationError: `path` does not exist, or no calibration exists for this embedder.

    """
    if path is not None:
        if not path.is_file():
            raise CalibrationError(f"{path}: no such calibration file; make one with `harness calibrate "
                                   f"GRADED.csv --out {path}`, or leave out --calibration")
        return path
    for candidate in (user_path(results_dir, embedder_id) if results_dir else None, shipped_path(embedder_id)):
        if candidate is not None and candidate.is_file():
            return candidate
    raise CalibrationError(
        f"no calibration for embedder {embedder_id!r}; fit one with "
        f"`harness calibrate GRADED.csv --embedder {embedder_id}` (GRADED.csv: human-graded answers)"
    )


def notice(chosen: Path, *, embedder_id: str, explicit: bool = False) -> str | None:
    """One line naming a calibration that is not the shipped one (None for the shipped one)."""
    if is_shipped(chosen):
        return None
    if explicit:
        return f"Note: scoring with calibration {chosen} (--calibration), not the shipped one."
    return f"Note: scoring with your calibration {chosen} (made by `harness calibrate`); {reset_hint(embedder_id)}."


def reset(results_dir: Path, embedder_id: str, *, now: datetime | None = None) -> Path | None:
    """Move the user's calibration for `embedder_id` aside; later runs use the shipped one.

    The file is renamed, not deleted (`<embedder>.off-YYYYmmdd-HHMMSS.npz`
    beside it), so `--calibration` can still use it. Returns the new name, or
    None when there was no user calibration.

    Raises:
        CalibrationError: the file cannot be renamed.

    """
    current = user_path(results_dir, embedder_id)
    if not current.is_file():
        return None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    target = current.with_name(f"{slug(embedder_id)}.off-{stamp}{SUFFIX}")
    try:
        current.rename(target)
    except OSError as exc:
        raise CalibrationError(f"{current}: cannot move it aside: {exc.strerror or exc}") from exc
    return target
