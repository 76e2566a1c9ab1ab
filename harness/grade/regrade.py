"""Regrade a run: score its answers again with today's bank and scorer, into a new run folder.

A grade run's scores.csv holds every answer (the `answer` column), so an old
run can be brought onto the current scale (a rubric edited, a new
calibration) before it is compared with a later one (`harness report
--scores OLD --scores NEW`). `regrade` reads the answers back, writes them
as a long submissions file (student_id, question_id, answer, then the
columns the run carried through) in a temporary folder and grades that with
`grade.run.run_grading`, exactly as `harness grade` would. What the old run
knew is kept: student ids, the carried-through columns, each answer's
`source_row` in the original submissions file, and in run.json
(`regraded_from`) where the answers came from and how they were scored then.

An answer to a question today's bank no longer has cannot be scored: it is
reported (file, row, column) and left out, never dropped silently.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import InputFileError
from harness.files.write import cell_text, file_sha256
from harness.grade.anchors import SAVED_FILE, TeacherAnchors, anchor_run, read_anchors
from harness.grade.grader import Progress, ScorerLike
from harness.grade.outputs import RunFolder, read_run_record
from harness.grade.problems import Problem
from harness.grade.schema import ANSWER_COLUMNS, SCORES, read_scores
from harness.grade.submissions import DEFAULT_CHUNK, Answer, Submissions
from harness.types import Bank

if TYPE_CHECKING:
    import pandas as pd

    from harness.grade.run import GradeRun

_HEAD = ("student_id", "question_id", "answer")


@dataclass(frozen=True, eq=False)
class OldRun:
    """A run's answers read back: its scores.csv, folder, run.json (if any) and the rows to regrade."""

    scores: Path
    folder: Path
    record: dict[str, Any] | None
    frame: pd.DataFrame
    carried: tuple[str, ...]
    rows_without_score: int


def read_old_run(path: Path) -> OldRun:
    """The answers of the run at `path` (its folder or its scores.csv), and its run.json.

    Raises:
        InputFileError: no such run, not a scores.csv, a bad row, no `answer`
            column (a file written without the answers), no rows.

    """
    if not path.exists():
        raise InputFileError(f"{path}: not found; give a grade run's folder or its scores.csv")
    # only what is scored again and kept: the old run's results would cost memory in proportion to its size
    scores = read_scores(path, columns=ANSWER_COLUMNS, carry=True)
    if "answer" in scores.absent:
        raise InputFileError(f"{scores.path}: no answer column, so the answers cannot be scored again; "
                             "regrade needs the scores.csv of a `harness grade` run, which keeps them")
    if scores.frame.empty:
        raise InputFileError(f"{scores.path}: no scored rows; nothing to regrade")
    folder = scores.path.parent
    return OldRun(scores.path, folder, read_run_record(folder), scores.frame, scores.carried, scores.skipped)


def default_regrade_dir(old: Path) -> Path:
    """`OLD-regraded` beside the old run folder (suffixed -2, -3... if taken)."""
    candidate = old.parent / f"{old.name}-regraded"
    n = 2
    while candidate.exists():
        candidate = old.parent / f"{old.name}-regraded-{n}"
        n += 1
    return candidate


def regrade(path: Path, *, bank: Bank | Path | None = None, embedder: str | None = None,
            calibration: Path | None = None, out: Path | None = None, results_dir: Path | None = None,
            lang: str = "en", chunk_size: int = DEFAULT_CHUNK, scorer: ScorerLike | None = None,
            progress: Callable[[Progress], None] | None = None) -> GradeRun:
    """Score the answers of the run at `path` again, into a new run folder.

    `bank` defaults to the bank folder the run used (as it is today), else
    the bundled one; `embedder` to the run's embedder, else
    `use-multilingual`; `out` to `OLD-regraded` beside the run. `scorer`
    replaces the embedder and calibration (tests). A run graded with teacher
    anchors kept them (its `anchors.csv`); they are applied again, unless
    `scorer` is given.

    Raises:
        HarnessError: a bad run, bank, embedder or calibration, or an output
            folder in the way (InputFileError, OutputError, ...).

    """
    from harness.bank.loader import load_bank
    from harness.grade.run import load_scorer, run_grading

    old = read_old_run(path)
    recorded = old.record or {}
    if not isinstance(bank, Bank):
        bank = load_bank(bank if bank is not None else _recorded_bank(recorded))
    folder = RunFolder(out or default_regrade_dir(old.folder))
    with folder, tempfile.TemporaryDirectory(prefix="harness-regrade-") as tmp:  # a failure leaves no folder
        subs = _submissions(old, bank, Path(tmp) / SCORES.file)
        anchors = _old_anchors(old, subs) if scorer is None else None
        extra = None
        if scorer is None:
            scorer = built = load_scorer(bank, embedder or str(recorded.get("embedder") or "use-multilingual"),
                                         calibration=calibration, results_dir=results_dir,
                                         anchors=anchors.grades if anchors else ())
            extra = anchor_run(built, anchors, 0, bank)
        settings = {"chunk_size": chunk_size, "lang": lang}
        return run_grading(subs, scorer, folder=folder, chunk_size=chunk_size, progress=progress,
                           settings=settings, lang=lang, record_extra=_provenance(old), extra=extra)


