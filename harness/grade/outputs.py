"""Writing a grading run: scores.csv, students.csv, questions.csv, report.md, run.json; reading run.json.

Every CSV is UTF-8 with a BOM (Excel opens it with the right characters) and
safe to open in Excel: a cell beginning with `=`, `+`, `-`, `@`, a tab or a
carriage return (or their full-width forms) gets a leading `'`, so it shows
as text and cannot run as a formula. Plain numbers such as `-1.5` are left
alone, since they cannot run anything.

The files are written into a `RunFolder` (see `harness.grade.folder`): a
hidden folder beside the target, renamed into place only when complete
(`RunFolder`, `default_out_dir` and `OUTPUT_FILES` are re-exported here).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import InputFileError
from harness.files.write import SafeCsvWriter, safe_cell
from harness.grade.folder import OUTPUT_FILES as OUTPUT_FILES
from harness.grade.folder import RunFolder as RunFolder
from harness.grade.folder import default_out_dir as default_out_dir
from harness.grade.mapping import column_rows
from harness.grade.problems import ReadCounts
from harness.grade.schema import (
    ANSWER_COLUMNS,
    QUESTIONS,
    RESULT_COLUMNS,
    SCORES,
    STUDENTS,
    Column,
    QuestionRow,
    StudentRow,
    cell,
    label_for,
    row_cells,
    score_header,
    split_list,
)
from harness.grade.submissions import Answer
from harness.grade.tally import CohortStats, Graded
from harness.types import Bank

_MOST_MISSED_SHOWN = 3


class ScoresWriter:
    """scores.csv, one row per graded answer, written chunk by chunk."""

    def __init__(self, path: Path, extra_names: Sequence[str]) -> None:
        self._csv = SafeCsvWriter(path)
        self._csv.row(score_header(extra_names))
        self._cells = ScoreCells(extra_names)

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None:
        self._csv.raw_rows(self._cells(rows))

    def close(self) -> None:
        """Close the file."""
        self._csv.close()


class ScoreCells:
    """The scores.csv cells of graded rows, in the file's column order (scores.parquet holds the same)."""

    def __init__(self, extra_names: Sequence[str]) -> None:
        # A row is assembled as (ANSWER_COLUMNS..., RESULT_COLUMNS..., extras...), then put in file order.
        source = [*ANSWER_COLUMNS, *(c.name for c in RESULT_COLUMNS)]
        order = [source.index(name) for name in SCORES.names]
        self._pick = itemgetter(*order, *range(len(source), len(source) + len(extra_names)))

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> Iterator[tuple[str | int, ...]]:
        # Graded.cells are neutralised already; question ids come from the bank.
        pick = self._pick
        return (pick((safe_cell(a.student_id), a.question_id, safe_cell(a.text), a.row, *g.cells,
                      *map(safe_cell, a.extras))) for a, g in rows)


class ReviewRows:
    """Counts the answers flagged for review as a run's scores are written (a sink like `ScoresWriter`).

    It keeps the first `keep` of them in the report's order (question, then
    person), so memory stays flat however many are flagged: report.md lists
    those and counts the rest, which scores.csv marks. `frame()` holds them
    with scores.csv's columns, for `report.cohort.review_table`.
    """

    _NAMES = ("score", "score_low", "score_high", "review")

    def __init__(self, keep: int) -> None:
        """Keep the first `keep` flagged answers; count them all."""
        names = [c.name for c in RESULT_COLUMNS]
        self._at = [names.index(n) for n in self._NAMES]
        self._keep = keep
        self._rows: list[tuple[str, str, float, float, float, tuple[str, ...]]] = []
        self.count = 0

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None:
        score, low, high, review = self._at
        for a, g in rows:
            if g.cells and g.cells[review]:
                self.count += 1
                self._rows.append((a.student_id, a.question_id, _float(g.cells[score]), _float(g.cells[low]),
                                   _float(g.cells[high]), split_list(g.cells[review])))
        if len(self._rows) > 2 * self._keep + 1000:
            self._trim()

    def _trim(self) -> None:
        self._rows.sort(key=lambda r: (r[1], r[0]))  # a (question, person) pair is flagged once
        del self._rows[self._keep:]

    def close(self) -> None:
        """Nothing to close."""

    def frame(self) -> pd.DataFrame:
        """The first `keep` flagged answers: student_id, question_id, score, score_low, score_high, review."""
        self._trim()
        return pd.DataFrame(self._rows, columns=["student_id", "question_id", *self._NAMES])


def _float(text: str) -> float:
    return float(text) if text else math.nan


def write_students(path: Path, stats: CohortStats, *, topics: Sequence[str]) -> None:
    """students.csv: one row per person (first answer first), overall and per-topic means, weakest topic."""
    where = [stats.topics.index(t) for t in topics]
    mean = Column("mean", "number", required=False)
    with SafeCsvWriter(path) as out:
        out.raw_rows([[*STUDENTS.names, *map(safe_cell, topics)]])
        out.raw_rows(
            row_cells(StudentRow(stats.people[i], int(stats.answered[i]), int(stats.blanks[i]),
                                 float(stats.overall[i]), stats.weakest[i]), STUDENTS)
            + [cell(stats.topic_means[i, j], mean) for j in where]
            for i in stats.first_seen
        )


