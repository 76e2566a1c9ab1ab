"""Calibrate and evaluate the scorer on human-graded answers.

GRADED.csv is the grade interchange format:
`student_id,question_id,answer,human_score,human_score_max`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.scoring import calibration as cal_mod
from harness.scoring.features import FEATURE_NAMES
from harness.scoring.metrics import Agreement, agreement, human_step
from harness.scoring.scorer import Scorer

GRADED_COLUMNS = ("student_id", "question_id", "answer", "human_score", "human_score_max")
# progress(step, done, total), called as work advances (the CLI draws a bar).
Progress = Callable[[str, int, int], None]
CHUNK = 256  # answers per scorer call, so progress advances; rubrics are embedded 8 questions at a time
RUBRIC_CHUNK = 8


def _ignore(step: str, done: int, total: int) -> None:
    """A progress callback that reports nowhere."""


@dataclass(frozen=True)
class GradedSet:
    """Human-graded answers read from one or more files."""

    name: str
    question_ids: tuple[str, ...]
    answers: tuple[str, ...]
    human: np.ndarray
    scale_max: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """Human scores on 0..1."""
        return self.human / self.scale_max


def read_graded(path: Path, scorer_bank_ids: Sequence[str] | None = None) -> GradedSet:
    """Read GRADED.csv, checking every row.

    Raises:
        InputFileError: a missing column, an empty id, a score that is not a
            number or outside 0..max; each names file, row and column.
    """
    fmt = detect_format(path)
    header = read_header(path, fmt)
    missing = [c for c in GRADED_COLUMNS if c not in header]
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(GRADED_COLUMNS)}")
    qids, answers, human, scale = [], [], [], []
    for line, row in iter_rows(path, fmt):
        try:
            h, m = float(row["human_score"]), float(row["human_score_max"])
        except ValueError:
            raise InputFileError(f"{path}: row {line}, column human_score/human_score_max: not a number") from None
        if not (m > 0 and 0 <= h <= m):
            raise InputFileError(f"{path}: row {line}, column human_score: {h} is outside 0..{m}")
        if not row["question_id"].strip():
            raise InputFileError(f"{path}: row {line}, column question_id: empty")
        qids.append(row["question_id"].strip())
        answers.append(row["answer"])
        human.append(h)
        scale.append(m)
    if not qids:
        raise InputFileError(f"{path}: no graded answers below the header")
    return GradedSet(path.stem, tuple(qids), tuple(answers), np.array(human), np.array(scale))


@dataclass(frozen=True)
class Evaluation:
    """Agreement of the scorer (and the cosine baseline) with human grades."""

    name: str
    scorer: Agreement
    baseline: Agreement
    cross_validated: bool
    seconds: float
    n_answers: int


def features(scorer: Scorer, graded: GradedSet, *, progress: Progress = _ignore) -> tuple[np.ndarray, np.ndarray]:
    """(feature matrix, baseline cosine) for every answer; blanks get zeros.

    Raises:
        UnknownQuestionError: an id not in the scorer's bank.
    """
    items = list(zip(graded.question_ids, graded.answers))
    embed_rubrics(scorer, graded.question_ids, progress=progress)
    analyses = []
    progress(f"Embedding answers ({graded.name})", 0, len(items))
    for start in range(0, len(items), CHUNK):
        analyses.extend(scorer.analyse_many(items[start:start + CHUNK]))
        progress(f"Embedding answers ({graded.name})", len(analyses), len(items))
    x = np.array([[a.features.values[n] if a.features else 0.0 for n in FEATURE_NAMES] for a in analyses])
    return x, x[:, FEATURE_NAMES.index("cos")]


def embed_rubrics(scorer: Scorer, question_ids: Sequence[str], *, progress: Progress = _ignore) -> None:
    """Embed (or read from the disk cache) the rubrics of these questions, a few at a time.

    Raises:
        UnknownQuestionError: an id not in the scorer's bank.
    """
    from harness.bank.lookup import find_question

    ids = list(dict.fromkeys(question_ids))
    for qid in ids:
        find_question(scorer.bank, qid)
    progress("Embedding rubrics", 0, len(ids))
    for start in range(0, len(ids), RUBRIC_CHUNK):
        scorer.rubric_vectors(ids[start:start + RUBRIC_CHUNK])
        progress("Embedding rubrics", min(start + RUBRIC_CHUNK, len(ids)), len(ids))


def _score(scorer: Scorer, graded: GradedSet, progress: Progress) -> np.ndarray:
    """The scorer's own scores on 0..1, `CHUNK` answers at a time."""
    items = list(zip(graded.question_ids, graded.answers))
    scores: list[float] = []
    progress("Scoring", 0, len(items))
    for start in range(0, len(items), CHUNK):
        scores.extend(s.score / 100 for s in scorer.score_many(items[start:start + CHUNK]))
        progress("Scoring", len(scores), len(items))
    return np.array(scores)


def _folds(progress: Progress) -> Callable[[int, int], None]:
    return lambda done, total: progress("Cross-validation folds", done, total)


def _agree(pred01: np.ndarray, graded: GradedSet) -> Agreement:
    return agreement(pred01 * graded.scale_max, graded.human, scale_max=graded.scale_max,
                     groups=graded.question_ids, step=human_step(graded.human))


