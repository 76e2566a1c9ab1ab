from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from practice_helpers import BANK_DIR, T0, FakeClock, FakeScorer

from harness.bank.loader import load_bank
from harness.errors import EmbedderError, HarnessError, UnknownQuestionError
from harness.practice import session as practice
from harness.practice import store
from harness.types import Bank


@pytest.fixture(scope="module")
def answer_bank() -> Bank:
    return load_bank(BANK_DIR)


@pytest.fixture
def fresh_db() -> sqlite3.Connection:
    conn = store.connect(":memory:")
    yield conn
    conn.close()


def make_session(conn: sqlite3.Connection, bank: Bank, scorer: FakeScorer | None = None,
                 clock: FakeClock | None = None, **kwargs: object) -> practice.Session:
    s = scorer or FakeScorer()
    return practice.Session(conn, bank, lambda: s, user="alice", clock=clock or FakeClock(), **kwargs)  # type: ignore[arg-type]


def test_submit_scores_records_and_compares(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    session = make_session(fresh_db, answer_bank)
    pick = session.next()
    assert pick is not None and pick.question.id == "blip-idea" and pick.reason == "unseen"
    fb = session.submit(pick.question, "short", started_at=T0)
    assert fb.score.score == 25.0 and fb.attempt_id == 1
    assert fb.comparison.lines() == ["First attempt at this question.", "First attempt in this topic."]
    assert fb.reference.startswith("BLIP")
    (row,) = store.attempts(fresh_db, user="alice")
    assert (row.question_id, row.topic, row.answer, row.started_at) == ("blip-idea", "blip", "short", T0)
    assert row.submitted_at > T0


def test_comparison_with_earlier_attempts(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    clip, other = answer_bank.questions["clip-idea"], answer_bank.questions["clip-architecture"]
    first = make_session(fresh_db, answer_bank)
    first.submit(clip, "a" * 8, started_at=T0)          # 40
    first.submit(other, "a" * 16, started_at=T0)        # 80
    second = make_session(fresh_db, answer_bank, clock=FakeClock(T0 + timedelta(days=2)))
    fb = second.submit(clip, "a" * 12, started_at=T0)   # 60
    c = fb.comparison
    assert (c.previous, c.best_before, c.topic_average_before) == (40.0, 40.0, 60.0)
    assert c.lines() == [
        "Question: +20 on your last attempt (40); best before 40 over 1 attempt.",
        "Topic: level on your recent average (60).",
    ]


def test_comparison_flags_other_versions(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    clip = answer_bank.questions["clip-idea"]
    make_session(fresh_db, answer_bank, FakeScorer("cal-old")).submit(clip, "x" * 4, started_at=T0)
    fb = make_session(fresh_db, answer_bank, FakeScorer("cal-new")).submit(clip, "x" * 2, started_at=T0)
    assert not fb.comparison.like_for_like
    assert "run `harness rescore`" in fb.comparison.lines()[-1]
    assert "-10 on your last attempt" in fb.comparison.lines()[0]


def test_session_never_repeats_and_honours_limit(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    session = make_session(fresh_db, answer_bank, limit=3)
    seen = []
    while (pick := session.next()) is not None:
        seen.append(pick.question.id)
        if len(seen) == 2:
            session.mark_asked(pick.question)  # a skip
        else:
            session.submit(pick.question, "答案" * 10, started_at=T0)
    assert len(seen) == 3 == len(set(seen))
    assert len(session.answered) == 2


def test_next_session_starts_with_due_question(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    first = make_session(fresh_db, answer_bank)
    vit = answer_bank.questions["vit-patch"]
    first.submit(vit, "x", started_at=T0)                      # 5: Again, due tomorrow
    first.submit(answer_bank.questions["clip-idea"], "x" * 19, started_at=T0)  # 95: Easy
    later = make_session(fresh_db, answer_bank, clock=FakeClock(T0 + timedelta(days=1, hours=2)))
    pick = later.next()
    assert pick is not None and (pick.question.id, pick.reason) == ("vit-patch", "due")


def test_fixed_order_follows_the_given_ids(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    pool = practice.select_questions(answer_bank, question_ids=["vit-patch", "clip-idea"])
    session = make_session(fresh_db, answer_bank, questions=pool, fixed_order=True)
    order = []
    while (pick := session.next()) is not None:
        order.append(pick.question.id)
        session.mark_asked(pick.question)
    assert order == ["vit-patch", "clip-idea"]


def test_select_questions(answer_bank: Bank) -> None:
    assert [q.id for q in practice.select_questions(answer_bank, topics=["vit"])] == [
        "vit-patch", "vit-sequence-length"]
    assert len(practice.select_questions(answer_bank)) == 5
    with pytest.raises(HarnessError, match="unknown topic 'vitt'; the bank's topics are: blip, clip, vit"):
        practice.select_questions(answer_bank, topics=["vitt"])
    with pytest.raises(UnknownQuestionError, match="did you mean clip-idea"):
        practice.select_questions(answer_bank, question_ids=["clip-idae"])


def test_hint_shows_headings_not_text(answer_bank: Bank) -> None:
    titles = practice.hint(answer_bank, "clip-idea")
    rubric = answer_bank.rubrics["clip-idea"]
    assert titles == [p.title for p in rubric.key_points]
    assert not any(p.text in titles for p in rubric.key_points)


def test_hint_for_reference_only_rubric(tmp_path: Path) -> None:
    (tmp_path / "questions").mkdir()
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "questions" / "q.yaml").write_text(
        "questions:\n  - {id: q1, topic: t, difficulty: easy, prompt: 什么是 ViT？}\n", encoding="utf-8")
    (tmp_path / "rubrics" / "q1.yaml").write_text(
        "question_id: q1\nversion: 1\nreferences:\n  - ViT 把图像切成 patch。每个 patch 线性投影成 token。\n",
        encoding="utf-8")
    bank = load_bank(tmp_path)
    (line,) = practice.hint(bank, "q1")
    assert "no headings" in line and "patch" not in line


def test_clock_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_NOW", "2031-05-06T07:08:09Z")
    clock = practice.Clock()
    first = clock()
    assert first >= datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert first < datetime(2031, 5, 6, 7, 8, 19, tzinfo=timezone.utc)
    assert clock() >= first
    with pytest.raises(HarnessError, match="HARNESS_NOW='tomorrow' is not an ISO 8601 time"):
        practice.Clock("tomorrow")
    monkeypatch.delenv("HARNESS_NOW")
    assert abs(practice.Clock()() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_default_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_USER", "小明")
    assert practice.default_user() == "小明"
    monkeypatch.delenv("HARNESS_USER")
    assert practice.default_user()


def test_background_scorer_loads_while_caller_continues() -> None:
    def slow() -> FakeScorer:
        time.sleep(0.3)
        return FakeScorer()

    loader = practice.BackgroundScorer(slow)
    assert not loader.ready
    assert isinstance(loader.get(), FakeScorer) and loader.ready


def test_background_scorer_reraises_in_caller() -> None:
    def broken() -> FakeScorer:
        raise EmbedderError("unknown embedder 'x'")

    loader = practice.BackgroundScorer(broken)
    with pytest.raises(EmbedderError, match="unknown embedder"):
        loader.get()


@pytest.mark.slow
def test_real_scorer_same_answer_same_score(answer_bank: Bank, use_encoder: object,
                                            fresh_db: sqlite3.Connection, tmp_path: Path) -> None:
    from harness.scoring.scorer import Scorer

    scorer = Scorer.load(answer_bank, encoder=use_encoder, results_dir=tmp_path)  # type: ignore[arg-type]
    session = practice.Session(fresh_db, answer_bank, lambda: scorer, user="alice", clock=FakeClock())
    clip = answer_bank.questions["clip-idea"]
    text = "CLIP 用对比学习把图像和文本映射到同一个嵌入空间，训练后可以直接做零样本分类。"
    a = session.submit(clip, text, started_at=T0)
    b = session.submit(clip, text, started_at=T0)
    assert a.score.to_dict() == b.score.to_dict()
    assert 0 < a.score.score <= 100
    assert b.comparison.lines()[0].startswith("Question: level on your last attempt")


def test_background_scorer_can_start_later() -> None:
    calls: list[int] = []

    def load() -> FakeScorer:
        calls.append(1)
        return FakeScorer()

    loader = practice.BackgroundScorer(load, start=False)
    time.sleep(0.05)
    assert calls == [] and not loader.ready
    loader.start()
    loader.start()  # idempotent
    assert isinstance(loader.get(), FakeScorer) and calls == [1]


def test_prepare_embeds_the_rubric_before_submit(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    scorer = FakeScorer(prepare_seconds=0.1)
    session = practice.Session(fresh_db, answer_bank, lambda: scorer, user="alice", clock=FakeClock())
    clip = answer_bank.questions["clip-idea"]
    session.prepare(clip)
    session.submit(clip, "答案", started_at=T0)
    assert scorer.prepared == [["clip-idea"]]
    assert scorer.calls == [("clip-idea", "答案")]


def test_prepare_leaves_load_errors_to_submit(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    def broken() -> FakeScorer:
        raise EmbedderError("cannot load the embedder")

    loader = practice.BackgroundScorer(broken)
    session = practice.Session(fresh_db, answer_bank, loader.get, user="alice", clock=FakeClock())
    clip = answer_bank.questions["clip-idea"]
    session.prepare(clip)
    with pytest.raises(EmbedderError, match="cannot load the embedder"):
        session.submit(clip, "答案", started_at=T0)
    assert store.attempts(fresh_db) == []
