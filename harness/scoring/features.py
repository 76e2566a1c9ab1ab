"""Answer features: similarities and keyword hits, computed from vectors. Pure.

The calibration model maps these to a 0-100 score; they are also what the
explanation reports. Every feature is defined the same way for hand-written
rubrics (key points with keywords) and for reference-only rubrics (points
derived from reference clauses), so one calibration serves both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from harness.scoring.keywords import match_group, squeeze
from harness.scoring.polarity import Claim
from harness.scoring.text import char_ngrams, content_tokens, normalize, visible_length
from harness.types import KeyPoint, KeywordGroup, Rubric

# cov_all: key point coverage over every reference's points; af1: F1 of `cov` and how much of the
# answer (by clause, length-weighted) says one of the best reference's points; cos_res: answer vs
# reference cosine with the question's direction taken out of both; ch_f1: character n-gram F1
# with the reference texts (`text.char_ngrams`), the best of them.
FEATURE_NAMES: tuple[str, ...] = (
    "cos", "cov", "kwcov", "prec", "tok_rec", "tok_prec", "dem_rec", "lenratio", "qsim",
    "cov_all", "af1", "cos_res", "ch_f1",
)
# +1: the score may only rise with this feature (monotonic constraint in the models), so a
# model fitted on real attempts cannot reward an answer for being further off the question.
# tok_prec and lenratio are free: a longer answer is not better or worse as such.
MONOTONE: dict[str, int] = {n: 1 for n in FEATURE_NAMES if n not in ("tok_prec", "lenratio")}


@dataclass(frozen=True)
class RubricVectors:
    """Embeddings of one rubric's texts, computed once per run (and cached on disk).

    `points[i]` holds one row per phrasing of key point i (its zh and en
    statements and every alternative, see `scorer.phrasings`), so a clause
    matches the point through the best of them; `references[j]` one row per
    language of reference j; `plain` the rubric's answer in plain words
    (`scorer.plain_reference`), compared like a reference; the token counts
    are those of the point texts, of each reference text and of `plain`.
    `claims` prepare the misconceptions for `polarity` checks; `names` are
    the model and method names in the question and the references
    (`polarity.names`).
    """

    rubric: Rubric
    prompt: np.ndarray
    references: tuple[np.ndarray, ...]
    points: tuple[np.ndarray, ...]
    misconceptions: tuple[np.ndarray, ...]
    corrections: tuple[np.ndarray | None, ...]
    question_tokens: frozenset[str]
    point_tokens: tuple[Counter[str], ...] = ()
    reference_tokens: tuple[tuple[Counter[str], ...], ...] = ()
    plain: np.ndarray | None = None
    plain_tokens: tuple[Counter[str], ...] = ()
    claims: tuple[Claim, ...] = ()
    names: frozenset[str] = frozenset()

    @property
    def all_keywords(self) -> tuple[KeywordGroup, ...]:
        """Every keyword group of the rubric: its points' and its answer-level ones."""
        return (*(g for p in self.rubric.key_points for g in p.keywords), *self.rubric.keywords)

    # Derived once per rubric (not per answer): grading scores thousands of answers per rubric.

    @cached_property
    def point_matrix(self) -> np.ndarray:
        """Every statement of every key point, one row each, points in order."""
        return np.vstack(self.points) if self.points else np.zeros((0, self.prompt.shape[-1]), np.float32)

    @cached_property
    def point_starts(self) -> np.ndarray:
        """Index of each key point's first row in `point_matrix`."""
        return np.cumsum([0, *(len(p) for p in self.points[:-1])]) if self.points else np.zeros(0, np.int64)

    @cached_property
    def reference_lengths(self) -> tuple[int, ...]:
        """Visible length of each reference answer (its longest language)."""
        return tuple(max(visible_length(t) for t in ref.texts) for ref in self.rubric.references)

    @cached_property
    def reference_needs(self) -> tuple[tuple[_Need, ...], ...]:
        """Token counts of each reference text, with and without the question's words."""
        return tuple(tuple(_Need.of(c, self.question_tokens) for c in ref) for ref in self.reference_tokens)

    @cached_property
    def plain_needs(self) -> tuple[_Need, ...]:
        """Token counts of the plain-language reference (see `plain`), with and without the question's words."""
        return tuple(_Need.of(c, self.question_tokens) for c in self.plain_tokens)

    @cached_property
    def reference_ngrams(self) -> tuple[tuple[Counter[str], int], ...]:
        """Character n-grams (`text.char_ngrams`) of every reference text, with their total count (`ch_f1`)."""
        grams = (char_ngrams(t) for ref in self.rubric.references for t in ref.texts)
        return tuple((g, sum(g.values())) for g in grams)

    @cached_property
    def question_unit(self) -> np.ndarray:
        """The question's vector scaled to unit length."""
        return np.asarray(self.prompt / max(1e-9, float(np.linalg.norm(self.prompt))), dtype=np.float32)

    @cached_property
    def residual_references(self) -> tuple[np.ndarray, ...]:
        """Each reference's rows with the question's direction projected out, unit length (`cos_res`)."""
        return tuple(_unit_rows(_without(ref, self.question_unit)) for ref in self.references)


