"""The teacher anchors' Gaussian-process correction (`harness.scoring.anchors`): shrinkage, copies, choice."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import CalibrationError
from harness.scoring.anchors import (
    AnchorPrior,
    AnchorState,
    ResidualSet,
    TeacherGrade,
    anchor_prior,
    choose,
    condition,
    corrected,
    fit_prior,
    leave_one_out,
    unit,
)

PRIOR = AnchorPrior(offset=0.005, slope=0.15, similar=0.035, length=0.27, noise=0.0014)


def answers(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=(n, dim)))


def test_no_anchors_leave_the_scores_alone() -> None:
    e, f = answers(5), np.linspace(0.2, 0.9, 5)
    empty = condition(PRIOR, np.zeros((0, 16)), np.zeros(0), np.zeros(0))
    assert np.array_equal(corrected(PRIOR, empty, e, f), f)


def test_more_anchors_move_the_other_answers_more() -> None:
    """A teacher who grades every answer 0.2 above the scorer: 20 grades say so more surely than 3."""
    e = answers(60)
    f = np.random.default_rng(1).uniform(0.3, 0.7, 60)
    others = slice(40, 60)
    shift = {}
    for k in (3, 20):
        fitted = condition(PRIOR, e[:k], f[:k], f[:k] + 0.2)
        shift[k] = float(np.mean(corrected(PRIOR, fitted, e[others], f[others]) - f[others]))
    assert 0 < shift[3] < shift[20] < 0.2 + 1e-9


def test_a_copy_of_an_anchored_answer_follows_its_grade() -> None:
    e, f = answers(5), np.array([0.5, 0.6, 0.4, 0.7, 0.5])
    grades = np.array([0.9, 0.6, 0.4, 0.7, 0.5])  # the teacher lifts the first answer only
    fitted = condition(PRIOR, e, f, grades)
    copy, far = corrected(PRIOR, fitted, e[:1], f[:1])[0], corrected(PRIOR, fitted, answers(1, seed=9), f[:1])[0]
    assert copy == pytest.approx(0.9, abs=0.03)
    assert far < 0.6  # an unrelated answer with the same score barely moves


def test_corrected_scores_stay_within_0_and_1() -> None:
    e, f = answers(4), np.array([0.95, 0.9, 0.97, 0.92])
    fitted = condition(PRIOR, e[:3], f[:3], np.ones(3))
    assert corrected(PRIOR, fitted, e, np.ones(4)).max() <= 1.0


def test_leave_one_out_predicts_each_anchor_from_the_others() -> None:
    e = answers(3)
    lone = condition(PRIOR, e[:1], np.array([0.5]), np.array([0.9]))
    assert leave_one_out(PRIOR, lone) == pytest.approx([0.5])  # nothing else to learn from: the score as is
    twins = condition(PRIOR, np.vstack([e[0], e[0]]), np.array([0.5, 0.5]), np.array([0.9, 0.9]))
    assert leave_one_out(PRIOR, twins) == pytest.approx([0.9, 0.9], abs=0.05)  # each learns from its twin
    direct = np.array([corrected(PRIOR, condition(PRIOR, e[[j]], [0.5], [0.8]), e[[i]], [0.4])[0]
                       for i, j in ((0, 1), (1, 0))])
    pair = condition(PRIOR, e[:2], np.array([0.4, 0.5]), np.array([0.8, 0.8]))
    assert leave_one_out(PRIOR, pair)[0] == pytest.approx(direct[0])


def test_one_grade_far_from_its_score_pulls_the_others_only_so_far() -> None:
    """A wrong verdict the scorer could not see (scored 0.95, graded 0): a copy of it moves 2 prior SDs, not to 0."""
    e, f = answers(2), np.array([0.95, 0.9])
    fitted = condition(PRIOR, e, f, np.array([0.0, 0.9]))
    sd = float(np.sqrt(PRIOR.covariance(f[:1], e[:1], f[:1], e[:1])[0, 0]))
    copy = corrected(PRIOR, fitted, e[:1], f[:1])[0]
    assert 0.95 - 2 * sd - 0.05 < copy < 0.95 - 2 * sd + 0.05 and copy > 0.4
    state = AnchorState.fit(PRIOR, [TeacherGrade("q", "wrong verdict", 0.0), TeacherGrade("q", "fine", 0.9)],
                            list(e), list(f))
    assert state.adjust("q", "wrong verdict", e[0], 0.95) == (0.0, True)  # the graded answer keeps its grade
    # leave-one-out in closed form is still the refit on the others
    refit = corrected(PRIOR, condition(PRIOR, e[1:], f[1:], np.array([0.9])), e[:1], f[:1])[0]
    assert leave_one_out(PRIOR, fitted)[0] == pytest.approx(refit)
    outlier = corrected(PRIOR, condition(PRIOR, e[:1], f[:1], np.zeros(1)), e[1:], f[1:])[0]
    assert leave_one_out(PRIOR, fitted)[1] == pytest.approx(outlier)


def test_choose_spreads_the_picks_and_complements_earlier_grades() -> None:
    rng = np.random.default_rng(2)
    centres = answers(2, seed=3)
    e = unit(np.vstack([centres[0] + 0.05 * rng.normal(size=(10, 16)), centres[1] + 0.05 * rng.normal(size=(10, 16))]))
    f = np.full(20, 0.6)
    picks = choose(PRIOR, e, f, 2)
    assert len(set(picks)) == 2 and {p // 10 for p in picks} == {0, 1}  # one from each group
    after = choose(PRIOR, e, f, 1, given_vectors=e[:1], given_scores=f[:1])
    assert after[0] >= 10  # the first group is taught already
    assert sorted(choose(PRIOR, e[:3], f[:3], 10)) == [0, 1, 2]  # never more than there are


def test_fit_prior_finds_question_offsets_when_there_are_some() -> None:
    rng = np.random.default_rng(4)

    def sets(offset_sd: float) -> list[ResidualSet]:
        out = []
        for _ in range(30):
            e, f = answers(25, seed=int(rng.integers(1 << 30))), rng.uniform(0.3, 0.9, 25)
            out.append(ResidualSet(rng.normal(0, offset_sd) + rng.normal(0, 0.05, 25), e, f))
        return out

    wide, none = fit_prior(sets(0.2)), fit_prior(sets(0.0))
    assert wide.offset > 0.01 > none.offset
    assert wide.noise == pytest.approx(0.0025, rel=0.5)


def test_the_state_gives_graded_answers_their_grade_and_corrects_the_rest() -> None:
    e = answers(3)
    grades = [TeacherGrade("q1", "答案一", 0.9), TeacherGrade("q1", "答案二", 0.3), TeacherGrade("q2", " ", 0.5)]
    state = AnchorState.fit(PRIOR, grades, [e[0], e[1], None], [0.5, 0.5, 0.0])
    assert set(state.questions) == {"q1"}  # the blank one is left out
    assert state.adjust("q1", " 答案一 ", e[2], 0.5) == (0.9, True)
    score, graded = state.adjust("q1", "another", e[2], 0.5)
    assert not graded and score != 0.5
    assert state.adjust("q3", "another", e[2], 0.5) == (0.5, False)


def test_prior_round_trip_and_bad_priors() -> None:
    assert AnchorPrior.from_json(PRIOR.as_json()) == PRIOR
    with pytest.raises(ValueError, match="noise must be a positive number"):
        AnchorPrior.from_json({**PRIOR.as_json(), "noise": 0})
    with pytest.raises(ValueError, match="length"):
        AnchorPrior.from_json({k: v for k, v in PRIOR.as_json().items() if k != "length"})
    with pytest.raises(CalibrationError, match="no anchor prior"):
        anchor_prior(None)
