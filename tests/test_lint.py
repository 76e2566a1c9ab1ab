"""Bank lint warnings (harness/bank/lint.py): valid rubrics that would score badly."""

from __future__ import annotations

from harness.bank.lint import lint_bank, lint_rubric
from harness.types import Alternative, Bank, KeyPoint, KeywordGroup, Misconception, Reference, Rubric


def _rubric(*, point_aliases: tuple[str, ...] = ("零样本", "zero-shot"), cue: tuple[str, ...] = ("需要微调",),
            answer_keywords: tuple[str, ...] = (), plain: tuple[bool, ...] = (True, True)) -> Rubric:
    points = tuple(
        KeyPoint(f"p{i}", f"P{i}", f"point {i}", 1.0, (KeywordGroup(point_aliases if i == 0 else (f"x{i}",)),),
                 alternatives=(Alternative(zh=f"说法 {i}", plain=is_plain),))
        for i, is_plain in enumerate(plain)
    )
    misc = Misconception("needs-finetuning", "要先微调", (KeywordGroup(cue),), 10.0)
    keywords = (KeywordGroup(answer_keywords),) if answer_keywords else ()
    return Rubric("q1", "1", (Reference(zh="参考"),), points, (misc,), keywords, path="rubrics/q1.yaml")


def test_a_clean_rubric_has_no_warning() -> None:
    assert lint_rubric(_rubric()) == []


def test_an_alias_that_is_also_a_cue_is_a_warning() -> None:
    warnings = lint_rubric(_rubric(point_aliases=("零样本", "Fine-Tune"), cue=("需要微调", "fine tune")))
    assert warnings == [
        "rubrics/q1.yaml: key_points[0] (p0).keywords: alias 'Fine-Tune' is also a cue of misconception "
        "'needs-finetuning'; narrow the cue to the wrong claim or drop the alias"
    ]


def test_an_answer_level_keyword_that_is_also_a_cue_is_a_warning() -> None:
    (warning,) = lint_rubric(_rubric(answer_keywords=("微调", "需要微调")))
    assert warning.startswith("rubrics/q1.yaml: keywords: alias '需要微调'")


def test_a_point_without_a_plain_alternative_among_points_with_one() -> None:
    (warning,) = lint_rubric(_rubric(plain=(True, False)))
    assert warning.startswith("rubrics/q1.yaml: key_points[1] (p1).alternatives: no plain-language alternative")
    assert lint_rubric(_rubric(plain=(False, False))) == []  # a rubric that uses no plain alternatives


def test_the_bank_is_linted_in_question_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from harness.types import Question

    bad = _rubric(point_aliases=("需要微调",))
    rubrics = {"b": replace(bad, question_id="b", path="rubrics/b.yaml"), "a": _rubric(plain=(True, False))}
    questions = {q: Question(q, "t", "easy", "问题") for q in ("b", "a")}
    warnings = lint_bank(Bank(tmp_path, questions, rubrics, "v"))
    assert [w.split(":")[0] for w in warnings] == ["rubrics/b.yaml", "rubrics/q1.yaml"]
