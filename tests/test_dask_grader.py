"""The grader with batches in flight (as on Dask), against a fake remote: same rows, same order, bounded."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from grade_helpers import FakeScorer, tiny_bank

from harness.grade import grader as grader_module
from harness.grade.grader import Progress, grade_cohort
from harness.grade.submissions import Answer, open_submissions
from harness.grade.tally import CohortTally, Graded
from harness.types import Bank


class Remote:
    """A BatchScorer that, like Dask, scores a batch only when collected, and records the traffic."""

    def __init__(self, bank: Bank, window: int) -> None:
        self.scorer = FakeScorer(bank)
        self.window = window
        self.batch_size = 512
        self.sent: list[list[tuple[str, str]]] = []
        self.out = 0
        self.most_out = 0

    def submit(self, items: Sequence[tuple[str, str]]) -> Batch:
        self.sent.append(list(items))
        self.out += 1
        self.most_out = max(self.most_out, self.out)
        return Batch(self, list(items))


class Batch:
    def __init__(self, remote: Remote, items: list[tuple[str, str]]) -> None:
        self.remote, self.items = remote, items

    def result(self) -> list[Graded]:
        self.remote.out -= 1
        return [grader_module.compact(s, self.remote.scorer.bank) for s in self.remote.scorer.score_many(self.items)]


def _cohort(path: Path, bank: Bank, people: int, seed: int = 3) -> Path:
    """Long layout; answers drawn from a small pool (many repeats) plus some unique ones and blanks."""
    rng = random.Random(seed)
    pool = ["对比学习 双塔 image-text pairs", "InfoNCE 对称的交叉熵", "patch embedding 16x16", "不知道", "",
            "zero-shot 分类 用文本提示", "CNN 提特征"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer"])
        for p in range(people):
            for qid in bank.questions:
                text = rng.choice(pool) if rng.random() < 0.8 else f"{rng.choice(pool)} 其{p}"
                out.writerow([f"s{p:04d}", qid, text])
    return path


def _grade(path: Path, bank: Bank, remote: Remote | None, **kw: object) -> tuple[list[tuple[Answer, Graded]], dict]:
    rows: list[tuple[Answer, Graded]] = []
    progress: list[Progress] = []
    tally = CohortTally()
    counts = grade_cohort(open_submissions(path, bank), FakeScorer(bank), tally=tally, sink=rows.extend,
                          progress=progress.append, batches=remote, **kw)  # type: ignore[arg-type]
    assert [p.answers for p in progress] == sorted(p.answers for p in progress)
    assert [p.bytes_read for p in progress] == sorted(p.bytes_read for p in progress)
    stats = tally.stats()
    return rows, {"counts": (counts.answers, counts.blanks, counts.people), "mean": stats.mean.tolist()}


@pytest.mark.parametrize(("window", "cache_size"), [(1, 20_000), (4, 20_000), (8, 30)])
def test_in_flight_batches_give_the_same_rows_in_the_same_order(tmp_path: Path, window: int, cache_size: int,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader_module, "MIN_BATCH", 20)  # many small batches, so many are in flight at once
    bank = tiny_bank()
    path = _cohort(tmp_path / "cohort.csv", bank, people=900)
    here, here_stats = _grade(path, bank, None, chunk_size=100, cache_size=cache_size)
    remote = Remote(bank, window)
    there, there_stats = _grade(path, bank, remote, chunk_size=100, cache_size=cache_size)
    assert [(a.row, a.question_id, g) for a, g in there] == [(a.row, a.question_id, g) for a, g in here]
    assert there_stats == here_stats
    assert remote.most_out == window + 1  # one over the window is sent before the oldest is collected
    sent = [item for batch in remote.sent for item in batch]
    if cache_size > len(sent):  # nothing evicted: an answer is scored once, never again while in flight
        assert len(sent) == len(set(sent))


def test_rows_waiting_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """However wide the window, no more than MAX_WAITING_ROWS rows wait for their scores (plus one unit)."""
    bank = tiny_bank()
    path = _cohort(tmp_path / "cohort.csv", bank, people=900)
    monkeypatch.setattr(grader_module, "MAX_WAITING_ROWS", 400)
    monkeypatch.setattr(grader_module, "MIN_BATCH", 1)
    waiting: list[int] = []
    original = grader_module._Grader._finish

    def finish(self: grader_module._Grader, unit: grader_module._Unit) -> None:
        waiting.append(self.rows_waiting)
        original(self, unit)

    monkeypatch.setattr(grader_module._Grader, "_finish", finish)
    here, _ = _grade(path, bank, None, chunk_size=100)
    waiting.clear()
    there, _ = _grade(path, bank, Remote(bank, window=1000), chunk_size=100)
    assert [g for _, g in there] == [g for _, g in here]
    assert max(waiting) <= 400 + 100 * len(bank.questions)