def evaluate(scorer: Scorer, graded: GradedSet, *, cross_validate: bool, progress: Progress = _ignore) -> Evaluation:
    """Score every answer and compare with the human scores.

    With `cross_validate`, each question's answers are scored by a calibration
    fitted on the other questions of this file (group k-fold), which is the
    fair figure when the saved calibration was fitted on this file; without
    it, the scorer's own calibration is used as is. The baseline is the plain
    cosine of answer and reference embeddings, mapped to the scale by a
    least-squares line fitted the same way. `progress(step, done, total)`
    follows the rubrics, the answers and the folds.
    """
    start = time.perf_counter()
    x, cos = features(scorer, graded, progress=progress)
    y = graded.target
    groups = np.array(graded.question_ids)
    if cross_validate:
        neg = off_topic_negatives(graded)
        x_neg, _ = features(scorer, neg, progress=progress)
        real = np.concatenate([np.ones(len(y), bool), np.zeros(len(neg.answers), bool)])
        g_neg = np.array(neg.question_ids)
        pred = cal_mod.cross_val_predict(np.vstack([x, x_neg]), np.concatenate([y, neg.target]),
                                         np.concatenate([groups, g_neg]), real, progress=_folds(progress))[: len(y)]
    else:
        pred = _score(scorer, graded, progress)
    seconds = time.perf_counter() - start
    base = _cv_line(cos, y, groups)
    return Evaluation(graded.name, _agree(pred, graded), _agree(base, graded), cross_validate, seconds, len(y))


def _cv_line(cos: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cosine mapped to the 0..1 scale by one least-squares line.

    Two parameters fitted on the whole file: Pearson r is that of the raw
    cosine (a line does not change it), and RMSE and QWK get a fair scale.
    """
    slope, intercept = np.polyfit(cos, y, 1) if np.std(cos) > 0 else (0.0, float(np.mean(y)))
    return slope * cos + intercept


def off_topic_negatives(graded: GradedSet, *, share: float = 0.15, seed: int = 0) -> GradedSet:
    """Answers to other questions, paired with each question and graded 0.

    Human-graded sets hold on-topic attempts only, so a model fitted on them
    alone never learns that an answer about something else is worth nothing.
    Each question gets `share` of its answer count (at least 3) borrowed from
    other questions of the same set.
    """
    rng = np.random.default_rng(seed)
    ids = np.array(graded.question_ids)
    qids, answers = [], []
    for q in np.unique(ids):
        others = np.flatnonzero(ids != q)
        if len(others) == 0:
            continue
        n = max(3, int(share * np.sum(ids == q)))
        for i in rng.choice(others, size=min(n, len(others)), replace=False):
            qids.append(str(q))
            answers.append(graded.answers[i])
    return GradedSet(f"{graded.name}-negatives", tuple(qids), tuple(answers), np.zeros(len(qids)),
                     np.ones(len(qids)))


def calibrate(pairs: Sequence[tuple[Scorer, GradedSet]], *,
              progress: Progress = _ignore) -> tuple[cal_mod.Calibration, list[Evaluation]]:
    """Fit one calibration on all sets together (each scored with its own bank).

    Training adds off-topic negatives (`off_topic_negatives`). Reports each
    set's agreement on its real answers under group k-fold cross-validation
    with questions held out (a question's negatives are held out with it).
    `progress(step, done, total)` follows the rubrics, the answers and the folds.

    Raises:
        CalibrationError: too few answers or questions.
    """
    xs, ys, gs, real, evals = [], [], [], [], []
    for scorer, graded in pairs:
        start = time.perf_counter()
        x, cos = features(scorer, graded, progress=progress)
        evals.append((graded, cos, time.perf_counter() - start))
        neg = off_topic_negatives(graded)
        x_neg, _ = features(scorer, neg, progress=progress)
        for xx, gg, is_real in ((x, graded, True), (x_neg, neg, False)):
            xs.append(xx)
            ys.append(gg.target)
            gs.append(np.array([f"{graded.name}/{q}" for q in gg.question_ids]))
            real.append(np.full(len(gg.question_ids), is_real))
    x_all, y_all, g_all, r_all = np.vstack(xs), np.concatenate(ys), np.concatenate(gs), np.concatenate(real)
    pred_real = cal_mod.cross_val_predict(x_all, y_all, g_all, r_all, progress=_folds(progress))[r_all]
    g_real = g_all[r_all]
    results, offset = [], 0
    for graded, cos, seconds in evals:
        n = len(graded.answers)
        pred, groups = pred_real[offset : offset + n], g_real[offset : offset + n]
        results.append(Evaluation(graded.name, _agree(pred, graded),
                                  _agree(_cv_line(cos, graded.target, groups), graded), True, seconds, n))
        offset += n
    cv = {f"{e.name}_pearson": round(e.scorer.pearson, 4) for e in results}
    fitted = cal_mod.fit(x_all, y_all, r_all, embedder_id=pairs[0][0].embedder_id,
                         trained_on=tuple(g.name for _, g in pairs),
                         bank_versions=tuple(s.bank.version for s, _ in pairs), cv=cv)
    return fitted, results
