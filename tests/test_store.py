from __future__ import annotations

import os
import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import StoreError
from harness.practice import database, store
from harness.types import Evidence, MisconceptionHit, PointResult, Score

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)


def make_score(qid: str, value: float, *, embedder: str = "fake-emb", calibration: str = "cal-1",
               rubric: str = "1+aaaa", clause: str = "对比学习把图文映射到同一空间") -> Score:
    evidence = Evidence(clause, 0.81, ("对比",))
    point = PointResult("p1", "学习目标", "对比学习……", 2.0, "covered", 1.0, evidence)
    hit = MisconceptionHit("m1", "错误说法", 10.0, "正确说法", Evidence("错的", 0.7, ()))
    return Score(qid, value, value, (point,), (hit,), 0.5, 0, (("cos", 0.5),), (), rubric, embedder,
                 calibration)


def attempt(qid: str = "clip-idea", *, user: str = "alice", topic: str = "clip", answer: str = "答案",
            at: datetime = T0) -> store.NewAttempt:
    return store.NewAttempt(user, qid, topic, answer, at - timedelta(minutes=3), at)


@pytest.fixture
def fresh_db() -> sqlite3.Connection:
    conn = store.connect(":memory:")
    yield conn
    conn.close()


def test_connect_memory_applies_migrations_once(fresh_db: sqlite3.Connection) -> None:
    names = [r[0] for r in fresh_db.execute("SELECT name FROM migrations")]
    assert names == [name for name, _ in store.MIGRATIONS]
    assert fresh_db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert store.migrate(fresh_db) == []


def test_file_db_uses_wal_and_reopens(tmp_path: Path) -> None:
    path = store.db_path(tmp_path / "results")
    assert path == tmp_path / "results" / "history.sqlite"
    conn = store.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.record(conn, [(attempt(), make_score("clip-idea", 50))])
    conn.close()
    again = store.connect(path)
    assert [a.score for a in store.attempts(again)] == [50.0]
    again.close()


def test_record_and_query_round_trip(fresh_db: sqlite3.Connection) -> None:
    ids = store.record(fresh_db, [
        (attempt("clip-idea", at=T0), make_score("clip-idea", 40)),
        (attempt("vit-patch", topic="vit", at=T0 + timedelta(hours=1)), make_score("vit-patch", 70)),
        (attempt("clip-idea", user="bob", at=T0 + timedelta(hours=2)), make_score("clip-idea", 90)),
    ])
    assert ids == [1, 2, 3]
    rows = store.attempts(fresh_db, user="alice")
    assert [(a.question_id, a.score) for a in rows] == [("clip-idea", 40.0), ("vit-patch", 70.0)]
    assert rows[0].submitted_at == T0 and rows[0].started_at == T0 - timedelta(minutes=3)
    assert Score.from_dict(rows[0].explanation) == make_score("clip-idea", 40)
    assert [a.attempt_id for a in store.attempts(fresh_db, topic="clip")] == [1, 3]
    assert [a.user for a in store.attempts(fresh_db, question_id="clip-idea")] == ["alice", "bob"]
    assert store.users(fresh_db) == ["alice", "bob"]


def test_add_scores_keeps_old_scores(fresh_db: sqlite3.Connection) -> None:
    (aid,) = store.record(fresh_db, [(attempt(), make_score("clip-idea", 40))])
    store.add_scores(fresh_db, [(aid, make_score("clip-idea", 65, calibration="cal-2"))])
    (row,) = store.attempts(fresh_db)
    assert (row.score, row.calibration_id) == (65.0, "cal-2")
    history = store.score_history(fresh_db, aid)
    assert [(s[0], s[3], s[5]) for s in history] == [(40.0, "cal-1", False), (65.0, "cal-2", True)]


def test_add_scores_unknown_attempt_changes_nothing(fresh_db: sqlite3.Connection) -> None:
    (aid,) = store.record(fresh_db, [(attempt(), make_score("clip-idea", 40))])
    with pytest.raises(StoreError, match="attempt 99 is not in the history"):
        store.add_scores(fresh_db, [(aid, make_score("clip-idea", 80)), (99, make_score("x", 1))])
    assert [s[0] for s in store.score_history(fresh_db, aid)] == [40.0]


def test_failed_batch_records_nothing(fresh_db: sqlite3.Connection) -> None:
    bad = make_score("clip-idea", 140)  # violates the 0-100 check
    with pytest.raises(StoreError, match="refused the change .*CHECK constraint failed.*nothing was stored"):
        store.record(fresh_db, [(attempt(), make_score("clip-idea", 40)), (attempt(), bad)])
    assert store.attempts(fresh_db) == []


