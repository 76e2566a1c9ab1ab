"""Grade a cohort's answers in chunks through the Scorer.

Each distinct (question, answer) pair not seen recently goes to
`Scorer.score_many` once; identical answers reuse the result from a bounded
cache. Blank answers are not sent to the scorer: they score 0, flagged
`blank`. Graded rows go to a sink in file order as soon as their batch is
scored (scores.csv is written as we go) and into a `CohortTally`, so memory
is bounded by the caches and the rows held for a batch, not by the number of
answers.

Batches go through a `BatchScorer`: in this process (`InProcess`, each
batch scored when collected, before the next chunk is read) or on a Dask
cluster (`grade.distributed.DaskScorer`), where the next chunks are read
and sent while earlier batches are scored, up to its window of batches and
`MAX_WAITING_ROWS` rows; rows are still tallied and written in file order.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from harness.grade.schema import BLANK_FLAG, RESULT_COLUMNS, counts_as_flagged, point_label, result_cells
from harness.grade.submissions import DEFAULT_CHUNK, Answer, Submissions
from harness.grade.tally import CohortTally, Graded
from harness.scoring.rules import closeness_note
from harness.scoring.text import has_cjk
from harness.types import Bank, PointResult, Score

DEFAULT_CACHE = 20_000
DEFAULT_HOLD = 20_000
MIN_BATCH = 256  # new distinct answers worth a scorer call (each call has a fixed cost)
SCORE_BATCH = 512  # at most this many per call, so the progress bar moves within a batch
MAX_WAITING_ROWS = 200_000  # rows read ahead while their batches are scored elsewhere (bounds memory)
_SCORE_CELL = [c.name for c in RESULT_COLUMNS].index("score")


class ScorerLike(Protocol):
    """What grading needs of `harness.scoring.scorer.Scorer`."""

    @property
    def bank(self) -> Bank: ...

    @property
    def embedder_id(self) -> str: ...

    @property
    def calibration_id(self) -> str: ...

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]: ...


@dataclass(frozen=True)
class Progress:
    """How far a run has got: answers graded, bytes of the file read, its size, seconds grading.

    `stage` is "loading" while the scorer loads, then "grading".
    """

    answers: int
    bytes_read: int
    bytes_total: int
    seconds: float
    stage: Literal["loading", "grading"] = "grading"


@dataclass(frozen=True)
class GradingCounts:
    """What a grading run did, for run.json and the summary line."""

    answers: int
    blanks: int
    scored: int
    reused: int
    rows_read: int
    skipped_rows: int
    problems: int
    people: int
    seconds: float


Sink = Callable[[list[tuple[Answer, Graded]]], None]


class PendingRows(Protocol):
    """A batch being scored; `result()` waits for its graded rows, in the order sent."""

    def result(self) -> list[Graded]: ...


class BatchScorer(Protocol):
    """Where batches are scored: submit now, collect later (`grade.distributed.DaskScorer` on a cluster).

    The grader sends at most `batch_size` answers in a batch, keeps at most
    `window` batches in flight and collects them in the order sent; 0 means
    each is collected before the next is sent.
    """

    @property
    def window(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    def submit(self, items: Sequence[tuple[str, str]]) -> PendingRows: ...


class InProcess:
    """Batches scored in this process by `scorer`, each when its rows are collected."""

    window = 0

    def __init__(self, scorer: ScorerLike) -> None:
        self.scorer = scorer

    @property
    def batch_size(self) -> int:
        """`SCORE_BATCH`: small enough that the progress bar moves within a batch."""
        return SCORE_BATCH

    def submit(self, items: Sequence[tuple[str, str]]) -> PendingRows:
        """The batch, to be scored when `result()` is called."""
        return _Deferred(self.scorer, items)


@dataclass(frozen=True)
class _Deferred:
    scorer: ScorerLike
    items: Sequence[tuple[str, str]]

    def result(self) -> list[Graded]:
        return [compact(s, self.scorer.bank) for s in self.scorer.score_many(self.items)]


def grade_cohort(subs: Submissions, scorer: ScorerLike, *, tally: CohortTally, sink: Sink,
                 chunk_size: int = DEFAULT_CHUNK, cache_size: int = DEFAULT_CACHE,
                 hold_rows: int = DEFAULT_HOLD,
                 progress: Callable[[Progress], None] | None = None,
                 batches: BatchScorer | None = None) -> GradingCounts:
    """Grade every answer of `subs`, passing graded rows, in file order, to `sink` and `tally`.

    Chunks are held (up to `hold_rows` answers) until at least `MIN_BATCH`
    new distinct answers have gathered, so the scorer is called with batches
    worth a call even late in a large cohort, when most answers repeat.
    `batches` scores them elsewhere (default: `scorer`, in this process);
    while its batches are in flight the next chunks are read, up to its
    window and `MAX_WAITING_ROWS` rows waiting.

    Raises:
        InputFileError: in strict mode at the first bad row, or if no row can be graded.
    """
    grader = _Grader(subs, scorer, tally, sink, cache_size, progress, batches or InProcess(scorer))
    for chunk in subs.chunks(chunk_size):
        grader.hold(chunk)
        if len(grader.todo) >= MIN_BATCH or len(grader.held) >= max(hold_rows, chunk_size):
            grader.flush()
    grader.flush()
    grader.drain()
    return GradingCounts(
        answers=tally.answers, blanks=grader.blanks, scored=grader.scored, reused=grader.reused,
        rows_read=subs.rows_read, skipped_rows=subs.problems.skipped_rows, problems=subs.problems.count,
        people=len(subs.roster), seconds=time.perf_counter() - grader.start,
    )


Key = tuple[str, str]


@dataclass(eq=False)
class _Unit:
    """Held rows sent together: the new answers they need scored, and where the others come from.

    `found` holds results cached when the rows were read; `borrowed` names
    earlier units, still in flight, that score an answer these rows repeat.
    """

    held: list[Answer]
    items: list[Key]
    found: dict[Key, Graded]
    borrowed: dict[Key, _Unit]
    bytes_before: int
    bytes_read: int
    pending: list[PendingRows] = field(default_factory=list)
    fresh: dict[Key, Graded] = field(default_factory=dict)


class _Grader:
    """The state of one `grade_cohort` run: held rows, units in flight, the results cache, counts."""

    def __init__(self, subs: Submissions, scorer: ScorerLike, tally: CohortTally, sink: Sink,
                 cache_size: int, progress: Callable[[Progress], None] | None, batches: BatchScorer) -> None:
        self.subs, self.scorer, self.tally, self.sink, self.batches = subs, scorer, tally, sink, batches
        self.cache: OrderedDict[Key, Graded] = OrderedDict()
        self.cache_size = cache_size
        self.progress = progress
        self.blank_by_question: dict[str, Graded] = {}
        self.held: list[Answer] = []
        self.todo: dict[Key, None] = {}
        self.found: dict[Key, Graded] = {}
        self.borrowed: dict[Key, _Unit] = {}
        self.units: deque[_Unit] = deque()
        self.in_flight: dict[Key, _Unit] = {}  # answers being scored, by the unit that sent them
        self.batches_out = self.rows_waiting = 0
        self.blanks = self.scored = self.reused = 0
        self.bytes_before = 0
        self.start = time.perf_counter()

    def hold(self, chunk: list[Answer]) -> None:
        """Keep a chunk's rows and note its answers not scored recently."""
        cache, todo, in_flight = self.cache, self.todo, self.in_flight
        for a in chunk:
            if a.text:
                key = (a.question_id, a.text)
                if key in cache:
                    cache.move_to_end(key)
                    self.found[key] = cache[key]
                elif key in in_flight:
                    self.borrowed[key] = in_flight[key]
                else:
                    todo[key] = None
        self.held.extend(chunk)

    def flush(self) -> None:
        """Send the new answers to be scored; collect the oldest units while too many are waiting."""
        if not self.held:
            return
        items = list(self.todo)
        unit = _Unit(self.held, items, self.found, self.borrowed, self.bytes_before, self.subs.bytes_read)
        size = self.batches.batch_size
        for i in range(0, len(items), size):
            unit.pending.append(self.batches.submit(items[i : i + size]))
        self.in_flight.update(dict.fromkeys(items, unit))
        self.units.append(unit)
        self.batches_out += len(unit.pending)
        self.rows_waiting += len(unit.held)
        self.held, self.todo, self.found, self.borrowed = [], {}, {}, {}
        self.bytes_before = unit.bytes_read
        while self.units and (not self.units[0].pending or self.batches_out > self.batches.window
                              or self.rows_waiting > MAX_WAITING_ROWS):
            self._finish(self.units.popleft())

    def drain(self) -> None:
        """Collect every unit still in flight."""
        while self.units:
            self._finish(self.units.popleft())

    def _finish(self, unit: _Unit) -> None:
        """Collect a unit's scores, then tally and write its rows."""
        held, items = unit.held, unit.items
        results: list[Graded] = []
        for pending in unit.pending:
            results += pending.result()
            self.batches_out -= 1
            self._report(unit, self.tally.answers + len(held) * len(results) / len(items), len(results) / len(items))
        unit.fresh = fresh = dict(zip(items, results, strict=True))
        for key in items:
            del self.in_flight[key]
        self.cache.update(fresh)
        graded = [self._result(a, unit) for a in held]
        self.tally.add_many([a.student_id for a in held], [a.question_id for a in held], graded)
        self.scored += len(fresh)
        self.reused += sum(1 for a in held if a.text) - len(fresh)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        self.sink(list(zip(held, graded, strict=True)))
        self.rows_waiting -= len(held)
        self._report(unit, self.tally.answers, 1.0)

    def _result(self, a: Answer, unit: _Unit) -> Graded:
        if a.text:
            key = (a.question_id, a.text)
            graded = unit.fresh.get(key)
            if graded is None:
                graded = unit.found.get(key)
            return graded if graded is not None else unit.borrowed[key].fresh[key]
        self.blanks += 1
        graded = self.blank_by_question.get(a.question_id)
        if graded is None:
            graded = self.blank_by_question[a.question_id] = blank_result(self.scorer.bank, a.question_id)
        return graded

    def _report(self, unit: _Unit, answers: float, fraction: float) -> None:
        if self.progress is not None:
            before = unit.bytes_before
            read = before + (unit.bytes_read - before) * fraction
            self.progress(Progress(int(answers), int(read), self.subs.size, time.perf_counter() - self.start))


