"""Reading a cohort's submissions from a CSV, checked and streamed in chunks.

`open_submissions` reads the header and the first `SAMPLE_ROWS` rows
(encoding, delimiter, layout, the exporting tool, the student id and which
question each column answers, see `harness.grade.header`; `mapping` says
how) and fails at once, before any model is loaded,
if the file cannot be graded at all: missing, empty or binary file, missing
required column, no row below the header. `chunks()` then streams `Answer`s,
a chunk at a time, so memory does not grow with the file.

Bad-row policy: a row that cannot be parsed, names an unknown question,
repeats a (student, question) pair or lacks a student id is a `Problem`
(file, row, column, message). By default problems are logged and the row is
skipped; with `strict=True` the first one raises `InputFileError`. A blank
answer is not a problem: it is passed on (and scored 0 by the grader).
A header column that repeats the name of the student, question or answer
column is reported (only the first is read), and so is a column of free
text that answers no question (carried through, not graded).

Nothing is lost silently: every record below the header is an empty line,
a row that gave answers or a row skipped with a problem, and `counts()`
says how many of each (`harness.files.csvread` keeps one runaway quote
from swallowing the rows after it).
"""

from __future__ import annotations

import io
import itertools
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from harness.errors import InputFileError
from harness.files.csvread import CsvFormat, detect_format, header_names, open_text
from harness.files.records import DECODE_ERRORS, read_rows
from harness.files.write import file_sha256
from harness.grade import parquet
from harness.grade.header import Columns, Layout, QuestionMatcher, header_key, resolve_columns
from harness.grade.mapping import ColumnMapping, ColumnMatch, MapRequest
from harness.grade.problems import Problem, ProblemLog, ReadCounts
from harness.types import Bank

