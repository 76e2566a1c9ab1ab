"""Attempts the history could not take: kept in a recovery file, imported later.

When storing a scored attempt fails (the history became read-only, stays
locked past the busy timeout, is damaged, or the disk is full), `Recovery.keep`
appends it to a recovery file, one JSON object per line: the attempt as it
would have been stored, with its score, the time it was scored, the history
it was meant for and why it was not stored:

    {"kind": "harness-recovered-attempt", "version": 1, "history": "/.../history.sqlite",
     "reason": "...", "scored_at": "2030-01-01T09:00:00.000000+00:00",
     "attempt": {"user": ..., "question_id": ..., "topic": ..., "answer": ...,
                 "started_at": ..., "submitted_at": ...},
     "score": {...}}                                  # Score.to_dict()

The file (one per run, `history-recovered-KEY-TIME-PID.jsonl`, KEY a hash of
the history's path) goes to the first of these folders that takes it:

1. the results folder, beside the history: the next run finds it there, and
   it is kept and backed up with the history;
2. the per-user state folder (platformdirs, e.g. `~/.local/state/harness/recovered`),
   for a results folder that cannot be written: private, kept across reboots;
3. the system temp folder (`harness-recovered-UID`): often another disk (a
   RAM disk on many Linux systems), so it can take the file when the home
   disk is full; emptied at reboot, which is why it comes last.

A folder another user owns is passed over. If no folder takes the line it is
handed back to be printed. Files are 0600: they hold the user's answers.

`import_pending` (run when `harness answer` or `harness history` opens the
history) imports this history's files from those folders, one transaction
per file, and deletes each file once all of it is stored. An attempt already
in the history (same user, question, submit time and answer) is skipped, so
nothing is imported twice. `import_file` imports a file the user names
(`harness history --import-recovered FILE`) and leaves it in place.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import InputFileError, StoreError
from harness.paths import APP
from harness.practice import store
from harness.types import Score

KIND = "harness-recovered-attempt"
VERSION = 1
PREFIX = "history-recovered-"
if sys.platform == "win32":
    _APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_BINARY
else:
    _APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


@dataclass(frozen=True)
class Kept:
    """An attempt the history did not take, and where it went instead."""

    path: Path | None  # the recovery file; None when no folder took it (then print `line`)
    reason: str        # why the history did not take it (names the file and the fix)
    line: str          # the JSON line

    def as_json(self) -> dict[str, str | None]:
        """The fields `harness answer --json` adds for an answer not saved to the history."""
        return {"not_saved": self.reason, "kept_in": str(self.path) if self.path else None}

    def message(self) -> str:
        """What to tell the user, in one paragraph."""
        if self.path is None:
            return (f"Not saved to the history: {self.reason}. No folder could take a recovery file either, "
                    "so here is your answer with its score: save the next line in a file NAME.jsonl and "
                    f"import it later with `harness history --import-recovered NAME.jsonl`.\n{self.line}")
        return (f"Not saved to the history: {self.reason}. Your answer and its score are kept in {self.path}; "
                "the next `harness answer` or `harness history` imports it once the history can be written "
                f"(or run `harness history --import-recovered {self.path}`).")


def summary(kept: Sequence[Kept]) -> str:
    """One line for the end of a run in which some answers were not saved."""
    n = len(kept)
    where = sorted({str(k.path) for k in kept if k.path is not None})
    place = f"kept in {', '.join(where)}" if where else "printed above"
    return (f"{n} answer{'s were' if n != 1 else ' was'} not saved to the history ({place}); "
            "fix the history as the message above says, and the next run imports them")


@dataclass(frozen=True)
class Recovery:
    """Where one run keeps the attempts its history cannot take."""

    history: Path | None
    name: str
    folders: tuple[Path, ...]

    @classmethod
    def for_history(cls, history: Path | None) -> Recovery:
        """One file name for this run, and the folders to try (see the module docstring)."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        return cls(history, f"{PREFIX}{_key(history)}-{stamp}-{os.getpid()}.jsonl", recovery_folders(history))

    def keep(self, attempt: store.NewAttempt, score: Score, *, reason: str) -> Kept:
        """Append the attempt to the recovery file in the first folder that takes it."""
        line = json.dumps(_record(attempt, score, history=self.history, reason=reason), ensure_ascii=False)
        for folder in self.folders:
            if _append(folder / self.name, line):
                return Kept(folder / self.name, reason, line)
        return Kept(None, reason, line)


def recovery_folders(history: Path | None) -> tuple[Path, ...]:
    """The results folder (if any), the per-user state folder, then the temp folder."""
    import platformdirs

    user = str(os.getuid()) if sys.platform != "win32" else os.environ.get("USERNAME", "user")
    beside = (history.parent,) if history is not None else ()
    try:
        temp: tuple[Path, ...] = (Path(tempfile.gettempdir()) / f"harness-recovered-{user}",)
    except OSError:  # no usable temp folder at all
        temp = ()
    return (*beside, platformdirs.user_state_path(APP) / "recovered", *temp)


