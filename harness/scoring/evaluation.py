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

from harness.bank.loader import load_bank
from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.scoring import calibration as cal_mod
from harness.scoring.anchors import GRADED_COLUMNS
from harness.scoring.features import FEATURE_NAMES
from harness.scoring.fitting import nested_components
from harness.scoring.heldout import HeldOutRow, held_out_rows, review_held_out
from harness.scoring.intervals import fit_intervals
from harness.scoring.metrics import Agreement, agreement, human_step
from harness.scoring.scorer import Scorer, phrasing_groups
from harness.scoring.text import has_cjk
from harness.scoring.thresholds import MIN_ANSWERS, Thresholds, fit_bundled, fit_derived
from harness.scoring.training import CHUNK, Measured, OutOfFold, Progress, collect, measure, no_progress
from harness.scoring.training import embed_rubrics as embed_rubrics
from harness.types import Bank


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
        return np.asarray(self.human / self.scale_max, dtype=np.float64)


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
    """Agreement of the scorer (and the cosine baseline) with human grades.

    `held_out` (from `calibrate`) adds the intervals' coverage and the review
    flag's figures, with questions held out (`heldout`).
    """

    name: str
    scorer: Agreement
    baseline: Agreement
    cross_validated: bool
    seconds: float
    n_answers: int
    held_out: HeldOutRow | None = None


def features(scorer: Scorer, graded: GradedSet, *, progress: Progress = no_progress) -> tuple[np.ndarray, np.ndarray]:
    """(feature matrix, baseline cosine) for every answer; blanks get zeros.

    Raises:
        UnknownQuestionError: an id not in the scorer's bank.
    """
    x = measure(scorer, graded, progress=progress).features
    return x, x[:, FEATURE_NAMES.index("cos")]


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


def evaluate(scorer: Scorer, graded: GradedSet, *, cross_validate: bool,
             progress: Progress = no_progress) -> Evaluation:
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
              phrasings_bank: Bank | None = None,
              progress: Progress = no_progress) -> tuple[cal_mod.Calibration, list[Evaluation]]:
    """Fit one calibration on all sets together (each scored with its own bank).

    Training adds off-topic negatives (`off_topic_negatives`). Reports each
    set's agreement on its real answers under group k-fold cross-validation
    with questions held out (a question's negatives are held out with it),
    and the intervals' coverage and review figures under nested
    cross-validation (`heldout`; about six times the model fits). The saved
    intervals are fitted on the out-of-fold predictions, and so is the
    teacher anchors' prior (`Calibration.extra["anchor_prior"]`). The key
    point thresholds are fitted beside (`_point_thresholds`).
    `progress(step, done, total)` follows the rubrics, the answers and the folds.

    Raises:
        CalibrationError: too few answers or questions.
    """
    data = collect(pairs, progress=progress)
    nested = nested_components(data.x, data.y, data.groups, data.real, progress=_folds(progress))
    oof = OutOfFold.of(data, nested.outer)
    reviewed = review_held_out(data, nested)  # the scorer's scores, with its rules, each question held out
    figures = held_out_rows(data, reviewed)
    results = [_held_out(graded, m, reviewed.score01[data.set_of_real == i], oof.groups[data.set_of_real == i], row)
               for i, (graded, m, row) in enumerate(zip(data.sets, data.measured, figures))]
    cv = {f"{e.name}_pearson": round(e.scorer.pearson, 4) for e in results}
    points = [(m.best_point, g.target, m.answer_zh) for g, m in zip(data.sets, data.measured)]
    fitted = cal_mod.fit(data.x, data.y, data.real, embedder_id=pairs[0][0].embedder_id,
                         trained_on=tuple(g.name for _, g in pairs),
                         bank_versions=tuple(s.bank.version for s, _ in pairs), cv=cv,
                         point_thresholds=_point_thresholds(points, pairs, phrasings_bank),
                         intervals=fit_intervals(oof.components, oof.features, oof.target, oof.rubric_zh),
                         extra={"anchor_prior": cal_mod.fit_anchor_prior(oof.target, oof.score01, oof.vectors,
                                                                         oof.groups)})
    return fitted, results


def _held_out(graded: GradedSet, m: Measured, pred: np.ndarray, groups: np.ndarray, row: HeldOutRow) -> Evaluation:
    """One set's agreement from its out-of-fold scores, next to the cosine baseline, and its interval figures."""
    cos = m.features[:, FEATURE_NAMES.index("cos")]
    return Evaluation(graded.name, _agree(pred, graded), _agree(_cv_line(cos, graded.target, groups), graded),
                      True, m.seconds, len(graded.answers), row)


def _point_thresholds(points: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                      pairs: Sequence[tuple[Scorer, GradedSet]], phrasings_bank: Bank | None) -> dict[str, Thresholds]:
    """Key point thresholds: derived points from the graded answers, hand-written ones from a bank's phrasings.

    The phrasings come from `phrasings_bank`, else from the graded banks'
    hand-written rubrics, else from the bundled bank.
    """
    best, grade, zh = (np.concatenate(parts) for parts in zip(*points))
    known = ~np.isnan(best)
    out = fit_derived(best[known], grade[known], zh[known]) if known.sum() >= MIN_ANSWERS else {}
    scorer = pairs[0][0]
    bank = phrasings_bank or next((s.bank for s, _ in pairs if _hand_written(s.bank)), None) or load_bank()
    own, other = phrasing_similarities(Scorer(bank, scorer.encoder, None))
    return {**out, **fit_bundled(own, other)}


def _hand_written(bank: Bank) -> list[str]:
    """Ids of the questions whose key points are written by hand and have several phrasings."""
    return [q for q, r in bank.rubrics.items() if not r.derived and any(p.alternatives for p in r.key_points)]


def phrasing_similarities(scorer: Scorer) -> tuple[list[tuple[bool, float]], list[tuple[bool, float]]]:
    """Each hand-written phrasing's similarity to its own point's other phrasings and to every other point.

    Returns (own, other), each a list of (is Chinese, similarity): a held-out
    phrasing against the point's remaining phrasings (not its own translation),
    and against all phrasings of each other point of its rubric.
    """
    qids = _hand_written(scorer.bank)
    own: list[tuple[bool, float]] = []
    other: list[tuple[bool, float]] = []
    for rv in scorer.rubric_vectors(qids).values():
        for i, point in enumerate(rv.rubric.key_points):
            groups = np.array([g for _, g in phrasing_groups(point)])
            for row, (text, group) in enumerate(phrasing_groups(point)):
                vec = rv.points[i][row]
                rest = rv.points[i][groups != group]
                if len(rest):
                    own.append((has_cjk(text), float((rest @ vec).max())))
                other.extend((has_cjk(text), float((rv.points[j] @ vec).max()))
                             for j in range(len(rv.points)) if j != i)
    return own, other