def most_missed(stats: CohortStats, question_id: str, bank: Bank | None) -> list[tuple[str, str, int, int]]:
    """(point id, label, missed, judged) for the question's missed points, most missed first.

    Ties keep the rubric's order of points (then ids).
    """
    rubric = bank.rubrics.get(question_id) if bank else None
    order = {p.id: i for i, p in enumerate(rubric.key_points)} if rubric else {}
    missed, seen = stats.missed[question_id], stats.seen[question_id]
    ranked = sorted((pid for pid, n in missed.items() if n),
                    key=lambda pid: (-missed[pid], order.get(pid, len(order)), pid))
    return [(pid, label_for(bank, question_id, pid, stats.labels), missed[pid], seen[pid]) for pid in ranked]


def write_questions(path: Path, stats: CohortStats, *, bank: Bank) -> None:
    """questions.csv: per question (bank order) answers, mean, facility, discrimination, most missed points."""
    rows = []
    for qid in sorted(stats.questions, key=list(bank.questions).index):
        k = stats.questions.index(qid)
        top = most_missed(stats, qid, bank)[:_MOST_MISSED_SHOWN]
        rows.append(row_cells(QuestionRow(
            qid, stats.topic_of[qid], int(stats.answers[k]), int(stats.question_blanks[k]),
            float(stats.mean[k]), float(stats.facility[k]), stats.discrimination[k],
            tuple(f"{label} (missed {n}/{judged})" for _, label, n, judged in top),
            bank.questions[qid].prompt,
        ), QUESTIONS))
    with SafeCsvWriter(path) as out:
        out.raw_rows([QUESTIONS.names, *rows])


def write_run_json(path: Path, record: dict[str, Any]) -> None:
    """run.json, pretty-printed UTF-8 (Chinese kept readable), in a `RunFolder`.

    Raises:
        OSError: it cannot be written (the `RunFolder` turns that into an `OutputError`).

    """
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="")


@dataclass(frozen=True)
class RunFacts:
    """What a run's run.json says about it, for its report: input, counts, scorer, problems.

    `columns` says how the file's columns were read, as (column, read as,
    how) rows; `columns_note` names the tool, the layout and the columns
    carried through (see `grade.mapping.column_rows`).
    """

    folder: str
    submissions: str
    bank: str
    bank_version: str
    embedder: str
    calibration: str
    finished: datetime
    answers: int
    blanks: int
    skipped_rows: int
    problems: tuple[str, ...]
    problems_not_listed: int
    rows: ReadCounts | None = None  # absent from run.json files written before the counts existed
    columns: tuple[tuple[str, str, str], ...] = ()
    columns_note: str = ""


def run_facts(record: Mapping[str, Any], *, folder: str) -> RunFacts:
    """The facts of a run.json record (as `grade.run` writes it) of the run in `folder`.

    Raises:
        KeyError: a field is missing.
        ValueError: a field has the wrong form.

    """
    counts, inputs = record["counts"], record["inputs"]
    columns, columns_note = column_rows(inputs.get("columns"))
    return RunFacts(
        folder=folder, submissions=str(inputs["submissions"]["path"]), bank=str(inputs["bank"]["root"]),
        bank_version=str(inputs["bank"]["version"]), embedder=str(record["embedder"]),
        calibration=str(record["calibration"]), finished=datetime.fromisoformat(record["finished"]),
        answers=int(counts["answers"]), blanks=int(counts["blanks"]), skipped_rows=int(counts["skipped_rows"]),
        problems=tuple(map(str, record["problems"])), problems_not_listed=int(record["problems_not_listed"]),
        rows=ReadCounts(**{k: int(v) for k, v in counts["rows"].items()}) if "rows" in counts else None,
        columns=columns, columns_note=columns_note,
    )


def read_run_record(folder: Path) -> dict[str, Any] | None:
    """The run.json in `folder` as a dict; None if there is none.

    Raises:
        InputFileError: run.json cannot be read or is not a JSON object.

    """
    path = folder / "run.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise TypeError("not a JSON object")
        return record
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise _not_a_run(path, exc) from exc


def read_run_facts(folder: Path) -> RunFacts | None:
    """The facts of the run in `folder` from its run.json; None if it has none.

    Raises:
        InputFileError: run.json cannot be read or is not a grade run's.

    """
    record = read_run_record(folder)
    return None if record is None else checked_run_facts(record, folder)


def checked_run_facts(record: Mapping[str, Any], folder: Path) -> RunFacts:
    """`run_facts` of the run.json record of the run in `folder`.

    Raises:
        InputFileError: the record is not a grade run's (a field missing or malformed).

    """
    try:
        return run_facts(record, folder=folder.resolve().name)
    except (ValueError, KeyError, TypeError) as exc:
        raise _not_a_run(folder / "run.json", exc) from exc


def _not_a_run(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(f"{path}: not the run.json of a `harness grade` run ({type(exc).__name__}: {exc}); "
                          "move it away to use the scores.csv alone")
