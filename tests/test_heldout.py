"""The held-out figures measure the scorer as it scores: the half-marks hold and its review reason included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.bank.importer import import_questions
from harness.scoring.evaluation import GradedSet, read_graded
from harness.scoring.fitting import combine, nested_components
from harness.scoring.heldout import held_out_rows, review_held_out
from harness.scoring.review import UNMATCHED
from harness.scoring.rules import CLOSENESS_CAP, CLOSENESS_FLOOR
from harness.scoring.scorer import Scorer
from harness.scoring.training import collect


def _first_questions(graded: GradedSet, n: int) -> GradedSet:
    keep = [q for q in dict.fromkeys(graded.question_ids)][:n]
    rows = [i for i, q in enumerate(graded.question_ids) if q in keep]
    return GradedSet(graded.name, tuple(graded.question_ids[i] for i in rows), tuple(graded.answers[i] for i in rows),
                     graded.human[rows], graded.scale_max[rows])


@pytest.fixture(scope="module")
def held_out(eval_dir: Path, use_encoder, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    bank = import_questions(eval_dir / "mohler_dev_questions.csv", tmp_path_factory.mktemp("bank"))
    graded = _first_questions(read_graded(eval_dir / "mohler_dev_answers.csv"), 12)
    data = collect([(Scorer(bank, use_encoder, None), graded)])
    nested = nested_components(data.x, data.y, data.groups, data.real, folds=4)
    return data, nested, review_held_out(data, nested)


def test_answers_no_key_point_explains_are_held_and_flagged(held_out) -> None:  # type: ignore[no-untyped-def]
    data, nested, reviewed = held_out
    plain = combine(nested.outer[data.real])
    held = reviewed.score01 < plain - 1e-9
    assert held.any(), "no answer was held: the test data no longer exercises the rule"
    assert np.all(reviewed.score01[held] <= CLOSENESS_CAP / 100 + 1e-9)
    unmatched = np.array([UNMATCHED in r for r in reviewed.review])
    assert unmatched[held].all()  # held above the cap means it was at least the floor: flagged
    assert np.all(reviewed.score01[unmatched] * 100 >= CLOSENESS_FLOOR - 1e-9)
    assert np.all((reviewed.low <= reviewed.score01 + 1e-9) & (reviewed.score01 <= reviewed.high + 1e-9))


def test_the_figures_are_those_of_the_held_scores(held_out) -> None:  # type: ignore[no-untyped-def]
    data, _, reviewed = held_out
    (row,) = held_out_rows(data, reviewed)
    graded = data.sets[0]
    assert row.n == len(graded.answers)
    assert row.pearson == pytest.approx(float(np.corrcoef(reviewed.score01, graded.target)[0, 1]), abs=1e-6)
    assert row.flagged == pytest.approx(float(reviewed.flagged.mean()))
