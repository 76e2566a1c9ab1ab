"""The attempt history: the only SQL in the harness.

One SQLite file, `results/history.sqlite` (see `db_path`). Two tables:

- `attempts`: who answered which question, what they wrote, when;
- `scores`: every scoring of an attempt, with the rubric, embedder and
  calibration it came from. `rescore` adds a score and marks it current, so
  old scores are kept and history can compare like with like.

The schema is built by named, ordered migrations recorded in `migrations`
(each one transactional). A file written by a newer harness, or one that is
not a harness history, is refused with a clear message, never reset. The
database runs in WAL mode with a busy timeout so two sessions can write at
once; each write is one transaction, so an interrupted process loses nothing
already committed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import StoreError
from harness.paths import default_results_dir
from harness.types import Score

if TYPE_CHECKING:
    import pandas as pd

DB_NAME = "history.sqlite"
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

FRAME_COLUMNS = (
    "attempt_id", "user", "question_id", "topic", "answer", "score", "started_at",
    "submitted_at", "rubric_version", "embedder_id", "calibration_id", "explanation",
)


@dataclass(frozen=True)
class NewAttempt:
    """An answer about to be stored; times are timezone-aware."""

    user: str
    question_id: str
    topic: str
    answer: str
    started_at: datetime
    submitted_at: datetime


@dataclass(frozen=True)
class StoredAttempt(NewAttempt):
    """A stored attempt (the answer's fields come first) with its id and current score."""

    attempt_id: int
    score: float
    rubric_version: str
    embedder_id: str
    calibration_id: str
    explanation: dict[str, Any]


def db_path(results_dir: Path | str) -> Path:
    """Return the history database path inside a results folder."""
    return Path(results_dir) / DB_NAME


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (creating or upgrading if needed) a history database; `":memory:"` works.

    Raises:
        StoreError: the file is damaged, not a harness history, of a newer
            schema, locked, or its folder cannot be created.

    """
    memory = str(path) == ":memory:"
    where = "the in-memory database" if memory else str(path)
    if not memory:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the results folder {Path(path).parent}: {exc.strerror}") from exc
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{where}: cannot open the history database: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_readable(conn, where)
        if not memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, where=where)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _damaged(where, exc) from exc
    except StoreError:
        conn.close()
        raise
    return conn


def _damaged(where: str, exc: sqlite3.Error) -> StoreError:
    if "locked" in str(exc) or "busy" in str(exc):
        return StoreError(
            f"{where}: the history database is locked by another program; close it and try again"
        )
    return StoreError(
        f"{where}: the history database is damaged or not a SQLite file ({exc}). Nothing was changed; "
        "move the file aside (or restore a backup) to start a new history"
    )


def _check_readable(conn: sqlite3.Connection, where: str) -> None:
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    result = conn.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise StoreError(
            f"{where}: the history database failed its integrity check ({result[0] if result else '?'}). "
            "Nothing was changed; restore a backup or move the file aside to start a new history"
        )


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE ... COMMIT`, rolled back on any exception (Ctrl-C included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, *, where: str = "the history database") -> list[str]:
    """Apply the migrations not yet recorded; return their names.

    Raises:
        StoreError: the database is not a harness history or has a newer schema.

    """
    applied = _applied(conn, where)
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in applied if name not in known]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if unknown or version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the history database has a newer schema (version {max(version, len(applied))}, "
            f"migrations {', '.join(unknown) or '?'}) than this harness knows (version {SCHEMA_VERSION}). "
            "Upgrade the harness, or use another --results folder"
        )
    done = []
    for name, statements in MIGRATIONS:
        if name in applied:
            continue
        with transaction(conn):
            if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                continue  # another process applied it while we waited
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, _iso(_now())))
            conn.execute(f"PRAGMA user_version = {known.index(name) + 1}")
        done.append(name)
    return done


def _applied(conn: sqlite3.Connection, where: str) -> list[str]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "migrations" not in tables:
        if tables:
            raise StoreError(
                f"{where}: this SQLite file is not a harness history (it has tables "
                f"{', '.join(sorted(tables))} but no migrations table); use another --results folder"
            )
        with transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
    return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]


def record(conn: sqlite3.Connection, items: Sequence[tuple[NewAttempt, Score]]) -> list[int]:
    """Store attempts with their scores in one transaction; return the new attempt ids.

    Raises:
        StoreError: the database is locked or cannot be written.

    """
    ids = []
    scored_at = _iso(_now())
    with _writing(conn), transaction(conn):
        for attempt, score in items:
            cur = conn.execute(
                "INSERT INTO attempts (user, question_id, topic, answer, started_at, submitted_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (attempt.user, attempt.question_id, attempt.topic, attempt.answer,
                 _iso(attempt.started_at), _iso(attempt.submitted_at)),
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
            _insert_score(conn, cur.lastrowid, score, scored_at)
    return ids


def add_scores(conn: sqlite3.Connection, items: Sequence[tuple[int, Score]]) -> int:
    """Make each score the current one of its attempt, keeping the old ones; one transaction.

    Raises:
        StoreError: an attempt id is unknown, or the database cannot be written.

    """
    scored_at = _iso(_now())
    with _writing(conn), transaction(conn):
        for attempt_id, score in items:
            if conn.execute("SELECT 1 FROM attempts WHERE id = ?", (attempt_id,)).fetchone() is None:
                raise StoreError(f"attempt {attempt_id} is not in the history database")
            conn.execute("UPDATE scores SET is_current = 0 WHERE attempt_id = ? AND is_current = 1",
                         (attempt_id,))
            _insert_score(conn, attempt_id, score, scored_at)
    return len(items)


def _insert_score(conn: sqlite3.Connection, attempt_id: int, score: Score, scored_at: str) -> None:
    conn.execute(
        "INSERT INTO scores (attempt_id, score, explanation, rubric_version, embedder_id, "
        "calibration_id, scored_at, is_current) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
        (attempt_id, float(score.score), json.dumps(score.to_dict(), ensure_ascii=False),
         score.rubric_version, score.embedder_id, score.calibration_id, scored_at),
    )


@contextmanager
def _writing(conn: sqlite3.Connection) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise _damaged("the history database", exc) from exc


def attempts(
    conn: sqlite3.Connection,
    *,
    user: str | None = None,
    topic: str | None = None,
    question_id: str | None = None,
) -> list[StoredAttempt]:
    """List attempts with their current score, oldest first (by submit time, then id)."""
    where, args = _filters(user=user, topic=topic, question_id=question_id)
    rows = conn.execute(
        "SELECT a.id, a.user, a.question_id, a.topic, a.answer, a.started_at, a.submitted_at, "
        "s.score, s.rubric_version, s.embedder_id, s.calibration_id, s.explanation "
        "FROM attempts a JOIN scores s ON s.attempt_id = a.id AND s.is_current = 1"
        f"{where} ORDER BY a.submitted_at, a.id",
        args,
    ).fetchall()
    return [
        StoredAttempt(r[1], r[2], r[3], r[4], _parse(r[5]), _parse(r[6]), attempt_id=r[0], score=float(r[7]),
                      rubric_version=r[8], embedder_id=r[9], calibration_id=r[10], explanation=json.loads(r[11]))
        for r in rows
    ]


def score_history(conn: sqlite3.Connection, attempt_id: int) -> list[tuple[float, str, str, str, str, bool]]:
    """Every scoring of one attempt, oldest first.

    Each row is (score, rubric_version, embedder_id, calibration_id, scored_at, is_current).
    """
    rows = conn.execute(
        "SELECT score, rubric_version, embedder_id, calibration_id, scored_at, is_current "
        "FROM scores WHERE attempt_id = ? ORDER BY id",
        (attempt_id,),
    ).fetchall()
    return [(float(r[0]), r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def users(conn: sqlite3.Connection) -> list[str]:
    """Users with at least one attempt, sorted."""
    return [r[0] for r in conn.execute("SELECT DISTINCT user FROM attempts ORDER BY user")]


def attempts_frame(
    conn: sqlite3.Connection,
    *,
    user: str | None = None,
    topic: str | None = None,
    question_id: str | None = None,
) -> pd.DataFrame:
    """One row per attempt with its current score, oldest first.

    Columns: attempt_id (int), user, question_id, topic, answer, score (float
    0-100), started_at, submitted_at (datetime64[ns, UTC]), rubric_version,
    embedder_id, calibration_id, explanation (dict, `Score.to_dict()` form).
    """
    import pandas as pd

    rows = attempts(conn, user=user, topic=topic, question_id=question_id)
    frame = pd.DataFrame(
        [
            (a.attempt_id, a.user, a.question_id, a.topic, a.answer, a.score, a.started_at,
             a.submitted_at, a.rubric_version, a.embedder_id, a.calibration_id, a.explanation)
            for a in rows
        ],
        columns=list(FRAME_COLUMNS),
    )
    frame["attempt_id"] = frame["attempt_id"].astype("int64")
    frame["score"] = frame["score"].astype("float64")
    for col in ("started_at", "submitted_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[ns, UTC]")
    for col in ("user", "question_id", "topic", "answer", "rubric_version", "embedder_id",
                "calibration_id", "explanation"):
        frame[col] = frame[col].astype(object)
    return frame


def integrity_check(conn: sqlite3.Connection) -> str:
    """`PRAGMA integrity_check`: "ok" or the problems found."""
    return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))


def _filters(**kwargs: str | None) -> tuple[str, list[str]]:
    clauses, args = [], []
    for column, value in kwargs.items():
        if value is not None:
            clauses.append(f"a.{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    """UTC ISO 8601 with microseconds, so text order is time order.

    Raises:
        ValueError: `when` has no timezone.

    """
    if when.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


__all__ = [
    "DB_NAME", "MIGRATIONS", "SCHEMA_VERSION", "NewAttempt", "StoredAttempt", "add_scores",
    "attempts", "attempts_frame", "connect", "db_path", "default_results_dir", "integrity_check",
    "migrate", "record", "score_history", "transaction", "users",
]
