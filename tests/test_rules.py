"""Judgements that explain a score (scoring/rules.py): point status, misconceptions, flags, agreement."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from harness.scoring.features import AnswerVectors, PointMatch, RubricVectors
from harness.scoring.polarity import Claim
from harness.scoring.rules import (
    closeness_note,
    function_word_ratio,
    is_keyword_list,
    is_no_answer,
    misconception_hits,
    point_results,
    settle,
    shows_nothing_of,
)
from harness.scoring.thresholds import PointThresholds, Thresholds
from harness.types import Evidence, KeyPoint, KeywordGroup, Misconception, PointResult, Reference, Rubric, Score

GROUPS = (KeywordGroup(("InfoNCE",)),)
THRESHOLDS = PointThresholds(Thresholds(0.3, 0.6), (("derived/en", Thresholds(0.0, 0.4)),))


def _match(sim: float, *, keywords: bool = True, fraction: float = 0.0, derived: bool = False) -> PointMatch:
    point = KeyPoint("p", "P", "text", 2.0, GROUPS if keywords else (), derived=derived)
    return PointMatch(point, sim, "the clause", fraction, ("InfoNCE",) if fraction else ())


@pytest.mark.parametrize(
    ("match", "zh", "status"),
    [
        (_match(0.6), True, "covered"),
        (_match(0.45), True, "partial"),  # keywords: 0.6 x credit 0.5
        (_match(0.44), True, "missed"),
        (_match(0.4, fraction=1.0), True, "partial"),  # keyword hits help in proportion to closeness
        (_match(0.2, fraction=1.0), True, "missed"),  # a named term alone covers nothing
        (_match(0.25, keywords=False, derived=True), False, "partial"),  # derived/en thresholds
        (_match(0.25, keywords=False, derived=True), True, "missed"),  # derived/zh: the default
        (_match(0.15, keywords=False, fraction=0.5, derived=True), False, "partial"),  # its content words help
    ],
)
def test_point_status(match: PointMatch, zh: bool, status: str) -> None:
    (result,) = point_results((match,), THRESHOLDS, zh=zh)
    assert result.status == status
    assert result.evidence.clause == ("the clause" if result.credit or match.aliases else "")


def _text(text: str, clauses: tuple[str, ...]) -> AnswerVectors:
    return AnswerVectors(text, np.zeros(4, dtype=np.float32), clauses, np.zeros((len(clauses), 4), dtype=np.float32))


@pytest.mark.parametrize(("text", "clauses", "evidence"), [
    ("切成 patch，展平后线性投影。", ("切成 patch", "展平后线性投影。"), "展平后线性投影。"),
    ("每块展平，再线性投影。", ("每块展平", "再线性投影。"), "每块展平，再线性投影。"),  # one sentence, two clauses
    ("每块展平。再线性投影。", ("每块展平。", "再线性投影。"), ""),  # in two sentences: not one statement
    ("展平后没有线性投影。", ("展平后没有线性投影。",), ""),  # one of them denied
])
def test_a_statement_naming_every_keyword_group_covers_the_point_partly(text: str, clauses: tuple[str, ...],
                                                                         evidence: str) -> None:
    groups = (KeywordGroup(("展平",)), KeywordGroup(("线性投影",)))
    point = KeyPoint("p", "P", "每个 patch 展平成 P²·C 维向量，再经可学习的线性投影映射到隐藏维度 D。", 2.0, groups)
    far = PointMatch(point, 0.2, "the closest clause", 1.0, ("展平", "线性投影"))
    (result,) = point_results((far,), THRESHOLDS, zh=True, answer=_text(text, clauses))
    assert (result.status, result.credit, result.evidence.clause) == (
        ("partial", 0.3, evidence) if evidence else ("missed", 0.0, "the closest clause"))
    (listed,) = point_results((far,), THRESHOLDS, zh=True, answer=_text(text, clauses), keyword_list=True)
    assert listed.status == "missed"  # a bare list of terms states nothing
    close = replace(far, similarity=0.6)
    assert point_results((close,), THRESHOLDS, zh=True, answer=_text(text, clauses))[0].status == "covered"


def _point(pid: str, status: str, weight: float = 1.0) -> PointResult:
    return PointResult(pid, pid, pid, weight, status, 0.0)  # type: ignore[arg-type]


def test_settle_keeps_statuses_that_agree_with_the_score() -> None:
    points = (_point("a", "covered"), _point("b", "missed"))
    assert settle(points, score=80, keyword_list=False) == (points, False)


def test_a_keyword_list_covers_nothing() -> None:
    points, _ = settle((_point("a", "covered"), _point("b", "partial")), score=15, keyword_list=True)
    assert [p.status for p in points] == ["partial", "partial"]


def test_a_score_under_20_shows_no_covered_half_of_the_weight() -> None:
    points, closeness = settle((_point("a", "covered", 2), _point("b", "missed", 2)), score=12, keyword_list=False)
    assert [p.status for p in points] == ["partial", "missed"] and not closeness
    small = (_point("a", "covered", 1), _point("b", "missed", 3))
    assert settle(small, score=12, keyword_list=False)[0] == small  # a quarter of the weight stays covered


def test_a_score_that_no_point_explains_rests_on_closeness() -> None:
    missed = (_point("a", "missed"), _point("b", "missed"))
    assert settle(missed, score=65, keyword_list=False) == (missed, True)
    assert settle(missed, score=19.9, keyword_list=False) == (missed, False)


def test_the_closeness_note_in_both_languages() -> None:
    base = Score("q", 65.0, 65.0, (), (), 0.5, 0, (), (), "1+x", "e", "c")
    assert closeness_note(base, zh=True) is None
    from dataclasses import replace

    flagged = replace(base, rests_on_closeness=True)
    assert "整体上的接近" in (closeness_note(flagged, zh=True) or "")
    assert "overall closeness" in (closeness_note(flagged, zh=False) or "")


def test_an_old_score_record_reads_back_without_the_new_field() -> None:
    record = Score("q", 65.0, 65.0, (), (), 0.5, 0, (), (), "1+x", "e", "c").to_dict()
    record.pop("rests_on_closeness")
    assert Score.from_dict(record).rests_on_closeness is False


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        ("CLIP：对比学习、image-text pair、4 亿、双塔、InfoNCE、zero-shot、prompt。", True),
        ("InfoNCE, symmetric cross-entropy, N×N matrix, temperature 0.07, in-batch negatives, logits.", True),
        ("zero-shot、prompt template、a photo of a {class}、text embedding、softmax、argmax、linear probe。", True),
        ("CLIP 对比学习 图文对 400M 共享嵌入空间 自然语言监督 zero-shot prompt", True),
        ("顺序表：存储空间连续，删除插入较复杂。", False),
        ("CLIP 用对比学习，把图像和文本放进同一空间，再用 prompt 做零样本分类。", False),
        ("It uses a text encoder, an image encoder, a shared space, a contrastive loss and a prompt.", False),
        ("InfoNCE", False),
    ],
)
def test_keyword_lists(text: str, listed: bool) -> None:
    assert is_keyword_list(text, GROUPS) is listed
    assert not is_keyword_list(text, ())  # only for rubrics with keywords


def test_no_answer_and_function_words() -> None:
    assert is_no_answer("不知道。") and is_no_answer("I don't know") and is_no_answer("  ")
    assert not is_no_answer("不知道为什么要用温度，但它控制分布的尖锐程度")
    assert function_word_ratio("InfoNCE temperature batch") == 0.0
    assert function_word_ratio("The loss is the mean of the two directions") > 0.3


def _misc_vectors(correction: str | None) -> RubricVectors:
    points = (KeyPoint("gpt", "GPT", "文本编码器是 GPT-2 风格", 1.0), KeyPoint("other", "O", "别的", 1.0))
    misc = Misconception("bert", "CLIP 的文本编码器是 BERT", (KeywordGroup(("是 BERT", "用 BERT")),), 10.0,
                         None, correction)
    rubric = Rubric("q", "1", (Reference(zh="r"),), points, (misc,))
    e = np.eye(4, dtype=np.float32)
    return RubricVectors(
        rubric=rubric, prompt=e[3], references=(e[3][None, :],), points=(e[1][None, :], e[2][None, :]),
        misconceptions=(e[0][None, :],), corrections=(e[1][None, :] if correction else None,),
        question_tokens=frozenset(), point_tokens=(Counter(), Counter()),
        claims=(Claim.of(misc, ["CLIP 的模型结构是怎样的？"]),),
    )


@pytest.mark.parametrize(("text", "off"), [
    ("LSTM 通过遗忘门、输入门和输出门控制信息流。", True),
    ("这个模型用温度系数缩放相似度。", False),  # a keyword of a point
    ("CLIP 的结构我记不清了。", False),  # names the question's model
    ("模型先看大量数据，再学一个表示。", False),  # names a rubric-level term (数据)
])
def test_an_answer_showing_nothing_of_the_rubric(text: str, off: bool) -> None:
    point = KeyPoint("t", "T", "相似度除以可学习的温度系数", 1.0, (KeywordGroup(("温度",)), KeywordGroup(("相似度",))))
    rubric = Rubric("q", "1", (Reference(zh="CLIP 用温度系数。"),), (point,), (), keywords=(KeywordGroup(("数据",)),))
    e = np.eye(4, dtype=np.float32)
    rv = RubricVectors(rubric=rubric, prompt=e[3], references=(e[3][None, :],), points=(e[1][None, :],),
                       misconceptions=(), corrections=(), question_tokens=frozenset(), names=frozenset({"clip"}))
    aliases = tuple(a for g in point.keywords for a in g.aliases if a in text)
    missed = (PointResult("t", "T", "", 1.0, "missed", 0.0, Evidence("", 0.1, aliases)),)
    assert shows_nothing_of(rv, missed, text) is off
    caught_one = (replace(missed[0], status="partial", credit=0.3),)
    assert not shows_nothing_of(rv, caught_one, text)  # a point caught in words the keywords miss
    derived = replace(rv, rubric=replace(rubric, key_points=(replace(point, keywords=()),)))
    assert not shows_nothing_of(derived, missed, text)  # a reference-only rubric has no terms to name


def _answer(clauses: list[str], vectors: list[list[float]]) -> AnswerVectors:
    rows = np.array([np.array(v, np.float32) / np.linalg.norm(v) for v in vectors])
    return AnswerVectors("。".join(clauses), rows.sum(0), tuple(clauses), rows)


def test_a_misconception_needs_cue_polarity_subject_and_closeness() -> None:
    rv = _misc_vectors("CLIP 的文本编码器是 GPT-2 风格的 Transformer，并不是 BERT")
    (hit,) = misconception_hits(rv, _answer(["CLIP 的文本编码器是 BERT"], [[1, 0.2, 0, 0]]), min_similarity=0.3)
    assert hit.misconception_id == "bert" and hit.contradicts == "gpt" and hit.evidence.clause.endswith("BERT")
    assert hit.evidence == Evidence("CLIP 的文本编码器是 BERT", pytest.approx(0.9806, abs=1e-4), ("是 BERT",))
    quiet = [
        (["CLIP 的文本编码器不是 BERT"], [[1, 0.2, 0, 0]]),  # negated
        (["对比来看，ALIGN 的文本编码器才是 BERT"], [[1, 0.2, 0, 0]]),  # another model
        (["CLIP 的文本编码器是 BERT"], [[0.2, 1, 0, 0]]),  # closer to the correction
        (["CLIP 的文本编码器很大"], [[1, 0, 0, 0]]),  # no cue
    ]
    for clauses, vectors in quiet:
        assert misconception_hits(rv, _answer(clauses, vectors), min_similarity=0.3) == (), clauses


def test_without_a_correction_the_claim_must_be_close_enough() -> None:
    rv = _misc_vectors(None)
    assert misconception_hits(rv, _answer(["CLIP 用 BERT"], [[1, 0.2, 0, 0]]), min_similarity=0.5)
    assert not misconception_hits(rv, _answer(["CLIP 用 BERT"], [[0.3, 1, 0, 0]]), min_similarity=0.5)
