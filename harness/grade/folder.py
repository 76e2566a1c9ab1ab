"""A grading run's output folder: written under a hidden name, renamed into place when complete.

The run is written into `.NAME.OWNER.RANDOM.partial` beside the target
folder NAME and renamed to NAME only when every file is written, so an
interrupted or failed run leaves no folder that looks finished. OWNER is
`HOST-PID`: a tag of the machine (and, on Linux, its process namespace) and
the id of the process writing it. The promises:

- A finished run is never deleted. If the final rename fails (something took
  NAME meanwhile), the finished hidden folder stays and the error names it.
- An earlier run is never overwritten or merged into: the rename cannot
  replace a folder that holds files, and NAME must be free or empty at start.
- `--out` that is a symbolic link (dangling or not) is refused before grading:
  the rename would replace the link itself, not write where it points.
- Default names are unique even for runs started in the same second:
  `default_out_dir` reserves the name by creating it (empty), atomically.
- The next run in the same folder removes a hidden folder whose process is
  gone (a run that was killed), keeps and names one that holds a finished
  run, and never touches one whose process still runs; what it did comes
  back as `notes`.
- Disk full, a file-size limit or another failure to write becomes an
  `OutputError` naming the folder and the cause; the hidden folder is deleted.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from harness.errors import OutputError
from harness.files.write import sync_folder, sync_tree

#: The files of a finished run; a hidden folder holding all of them is a finished run.
OUTPUT_FILES = ("scores.csv", "students.csv", "questions.csv", "report.md", "run.json")
#: A hidden folder no process here can be shown to own is reported once it has been idle this long.
REPORT_IDLE_AFTER = 24 * 3600.0
_PARTIAL = re.compile(r"\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[^.]+\.partial")
_FULL = {errno.ENOSPC, errno.EDQUOT} if sys.platform != "win32" else {errno.ENOSPC}


def default_out_dir(results: Path, now: datetime | None = None) -> Path:
    """Create and return a new empty `grade-YYYYmmdd-HHMMSS` folder under `results` (-2, -3... if taken).

    The folder is made here, atomically, so runs started together (in the
    same second, or in threads) each get their own; `RunFolder` takes it over.

    Raises:
        OutputError: the results folder cannot be created or written.

    """
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    try:
        results.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            candidate = results / (f"grade-{stamp}" if n == 1 else f"grade-{stamp}-{n}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
    except OSError as exc:
        raise OutputError(f"{results}: cannot create a run folder there: {exc.strerror or exc}; "
                          "choose another with --out, --results or $HARNESS_RESULTS") from exc
    raise OutputError(f"{results}: 9,999 runs named grade-{stamp} already; choose a folder with --out")


@dataclass(frozen=True)
class Partial:
    """A hidden `.NAME.*.partial` folder: its target's name and, when its name says, its owner."""

    path: Path
    name: str
    host: str | None
    pid: int | None

    @classmethod
    def parse(cls, path: Path) -> Partial | None:
        """The partial folder at `path`, or None when the name is not one."""
        name = path.name
        if not (name.startswith(".") and name.endswith(".partial") and path.is_dir() and not path.is_symlink()):
            return None
        m = _PARTIAL.fullmatch(name)
        if m is None:  # written by a harness before owners were named
            return cls(path, name[1:-len(".partial")].rsplit(".", 1)[0], None, None)
        return cls(path, m["name"], m["host"], int(m["pid"]))

    def owner_alive(self) -> bool | None:
        """Whether its process still runs; None when that cannot be told (another machine, Windows)."""
        if self.pid is None or self.host != host_tag():
            return None
        return process_alive(self.pid)

    def finished(self) -> bool:
        """Whether it holds every file of a finished run."""
        return all((self.path / f).is_file() for f in OUTPUT_FILES)