@dataclass(frozen=True)
class AnswerVectors:
    """An answer's vector, its clauses and their vectors (row i = clause i)."""

    text: str
    vector: np.ndarray
    clauses: tuple[str, ...]
    clause_vectors: np.ndarray


@dataclass(frozen=True)
class PointMatch:
    """Best clause for one key point and the raw measures behind its credit.

    `clause` is the unit that matched best: a clause, or the whole answer.
    `shown` is what a reader is pointed to: the same clause, or when the
    whole answer matched best, its clause closest to the point (a whole
    answer of several clauses points at nothing in particular).
    """

    point: KeyPoint
    similarity: float
    clause: str
    keyword_fraction: float
    aliases: tuple[str, ...]
    shown: str = ""

    @property
    def evidence_text(self) -> str:
        """The text to show as this point's evidence (`shown`, else `clause`)."""
        return self.shown or self.clause


@dataclass(frozen=True)
class Features:
    """Feature values plus the per-point matches of the chosen reference group."""

    values: dict[str, float]
    matches: tuple[PointMatch, ...]
    best_reference: int


@dataclass(frozen=True)
class _Need:
    """A reference text's token counts, all and without the question's words, with their totals."""

    counts: dict[str, int]
    total: int
    demoted: dict[str, int]
    demoted_total: int

    @classmethod
    def of(cls, counts: Counter[str], question: frozenset[str]) -> _Need:
        demoted = {t: c for t, c in counts.items() if t not in question and c > 0}
        positive = {t: c for t, c in counts.items() if c > 0}
        return cls(positive, sum(counts.values()), demoted, sum(demoted.values()))


def _shared(need: dict[str, int], have: Counter[str]) -> int:
    """Size of the multiset intersection (what `sum((need & have).values())` gives)."""
    return sum(min(need[t], have[t]) for t in need.keys() & have.keys())


def _point_matches(rv: RubricVectors, av: AnswerVectors, norm_answer: str,
                   answer_tokens: Counter[str], per_point: np.ndarray) -> list[PointMatch]:
    """For each key point: the answer clause closest to it, and its keyword hits.

    `per_point` holds each point's best similarity (over its phrasings) to
    each clause and then to the whole answer.
    """
    texts = (*av.clauses, av.text)
    squeezed = squeeze(norm_answer)
    best = per_point.argmax(axis=1)
    closest_clause = per_point[:, :len(av.clauses)].argmax(axis=1) if len(av.clauses) else best
    best_sims = per_point[np.arange(len(best)), best].tolist()
    out = []
    for i, (point, ptokens) in enumerate(zip(rv.rubric.key_points, rv.point_tokens)):
        hits = [match_group(g, norm_answer, squeezed) for g in point.keywords]
        if point.keywords:
            fraction = sum(h is not None for h in hits) / len(point.keywords)
        else:
            fraction = _token_recall(ptokens, answer_tokens)
        shown = texts[closest_clause[i]] if best[i] == len(av.clauses) and len(av.clauses) > 1 else ""
        out.append(PointMatch(point, best_sims[i], texts[best[i]], fraction,
                              tuple(h.alias for h in hits if h), shown))
    return out


def _token_recall(need: Counter[str], have: Counter[str]) -> float:
    total = sum(need.values())
    return _shared(need, have) / total if total else 0.0


def _weighted(matches: list[PointMatch], attr: str) -> float:
    total = sum(m.point.weight for m in matches)
    return sum(getattr(m, attr) * m.point.weight for m in matches) / total if total else 0.0


