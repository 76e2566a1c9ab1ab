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
from harness.scoring.text import content_tokens, normalize, visible_length
from harness.types import KeyPoint, KeywordGroup, Rubric

FEATURE_NAMES: tuple[str, ...] = (
    "cos", "cov", "kwcov", "prec", "tok_rec", "tok_prec", "dem_rec", "lenratio", "qsim",
)
# +1: the score may only rise with this feature (monotonic constraint in the model), so a
# model fitted on real attempts cannot reward an answer for being further off the question.
MONOTONE: dict[str, int] = {"cos": 1, "cov": 1, "kwcov": 1, "tok_rec": 1, "dem_rec": 1, "prec": 1, "qsim": 1}


@dataclass(frozen=True)
class RubricVectors:
    """Embeddings of one rubric's texts, computed once per run (and cached on disk).

    `points[i]` holds one row per phrasing of key point i (its zh and en
    statements and every alternative, see `scorer.phrasings`), so a clause
    matches the point through the best of them; `references[j]` one row per
    language of reference j; `plain` the rubric's answer in plain words
    (`scorer.plain_reference`), compared like a reference; the token counts
    are those of the point texts, of each reference text and of `plain`.
    `claims` prepare the misconceptions for `polarity` checks.
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


@dataclass(frozen=True)
class AnswerVectors:
    """An answer's vector, its clauses and their vectors (row i = clause i)."""

    text: str
    vector: np.ndarray
    clauses: tuple[str, ...]
    clause_vectors: np.ndarray


@dataclass(frozen=True)
class PointMatch:
    """Best clause for one key point and the raw measures behind its credit."""

    point: KeyPoint
    similarity: float
    clause: str
    keyword_fraction: float
    aliases: tuple[str, ...]


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
                   answer_tokens: Counter[str], sims: np.ndarray) -> list[PointMatch]:
    """For each key point: the answer clause closest to it, and its keyword hits.

    `sims` is `rv.point_matrix` against the clauses and then the whole answer.
    """
    texts = (*av.clauses, av.text)
    squeezed = squeeze(norm_answer)
    per_point = np.maximum.reduceat(sims, rv.point_starts, axis=0)  # (points, clauses + 1)
    best = per_point.argmax(axis=1)
    best_sims = per_point[np.arange(len(best)), best].tolist()
    out = []
    for i, (point, ptokens) in enumerate(zip(rv.rubric.key_points, rv.point_tokens)):
        hits = [match_group(g, norm_answer, squeezed) for g in point.keywords]
        if point.keywords:
            fraction = sum(h is not None for h in hits) / len(point.keywords)
        else:
            fraction = _token_recall(ptokens, answer_tokens)
        out.append(PointMatch(point, best_sims[i], texts[best[i]], fraction,
                              tuple(h.alias for h in hits if h)))
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
    matches = _point_matches(rv, av, norm, have, sims)
    groups = sorted({m.point.reference for m in matches}, key=lambda r: (r is None, r or 0))
    # A reference-only rubric: judge against the reference group the answer covers best.
    best_group = max(groups, key=lambda g: _weighted([m for m in matches if m.point.reference == g], "similarity"))
    chosen = [m for m in matches if m.point.reference == best_group]
    ref_sims = [float((r @ av.vector).max()) for r in rv.references]
    best_ref = best_group if best_group is not None else int(np.argmax(ref_sims))
    overlaps = [_overlap(need, have, len(tokens)) for need in (*rv.reference_needs[best_ref], *rv.plain_needs)]
    rec, prec, dem = max(overlaps) if overlaps else (0.0, 0.0, 0.0)
    ref_len = rv.reference_lengths[best_ref]
    on_topic = sims[:, :n_clauses].max(axis=0) if n_clauses else np.zeros(1)
    values = {
        "cos": max(ref_sims) if rv.plain is None else max(*ref_sims, float((rv.plain @ av.vector).max())),
        "cov": _weighted(chosen, "similarity"),
        "kwcov": _weighted(chosen, "keyword_fraction"),
        "prec": float(on_topic.mean()),
        "tok_rec": rec,
        "tok_prec": prec,
        "dem_rec": dem,
        "lenratio": float(np.log1p(visible_length(av.text)) - np.log1p(ref_len)),
        "qsim": float(rv.prompt @ av.vector),
    }
    return Features(values, tuple(chosen), best_ref)


def _overlap(need: _Need, have: Counter[str], have_total: int) -> tuple[float, float, float]:
    """(recall, precision, recall with question words removed) of reference tokens."""
    shared = _shared(need.counts, have)
    recall = shared / max(1, need.total)
    precision = shared / max(1, have_total)
    demoted = _shared(need.demoted, have) / max(1, need.demoted_total)
    return recall, precision, demoted
