"""Parquet submissions: the long layout's columns in a `.parquet` file, read a record batch at a time.

A million-row cohort exported from pandas or another engine need not go
through CSV: `grade` reads a `.parquet` file with the same columns as the
long layout (student_id, question_id, answer, then any columns carried
through). Rows go through the same checks as a CSV's: they are numbered as
in the same table saved as CSV (the header is row 1, the first record row
2), and every value is read as text (numbers as written by pyarrow, nulls
as empty cells), so an integer student id grades as it would from a CSV.

pyarrow is imported only when a `.parquet` file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harness.errors import InputFileError
from harness.files.csvread import CsvFormat

SUFFIX = ".parquet"
FORMAT = CsvFormat("parquet", "")  # what run.json records as a Parquet file's encoding and delimiter
BATCH_ROWS = 8192
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
INSTALL_HINT = "pip install pyarrow (or the harness's dask extra: pip install 'interview-harness[dask]')"


def is_parquet(path: Path) -> bool:
    """Whether `path` is read as Parquet (by its suffix)."""
    return path.suffix.lower() == SUFFIX


def read_head(path: Path) -> tuple[list[str], bool]:
    """The column names, and whether any record follows them.

    Raises:
        InputFileError: missing file, pyarrow not installed, or not a Parquet file.
    """
    with _source(path) as raw:
        pf = _open(path, raw)
        return _columns(pf), pf.metadata.num_rows > 0


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
