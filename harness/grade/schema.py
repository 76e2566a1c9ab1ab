"""The results of a grade run: the columns of scores.csv, students.csv and questions.csv.

One definition, used by everything that writes or reads these files: the
grader and `grade.outputs` write them, `read_scores` reads scores.csv back
for the cohort report, and tests and benchmarks build rows with the row
classes below.

A file's columns are the fields of its row class, in order; a field's type
gives the column's kind (`str` text, `float` number, `int` whole number,
`tuple[str, ...]` a list written joined by "; "). A field without a default
is required: a file without that column is refused. To add a column, add a
field with a default: files written before it still read, with the default.

scores.csv names key points and misconceptions twice, by label for people
(`covered`, `missed`, ...) and by id for programs (`covered_ids`,
`missed_ids`, ...). Readers use the ids; a file written before the ids
existed falls back to its labels (see `report.cohort.tally_scores`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from harness.errors import InputFileError
from harness.files.csvread import CsvFormat, detect_format, iter_rows, read_header
from harness.files.write import LIST_SEP as LIST_SEP
from harness.files.write import SafeCsvWriter, safe_cell
from harness.types import ANCHOR_FLAG, Bank, KeyPoint

Kind = Literal["text", "number", "int", "list"]
BLANK_FLAG = "blank"  # the flag of an answer left blank: scored 0, never sent to the scorer


def counts_as_flagged(flags: Collection[str]) -> bool:
    """Whether reports count an answer with these flags as flagged: any flag but blank and anchor.

    Blank answers are counted apart; an answer a teacher graded (`anchor`) is no problem.
    """
    return any(f not in (BLANK_FLAG, ANCHOR_FLAG) for f in flags)


_KINDS: dict[str, Kind] = {
    "str": "text", "float": "number", "float | None": "number", "int": "int", "int | None": "int",
    "tuple[str, ...]": "list",
}


def _num(digits: int = 1, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    return {"digits": digits, "range": (low, high)}


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One row of scores.csv: one graded answer (then the columns carried through from the input)."""

    student_id: str
    question_id: str
    topic: str
    score: float = field(metadata=_num(1, 0, 100))
    covered: tuple[str, ...] = ()  # key point labels: the title, or the whole text of a derived point
    partial: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()
    misconceptions: tuple[str, ...] = ()  # the misconceptions' statements
    flags: tuple[str, ...] = ()  # BLANK_FLAG, or the scorer's: no-answer, keyword-list, off-rubric, truncated, anchor
    feedback: str = ""
    answer: str = ""
    source_row: int | None = None  # the input line the answer starts on
    covered_ids: tuple[str, ...] = ()
    partial_ids: tuple[str, ...] = ()
    missed_ids: tuple[str, ...] = ()
    misconception_ids: tuple[str, ...] = ()
    # Where the human grade likely lies (80% of the time on held-out questions); empty without an interval.
    score_low: float | None = field(default=None, metadata=_num(1, 0, 100))
    score_high: float | None = field(default=None, metadata=_num(1, 0, 100))
    review: tuple[str, ...] = ()  # why a teacher should read the answer again (scoring.review.REASONS)


