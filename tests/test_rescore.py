"""Choosing and re-scoring stale attempts (harness.practice.rescore), with a stand-in scorer."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest
from practice_helpers import T0, FakeScorer, stored

from harness.errors import CalibrationError
from harness.practice import rescore, store
from harness.types import Bank, Score


@dataclass
class NewScorer:
    """Scores 55 with embedder `emb`, calibration `cal-2` and the bank's current rubric versions."""

    bank: Bank
    embedder_id: str = "use-multilingual"
    calibration_id: str = "cal-2"
    batches: list[int] = field(default_factory=list)
    embedded: list[list[str]] = field(default_factory=list)

    def rubric_vectors(self, question_ids: Sequence[str]) -> None:
        self.embedded.append(list(question_ids))

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]:
        self.batches.append(len(items))
        fake = FakeScorer(self.calibration_id)
        return [replace(fake.score(q, "x" * 11), rubric_version=current(self.bank, q), embedder_id=self.embedder_id)
                for q, _ in items]


def current(bank: Bank, qid: str) -> str:
    return bank.rubrics[qid].version_id


def test_stale_means_another_rubric_embedder_or_calibration(answer_bank: Bank) -> None:
    scorer = NewScorer(answer_bank)
    v = current(answer_bank, "clip-idea")
    up_to_date = stored(1, "clip-idea", "clip", 50, rubric=v, calibration="cal-2")
    rows = [
        up_to_date,
        stored(2, "clip-idea", "clip", 50, rubric=v, calibration="cal-1"),
        stored(3, "clip-idea", "clip", 50, rubric=v, calibration="cal-2", embedder="st:all-MiniLM-L6-v2"),
        stored(4, "clip-idea", "clip", 50, rubric="0+old", calibration="cal-2"),
    ]
    assert [rescore.is_stale(a, scorer, bank=answer_bank) for a in rows] == [False, True, True, True]
    assert [a.attempt_id for a in rescore.stale(rows, scorer, bank=answer_bank)] == [2, 3, 4]
    assert rescore.stale(rows, scorer, bank=answer_bank, force=True) == rows


def test_batches() -> None:
    assert [len(b) for b in rescore.batches(list(range(130)))] == [64, 64, 2]
    assert list(rescore.batches([1, 2, 3], 2)) == [[1, 2], [3]]
    assert list(rescore.batches([])) == []


def seed(conn: sqlite3.Connection, bank: Bank) -> None:
    fake = FakeScorer("cal-1")
    items = [("clip-idea", "x" * 8, "alice"), ("vit-patch", "x" * 12, "alice"), ("gone-question", "x", "alice"),
             ("clip-idea", "x" * 4, "bob")]
    store.record(conn, [(store.NewAttempt(user, qid, "t", answer, T0, T0), fake.score(qid, answer))
                        for qid, answer, user in items])


def test_rescore_stores_new_scores_and_reports(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    seed(fresh_db, answer_bank)
    scorer = NewScorer(answer_bank)
    steps: list[tuple[str, int, int]] = []
    done = rescore.rescore(fresh_db, answer_bank, load=lambda: scorer, user="alice",
                           progress=lambda *step: steps.append(step))
    assert done == rescore.RescoreResult("use-multilingual", "cal-2", 2, 0, ((55 - 40) + (55 - 60)) / 2,
                                         ("gone-question",))
    assert steps == [("Loading the embedder", 0, 1), ("Loading the embedder", 1, 1), ("Embedding rubrics", 0, 2),
                     ("Embedding rubrics", 2, 2), ("Re-scoring attempts", 0, 2), ("Re-scoring attempts", 2, 2)]
    assert scorer.embedded == [["clip-idea", "vit-patch"]]
    assert scorer.batches == [2]
    alice = store.attempts(fresh_db, user="alice")
    assert [(a.question_id, a.score) for a in alice] == [("clip-idea", 55.0), ("vit-patch", 55.0),
                                                         ("gone-question", 5.0)]
    assert [s[0] for s in store.score_history(fresh_db, 1)] == [40.0, 55.0]  # the old score is kept
    assert store.attempts(fresh_db, user="bob")[0].score == 20.0


def test_rescore_everyone_and_nothing_left(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    seed(fresh_db, answer_bank)
    first = rescore.rescore(fresh_db, answer_bank, load=lambda: NewScorer(answer_bank), user=None)
    assert (first.rescored, first.up_to_date) == (3, 0)
    again = rescore.rescore(fresh_db, answer_bank, load=lambda: NewScorer(answer_bank), user=None)
    assert (again.rescored, again.up_to_date, again.mean_change) == (0, 3, None)


def test_rescore_stores_nothing_when_scoring_fails(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    seed(fresh_db, answer_bank)

    class Broken(NewScorer):
        def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]:
            raise CalibrationError("this scorer has no calibration; run `harness calibrate` first")

    with pytest.raises(CalibrationError):
        rescore.rescore(fresh_db, answer_bank, load=lambda: Broken(answer_bank), user="alice")
    assert [len(store.score_history(fresh_db, i)) for i in (1, 2, 3, 4)] == [1, 1, 1, 1]
