"""Regrade a run: score its answers again with today's bank and scorer, into a new run folder.

A grade run's scores.csv holds every answer (the `answer` column), so an old
run can be brought onto the current scale (a rubric edited, a new
calibration) before it is compared with a later one (`harness report
--scores OLD --scores NEW`). `regrade` streams the answers back, writes them
as a long submissions file (student_id, question_id, answer, then the
columns the run carried through) in a temporary folder and grades that with
`grade.run.run_grading`, exactly as `harness grade` would, here or on a Dask
cluster. What the old run knew is kept: student ids, the carried-through
columns, each answer's `source_row` in the original submissions file, and in
run.json (`regraded_from`) where the answers came from and how they were
scored then. Nothing regrade holds grows with the run beyond what grading
itself keeps: each answer's original row travels in a last, hidden column of
the temporary file.

An answer to a question today's bank no longer has cannot be scored: it is
reported (file, row, column) and left out, never dropped silently.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import InputFileError
from harness.files.write import cell_text, file_sha256
from harness.grade.anchors import SAVED_FILE, TeacherAnchors, anchor_run, read_anchors
from harness.grade.grader import Progress, ScorerLike
from harness.grade.outputs import RunFolder, read_run_record
from harness.grade.problems import Problem, ProblemLog
from harness.grade.schema import SCORES, ScoredRows, ScoresLayout, parse_number, scores_layout
from harness.grade.submissions import DEFAULT_CHUNK, Answer, Submissions
from harness.types import Bank

if TYPE_CHECKING:
    from harness.grade.run import GradeRun

_HEAD = ("student_id", "question_id", "answer")


@dataclass(frozen=True, eq=False)
class OldRun:
    """A run to regrade: its scores.csv (header checked), folder and run.json (if any)."""

    scores: Path
    folder: Path
    record: dict[str, Any] | None
    layout: ScoresLayout

    @property
    def carried(self) -> tuple[str, ...]:
        """The columns the run carried through from its submissions file."""
        return self.layout.carried


def read_old_run(path: Path) -> OldRun:
    """The run at `path` (its folder or its scores.csv), and its run.json; its rows are read later.

    Raises:
        InputFileError: no such run, not a scores.csv, no `answer` column (a
            file written without the answers).

    """
    if not path.exists():
        raise InputFileError(f"{path}: not found; give a grade run's folder or its scores.csv")
    layout = scores_layout(path)
    if "answer" in layout.absent:
        raise InputFileError(f"{layout.path}: no answer column, so the answers cannot be scored again; "
                             "regrade needs the scores.csv of a `harness grade` run, which keeps them")
    folder = layout.path.parent
    return OldRun(layout.path, folder, read_run_record(folder), layout)


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
            progress: Callable[[Progress], None] | None = None, dask: str | None = None,
            parquet: bool = False) -> GradeRun:
    """Score the answers of the run at `path` again, into a new run folder.

    `bank` defaults to the bank folder the run used (as it is today), else
    the bundled one; `embedder` to the run's embedder, else
    `use-multilingual`; `out` to `OLD-regraded` beside the run. `scorer`
    replaces the embedder and calibration (tests). A run graded with teacher
    anchors kept them (its `anchors.csv`); they are applied again, unless
    `scorer` is given. `dask` scores on a Dask cluster and `parquet` also
    writes scores.parquet, as for `grade.run.grade_file`.

    Raises:
        HarnessError: a bad run, bank, embedder or calibration, or an output
            folder in the way (InputFileError, OutputError, ...); with `dask`,
            a cluster that cannot be reached or cannot score (DaskError).

    """
    from harness.bank.loader import load_bank
    from harness.grade.run import dask_settings, open_scorer, run_grading, tell_stage
    from harness.paths import default_results_dir

    old = read_old_run(path)
    recorded = old.record or {}
    if not isinstance(bank, Bank):
        bank = load_bank(bank if bank is not None else _recorded_bank(recorded))
    folder = RunFolder(out or default_regrade_dir(old.folder))
    with folder, tempfile.TemporaryDirectory(prefix="harness-regrade-") as tmp, ExitStack() as stack:
        # a failure leaves no folder
        subs = _submissions(old, bank, Path(tmp) / SCORES.file)
        anchors = _old_anchors(old, subs) if scorer is None else None
        extra = batches = None
        if scorer is None:
            tell_stage(progress, "loading", subs)
            name = embedder or str(recorded.get("embedder") or "use-multilingual")
            scorer, batches = open_scorer(stack, dask, bank, name, calibration=calibration,
                                          results_dir=results_dir or default_results_dir(), anchors=anchors)
            extra = anchor_run(scorer, anchors, 0, bank)
        settings = {"chunk_size": chunk_size, "lang": lang, **dask_settings(batches)}
        tell_stage(progress, "grading", subs)
        return run_grading(subs, scorer, folder=folder, chunk_size=chunk_size, progress=progress,
                           settings=settings, lang=lang, batches=batches, parquet=parquet,
                           record_extra=_provenance(old, subs.rows_without_score), extra=extra)


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


_SOURCE = "harness_source_row"  # the temporary file's last column: each answer's row in the original file


class RegradeAnswers(Submissions):
    """The answers of an old run, as written to a temporary submissions file by `_submissions`.

    Each answer keeps its row in the original submissions file (`source_row`),
    read from the file's last column, which is not carried through.
    `rows_without_score` counts the old run's rows left out for an empty score.
    """

    def __init__(self, path: Path, bank: Bank, problems: ProblemLog, rows_without_score: int) -> None:
        """Open the temporary file (long layout, never strict), with the problems found writing it."""
        super().__init__(path, bank, layout="long")
        for problem in self.problems.kept:  # none is expected: the header is ours
            problems.add(problem, skips_row=False)
        self.problems = problems
        self.rows_without_score = rows_without_score

    @property
    def extra_names(self) -> tuple[str, ...]:
        """The carried-through columns, without the hidden source row."""
        return super().extra_names[:-1]

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[list[Answer]]:
        """The answers in order, each with its original row."""
        for chunk in super().chunks(size):
            yield [a._replace(row=int(a.extras[-1]), extras=a.extras[:-1]) for a in chunk]


def _submissions(old: OldRun, bank: Bank, path: Path) -> RegradeAnswers:
    """Stream the answers today's bank can score to `path`; the rest become problems of the run.

    Raises:
        InputFileError: a bad row of the old scores.csv (a repeated answer, a
            bad source_row), no scored row, or none to a question of the bank.

    """
    cells_of = old.layout.cells
    student, question, answer = cells_of["student_id"], cells_of["question_id"], cells_of["answer"]
    source = cells_of.get("source_row")
    source_column = SCORES["source_row"]
    carried = old.carried
    rows = ScoredRows(old.layout)
    problems = ProblemLog()
    written = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([*_HEAD, *carried, _unique(_SOURCE, carried)])
        for line, cells in rows:
            who, qid = cells[student].strip(), cells[question].strip()
            if not who:
                problems.add(Problem(str(old.scores), line, "student_id",
                                     "empty student id; the answer is not regraded"))
                continue
            if qid not in bank.questions:
                problems.add(Problem(str(old.scores), line, "question_id", f"question {qid!r} is not in today's "
                                     f"bank ({bank.root}); its answer is not regraded"))
                continue
            first = parse_number(cells[source], source_column, old.scores, line) if source else None
            out.writerow([who, qid, cell_text(cells[answer].strip()), *[cells[c] for c in carried],
                          line if first is None else int(first)])
            written += 1
    if not written:
        if not problems.count:
            raise InputFileError(f"{old.scores}: no scored rows; nothing to regrade")
        raise InputFileError(f"{old.scores}: none of its answers is to a question of today's bank "
                             f"({bank.root}); give --bank with the bank the run was graded against")
    return RegradeAnswers(path, bank, problems, rows.skipped)


def _unique(name: str, taken: tuple[str, ...]) -> str:
    """`name`, or `name_` repeated until no column of `taken` has it."""
    while name in taken:
        name += "_"
    return name


def _provenance(old: OldRun, rows_without_score: int) -> dict[str, Any]:
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
        "rows_without_score": rows_without_score,
    }
    return {
        "command": "regrade",
        "inputs": {"submissions": {"path": str(old.scores.resolve()), "sha256": file_sha256(old.scores),
                                   "bytes": old.scores.stat().st_size}},
        "regraded_from": before,
    }
