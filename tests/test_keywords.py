from __future__ import annotations

import pytest

from harness.scoring.keywords import all_hits, find_alias, match_groups, squeeze
from harness.scoring.text import content_tokens, normalize, split_clauses, split_sentences
from harness.types import KeywordGroup


@pytest.mark.parametrize(
    ("alias", "text", "found"),
    [
        ("ViT", "physical activity matters", False),
        ("ViT", "图像编码器用 ViT-B/16", True),
        ("ViT", "use a vit", True),
        ("编码器", "图像编码器是 ResNet", True),
        ("InfoNCE", "loss 是 Info NCE", True),
        ("InfoNCE", "info-nce loss", True),
        ("info-nce", "InfoNCE", True),
        ("Info NCE", "the infonce objective", True),
        ("CLIP", "ＣＬＩＰ 的思想", True),  # full-width letters
        ("patch", "split into patches", True),
        ("patch", "dispatcher", False),
        ("[CLS]", "加一个 [cls] token", True),
        ("4亿", "大约４亿对图文", True),
        ("ITM", "ITMs are binary", True),
        ("LM", "an LLM decoder", False),
        ("queries are the user", 'its "queries" are the user\'s question', True),  # quotation marks are joiners
        ("query 就是用户", "它的“query”就是用户的问题", True),
    ],
)
def test_alias_matching(alias: str, text: str, found: bool) -> None:
    assert (find_alias(alias, normalize(text)) is not None) is found


def test_group_matches_if_any_alias_matches() -> None:
    groups = [KeywordGroup(("对比学习", "contrastive learning")), KeywordGroup(("温度", "temperature"))]
    hits = match_groups(groups, "It uses Contrastive Learning.")
    assert hits[0] is not None and hits[0].alias == "contrastive learning"
    assert hits[1] is None


def test_all_hits_finds_every_occurrence_in_order() -> None:
    norm = normalize("BERT 不是 CLIP 的文本编码器，CLIP 用 GPT-2 风格，bert-base 另说")
    hits = all_hits(("CLIP", "BERT"), norm, squeeze(norm))
    assert [(h.alias, norm[h.start:h.end]) for h in hits] == [
        ("BERT", "bert"), ("CLIP", "clip"), ("CLIP", "clip"), ("BERT", "bert")]
    assert all_hits(("MoCo",), norm, squeeze(norm)) == []


def test_sentence_and_clause_splitting_handles_both_languages() -> None:
    text = "CLIP 是双塔结构，图像编码器用 ResNet 或 ViT。温度初始化为 0.07. Then it is trained, e.g. on 400M pairs!"
    assert split_sentences(text) == [
        "CLIP 是双塔结构，图像编码器用 ResNet 或 ViT。", "温度初始化为 0.07.",
        "Then it is trained, e.g. on 400M pairs!",
    ]
    assert split_clauses(text)[:2] == ["CLIP 是双塔结构", "图像编码器用 ResNet 或 ViT。"]
    # a fragment too short to state anything stays with its neighbour
    assert split_clauses("例如，图像编码器是 ResNet") == ["例如，图像编码器是 ResNet"]


@pytest.mark.parametrize(("text", "clauses"), [
    ("MoCo 用一个很长的队列保存负样本，队列长度是 65,536，和 batch size 解耦",
     ["MoCo 用一个很长的队列保存负样本", "队列长度是 65,536", "和 batch size 解耦"]),
    ("SimCLR keeps a memory bank of 65,536 negatives and a momentum encoder, which the paper never describes",
     ["SimCLR keeps a memory bank of 65,536 negatives and a momentum encoder", "which the paper never describes"]),
    ("the frames are cropped to 16:9 before the encoder sees them, and then resized to 224 pixels",
     ["the frames are cropped to 16:9 before the encoder sees them", "and then resized to 224 pixels"]),
])
def test_a_comma_or_colon_inside_a_number_does_not_end_a_clause(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses


def test_content_tokens_bigrams_and_stems() -> None:
    assert content_tokens("The encoders are trained") == ["encoder", "train"]
    assert content_tokens("对比学习的目标") == ["对比", "比学", "学习", "目标"]