def _key(history: Path | None) -> str:
    text = str(history.resolve()) if history is not None else ":memory:"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _record(attempt: store.NewAttempt, score: Score, *, history: Path | None, reason: str) -> dict[str, Any]:
    return {
        "kind": KIND, "version": VERSION, "history": str(history) if history else None, "reason": reason,
        "scored_at": _iso(datetime.now(timezone.utc)),
        "attempt": {"user": attempt.user, "question_id": attempt.question_id, "topic": attempt.topic,
                    "answer": attempt.answer, "started_at": _iso(attempt.started_at),
                    "submitted_at": _iso(attempt.submitted_at)},
        "score": score.to_dict(),
    }


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _append(path: Path, line: str) -> bool:
    """Append one line durably (fsync); on failure undo any part written and return False."""
    data = (line + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _ours(path.parent):
            return False
        fd = os.open(path, _APPEND, 0o600)
    except OSError:
        return False
    size = os.fstat(fd).st_size
    try:
        _write_all(fd, data)
        os.fsync(fd)
        return True
    except OSError:
        with suppress(OSError):
            os.ftruncate(fd, size)
        if size == 0:
            path.unlink(missing_ok=True)
        return False
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _ours(path: Path) -> bool:
    """True if `path` exists and no other user owns it (a shared temp folder could hold a planted one)."""
    try:
        return sys.platform == "win32" or path.stat().st_uid == os.getuid()
    except OSError:
        return False


@dataclass(frozen=True)
class Imported:
    """What importing recovery files did: attempts stored, attempts already there, what to tell the user."""

    stored: int = 0
    already: int = 0
    messages: tuple[str, ...] = ()

    def __add__(self, other: Imported) -> Imported:
        return Imported(self.stored + other.stored, self.already + other.already, self.messages + other.messages)


def pending_files(history: Path) -> list[Path]:
    """Recovery files for `history`: any beside it, and those named for it in the other folders."""
    beside, *others = recovery_folders(history)
    found = sorted(beside.glob(f"{PREFIX}*.jsonl"))
    for folder in others:
        found += [p for p in sorted(folder.glob(f"{PREFIX}{_key(history)}-*.jsonl")) if _ours(p)]
    return list(dict.fromkeys(found))


def import_pending(conn: sqlite3.Connection) -> Imported:
    """Import the recovery files kept for this history, deleting each once all of it is stored.

    Never raises for a history that still cannot be written: the files stay,
    and a message says so.
    """
    history = store.location(conn)
    done = Imported()
    for path in pending_files(history) if history is not None else []:
        try:
            done += _import(conn, path, remove=True)
        except StoreError as exc:
            done += Imported(messages=(f"{path}: recovered answers not imported yet: {exc}. "
                                       "The file stays and is tried again next time.",))
    return done


def import_file(conn: sqlite3.Connection, path: Path) -> Imported:
    """Import a recovery file the user names; the file is left in place.

    Raises:
        InputFileError: the file cannot be read or holds no recovered attempt.
        StoreError: the history cannot be written.

    """
    done = _import(conn, path, remove=False)
    if done.stored + done.already == 0:
        raise InputFileError(f"{path}: no recovered attempt in this file. " + " ".join(done.messages))
    return done


def _import(conn: sqlite3.Connection, path: Path, *, remove: bool) -> Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return Imported(messages=(f"{path}: cannot read the recovery file ({reason}); it is left where it is.",))
    items, problems = parse(text, path)
    stored = len(store.record_missing(conn, items))
    already = len(items) - stored
    removed = remove and not problems and _unlink(path)
    head = (f"Imported {stored} answer{'s' * (stored != 1)} kept in {path} into the history"
            if stored else f"{path}: {'its answers are' if already != 1 else 'its answer is'} already in the history")
    notes = [f"{already} already there"] if stored and already else []
    notes += ["the file is removed"] if removed else []
    lines = [head + (f" ({'; '.join(notes)})" if notes else "") + "."] if items else []
    if problems:
        lines += [*problems, f"{path}: the file is left where it is."]
    return Imported(stored, already, tuple(lines))


def parse(text: str, path: Path) -> tuple[list[tuple[store.NewAttempt, Score, datetime]], list[str]]:
    """The attempts in a recovery file, and a message for each line that is not one."""
    items, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(_attempt(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{path}: line {number}: not a recovered attempt ({str(exc)[:120]}); skipped")
    return items, problems


def _attempt(data: dict[str, Any]) -> tuple[store.NewAttempt, Score, datetime]:
    if data.get("kind") != KIND or data.get("version") != VERSION:
        raise ValueError(f"expected kind {KIND!r}, version {VERSION}")
    a = data["attempt"]
    user, qid, topic, answer = (a[k] for k in ("user", "question_id", "topic", "answer"))
    if not all(isinstance(f, str) for f in (user, qid, topic, answer)):
        raise TypeError("user, question_id, topic and answer must be text")
    score = Score.from_dict(data["score"])
    if not (math.isfinite(score.score) and 0 <= score.score <= 100):
        raise ValueError(f"score {score.score} is not within 0-100")
    times = [_time(t) for t in (a["started_at"], a["submitted_at"], data["scored_at"])]
    return store.NewAttempt(user, qid, topic, answer, times[0], times[1]), score, times[2]


def _time(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return when


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True
