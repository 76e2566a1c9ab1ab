"""What reading a submissions file found wrong, and what it counted.

A `Problem` is one fault with its file, row and column; the `ProblemLog`
keeps the first `MAX_LOGGED_PROBLEMS` and counts all, or raises at the first
in strict mode. `ReadCounts` accounts for every record below the header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import InputFileError

MAX_LOGGED_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    """A row skipped (or, with --strict, refused), with where and why."""

    file: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{self.file}: {where}: {self.message}"


@dataclass(frozen=True)
class ReadCounts:
    """What reading a submissions file found, each record below the header counted once.

    `records == empty + graded + skipped`: a record is a row of the file (a
    quoted answer may span lines); `empty` rows hold no text and are ignored;
    `graded` rows gave at least one answer; `skipped` rows gave none and were
    reported. `problems` also counts header warnings and rows partly kept.
    """

    records: int
    empty: int
    graded: int
    skipped: int
    answers: int
    blank_answers: int
    problems: int


@dataclass
class ProblemLog:
    """Problems found so far: the first `MAX_LOGGED_PROBLEMS` kept, all counted."""

    strict: bool = False
    count: int = 0
    kept: list[Problem] = field(default_factory=list)
    skipped_rows: int = 0

    def add(self, problem: Problem, *, skips_row: bool = True) -> None:
        """Record a problem.

        Raises:
            InputFileError: in strict mode, with the problem as its message.

        """
        if self.strict:
            hint = "" if not skips_row else " (without --strict such rows are reported and skipped)"
            raise InputFileError(f"{problem}{hint}")
        self.count += 1
        self.skipped_rows += int(skips_row)
        if len(self.kept) < MAX_LOGGED_PROBLEMS:
            self.kept.append(problem)