def compute_features(rv: RubricVectors, av: AnswerVectors) -> Features:
    """All features of one answer against one rubric."""
    norm = normalize(av.text)
    tokens = content_tokens(av.text)
    have = Counter(tokens)
    n_clauses = len(av.clauses)
    units = np.vstack([av.clause_vectors, av.vector[None, :]])
    sims = rv.point_matrix @ units.T  # (statements, clauses + 1)
    per_point = np.maximum.reduceat(sims, rv.point_starts, axis=0)  # (points, clauses + 1)
    matches = _point_matches(rv, av, norm, have, per_point)
    groups = sorted({m.point.reference for m in matches}, key=lambda r: (r is None, r or 0))
    # A reference-only rubric: judge against the reference group the answer covers best.
    best_group = max(groups, key=lambda g: _weighted([m for m in matches if m.point.reference == g], "similarity"))
    in_group = [i for i, m in enumerate(matches) if m.point.reference == best_group]
    chosen = [matches[i] for i in in_group]
    ref_sims = [float((r @ av.vector).max()) for r in rv.references]
    best_ref = best_group if best_group is not None else int(np.argmax(ref_sims))
    overlaps = [_overlap(need, have, len(tokens)) for need in (*rv.reference_needs[best_ref], *rv.plain_needs)]
    rec, prec, dem = max(overlaps) if overlaps else (0.0, 0.0, 0.0)
    ref_len = rv.reference_lengths[best_ref]
    on_topic = sims[:, :n_clauses].max(axis=0) if n_clauses else np.zeros(1)
    cov = _weighted(chosen, "similarity")
    values = {
        "cos": max(ref_sims) if rv.plain is None else max(*ref_sims, float((rv.plain @ av.vector).max())),
        "cov": cov,
        "kwcov": _weighted(chosen, "keyword_fraction"),
        "prec": float(on_topic.mean()),
        "tok_rec": rec,
        "tok_prec": prec,
        "dem_rec": dem,
        "lenratio": float(np.log1p(visible_length(av.text)) - np.log1p(ref_len)),
        "qsim": float(rv.prompt @ av.vector),
        "cov_all": _weighted(matches, "similarity"),
        "af1": _f1(cov, _clause_precision(av.clauses, per_point[in_group, :n_clauses])),
        "cos_res": _residual_cosine(rv, av.vector, best_ref),
        "ch_f1": _char_f1(rv.reference_ngrams, char_ngrams(av.text)),
    }
    return Features(values, tuple(chosen), best_ref)


def _clause_precision(clauses: tuple[str, ...], sims: np.ndarray) -> float:
    """How much of the answer says one of the points: each clause's best point similarity, length-weighted.

    The precision side of a clause alignment (as BERTScore aligns tokens);
    `sims` holds the chosen points' similarities to each clause.
    """
    lengths = np.array([max(1, visible_length(c)) for c in clauses], dtype=np.float64)
    return float((sims.max(axis=0) * lengths).sum() / lengths.sum())


def _f1(recall: float, precision: float) -> float:
    """Harmonic mean, 0 unless both are positive."""
    return 2 * recall * precision / (recall + precision) if recall > 0 and precision > 0 else 0.0


def _residual_cosine(rv: RubricVectors, vector: np.ndarray, best_ref: int) -> float:
    """Cosine of answer and reference once the question's direction is taken out of both.

    What the answer says beyond restating the question (`qsim` measures the restating).
    """
    unit = _unit_rows(_without(vector[None, :], rv.question_unit))[0]
    return float((rv.residual_references[best_ref] @ unit).max())


def _char_f1(references: tuple[tuple[Counter[str], int], ...], grams: Counter[str]) -> float:
    """Character n-gram F1 of the answer against each reference text, the best of them."""
    total, best = sum(grams.values()), 0.0
    for ref, ref_total in references:
        shared = sum(min(ref[k], grams[k]) for k in ref.keys() & grams.keys())  # the key set meet runs in C
        best = max(best, _f1(shared / max(1, ref_total), shared / max(1, total)))
    return best


def _without(rows: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """`rows` with their component along the unit vector removed."""
    return np.asarray(rows - np.outer(rows @ unit, unit), dtype=np.float32)


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (a zero row stays zero)."""
    return np.asarray(rows / np.maximum(1e-9, np.linalg.norm(rows, axis=1, keepdims=True)), dtype=np.float32)


def _overlap(need: _Need, have: Counter[str], have_total: int) -> tuple[float, float, float]:
    """(recall, precision, recall with question words removed) of reference tokens."""
    shared = _shared(need.counts, have)
    recall = shared / max(1, need.total)
    precision = shared / max(1, have_total)
    demoted = _shared(need.demoted, have) / max(1, need.demoted_total)
    return recall, precision, demoted
