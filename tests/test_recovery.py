"""A practice answer is never lost (harness.practice.recovery, session, and `harness answer`/`history`)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from practice_helpers import BANK_DIR, T0, FakeClock, FakeScorer

from harness.bank.loader import load_bank
from harness.errors import InputFileError
from harness.practice import database, recovery, store
from harness.practice.session import Session
from harness.types import Bank, Score

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """The per-user state folder and the temp folder, inside tmp_path."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return tmp_path / "state" / "harness" / "recovered", temp / f"harness-recovered-{os.getuid()}"


@pytest.fixture(scope="module")
def answer_bank() -> Bank:
    return load_bank(BANK_DIR)


def history_file(tmp_path: Path) -> Path:
    """A history with one attempt by alice on clip-idea (score 40)."""
    path = store.db_path(tmp_path / "results")
    conn = store.connect(path)
    store.record(conn, [(attempt("first"), FakeScorer().score("clip-idea", "x" * 8))])
    conn.close()
    return path


def attempt(answer: str, *, days: int = 0) -> store.NewAttempt:
    at = T0 + timedelta(days=days)
    return store.NewAttempt("alice", "clip-idea", "clip", answer, at - timedelta(minutes=2), at)


def kept_files(*folders: Path) -> list[Path]:
    return sorted(p for f in folders if f.is_dir() for p in f.glob("history-recovered-*.jsonl"))