DEFAULT_CHUNK = 2000
SAMPLE_ROWS = 500  # rows read with the header, to choose the student id and tell free text
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
                 strict: bool = False, request: MapRequest | None = None) -> None:
        """Read and check the header, and that some row follows it.

        Raises:
            InputFileError: missing/empty/binary file, no data rows, missing column, a
                `request` that does not fit the header; with `strict`, a header column
                reported as a problem.
            UnknownQuestionError: `request` names a question the bank lacks.

        """
        self.path = path
        self.bank = bank
        self.format = _detect(path)
        self.matcher = QuestionMatcher(bank)
        header, sample, has_rows = _read_head(path, self.format)
        self.header = header
        self.columns: Columns = resolve_columns(str(path), header, matcher=self.matcher, layout=layout,
                                                sample=sample, request=request)
        if not has_rows:
            raise InputFileError(f"{path}: no answers below the header row")
        self.twins = _twin_columns(header, self.columns)
        self.problems = ProblemLog(strict=strict)
        self.question_index = {qid: i for i, qid in enumerate(bank.questions)}
        self.roster = Roster(len(bank.questions))
        self.rows_read = self.rows_graded = self.empty_rows = self.answers = self.blank_answers = 0
        self.bytes_read = 0
        self.size = path.stat().st_size
        self._extra_index = [i for i, _ in self.columns.extras]
        self._answer_twin = next((j for i, j in self.twins if i == self.columns.answer), -1)
        self._twin_blanks = self._twin_first = 0  # answers blank in the answer column, not in its twin
        self._raw: IO[bytes] | None = None
        self._started = False
        self._header_problems()  # with strict=True, refused before any model is loaded

    def counts(self) -> ReadCounts:
        """Rows read so far by kind; complete once `chunks()` is exhausted."""
        skipped = self.problems.skipped_rows
        return ReadCounts(self.rows_read + self.empty_rows, self.empty_rows, self.rows_graded, skipped,
                          self.answers, self.blank_answers, self.problems.count)

    @property
    def layout(self) -> Layout:
        """`long` or `wide`, as detected or given."""
        return self.columns.layout

    @property
    def mapping(self) -> ColumnMapping:
        """How the columns were read: the tool, the student id, each question column and how it was matched."""
        return self.columns.mapping

    @property
    def extra_names(self) -> tuple[str, ...]:
        """Names of the carried-through columns."""
        return self.columns.extra_names

    def sha256(self) -> str:
        """Hash of the file's bytes, for run.json."""
        return file_sha256(self.path)

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[list[Answer]]:
        """Answers in file order, `size` at a time (a wide row adds one per question).

        Raises:
            InputFileError: in strict mode at the first problem; or if nothing
                could be read at all.

        """
        if self._started:
            raise RuntimeError("Submissions.chunks() can be iterated once; open the file again")
        self._started = True
        chunk: list[Answer] = []
        long = self.columns.layout == "long"
        text, rows = self._open_rows()
        with text:
            for line, cells in rows:
                self.rows_read += 1
                if long:
                    answer = self._long_answer(line, cells)
                    if answer is not None:
                        chunk.append(answer)
                else:
                    answers = self._wide_answers(line, cells)
                    if answers:
                        chunk.extend(answers)
                        self.rows_graded += 1
                if len(chunk) >= size:
                    self.answers += len(chunk)
                    self.bytes_read = self._raw.tell() if self._raw else self.size
                    yield chunk
                    chunk = []
        self._raw = None
        self.answers += len(chunk)
        if long:  # one answer per graded row
            self.rows_graded = self.answers
        self.bytes_read = self.size
        self._twin_problem()
        if chunk:
            yield chunk
        if not self.answers:
            raise InputFileError(self._nothing_message())

    def _header_problems(self) -> None:
        """Header columns that are read as something other than what they seem."""
        for q in self.columns.suspicious:
            self.problems.add(Problem(str(self.path), 1, q, "unknown question id "
                                      f"{q!r}{self.matcher.suggestion(q)} (the column is carried "
                                      "through, not graded)"), skips_row=False)
        for m in self.columns.unmapped:
            self.problems.add(Problem(str(self.path), 1, m.header, _unmapped_message(m)), skips_row=False)
        roles = {self.columns.student: "student id", self.columns.question: "question id",
                 self.columns.answer: "answer"}
        for i, j in self.twins:
            self.problems.add(Problem(
                str(self.path), 1, self.header[j],
                f"column {j + 1} has the same name as column {i + 1}; only column {i + 1} is read as the "
                f"{roles[i]}, column {j + 1} is carried through; rename or delete one of them",
            ), skips_row=False)

    def _twin_problem(self) -> None:
        if self._twin_blanks:
            i, j = self.columns.answer, self._answer_twin
            self.problems.add(Problem(
                str(self.path), 1, self.header[j],
                f"{self._twin_blanks} answer(s) graded as blank from column {i + 1} have text in column "
                f"{j + 1} (first in row {self._twin_first}); keep one {self.header[i]!r} column and grade again",
            ), skips_row=False)

    def _nothing_message(self) -> str:
        if not self.rows_read:
            return f"{self.path}: no answers below the header row"
        first = f"; first problem: {self.problems.kept[0]}" if self.problems.kept else ""
        return f"{self.path}: none of the {self.rows_read} rows could be graded{first}"

    def _open_rows(self) -> tuple[IO[Any], Iterator[tuple[int, list[str]]]]:
        """The file as text, and its usable non-empty rows below the header."""
        if self.format == parquet.FORMAT:
            self._raw, rows = parquet.open_rows(self.path)
            return self._raw, rows
        raw = self._raw = self.path.open("rb")
        text = io.TextIOWrapper(raw, encoding=self.format.encoding, errors=DECODE_ERRORS, newline="")
        rows = read_rows(text, delimiter=self.format.delimiter, encoding=self.format.encoding,
                         on_bad=self._bad_row, on_empty=self._empty_row)
        next(rows, None)  # the header, checked when the file was opened
        return text, rows

    def _empty_row(self, line: int) -> None:
        self.empty_rows += 1

    def _bad_row(self, line: int, message: str) -> None:
        self.rows_read += 1
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
        text = cells[c.answer].strip()
        if not text:
            self.blank_answers += 1
            if self._answer_twin >= 0 and cells[self._answer_twin].strip():
                self._twin_blanks += 1
                self._twin_first = self._twin_first or line
        return Answer(line, student_id, student, qid, text, extras)

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
        blanks = c.blank_marks
        for col, qid in c.questions:
            earlier = self.roster.claim(student, self.question_index[qid], line)
            if earlier:
                repeated.append((qid, earlier))
            else:
                text = cells[col].strip()
                if text in blanks:
                    text = ""
                self.blank_answers += not text
                out.append(Answer(line, student_id, student, qid, text, extras))
        if repeated:
            qids = ", ".join(q for q, _ in repeated[:3]) + (" ..." if len(repeated) > 3 else "")
            self.problems.add(Problem(
                str(self.path), line, self.header[c.student],
                f"duplicate answer: student {student_id!r} already answered {qids} in row "
                f"{repeated[0][1]}; the first answer is kept",
            ), skips_row=not out)
        return out


