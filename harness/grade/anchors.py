"""Teacher anchors in a grade run: read the teacher's grades, match them to the answers, record them.

`harness grade SUBMISSIONS --anchors GRADED.csv` reads human grades of some
answers, either in the grade interchange format
(`student_id,question_id,answer,human_score,human_score_max`; other columns,
such as those of `anchors-to-grade.csv`, are ignored, and a row with an
empty `human_score` is not graded) or from SUBMISSIONS itself when its rows
carry `human_score`/`human_score_max` columns. Every graded row must be an
answer of SUBMISSIONS (same student, question and text, white space aside),
so a grade is never applied to an answer it was not given for. The scorer
then corrects each question toward its grades (`harness.scoring.anchors`).

`AnchorRun` is what a run adds: a copy of the grades used (`anchors.csv`,
which `regrade` reads to apply them again), their leave-one-out agreement in
run.json, and with `--suggest-anchors K` the file of answers to grade next
(`grade.suggest`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.files.write import SafeCsvWriter, cell_text, file_sha256
from harness.grade.header import QuestionMatcher
from harness.grade.submissions import Answer, open_submissions
from harness.scoring.anchors import GRADED_COLUMNS, AnchorState, TeacherGrade, anchor_prior, leave_one_out

if TYPE_CHECKING:
    from harness.grade.folder import RunFolder
    from harness.grade.mapping import MapRequest
    from harness.grade.suggest import Suggester
    from harness.grade.tally import Graded
    from harness.scoring.calibration import Calibration
    from harness.types import Bank

SAVED_FILE = "anchors.csv"


class AnchorScorer(Protocol):
    """What anchors need of the run's scorer (`Scorer` here, `DaskScorer` on a cluster)."""

    @property
    def calibration(self) -> Calibration | None: ...

    def anchor_state(self) -> AnchorState | None: ...

    def answer_vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]: ...


@dataclass(frozen=True)
class AnchorRow:
    """One graded answer: where it was read, whose answer to what, the grade and its scale."""

    row: int
    student_id: str
    question_id: str
    answer: str
    human: float
    human_max: float


@dataclass(frozen=True)
class TeacherAnchors:
    """The grades read from `path`, each matched to its answer in the submissions (`answer` as submitted).

    `blank` counts graded answers that were blank: they score 0 and teach nothing.
    """

    path: Path
    sha256: str
    rows: tuple[AnchorRow, ...]
    blank: int = 0

    @property
    def grades(self) -> tuple[TeacherGrade, ...]:
        """The grades as the scorer takes them (0..1)."""
        return tuple(TeacherGrade(r.question_id, r.answer, r.human / r.human_max) for r in self.rows)


def read_anchors(path: Path, *, submissions: Path, bank: Bank, layout: str | None = None,
                 request: MapRequest | None = None) -> TeacherAnchors:
    """The teacher's grades in `path`, matched to the answers of the submissions file.

    `layout` and `request` are those the submissions are read with.

    Raises:
        InputFileError: a missing file or column, a bad row (unknown question, empty student id,
            a grade that is not a number or outside 0..human_score_max, a missing or zero
            human_score_max, a student and question graded twice), an answer that is not in the
            submissions, or no graded row at all; each names file, row and column.
    """
    if not path.is_file():
        raise InputFileError(f"{path}: not found; give a CSV of graded answers ({','.join(GRADED_COLUMNS)}) "
                             "or the submissions file itself with human_score and human_score_max filled in")
    if path.resolve() == submissions.resolve():
        own, extra_names = _submitted(submissions, bank, layout, request, lambda names: _graded_cell(path, names))
        rows = list(_own_grades(path, own, extra_names))
    else:
        graded = _interchange_rows(path, bank)
        wanted = {(r.student_id, r.question_id) for r in graded}
        answers, _ = _submitted(submissions, bank, layout, request,
                                lambda names: lambda a: (a.student_id, a.question_id) in wanted)
        rows = _matched(path, graded, answers, submissions)
    if not rows:
        raise InputFileError(f"{path}: no graded answer (every human_score is empty); fill in human_score for the "
                             "answers you graded")
    kept = tuple(r for r in rows if r.answer)
    return TeacherAnchors(path, file_sha256(path), kept, blank=len(rows) - len(kept))


def _submitted(path: Path, bank: Bank, layout: str | None, request: MapRequest | None,
               keep: Callable[[tuple[str, ...]], Callable[[Answer], bool]],
               ) -> tuple[dict[tuple[str, str], Answer], tuple[str, ...]]:
    """The wanted answers of the submissions file by (student, question), and its carried-through columns.

    `keep(extra column names)` says which answers are wanted. A pass over the
    file before grading that holds only those, as the last row of each
    (student, question) decides (rows it cannot read are the grading's
    problems, reported then).
    """
    subs = open_submissions(path, bank, layout=layout, request=request)  # type: ignore[arg-type]
    wanted = keep(subs.extra_names)
    found: dict[tuple[str, str], Answer] = {}
    for chunk in subs.chunks():
        for a in chunk:
            if wanted(a):
                found[(a.student_id, a.question_id)] = a
            else:
                found.pop((a.student_id, a.question_id), None)
    return found, subs.extra_names


