"""The scorer on the bundled bank with hand-written answers (tests/data/answer_ladder.yaml)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import yaml

from harness.errors import UnknownQuestionError
from harness.types import Score

LADDER = yaml.safe_load((Path(__file__).parent / "data" / "answer_ladder.yaml").read_text(encoding="utf-8"))
LEVELS = ("complete", "paraphrase", "partial", "single_point", "misconception", "keyword_stuffing", "off_topic",
          "empty")


@pytest.fixture(scope="module")
def ladder_scores(scorer) -> dict[tuple[str, str, str], Score]:  # type: ignore[no-untyped-def]
    items = [(q, lang, level) for q, langs in LADDER.items() for lang, answers in langs.items() for level in LEVELS]
    scores = scorer.score_many([(q, LADDER[q][lang][level]) for q, lang, level in items])
    return dict(zip(items, scores))


def _mean(scores: dict[tuple[str, str, str], Score], level: str, lang: str | None = None) -> float:
    return statistics.mean(s.score for (q, lg, lv), s in scores.items() if lv == level and lang in (None, lg))


@pytest.mark.parametrize("lang", ["zh", "en", "mixed"])
def test_ladder_order_in_each_language(ladder_scores, lang: str) -> None:  # type: ignore[no-untyped-def]
    means = {level: _mean(ladder_scores, level, lang) for level in LEVELS}
    assert means["complete"] > means["paraphrase"] > means["partial"] > means["single_point"], means
    for bad in ("misconception", "keyword_stuffing", "off_topic", "empty"):
        assert means[bad] < means["single_point"], (bad, means)
    assert means["complete"] >= 85 and means["empty"] == 0


def test_complete_beats_every_wrong_answer_per_question(ladder_scores) -> None:  # type: ignore[no-untyped-def]
    # Misconception answers are compared on average only (test above): an
    # error the rubric does not list is invisible to similarity scoring.
    for (q, lang, level), s in ladder_scores.items():
        if level == "complete":
            for bad in ("keyword_stuffing", "off_topic", "empty"):
                assert s.score > ladder_scores[(q, lang, bad)].score + 20, (q, lang, bad)


def test_empty_and_dont_know_score_zero(scorer) -> None:  # type: ignore[no-untyped-def]
    for text, flag in (("", "blank"), ("   ", "blank"), ("不知道", "no-answer"), ("I don't know.", "no-answer")):
        s = scorer.score("clip-idea", text)
        assert s.score == 0 and flag in s.flags
        assert all(p.status == "missed" for p in s.points)


def test_keyword_list_is_capped_and_flagged(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("clip-objective", "InfoNCE, temperature, symmetric cross-entropy, in-batch negatives, 32768")
    assert "keyword-list" in s.flags and s.score <= 15


def test_an_answer_about_something_else_is_capped_and_flagged(scorer) -> None:  # type: ignore[no-untyped-def]
    # Its calibrated score reaches half marks: the embedder finds any long text somewhat close to the reference.
    answers = [(q, LADDER[q][lang]["off_topic"]) for q in ("clip-idea", "blip-losses", "blip2-qformer")
               for lang in ("zh", "en")]
    for s in scorer.score_many(answers):
        assert "off-rubric" in s.flags and s.score <= 15 and "off-topic?" in s.review, (s.question_id, s.calibrated)
    assert max(s.calibrated for s in scorer.score_many(answers)) > 30  # the cap is what holds them


@pytest.mark.parametrize(("qid", "answer"), [
    ("clip-idea", "CLIP needs no human-labelled classes: the captions that come with web images are the supervision."),
    ("blip-idea", "BLIP 的文本部分用 BERT-base 初始化。"),  # names the question's model, not a keyword
    ("clip-idea", "CLIP 用对比学习把图像和文本映射到同一个嵌入空间。"),
])
def test_an_answer_about_the_question_is_not_capped_as_off_rubric(scorer, qid: str,  # type: ignore[no-untyped-def]
                                                                  answer: str) -> None:
    s = scorer.score(qid, answer)
    assert "off-rubric" not in s.flags and s.score > 15


def test_seed_error_is_detected_with_evidence(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("clip-architecture", "CLIP 是双塔结构。它的文本编码器是 BERT，图像编码器只用 ViT。")
    ids = {m.misconception_id for m in s.misconceptions}
    assert "text-encoder-bert" in ids
    hit = next(m for m in s.misconceptions if m.misconception_id == "text-encoder-bert")
    assert "BERT" in hit.evidence.clause and hit.correction
    assert s.score <= s.calibrated - hit.penalty + 1e-6


def test_a_number_with_a_thousands_comma_does_not_hide_a_misconception(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("moco-simclr", "The key trick in SimCLR is a memory bank of 65,536 negatives together with "
                                    "a momentum encoder on the key side.")
    hit = next(m for m in s.misconceptions if m.misconception_id == "simclr-momentum-encoder")
    assert "65,536" in hit.evidence.clause and "momentum encoder" in hit.evidence.clause


@pytest.mark.parametrize(
    ("qid", "answer", "misconception"),
    [
        ("clip-architecture", "CLIP 的文本编码器不是 BERT，而是 GPT-2 风格、带因果掩码的 Transformer。",
         "text-encoder-bert"),
        ("clip-architecture", "The two towers stay separate, and there is no fusion module such as cross-attention "
                              "between them.", "cross-attention-fusion"),
        ("moco-simclr", "MoCo 的 key 编码器不做反向传播，而是 query 编码器的动量平均。", "moco-key-backprop"),
        ("contrastive-learning", "Contrastive learning is self-supervised: positives are two augmented views.",
         "needs-labels"),
    ],
)
def test_negated_or_correct_statement_is_not_a_misconception(scorer, qid: str, answer: str,  # type: ignore[no-untyped-def]
                                                             misconception: str) -> None:
    s = scorer.score(qid, answer)
    assert misconception not in {m.misconception_id for m in s.misconceptions}


def test_misconception_takes_the_credit_of_the_point_it_contradicts(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("vit-sequence-length",
                     "每边 224/14 = 16 个 patch，但是序列长度是 197，因为 196 个 patch 加一个 [CLS]。")
    hit = next(m for m in s.misconceptions if m.misconception_id == "length-196-197")
    point = next(p for p in s.points if p.point_id == hit.contradicts)
    assert point.status == "missed" and point.credit == 0 and point.evidence == hit.evidence
    expected = max(s.calibrated, s.coverage) * (1 - s.contradicted_share) - sum(m.penalty for m in s.misconceptions)
    assert s.score == pytest.approx(max(0.0, expected), abs=0.1)  # calibrated and score are each rounded to 0.1
    assert "contradicted points" in s.how()


def test_evidence_names_the_matching_clause(scorer) -> None:  # type: ignore[no-untyped-def]
    answer = LADDER["clip-objective"]["zh"]["complete"]
    s = scorer.score("clip-objective", answer)
    covered = s.covered
    assert len(covered) >= 3
    for p in covered:
        assert p.evidence.clause and p.evidence.clause in answer and p.evidence.similarity > 0
    assert any(p.evidence.aliases for p in covered)
    assert s.how().endswith(f"= {s.score:.0f}/100")


def test_evidence_is_a_clause_never_the_whole_answer_of_several(scorer) -> None:  # type: ignore[no-untyped-def]
    answer = ("绝对位置编码给每个位置一个固定的向量，加到输入上；相对位置编码关注的是两个 token 之间的距离，"
              "一般在 attention 计算里面加一个偏置，这样可以更好地外推到更长的序列。")
    s = scorer.score("relative-vs-absolute-pe", answer)
    shown = [p.evidence.clause for p in s.points if p.status != "missed"]
    assert len(shown) >= 3
    assert all(c and c in answer and len(c) < len(answer) * 0.6 for c in shown)


@pytest.mark.parametrize(("answer", "status"), [
    ("ViT 把图像切成 16x16 的 patch，展平后线性投影成 token 序列，加上位置编码送入 Transformer。", "partial"),
    ("ViT 把图像切成 16x16 的 patch，但不展平，也没有线性投影。", "missed"),  # named, but denied
    ("ViT 把图像切成 16x16 的 patch。每个 patch 要展平。后面接 Transformer，里面有很多投影。", "missed"),  # apart
])
def test_a_terse_statement_in_the_fields_terms_is_not_marked_missed(scorer, answer: str,  # type: ignore[no-untyped-def]
                                                                    status: str) -> None:
    # The embedder places this clause far from the point's full wording; its keywords say it states the point.
    point = next(p for p in scorer.score("vit-patch", answer).points if p.point_id == "flatten-project")
    assert point.status == status
    if status == "partial":
        assert point.evidence.clause == "展平后线性投影成 token 序列"


def test_cross_lingual_answers_score_alike(scorer) -> None:  # type: ignore[no-untyped-def]
    zh = scorer.score("clip-objective", LADDER["clip-objective"]["zh"]["complete"]).score
    en = scorer.score("clip-objective", LADDER["clip-objective"]["en"]["complete"]).score
    assert abs(zh - en) < 20 and min(zh, en) > 70


def test_score_round_trips_through_json(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("vit-sequence-length", "224/14=16，每边 16 个 patch，一共 256 个，加上 [CLS] 是 257。")
    again = Score.from_dict(json.loads(json.dumps(s.to_dict(), ensure_ascii=False)))
    assert again == s
    version, _, digest = s.rubric_version.partition("+")
    assert version.isdigit() and len(digest) == 12 and s.embedder_id == "use-multilingual"


def test_same_answer_same_score(scorer) -> None:  # type: ignore[no-untyped-def]
    text = LADDER["moco-simclr"]["mixed"]["partial"]
    assert scorer.score("moco-simclr", text) == scorer.score_many([("clip-idea", "x"), ("moco-simclr", text)])[1]


def test_unknown_question(scorer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownQuestionError, match="did you mean clip-idea"):
        scorer.score("clip-ideaa", "answer")


def test_huge_answer_is_truncated_and_flagged(scorer) -> None:  # type: ignore[no-untyped-def]
    s = scorer.score("clip-idea", "CLIP 用对比学习。" * 5000)
    assert "truncated" in s.flags and 0 <= s.score <= 100


def test_reference_only_rubric_is_graded_with_derived_points(tmp_path: Path, use_encoder) -> None:  # type: ignore[no-untyped-def]
    from harness.bank.importer import import_questions
    from harness.scoring.scorer import Scorer

    csv = tmp_path / "q.csv"
    csv.write_text(
        "question_id,topic,question,reference_answer\n"
        "q1,ml,What does a ViT do with an image?,"
        "\"It cuts the image into fixed-size patches, flattens each patch and projects it linearly to a token. "
        "A learnable class token and position embeddings are added before the Transformer encoder.\"\n",
        encoding="utf-8")
    bank = import_questions(csv, tmp_path / "bank")
    scorer = Scorer.load(bank, encoder=use_encoder, results_dir=tmp_path)
    good = scorer.score("q1", "The image is split into patches; each patch is flattened and linearly projected into "
                              "a token, then a class token and position embeddings are added and a Transformer runs.")
    half = scorer.score("q1", "The image is split into patches.")
    bad = scorer.score("q1", "Gradient descent lowers the loss step by step.")
    assert good.score > half.score > bad.score
    assert all(p.point_id.startswith("ref1-") for p in good.points)
    assert len(good.covered) >= 2


def test_a_point_is_matched_through_its_plain_alternative(scorer, bank) -> None:  # type: ignore[no-untyped-def]
    for qid, rubric in bank.rubrics.items():
        for point in rubric.key_points:
            plain = next((a.zh for a in point.alternatives if a.plain and a.zh), None)
            if plain is None:
                continue
            s = scorer.score(qid, plain)
            result = next(r for r in s.points if r.point_id == point.id)
            assert result.evidence.similarity > 0.98, (qid, point.id)  # the answer is pooled from its clauses
            assert result.status != "missed" and result.evidence.clause, (qid, point.id)
            return
    pytest.skip("no plain alternative in the bank")


def test_a_complete_hand_written_answer_scores_at_least_its_coverage(scorer, bank) -> None:  # type: ignore[no-untyped-def]
    reference = bank.rubrics["relative-vs-absolute-pe"].references[0].zh
    s = scorer.score("relative-vs-absolute-pe", reference)
    assert s.coverage > 0 and s.score >= s.coverage - 1e-6 and not s.misconceptions
    assert s.how().endswith(f"= {s.score:.0f}/100")


def test_how_names_every_step_and_is_left_out_when_there_is_none(scorer) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    s = scorer.score("clip-idea", "CLIP 用对比学习把图像和文本映射到同一个嵌入空间。")
    plain = replace(s, coverage=0.0, misconceptions=(), score=s.calibrated)
    assert not plain.adjusted and plain.how() == f"calibrated {s.calibrated:.0f} = {s.calibrated:.0f}/100"
    missed = tuple(replace(pt, status="missed") for pt in plain.points)  # the hold applies when none is caught
    held = replace(plain, calibrated=70.0, score=50.0, points=missed)
    assert held.adjusted and "held at half marks" in held.how()
    listed = replace(held, score=15.0, flags=("keyword-list",))
    assert "a bare list of terms" in listed.how() and "half marks" not in listed.how()
    elsewhere = replace(held, score=15.0, flags=("off-rubric",))
    assert "none of the rubric's terms" in elsewhere.how() and "half marks" not in elsewhere.how()
    graded = replace(held, score=20.0, flags=("anchor",))
    assert "the teacher's grade =" in graded.how()
    moved = replace(plain, calibrated=40.0, score=55.0)
    assert "teacher's grades of similar answers" in moved.how()


@pytest.mark.parametrize(("flags", "graded", "expected"), [
    ((), False, 80.0),
    (("keyword-list",), False, 15.0),
    (("off-rubric",), False, 15.0),  # the teacher's grades of similar answers do not lift a capped answer
    (("off-rubric",), True, 80.0),  # the teacher's own grade of it stands
])
def test_caps_hold_after_the_teachers_anchors_unless_they_graded_the_answer(flags: tuple[str, ...], graded: bool,
                                                                           expected: float) -> None:
    import numpy as np

    from harness.scoring.features import AnswerVectors
    from harness.scoring.scorer import Analysis, _anchored

    class Anchors:
        def adjust(self, qid: str, text: str, vector: np.ndarray, score01: float) -> tuple[float, bool]:
            return 0.8, graded

    answer = AnswerVectors("text", np.zeros(2, np.float32), ("text",), np.zeros((1, 2), np.float32))
    score, out = _anchored(Anchors(), Analysis("q", answer, None, flags), 15.0, flags)  # type: ignore[arg-type]
    assert score == expected and ("anchor" in out) is graded