@dataclass(frozen=True, slots=True)
class StudentRow:
    """One row of students.csv: one person (then one column per topic: the person's mean in it)."""

    student_id: str
    answers: int
    blanks: int
    overall: float
    weakest_topic: str


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One row of questions.csv: how the cohort did on one question."""

    question_id: str
    topic: str
    answers: int
    blanks: int
    mean_score: float | None
    facility: float | None = field(metadata=_num(3))
    discrimination: float | None = field(metadata=_num(3))
    most_missed: tuple[str, ...]  # "label (missed n/judged)", most missed first
    question: str


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, decimals written, allowed range, and whether a file must have it."""

    name: str
    kind: Kind
    required: bool
    digits: int = 1
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Table:
    """One results file: its name and columns (from its row class)."""

    file: str
    row: type
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in file order."""
        return tuple(c.name for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _table(file: str, row: type) -> Table:
    columns = []
    for f in fields(row):
        low, high = f.metadata.get("range", (None, None))
        columns.append(Column(f.name, _KINDS[str(f.type)], f.default is MISSING and f.default_factory is MISSING,
                              f.metadata.get("digits", 1), low, high))
    return Table(file, row, tuple(columns))


SCORES = _table("scores.csv", ScoreRow)
STUDENTS = _table("students.csv", StudentRow)
QUESTIONS = _table("questions.csv", QuestionRow)
# scores.csv columns that come from the submission row; the rest come from the graded result,
# which the grader computes once per distinct (question, answer) and keeps as `result_cells`.
ANSWER_COLUMNS = ("student_id", "question_id", "answer", "source_row")
RESULT_COLUMNS = tuple(c for c in SCORES.columns if c.name not in ANSWER_COLUMNS)
_DEFAULTS = {f.name: f.default for f in fields(ScoreRow) if f.default is not MISSING}


def point_label(point: KeyPoint) -> str:
    """The label scores.csv gives a key point: its title, or its whole text if derived (titles are cut)."""
    return point.text if point.derived else point.title


def label_for(bank: Bank | None, question_id: str, key: str, given: Mapping[tuple[str, str], str]) -> str:
    """The label of a key point or misconception id: the bank's, else the one the data gave, else the id."""
    rubric = bank.rubrics.get(question_id) if bank else None
    if rubric is not None:
        for p in rubric.key_points:
            if p.id == key:
                return point_label(p)
        for m in rubric.misconceptions:
            if m.id == key:
                return m.text
    return given.get((question_id, key), key)


# --- writing -------------------------------------------------------------------------------


def cell(value: object, column: Column) -> str:
    """One cell as written: numbers to the column's decimals, lists joined, Excel-safe text."""
    if value is None:
        return ""
    if column.kind == "number":
        if math.isnan(value):  # type: ignore[arg-type]
            return ""
        return f"{float(value):.{column.digits}f}"  # type: ignore[arg-type]
    if column.kind == "list":
        return safe_cell(LIST_SEP.join(value))  # type: ignore[arg-type]
    return safe_cell(value)


def row_cells(row: object, table: Table, extras: Sequence[object] = ()) -> list[str]:
    """A row object's cells in the table's column order, then `extras` (made safe)."""
    return [cell(getattr(row, c.name), c) for c in table.columns] + [safe_cell(e) for e in extras]


def write_rows(path: Path, table: Table, rows: Iterable[object]) -> Path:
    """Write a results file from row objects (a hand-made run, a benchmark's, a test's)."""
    with SafeCsvWriter(path) as out:
        out.raw_rows([table.names])
        out.raw_rows(row_cells(r, table) for r in rows)
    return path


def result_cells(values: Mapping[str, object]) -> tuple[str, ...]:
    """The RESULT_COLUMNS cells of one graded answer; a column not in `values` gets its default.

    Raises:
        KeyError: a required result column (topic, score) is missing.

    """
    return tuple(cell(values[c.name] if c.name in values else _DEFAULTS[c.name], c) for c in RESULT_COLUMNS)


def score_header(extra_names: Sequence[str]) -> list[str]:
    """scores.csv header: the schema's columns, then the carried-through ones.

    A carried-through column whose name clashes with one already taken is
    written as `input_NAME`.
    """
    taken = set(SCORES.names)
    out = list(SCORES.names)
    for name in extra_names:
        new = name if name not in taken else f"input_{name}"
        while new in taken:
            new = f"input_{new}"
        taken.add(new)
        out.append(new)
    return out


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScoresFile:
    """A scores.csv read back.

    `frame` has a `row` column (the line the row starts on), every SCORES
    column (lists as tuples; a column the file lacks holds its default), then
    the carried-through columns as text. `absent` names the SCORES columns the
    file lacks (a file from before the id columns lacks the `*_ids`);
    `skipped` counts rows left out for an empty score.
    """

    path: Path
    frame: pd.DataFrame
    absent: tuple[str, ...]
    carried: tuple[str, ...]
    skipped: int


def header_key(name: str) -> str:
    """A header name compared loosely: case, spaces and hyphens ignored."""
    return "_".join(name.strip().lower().replace("-", " ").split())


