"""Negation and contrast scopes, names, and when a clause asserts a wrong claim (scoring/polarity.py)."""

from __future__ import annotations

import pytest

from harness.scoring.keywords import squeeze
from harness.scoring.polarity import (
    Claim,
    asserted_correction,
    clause_views,
    is_negated,
    names,
    scopes,
    subject_elsewhere,
)
from harness.scoring.text import normalize
from harness.types import KeywordGroup, Misconception


def _negated(text: str, term: str) -> bool:
    norm = normalize(text)
    start = norm.index(normalize(term))
    return is_negated(norm, start, start + len(normalize(term)))


@pytest.mark.parametrize(
    ("text", "term", "negated"),
    [
        ("CLIP 的文本编码器是 BERT", "BERT", False),
        ("CLIP 的文本编码器不是 BERT", "BERT", True),
        ("CLIP 的文本编码器和 BERT 不同，是 GPT-2 风格", "BERT", True),          # backward negator
        ("不同于 MoCo，CLIP 不用队列", "MoCo", True),
        ("不同于 MoCo，CLIP 不用队列", "队列", True),
        ("BEiT 的相对位置偏置不在输入层", "输入层", True),
        ("MoCo 的 key 编码器梯度被截断", "梯度", True),
        ("绝对位置编码无法外推到更长的序列", "外推", True),
        ("这些模型不能直接做零样本", "零样本", True),
        ("对比学习和 GAN 的对抗训练是两回事", "对抗训练", True),
        ("文本编码器不是 GPT 而是 BERT", "BERT", False),                      # 而是 ends the scope
        ("文本编码器用 BERT 而不是 GPT", "BERT", False),
        ("文本编码器用 GPT 而不是 BERT", "BERT", True),
        ("BERT 并不是 CLIP 的文本编码器", "BERT", True),                      # negation right after
        ("对比学习是无监督的", "监督", True),                                   # negating character
        ("它不仅用 ITC，还用 ITM", "ITC", False),                                # 不仅 is not a negation
        ("Unlike BERT, CLIP uses a GPT-2 style encoder", "BERT", True),
        ("CLIP uses GPT-2 rather than BERT", "BERT", True),
        ("CLIP uses BERT rather than GPT-2", "BERT", False),
        ("BERT is not the text encoder", "BERT", True),
        ("the text encoder is not only BERT", "BERT", False),
        ("sinusoids extrapolate poorly in practice", "extrapolate", True),
        ("SimCLR drops the queue", "queue", True),
        ("注意别算成 197", "197", True),
        ("图像和文本分别用两个编码器", "两个编码器", False),                 # 别 inside a word is no negation
        ("根据类别标签选择正样本", "正样本", False),
    ],
)
def test_negation_and_contrast(text: str, term: str, negated: bool) -> None:
    assert _negated(text, term) is negated


