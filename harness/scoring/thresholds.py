"""When a key point counts as covered or partly covered: similarity thresholds fitted on data. Pure.

A point's credit maps the similarity of the answer's closest clause linearly
to 0..1 between two thresholds (`Thresholds`), mixed with its keyword hits
(`rules.point_results`): at credit 0.6 it is covered, at 0.3 partly covered.
Where those similarities lie depends on the kind of point and on the
answer's language (the embedder places Chinese texts closer together than
English ones), so the calibration holds one pair per kind and language
(`PointThresholds`), each fitted on data for a clause without keyword hits:

- points derived from reference answers (`KeyPoint.derived`), on human-graded
  answers: a point is partly covered from the similarity at which answers
  are graded at least half right on average (isotonic regression of the human
  grade on the answer's best point similarity), covered from where they are
  graded 80% on average (`fit_derived`);
- hand-written points, on the bank's own phrasings, each held out in turn:
  partly covered from the similarity that only one in ten statements of
  another point of the same rubric reaches, covered from the similarity
  that half the held-out statements of the point itself reach (`fit_bundled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

COVERED, PARTIAL = 0.6, 0.3
KINDS = ("bundled/zh", "bundled/en", "derived/zh", "derived/en")
PARTIAL_GRADE, COVERED_GRADE = 0.5, 0.8
OTHER_POINT_QUANTILE, OWN_POINT_QUANTILE = 0.9, 0.5
MIN_ANSWERS = 50
_MIN_GAP = 0.02


@dataclass(frozen=True)
class Thresholds:
    """Similarities at which a clause starts to cover a point (low) and fully covers it (high)."""

    low: float
    high: float

    def credit(self, similarity: float) -> float:
        """Similarity mapped linearly to 0..1 between the thresholds."""
        return min(1.0, max(0.0, (similarity - self.low) / max(1e-6, self.high - self.low)))


@dataclass(frozen=True)
class PointThresholds:
    """Thresholds per kind of point and answer language (`KINDS`), `default` where none was fitted."""

    default: Thresholds
    fitted: tuple[tuple[str, Thresholds], ...] = ()

    def get(self, *, derived: bool, zh: bool) -> Thresholds:
        """The thresholds for a derived or hand-written point, judged in a Chinese or English answer."""
        return self._table.get((derived, zh), self.default)

    @cached_property
    def _table(self) -> dict[tuple[bool, bool], Thresholds]:
        return {(kind.startswith("derived"), kind.endswith("/zh")): t for kind, t in self.fitted}


def from_status(partial: float, covered: float) -> Thresholds:
    """The thresholds under which a clause without keyword hits turns partial and covered at these similarities.

    Such a clause earns 0.6 of the similarity's share (`rules.point_results`),
    so it is partly covered (credit 0.3) halfway between the thresholds and
    covered (0.6) at the upper one; keyword hits let a clause get there sooner.
    """
    covered = max(covered, partial + _MIN_GAP)
    return Thresholds(round(2 * partial - covered, 4), round(covered, 4))


def fit_derived(best: np.ndarray, grade: np.ndarray, zh: np.ndarray) -> dict[str, Thresholds]:
    """Thresholds for derived points per language, from graded answers.

    `best` is each answer's best point similarity, `grade` its human grade on
    0..1, `zh` whether it is written in Chinese. A language with fewer than
    `MIN_ANSWERS` answers gets the fit of all answers together.
    """
    pooled = _grade_crossings(best, grade)
    out = {}
    for lang, mask in (("zh", zh), ("en", ~zh)):
        partial, covered = _grade_crossings(best[mask], grade[mask]) if mask.sum() >= MIN_ANSWERS else pooled
        out[f"derived/{lang}"] = from_status(partial, covered)
    return out


def _grade_crossings(best: np.ndarray, grade: np.ndarray) -> tuple[float, float]:
    """Similarities where the isotonic mean grade first reaches PARTIAL_GRADE and COVERED_GRADE."""
    from sklearn.isotonic import IsotonicRegression

    order = np.argsort(best)
    x, y = best[order], grade[order]
    fitted = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(x)

    def first(level: float) -> float:
        reached = np.flatnonzero(fitted >= level)
        return float(x[reached[0]]) if len(reached) else float(x[-1])

    return first(PARTIAL_GRADE), first(COVERED_GRADE)


def fit_bundled(own: Sequence[tuple[bool, float]], other: Sequence[tuple[bool, float]]) -> dict[str, Thresholds]:
    """Thresholds for hand-written points per language, from the bank's phrasings.

    `own` holds (is Chinese, similarity) of each phrasing of a point to the
    point's other phrasings; `other`, of each phrasing to the phrasings of
    another point of the same rubric.
    """
    out = {}
    for lang, zh in (("zh", True), ("en", False)):
        mine = [s for z, s in own if z == zh]
        theirs = [s for z, s in other if z == zh]
        if mine and theirs:
            out[f"bundled/{lang}"] = from_status(float(np.quantile(theirs, OTHER_POINT_QUANTILE)),
                                                 float(np.quantile(mine, OWN_POINT_QUANTILE)))
    return out