@dataclass(frozen=True, eq=False)
class ScoresLayout:
    """A scores.csv's checked header: its format, the header cell of each SCORES column it has, the rest.

    `cells` maps a SCORES column name to its header as written (names are
    compared loosely); `carried` are the other headers, in file order;
    `absent` the SCORES columns the file lacks.
    """

    path: Path
    format: CsvFormat
    cells: dict[str, str]
    carried: tuple[str, ...]
    absent: tuple[str, ...]


def scores_layout(path: Path) -> ScoresLayout:
    """The header of a scores.csv (or of the run folder holding one), checked; no row is read.

    Raises:
        InputFileError: unreadable file, or not a scores.csv (a required column missing).

    """
    if path.is_dir():
        path = path / SCORES.file
    fmt = detect_format(path)
    header = read_header(path, fmt)
    by_key = {header_key(h): h for h in header}
    missing = [c.name for c in SCORES.columns if c.required and c.name not in by_key]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise InputFileError(
            f"{path}: not a scores.csv from `harness grade`: no {', '.join(missing)} column{s} "
            f"(it needs {', '.join(c.name for c in SCORES.columns if c.required)}); "
            "give RUN_DIR/scores.csv of a grade run"
        )
    cells = {c.name: by_key[c.name] for c in SCORES.columns if c.name in by_key}
    known = set(cells.values())
    return ScoresLayout(path, fmt, cells, tuple(h for h in header if h not in known),
                        tuple(c.name for c in SCORES.columns if c.name not in cells))


def read_scores(path: Path, *, columns: Collection[str] | None = None, carry: bool = False) -> ScoresFile:
    """Read a scores.csv (or the run folder holding one).

    With `columns`, only those (and the required ones) are read; the frame
    then holds no other columns, carried-through ones included unless `carry`.
    `ScoresChunks` reads the same frame a part at a time.

    Raises:
        InputFileError: unreadable file, not a scores.csv, a bad cell or a
            repeated (student, question) pair, naming the row.

    """
    chunks = ScoresChunks(path, columns=columns, carry=carry, size=0)
    frame = next(iter(chunks))
    return ScoresFile(chunks.path, frame, chunks.layout.absent, chunks.carried, chunks.skipped)


class ScoresChunks:
    """A scores.csv read `size` scored rows at a time (all at once if 0), as frames like `read_scores` makes.

    Iterating yields at least one frame (empty if no row has a score);
    `skipped` then counts the rows without a score. Memory stays that of
    one frame, however long the file.

    Raises (from the constructor, or while iterating):
        InputFileError: as `read_scores`.

    """

    def __init__(self, path: Path, *, columns: Collection[str] | None = None, carry: bool = False,
                 size: int = 50_000) -> None:
        """Check the header of the scores.csv at `path` (or in that run folder); no row is read yet."""
        self.layout = scores_layout(path)
        self.path = self.layout.path
        self._wanted = (SCORES.names if columns is None
                        else {c.name for c in SCORES.columns if c.required} | set(columns))
        self._present = [c for c in SCORES.columns if c.name in self.layout.cells and c.name in self._wanted]
        self.carried = self.layout.carried if columns is None or carry else ()
        self._size = size
        self._rows = ScoredRows(self.layout)

    @property
    def skipped(self) -> int:
        """Rows passed over for an empty score (all of them once iterated)."""
        return self._rows.skipped

    def __iter__(self) -> Iterator[pd.DataFrame]:
        names = [self.layout.cells[c.name] for c in self._present] + list(self.carried)
        lines: list[int] = []
        raw: list[list[str]] = [[] for _ in names]
        yielded = False
        for line, cells in self._rows:
            lines.append(line)
            for values, name in zip(raw, names, strict=True):
                values.append(cells[name])
            if len(lines) == self._size:
                yield self._frame(lines, raw)
                yielded = True
                lines, raw = [], [[] for _ in names]
        if lines or not yielded:
            yield self._frame(lines, raw)

    def _frame(self, lines: list[int], raw: list[list[str]]) -> pd.DataFrame:
        data: dict[str, pd.Series] = {"row": pd.Series(lines, dtype="int64")}
        for c, values in zip(self._present, raw, strict=False):
            data[c.name] = _convert(values, c, self.path, lines)
        for c in SCORES.columns:
            if c.name not in data and c.name in self._wanted:
                data[c.name] = pd.Series([_DEFAULTS[c.name]] * len(lines),
                                         dtype="float64" if c.kind == "number" else object)
        for name, values in zip(self.carried, raw[len(self._present):], strict=True):
            data[name] = pd.Series(values, dtype=object)
        return pd.DataFrame({name: data[name] for name in ("row", *SCORES.names, *self.carried) if name in data})


