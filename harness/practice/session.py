"""A practice session, independent of any terminal: pick, score, record, compare.

`Session.next()` asks the scheduler for the question that matters most,
`Session.submit()` scores the answer, stores it (one transaction) and says
how it compares with the user's earlier attempts on the question and topic.
An answer the history cannot take (read-only, locked, damaged, disk full)
is kept in a recovery file instead (`recovery`), never lost.
The scorer comes from a callable, so it can load in a background thread
(`BackgroundScorer`) while the first question is on screen.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from threadpoolctl import ThreadpoolController

from harness.errors import HarnessError, StoreError
from harness.practice import scheduler, store
from harness.practice.recovery import Kept, Recovery, summary
from harness.types import Bank, Question, Score

NOW_ENV = "HARNESS_NOW"
USER_ENV = "HARNESS_USER"
MOVING_WINDOW = 5


def default_user() -> str:
    """$HARNESS_USER, else the login name, else "me"."""
    env = os.environ.get(USER_ENV, "").strip()
    if env:
        return env
    try:
        import getpass

        return getpass.getuser() or "me"
    except (OSError, KeyError, ImportError):
        return "me"


class ScorerLike(Protocol):
    """What a session needs of `harness.scoring.scorer.Scorer`."""

    def score(self, question_id: str, answer: str) -> Score: ...

    def rubric_vectors(self, question_ids: Sequence[str]) -> object:
        """Embed (or read from the cache) these questions' rubrics, so scoring them is quick."""
        ...


