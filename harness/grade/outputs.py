"""Writing a grading run: scores.csv, students.csv, questions.csv, report.md, run.json.

Every CSV is UTF-8 with a BOM (Excel opens it with the right characters) and
safe to open in Excel: a cell beginning with `=`, `+`, `-`, `@`, a tab or a
carriage return (or their full-width forms) gets a leading `'`, so it shows
as text and cannot run as a formula. Plain numbers such as `-1.5` are left
alone, since they cannot run anything.

A run is written into a hidden temporary folder beside the target and
renamed into place only when complete, so an interrupted or failed run
leaves no folder that looks finished; an existing run is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import OutputError
from harness.files.write import SafeCsvWriter, safe_cell
from harness.grade.submissions import Answer
from harness.grade.tally import Graded, QuestionStats, StudentStats

SCORE_COLUMNS: tuple[str, ...] = (
    "student_id", "question_id", "topic", "score", "covered", "partial", "missed",
    "misconceptions", "flags", "feedback", "answer", "source_row",
)
OUTPUT_FILES = ("scores.csv", "students.csv", "questions.csv", "report.md", "run.json")
_MOST_MISSED_SHOWN = 3


def default_out_dir(results: Path, now: datetime | None = None) -> Path:
    """A new `grade-YYYYmmdd-HHMMSS` folder under `results` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = results / f"grade-{stamp}"
    n = 2
    while candidate.exists():
        candidate = results / f"grade-{stamp}-{n}"
        n += 1
    return candidate


class RunFolder:
    """A run's output folder, written under a temporary name and renamed when complete."""

    def __init__(self, target: Path) -> None:
        """Check the target is free and make the temporary folder beside it.

        Raises:
            OutputError: the target holds files already, or cannot be created.

        """
        self.target = target
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise OutputError(f"{target}: already exists and is not empty; an earlier run is never "
                              "overwritten, so choose a new --out folder")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
            self.tmp.chmod(0o755)
        except OSError as exc:
            raise OutputError(f"{target}: cannot create the output folder: {exc.strerror}") from exc
        self.done = False

    def __truediv__(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> Path:
        """Rename the finished folder into place.

        Raises:
            OutputError: the target appeared meanwhile (the finished files are kept in the temp folder).

        """
        try:
            if self.target.is_dir() and not any(self.target.iterdir()):
                self.target.rmdir()
            os.rename(self.tmp, self.target)
        except OSError as exc:
            raise OutputError(f"{self.target}: cannot move the finished run into place ({exc.strerror}); "
                              f"its files are in {self.tmp}") from exc
        self.done = True
        return self.target

    def discard(self) -> None:
        """Delete the temporary folder (after a failure or Ctrl-C)."""
        if not self.done:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.discard()


def score_header(extra_names: Sequence[str]) -> list[str]:
    """scores.csv header: the fixed columns, then the carried-through ones.

    A carried-through column whose name clashes with a fixed one is written
    as `input_NAME`.
    """
    taken = set(SCORE_COLUMNS)
    out = list(SCORE_COLUMNS)
    for name in extra_names:
        new = name if name not in taken else f"input_{name}"
        while new in taken:
            new = f"input_{new}"
        taken.add(new)
        out.append(new)
    return out


class ScoresWriter:
    """scores.csv, one row per graded answer, written chunk by chunk."""

    def __init__(self, path: Path, extra_names: Sequence[str]) -> None:
        self._csv = SafeCsvWriter(path)
        self._csv.row(score_header(extra_names))

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None:
        # Graded.cells are neutralised already; question ids come from the bank.
        self._csv.raw_rows((safe_cell(a.student_id), a.question_id, *g.cells, safe_cell(a.text), a.row,
                            *map(safe_cell, a.extras)) for a, g in rows)

    def close(self) -> None:
        """Close the file."""
        self._csv.close()


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_students(path: Path, students: list[StudentStats], *, topics: Sequence[str]) -> None:
    """students.csv: one row per person, overall and per-topic means, weakest topic."""
    with SafeCsvWriter(path) as out:
        out.row(["student_id", "answers", "blanks", "overall", "weakest_topic", *topics])
        out.rows([s.student_id, s.answers, s.blanks, _num(s.overall), s.weakest_topic,
                  *(_num(v) for v in s.topics)] for s in students)


def missed_summary(q: QuestionStats, shown: int = _MOST_MISSED_SHOWN) -> str:
    """`title (missed 12/30); ...` for the most often missed key points."""
    return "; ".join(f"{title} (missed {n}/{judged})" for _, title, n, judged in q.most_missed[:shown])


def write_questions(path: Path, questions: list[QuestionStats], *, prompts: dict[str, str]) -> None:
    """questions.csv: per question answers, mean, facility, discrimination, most missed points."""
    with SafeCsvWriter(path) as out:
        out.row(["question_id", "topic", "answers", "blanks", "mean_score", "facility",
                 "discrimination", "most_missed", "question"])
        out.rows([q.question_id, q.topic, q.answers, q.blanks, _num(q.mean), _num(q.facility, 3),
                  _num(q.discrimination, 3), missed_summary(q), prompts.get(q.question_id, "")]
                 for q in questions)


def write_run_json(path: Path, record: dict[str, Any]) -> None:
    """run.json, pretty-printed UTF-8 (Chinese kept readable)."""
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
