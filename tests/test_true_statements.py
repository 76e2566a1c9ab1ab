"""No misconception fires on a true statement; every reference answer scores as one.

`tests/data/true_statements.yaml` holds correct sentences per question,
written from the questions and the facts independently of the rubrics:
correct contrasts ("和 BERT 不同", "不在输入层"), true remarks about
neighbouring models, plain restatements. Each is scored as a one-sentence
answer and inside a reference-quality answer (the rubric's own reference in
the sentence's language, with the sentence appended). Wrongly telling a
candidate they hold a misconception costs more trust than missing one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.scoring.text import has_cjk, split_sentences
from harness.types import Bank

TRUE = yaml.safe_load((Path(__file__).parent / "data" / "true_statements.yaml").read_text(encoding="utf-8"))


def _reference_in(bank: Bank, qid: str, sentence: str) -> str:
    """The question's first reference in the sentence's language (either, if it has one only)."""
    zh = has_cjk(sentence)
    ref = bank.rubrics[qid].references[0]
    return (ref.zh if zh else ref.en) or ref.primary


def _fired(scorer, items: list[tuple[str, str]]) -> list[str]:  # type: ignore[no-untyped-def]
    scores = scorer.score_many(items)
    return [f"{q}: {m.misconception_id} on {m.evidence.clause!r}"
            for (q, _), s in zip(items, scores) for m in s.misconceptions]


def test_the_set_covers_every_question(bank: Bank) -> None:
    assert set(TRUE) == set(bank.questions)
    assert sum(len(v) for v in TRUE.values()) >= 200


def test_no_misconception_fires_on_a_true_sentence_alone(scorer) -> None:  # type: ignore[no-untyped-def]
    items = [(q, s) for q, sentences in TRUE.items() for s in sentences]
    assert _fired(scorer, items) == []


def test_no_misconception_fires_on_a_true_sentence_in_a_good_answer(scorer, bank: Bank) -> None:  # type: ignore[no-untyped-def]
    items = []
    for q, sentences in TRUE.items():
        for s in sentences:
            ref = _reference_in(bank, q, s).strip()
            items.append((q, f"{ref}{'' if has_cjk(s) else ' '}{s}"))
    assert _fired(scorer, items) == []


def test_no_misconception_fires_on_any_sentence_of_a_reference(scorer, bank: Bank) -> None:  # type: ignore[no-untyped-def]
    items = [(q, s) for q, r in bank.rubrics.items() for ref in r.references for t in ref.texts
             for s in split_sentences(t)]
    assert _fired(scorer, items) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reference_scores_85_with_no_misconception(scorer, bank: Bank, lang: str) -> None:  # type: ignore[no-untyped-def]
    items = [(q, t) for q, r in bank.rubrics.items() for ref in r.references
             if (t := (ref.zh if lang == "zh" else ref.en))]
    scores = scorer.score_many(items)
    low = [(q, s.score, [m.misconception_id for m in s.misconceptions])
           for (q, _), s in zip(items, scores) if s.score < 85 or s.misconceptions]
    assert low == []
    assert len(items) >= len(bank.questions) // 2
