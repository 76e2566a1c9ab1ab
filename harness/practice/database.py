"""Opening the history database: schema, checks, transactions, errors.

The history's schema is built by named, ordered migrations recorded in
`migrations` (each one transactional). `connect` reads before it writes: a
damaged file, another program's SQLite file or a history written by a newer
harness is refused before WAL mode or a migration touches it, and (unless
opened only to read) a history that cannot be written now is refused before
any answer is asked. The database runs in WAL mode with a busy timeout so
two sessions can write at once. `guard` turns SQLite's errors into a
`StoreError` naming the file and the fix (`store_errors`). With `store`, the
only SQL in the harness.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import StoreError
from harness.practice.store_errors import MEMORY, cannot_create_folder, explain

BUSY_TIMEOUT_MS = 10_000

# name -> statements; applied in order, each in one transaction. Append only.
MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_attempts_and_scores",
        (
            """CREATE TABLE attempts (
                id INTEGER PRIMARY KEY,
                user TEXT NOT NULL,
                question_id TEXT NOT NULL,
                topic TEXT NOT NULL,
                answer TEXT NOT NULL,
                started_at TEXT NOT NULL,
                submitted_at TEXT NOT NULL
            )""",
            "CREATE INDEX attempts_by_user ON attempts (user, submitted_at)",
            "CREATE INDEX attempts_by_question ON attempts (user, question_id, submitted_at)",
            """CREATE TABLE scores (
                id INTEGER PRIMARY KEY,
                attempt_id INTEGER NOT NULL REFERENCES attempts (id),
                score REAL NOT NULL CHECK (score >= 0 AND score <= 100),
                explanation TEXT NOT NULL,
                rubric_version TEXT NOT NULL,
                embedder_id TEXT NOT NULL,
                calibration_id TEXT NOT NULL,
                scored_at TEXT NOT NULL,
                is_current INTEGER NOT NULL DEFAULT 1 CHECK (is_current IN (0, 1))
            )""",
            "CREATE UNIQUE INDEX scores_current ON scores (attempt_id) WHERE is_current = 1",
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path | str, *, writable: bool = False) -> sqlite3.Connection:
    """Open (creating or upgrading if needed) a history database; `":memory:"` works.

    A file that is damaged, not a harness history or of a newer schema is
    refused before anything writes to it. With `writable`, a history that
    cannot be written now (read-only, locked) is refused too, so `answer`
    stops before a question is asked rather than after an answer; without
    it, a read-only history can still be read.

    Raises:
        StoreError: naming the file, what is wrong (damaged, not a history,
            newer schema, read-only, locked, disk full, cannot open) and the fix.

    """
    memory = str(path) == ":memory:"
    where = MEMORY if memory else str(path)
    if not memory:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_create_folder(Path(path).parent, exc) from exc
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise explain(where, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_readable(conn, where)
        _refuse_foreign_or_newer(conn, where)  # before WAL or a migration writes to the file
        if not memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, where=where)
        if writable:
            _check_writable(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise explain(where, exc, waited_s=BUSY_TIMEOUT_MS / 1000) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check_readable(conn: sqlite3.Connection, where: str) -> None:
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    result = conn.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise StoreError(
            f"{where}: the history database failed its integrity check ({result[0] if result else '?'}). "
            "Nothing was changed; restore a backup or move the file aside to start a new history"
        )


def _refuse_foreign_or_newer(conn: sqlite3.Connection, where: str) -> None:
    """Refuse another program's SQLite file, or a history of a newer schema; reads only."""
    tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    columns = {r[1] for r in conn.execute("PRAGMA table_info(migrations)")}
    applied = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")] if "name" in columns else []
    ours = applied[:1] == [MIGRATIONS[0][0]] or (not applied and tables in ([], ["migrations"]))
    if not ours:
        raise StoreError(
            f"{where}: this SQLite file is not a harness history (it has tables {', '.join(tables)}); "
            "nothing was changed. Use another --results folder, or move the file aside"
        )
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in applied if name not in known]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if unknown or version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the history database has a newer schema (version {max(version, len(applied))}, "
            f"migrations {', '.join(unknown) or '?'}) than this harness knows (version {SCHEMA_VERSION}). "
            "Upgrade the harness, or use another --results folder"
        )


def _check_writable(conn: sqlite3.Connection) -> None:
    """Start a write and roll it back: raises SQLite's error if the file is read-only or locked."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.execute("ROLLBACK")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE ... COMMIT`, rolled back on any exception (Ctrl-C, a failed COMMIT included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection, *, where: str = "the history database") -> list[str]:
    """Apply the migrations not yet recorded; return their names.

    Raises:
        StoreError: the database is not a harness history or has a newer schema.

    """
    _refuse_foreign_or_newer(conn, where)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").fetchone():
        with transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
    applied = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]
    known = [name for name, _ in MIGRATIONS]
    done = []
    for name, statements in MIGRATIONS:
        if name in applied:
            continue
        with transaction(conn):
            if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                continue  # another process applied it while we waited
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                         (name, datetime.now(timezone.utc).isoformat(timespec="microseconds")))
            conn.execute(f"PRAGMA user_version = {known.index(name) + 1}")
        done.append(name)
    return done


def location(conn: sqlite3.Connection) -> Path | None:
    """The file a history connection has open; None for an in-memory one (or a closed connection)."""
    try:
        rows = conn.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        return None
    return next((Path(r[2]) for r in rows if r[1] == "main" and r[2]), None)


@contextmanager
def guard(conn: sqlite3.Connection) -> Iterator[None]:
    """Turn SQLite's errors into a `StoreError` that names the file and the fix."""
    try:
        yield
    except sqlite3.Error as exc:
        path = location(conn)
        raise explain(str(path) if path else MEMORY, exc, waited_s=BUSY_TIMEOUT_MS / 1000) from exc
