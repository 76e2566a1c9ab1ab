"""The paraphrase ladder: the scorer hears meaning, not wording.

`tests/data/paraphrase_ladder.yaml` was written from the questions and the
facts only, without reading the rubrics: for every question (in Chinese, ten
also in English) a complete answer in the field's terms, the same content in
plain everyday words, a partial answer, a misconception and keyword stuffing,
each graded 0-10 by an interviewer. Per language, plain complete answers must
average at least 70 and stay within 15 points of the worded ones, both above
partial answers; misconceptions and stuffing below partial answers, on
average and for every question.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.types import Score

LADDER = yaml.safe_load((Path(__file__).parent / "data" / "paraphrase_ladder.yaml").read_text(encoding="utf-8"))
KINDS = ("terms", "plain", "partial", "misconception", "stuffing")
LANGS = ("zh", "en")


@pytest.fixture(scope="module")
def ladder(scorer) -> dict[tuple[str, str, str], Score]:  # type: ignore[no-untyped-def]
    items = [(q, lang, kind) for q, langs in LADDER.items() for lang, kinds in langs.items() for kind in kinds]
    scores = scorer.score_many([(q, LADDER[q][lang][kind]["text"]) for q, lang, kind in items])
    return dict(zip(items, scores))


def _means(ladder: dict[tuple[str, str, str], Score], lang: str) -> dict[str, float]:
    return {k: statistics.mean(s.score for (_, lg, kind), s in ladder.items() if lg == lang and kind == k)
            for k in KINDS}


def test_the_ladder_covers_every_question_in_chinese_and_ten_in_english(bank) -> None:  # type: ignore[no-untyped-def]
    assert set(LADDER) == set(bank.questions)
    assert all(set(v["zh"]) == set(KINDS) for v in LADDER.values())
    assert sum("en" in v for v in LADDER.values()) >= 10


@pytest.mark.parametrize("lang", LANGS)
def test_plain_answers_score_like_worded_ones_on_average(ladder, lang: str) -> None:  # type: ignore[no-untyped-def]
    means = _means(ladder, lang)
    assert means["plain"] >= 70, means
    assert means["terms"] - means["plain"] <= 15, means
    assert min(means["terms"], means["plain"]) > means["partial"], means
    assert max(means["misconception"], means["stuffing"]) < means["partial"], means


@pytest.mark.parametrize("lang", LANGS)
def test_order_holds_for_every_question(ladder, lang: str) -> None:  # type: ignore[no-untyped-def]
    wrong = []
    for q, langs in LADDER.items():
        if lang not in langs:
            continue
        s = {kind: ladder[(q, lang, kind)].score for kind in KINDS}
        if not (min(s["terms"], s["plain"]) > s["partial"] > max(s["misconception"], s["stuffing"])):
            wrong.append((q, {k: round(v) for k, v in s.items()}))
    assert wrong == []


def test_scores_follow_the_interviewer_grades(ladder) -> None:  # type: ignore[no-untyped-def]
    grades = [LADDER[q][lang][kind]["grade"] for q, lang, kind in ladder]
    r = float(np.corrcoef(grades, [s.score for s in ladder.values()])[0, 1])
    assert r >= 0.8, r


def test_feedback_agrees_with_the_score(ladder) -> None:  # type: ignore[no-untyped-def]
    for key, s in ladder.items():
        if s.score >= 60:
            assert s.covered or s.partial, key
        if s.score < 20:
            assert sum(p.weight for p in s.covered) < sum(p.weight for p in s.points) / 2, key
