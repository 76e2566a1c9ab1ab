"""The one place a command gets its rich Console, prints JSON, tables and progress."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console, RenderableType

# step, done, total: what a library function reports while it works.
ProgressFn = Callable[[str, int, int], None]
_WIDE = 100_000


def make_console(*, soft_wrap: bool = False, stderr: bool = False) -> Console:
    """A console for command output: no syntax highlighting of numbers or paths.

    `soft_wrap` prints long lines whole (for lines a user may copy, such as
    paths); tables wrap to the terminal either way.
    """
    return Console(highlight=False, soft_wrap=soft_wrap, stderr=stderr)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 attempt`, `2 attempts`; `many` for irregular plurals."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def echo_json(data: Any) -> None:
    """Print one JSON document on standard output: UTF-8 text as written, indented."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False))


def print_table(console: Console, table: RenderableType) -> None:
    """Print a table; when output is not a terminal, as wide as its content, so no cell wraps.

    Piped output then keeps every id, number and sentence whole on its row
    (lines may be longer than 80 columns); a terminal wraps to its width.
    """
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(_WIDE), table).maximum
    width = console.width
    console.width = max(width, natural)
    try:
        with console.capture() as captured:
            console.print(table)
    finally:
        console.width = width
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _ignore(step: str, done: int, total: int) -> None:
    """A progress callback that draws nothing."""


@contextmanager
def progress_bar(console: Console | None = None) -> Iterator[ProgressFn]:
    """A progress callback drawing one rich bar per step on stderr, removed when done.

    On a terminal only: piped or redirected, the callback draws nothing, so
    logs stay clean.
    """
    console = console or make_console(stderr=True)
    if not console.is_terminal:
        yield _ignore
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console, transient=True)
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total)
        bar.update(tasks[step], completed=done, total=total)

    with bar:
        yield update
