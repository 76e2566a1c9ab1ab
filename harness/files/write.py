"""Writing files users open: Excel-safe CSV cells, CSV files, atomic writes.

`safe_cell` is the one rule for every CSV the harness writes: a cell that
Excel would run as a formula is shown as text. Every file a command writes
for a user goes through `write_atomic`, `write_csv_atomic`, `write_bytes_atomic`
or (inside a folder renamed into place, as `grade` does) `SafeCsvWriter`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, BinaryIO

from harness.errors import HarnessError

FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
if sys.platform == "win32":
    _NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_BINARY
else:
    _NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL

LIST_SEP = "; "
"""How the CSVs the harness writes join a list in one cell (scores.csv's labels and ids, review reasons)."""


def safe_cell(value: object) -> str:
    """A cell value that Excel shows as text, never runs as a formula.

    A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return (or
    their full-width forms) gets a leading `'`; plain numbers such as `-1.5`
    are left alone, since they cannot run anything.
    """
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if text and text[0] in FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def cell_text(cell: str) -> str:
    """The text a cell written by `safe_cell` stood for: its leading `'` removed when `safe_cell` added it."""
    return cell[1:] if cell.startswith("'") and safe_cell(cell[1:]) == cell else cell


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time (for run.json)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SafeCsvWriter:
    """A CSV file in UTF-8 with BOM whose every cell passes through `safe_cell`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The BOM by hand: the utf-8-sig codec encodes through Python code on every write.
        self._fh: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._fh.write("\ufeff")
        self._writer = csv.writer(self._fh, lineterminator="\r\n")

    def row(self, cells: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(c) for c in cells])

    def rows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write several rows."""
        self._writer.writerows([safe_cell(c) for c in r] for r in rows)

    def raw_rows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write rows whose cells the caller has passed through `safe_cell` already."""
        self._writer.writerows(rows)

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> SafeCsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_atomic(path: Path, text: str, *, encoding: str) -> None:
    """Write `text` to `path` via a temporary file beside it, so a failure leaves no half file.

    Raises:
        HarnessError: the folder cannot be created or written.

    """
    write_bytes_atomic(path, text.encode(encoding), what="the report")


def write_csv_atomic(path: Path, rows: Iterable[Iterable[object]], *, what: str = "the file") -> None:
    """A CSV file in UTF-8 with BOM, every cell through `safe_cell`, written atomically.

    Raises:
        HarnessError: the folder cannot be created or written.

    """
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, lineterminator="\r\n").writerows([safe_cell(c) for c in r] for r in rows)
    write_bytes_atomic(path, buffer.getvalue().encode("utf-8"), what=what)


def write_bytes_atomic(path: Path, data: bytes | Callable[[BinaryIO], None], *, what: str = "the file") -> None:
    """Write `data` to `path` via a temporary file beside it, then rename it into place.

    `data` is the bytes, or a function that writes them to the file it is
    given (a large file written as it is made, never whole in memory).

    A failure or Ctrl-C leaves the old file (or none), never half a file.
    Replacing a file keeps its permission bits (a report made private with
    `chmod 600` stays private); a new file gets the usual ones (0o666 less
    the umask, 0644 with the common umask 022), as a plain `open` would.

    Raises:
        HarnessError: the folder cannot be created or written; `what` names the file in the message.

    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = _existing_mode(path)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.partial"
        fd = os.open(tmp, _NEW_FILE, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(data, bytes):
                    fh.write(data)
                else:
                    data(fh)
                fh.flush()
                os.fsync(fh.fileno())  # on disk before the rename: a power cut leaves the old file or the new one
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, path)
            sync_folder(path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise HarnessError(f"{path}: cannot write {what}: {exc.strerror or exc}") from exc


def sync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    if sys.platform != "win32":
        _sync(folder)


def sync_tree(folder: Path) -> None:
    """Put every file under `folder`, and the folder itself, on disk before it is renamed into place."""
    for item in sorted(folder.rglob("*")):
        if item.is_file() and not item.is_symlink():
            _sync(item)
    sync_folder(folder)


def _sync(path: Path) -> None:
    """Put one file or folder on disk (fsync), best effort: some file systems refuse it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _existing_mode(path: Path) -> int | None:
    """The permission bits of the regular file at `path`, or None when there is none."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) & 0o777 if stat.S_ISREG(info.st_mode) else None
