"""Reading a cohort's submissions from a CSV, checked and streamed in chunks.

`open_submissions` reads the header (encoding, delimiter and layout detected,
see `harness.grade.header`) and fails at once if the file cannot be graded
at all: missing, empty or binary file, missing required column. `chunks()`
then streams `Answer`s, a chunk at a time, so memory does not grow with the
file.

Bad-row policy: a row that cannot be parsed, names an unknown question,
repeats a (student, question) pair or lacks a student id is a `Problem`
(file, row, column, message). By default problems are logged and the row is
skipped; with `strict=True` the first one raises `InputFileError`. A blank
answer is not a problem: it is passed on (and scored 0 by the grader).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

from harness.errors import InputFileError
from harness.files.csvread import CsvFormat, detect_format
from harness.grade.header import Columns, Layout, QuestionMatcher, resolve_columns
from harness.types import Bank

DEFAULT_CHUNK = 2000
MAX_LOGGED_PROBLEMS = 1000
_ZIP_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # xlsx/ods, legacy xls


class Answer(NamedTuple):
    """One answer to grade; `row` is the file line it starts on (the header is row 1).

    A NamedTuple rather than a frozen dataclass: one is built per answer, and
    a tuple is several times cheaper to build.
    """

    row: int
    student_id: str
    student_index: int
    question_id: str
    text: str
    extras: tuple[str, ...]

    @property
    def blank(self) -> bool:
        """True when nothing but white space was written."""
        return not self.text


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


class Roster:
    """Students seen, by index, and which question each has answered (first row, compactly)."""

    def __init__(self, n_questions: int) -> None:
        self.index: dict[str, int] = {}
        self._nq = n_questions
        self._first_row = array("i")

    def __len__(self) -> int:
        return len(self.index)

    def student(self, student_id: str) -> int:
        """Index of a student, adding them if new."""
        i = self.index.get(student_id)
        if i is None:
            i = self.index[student_id] = len(self.index)
            self._first_row.extend([0] * self._nq)
        return i

    def claim(self, student: int, question: int, row: int) -> int:
        """Record (student, question) at `row`; returns the earlier row, or 0 if none."""
        slot = student * self._nq + question
        earlier = self._first_row[slot]
        if not earlier:
            self._first_row[slot] = row
        return earlier


class Submissions:
    """A submissions file whose header has been checked; iterate `chunks()` to read answers."""

    def __init__(self, path: Path, bank: Bank, *, layout: Layout | None = None,
                 strict: bool = False) -> None:
        """Read and check the header.

        Raises:
            InputFileError: missing/empty/binary file, no data rows, missing column.

        """
        self.path = path
        self.bank = bank
        self.format = _detect(path)
        self.matcher = QuestionMatcher(bank)
        header = _read_header(path, self.format)
        self.header = header
        self.columns: Columns = resolve_columns(str(path), header, matcher=self.matcher, layout=layout)
        self.problems = ProblemLog(strict=strict)
        self.question_index = {qid: i for i, qid in enumerate(bank.questions)}
        self.roster = Roster(len(bank.questions))
        self.rows_read = 0
        self.bytes_read = 0
        self.size = path.stat().st_size
        self._extra_index = [i for i, _ in self.columns.extras]
        self._raw: IO[bytes] | None = None
        self._started = False

    @property
    def layout(self) -> Layout:
        """`long` or `wide`, as detected or given."""
        return self.columns.layout

    @property
    def extra_names(self) -> tuple[str, ...]:
        """Names of the carried-through columns."""
        return self.columns.extra_names

    def sha256(self) -> str:
        """Hash of the file's bytes, for run.json."""
        h = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[list[Answer]]:
        """Answers in file order, `size` at a time (a wide row adds one per question).

        Raises:
            InputFileError: in strict mode at the first problem; or if nothing
                could be read at all.

        """
        if self._started:
            raise RuntimeError("Submissions.chunks() can be iterated once; open the file again")
        self._started = True
        for q in self.columns.suspicious:
            self.problems.add(Problem(str(self.path), 1, q, "unknown question id "
                                      f"{q!r}{self.matcher.suggestion(q)} (the column is carried "
                                      "through, not graded)"), skips_row=False)
        chunk: list[Answer] = []
        produced = 0
        long = self.columns.layout == "long"
        for line, cells in self._rows():
            self.rows_read += 1
            if long:
                answer = self._long_answer(line, cells)
                if answer is not None:
                    chunk.append(answer)
            else:
                chunk.extend(self._wide_answers(line, cells))
            if len(chunk) >= size:
                produced += len(chunk)
                self.bytes_read = self._raw.tell() if self._raw else self.size
                yield chunk
                chunk = []
        produced += len(chunk)
        self.bytes_read = self.size
        if chunk:
            yield chunk
        if not produced:
            raise InputFileError(self._nothing_message())

    def _nothing_message(self) -> str:
        if not self.rows_read:
            return f"{self.path}: no answers below the header row"
        first = f"; first problem: {self.problems.kept[0]}" if self.problems.kept else ""
        return f"{self.path}: none of the {self.rows_read} rows could be graded{first}"

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of each non-empty data row; unparsable rows become problems."""
        raw = self._raw = self.path.open("rb")
        text = io.TextIOWrapper(raw, encoding=self.format.encoding, errors="surrogateescape", newline="")
        width = len(self.header)
        padding = [[""] * n for n in range(width + 1)]
        with text:
            reader = csv.reader(text, delimiter=self.format.delimiter, strict=True)
            next(reader, None)
            line = reader.line_num + 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    self._bad_row(line, f"cannot parse the row as CSV ({exc}); check its quotes")
                    line = reader.line_num + 1
                    continue
                joined = "".join(cells)
                if joined.strip():
                    problem = None
                    if len(cells) > width or "\0" in joined or not _encodable(joined):
                        problem = _check_cells(cells, width, self.format)
                    if problem:
                        self._bad_row(line, problem)
                    else:
                        yield line, cells + padding[width - len(cells)] if len(cells) < width else cells
                line = reader.line_num + 1
        self._raw = None

    def _bad_row(self, line: int, message: str) -> None:
        self.problems.add(Problem(str(self.path), line, None, message))

    def _long_answer(self, line: int, cells: list[str]) -> Answer | None:
        c = self.columns
        student_id = cells[c.student].strip()
        if not student_id:
            self.problems.add(Problem(str(self.path), line, self.header[c.student], "empty student id"))
            return None
        ref = cells[c.question].strip()
        qid = self.matcher.find(ref)
        if qid is None:
            message = ("empty question id" if not ref
                       else f"unknown question id {ref!r}{self.matcher.suggestion(ref)}")
            self.problems.add(Problem(str(self.path), line, self.header[c.question], message))
            return None
        student = self.roster.student(student_id)
        earlier = self.roster.claim(student, self.question_index[qid], line)
        if earlier:
            self.problems.add(Problem(
                str(self.path), line, self.header[c.student],
                f"duplicate answer: student {student_id!r} already answered {qid} in row {earlier}; "
                "the first answer is kept",
            ))
            return None
        extras = tuple([cells[i] for i in self._extra_index])
        return Answer(line, student_id, student, qid, cells[c.answer].strip(), extras)

    def _wide_answers(self, line: int, cells: list[str]) -> list[Answer]:
        c = self.columns
        student_id = cells[c.student].strip()
        if not student_id:
            self.problems.add(Problem(str(self.path), line, self.header[c.student], "empty student id"))
            return []
        extras = tuple([cells[i] for i in self._extra_index])
        student = self.roster.student(student_id)
        out: list[Answer] = []
        repeated: list[tuple[str, int]] = []
        for col, qid in c.questions:
            earlier = self.roster.claim(student, self.question_index[qid], line)
            if earlier:
                repeated.append((qid, earlier))
            else:
                out.append(Answer(line, student_id, student, qid, cells[col].strip(), extras))
        if repeated:
            qids = ", ".join(q for q, _ in repeated[:3]) + (" ..." if len(repeated) > 3 else "")
            self.problems.add(Problem(
                str(self.path), line, self.header[c.student],
                f"duplicate answer: student {student_id!r} already answered {qids} in row "
                f"{repeated[0][1]}; the first answer is kept",
            ))
        return out


def open_submissions(path: Path, bank: Bank, *, layout: Layout | None = None,
                     strict: bool = False) -> Submissions:
    """Check a submissions file's header and return it ready to stream.

    Raises:
        InputFileError: missing/empty/binary file, no data rows or a missing required column.

    """
    return Submissions(path, bank, layout=layout, strict=strict)


def _detect(path: Path) -> CsvFormat:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from exc
    if head.startswith(_ZIP_MAGIC):
        raise InputFileError(
            f"{path}: this is a binary file (an Excel workbook or other archive), not a CSV text file; "
            "save it as CSV UTF-8 and grade that"
        )
    return detect_format(path)


def _read_header(path: Path, fmt: CsvFormat) -> list[str]:
    with path.open("r", encoding=fmt.encoding, errors="surrogateescape", newline="") as fh:
        try:
            header = next(csv.reader(fh, delimiter=fmt.delimiter), None)
        except csv.Error as exc:
            raise InputFileError(f"{path}: row 1: cannot parse the header row: {exc}") from exc
    if not header or not any(h.strip() for h in header):
        raise InputFileError(f"{path}: row 1: the header row is empty; expected column names")
    if any(_undecodable(h) for h in header):
        raise InputFileError(f"{path}: row 1: not valid {fmt.encoding} text; save the file as CSV UTF-8")
    return [h.strip().lstrip("\ufeff").strip() for h in header]


_BAD_CHARS = re.compile("[\udc80-\udcff\x00]")


def _undecodable(text: str) -> bool:
    return _BAD_CHARS.search(text) is not None and re.search("[\udc80-\udcff]", text) is not None


def _encodable(text: str) -> bool:
    """False if the text holds bytes the file's encoding could not decode (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_cells(cells: list[str], width: int, fmt: CsvFormat) -> str | None:
    """Why a parsed row cannot be used, or None."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return (f"{len(cells)} cells but the header has {width}; quote answers that contain "
                f"the delimiter {fmt.delimiter!r}")
    joined = "\x1f".join(cells)
    if _BAD_CHARS.search(joined) is None:
        return None
    if _undecodable(joined):
        return f"not valid {fmt.encoding} text; save the file as CSV UTF-8"
    return "contains a NUL byte (binary data), not text"
