"""Key points for a rubric that has reference answers only.

`bank import` writes such rubrics; the scorer still needs points to report
and to measure coverage, so each reference answer's clauses become points of
their own group (`KeyPoint.reference`), and the scorer judges an answer
against the reference group it matches best.
"""

from __future__ import annotations

from harness.scoring.text import split_clauses, visible_length
from harness.types import KeyPoint, Reference

_TITLE_CHARS = 24


def derive_key_points(references: list[Reference] | tuple[Reference, ...]) -> tuple[KeyPoint, ...]:
    """One point per clause of each reference answer, weighted by its length.

    A longer clause carries more content, so weights grow with the square root
    of its visible length; a reference that does not split stays one point.
    """
    points: list[KeyPoint] = []
    for r, ref in enumerate(references):
        clauses = split_clauses(ref.primary) or [ref.primary]
        for c, clause in enumerate(clauses):
            title = clause if len(clause) <= _TITLE_CHARS else clause[: _TITLE_CHARS - 1] + "…"
            weight = round(max(1.0, visible_length(clause)) ** 0.5, 1)
            points.append(
                KeyPoint(
                    id=f"ref{r + 1}-{c + 1}", title=title, text=clause, weight=weight,
                    derived=True, reference=r,
                )
            )
    return tuple(points)
