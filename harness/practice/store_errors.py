"""What went wrong with the history database, in words a user can act on.

SQLite reports a primary result code with every error; `explain` turns the
ones a user can meet into a `StoreError` that names the file, says which of
damaged, read-only, locked, disk full, unopenable or disk I/O it is, and
gives the fix. Errors built by hand (tests, wrappers) carry no code, so the
standard SQLite message text is matched as well.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harness.errors import StoreError

PERM, BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26
KINDS = {
    PERM: "read-only", READONLY: "read-only", BUSY: "locked", LOCKED: "locked", FULL: "full",
    CORRUPT: "damaged", NOTADB: "damaged", CANTOPEN: "cannot-open", IOERR: "io",
}
# SQLite's own wording (sqlite3_errstr), for errors that carry no code.
TEXTS = (
    ("readonly", "read-only"), ("read-only", "read-only"), ("locked", "locked"), ("busy", "locked"),
    ("disk is full", "full"), ("malformed", "damaged"), ("not a database", "damaged"),
    ("unable to open", "cannot-open"), ("disk i/o", "io"),
)
MEMORY = "the in-memory database"


def kind(exc: sqlite3.Error) -> str:
    """One of read-only, locked, full, damaged, cannot-open, io, or other."""
    # Python 3.11+ sets it on errors SQLite raised; absent on 3.10 and on errors built by hand.
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in KINDS:
        return KINDS[code & 0xFF]
    text = str(exc).lower()
    return next((k for needle, k in TEXTS if needle in text), "other")


def explain(where: str, exc: sqlite3.Error, *, waited_s: float = 10.0) -> StoreError:
    """A `StoreError` for `exc` on the history database `where` (its path, or `MEMORY`)."""
    folder = str(Path(where).parent) if where != MEMORY else "its folder"
    messages = {
        "read-only": f"{where}: the history database is read-only, so nothing can be saved to it. "
                     f"Make the file and its folder writable (e.g. chmod u+w {where} {folder}), "
                     "or use another --results folder",
        "locked": f"{where}: the history database is locked by another program (waited {waited_s:g} s). "
                  "Close the other program (another harness session, or a database browser) and try again",
        "full": f"{where}: the disk is full, so nothing can be saved to the history database. "
                f"Free some space on the disk that holds {folder} and try again",
        "damaged": f"{where}: the history database is damaged or not a SQLite file ({exc}). Nothing was "
                   f"changed; move the file aside (e.g. rename it to {Path(where).name}.damaged) or restore "
                   "a backup, and a new history starts on the next run",
        "cannot-open": f"{where}: cannot open the history database ({exc}). Check that you can read and "
                       f"write the file and its folder {folder}, or use another --results folder",
        "io": f"{where}: disk I/O error on the history database ({exc}). Check the disk (full, removed, "
              "or a network drive that dropped) and try again",
    }
    other = (f"{where}: the history database refused the change ({exc}); nothing was stored"
             if isinstance(exc, sqlite3.IntegrityError) else f"{where}: the history database cannot be used ({exc})")
    return StoreError(messages.get(kind(exc), other))


def cannot_create_folder(folder: Path, exc: OSError) -> StoreError:
    """The results folder (or one above it) cannot be made."""
    return StoreError(
        f"cannot create the results folder {folder}: {exc.strerror or exc}; create it yourself, "
        "or choose another with --results or $HARNESS_RESULTS"
    )