def test_naive_times_are_refused(fresh_db: sqlite3.Connection) -> None:
    naive = store.NewAttempt("a", "q", "t", "x", datetime(2030, 1, 1), datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record(fresh_db, [(naive, make_score("q", 1))])


def test_attempts_frame_columns_and_types(fresh_db: sqlite3.Connection) -> None:
    store.record(fresh_db, [(attempt(answer="第一行\n第二行"), make_score("clip-idea", 42.5))])
    frame = store.attempts_frame(fresh_db, user="alice")
    assert tuple(frame.columns) == store.FRAME_COLUMNS
    row = frame.iloc[0]
    assert row["attempt_id"] == 1 and frame["attempt_id"].dtype == "int64"
    assert row["score"] == 42.5 and frame["score"].dtype == "float64"
    assert str(frame["submitted_at"].dtype) == "datetime64[ns, UTC]"
    assert row["submitted_at"].to_pydatetime() == T0
    assert row["answer"] == "第一行\n第二行"
    assert row["explanation"]["points"][0]["evidence"]["clause"] == "对比学习把图文映射到同一空间"
    empty = store.attempts_frame(fresh_db, user="nobody")
    assert tuple(empty.columns) == store.FRAME_COLUMNS and len(empty) == 0
    assert str(empty["started_at"].dtype) == "datetime64[ns, UTC]"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store.connect(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO migrations VALUES ('0099_future', '2099-01-01')")
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer schema .*0099_future.*Upgrade the harness"):
        store.connect(path)


def test_damaged_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    for writable in (True, False):
        with pytest.raises(StoreError) as exc:
            store.connect(path, writable=writable)
        assert str(exc.value) == (
            f"{path}: the history database is damaged or not a SQLite file (file is not a database). Nothing "
            "was changed; move the file aside (e.g. rename it to history.sqlite.damaged) or restore a backup, "
            "and a new history starts on the next run")
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite"]


def test_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    conn = store.connect(path)
    store.record(conn, [(attempt(answer="x" * 20000), make_score("clip-idea", 1))])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=str(path)):
        store.connect(path)


@pytest.mark.parametrize("tables", [
    ("CREATE TABLE customers (id INTEGER)",),
    # another program's own migrations table must not pass for ours
    ("CREATE TABLE migrations (version INTEGER)", "CREATE TABLE orders (id INTEGER)"),
    ("CREATE TABLE migrations (name TEXT)", "INSERT INTO migrations VALUES ('create_users')"),
])
def test_foreign_database_is_refused_before_anything_writes_to_it(tmp_path: Path, tables: tuple[str, ...]) -> None:
    path = tmp_path / "history.sqlite"
    raw = sqlite3.connect(path)
    for sql in tables:
        raw.execute(sql)
    raw.commit()
    raw.close()
    before = path.read_bytes()
    for writable in (True, False):
        with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: this SQLite file is not a harness history "
                                             r"\(it has tables .*\); nothing was changed. Use another --results"):
            store.connect(path, writable=writable)
    assert path.read_bytes() == before  # not switched to WAL, no migrations table added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite"]


def test_an_interrupted_first_migration_is_not_taken_for_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    raw.commit()
    raw.close()
    conn = store.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM migrations")] == [store.MIGRATIONS[0][0]]
    conn.close()