def test_scopes_break_at_commas_and_contrastive_conjunctions() -> None:
    norm = normalize("不是 GPT 而是 BERT，但 ViT whereas ResNet")
    assert [norm[a:b].strip() for a, b in scopes(norm)] == ["不是 gpt", "bert", "vit", "resnet"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALIGN 的文本编码器是 BERT，CLIP 用 GPT-2", ["align", "bert", "clip", "gpt2"]),
        ("InstructBLIP feeds the instruction to the Q-Former", ["instructblip", "qformer"]),
        ("The [CLS] token of a Transformer, T5 and BLIP-2", ["t5", "blip2"]),
        ("没有名字的句子", []),
    ],
)
def test_names(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def _misc(text: str, cues: list[list[str]], correction: str | None = None, text_en: str | None = None) -> Misconception:
    return Misconception("m", text, tuple(KeywordGroup(tuple(g)) for g in cues), 10.0, text_en, correction)


def _asserted(claim: Claim, misc: Misconception, answer_clauses: list[str]) -> list[bool]:
    groups = tuple(g.aliases for g in misc.cues)
    return [claim.asserted(v, groups, squeeze(v.norm)) for v in clause_views(answer_clauses)]


def test_claim_fires_only_on_its_own_subject() -> None:
    misc = _misc("CLIP 的文本编码器是 BERT", [["是 BERT", "用 BERT"]])
    claim = Claim.of(misc, ["CLIP 的模型结构是怎样的？"])
    assert claim.subjects == frozenset({"clip"})
    clauses = ["CLIP 的文本编码器是 BERT", "对比来看，ALIGN 的文本编码器才是 BERT", "ALIGN 的文本编码器是 BERT",
               "对比来看，CLIP 的文本编码器是 BERT", "它的文本编码器是 BERT。"]
    assert _asserted(claim, misc, clauses) == [True, False, False, True, True]


def test_a_contrasted_name_stays_contrasted_to_the_end_of_the_sentence() -> None:
    misc = _misc("CLIP 的文本编码器是 BERT 那样的双向编码器", [["BERT"], ["双向"]])
    claim = Claim.of(misc, ["CLIP 的文本编码器是什么？"])
    views = clause_views(["CLIP 的文本编码器和 BERT 不同", "BERT 是双向的。", "BERT 是双向的"])
    assert views[1].contrasted == frozenset({"clip", "bert"})  # both sides of a contrast
    assert views[2].contrasted == frozenset()  # a new sentence
    groups = tuple(g.aliases for g in misc.cues)
    assert [claim.asserted(v, groups, squeeze(v.norm)) for v in views] == [False, False, True]


def test_a_named_cue_must_own_the_predicate() -> None:
    misc = _misc("MAE 和 BEiT 一样预测离散的视觉 token", [["MAE"], ["visual token", "离散"]])
    claim = Claim.of(misc, ["常见的预训练模型有哪些？"])
    assert claim.name_groups == (True, False)
    clauses = ["MAE 预测离散的 visual token", "BEiT（预测 visual token）、MAE（75% 遮挡）"]
    assert _asserted(claim, misc, clauses) == [True, False]


def test_a_claim_that_denies_fires_on_a_denial_only() -> None:
    misc = _misc("CLIP 不能直接做零样本，必须先微调", [["必须先微调", "需要先微调"]])
    assert Claim.of(misc, []).negated == (False,)
    misc = _misc("BEiT 不需要 tokenizer", [["tokenizer"]])
    claim = Claim.of(misc, [])
    assert claim.negated == (True,)
    assert _asserted(claim, misc, ["BEiT 不需要 tokenizer", "BEiT 需要 dVAE tokenizer"]) == [True, False]


def test_the_claim_is_compared_in_the_language_of_the_correction() -> None:
    en = "CLIP's text encoder is BERT"
    misc = _misc("CLIP 的文本编码器是 BERT", [["BERT"]], "CLIP 用 GPT-2 风格的 Transformer", en)
    assert Claim.of(misc, []).row == 0
    misc = _misc("CLIP 的文本编码器是 BERT", [["BERT"]], "CLIP uses a GPT-2 style Transformer", en)
    assert Claim.of(misc, []).row == 1
    assert Claim.of(_misc("x", [["BERT"]]), []).row is None


def test_the_correction_is_compared_without_its_denial_of_the_claim() -> None:
    misc = _misc("CLIP 的文本编码器是 BERT", [["BERT"]], "CLIP 的文本编码器是 GPT-2 风格的 Transformer，并不是 BERT")
    assert asserted_correction(misc) == "CLIP 的文本编码器是 GPT-2 风格的 Transformer"
    misc = _misc("绝对位置编码外推很好", [["绝对"], ["外推"]],
                 "可学习的绝对位置表超出训练长度就没有对应嵌入，外推更好的是相对位置编码")
    assert asserted_correction(misc) == misc.correction  # a negative fact is kept
    assert asserted_correction(_misc("x", [["y"]])) == ""


def test_subject_elsewhere_opens_with_contrast() -> None:
    (view,) = clause_views(["by contrast, the text encoder is BERT"])
    assert subject_elsewhere(view, known=frozenset({"clip", "bert"}), subjects=frozenset({"clip"}))
    (view,) = clause_views(["by contrast, CLIP uses BERT"])
    assert not subject_elsewhere(view, known=frozenset({"clip", "bert"}), subjects=frozenset({"clip"}))