def open_submissions(path: Path, bank: Bank, *, layout: Layout | None = None, strict: bool = False,
                     request: MapRequest | None = None) -> Submissions:
    """Check a submissions file's header and return it ready to stream.

    `request` holds the user's `--map` / `--questions` (see `harness.grade.mapping`).

    Raises:
        InputFileError: missing/empty/binary file, no data rows, a missing required column,
            or a `request` that does not fit the header.
        UnknownQuestionError: `request` names a question the bank lacks.

    """
    return Submissions(path, bank, layout=layout, strict=strict, request=request)


def _unmapped_message(m: ColumnMatch) -> str:
    """What to say of a column of answers that maps to no question."""
    fix = ("name the numbered columns' questions in order with --questions ID,ID,... or this one with "
           f"--map \"{m.header}=QUESTION_ID\"" if m.how == "a numbered answer column" else
           f"if it answers a question, grade again with --map \"{m.header}=QUESTION_ID\"; if not, say so with "
           f"--map \"{m.header}=-\"")
    return f"not graded: {m.why()}; the column is carried through; {fix}"


def _detect(path: Path) -> CsvFormat:
    if parquet.is_parquet(path):
        return parquet.FORMAT
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


def _read_head(path: Path, fmt: CsvFormat) -> tuple[list[str], list[list[str]], bool]:
    """The header, its first `SAMPLE_ROWS` readable rows, and whether any row below it holds text.

    Raises:
        InputFileError: the header row is missing, empty, cannot be parsed or holds bad bytes.

    """
    if fmt == parquet.FORMAT:
        return parquet.read_head(path, SAMPLE_ROWS)
    bad: list[int] = []

    def on_bad(line: int, why: str) -> None:
        if line == 1:
            raise InputFileError(f"{path}: row 1: cannot parse the header row: {why}")
        bad.append(line)

    with open_text(path, fmt) as fh:
        rows = read_rows(fh, delimiter=fmt.delimiter, encoding=fmt.encoding, on_bad=on_bad)
        header = header_names(path, next(rows, None), fmt)
        sample = [cells for _, cells in itertools.islice(rows, SAMPLE_ROWS)]
    return header, sample, bool(sample) or bool(bad)


def _twin_columns(header: list[str], columns: Columns) -> tuple[tuple[int, int], ...]:
    """(column read, later column of the same name) for the student, question and answer columns."""
    keys = [header_key(h) for h in header]
    roles = [i for i in (columns.student, columns.question, columns.answer) if i >= 0]
    return tuple((i, j) for i in roles for j in range(len(keys))
                 if j not in roles and keys[j] == keys[i] and keys[i])
