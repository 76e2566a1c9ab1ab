"""Which question next: FSRS spaced repetition driven by scores, not self-rating.

Each question is an FSRS card. Its state is rebuilt by replaying the user's
attempts on it in time order (so a `rescore` reschedules too), each attempt's
0-100 score mapped to an FSRS rating by `rating_for`:

    score < 40 -> Again, < 60 -> Hard, < 85 -> Good, else Easy.

Intervals are whole days (no minute-long learning steps: a written answer is
not a flashcard) and unfuzzed, so the same history always gives the same plan.

`plan` orders the questions: due reviews first (most overdue first), then the
weakest topics (latest-score average below `WEAK_BELOW`, weakest first; their
unseen questions, then their questions last tried over `REASK_AFTER` ago,
oldest first), then unseen questions of the other topics, then everything
else by due date (reviewing ahead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from fsrs import Card, Rating, Scheduler

from harness.types import Question

# (upper bound, rating): the first band whose bound exceeds the score wins.
RATING_BANDS: tuple[tuple[float, Rating], ...] = (
    (40.0, Rating.Again),
    (60.0, Rating.Hard),
    (85.0, Rating.Good),
)
WEAK_BELOW = 85.0
REASK_AFTER = timedelta(days=1)
Reason = Literal["due", "weak-topic", "unseen", "ahead"]

_SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def rating_for(score: float) -> Rating:
    """Map a 0-100 score to its FSRS rating (see `RATING_BANDS`)."""
    for bound, rating in RATING_BANDS:
        if score < bound:
            return rating
    return Rating.Easy


@dataclass(frozen=True)
class Review:
    """One scored attempt, as the scheduler sees it."""

    question_id: str
    topic: str
    submitted_at: datetime
    score: float


@dataclass(frozen=True)
class CardState:
    """A question's FSRS state after replaying its reviews."""

    question_id: str
    topic: str
    due: datetime
    last_review: datetime
    last_score: float
    reviews: int
    stability: float

    def is_due(self, now: datetime) -> bool:
        """Tell whether the review date has come."""
        return self.due <= now


@dataclass(frozen=True)
class Pick:
    """A question chosen by `plan`, and why."""

    question: Question
    reason: Reason
    state: CardState | None = None


def replay(reviews: Iterable[Review]) -> dict[str, CardState]:
    """Each reviewed question's card state, replaying reviews in time order."""
    cards: dict[str, tuple[Card, Review, int]] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        card, _, count = cards.get(review.question_id, (None, review, 0))
        if card is None:
            card = Card(card_id=1, due=review.submitted_at)
        card, _ = _SCHEDULER.review_card(card, rating_for(review.score), review.submitted_at)
        cards[review.question_id] = (card, review, count + 1)
    return {
        qid: CardState(qid, last.topic, card.due, last.submitted_at, last.score, count,
                       float(card.stability or 0))
        for qid, (card, last, count) in cards.items()
    }


def topic_strength(states: Iterable[CardState]) -> dict[str, float]:
    """Per topic, the mean of the latest score of each question tried."""
    by_topic: dict[str, list[float]] = {}
    for s in states:
        by_topic.setdefault(s.topic, []).append(s.last_score)
    return {t: sum(v) / len(v) for t, v in by_topic.items()}


def plan(
    questions: Sequence[Question],
    reviews: Iterable[Review],
    now: datetime,
    *,
    exclude: Iterable[str] = (),
) -> list[Pick]:
    """Every question of `questions` not in `exclude`, most needed first (see module doc)."""
    skip = set(exclude)
    pool = [q for q in questions if q.id not in skip]
    order = {q.id: i for i, q in enumerate(pool)}
    states = replay(reviews)
    strength = topic_strength(states.values())
    weak = sorted((t for t, v in strength.items() if v < WEAK_BELOW), key=lambda t: (strength[t], t))
    picks: list[Pick] = []
    taken: set[str] = set()

    def take(qs: Iterable[Question], reason: Reason) -> None:
        for q in qs:
            if q.id not in taken:
                taken.add(q.id)
                picks.append(Pick(q, reason, states.get(q.id)))

    due = [q for q in pool if q.id in states and states[q.id].is_due(now)]
    take(sorted(due, key=lambda q: (states[q.id].due, order[q.id])), "due")
    for topic in weak:
        in_topic = [q for q in pool if q.topic == topic]
        take([q for q in in_topic if q.id not in states], "weak-topic")
        take(sorted((q for q in in_topic if q.id in states and now - states[q.id].last_review >= REASK_AFTER),
                    key=lambda q: (states[q.id].last_review, order[q.id])), "weak-topic")
    take([q for q in pool if q.id not in states], "unseen")
    take(sorted((q for q in pool if q.id in states), key=lambda q: (states[q.id].due, order[q.id])), "ahead")
    return picks


def next_question(
    questions: Sequence[Question],
    reviews: Iterable[Review],
    now: datetime,
    *,
    exclude: Iterable[str] = (),
) -> Pick | None:
    """Return the first pick of `plan`, or None when every question is excluded."""
    picks = plan(questions, reviews, now, exclude=exclude)
    return picks[0] if picks else None
