"""Teacher anchors: a few human grades per question correct the scoring of the question's other answers.

One question's residuals r_i = grade_i - f_i (f: the score without anchors,
0..1) are modelled as a Gaussian process

    r_i = a + b (f_i - c) + s(e_i) + noise
    k(i, j) = offset + slope (f_i - c)(f_j - c) + similar exp((e_i . e_j - 1) / length),  noise ~ N(0, noise)

with e_i the answer's unit vector and c a fixed centre (0.75, about the mean
grade of the dev sets). Given K graded anchors A, an answer's corrected
score is  f + k(*, A) (K_AA + noise I)^-1 r_A,  clipped to 0..1, where each
anchor's residual in r_A is capped at `ROBUST` prior SDs (`pull`: one grade
the score could not have foreseen must not drag its neighbours): with no
anchors it is the global calibration, 3 anchors move it a little, 20 a lot,
and an answer close to a graded one follows it (a per-question offset and
slope shrunk toward the calibration, plus a correction for answers like
each anchor). The five numbers (`AnchorPrior`) are fitted once, by maximum
marginal likelihood over the calibration questions' out-of-fold residuals
(`fit_prior`, each question an independent draw), never on the question
being corrected.

`choose` picks the answers a teacher should grade: one at a time, the one
whose grade would most reduce the summed posterior variance of the
question's answers (representative and mutually different; no grades needed).
Pure numpy / scipy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import CalibrationError

if TYPE_CHECKING:
    from harness.scoring.calibration import Calibration

CENTRE = 0.75
ROBUST = 2.0  # prior SDs: how far one anchor's residual can pull the others (`pull`)
MAX_FIT_ANSWERS = 200  # per question when fitting the prior: the likelihood needs an n x n Cholesky
_START = (0.01, 0.05, 0.01, 0.1, 0.04)  # offset, slope, similar, length, noise
_LOG_BOUNDS = (-12.0, 2.0)
PRIOR_FIELDS = ("offset", "slope", "similar", "length", "noise", "centre")


@dataclass(frozen=True)
class AnchorPrior:
    """The Gaussian-process prior of one question's residuals (variances on the 0..1 scale).

    `offset` and `slope` are the prior variances of a per-question offset and
    slope (around `centre`), `similar` that of the part shared by similar
    answers, `length` how fast that falls with cosine distance, `noise` a
    grade's own scatter.
    """

    offset: float
    slope: float
    similar: float
    length: float
    noise: float
    centre: float = CENTRE

    def as_json(self) -> dict[str, float]:
        """The six numbers, for a calibration's metadata or run.json."""
        return {name: float(getattr(self, name)) for name in PRIOR_FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> AnchorPrior:
        """Read `as_json`'s output.

        Raises:
            ValueError: a number missing, not a number or not positive.
        """
        values = {}
        for name in PRIOR_FIELDS:
            raw = data.get(name)
            value = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else float("nan")
            if not np.isfinite(value) or (name != "centre" and value <= 0):
                raise ValueError(f"anchor prior: {name} must be a positive number, got {raw!r}")
            values[name] = value
        return cls(**values)

    def covariance(self, f_a: np.ndarray, e_a: np.ndarray, f_b: np.ndarray, e_b: np.ndarray) -> np.ndarray:
        """Prior covariance (without noise) between answers a (rows) and b (columns)."""
        cos = np.asarray(e_a, dtype=np.float64) @ np.asarray(e_b, dtype=np.float64).T
        return self.kernel(f_a, f_b, cos)

    def kernel(self, f_a: np.ndarray, f_b: np.ndarray, cos: np.ndarray) -> np.ndarray:
        """`covariance` from the answers' scores and the cosines between their vectors."""
        ca, cb = np.asarray(f_a) - self.centre, np.asarray(f_b) - self.centre
        out: np.ndarray = self.offset + self.slope * np.outer(ca, cb) + self.similar * np.exp((cos - 1.0) / self.length)
        return out


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float64 (zero rows stay zero)."""
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: np.ndarray = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return out


@dataclass(frozen=True, eq=False)
class QuestionAnchors:
    """One question's graded answers, ready to correct the others.

    `scores` are the anchors' scores without anchors and `grades` the
    teacher's, both 0..1; `pulls` the residuals grades - scores as passed on
    (`pull`); `weights` = (K_AA + noise I)^-1 pulls.
    """

    vectors: np.ndarray
    scores: np.ndarray
    grades: np.ndarray
    pulls: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.grades)


def condition(prior: AnchorPrior, vectors: np.ndarray, scores: np.ndarray, grades: np.ndarray, *,
              robust: float = ROBUST) -> QuestionAnchors:
    """The anchors of one question: solve for their weights once (`robust`: see `pull`)."""
    from scipy.linalg import cho_factor, cho_solve  # here: scoring without anchors never needs scipy.linalg

    e, f, y = unit(vectors), np.asarray(scores, dtype=np.float64), np.asarray(grades, dtype=np.float64)
    if len(f) == 0:
        return QuestionAnchors(e.reshape(0, e.shape[-1] if e.size else 0), f, y, np.zeros(0), np.zeros(0))
    k = prior.covariance(f, e, f, e)
    pulls = pull(k, y - f, robust)
    weights = cho_solve(cho_factor(k + prior.noise * np.eye(len(f)), lower=True), pulls)
    return QuestionAnchors(e, f, y, pulls, weights)


def pull(covariance: np.ndarray, residuals: np.ndarray, robust: float = ROBUST) -> np.ndarray:
    """The residuals the anchors pass on to other answers: each limited to `robust` prior SDs.

    A grade far beyond what the prior expects (a wrong verdict the score
    could not see, say) mostly tells about that one answer; uncapped, it
    drags every similar answer with it. The graded answer itself still gets
    the teacher's grade (`AnchorState.exact`).
    """
    sd = robust * np.sqrt(np.diag(covariance))
    return np.asarray(np.clip(residuals, -sd, sd))


def corrected(prior: AnchorPrior, anchors: QuestionAnchors, vectors: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores 0..1 of answers (their vectors and scores without anchors) after the correction."""
    f = np.atleast_1d(np.asarray(scores, dtype=np.float64))
    if len(anchors) == 0:
        return f
    k = prior.covariance(f, unit(vectors), anchors.scores, anchors.vectors)
    return np.asarray(np.clip(f + k @ anchors.weights, 0.0, 1.0))


def leave_one_out(prior: AnchorPrior, anchors: QuestionAnchors) -> np.ndarray:
    """Each anchor's score (0..1) as the other anchors alone would correct it (closed form)."""
    if len(anchors) == 0:
        return np.zeros(0)
    f, e = anchors.scores, anchors.vectors
    inverse = np.linalg.inv(prior.covariance(f, e, f, e) + prior.noise * np.eye(len(f)))
    loo = anchors.pulls - anchors.weights / np.diag(inverse)
    return np.asarray(np.clip(f + loo, 0.0, 1.0))


def choose(prior: AnchorPrior, vectors: np.ndarray, scores: np.ndarray, k: int, *,
           given_vectors: np.ndarray | None = None, given_scores: np.ndarray | None = None) -> list[int]:
    """Indices of the `k` answers whose grades would teach the most, in the order picked.

    Greedy: each time the answer whose grade most reduces the summed
    posterior variance of all the answers (gain_j = sum_i C_ij^2 / (C_jj +
    noise)), then condition on it. Answers already graded (`given_*`) are
    conditioned on first, so the picks complement them.
    """
    e, f = unit(vectors), np.asarray(scores, dtype=np.float64)
    n = len(f)
    if given_vectors is not None and given_scores is not None and len(given_scores):
        e = np.vstack([e, unit(given_vectors)])
        f = np.concatenate([f, np.asarray(given_scores, dtype=np.float64)])
    cov = prior.covariance(f, e, f, e)
    for j in range(n, len(f)):
        cov = _conditioned(cov, j, prior.noise)
    chosen: list[int] = []
    for _ in range(min(k, n)):
        gain = (cov[:n, :n] ** 2).sum(axis=0) / (np.diag(cov)[:n] + prior.noise)
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        cov = _conditioned(cov, j, prior.noise)
    return chosen


def _conditioned(cov: np.ndarray, j: int, noise: float) -> np.ndarray:
    column = cov[:, j].copy()
    out: np.ndarray = cov - np.outer(column, column) / (cov[j, j] + noise)
    return out


@dataclass(frozen=True, eq=False)
class ResidualSet:
    """One question's residuals for fitting the prior: grade - score, answer vectors, scores (0..1)."""

    residuals: np.ndarray
    vectors: np.ndarray
    scores: np.ndarray


def group_residuals(residuals: np.ndarray, vectors: np.ndarray, scores: np.ndarray, groups: Sequence[str], *,
                    max_answers: int = MAX_FIT_ANSWERS, seed: int = 0) -> list[ResidualSet]:
    """Split per question (groups), at most `max_answers` each (a fixed random sample)."""
    rng = np.random.default_rng(seed)
    g = np.asarray(groups)
    out = []
    for q in dict.fromkeys(g.tolist()):
        rows = np.flatnonzero(g == q)
        if len(rows) > max_answers:
            rows = np.sort(rng.choice(rows, size=max_answers, replace=False))
        out.append(ResidualSet(np.asarray(residuals, np.float64)[rows], unit(vectors[rows]),
                               np.asarray(scores, np.float64)[rows]))
    return out


def fit_prior(data: Sequence[ResidualSet]) -> AnchorPrior:
    """The prior that makes the questions' residuals most likely (L-BFGS on the log numbers).

    Raises:
        ValueError: no question with at least two answers.
    """
    from scipy.linalg import cho_factor, cho_solve  # here: only `calibrate` fits the prior
    from scipy.optimize import minimize

    usable = [d for d in data if len(d.residuals) >= 2]
    if not usable:
        raise ValueError("fitting the anchor prior needs questions with at least two answers")
    cosines = [d.vectors @ d.vectors.T for d in usable]

    def nll(theta: np.ndarray) -> float:
        prior = AnchorPrior(*np.exp(theta))
        total = 0.0
        for d, cos in zip(usable, cosines):
            k = prior.kernel(d.scores, d.scores, cos)
            k[np.diag_indices_from(k)] += prior.noise
            try:
                factor = cho_factor(k, lower=True)
            except np.linalg.LinAlgError:
                return 1e10
            total += 0.5 * d.residuals @ cho_solve(factor, d.residuals) + float(np.log(np.diag(factor[0])).sum())
        return total

    result = minimize(nll, np.log(_START), method="L-BFGS-B", bounds=[_LOG_BOUNDS] * len(_START))
    return AnchorPrior(*(float(v) for v in np.exp(result.x)))


GRADED_COLUMNS = ("student_id", "question_id", "answer", "human_score", "human_score_max")
"""The columns of the grade interchange format, as `evaluate`, `calibrate` and `grade --anchors` read them."""


@dataclass(frozen=True)
class TeacherGrade:
    """A teacher's grade of one answer: the question, the answer as submitted, the grade on 0..1."""

    question_id: str
    answer: str
    grade: float


@dataclass(frozen=True, eq=False)
class AnchorState:
    """What the scorer needs to apply the teacher's grades: the prior, each question's anchors, exact answers.

    `exact` maps (question id, answer text) to the grade of an answer a
    teacher graded (the mean when the same text was graded more than once).
    """

    prior: AnchorPrior
    questions: dict[str, QuestionAnchors]
    exact: dict[tuple[str, str], float]

    @classmethod
    def fit(cls, prior: AnchorPrior, grades: Sequence[TeacherGrade], vectors: Sequence[np.ndarray | None],
            scores: Sequence[float]) -> AnchorState:
        """Condition on the grades; `vectors` and `scores` (0..1, without anchors) are the graded answers'.

        A graded answer without a vector (blank) is left out.
        """
        by_question: dict[str, list[int]] = {}
        sums: dict[tuple[str, str], list[float]] = {}
        for i, (g, v) in enumerate(zip(grades, vectors, strict=True)):
            if v is not None:
                by_question.setdefault(g.question_id, []).append(i)
                sums.setdefault((g.question_id, g.answer.strip()), []).append(g.grade)
        questions = {
            q: condition(prior, np.stack([vectors[i] for i in rows]),  # type: ignore[misc]
                         np.array([scores[i] for i in rows]), np.array([grades[i].grade for i in rows]))
            for q, rows in by_question.items()
        }
        return cls(prior, questions, {k: float(np.mean(v)) for k, v in sums.items()})

    def adjust(self, question_id: str, text: str, vector: np.ndarray, score: float) -> tuple[float, bool]:
        """(score 0..1 after the anchors, whether it is a teacher's grade) for one answer scored `score` without."""
        grade = self.exact.get((question_id, text.strip()))
        if grade is not None:
            return grade, True
        anchors = self.questions.get(question_id)
        if anchors is None:
            return score, False
        return float(corrected(self.prior, anchors, vector, np.array([score]))[0]), False


def anchor_prior(calibration: Calibration | None) -> AnchorPrior:
    """The anchor prior stored with a calibration (`harness calibrate` fits it).

    Raises:
        CalibrationError: no calibration, or one made before anchors existed, or a damaged prior.
    """
    data = calibration.extra.get("anchor_prior") if calibration is not None else None
    if not isinstance(data, Mapping):
        where = f"calibration {calibration.id}" if calibration is not None else "this scorer (no calibration)"
        raise CalibrationError(f"{where} has no anchor prior, which teacher anchors need; remake it with "
                               "`harness calibrate GRADED.csv` (see harness/scoring/calibrations/README.md)")
    try:
        return AnchorPrior.from_json(data)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"calibration {calibration.id}: bad anchor prior ({exc}); remake it with "  # type: ignore[union-attr]
                               "`harness calibrate GRADED.csv`") from exc
