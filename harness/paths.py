"""Where runs write user data: the results folder.

`--results DIR` beats $HARNESS_RESULTS, which beats `results/` in the
repository checkout (or the current folder when installed as a package).
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS_ENV = "HARNESS_RESULTS"


def default_results_dir() -> Path:
    """$HARNESS_RESULTS, else the checkout's results/, else ./results."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "harness").is_dir():
        return checkout / "results"
    return Path.cwd() / "results"
