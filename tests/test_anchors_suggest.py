"""`grade --suggest-anchors K`: which answers go into anchors-to-grade.csv, and how (no model needed)."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.grade.schema import RESULT_COLUMNS
from harness.grade.submissions import Answer
from harness.grade.suggest import SUGGEST_FILE, Suggester
from harness.grade.tally import Graded
from harness.scoring.anchors import AnchorPrior
from harness.types import Bank

PRIOR = AnchorPrior(offset=0.005, slope=0.15, similar=0.035, length=0.27, noise=0.0014)
NAMES = [c.name for c in RESULT_COLUMNS]


class VectorScorer:
    """Each answer's vector from its text's hash; a calibration that only has the anchor prior."""

    calibration = SimpleNamespace(id="test", extra={"anchor_prior": PRIOR.as_json()})

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def anchor_state(self) -> None:
        return None

    def answer_vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        self.asked += items
        return [np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for _, t in items]


def graded(i: int, qid: str, text: str, *, score: float = 50.0, flags: str = "",
           review: str = "") -> tuple[Answer, Graded]:
    values = {"flags": flags, "score": f"{score:.1f}", "review": review}
    cells = tuple(values.get(n, "") for n in NAMES)
    return (Answer(i + 2, f"s{i:03d}", i, qid, text, ()),
            Graded("t", score, not text, bool(flags), (), (), (), cells))


def written(folder: Path) -> list[dict[str, str]]:
    with (folder / SUGGEST_FILE).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def rows(bank: Bank) -> list[tuple[Answer, Graded]]:
    q1, q2 = list(bank.questions)[:2]
    out = [graded(i, q1 if i % 2 else q2, f"answer {i}", score=float(i % 90)) for i in range(40)]
    out += [graded(40, q1, ""), graded(41, q1, "不知道", flags="no-answer"), graded(42, q1, "done", flags="anchor"),
            graded(43, q1, "odd one", review="wide-interval"),  # review reasons, as the scorer writes them
            graded(44, q2, "=odd two", flags="keyword-list", review="wide-interval; verdict-conflict")]
    return out


def test_k_per_question_then_the_review_flagged_apart(bank: Bank, rows: list[tuple[Answer, Graded]],
                                                      tmp_path: Path) -> None:
    suggester = Suggester(3, bank)
    suggester.add(rows)
    name, record = suggester.write(tmp_path, VectorScorer(), None)
    got = written(tmp_path)
    q1, q2 = list(bank.questions)[:2]
    kinds = [(r["question_id"], r["why_chosen"].split(":")[0]) for r in got]
    picks = [(q, f"pick {n} of 3") for q in (q1, q2) for n in (1, 2, 3)]
    assert [k for k in kinds if k[1] != "review"] == picks
    flagged = {q1: "odd one", q2: "'=odd two"}  # Excel-safe
    for q in (q1, q2):  # the K picks, then the flagged answer unless it was picked
        mine = [r for r in got if r["question_id"] == q]
        picked = flagged[q] in {r["answer"] for r in mine[:3]}
        assert [r["why_chosen"].split(":")[0] for r in mine[3:]] == ([] if picked else ["review"])
        assert [r["answer"] for r in mine[3:]] == ([] if picked else [flagged[q]])
    assert not {"", "不知道", "done"} & {r["answer"] for r in got}  # blank, no answer, already graded
    assert all(r["human_score"] == "" and r["human_score_max"] == "100" for r in got)
    assert (name, record["chosen"], record["per_question"]) == (SUGGEST_FILE, 6, 3)
    assert record["review"] == sum(r["why_chosen"].startswith("review") for r in got)
    assert (tmp_path / SUGGEST_FILE).read_bytes().startswith(b"\xef\xbb\xbf")


def test_flagged_answers_are_candidates_and_never_listed_twice(bank: Bank, tmp_path: Path) -> None:
    q1 = list(bank.questions)[0]
    rows = [graded(i, q1, f"unsure {i}", review="wide-interval", score=10.0 * i) for i in range(6)]
    rows.append(graded(10, q1, "sure one"))
    suggester = Suggester(3, bank)
    suggester.add(rows)
    _, record = suggester.write(tmp_path, VectorScorer(), None)
    got = written(tmp_path)
    picks = [r["answer"] for r in got if r["why_chosen"].startswith("pick")]
    listed = [r["answer"] for r in got if r["why_chosen"].startswith("review")]
    assert len(picks) == 3 and sum(a.startswith("unsure") for a in picks) >= 2  # flagged answers can be picked
    assert not set(listed) & set(picks)  # a picked answer is not listed again
    assert len(listed) == 3 and all(a.startswith("unsure") for a in listed)  # up to K of the others
    assert (record["chosen"], record["review"]) == (3, 3)


def test_the_sample_does_not_depend_on_the_order_of_the_rows(bank: Bank, rows: list[tuple[Answer, Graded]],
                                                             tmp_path: Path) -> None:
    results = []
    for n, order in enumerate((rows, rows[::-1])):
        suggester, scorer = Suggester(2, bank, sample=5), VectorScorer()
        for i in range(0, len(order), 7):  # in batches, as the run hands them over
            suggester.add(order[i : i + 7])
        (tmp_path / str(n)).mkdir()
        suggester.write(tmp_path / str(n), scorer, None)
        results.append((written(tmp_path / str(n)), sorted(scorer.asked)))
    assert results[0] == results[1]
    assert len(results[0][1]) == 10  # 5 per question embedded, not all 40


def test_a_question_with_only_flagged_answers_still_gets_k_picks(bank: Bank, tmp_path: Path) -> None:
    q1 = list(bank.questions)[0]
    rows = [graded(0, q1, "sure one"), graded(1, q1, "sure two"),
            graded(2, q1, "unsure one", review="wide-interval"), graded(3, q1, "unsure two", review="wide-interval")]
    suggester = Suggester(3, bank)
    suggester.add(rows)
    _, record = suggester.write(tmp_path, VectorScorer(), None)
    got = written(tmp_path)
    assert [r["why_chosen"].split(":")[0] for r in got][:3] == ["pick 1 of 3", "pick 2 of 3", "pick 3 of 3"]
    answers = [r["answer"] for r in got]
    assert len(answers) == len(set(answers)) == 4  # the one flagged answer not picked is listed apart, once
    assert (record["chosen"], record["review"]) == (3, 1)
