"""The run folder: a finished run is never deleted, default names never collide, killed runs are tidied up.

Issue 11 item 4. Runs grade `long.csv` with the keyword `FakeScorer`; one test
runs the real `harness grade` under a file-size limit.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, FakeScorer, tiny_bank

import harness.grade.outputs
import harness.grade.run
from harness.errors import OutputError
from harness.grade.folder import OUTPUT_FILES, RunFolder, default_out_dir
from harness.grade.run import GradeRun, grade_file, run_grading
from harness.grade.submissions import open_submissions
from harness.types import Bank

REPO = Path(__file__).resolve().parents[1]
LONG = GRADE_DATA / "long.csv"
WHEN = datetime(2025, 3, 1, 9, 30, 5)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="process ids are checked on POSIX only")


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def grade(bank: Bank, folder: RunFolder, scorer: FakeScorer | None = None) -> GradeRun:
    return run_grading(open_submissions(LONG, bank), scorer or FakeScorer(bank), folder=folder)


def is_complete_run(folder: Path) -> bool:
    return sorted(p.name for p in folder.iterdir()) == sorted(OUTPUT_FILES)


def partials(parent: Path) -> list[Path]:
    return sorted(parent.glob(".*.partial"))


# --- default names --------------------------------------------------------------------------------


def test_default_out_dir_is_new_and_time_stamped(tmp_path: Path) -> None:
    assert default_out_dir(tmp_path, WHEN) == tmp_path / "grade-20250301-093005"
    assert default_out_dir(tmp_path, WHEN) == tmp_path / "grade-20250301-093005-2"
    assert (tmp_path / "grade-20250301-093005-2").is_dir()  # reserved, so nothing else takes it


def test_two_runs_started_in_the_same_second_both_finish(bank: Bank, tmp_path: Path) -> None:
    first, second = RunFolder(default_out_dir(tmp_path, WHEN)), RunFolder(default_out_dir(tmp_path, WHEN))
    runs = [grade(bank, second), grade(bank, first)]
    assert sorted(r.out_dir.name for r in runs) == ["grade-20250301-093005", "grade-20250301-093005-2"]
    assert all(is_complete_run(r.out_dir) for r in runs)
    assert partials(tmp_path) == []


def test_threads_racing_for_a_default_name_each_get_their_own(bank: Bank, tmp_path: Path) -> None:
    n = 8
    start = threading.Barrier(n)
    runs: list[GradeRun] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            runs.append(grade(bank, RunFolder.in_results(tmp_path, WHEN)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.out_dir for r in runs}) == n
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(r.out_dir.name for r in runs)
    assert all(is_complete_run(r.out_dir) for r in runs)


def test_a_failed_default_run_leaves_no_empty_folder(bank: Bank, tmp_path: Path) -> None:
    class Broken(FakeScorer):
        def score_many(self, items):  # type: ignore[no-untyped-def]
            raise RuntimeError("scorer broke")

    with pytest.raises(RuntimeError):
        grade(bank, RunFolder.in_results(tmp_path, WHEN), Broken(bank))
    assert list(tmp_path.iterdir()) == []


# --- the final rename fails: the finished run is kept and named -------------------------------------


def _take_with_files(target: Path) -> None:
    target.mkdir()
    (target / "theirs.txt").write_text("another program's file")


def _take_with_a_file(target: Path) -> None:
    target.write_text("a file")


def _take_with_a_dangling_link(target: Path) -> None:
    target.symlink_to(target.parent / "nowhere")


@pytest.mark.parametrize("take", [_take_with_files, _take_with_a_file, _take_with_a_dangling_link])
def test_target_taken_during_the_run_keeps_the_finished_run(bank: Bank, tmp_path: Path, take) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"

    class Racing(FakeScorer):
        def score_many(self, items):  # type: ignore[no-untyped-def]
            if not self.calls:
                take(out)  # another program creates the folder while we grade
            return super().score_many(items)

    with pytest.raises(OutputError) as caught:
        grade(bank, RunFolder(out), Racing(bank))
    message = str(caught.value)
    assert message.startswith(f"{out}: cannot move the finished run into place (")
    kept = Path(re.search(r"the results are complete in (.+?); move or rename that folder", message)[1])  # type: ignore[index]
    assert kept.parent == tmp_path and kept.name.startswith(".out.") and is_complete_run(kept)
    assert "s1" in (kept / "scores.csv").read_text(encoding="utf-8-sig")
    if out.is_dir() and not out.is_symlink():
        assert [p.name for p in out.iterdir()] == ["theirs.txt"]  # never merged into


def test_a_second_run_into_the_same_out_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    out = tmp_path / "week1"
    first = RunFolder(out)
    with pytest.raises(OutputError, match=f"another run \\(process {os.getpid()}\\) is writing this folder now"):
        RunFolder(out)
    first.discard()
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_finished_run_kept_in_place_is_named_not_removed_by_the_next_run(tmp_path: Path) -> None:
    kept = _killed_run(tmp_path, files=OUTPUT_FILES)
    folder = RunFolder(tmp_path / "next")
    assert kept.is_dir() and is_complete_run(kept)
    assert folder.notes == (f"{kept} holds a finished run that was never moved into place; rename it "
                            "(for example to a grade-* name) to keep it, or delete it",)


# --- --out that is a symbolic link ---------------------------------------------------------------------


@pytest.mark.parametrize("dangling", [False, True])
def test_out_that_is_a_symlink_is_refused_before_grading(bank: Bank, tmp_path: Path, dangling: bool) -> None:
    real = tmp_path / "real"
    if not dangling:
        real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    before = sorted(tmp_path.iterdir())
    # The embedder does not exist: the link is refused before anything loads.
    with pytest.raises(OutputError) as caught:
        grade_file(LONG, bank=bank, embedder="no-such-embedder", out=link)
    assert str(caught.value) == (
        f"{link}: is a symbolic link (to {real}{', which does not exist' if dangling else ''}); the run would "
        "replace the link, not write where it points. Give a real folder as --out (for example the one the "
        "link points to)")
    assert sorted(tmp_path.iterdir()) == before


# --- runs that were killed ---------------------------------------------------------------------------------

CHILD = """
import sys, time
from pathlib import Path
from harness.grade.folder import RunFolder
folder = RunFolder.in_results(Path(sys.argv[1]))
for name in sys.argv[2:]:
    (folder / name).write_text("x")
