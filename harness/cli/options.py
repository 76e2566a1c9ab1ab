"""Options shared by several commands, each one decorator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from harness.types import Bank

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


def json_option(f: F) -> F:
    """`--json`: print one JSON document instead of tables (see the README's machine-readable output)."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON on standard output instead of tables.")(f)


def chunk_size_option(f: F) -> F:
    """`--chunk-size N`: answers read at a time by grade and regrade."""
    return click.option(
        "--chunk-size", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
        help="Answers read at a time (scoring waits for 256 new distinct answers, at most 20,000 rows).",
    )(f)


def dask_option(f: F) -> F:
    """`--dask ADDRESS`: score on a Dask cluster (grade and regrade)."""
    return click.option(
        "--dask", "dask_address", metavar="ADDRESS", default=None,
        help="Score on a Dask cluster: a scheduler's address (tcp://HOST:8786) or local / local:N "
        "(N worker processes here). Needs the extra: pip install 'interview-harness[dask]'.",
    )(f)


def parquet_option(f: F) -> F:
    """`--parquet`: also write scores.parquet (grade and regrade)."""
    return click.option("--parquet", "write_parquet", is_flag=True,
                        help="Also write scores.parquet (the same table as scores.csv, typed; needs pyarrow).")(f)


# Embedders that read English only (all-MiniLM-L6-v2 maps most Chinese characters to [UNK]).
ENGLISH_ONLY = ("st:all-minilm-l6-v2",)
CJK_SHARE = 0.3


def language_warning(bank: Bank, embedder_name: str) -> str | None:
    """One line when an English-only embedder meets a bank written mostly in Chinese, else None."""
    if embedder_name.strip().lower() not in ENGLISH_ONLY:
        return None
    texts = [q.prompt for q in bank.questions.values()]
    texts += [ref.primary for r in bank.rubrics.values() for ref in r.references]
    letters = [ch for t in texts for ch in t if ch.isalpha()]
    cjk = sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    if not letters or cjk / len(letters) < CJK_SHARE:
        return None
    return (f"Warning: {embedder_name} reads English only (it maps most Chinese characters to [UNK]) and "
            "this bank is written mostly in Chinese, so its scores mean little; use --embedder use-multilingual.")


def warn_language(bank: Bank, embedder_name: str) -> None:
    """Print `language_warning` on stderr, if any."""
    message = language_warning(bank, embedder_name)
    if message:
        click.echo(message, err=True)


def announce_calibration(embedder_name: str, *, calibration_path: Path | None = None,
                         results_dir: Path | None = None) -> None:
    """Say on stderr when a run will score with a calibration other than the shipped one.

    Errors (an unknown embedder, no calibration) are left to the scorer's
    loading, which reports them in full.
    """
    from harness.encoders import canonical_name
    from harness.errors import HarnessError
    from harness.scoring.calibration_choice import choose, notice

    try:
        embedder_id = canonical_name(embedder_name)
        chosen = choose(embedder_id, path=calibration_path, results_dir=results_dir)
    except HarnessError:
        return
    message = notice(chosen, embedder_id=embedder_id, explicit=calibration_path is not None)
    if message:
        click.echo(message, err=True)
