"""The `harness` command's entry point, installed beside the package as `_harness_launcher`.

An editable install (`pip install -e CHECKOUT`, for working on the harness)
imports the package from the checkout. Once that checkout is moved or
deleted, the command would die in pip's generated script with a bare
"ModuleNotFoundError: No module named 'harness'". The wheel therefore also
carries this module at the top level of site-packages (`pyproject.toml`,
force-include), where it is found without the checkout and can say what
happened and what to do. It imports nothing of the package until `main` runs.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

DISTRIBUTION = "interview-harness"


def main() -> Any:
    """Run the `harness` command line; one line on stderr and exit 1 if the package cannot be imported."""
    try:
        from harness.cli import main as run
    except ModuleNotFoundError as exc:
        if exc.name not in ("harness", "harness.cli"):
            raise
        sys.exit(f"Error: {not_importable(stray_folder())}")
    return run()


def not_importable(stray: Path | None = None) -> str:
    """Why the package cannot be imported, and what to do, in one line (`stray`: see `stray_folder`)."""
    checkout = editable_checkout()
    if checkout is None:
        why = (f"the harness package cannot be imported, so the {DISTRIBUTION} install is broken; "
               f"reinstall it (pip install --force-reinstall {DISTRIBUTION}, or pip install CHECKOUT)")
    else:
        state = "which holds no harness package now" if checkout.is_dir() else "which no longer exists"
        why = (f"the harness package cannot be imported: it was installed in editable mode from {checkout}, "
               f"{state}; reinstall it with pip install CHECKOUT (without -e it keeps working wherever the "
               f"checkout goes) or remove it (pip uninstall {DISTRIBUTION})")
    return why + (f"; delete {stray}, a folder an older install left, which passes for the package"
                  if stray is not None else "")


def stray_folder() -> Path | None:
    """The folder Python took for the `harness` package although it holds none of its code, if any.

    An install made before 2026-12-01 could leave `site-packages/harness/` (the bank only) behind;
    Python then imports it as an empty namespace package and fails on `harness.cli`.
    """
    module = sys.modules.get("harness")
    if module is None or getattr(module, "__file__", None):
        return None
    paths = list(getattr(module, "__path__", ()))
    return Path(paths[0]) if paths else None


def editable_checkout() -> Path | None:
    """The folder an editable install points at (its `direct_url.json`), None for any other install."""
    origin = installed_from()
    return origin[0] if origin is not None and origin[1] else None


def installed_from() -> tuple[Path, bool] | None:
    """The local folder the package was installed from, and whether editably (its `direct_url.json`).

    None when it came from an index or a wheel file, or is not installed at all.
    """
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        record = json.loads(text or "null")
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("dir_info"), dict):
        return None
    url = urlparse(str(record.get("url", "")))
    if url.scheme != "file":
        return None
    return Path(unquote(url.path)), bool(record["dir_info"].get("editable"))
