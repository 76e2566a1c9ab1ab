"""The cohort tally: filled while grading or from a scores.csv, and the statistics made from it."""

from __future__ import annotations

import numpy as np
import pytest
from grade_helpers import tiny_bank

from harness.grade.tally import CohortTally, discrimination
from harness.types import Bank


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def test_discrimination_against_the_rest_of_each_total() -> None:
    m = np.array([[10, 20, 30], [40, 50, 35], [90, 80, np.nan], [70, np.nan, 60]], dtype=np.float32)
    d = discrimination(m)
    keep = [0, 1, 2, 3]
    rest = [25.0, 42.5, 80.0, 60.0]
    assert d[0] == pytest.approx(np.corrcoef(m[keep, 0], rest)[0, 1])
    assert d[1] == pytest.approx(np.corrcoef([20, 50, 80], [20, 37.5, 90])[0, 1])
    assert discrimination(np.array([[1, 2], [1, 3], [1, 4]], dtype=np.float32))[0] is None  # no spread
    assert discrimination(np.array([[1, 2], [3, 4]], dtype=np.float32)) == [None, None]  # too few


def test_tally_grows_past_its_first_allocation(bank: Bank) -> None:
    from harness.grade.grader import blank_result

    tally = CohortTally()
    people = [f"p{i:03d}" for i in range(200)]
    tally.add_many(people, ["clip-idea"] * 200, [blank_result(bank, "clip-idea")] * 200)
    tally.add_many(people[:3], ["vit-patch"] * 3, [blank_result(bank, "vit-patch")] * 3)
    for qid in [f"q{i}" for i in range(20)]:  # more questions than the first allocation too
        tally.add_many(["p199"], [qid], [blank_result(bank, "clip-idea")])
    stats = tally.stats()
    assert len(stats.people) == 200 and stats.people[-1] == "p199" and stats.blanks[-1] == 21
    assert stats.scores.shape == (200, 22) and int(stats.answers.sum()) == 223
    blanks = dict(zip(stats.questions, stats.question_blanks.tolist(), strict=True))
    assert (blanks["clip-idea"], blanks["vit-patch"], blanks["q0"]) == (200, 3, 1)


def test_stats_do_not_depend_on_the_order_answers_arrive_in(bank: Bank) -> None:
    """The report of a run and of its scores.csv must agree to the last bit, whatever the order."""
    from harness.grade.tally import Graded

    rng = np.random.default_rng(3)
    rows = [(f"p{p}", f"q{q}", Graded(f"t{q % 3}", round(float(rng.uniform(0, 100)), 1), False, False,
                                     ("a",), (), ()))
            for p in range(40) for q in range(9) if rng.random() < 0.9]
    one, two = CohortTally(), CohortTally()
    one.add_many(*zip(*rows, strict=True))
    for i in rng.permutation(len(rows)):
        two.add_many([rows[i][0]], [rows[i][1]], [rows[i][2]])
    a, b = one.stats(), two.stats()
    for name in ("scores", "topic_means", "overall", "mean", "facility"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert a.discrimination == b.discrimination and a.people == b.people
