from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Rating

from harness.practice import scheduler
from harness.practice.scheduler import Review
from harness.types import Question

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)


def q(qid: str, topic: str) -> Question:
    return Question(qid, topic, "easy", f"{qid} 是什么？")


BANK = [q("clip-a", "clip"), q("clip-b", "clip"), q("vit-a", "vit"), q("vit-b", "vit"),
        q("blip-a", "blip"), q("blip-b", "blip")]


@pytest.mark.parametrize(("score", "rating"), [
    (0, Rating.Again), (39.9, Rating.Again), (40, Rating.Hard), (59.9, Rating.Hard),
    (60, Rating.Good), (84.9, Rating.Good), (85, Rating.Easy), (100, Rating.Easy),
])
def test_rating_bands(score: float, rating: Rating) -> None:
    assert scheduler.rating_for(score) == rating


def test_replay_intervals_grow_with_score() -> None:
    states = scheduler.replay([
        Review("clip-a", "clip", T0, 20), Review("clip-b", "clip", T0, 50),
        Review("vit-a", "vit", T0, 70), Review("vit-b", "vit", T0, 95),
    ])
    dues = [states[k].due for k in ("clip-a", "clip-b", "vit-a", "vit-b")]
    assert dues == sorted(dues)
    assert dues[0] == T0 + timedelta(days=1)  # Again: tomorrow, in whole days
    assert dues[-1] > T0 + timedelta(days=5)


def test_replay_is_order_independent_and_counts_reviews() -> None:
    reviews = [Review("clip-a", "clip", T0 + timedelta(days=d), s) for d, s in ((0, 30), (2, 70), (9, 90))]
    a = scheduler.replay(reviews)
    b = scheduler.replay(list(reversed(reviews)))
    assert a == b
    assert a["clip-a"].reviews == 3 and a["clip-a"].last_score == 90
    assert a["clip-a"].due > T0 + timedelta(days=12)


def test_unseen_bank_order_when_no_history() -> None:
    picks = scheduler.plan(BANK, [], T0)
    assert [p.question.id for p in picks] == [x.id for x in BANK]
    assert {p.reason for p in picks} == {"unseen"}


def test_due_first_then_weak_topic_then_unseen_then_ahead() -> None:
    reviews = [
        Review("vit-a", "vit", T0, 30),       # Again: due tomorrow
        Review("blip-a", "blip", T0, 95),     # Easy: strong topic, not due for days
        Review("clip-a", "clip", T0, 65),     # Good: weak-ish topic (< 85), not due tomorrow
    ]
    now = T0 + timedelta(days=1, hours=1)
    picks = scheduler.plan(BANK, reviews, now)
    got = [(p.question.id, p.reason) for p in picks]
    assert got[0] == ("vit-a", "due")
    # weak topics, weakest first: vit (30) then clip (65); their unseen questions
    # and clip-a, tried over a day ago
    assert got[1:4] == [("vit-b", "weak-topic"), ("clip-b", "weak-topic"), ("clip-a", "weak-topic")]
    assert got[4:] == [("blip-b", "unseen"), ("blip-a", "ahead")]


def test_weak_topic_reasks_old_questions_only_after_a_day() -> None:
    pool = [q("clip-a", "clip"), q("vit-a", "vit")]
    reviews = [Review("clip-a", "clip", T0, 70)]  # Good: due in 3 days, topic weak
    soon = scheduler.plan(pool, reviews, T0 + timedelta(hours=2))
    assert [(p.question.id, p.reason) for p in soon] == [("vit-a", "unseen"), ("clip-a", "ahead")]
    later = scheduler.plan(pool, reviews, T0 + timedelta(days=1, hours=1))
    assert [(p.question.id, p.reason) for p in later][0] == ("clip-a", "weak-topic")


def test_most_overdue_first_and_exclude() -> None:
    reviews = [Review("clip-a", "clip", T0, 10), Review("vit-a", "vit", T0 - timedelta(days=3), 10)]
    now = T0 + timedelta(days=2)
    first = scheduler.next_question(BANK, reviews, now)
    assert first is not None and first.question.id == "vit-a" and first.reason == "due"
    assert first.state is not None and first.state.is_due(now)
    second = scheduler.next_question(BANK, reviews, now, exclude=["vit-a"])
    assert second is not None and second.question.id == "clip-a"
    assert scheduler.next_question(BANK, reviews, now, exclude=[x.id for x in BANK]) is None


def test_topic_strength_uses_latest_score_per_question() -> None:
    states = scheduler.replay([
        Review("clip-a", "clip", T0, 10), Review("clip-a", "clip", T0 + timedelta(days=1), 90),
        Review("clip-b", "clip", T0, 50),
    ])
    assert scheduler.topic_strength(states.values()) == {"clip": 70.0}
