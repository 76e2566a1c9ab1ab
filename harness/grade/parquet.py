"""Parquet in and out: `.parquet` submissions (the long layout's columns) and scores.parquet.

A million-row cohort exported from pandas or another engine need not go
through CSV: `grade` reads a `.parquet` file with the same columns as the
long layout (student_id, question_id, answer, then any columns carried
through). Rows go through the same checks as a CSV's: they are numbered as
in the same table saved as CSV (the header is row 1, the first record row
2), and every value is read as text (numbers as written by pyarrow, nulls
as empty cells), so an integer student id grades as it would from a CSV.

`ParquetScoresWriter` writes scores.parquet beside scores.csv (`grade
--parquet`): the same rows and columns, typed, so a million-row run need
not be parsed from CSV again by pandas or another engine.

pyarrow is imported only when a `.parquet` file is read or written.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harness.errors import InputFileError
from harness.files.csvread import CsvFormat

if TYPE_CHECKING:
    from harness.grade.submissions import Answer
    from harness.grade.tally import Graded

SUFFIX = ".parquet"
FORMAT = CsvFormat("parquet", "")  # what run.json records as a Parquet file's encoding and delimiter
BATCH_ROWS = 8192
ROW_GROUP_ROWS = 65_536  # scores.parquet rows buffered before a row group is written
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
INSTALL_HINT = "pip install pyarrow (or the harness's dask extra: pip install 'interview-harness[dask]')"


def is_parquet(path: Path) -> bool:
    """Whether `path` is read as Parquet (by its suffix)."""
    return path.suffix.lower() == SUFFIX


def read_head(path: Path, sample_rows: int) -> tuple[list[str], list[list[str]], bool]:
    """The column names, the first `sample_rows` records as text cells, and whether any record follows.

    Raises:
        InputFileError: missing file, pyarrow not installed, not a Parquet file, or a column
            that cannot be read as text.
    """
    with _source(path) as raw:
        pf = _open(path, raw)
        sample = [cells for _, cells in itertools.islice(_rows(path, pf), sample_rows)]
        return _columns(pf), sample, bool(sample)


def open_rows(path: Path) -> tuple[IO[bytes], Iterator[tuple[int, list[str]]]]:
    """The open file (its position tells how far reading has got) and its records as text cells.

    Each record is (row number, cells), numbered from 2 as in the table saved as CSV.

    Raises:
        InputFileError: as `read_head`; or a column that cannot be read as text.
    """
    raw = _source(path)
    try:
        pf = _open(path, raw)
    except BaseException:
        raw.close()
        raise
    return raw, _rows(path, pf)


def _rows(path: Path, pf: Any) -> Iterator[tuple[int, list[str]]]:
    line = 1
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=_columns(pf)):
        columns = [_texts(path, name, batch.column(i)) for i, name in enumerate(batch.schema.names)]
        for cells in zip(*columns):
            line += 1
            yield line, list(cells)


def _columns(pf: Any) -> list[str]:
    """The file's columns but pandas' saved index (`__index_level_0__`), which is not part of the table."""
    return [name for name in pf.schema_arrow.names if not _PANDAS_INDEX.fullmatch(name)]


def _texts(path: Path, name: str, column: Any) -> list[str]:
    """One column of a record batch as text, nulls as ''."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputFileError(f"{path}: column {name}: cannot read {column.type} values as text ({exc}); "
                             "store it as strings or numbers") from exc
    return ["" if v is None else v for v in values.to_pylist()]


def _source(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from exc


def _open(path: Path, raw: IO[bytes]) -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputFileError(f"{path}: reading Parquet needs pyarrow; run: {INSTALL_HINT}") from exc
    try:
        return pq.ParquetFile(raw, pre_buffer=False)  # row group by row group, so tell() shows progress
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({str(exc)[:160]}); save the table "
                             "again with pandas' to_parquet, or as CSV") from exc


class ParquetScoresWriter:
    """scores.parquet: the same table as scores.csv, typed, written a row group at a time.

    Cells are those of scores.csv (text as written there, lists joined by
    "; "); the score and other number columns are float64, `source_row` an
    integer, a missing value null.

    Raises:
        InputFileError: pyarrow is not installed (on creation).
    """

    def __init__(self, path: Path, extra_names: Sequence[str]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputFileError(f"{path}: writing Parquet needs pyarrow; run: {INSTALL_HINT}") from exc
        from harness.grade.outputs import ScoreCells
        from harness.grade.schema import SCORES, score_header

        kinds = [c.kind for c in SCORES.columns] + ["text"] * len(extra_names)
        types = {"number": pa.float64(), "int": pa.int64()}
        self._schema = pa.schema([(name, types.get(kind, pa.string()))
                                  for name, kind in zip(score_header(extra_names), kinds)])
        self._convert = [_CONVERT.get(kind, _text) for kind in kinds]
        self._cells = ScoreCells(extra_names)
        self._buffer: list[tuple[str | int, ...]] = []
        self._writer = pq.ParquetWriter(path, self._schema)

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None:
        self._buffer.extend(self._cells(rows))
        if len(self._buffer) >= ROW_GROUP_ROWS:
            self._write()

    def close(self) -> None:
        """Write what is buffered and close the file."""
        self._write()
        self._writer.close()

    def _write(self) -> None:
        import pyarrow as pa

        columns = list(zip(*self._buffer)) if self._buffer else [()] * len(self._schema)
        arrays = [pa.array([convert(v) for v in values], type=f.type)
                  for values, convert, f in zip(columns, self._convert, self._schema)]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._buffer = []


def _text(value: str | int) -> str:
    return str(value)


def _number(value: str | int) -> float | None:
    return None if value == "" else float(value)


def _int(value: str | int) -> int | None:
    return None if value == "" else int(value)


_CONVERT = {"number": _number, "int": _int}
