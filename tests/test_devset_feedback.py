"""Feedback agrees with the score on the human-graded dev sets (shipped calibration, banks from `bank import`).

An answer scoring 60 or more shows at least one covered or partly covered
key point; one scoring under 20 shows no covered points carrying half the
weight; any score of 20 or more that no point explains carries the
closeness flag.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bank.importer import import_questions
from harness.scoring.evaluation import read_graded
from harness.scoring.scorer import Scorer


@pytest.mark.parametrize("name", ["mohler_dev", "ads_dev"])
def test_feedback_agrees_with_the_score(name: str, eval_dir: Path, tmp_path: Path, use_encoder) -> None:  # type: ignore[no-untyped-def]
    bank = import_questions(eval_dir / f"{name}_questions.csv", tmp_path / "bank")
    graded = read_graded(eval_dir / f"{name}_answers.csv")
    scorer = Scorer.load(bank, encoder=use_encoder, results_dir=tmp_path)
    scores = scorer.score_many(list(zip(graded.question_ids, graded.answers)))
    unexplained = [(s.question_id, s.score) for s in scores if s.score >= 60 and not (s.covered or s.partial)]
    assert unexplained == []
    for s in scores:
        total = sum(p.weight for p in s.points)
        if s.score < 20:
            assert sum(p.weight for p in s.covered) < total / 2, s.question_id
        assert s.rests_on_closeness == (s.score >= 20 and not (s.covered or s.partial))
    assert sum(s.score >= 60 for s in scores) > len(scores) / 2  # the check has answers to bite on