print(folder.tmp, flush=True)
time.sleep(120)
"""


def _start_run(results: Path, files: tuple[str, ...] = ("scores.csv",)) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(results), *files], stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def _kill(child: subprocess.Popen[str]) -> None:
    child.kill()  # SIGKILL: no clean-up runs
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


def _killed_run(results: Path, files: tuple[str, ...] = ("scores.csv",)) -> Path:
    child, tmp = _start_run(results, files)
    _kill(child)
    return tmp


@posix_only
def test_a_killed_run_is_cleaned_up_by_the_next_run(bank: Bank, tmp_path: Path) -> None:
    tmp = _killed_run(tmp_path)
    reserved = tmp_path / tmp.name.split(".")[1]
    assert tmp.is_dir() and reserved.is_dir()
    pid = int(re.search(r"-(\d+)\.[^.]+\.partial$", tmp.name)[1])  # type: ignore[index]
    run = grade(bank, RunFolder.in_results(tmp_path))
    assert run.notes == (f"removed {tmp}, left by a run that was interrupted (process {pid})",)
    assert not tmp.exists() and not reserved.exists()
    assert list(tmp_path.iterdir()) == [run.out_dir]


@posix_only
def test_a_run_still_going_is_left_alone(bank: Bank, tmp_path: Path) -> None:
    child, tmp = _start_run(tmp_path)
    try:
        run = grade(bank, RunFolder.in_results(tmp_path))
        assert run.notes == () and tmp.is_dir() and (tmp / "scores.csv").is_file()
        target = tmp_path / tmp.name.split(".")[1]
        with pytest.raises(OutputError) as caught:
            RunFolder(target)
        assert str(caught.value) == (f"{target}: another run (process {child.pid}) is writing this folder "
                                     "now; wait for it to finish, or choose another --out folder")
    finally:
        _kill(child)


@pytest.mark.parametrize("name", [".grade-20240101-000000.k2j4h5g6.partial",  # an older harness's
                                  ".grade-20240101-000000.0badc0de-4242.k2j4h5g6.partial"])  # another machine's
def test_a_partial_whose_owner_is_unknown_is_named_once_idle_for_a_day(tmp_path: Path, name: str) -> None:
    old = tmp_path / name
    old.mkdir()
    (old / "scores.csv").write_text("x")
    assert RunFolder(tmp_path / "fresh").notes == ()  # it may still be written
    day_ago = time.time() - 25 * 3600
    for p in (old / "scores.csv", old):
        os.utime(p, (day_ago, day_ago))
    assert RunFolder(tmp_path / "later").notes == (
        f"{old} looks left by an interrupted run (untouched for over a day); delete it if no run is writing there",)
    assert (old / "scores.csv").is_file()


# --- disk full, file-size limit, other write failures --------------------------------------------------


def _fail(code: int, filename: str | None = None):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), filename)
    return fail


@pytest.mark.parametrize("where", ["scores", "students", "run.json", "report.md"])
def test_disk_full_while_writing_is_a_clear_error_and_leaves_nothing(
        bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    if where == "scores":
        monkeypatch.setattr(harness.grade.outputs.ScoresWriter, "__call__", _fail(errno.ENOSPC))
    elif where == "students":
        monkeypatch.setattr(harness.grade.run, "write_students", _fail(errno.ENOSPC))
    elif where == "run.json":
        monkeypatch.setattr(harness.grade.run, "write_run_json", _fail(errno.ENOSPC))
    else:
        write_text = Path.write_text
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: _fail(errno.ENOSPC)() if self.name == where
                            else write_text(self, *a, **k))
    out = tmp_path / "out"
    with pytest.raises(OutputError) as caught:
        grade(bank, RunFolder(out))
    assert str(caught.value) == (
        f"{out}: the disk is full (No space left on device), so the run could not be written; nothing was kept. "
        f"Free some space on the disk that holds {tmp_path}, or choose an --out folder on another disk, and "
        "grade again")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_opened_names_it(bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    folder = RunFolder(out)
    monkeypatch.setattr(harness.grade.run, "write_questions",
                        lambda path, *a, **k: _fail(errno.EACCES, str(path))())
    with pytest.raises(OutputError) as caught:
        grade(bank, folder)
    assert str(caught.value) == (f"{out}: cannot write questions.csv (Permission denied); nothing was kept. "
                                 f"Check that you can write to {tmp_path} and grade again")
    assert list(tmp_path.iterdir()) == []


def test_an_error_that_is_not_about_writing_the_run_is_not_renamed(bank: Bank, tmp_path: Path) -> None:
    class Reading(FakeScorer):
        def score_many(self, items):  # type: ignore[no-untyped-def]
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/elsewhere/model.bin")

    with pytest.raises(FileNotFoundError):
        grade(bank, RunFolder(tmp_path / "out"), Reading(bank))
    assert list(tmp_path.iterdir()) == []


# `harness grade` with the keyword scorer in place of the model, so the test takes a second, not ten.
FAST_GRADE = """
import sys
sys.path.insert(0, sys.argv[1])
import harness.grade.run
from grade_helpers import FakeScorer
harness.grade.run.load_scorer = lambda bank, embedder, **kw: FakeScorer(bank)
from harness.cli import main
main(sys.argv[2:])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("limit", [1024, None])
def test_a_file_size_limit_stops_harness_grade_with_a_clear_error(tmp_path: Path, limit: int | None) -> None:
    out = tmp_path / "out"

    def set_limit() -> None:  # scores.csv is about 1.9 KB; Python ignores SIGXFSZ, so writing raises EFBIG
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-c", FAST_GRADE, str(Path(__file__).parent), "grade", str(LONG),
                             "--bank", str(GRADE_DATA / "bank"), "--out", str(out), "--quiet"],
                            capture_output=True, text=True, encoding="utf-8", cwd=REPO, preexec_fn=set_limit,
                            timeout=300)
    if limit is None:  # the same command without the limit works
        assert (result.returncode, result.stderr, result.stdout) == (0, "", f"{out}\n")
        assert is_complete_run(out)
        return
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"Error: {out}: a file of the run grew past the largest file allowed here (File too large: a file-size "
        "limit such as ulimit -f, or the file system's maximum); nothing was kept. Raise the limit, or choose "
        "an --out folder on another disk, and grade again\n")
    assert list(tmp_path.iterdir()) == []


