"""Answer features: similarities and keyword hits, computed from vectors. Pure.

The calibration model maps these to a 0-100 score; they are also what the
explanation reports. Every feature is defined the same way for hand-written
rubrics (key points with keywords) and for reference-only rubrics (points
derived from reference clauses), so one calibration serves both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness.keywords import match_group
from harness.text import content_tokens, normalize, visible_length
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

    `points[i]` holds one row per statement (zh, en) of key point i;
    `references[j]` one row per language of reference j; the token counts
    are those of the point texts and of each reference text.
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

    @property
    def all_keywords(self) -> tuple[KeywordGroup, ...]:
        """Every keyword group of the rubric: its points' and its answer-level ones."""
        return (*(g for p in self.rubric.key_points for g in p.keywords), *self.rubric.keywords)


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


def _point_matches(rv: RubricVectors, av: AnswerVectors, norm_answer: str,
                   answer_tokens: Counter[str]) -> list[PointMatch]:
    """For each key point: the answer clause closest to it, and its keyword hits."""
    units = np.vstack([av.clause_vectors, av.vector[None, :]])
    texts = (*av.clauses, av.text)
    out = []
    for point, pvec, ptokens in zip(rv.rubric.key_points, rv.points, rv.point_tokens):
        sims = pvec @ units.T  # (statements, clauses + 1)
        best = int(np.argmax(sims.max(axis=0)))
        hits = [match_group(g, norm_answer) for g in point.keywords]
        if point.keywords:
            fraction = sum(h is not None for h in hits) / len(point.keywords)
        else:
            fraction = _token_recall(ptokens, answer_tokens)
        out.append(PointMatch(point, float(sims[:, best].max()), texts[best], fraction,
                              tuple(h.alias for h in hits if h)))
    return out


def _token_recall(need: Counter[str], have: Counter[str]) -> float:
    total = sum(need.values())
    return sum((need & have).values()) / total if total else 0.0


def _weighted(matches: list[PointMatch], attr: str) -> float:
    total = sum(m.point.weight for m in matches)
    return sum(getattr(m, attr) * m.point.weight for m in matches) / total if total else 0.0


def compute_features(rv: RubricVectors, av: AnswerVectors) -> Features:
    """All features of one answer against one rubric."""
    norm = normalize(av.text)
    tokens = content_tokens(av.text)
    have = Counter(tokens)
    matches = _point_matches(rv, av, norm, have)
    groups = sorted({m.point.reference for m in matches}, key=lambda r: (r is None, r or 0))
    # A reference-only rubric: judge against the reference group the answer covers best.
    best_group = max(groups, key=lambda g: _weighted([m for m in matches if m.point.reference == g], "similarity"))
    chosen = [m for m in matches if m.point.reference == best_group]
    ref_sims = [float((r @ av.vector).max()) for r in rv.references]
    best_ref = best_group if best_group is not None else int(np.argmax(ref_sims))
    ref = rv.rubric.references[best_ref]
    overlaps = [_overlap(need, have, rv.question_tokens) for need in rv.reference_tokens[best_ref]]
    rec, prec, dem = max(overlaps) if overlaps else (0.0, 0.0, 0.0)
    ref_len = max(visible_length(t) for t in ref.texts)
    all_points = np.vstack(rv.points)
    on_topic = (av.clause_vectors @ all_points.T).max(axis=1) if len(av.clauses) else np.zeros(1)
    values = {
        "cos": max(ref_sims),
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


def _overlap(need: Counter[str], have: Counter[str], question: frozenset[str]) -> tuple[float, float, float]:
    """(recall, precision, recall with question words removed) of reference tokens."""
    shared = sum((need & have).values())
    recall = shared / max(1, sum(need.values()))
    precision = shared / max(1, sum(have.values()))
    need_d = Counter({t: c for t, c in need.items() if t not in question})
    have_d = Counter({t: c for t, c in have.items() if t not in question})
    demoted = sum((need_d & have_d).values()) / max(1, sum(need_d.values()))
    return recall, precision, demoted