def _old_anchors(old: OldRun, subs: Submissions) -> TeacherAnchors | None:
    """The teacher grades the run was graded with (its anchors.csv), matched to the answers regraded.

    Raises:
        InputFileError: run.json names anchors but anchors.csv is gone, or it no longer fits the answers.
    """
    if not (old.record or {}).get("anchors"):
        return None
    path = old.folder / SAVED_FILE
    if not path.is_file():
        raise InputFileError(f"{path}: not found, yet {old.folder / 'run.json'} says the run was graded with "
                             "teacher anchors; put the file back, or move run.json away to regrade without them")
    return read_anchors(path, submissions=subs.path, bank=subs.bank, layout="long")


def _recorded_bank(record: dict[str, Any]) -> Path | None:
    """The bank folder the run was graded with, if run.json names one that still exists."""
    try:
        root = Path(str(record["inputs"]["bank"]["root"]))
    except (KeyError, TypeError):
        return None
    return root if root.is_dir() else None


class RegradeAnswers(Submissions):
    """The answers of an old run, as written to a temporary submissions file.

    Each answer keeps its row in the original submissions file (`source_row`),
    found by its (student, question) pair, which a scores.csv holds once.
    """

    def __init__(self, path: Path, bank: Bank, source_rows: dict[tuple[str, str], int]) -> None:
        """Open the file written by `_submissions` (long layout, never strict)."""
        super().__init__(path, bank, layout="long")
        self._source_rows = source_rows

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[list[Answer]]:
        """The answers in order, each with its original row."""
        rows = self._source_rows
        for chunk in super().chunks(size):
            yield [a._replace(row=rows.get((a.student_id, a.question_id), a.row)) for a in chunk]


def _submissions(old: OldRun, bank: Bank, path: Path) -> RegradeAnswers:
    """Write the answers today's bank can score to `path`; the rest become problems of the run."""
    frame = old.frame
    known = frame["question_id"].isin(list(bank.questions)) & frame["student_id"].astype(bool)
    source_rows: dict[tuple[str, str], int] = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([*_HEAD, *old.carried])
        columns = [frame[c] for c in ("student_id", "question_id", "answer", "source_row", "row", *old.carried)]
        for keep, (student, qid, answer, source, row, *extras) in zip(known, zip(*columns, strict=True),
                                                                      strict=True):
            if keep:
                out.writerow([student, qid, cell_text(answer), *extras])
                source_rows[(student, qid)] = int(row if source is None else source)
    if not source_rows:
        raise InputFileError(f"{old.scores}: none of its answers is to a question of today's bank "
                             f"({bank.root}); give --bank with the bank the run was graded against")
    subs = RegradeAnswers(path, bank, source_rows)
    for row, student, qid in zip(frame["row"][~known], frame["student_id"][~known], frame["question_id"][~known],
                                 strict=True):
        column, why = (("question_id", f"question {qid!r} is not in today's bank ({bank.root}); its answer is "
                        "not regraded") if student else ("student_id", "empty student id; the answer is not "
                                                         "regraded"))
        subs.problems.add(Problem(str(old.scores), int(row), column, why))
    return subs


def _provenance(old: OldRun) -> dict[str, Any]:
    """run.json fields saying where a regraded run's answers came from and how they were scored before."""
    record = old.record or {}
    inputs: dict[str, Any] = record["inputs"] if isinstance(record.get("inputs"), dict) else {}
    before = {
        "run": str(old.folder.resolve()),
        "scores": str(old.scores.resolve()),
        "finished": record.get("finished"),
        "submissions": (inputs.get("submissions") or {}).get("path"),
        "bank": inputs.get("bank"),
        "embedder": record.get("embedder"),
        "calibration": record.get("calibration"),
        "anchors": record.get("anchors"),
        "rows_without_score": old.rows_without_score,
    }
    return {
        "command": "regrade",
        "inputs": {"submissions": {"path": str(old.scores.resolve()), "sha256": file_sha256(old.scores),
                                   "bytes": old.scores.stat().st_size}},
        "regraded_from": before,
    }