def read_only_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every sqlite3.connect open its file read-only, as SQLite does with a file it may not write."""
    real = sqlite3.connect

    def connect(path: str, **kwargs: object) -> sqlite3.Connection:
        return real(f"file:{path}?mode=ro", uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", connect)


def history_file(tmp_path: Path, n: int = 1) -> Path:
    path = tmp_path / "results" / "history.sqlite"
    conn = store.connect(path)
    for i in range(n):
        store.record(conn, [(attempt(at=T0 + timedelta(days=i)), make_score("clip-idea", 40 + i))])
    conn.close()
    return path


def test_read_only_history_is_refused_for_writing_and_read_for_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = history_file(tmp_path)
    before = path.read_bytes()
    read_only_connect(monkeypatch)
    with pytest.raises(StoreError) as exc:
        store.connect(path, writable=True)
    assert str(exc.value) == (
        f"{path}: the history database is read-only, so nothing can be saved to it. Make the file and its "
        f"folder writable (e.g. chmod u+w {path} {path.parent}), or use another --results folder")
    conn = store.connect(path)
    assert [a.score for a in store.attempts(conn)] == [40.0]
    with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: the history database is read-only"):
        store.record(conn, [(attempt(), make_score("clip-idea", 1))])
    assert not conn.in_transaction
    conn.close()
    assert path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to a read-only file anyway")
def test_chmod_read_only_history_is_refused_by_name(tmp_path: Path) -> None:
    path = history_file(tmp_path)
    path.chmod(0o444)
    with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: the history database is read-only.*chmod u\\+w"):
        store.connect(path, writable=True)
    conn = store.connect(path)
    assert len(store.attempts(conn)) == 1
    conn.close()


def test_locked_history_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = history_file(tmp_path)
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as exc:
            store.connect(path, writable=True)
        assert str(exc.value) == (
            f"{path}: the history database is locked by another program (waited 0.2 s). Close the other program "
            "(another harness session, or a database browser) and try again")
        reader = store.connect(path)  # WAL: reading goes on while another writes
        assert len(store.attempts(reader)) == 1
        with pytest.raises(StoreError, match="locked by another program"):
            store.record(reader, [(attempt(), make_score("clip-idea", 1))])
        assert not reader.in_transaction
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.record(reader, [(attempt(), make_score("clip-idea", 2))])  # the same connection works again
    assert [a.score for a in store.attempts(reader)] == [40.0, 2.0]
    reader.close()


def test_disk_full_rolls_back_and_says_so(tmp_path: Path) -> None:
    path = history_file(tmp_path)
    conn = store.connect(path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL on the next new page
    with pytest.raises(StoreError) as exc:
        store.record(conn, [(attempt(answer="长" * 20_000), make_score("clip-idea", 1))])
    assert str(exc.value) == (
        f"{path}: the disk is full, so nothing can be saved to the history database. Free some space on the "
        f"disk that holds {path.parent} and try again")
    assert not conn.in_transaction
    conn.execute("PRAGMA max_page_count = 1073741823")
    store.record(conn, [(attempt(answer="短"), make_score("clip-idea", 2))])
    assert [a.score for a in store.attempts(conn)] == [40.0, 2.0]
    conn.close()


@pytest.mark.parametrize(("error", "kind", "says"), [
    (sqlite3.OperationalError("database or disk is full"), "full", "the disk is full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "read-only", "is read-only"),
    (sqlite3.OperationalError("database is locked"), "locked", "locked by another program"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged", "damaged or not a SQLite file"),
    (sqlite3.DatabaseError("file is not a database"), "damaged", "damaged or not a SQLite file"),
    (sqlite3.OperationalError("unable to open database file"), "cannot-open", "cannot open the history database"),
    (sqlite3.OperationalError("disk I/O error"), "io", "disk I/O error"),
    (sqlite3.IntegrityError("NOT NULL constraint failed: scores.score"), "other", "refused the change"),
])
def test_hand_built_errors_are_told_apart_by_their_text(error: sqlite3.Error, kind: str, says: str) -> None:
    from harness.practice.store_errors import explain
    from harness.practice.store_errors import kind as kind_of

    assert kind_of(error) == kind
    message = str(explain("/r/history.sqlite", error))
    assert message.startswith("/r/history.sqlite: ") and says in message


def test_record_missing_skips_attempts_already_stored(fresh_db: sqlite3.Connection) -> None:
    first = (attempt(at=T0), make_score("clip-idea", 40), T0)
    second = (attempt(at=T0 + timedelta(days=1), answer="另一个"), make_score("clip-idea", 60), T0)
    assert store.record_missing(fresh_db, [first]) == [1]
    assert store.record_missing(fresh_db, [first, second, second]) == [2]
    assert [a.score for a in store.attempts(fresh_db)] == [40.0, 60.0]
    assert store.score_history(fresh_db, 1)[0][4] == T0.isoformat(timespec="microseconds")


def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "history.sqlite")
    with pytest.raises(sqlite3.IntegrityError), store.transaction(conn):
        conn.execute("PRAGMA defer_foreign_keys = ON")  # the bad row fails at COMMIT, not at INSERT
        conn.execute("INSERT INTO scores (attempt_id, score, explanation, rubric_version, embedder_id, "
                     "calibration_id, scored_at) VALUES (99, 1, '{}', 'r', 'e', 'c', 't')")
    assert not conn.in_transaction
    store.record(conn, [(attempt(), make_score("clip-idea", 5))])
    conn.close()


def test_two_sessions_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store.connect(path).close()
    errors: list[BaseException] = []

    def writer(user: str) -> None:
        try:
            conn = store.connect(path)
            for i in range(25):
                store.record(conn, [(attempt(user=user, at=T0 + timedelta(seconds=i)), make_score("q", i))])
            conn.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(u,)) for u in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = store.connect(path)
    assert len(store.attempts(conn, user="alice")) == len(store.attempts(conn, user="bob")) == 25
    assert store.integrity_check(conn) == "ok"
    conn.close()


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s),
    answer=texts,
    clause=texts,
    value=st.floats(min_value=0, max_value=100, allow_nan=False),
    minutes=st.integers(min_value=0, max_value=10_000_000),
)
def test_hypothesis_round_trip(user: str, answer: str, clause: str, value: float, minutes: int) -> None:
    conn = store.connect(":memory:")
    at = T0 + timedelta(minutes=minutes, microseconds=minutes % 999_983)
    new = store.NewAttempt(user, "clip-idea", "clip", answer, at - timedelta(seconds=5), at)
    score = make_score("clip-idea", value, clause=clause)
    (aid,) = store.record(conn, [(new, score)])
    (row,) = store.attempts(conn, user=user)
    assert (row.attempt_id, row.user, row.answer, row.score) == (aid, user, answer, value)
    assert (row.started_at, row.submitted_at) == (new.started_at, new.submitted_at)
    assert Score.from_dict(row.explanation) == score
    conn.close()
