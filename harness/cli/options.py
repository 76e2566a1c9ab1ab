"""Options shared by several commands, each one decorator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def bank_option(f: F) -> F:
    """`--bank DIR` (also $HARNESS_BANK): the question bank to use."""
    return click.option(
        "--bank", "bank_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        envvar="HARNESS_BANK", show_envvar=True,
        help="Bank folder with questions/ and rubrics/ (default: the bundled bank).",
    )(f)


def embedder_option(f: F) -> F:
    """`--embedder NAME` (also $HARNESS_EMBEDDER): the embedding backend."""
    return click.option(
        "--embedder", "embedder_name", default="use-multilingual", envvar="HARNESS_EMBEDDER",
        show_envvar=True, show_default=True,
        help="use-multilingual, or st:NAME_OR_PATH for a sentence-transformers model "
        "(st:all-MiniLM-L6-v2 is bundled; English only).",
    )(f)


def results_option(f: F) -> F:
    """`--results DIR` (also $HARNESS_RESULTS): where the history database lives."""
    return click.option(
        "--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        envvar="HARNESS_RESULTS", show_envvar=True,
        help="Results folder: history, runs, calibrations (default: see `harness where`).",
    )(f)