def test_notes_are_printed_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from harness.cli.grade_cmd import warn
    from harness.grade.grader import GradingCounts

    counts = GradingCounts(answers=1, blanks=0, scored=1, reused=0, rows_read=1, skipped_rows=0, problems=0,
                           people=1, seconds=0.1)
    from harness.grade.mapping import ColumnMapping

    columns = ColumnMapping(None, "long", 0, "student_id", "student id", "", (), (), ())
    warn(GradeRun(tmp_path, counts, 1, 1, 50.0, (), columns,
                   notes=("removed X, left by a run that was interrupted (process 7)",)))
    assert capsys.readouterr().err == "Note: removed X, left by a run that was interrupted (process 7)\n"


@posix_only
def test_every_output_is_on_disk_before_the_run_folder_is_renamed(bank: Bank, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    renamed: list[int] = []
    real_fsync, real_rename = os.fsync, os.rename
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")
                                                               if os.path.exists("/proc/self/fd") else str(fd)),
                                                 real_fsync(fd))[1])
    monkeypatch.setattr(os, "rename", lambda a, b: (renamed.append(len(synced)), real_rename(a, b))[1])
    run = grade(bank, RunFolder(tmp_path / "run"))
    assert is_complete_run(run.out_dir) and renamed
    before = {Path(p).name for p in synced[: renamed[-1]]}
    assert set(OUTPUT_FILES) <= before  # every file of the run, synced while still in the temporary folder
    assert Path(synced[-1]) == tmp_path  # and the rename itself, after it
