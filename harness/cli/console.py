"""The one place a command gets its rich Console."""

from __future__ import annotations

from rich.console import Console


def make_console(*, soft_wrap: bool = False, stderr: bool = False) -> Console:
    """A console for command output: no syntax highlighting of numbers or paths.

    `soft_wrap` prints long lines whole (for lines a user may copy, such as
    paths); tables wrap to the terminal either way.
    """
    return Console(highlight=False, soft_wrap=soft_wrap, stderr=stderr)
