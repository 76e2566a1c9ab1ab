"""Answer features from vectors (scoring/features.py) and the rubric texts the scorer embeds (scorer.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from harness.scoring.features import FEATURE_NAMES, AnswerVectors, RubricVectors, compute_features
from harness.scoring.scorer import phrasing_groups, phrasings, plain_reference
from harness.scoring.text import content_tokens
from harness.types import Alternative, KeyPoint, KeywordGroup, Reference, Rubric


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


E = np.eye(4, dtype=np.float32)  # four orthogonal directions


def _rubric(points: tuple[KeyPoint, ...], refs: tuple[Reference, ...] = (Reference(zh="参考答案"),)) -> Rubric:
    return Rubric("q", "1", refs, points)


def _vectors(rubric: Rubric, points: list[np.ndarray], *, refs: list[np.ndarray] | None = None,
             plain: np.ndarray | None = None, plain_text: str = "") -> RubricVectors:
    refs = refs if refs is not None else [E[3][None, :]]
    return RubricVectors(
        rubric=rubric, prompt=E[3], references=tuple(refs), points=tuple(points), misconceptions=(),
        corrections=(), question_tokens=frozenset(),
        point_tokens=tuple(Counter(content_tokens(p.text)) for p in rubric.key_points),
        reference_tokens=tuple(tuple(Counter(content_tokens(t)) for t in r.texts) for r in rubric.references),
        plain=plain, plain_tokens=(Counter(content_tokens(plain_text)),) if plain_text else (),
    )


def _answer(text: str, clauses: list[str], clause_vectors: list[np.ndarray], vector: np.ndarray) -> AnswerVectors:
    return AnswerVectors(text, vector, tuple(clauses), np.stack(clause_vectors))


def test_a_point_matches_through_the_best_of_its_phrasings() -> None:
    p0 = KeyPoint("p0", "P0", "术语说法", 1.0)
    p1 = KeyPoint("p1", "P1", "另一点", 1.0)
    rv = _vectors(_rubric((p0, p1)), [np.stack([E[0], E[1]]), E[2][None, :]])
    assert rv.point_matrix.shape == (3, 4) and list(rv.point_starts) == [0, 2]
    answer = _answer("白话说法。无关的话。", ["白话说法", "无关的话"], [E[1], _unit(1, 0, 1, 0)], _unit(1, 1, 1, 0))
    feats = compute_features(rv, answer)
    m0, m1 = feats.matches
    assert m0.similarity == pytest.approx(1.0) and m0.clause == "白话说法"  # the second phrasing of p0
    assert m1.clause == "无关的话" and m1.similarity == pytest.approx(2 ** -0.5)
    assert set(feats.values) == set(FEATURE_NAMES)


def test_when_the_whole_answer_matches_best_the_closest_clause_is_shown() -> None:
    point = KeyPoint("p0", "P0", "两件事一起说", 1.0)
    rv = _vectors(_rubric((point,)), [_unit(1, 1, 0, 0)[None, :]])
    # each clause says half of the point; only the answer as a whole says all of it
    answer = _answer("一半。另一半多一点。", ["一半", "另一半多一点"], [E[0], _unit(1, 2, 0, 0)], _unit(1, 1, 0, 0))
    (m,) = compute_features(rv, answer).matches
    assert m.clause == answer.text and m.similarity == pytest.approx(1.0)  # scored on the whole answer
    assert m.shown == "另一半多一点" and m.evidence_text == "另一半多一点"  # shown: its closest clause
    one = _answer("一句话", ["一句话"], [E[0]], _unit(1, 1, 0, 0))
    (m1,) = compute_features(rv, one).matches
    assert m1.clause == "一句话" and m1.evidence_text == "一句话"


def test_keywords_count_for_hand_written_points_and_token_recall_for_derived_ones() -> None:
    worded = KeyPoint("w", "W", "对比学习拉近正样本", 1.0, (KeywordGroup(("对比学习",)), KeywordGroup(("温度",))))
    derived = KeyPoint("d", "D", "正样本靠近负样本远离", 1.0, derived=True, reference=0)
    rv = _vectors(_rubric((worded,)), [E[0][None, :]])
    answer = _answer("对比学习让正样本靠近", ["对比学习让正样本靠近"], [E[0]], E[0])
    (m,) = compute_features(rv, answer).matches
    assert m.keyword_fraction == 0.5 and m.aliases == ("对比学习",)
    rv = _vectors(_rubric((derived,)), [E[0][None, :]])
    (m,) = compute_features(rv, answer).matches
    need = Counter(content_tokens(derived.text))
    have = Counter(content_tokens(answer.text))
    assert m.keyword_fraction == pytest.approx(sum((need & have).values()) / sum(need.values()))


def test_the_plain_reference_counts_like_a_reference() -> None:
    point = KeyPoint("p", "P", "x", 1.0)
    answer = _answer("用大白话讲的答案", ["用大白话讲的答案"], [E[1]], E[1])
    without = compute_features(_vectors(_rubric((point,)), [E[0][None, :]], refs=[E[0][None, :]]), answer)
    with_plain = compute_features(_vectors(_rubric((point,)), [E[0][None, :]], refs=[E[0][None, :]],
                                           plain=E[1][None, :], plain_text="用大白话讲的答案"), answer)
    assert without.values["cos"] == pytest.approx(0.0) and with_plain.values["cos"] == pytest.approx(1.0)
    assert with_plain.values["tok_rec"] == pytest.approx(1.0) and without.values["tok_rec"] < 1.0
    assert with_plain.best_reference == 0  # the plain reference is never reported as the reference


def test_a_reference_only_rubric_is_judged_against_the_group_it_covers_best() -> None:
    refs = (Reference(en="alpha beta"), Reference(en="gamma delta"))
    points = tuple(KeyPoint(f"r{i}", "t", t, 1.0, derived=True, reference=i) for i, t in enumerate(("alpha", "gamma")))
    rv = _vectors(_rubric(points, refs), [E[0][None, :], E[1][None, :]], refs=[E[0][None, :], E[1][None, :]])
    feats = compute_features(rv, _answer("gamma", ["gamma"], [E[1]], E[1]))
    assert feats.best_reference == 1 and [m.point.id for m in feats.matches] == ["r1"]


def test_phrasings_list_every_statement_once_with_its_group() -> None:
    point = KeyPoint("p", "P", "中文", 1.0, text_en="English", alternatives=(
        Alternative(zh="白话", en="plain words", plain=True), Alternative(zh="中文"), Alternative(en="more")))
    assert phrasings(point) == ("中文", "English", "白话", "plain words", "more")
    assert phrasing_groups(point) == (("中文", 0), ("English", 0), ("白话", 1), ("plain words", 1), ("more", 3))


def test_the_plain_reference_joins_the_first_plain_alternative_of_each_point() -> None:
    points = (
        KeyPoint("a", "A", "a", 1.0, alternatives=(Alternative(zh="术语"), Alternative(zh="第一句。", plain=True),
                                                   Alternative(zh="第二句", plain=True))),
        KeyPoint("b", "B", "b", 1.0, alternatives=(Alternative(zh="再一句", en="One more", plain=True),)),
    )
    assert plain_reference(_rubric(points)) == ("第一句。再一句。", "One more.")
    assert plain_reference(_rubric((KeyPoint("c", "C", "c", 1.0),))) == ()
