"""A deterministic stand-in for harness.scoring.scorer.Scorer, for fast grading tests.

It returns real `Score` objects: a key point is covered when one of its
keyword groups matches, a misconception when its cues match.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.bank.loader import load_bank
from harness.scoring.keywords import match_groups
from harness.types import Bank, Evidence, MisconceptionHit, PointResult, Score

GRADE_DATA = Path(__file__).parent / "data" / "grade"


def tiny_bank() -> Bank:
    return load_bank(GRADE_DATA / "bank")


def fake_score(bank: Bank, question_id: str, answer: str) -> Score:
    rubric = bank.rubrics[question_id]
    points = []
    for p in rubric.key_points:
        hit = any(match_groups(p.keywords, answer)) if p.keywords else False
        points.append(PointResult(p.id, p.title, p.text, p.weight, "covered" if hit else "missed",
                                  1.0 if hit else 0.0, Evidence()))
    hits = tuple(MisconceptionHit(m.id, m.text, m.penalty, m.correction, Evidence())
                 for m in rubric.misconceptions if all(match_groups(m.cues, answer)))
    covered = sum(p.weight for p in points if p.status == "covered") / rubric.total_weight
    score = max(0.0, min(100.0, round(100 * covered - sum(h.penalty for h in hits), 1)))
    flags = ("no-answer",) if answer.strip() in ("不知道", "idk") else ()
    return Score(question_id, score, round(100 * covered, 1), tuple(points), hits, 0.5, 0,
                 (("cos", 0.5),), flags, rubric.version_id, "fake", "fake-cal")


class FakeScorer:
    """Scores by keyword hits; records every batch it is asked to score."""

    embedder_id = "fake"
    calibration_id = "fake-cal"

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.calls: list[list[tuple[str, str]]] = []

    def warm_up(self) -> None:
        pass

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]:
        self.calls.append(list(items))
        return [fake_score(self.bank, q, a) for q, a in items]

    @property
    def scored(self) -> list[tuple[str, str]]:
        return [item for call in self.calls for item in call]