def compact(score: Score, bank: Bank) -> Graded:
    """The scores.csv cells and tally inputs of one Score."""
    rubric = bank.rubrics[score.question_id]
    labels = {p.id: point_label(p) for p in rubric.key_points}
    zh = has_cjk(score.points[0].text) if score.points else has_cjk(bank.questions[score.question_id].prompt)

    def names(points: tuple[PointResult, ...]) -> tuple[str, ...]:
        return tuple(labels.get(p.point_id, p.title) for p in points)

    cells = result_cells({
        "topic": bank.questions[score.question_id].topic, "score": score.score,
        "covered": names(score.covered), "partial": names(score.partial), "missed": names(score.missed),
        "misconceptions": tuple(m.text for m in score.misconceptions), "flags": score.flags,
        "feedback": feedback(score, labels, zh=zh),
        "covered_ids": tuple(p.point_id for p in score.covered),
        "partial_ids": tuple(p.point_id for p in score.partial),
        "missed_ids": tuple(p.point_id for p in score.missed),
        "misconception_ids": tuple(m.misconception_id for m in score.misconceptions),
        "score_low": score.score_low, "score_high": score.score_high, "review": score.review,
    })
    return Graded(
        topic=bank.questions[score.question_id].topic, score=float(cells[_SCORE_CELL]), blank=False,
        flagged=counts_as_flagged(score.flags), seen=tuple(p.point_id for p in score.points),
        missed=tuple(p.point_id for p in score.missed),
        misconceptions=tuple(m.misconception_id for m in score.misconceptions), cells=cells,
    )


def feedback(score: Score, labels: dict[str, str], *, zh: bool) -> str:
    """One line of feedback: the points to add and the misconceptions to correct."""
    parts = []
    todo = [labels.get(p.point_id, p.title) for p in (*score.missed, *score.partial)]
    if todo:
        parts.append(("需补充：" if zh else "Add: ") + "; ".join(todo))
    for m in score.misconceptions:
        fix = f" -> {m.correction}" if m.correction else ""
        parts.append(("误解：" if zh else "Wrong: ") + m.text + fix)
    note = closeness_note(score, zh=zh)
    if note:
        parts.append(note)
    if not parts:
        return "要点齐全" if zh else "All key points covered"
    return " | ".join(parts)


def blank_result(bank: Bank, question_id: str) -> Graded:
    """The result of a blank answer: 0, flagged `blank`, left out of key point miss rates."""
    question = bank.questions[question_id]
    note = "未作答" if has_cjk(question.prompt) else "No answer given"
    cells = result_cells({"topic": question.topic, "score": 0.0, "flags": (BLANK_FLAG,), "feedback": note})
    return Graded(question.topic, 0.0, True, False, (), (), (), cells)
