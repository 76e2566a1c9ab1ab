"""The attempt history: attempts and their scores in and out (with `database`, the only SQL).

One SQLite file, `results/history.sqlite` (see `db_path`). Two tables:

- `attempts`: who answered which question, what they wrote, when;
- `scores`: every scoring of an attempt, with the rubric, embedder and
  calibration it came from. `rescore` adds a score and marks it current, so
  old scores are kept and history can compare like with like.

Opening a history (`connect`: migrations, the checks made before anything
writes, WAL mode) lives in `database` and is re-exported here. Each write
is one transaction, so an interrupted process loses nothing already
committed; a write that fails raises a `StoreError` that names the file,
says what is wrong (read-only, locked, disk full, damaged) and gives the fix.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import StoreError
from harness.paths import default_results_dir
from harness.practice.database import (
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    SCHEMA_VERSION,
    connect,
    guard,
    location,
    migrate,
    transaction,
)
from harness.types import Score

if TYPE_CHECKING:
    import pandas as pd

DB_NAME = "history.sqlite"

FRAME_COLUMNS = (
    "attempt_id", "user", "question_id", "topic", "answer", "score", "started_at",
    "submitted_at", "rubric_version", "embedder_id", "calibration_id", "explanation",
    "score_low", "score_high", "review",
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

    @property
    def score_low(self) -> float | None:
        """Low end of the range a teacher's grade likely falls in; None when the score has none (or is older)."""
        return _bound(self.explanation.get("score_low"))

    @property
    def score_high(self) -> float | None:
        """High end of that range; None when the score has none."""
        return _bound(self.explanation.get("score_high"))

    @property
    def review(self) -> tuple[str, ...]:
        """Why the score needs a second look (`scoring.review.REASONS`); empty when none or stored before them."""
        return tuple(str(r) for r in self.explanation.get("review") or ())


def _bound(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def db_path(results_dir: Path | str) -> Path:
    """Return the history database path inside a results folder."""
    return Path(results_dir) / DB_NAME


def record(conn: sqlite3.Connection, items: Sequence[tuple[NewAttempt, Score]]) -> list[int]:
    """Store attempts with their scores in one transaction; return the new attempt ids.

    Raises:
        StoreError: the database cannot be written (the message says why and gives the fix).

    """
    scored_at = _iso(_now())
    with guard(conn), transaction(conn):
        return [_insert(conn, attempt, score, scored_at) for attempt, score in items]


def record_missing(conn: sqlite3.Connection, items: Sequence[tuple[NewAttempt, Score, datetime]]) -> list[int]:
    """Store attempts kept elsewhere, each with the time it was scored, in one transaction.

    An attempt already stored (same user, question, submit time and answer)
    is skipped, so importing the same attempts twice stores them once.
    Returns the ids of the attempts stored now.

    Raises:
        StoreError: the database cannot be written.

    """
    ids = []
    with guard(conn), transaction(conn):
        for attempt, score, scored_at in items:
            if not conn.execute(
                "SELECT 1 FROM attempts WHERE user = ? AND question_id = ? AND submitted_at = ? AND answer = ?",
                (attempt.user, attempt.question_id, _iso(attempt.submitted_at), attempt.answer),
            ).fetchone():
                ids.append(_insert(conn, attempt, score, _iso(scored_at)))
    return ids


def _insert(conn: sqlite3.Connection, attempt: NewAttempt, score: Score, scored_at: str) -> int:
    cur = conn.execute(
        "INSERT INTO attempts (user, question_id, topic, answer, started_at, submitted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (attempt.user, attempt.question_id, attempt.topic, attempt.answer,
         _iso(attempt.started_at), _iso(attempt.submitted_at)),
    )
    assert cur.lastrowid is not None
    _insert_score(conn, cur.lastrowid, score, scored_at)
    return cur.lastrowid


def add_scores(conn: sqlite3.Connection, items: Sequence[tuple[int, Score]]) -> int:
    """Make each score the current one of its attempt, keeping the old ones; one transaction.

    Raises:
        StoreError: an attempt id is unknown, or the database cannot be written.

    """
    scored_at = _iso(_now())
    with guard(conn), transaction(conn):
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


def attempts(
    conn: sqlite3.Connection,
    *,
    user: str | None = None,
    topic: str | None = None,
    question_id: str | None = None,
) -> list[StoredAttempt]:
    """List attempts with their current score, oldest first (by submit time, then id)."""
    where, args = _filters(user=user, topic=topic, question_id=question_id)
    with guard(conn):
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
    with guard(conn):
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
    embedder_id, calibration_id, explanation (dict, `Score.to_dict()` form),
    score_low, score_high (float, NaN when the score has no range), review
    (tuple of reason codes, empty when none; scores stored before these
    existed read back as NaN, NaN, ()).
    """
    import pandas as pd

    rows = attempts(conn, user=user, topic=topic, question_id=question_id)
    frame = pd.DataFrame(
        [
            (a.attempt_id, a.user, a.question_id, a.topic, a.answer, a.score, a.started_at,
             a.submitted_at, a.rubric_version, a.embedder_id, a.calibration_id, a.explanation,
             a.score_low, a.score_high, a.review)
            for a in rows
        ],
        columns=list(FRAME_COLUMNS),
    )
    frame["attempt_id"] = frame["attempt_id"].astype("int64")
    for col in ("score", "score_low", "score_high"):
        frame[col] = frame[col].astype("float64")
    for col in ("started_at", "submitted_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[ns, UTC]")
    for col in ("user", "question_id", "topic", "answer", "rubric_version", "embedder_id",
                "calibration_id", "explanation", "review"):
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
    "BUSY_TIMEOUT_MS", "DB_NAME", "MIGRATIONS", "SCHEMA_VERSION", "NewAttempt", "StoredAttempt", "add_scores",
    "attempts", "attempts_frame", "connect", "db_path", "default_results_dir", "integrity_check", "location",
    "migrate", "record", "record_missing", "score_history", "transaction", "users",
]