def host_tag() -> str:
    """8 hex digits naming this machine and (on Linux) its process namespace, so process ids compare."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha1(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]


def process_alive(pid: int) -> bool | None:
    """Whether process `pid` runs here; None on Windows, where `os.kill` would end it."""
    if sys.platform == "win32":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return None
    return True


def idle_seconds(folder: Path) -> float:
    """Seconds since anything in `folder` (one level) was last written."""
    try:
        times = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
    except OSError:
        return 0.0
    return time.time() - max(times)


class RunFolder:
    """A run's output folder, written under a hidden name and renamed into place when complete."""

    def __init__(self, target: Path, *, reserved: bool = False) -> None:
        """Check the target is free, tidy up after killed runs, and make the hidden folder beside it.

        `reserved`: the target is an empty folder `default_out_dir` made for
        this run, removed again if the run fails.

        Raises:
            OutputError: the target is a symbolic link, holds files already, is
                being written by another run, or cannot be created.

        """
        self.target = target
        self.reserved = reserved
        self.done = self.kept = False
        _check_target(target)
        self.notes = sweep(target.parent, keep=target) if target.parent.is_dir() else ()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            prefix = f".{target.name}.{host_tag()}-{os.getpid()}."
            self.tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=target.parent))
            self.tmp.chmod(0o755)
        except OSError as exc:
            raise OutputError(f"{target}: cannot create the output folder: {exc.strerror or exc}") from exc

    @classmethod
    def in_results(cls, results: Path, now: datetime | None = None) -> RunFolder:
        """A run folder under a new default name in `results` (see `default_out_dir`).

        Raises:
            OutputError: the results folder cannot be written.

        """
        target = default_out_dir(results, now)
        try:
            return cls(target, reserved=True)
        except BaseException:
            _remove_if_empty(target)
            raise

    def __truediv__(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> Path:
        """Rename the finished folder into place.

        Raises:
            OutputError: the target was taken meanwhile; the finished folder is kept and named.

        """
        try:
            _rename_into_place(self.tmp, self.target)
        except OSError as exc:
            self.kept = True
            raise OutputError(f"{self.target}: cannot move the finished run into place ({_why_taken(exc)}); "
                              f"the results are complete in {self.tmp}; move or rename that folder "
                              "where you want it") from exc
        self.done = True
        return self.target

    def discard(self) -> None:
        """Delete the hidden folder (after a failure or Ctrl-C), unless it holds a finished run."""
        if self.done or self.kept:
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.reserved:
            _remove_if_empty(self.target)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            return
        self.discard()
        if isinstance(exc, OSError) and self._wrote(exc):
            raise OutputError(write_error(self.target, exc)) from exc

    def _wrote(self, exc: OSError) -> bool:
        """Whether `exc` comes from writing the run (not, say, from reading the submissions)."""
        if exc.errno in _FULL or exc.errno == errno.EFBIG:
            return True
        paths = (_path(exc.filename), _path(exc.filename2))
        return any(p is not None and p.parent == self.tmp for p in paths)


def write_error(target: Path, exc: OSError) -> str:
    """The message for a run that could not be written: the folder, the cause and the fix."""
    cause = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return (f"{target}: the disk is full ({cause}), so the run could not be written; nothing was kept. "
                f"Free some space on the disk that holds {target.parent}, or choose an --out folder on "
                "another disk, and grade again")
    if exc.errno == errno.EFBIG:
        return (f"{target}: a file of the run grew past the largest file allowed here ({cause}: a file-size "
                "limit such as ulimit -f, or the file system's maximum); nothing was kept. Raise the limit, "
                "or choose an --out folder on another disk, and grade again")
    path = _path(exc.filename)
    name = path.name if path is not None else "the run's files"
    return (f"{target}: cannot write {name} ({cause}); nothing was kept. Check that you can write to "
            f"{target.parent} and grade again")


def sweep(parent: Path, *, keep: Path) -> tuple[str, ...]:
    """Remove the hidden folders in `parent` left by killed runs; say what was done and what was left.

    A folder whose process is gone is removed, with the empty folder its run
    had reserved, unless it holds a finished run (kept, and named). One whose
    process still runs is left alone; one whose owner cannot be told is named
    once it has been idle for a day.
    """
    notes = []
    try:
        found = sorted(filter(None, map(Partial.parse, parent.iterdir())), key=lambda p: p.path.name)
    except OSError:
        return ()
    for partial in found:
        alive, finished = partial.owner_alive(), partial.finished()
        if alive is True and not finished and partial.name == keep.name:
            raise OutputError(f"{keep}: another run (process {partial.pid}) is writing this folder now; "
                              "wait for it to finish, or choose another --out folder")
        if alive is True:
            continue
        if finished:
            notes.append(f"{partial.path} holds a finished run that was never moved into place; rename it "
                         "(for example to a grade-* name) to keep it, or delete it")
        elif alive is False:
            shutil.rmtree(partial.path, ignore_errors=True)
            if partial.name not in (keep.name, ".", ".."):  # the empty folder it had reserved
                _remove_if_empty(parent / partial.name)
            notes.append(f"removed {partial.path}, left by a run that was interrupted (process {partial.pid})")
        elif idle_seconds(partial.path) > REPORT_IDLE_AFTER:
            notes.append(f"{partial.path} looks left by an interrupted run (untouched for over a day); "
                         "delete it if no run is writing there")
    return tuple(notes)


def _check_target(target: Path) -> None:
    if target.is_symlink():
        dest = os.readlink(target)
        dangling = "" if target.exists() else ", which does not exist"
        raise OutputError(f"{target}: is a symbolic link (to {dest}{dangling}); the run would replace the "
                          "link, not write where it points. Give a real folder as --out (for example the "
                          "one the link points to)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(f"{target}: already exists and is not empty; an earlier run is never "
                          "overwritten, so choose a new --out folder")


def _rename_into_place(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`, which may be an empty folder (replaced at once on POSIX), durably."""
    sync_tree(tmp)
    try:
        os.rename(tmp, target)
    except OSError:
        if sys.platform == "win32":  # Windows renames onto no folder at all, empty or not
            if not _is_empty_dir(target):
                raise
            target.rmdir()
            os.rename(tmp, target)
        else:
            raise
    sync_folder(target.parent)


def _why_taken(exc: OSError) -> str:
    cause = exc.strerror or str(exc)
    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
        return f"another program or run wrote there meanwhile: {cause}"
    if exc.errno == errno.ENOTDIR:
        return f"it is no longer a folder: {cause}"
    return cause


def _path(filename: object) -> Path | None:
    """An `OSError.filename` as a path (it may also be None or a file descriptor)."""
    return Path(os.fsdecode(filename)) if isinstance(filename, (str, bytes, os.PathLike)) else None


def _is_empty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def _remove_if_empty(path: Path) -> None:
    if _is_empty_dir(path):
        try:
            path.rmdir()
        except OSError:
            pass  # someone put something there; it is theirs