def _graded_cell(path: Path, extra_names: tuple[str, ...]) -> Callable[[Answer], bool]:
    """Whether a row of the submissions file itself has a grade in its human_score column.

    Raises:
        InputFileError: no human_score column.
    """
    names = [n.strip().lower() for n in extra_names]
    if "human_score" not in names:
        raise InputFileError(f"{path}: no human_score column to take grades from; add human_score and "
                             "human_score_max columns, or give a separate file of graded answers")
    i = names.index("human_score")
    return lambda a: bool(a.extras[i].strip())


def _own_grades(path: Path, answers: dict[tuple[str, str], Answer],
                extra_names: tuple[str, ...]) -> Iterator[AnchorRow]:
    """The graded rows of the submissions file itself (its human_score/human_score_max columns).

    Raises:
        InputFileError: a bad grade.
    """
    names = [n.strip().lower() for n in extra_names]
    i = names.index("human_score")
    j = names.index("human_score_max") if "human_score_max" in names else None
    for a in sorted(answers.values(), key=lambda a: a.row):
        grade = _grade(path, a.row, a.extras[i], a.extras[j] if j is not None else "")
        if grade is not None:
            yield AnchorRow(a.row, a.student_id, a.question_id, a.text, *grade)


def _interchange_rows(path: Path, bank: Bank) -> list[AnchorRow]:
    """The graded rows of a file in the grade interchange format (rows without a grade are skipped).

    Raises:
        InputFileError: a missing column or a bad row.
    """
    fmt = detect_format(path)
    header = {h.lower(): h for h in read_header(path, fmt)}
    missing = [c for c in GRADED_COLUMNS if c not in header]
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(missing)}; a file of graded answers has "
                             f"{','.join(GRADED_COLUMNS)} (other columns are ignored)")
    matcher = QuestionMatcher(bank)
    rows: list[AnchorRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in iter_rows(path, fmt):
        cell = {c: (raw.get(header[c]) or "") for c in GRADED_COLUMNS}
        grade = _grade(path, line, cell["human_score"], cell["human_score_max"])
        if grade is None:
            continue
        student, ref = cell["student_id"].strip(), cell["question_id"].strip()
        if not student:
            raise InputFileError(f"{path}: row {line}, column {header['student_id']}: empty student id")
        qid = matcher.find(ref)
        if qid is None:
            raise InputFileError(f"{path}: row {line}, column {header['question_id']}: unknown question id "
                                 f"{ref!r}{matcher.suggestion(ref)}")
        if (student, qid) in seen:
            raise InputFileError(f"{path}: row {line}, column {header['student_id']}: student {student!r}'s answer "
                                 f"to {qid} is graded twice (first in row {seen[(student, qid)]}); keep one grade")
        seen[(student, qid)] = line
        rows.append(AnchorRow(line, student, qid, cell["answer"], *grade))
    return rows


def _grade(path: Path, line: int, score: str, scale: str) -> tuple[float, float] | None:
    """(grade, its maximum) from two cells; None when the grade is empty (not graded).

    Raises:
        InputFileError: not numbers, a missing or zero maximum, a grade outside 0..maximum.
    """
    if not score.strip():
        return None
    where = f"{path}: row {line}, column"
    if not scale.strip():
        raise InputFileError(f"{where} human_score_max: empty; give the scale of the grade (say 10 or 100)")
    try:
        human, top = float(score), float(scale)
    except ValueError:
        bad = "human_score" if not _number(score) else "human_score_max"
        raise InputFileError(f"{where} {bad}: {(score if bad == 'human_score' else scale)!r} is not a number") from None
    if not np.isfinite(top) or top <= 0:
        raise InputFileError(f"{where} human_score_max: {scale.strip()} is not a positive number")
    if not (np.isfinite(human) and 0 <= human <= top):
        raise InputFileError(f"{where} human_score: {score.strip()} is outside 0..{top:g}")
    return human, top


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _matched(path: Path, rows: list[AnchorRow], answers: dict[tuple[str, str], Answer],
             submissions: Path) -> list[AnchorRow]:
    """The rows with each answer replaced by the submitted text it matches.

    Raises:
        InputFileError: a row whose student has no answer to the question, or another answer.
    """
    out = []
    for r in rows:
        found = answers.get((r.student_id, r.question_id))
        if found is None:
            raise InputFileError(f"{path}: row {r.row}, column student_id: student {r.student_id!r} has no answer "
                                 f"to {r.question_id} in {submissions}; anchors must be answers of the file graded")
        if _plain(r.answer) != _plain(found.text):
            raise InputFileError(f"{path}: row {r.row}, column answer: not the answer student {r.student_id!r} gave "
                                 f"to {r.question_id} in {submissions} (row {found.row}); copy the answer from there")
        out.append(AnchorRow(r.row, r.student_id, r.question_id, found.text, r.human, r.human_max))
    return out


def _plain(text: str) -> str:
    """An answer for comparison: the `'` a written CSV puts before a formula-like cell undone, white space collapsed."""
    return " ".join(cell_text(text).split())


def save_anchors(path: Path, anchors: TeacherAnchors) -> None:
    """The grades used, in the interchange format (each answer as submitted), for `regrade`."""
    with SafeCsvWriter(path) as out:
        out.row(GRADED_COLUMNS)
        out.rows((r.student_id, r.question_id, r.answer, f"{r.human:g}", f"{r.human_max:g}") for r in anchors.rows)


def anchors_record(anchors: TeacherAnchors, state: AnchorState | None) -> dict[str, Any]:
    """run.json's `anchors`: the file, how many grades, the prior, and per question their leave-one-out agreement.

    Leave-one-out: each anchor scored as the question's other anchors alone
    would correct it, against the teacher's grade (Pearson r, mean absolute
    error on 0-100), next to the score without anchors.
    """
    questions: dict[str, dict[str, Any]] = {}
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for qid, fitted in sorted((state.questions if state else {}).items()):
        loo = leave_one_out(state.prior, fitted)  # type: ignore[union-attr]
        pooled.append((loo, fitted.scores, fitted.grades))
        questions[qid] = {"anchors": len(fitted), **_agreement(loo, fitted.scores, fitted.grades)}
    every = [np.concatenate(part) if pooled else np.zeros(0) for part in zip(*pooled)] or [np.zeros(0)] * 3
    return {
        "file": str(anchors.path.resolve()), "sha256": anchors.sha256, "saved_as": SAVED_FILE,
        "count": len(anchors.rows), "blank": anchors.blank,
        "prior": state.prior.as_json() if state else None,
        "overall": {"anchors": int(len(every[2])), **_agreement(*every)},
        "questions": questions,
    }


def _agreement(loo: np.ndarray, zero_shot: np.ndarray, grades: np.ndarray) -> dict[str, float | None]:
    return {"leave_one_out_r": _pearson(loo, grades), "leave_one_out_mae": _mae(loo, grades),
            "zero_shot_r": _pearson(zero_shot, grades), "zero_shot_mae": _mae(zero_shot, grades)}


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return round(float(np.corrcoef(a, b)[0, 1]), 3)


def _mae(a: np.ndarray, b: np.ndarray) -> float | None:
    return round(float(np.mean(np.abs(a - b))) * 100, 1) if len(a) else None


class AnchorRun:
    """What anchors add to a grade run: a sink that watches the graded rows, then files and run.json fields."""

    def __init__(self, scorer: AnchorScorer, anchors: TeacherAnchors | None, suggester: Suggester | None) -> None:
        self.scorer, self.anchors, self.suggester = scorer, anchors, suggester

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None:
        """Watch a batch of graded rows (for the answers to suggest)."""
        if self.suggester is not None:
            self.suggester.add(rows)

    def close(self) -> None:
        """Nothing to close: files are written by `finish`."""

    def finish(self, folder: RunFolder) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Write anchors.csv and anchors-to-grade.csv into the run folder: (files written, run.json fields).

        Raises:
            OSError: a file cannot be written (the run folder reports it).
        """
        files: list[str] = []
        record: dict[str, Any] = {}
        state = self.scorer.anchor_state() if self.anchors else None
        if self.anchors is not None:
            save_anchors(folder / SAVED_FILE, self.anchors)
            files.append(SAVED_FILE)
            record["anchors"] = anchors_record(self.anchors, state)
        if self.suggester is not None:
            name, record["suggested_anchors"] = self.suggester.write(folder, self.scorer, state)
            files.append(name)
        return tuple(files), record


def anchor_run(scorer: AnchorScorer, anchors: TeacherAnchors | None, suggest: int, bank: Bank) -> AnchorRun | None:
    """What anchors add to a run (None without anchors and without `suggest`).

    The correction is fitted now, so a calibration without an anchor prior fails before grading.

    Raises:
        CalibrationError: the calibration has no anchor prior.
    """
    if anchors is None and suggest <= 0:
        return None
    from harness.grade.suggest import Suggester

    anchor_prior(scorer.calibration)
    scorer.anchor_state()
    return AnchorRun(scorer, anchors, Suggester(suggest, bank) if suggest > 0 else None)