def read_only_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sqlite3.connect opens its file read-only, as SQLite does with a file it may not write."""
    real = sqlite3.connect

    def connect(path: str, **kwargs: object) -> sqlite3.Connection:
        return real(f"file:{path}?mode=ro", uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", connect)


def failing_inserts(monkeypatch: pytest.MonkeyPatch, error: sqlite3.Error) -> None:
    """Every INSERT raises `error`, as SQLite raises it for a damaged file or a full disk."""
    real = sqlite3.connect

    class Failing(sqlite3.Connection):
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:  # type: ignore[override]
            if sql.lstrip().upper().startswith("INSERT"):
                raise error
            return super().execute(sql, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real(path, factory=Failing, **kw))


class LockingScorer(FakeScorer):
    """Scores, then another program takes the history's write lock and keeps it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.holders: list[sqlite3.Connection] = []

    def score(self, question_id: str, answer: str) -> Score:
        if not self.holders:
            holder = sqlite3.connect(self.path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            self.holders.append(holder)
        return super().score(question_id, answer)

    def release(self) -> None:
        for holder in self.holders:
            holder.execute("ROLLBACK")
            holder.close()


# --- the recovery file ---------------------------------------------------------------------------------


def test_keep_appends_a_private_json_line_beside_the_history(tmp_path: Path) -> None:
    history = history_file(tmp_path)
    score = FakeScorer().score("clip-idea", "对比学习")
    rec = recovery.Recovery.for_history(history)
    kept = rec.keep(attempt("对比学习 $x\\y", days=1), score, reason="R")
    again = rec.keep(attempt("第二个", days=2), score, reason="R")
    assert kept.path == again.path and kept.path is not None and kept.path.parent == history.parent
    assert re.fullmatch(r"history-recovered-[0-9a-f]{10}-\d{8}T\d{6}-\d+\.jsonl", kept.path.name)
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    lines = kept.path.read_text(encoding="utf-8").splitlines()
    assert lines == [kept.line, again.line]
    record = json.loads(lines[0])
    assert (record["kind"], record["version"], record["history"], record["reason"]) == (
        "harness-recovered-attempt", 1, str(history), "R")
    assert record["attempt"]["answer"] == "对比学习 $x\\y"
    items, problems = recovery.parse(kept.path.read_text(encoding="utf-8"), kept.path)
    assert problems == [] and [(a, s) for a, s, _ in items] == [(attempt("对比学习 $x\\y", days=1), score),
                                                              (attempt("第二个", days=2), score)]


def test_folders_are_results_then_user_state_then_temp(tmp_path: Path, private_folders: tuple[Path, Path]) -> None:
    history = tmp_path / "results" / "history.sqlite"
    assert recovery.recovery_folders(history) == (history.parent, *private_folders)
    assert recovery.recovery_folders(None) == private_folders


def test_an_unwritable_results_folder_falls_back_to_the_user_state_folder(
        tmp_path: Path, private_folders: tuple[Path, Path]) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be", encoding="utf-8")
    rec = recovery.Recovery(None, "history-recovered-x.jsonl", (tmp_path / "blocked" / "results", *private_folders))
    kept = rec.keep(attempt("答"), FakeScorer().score("clip-idea", "答"), reason="R")
    assert kept.path == private_folders[0] / "history-recovered-x.jsonl"
    assert stat.S_IMODE(private_folders[0].stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to a read-only folder anyway")
def test_a_chmod_read_only_results_folder_falls_back(tmp_path: Path, private_folders: tuple[Path, Path]) -> None:
    history = history_file(tmp_path)
    history.parent.chmod(0o555)
    try:
        kept = recovery.Recovery.for_history(history).keep(attempt("答"), FakeScorer().score("q", "答"), reason="R")
    finally:
        history.parent.chmod(0o755)
    assert kept.path is not None and kept.path.parent == private_folders[0]


def test_a_full_disk_while_keeping_leaves_no_half_line_and_moves_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_folders: tuple[Path, Path]) -> None:
    history = history_file(tmp_path)
    rec = recovery.Recovery.for_history(history)
    first = rec.keep(attempt("一"), FakeScorer().score("clip-idea", "一"), reason="R")
    assert first.path is not None
    real = recovery._write_all
    calls: list[int] = []

    def full_once(fd: int, data: bytes) -> None:
        calls.append(fd)
        if len(calls) == 1:
            os.write(fd, data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(recovery, "_write_all", full_once)
    second = rec.keep(attempt("二", days=1), FakeScorer().score("clip-idea", "二"), reason="R")
    assert first.path.read_text(encoding="utf-8") == first.line + "\n"  # the half line was cut off again
    assert second.path == private_folders[0] / first.path.name


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_temp_folder_another_user_owns_is_passed_over(private_folders: tuple[Path, Path]) -> None:
    temp = private_folders[1]
    temp.mkdir(mode=0o777)
    os.chown(temp, 65534, 65534)
    kept = recovery.Recovery(None, "history-recovered-x.jsonl", (temp,)).keep(
        attempt("答"), FakeScorer().score("clip-idea", "答"), reason="R")
    assert kept.path is None and list(temp.iterdir()) == []


def test_when_no_folder_takes_it_the_line_is_handed_back_to_print(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x", encoding="utf-8")
    rec = recovery.Recovery(None, "n.jsonl", (tmp_path / "f" / "a", tmp_path / "f" / "b"))
    kept = rec.keep(attempt("答"), FakeScorer().score("clip-idea", "答"), reason="H: the disk is full")
    assert kept.path is None
    message = kept.message()
    assert message.startswith("Not saved to the history: H: the disk is full. No folder could take")
    assert message.endswith("`harness history --import-recovered NAME.jsonl`.\n" + kept.line)
    assert recovery.parse(kept.line, Path("x"))[0][0][0] == attempt("答")


# --- a session whose history fails at the write -----------------------------------------------------------



def _read_only(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[sqlite3.Connection, FakeScorer,
                                                                     Callable[[], None]]:
    read_only_connect(monkeypatch)
    return store.connect(path), FakeScorer(), monkeypatch.undo


def _locked(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[sqlite3.Connection, FakeScorer,
                                                                  Callable[[], None]]:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    scorer = LockingScorer(path)
    return store.connect(path), scorer, scorer.release


def _disk_full(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[sqlite3.Connection, FakeScorer,
                                                                     Callable[[], None]]:
    conn = store.connect(path)
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    return conn, FakeScorer(), lambda: None


def _full_simulated(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[sqlite3.Connection, FakeScorer,
                                                                          Callable[[], None]]:
    failing_inserts(monkeypatch, sqlite3.OperationalError("database or disk is full"))
    return store.connect(path), FakeScorer(), monkeypatch.undo


def _damaged(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[sqlite3.Connection, FakeScorer,
                                                                   Callable[[], None]]:
    failing_inserts(monkeypatch, sqlite3.DatabaseError("database disk image is malformed"))
    return store.connect(path), FakeScorer(), monkeypatch.undo


FAULTS = {
    "read-only": (_read_only, "the history database is read-only, so nothing can be saved to it. Make the file "
                              "and its folder writable (e.g. chmod u+w {path} {folder})"),
    "locked": (_locked, "the history database is locked by another program (waited 0.2 s). Close the other"),
    "disk-full": (_disk_full, "the disk is full, so nothing can be saved to the history database. Free some "
                              "space on the disk that holds {folder} and try again"),
    "disk-full-simulated": (_full_simulated, "the disk is full, so nothing can be saved"),
    "damaged": (_damaged, "the history database is damaged or not a SQLite file (database disk image is "
                          "malformed). Nothing was changed; move the file aside (e.g. rename it to "
                          "history.sqlite.damaged)"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_an_answer_the_history_cannot_take_is_kept_then_imported_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer_bank: Bank, fault: str) -> None:
    path = history_file(tmp_path)
    make, says = FAULTS[fault]
    conn, scorer, heal = make(monkeypatch, path)
    session = Session(conn, answer_bank, lambda: scorer, user="alice", clock=FakeClock(T0 + timedelta(days=3)))
    long = "对比学习把图文对齐。" * 2000  # needs new pages: a full disk shows
    fb = session.submit(answer_bank.questions["clip-idea"], long, started_at=T0)
    conn.close()
    heal()
    assert fb.attempt_id is None and fb.score.score == 100.0 and session.answered == []
    assert fb.kept is not None and session.kept == [fb.kept]
    assert fb.kept.reason.startswith(f"{path}: " + says.format(path=path, folder=path.parent))
    assert fb.kept.path is not None and fb.kept.path.parent == path.parent
    assert fb.kept.message().startswith(f"Not saved to the history: {fb.kept.reason}. Your answer and its score "
                                        f"are kept in {fb.kept.path}; the next `harness answer`")
    conn = store.connect(path)
    done = recovery.import_pending(conn)
    assert (done.stored, done.already) == (1, 0)
    assert done.messages == (f"Imported 1 answer kept in {fb.kept.path} into the history (the file is removed).",)
    rows = store.attempts(conn, user="alice")
    assert [(a.answer, a.score) for a in rows] == [("first", 40.0), (long, 100.0)]
    assert Score.from_dict(rows[1].explanation) == fb.score and rows[1].started_at == T0
    assert recovery.import_pending(conn) == recovery.Imported()
    assert kept_files(path.parent) == []
    conn.close()


def test_unreadable_earlier_attempts_give_no_comparison_but_keep_the_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer_bank: Bank) -> None:
    path = history_file(tmp_path)
    conn = store.connect(path)
    conn.close()  # every read and write now fails
    session = Session(conn, answer_bank, FakeScorer, user="alice",
                      recovery=recovery.Recovery.for_history(path))
    fb = session.submit(answer_bank.questions["clip-idea"], "答案", started_at=T0)
    assert fb.comparison.lines() == ["Your earlier attempts could not be read, so there is no comparison this time."]
    assert fb.kept is not None and fb.kept.path is not None and fb.kept.path.parent == path.parent


# --- importing --------------------------------------------------------------------------------------------


def keep_two(tmp_path: Path) -> tuple[Path, Path]:
    history = history_file(tmp_path)
    rec = recovery.Recovery.for_history(history)
    score = FakeScorer().score("clip-idea", "x" * 12)
    rec.keep(attempt("二", days=1), score, reason="R")
    kept = rec.keep(attempt("三", days=2), score, reason="R")
    assert kept.path is not None
    return history, kept.path


def test_a_bad_line_is_reported_the_rest_imported_and_nothing_twice(tmp_path: Path) -> None:
    history, path = keep_two(tmp_path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"kind": "harness-recovered-attempt", "vers')  # a line cut short
    conn = store.connect(history)
    done = recovery.import_pending(conn)
    assert (done.stored, done.already) == (2, 0)
    assert done.messages == (
        f"Imported 2 answers kept in {path} into the history.",
        f"{path}: line 3: not a recovered attempt (Unterminated string starting at: line 1 column 39 (char 38)); "
        "skipped",
        f"{path}: the file is left where it is.",
    )
    again = recovery.import_pending(conn)
    assert (again.stored, again.already) == (0, 2)
    assert again.messages[0] == f"{path}: its answers are already in the history."
    assert [a.answer for a in store.attempts(conn)] == ["first", "二", "三"]
    conn.close()


def test_import_file_leaves_the_file_and_refuses_one_with_no_attempt(tmp_path: Path) -> None:
    history, path = keep_two(tmp_path)
    conn = store.connect(history)
    done = recovery.import_file(conn, path)
    assert (done.stored, done.already) == (2, 0) and path.exists()
    other = tmp_path / "notes.jsonl"
    other.write_text('{"a": 1}\n', encoding="utf-8")
    with pytest.raises(InputFileError, match=f"^{re.escape(str(other))}: no recovered attempt in this file. "
                                             f"{re.escape(str(other))}: line 1: not a recovered attempt"):
        recovery.import_file(conn, other)
    conn.close()


def test_files_kept_for_another_history_stay_in_the_shared_folders(
        tmp_path: Path, private_folders: tuple[Path, Path]) -> None:
    mine = history_file(tmp_path)
    theirs = tmp_path / "elsewhere" / "history.sqlite"
    names = {}
    for history in (mine, theirs):
        # the name holds the time to the second: take it once, not again when checking
        names[history] = recovery.Recovery.for_history(history).name
        rec = recovery.Recovery(history, names[history], private_folders)
        rec.keep(attempt(f"for {history.parent.name}", days=1), FakeScorer().score("clip-idea", "x"), reason="R")
    conn = store.connect(mine)
    assert recovery.import_pending(conn).stored == 1
    assert [a.answer for a in store.attempts(conn)] == ["first", "for results"]
    assert [p.name for p in kept_files(private_folders[0])] == [names[theirs]]
    conn.close()


def test_a_history_still_read_only_keeps_the_file_for_next_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history, path = keep_two(tmp_path)
    read_only_connect(monkeypatch)
    conn = store.connect(history)
    done = recovery.import_pending(conn)
    conn.close()
    assert done.stored == 0 and len(done.messages) == 1
    assert done.messages[0].startswith(f"{path}: recovered answers not imported yet: {history}: the history "
                                       "database is read-only")
    assert done.messages[0].endswith("The file stays and is tried again next time.")
    assert path.exists()


# --- through `harness answer` and `harness history` ---------------------------------------------------------

LONG = "很长的回答。" * 3000  # needs new pages, so a full disk shows
PIPED = f"@clip-idea\nCLIP 用对比学习把图文对齐。{LONG}\n---\n@vit-patch\nViT 把图像切成 patch。{LONG}\n"


@pytest.fixture
def run_cli(run: Callable[..., tuple[int, str, str]]) -> Callable[..., tuple[int, str, str]]:
    """Run `harness ARGS` in this process with PIPED on standard input; (exit code, stdout, stderr)."""
    return lambda *args, stdin=PIPED: run(*args, stdin=stdin)


def answer_args(results: Path) -> tuple[str, ...]:
    return ("answer", "--bank", str(BANK_DIR), "--results", str(results), "--user", "alice", "--json")


def use_scorer(monkeypatch: pytest.MonkeyPatch, scorer: FakeScorer | None) -> None:
    """`harness answer` gets this scorer; None: loading one fails the test."""
    def load(*args: object, **kwargs: object) -> FakeScorer:
        assert scorer is not None, "the scorer was loaded although the history could not be opened"
        return scorer

    monkeypatch.setattr("harness.practice.launch.load_scorer", load)



@pytest.mark.parametrize("fault", ["read-only", "locked", "damaged", "foreign"])
def test_answer_refuses_an_unusable_history_before_asking_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., tuple[int, str, str]],
        private_folders: tuple[Path, Path], fault: str) -> None:
    path = history_file(tmp_path)
    holder = None
    if fault == "read-only":
        read_only_connect(monkeypatch)
    elif fault == "locked":
        monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    elif fault == "damaged":
        path.write_bytes(b"\x00garbage" * 512)
    else:
        path.unlink()
        raw = sqlite3.connect(path)
        raw.execute("CREATE TABLE invoices (id INTEGER)")
        raw.commit()
        raw.close()
    before = path.read_bytes()
    use_scorer(monkeypatch, None)
    code, out, err = run_cli(*answer_args(path.parent))
    if holder is not None:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1 and out == ""
    assert err.startswith(f"Error: {path}: ") and err.count("\n") == 1
    fix = {"read-only": "chmod u+w", "locked": "Close the other program", "damaged": "move the file aside",
           "foreign": "Use another --results folder"}[fault]
    assert fix in err
    assert path.read_bytes() == before
    assert kept_files(path.parent, *private_folders) == []


@pytest.mark.parametrize("fault", ["locked", "disk-full", "damaged"])
def test_answer_keeps_what_the_history_cannot_take_and_history_imports_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., tuple[int, str, str]],
        fault: str) -> None:
    path = history_file(tmp_path)
    scorer = FakeScorer()
    if fault == "locked":
        monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
        scorer = LockingScorer(path)
    elif fault == "disk-full":
        real = store.connect

        def full(where: Path, **kwargs: bool) -> sqlite3.Connection:
            conn = real(where, **kwargs)
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
            return conn

        monkeypatch.setattr(store, "connect", full)
    else:
        failing_inserts(monkeypatch, sqlite3.DatabaseError("database disk image is malformed"))
    use_scorer(monkeypatch, scorer)
    code, out, err = run_cli(*answer_args(path.parent))
    if isinstance(scorer, LockingScorer):
        scorer.release()
    monkeypatch.undo()
    assert code == 1
    (kept,) = kept_files(path.parent)
    records = [json.loads(x) for x in out.splitlines()]
    assert [(r["question_id"], r["attempt_id"], r["kept_in"]) for r in records] == [
        ("clip-idea", None, str(kept)), ("vit-patch", None, str(kept))]
    assert records[0]["not_saved"].startswith(f"{path}: ")
    assert err.count(f"Your answer and its score are kept in {kept}; the next `harness answer`") == 2
    assert err.endswith(f"Error: 2 answers were not saved to the history (kept in {kept}); fix the history as "
                        "the message above says, and the next run imports them\n")
    assert [json.loads(x)["attempt"]["answer"] for x in kept.read_text(encoding="utf-8").splitlines()] == [
        "CLIP 用对比学习把图文对齐。" + LONG, "ViT 把图像切成 patch。" + LONG]
    code, out, err = run_cli("history", "--results", str(path.parent), "--user", "alice")
    assert code == 0, err
    assert out.startswith(f"Imported 2 answers kept in {kept} into the history (the file is removed).\n")
    assert "alice: 3 attempts" in out
    assert kept_files(path.parent) == []


def test_answer_imports_kept_answers_when_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    history, kept = keep_two(tmp_path)
    use_scorer(monkeypatch, FakeScorer())
    code, out, err = run_cli(*answer_args(history.parent), stdin="@vit-patch\nViT。\n")
    assert code == 0, err
    assert err == f"Imported 2 answers kept in {kept} into the history (the file is removed).\n"
    assert json.loads(out)["attempt_id"] == 4


# --- the real process -----------------------------------------------------------------------------------


def harness(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", cwd=REPO, timeout=120, env={**os.environ, **(env or {})})


def test_a_real_run_refuses_a_foreign_sqlite_file_and_leaves_it_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "results" / "history.sqlite"
    path.parent.mkdir()
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    raw.execute("INSERT INTO invoices VALUES (1, 9.5)")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    result = harness(*answer_args(path.parent), stdin=PIPED)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"Error: {path}: this SQLite file is not a harness history (it has tables invoices); "
                             "nothing was changed. Use another --results folder, or move the file aside\n")
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == ["history.sqlite"]


def test_a_real_run_imports_a_named_recovery_file(tmp_path: Path) -> None:
    history, kept = keep_two(tmp_path)
    named = tmp_path / "mine.jsonl"
    kept.rename(named)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "TMPDIR": str(tmp_path / "tmp")}
    args = ("history", "--results", str(history.parent), "--user", "alice", "--import-recovered", str(named))
    result = harness(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Imported 2 answers kept in {named} into the history.\n")
    again = harness(*args, env=env)
    assert again.stdout.startswith(f"{named}: its answers are already in the history.\n")
    assert "alice: 3 attempts" in again.stdout and named.exists()


def test_a_read_only_history_can_still_be_read_but_not_rescored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    path = history_file(tmp_path)
    read_only_connect(monkeypatch)
    code, out, err = run_cli("history", "--results", str(path.parent), "--user", "alice")
    assert (code, err) == (0, "") and "alice: 1 attempt," in out
    code, out, err = run_cli("rescore", "--bank", str(BANK_DIR), "--results", str(path.parent), "--user", "alice")
    assert code == 1 and err.startswith(f"Error: {path}: the history database is read-only")


@pytest.mark.slow
def test_a_real_terminal_session_keeps_an_answer_while_another_program_holds_the_lock(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    history = history_file(tmp_path)
    env = {**os.environ, "HARNESS_USER": "alice", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
           "XDG_STATE_HOME": str(tmp_path / "state"), "TMPDIR": str(tmp_path / "tmp")}
    child = pexpect.spawn(sys.executable, ["-m", "harness", "answer", "--bank", str(BANK_DIR), "--results",
                                           str(history.parent), "--question", "clip-idea"],
                          env=env, cwd=str(REPO), encoding="utf-8", dimensions=(50, 200), timeout=120)
    child.expect("›")  # the history is open: now another program takes the write lock
    holder = sqlite3.connect(history, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        child.send("CLIP 用对比学习把图像和文本映射到同一个嵌入空间。\x1b\r")
        child.expect(r"Score \S*\d+")
        child.expect(r"Not saved to the history: .*locked by another program")
        child.expect(r"are kept in (\S+\.jsonl);")
        kept = Path(child.match.group(1))
        child.expect(pexpect.EOF)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    child.close()
    assert child.exitstatus == 1
    assert "Error: 1 answer was not saved to the history" in child.before.replace("\r\n", "")
    assert kept.parent == history.parent
    conn = store.connect(history)
    assert recovery.import_pending(conn).stored == 1
    answers = sorted(a.answer for a in store.attempts(conn))
    assert answers == ["CLIP 用对比学习把图像和文本映射到同一个嵌入空间。", "first"]
    conn.close()