class Clock:
    """Current UTC time; `$HARNESS_NOW` (ISO 8601) starts it at a fixed moment.

    A fixed start still advances in real time, so attempts keep their order.
    Scripted runs and tests use it to replay a schedule days later.

    Raises:
        HarnessError: `$HARNESS_NOW` is not an ISO 8601 time.

    """

    def __init__(self, start: str | None = None) -> None:
        start = start if start is not None else os.environ.get(NOW_ENV)
        self._base: datetime | None = None
        self._t0 = time.monotonic()
        if start:
            try:
                base = datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
            except ValueError as exc:
                raise HarnessError(
                    f"{NOW_ENV}={start!r} is not an ISO 8601 time such as 2030-01-31T09:00:00+00:00"
                ) from exc
            self._base = base if base.tzinfo else base.replace(tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        if self._base is None:
            return datetime.now(timezone.utc)
        return self._base + timedelta(seconds=time.monotonic() - self._t0)


class BackgroundScorer:
    """Runs a loader in a thread; `get()` waits for and returns its result.

    The thread starts at once, or at `start()` when `start=False` (so the
    first question can be drawn before the loader competes for the CPU).
    """

    def __init__(self, load: Callable[[], ScorerLike], *, start: bool = True) -> None:
        self._result: ScorerLike | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(load,), name="scorer-loader", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        """Start loading, if not started yet."""
        if self._thread.ident is None:
            self._thread.start()

    def _run(self, load: Callable[[], ScorerLike]) -> None:
        try:
            self._result = load()
        except BaseException as exc:  # re-raised in the caller's thread by get()
            self._error = exc

    @property
    def ready(self) -> bool:
        """True once loading has finished (successfully or not)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def get(self) -> ScorerLike:
        """Return the loaded scorer, waiting for it if needed.

        Raises:
            HarnessError: whatever the loader raised (re-raised here).

        """
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


@dataclass(frozen=True)
class Comparison:
    """An attempt against the user's earlier ones (all scores oldest first)."""

    score: float
    question_scores: tuple[float, ...]
    topic_scores: tuple[float, ...]
    like_for_like: bool
    known: bool = True  # False: the earlier attempts could not be read

    @property
    def previous(self) -> float | None:
        """The last earlier score on this question."""
        return self.question_scores[-1] if self.question_scores else None

    @property
    def best_before(self) -> float | None:
        """The best earlier score on this question."""
        return max(self.question_scores) if self.question_scores else None

    @property
    def topic_average_before(self) -> float | None:
        """Moving average of the topic's last `MOVING_WINDOW` earlier scores."""
        recent = self.topic_scores[-MOVING_WINDOW:]
        return sum(recent) / len(recent) if recent else None

    def lines(self) -> list[str]:
        """Plain sentences saying how this attempt compares."""
        if not self.known:
            return ["Your earlier attempts could not be read, so there is no comparison this time."]
        out = []
        if self.previous is None:
            out.append("First attempt at this question.")
        else:
            n = len(self.question_scores)
            out.append(
                f"Question: {_delta(self.score - self.previous)} on your last attempt "
                f"({self.previous:.0f}); best before {self.best_before:.0f} over {n} attempt{'s' * (n > 1)}."
            )
        avg = self.topic_average_before
        if avg is None:
            out.append("First attempt in this topic.")
        else:
            out.append(f"Topic: {_delta(self.score - avg)} on your recent average ({avg:.0f}).")
        if not self.like_for_like:
            out.append("Some earlier scores came from another rubric, embedder or calibration; "
                       "run `harness rescore` to compare like with like.")
        return out


_controller: list[ThreadpoolController] = []


def _single_thread() -> AbstractContextManager[object]:
    """Limit BLAS/OpenMP to one thread (native libraries are found once, then reused)."""
    if not _controller:
        _controller.append(ThreadpoolController())
    limit: AbstractContextManager[object] = _controller[0].limit(limits=1)
    return limit


def _delta(d: float) -> str:
    return f"+{d:.0f}" if d > 0.5 else (f"{d:.0f}" if d < -0.5 else "level")


@dataclass(frozen=True)
class Feedback:
    """What the user sees after submitting; `attempt_id` is None when the answer went to `kept` instead."""

    attempt_id: int | None
    question: Question
    score: Score
    comparison: Comparison
    reference: str
    kept: Kept | None = None


class Session:
    """One user's practice run over a set of questions."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        bank: Bank,
        scorer: Callable[[], ScorerLike],
        *,
        user: str,
        questions: Sequence[Question] | None = None,
        fixed_order: bool = False,
        limit: int | None = None,
        clock: Callable[[], datetime] | None = None,
        recovery: Recovery | None = None,
    ) -> None:
        self.conn = conn
        self.bank = bank
        self.user = user
        self.questions = tuple(questions) if questions is not None else tuple(bank.questions.values())
        self.fixed_order = fixed_order
        self.limit = limit
        self.clock = clock or Clock()
        self._scorer = scorer
        self.asked: list[str] = []
        self.answered: list[int] = []
        self.kept: list[Kept] = []
        self.recovery = recovery or Recovery.for_history(store.location(conn))
        self._preparing: threading.Thread | None = None

    def next(self) -> scheduler.Pick | None:
        """Pick the next question not yet asked in this session; None when done."""
        if self.limit is not None and len(self.asked) >= self.limit:
            return None
        if self.fixed_order:
            rest = [q for q in self.questions if q.id not in self.asked]
            return scheduler.Pick(rest[0], "unseen") if rest else None
        return scheduler.next_question(self.questions, self.reviews(), self.clock(), exclude=self.asked)

    def reviews(self) -> list[scheduler.Review]:
        """Return the user's attempts as scheduler reviews."""
        return [
            scheduler.Review(a.question_id, a.topic, a.submitted_at, a.score)
            for a in store.attempts(self.conn, user=self.user)
        ]

    def mark_asked(self, question: Question) -> None:
        """Count a question as shown (answered or skipped) in this session."""
        if question.id not in self.asked:
            self.asked.append(question.id)

    def prepare(self, *questions: Question) -> None:
        """Embed the questions' rubrics in a background thread while the user writes.

        A rubric embedded once is cached on disk, so this matters on a cold
        cache; `submit` waits for it, so the scorer is never used by two threads.
        """
        self._wait_prepared()
        ids = [q.id for q in questions]

        def run() -> None:
            try:
                self._scorer().rubric_vectors(ids)
            except Exception:  # submit asks for the scorer again and reports the error
                return

        self._preparing = threading.Thread(target=run, name="rubric-prefetch", daemon=True)
        self._preparing.start()

    def _wait_prepared(self) -> None:
        if self._preparing is not None:
            self._preparing.join()
            self._preparing = None

    def submit(self, question: Question, answer: str, *, started_at: datetime) -> Feedback:
        """Score, store (one transaction) and compare one answer.

        An answer the history cannot take is kept in a recovery file instead:
        the feedback's `kept` says where and why, and `self.kept` lists them.

        Raises:
            HarnessError: scoring failed; nothing is stored.

        """
        self.mark_asked(question)
        submitted_at = self.clock()
        self._wait_prepared()
        scorer = self._scorer()
        with _single_thread():  # one answer: threads only add wait, badly so on a busy machine
            score = scorer.score(question.id, answer)
        attempt = store.NewAttempt(self.user, question.id, question.topic, answer, started_at, submitted_at)
        try:
            earlier: list[store.StoredAttempt] | None = store.attempts(self.conn, user=self.user,
                                                                       topic=question.topic)
        except StoreError:
            earlier = None  # the record below fails too, and says why
        reference = reference_text(self.bank, question.id)
        try:
            (attempt_id,) = store.record(self.conn, [(attempt, score)])
        except StoreError as exc:
            kept = self.recovery.keep(attempt, score, reason=str(exc))
            self.kept.append(kept)
            return Feedback(None, question, score, compare(score, earlier), reference, kept)
        self.answered.append(attempt_id)
        return Feedback(attempt_id, question, score, compare(score, earlier), reference)

    def raise_if_kept(self) -> None:
        """End a run in which some answers went to a recovery file: the exit code must say so.

        Raises:
            StoreError: saying how many answers were kept aside, and where.

        """
        if self.kept:
            raise StoreError(summary(self.kept))


def compare(score: Score, earlier: Sequence[store.StoredAttempt] | None) -> Comparison:
    """How `score` compares with earlier attempts in its topic (oldest first; None: unknown)."""
    if earlier is None:
        return Comparison(score.score, (), (), like_for_like=True, known=False)
    on_question = [a for a in earlier if a.question_id == score.question_id]
    same = all(
        a.embedder_id == score.embedder_id and a.calibration_id == score.calibration_id
        and (a.question_id != score.question_id or a.rubric_version == score.rubric_version)
        for a in earlier
    )
    return Comparison(
        score=score.score,
        question_scores=tuple(a.score for a in on_question),
        topic_scores=tuple(a.score for a in earlier),
        like_for_like=same,
    )


def hint(bank: Bank, question_id: str) -> list[str]:
    """Return the key points' headings (never their text), or a note for a reference-only rubric."""
    rubric = bank.rubrics[question_id]
    if rubric.derived:
        n = sum(1 for p in rubric.key_points if p.reference in (None, 0))
        return [f"This rubric has no headings: its {n} points are cut from the reference answer."]
    return [p.title for p in rubric.key_points]


def reference_text(bank: Bank, question_id: str) -> str:
    """Return the first reference answer, Chinese where there is one."""
    refs = bank.rubrics[question_id].references
    return refs[0].primary if refs else ""


def select_questions(
    bank: Bank, *, topics: Sequence[str] = (), question_ids: Sequence[str] = ()
) -> list[Question]:
    """Choose the questions a session may ask: named ids, else named topics, else the whole bank.

    Raises:
        UnknownQuestionError: an id not in the bank.
        HarnessError: a topic not in the bank (naming the topics there are).

    """
    from harness.bank.lookup import find_question

    if question_ids:
        return [find_question(bank, q) for q in question_ids]
    if not topics:
        return list(bank.questions.values())
    unknown = [t for t in topics if t not in bank.topics]
    if unknown:
        raise HarnessError(
            f"unknown topic {', '.join(map(repr, unknown))}; the bank's topics are: {', '.join(bank.topics)}"
        )
    return [q for q in bank.questions.values() if q.topic in topics]
