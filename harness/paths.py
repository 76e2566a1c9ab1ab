"""Where the harness keeps user data: the results folder and the embedding cache.

Results (practice history, grade runs, calibrations made with `calibrate`):
`--results DIR`, else $HARNESS_RESULTS, else `results/` of the source
checkout the harness runs from, else `results/` of the checkout it was
installed from (`pip install CHECKOUT`, while that folder is still a
checkout), else the per-user data folder (from platformdirs, e.g.
`~/.local/share/harness/results` on Linux). Each is the same from every
working folder, so `python -m harness` in the checkout and the installed
`harness` elsewhere keep one history. The embedding cache: $HARNESS_CACHE, else
the per-user cache folder (e.g. `~/.cache/harness`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "harness"
RESULTS_ENV = "HARNESS_RESULTS"
CACHE_ENV = "HARNESS_CACHE"


def source_checkout() -> Path | None:
    """The repository root when the harness runs from a source checkout (or an editable install), else None."""
    root = Path(__file__).resolve().parent.parent
    return root if _is_checkout(root) else None


def installed_checkout() -> Path | None:
    """The checkout this installed copy was installed from (`pip install CHECKOUT`), while it is still one."""
    try:  # from a checkout; a wheel carries the module only as `_harness_launcher` (pyproject.toml)
        from harness.launcher import installed_from
    except ModuleNotFoundError:
        from _harness_launcher import installed_from  # type: ignore[no-redef,import-untyped,import-not-found,unused-ignore]

    origin = installed_from()
    return origin[0] if origin is not None and _is_checkout(origin[0]) else None


def _is_checkout(root: Path) -> bool:
    return (root / "pyproject.toml").is_file() and (root / "harness").is_dir() and (root / "questions").is_dir()


@dataclass(frozen=True)
class Location:
    """A folder the harness uses, and why that one."""

    name: str
    path: Path
    chosen_by: str


def results_location(results_dir: Path | None = None) -> Location:
    """The results folder and what chose it (see the module docstring)."""
    if results_dir is not None:
        return Location("results", Path(results_dir), "--results")
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Location("results", Path(env), f"${RESULTS_ENV}")
    checkout = source_checkout()
    if checkout is not None:
        return Location("results", checkout / "results", "source checkout")
    installed = installed_checkout()
    if installed is not None:
        return Location("results", installed / "results", "checkout it was installed from")
    import platformdirs

    return Location("results", platformdirs.user_data_path(APP) / "results", "user data folder")


def default_results_dir() -> Path:
    """The results folder when no --results is given."""
    return results_location().path


def cache_location() -> Location:
    """The embedding cache folder and what chose it."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Location("cache", Path(env), f"${CACHE_ENV}")
    import platformdirs

    return Location("cache", platformdirs.user_cache_path(APP), "user cache folder")


def default_cache_dir() -> Path:
    """$HARNESS_CACHE, else the per-user cache folder."""
    return cache_location().path


def bank_location(bank_dir: Path | None = None) -> Location:
    """The bank folder and what chose it: --bank, $HARNESS_BANK, or the bundled bank."""
    from harness.bank.loader import BANK_ENV, default_bank_dir

    if bank_dir is not None:
        return Location("bank", Path(bank_dir), "--bank")
    if os.environ.get(BANK_ENV):
        return Location("bank", default_bank_dir(), f"${BANK_ENV}")
    return Location("bank", default_bank_dir(), "bundled")


def all_locations(*, bank_dir: Path | None = None, results_dir: Path | None = None) -> list[Location]:
    """Every folder and file the harness reads or writes, for `harness where`."""
    from harness.practice.store import db_path
    from harness.scoring.calibration import SHIPPED_DIR

    results = results_location(results_dir)
    return [
        bank_location(bank_dir),
        results,
        Location("history", db_path(results.path), "results folder"),
        Location("grade runs", results.path, "results folder (grade-* folders)"),
        Location("calibrations", results.path / "calibrations", "results folder (made by `harness calibrate`)"),
        Location("shipped calibrations", SHIPPED_DIR, "package"),
        cache_location(),
    ]