class ScoredRows:
    """The rows of a scores.csv that have a score, streamed in file order as (line, cells by header).

    `skipped` counts the rows passed over for an empty score, once iterated.
    Memory stays small however long the file: the pairs seen are kept as a
    line number per student and question.

    Raises (while iterating):
        InputFileError: a (student, question) pair repeats, naming both rows.

    """

    def __init__(self, layout: ScoresLayout) -> None:
        """Rows of the scores.csv whose header `layout` describes."""
        self.layout = layout
        self.skipped = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        cells_of = self.layout.cells
        student, question, score = cells_of["student_id"], cells_of["question_id"], cells_of["score"]
        firsts: dict[str, array[int]] = {}  # student -> first line per question index
        questions: dict[str, int] = {}
        path = self.layout.path
        for line, cells in iter_rows(path, self.layout.format):
            if not cells[score].strip():
                self.skipped += 1
                continue
            who, qid = cells[student].strip(), cells[question].strip()
            q = questions.setdefault(qid, len(questions))
            lines = firsts.get(who)
            if lines is None:
                lines = firsts[who] = array("q")
            if len(lines) <= q:
                lines.extend([0] * (q + 1 - len(lines)))
            if lines[q]:
                raise InputFileError(
                    f"{path}: row {line}: student {who!r} answered {qid} already in row {lines[q]}; "
                    "a scores.csv holds one row per answer (report each run on its own)"
                )
            lines[q] = line
            yield line, cells


def split_list(text: str) -> tuple[str, ...]:
    """A list cell's items: split on ";", stripped, empty items dropped."""
    return tuple(filter(None, map(str.strip, text.split(";")))) if text else ()


def _convert(values: list[str], column: Column, path: Path, lines: list[int]) -> pd.Series:
    """One column's cells as values of its kind.

    Raises:
        InputFileError: a cell that is not a number (in range), naming its row.

    """
    if column.kind == "list":
        memo: dict[str, tuple[str, ...]] = {}  # list cells repeat a lot (one result, many answers)
        return pd.Series([memo[v] if v in memo else memo.setdefault(v, split_list(v)) for v in values],
                         dtype=object)
    if column.kind == "text":
        return pd.Series([v.strip() for v in values], dtype=object)
    out: list[float | int | None] = []
    for raw, line in zip(values, lines, strict=True):
        out.append(parse_number(raw, column, path, line))
    return pd.Series(out, dtype="float64" if column.kind == "number" else object)


def parse_number(raw: str, column: Column, path: Path, line: int) -> float | int | None:
    """A number cell of `column` (None if empty).

    Raises:
        InputFileError: not a number of the column's kind, or out of its range, naming file, row and column.

    """
    text = raw.strip()
    if not text:
        return None
    try:
        value: float | int = float(text) if column.kind == "number" else int(text)
    except ValueError:
        value = math.nan
    ok = isinstance(value, int) or math.isfinite(value)
    if ok and column.low is not None and column.high is not None:
        ok = column.low <= value <= column.high
    if not ok:
        want = "a whole number" if column.kind == "int" else "a number"
        span = f" from {column.low:g} to {column.high:g}" if column.low is not None else ""
        raise InputFileError(f"{path}: row {line}: {column.name}: {raw!r} is not {want}{span}")
    return value


def rows_of(scores: ScoresFile | pd.DataFrame) -> Iterable[ScoreRow]:
    """The rows of a read scores.csv as ScoreRow objects (carried columns left out)."""
    frame = scores.frame if isinstance(scores, ScoresFile) else scores
    names = SCORES.names
    optional = [i for i, c in enumerate(SCORES.columns) if c.kind == "number" and _DEFAULTS.get(c.name, 0) is None]
    for values in zip(*(frame[n] for n in names), strict=True):
        row = list(values)
        for i in optional:  # an empty number cell reads as NaN; the row holds None, as written
            if row[i] is not None and math.isnan(row[i]):
                row[i] = None
        yield ScoreRow(*row)
