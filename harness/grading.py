"""Grade a cohort's answers in chunks through the Scorer.

Each chunk's distinct (question, answer) pairs not seen recently go to
`Scorer.score_many` once; identical answers reuse the result from a bounded
cache. Blank answers are not sent to the scorer: they score 0, flagged
`blank`. Graded rows go to a sink as each chunk finishes (scores.csv is
written as we go) and into a `CohortTally`, so memory does not grow with
the number of answers.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.cohort import DEFAULT_CHUNK, Answer, Submissions
from harness.cohort_stats import CohortTally, Graded, point_labels
from harness.text import has_cjk
from harness.types import Bank, Score

DEFAULT_CACHE = 20_000
BLANK_FLAG = "blank"


class ScorerLike(Protocol):
    """What grading needs of `harness.scorer.Scorer`."""

    @property
    def bank(self) -> Bank: ...

    @property
    def embedder_id(self) -> str: ...

    @property
    def calibration_id(self) -> str: ...

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]: ...


@dataclass(frozen=True)
class Progress:
    """How far grading has got: answers graded, bytes of the file read, its size."""

    answers: int
    bytes_read: int
    bytes_total: int
    seconds: float


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


def grade_cohort(subs: Submissions, scorer: ScorerLike, tally: CohortTally, sink: Sink, *,
                 chunk_size: int = DEFAULT_CHUNK, cache_size: int = DEFAULT_CACHE,
                 progress: Callable[[Progress], None] | None = None) -> GradingCounts:
    """Grade every answer of `subs`, passing each graded chunk to `sink` and `tally`.

    Raises:
        InputFileError: in strict mode at the first bad row, or if no row can be graded.
    """
    cache: OrderedDict[bytes, Graded] = OrderedDict()
    blank_by_question: dict[str, Graded] = {}
    start = time.perf_counter()
    blanks = scored = reused = 0
    for chunk in subs.chunks(chunk_size):
        todo: dict[bytes, tuple[str, str]] = {}
        keys: list[bytes | None] = []
        for a in chunk:
            if a.blank:
                keys.append(None)
                continue
            key = _key(a.question_id, a.text)
            keys.append(key)
            if key in cache:
                cache.move_to_end(key)
            elif key not in todo:
                todo[key] = (a.question_id, a.text)
        fresh = dict(zip(todo, (compact(s, scorer.bank) for s in scorer.score_many(list(todo.values())))))
        scored += len(fresh)
        rows: list[tuple[Answer, Graded]] = []
        for a, key in zip(chunk, keys):
            if key is None:
                graded = blank_by_question.get(a.question_id) or blank_result(scorer.bank, a.question_id)
                blank_by_question[a.question_id] = graded
                blanks += 1
            else:
                graded = fresh[key] if key in fresh else cache[key]
            tally.add(a.student_index, a.question_id, graded)
            rows.append((a, graded))
        reused += len(chunk) - blanks_in(keys) - len(fresh)
        cache.update(fresh)
        while len(cache) > cache_size:
            cache.popitem(last=False)
        sink(rows)
        if progress is not None:
            progress(Progress(tally.answers, subs.bytes_read, subs.size, time.perf_counter() - start))
    return GradingCounts(
        answers=tally.answers, blanks=blanks, scored=scored, reused=reused, rows_read=subs.rows_read,
        skipped_rows=subs.problems.skipped_rows, problems=subs.problems.count, people=len(subs.roster),
        seconds=time.perf_counter() - start,
    )


def blanks_in(keys: list[bytes | None]) -> int:
    """How many of a chunk's answers were blank."""
    return sum(k is None for k in keys)


def _key(question_id: str, text: str) -> bytes:
    return hashlib.blake2b(f"{question_id}\0{text}".encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


def compact(score: Score, bank: Bank) -> Graded:
    """The scores.csv cells and tally inputs of one Score."""
    labels = point_labels(bank.rubrics[score.question_id])
    zh = has_cjk(score.points[0].text) if score.points else has_cjk(bank.questions[score.question_id].prompt)
    covered = "; ".join(labels.get(p.point_id, p.title) for p in score.covered)
    partial = "; ".join(labels.get(p.point_id, p.title) for p in score.partial)
    missed = "; ".join(labels.get(p.point_id, p.title) for p in score.missed)
    wrong = "; ".join(m.text for m in score.misconceptions)
    cells = (
        bank.questions[score.question_id].topic, f"{score.score:.1f}", covered, partial, missed,
        wrong, ";".join(score.flags), feedback(score, labels, zh=zh),
    )
    return Graded(float(score.score), False, tuple(p.point_id for p in score.points),
                  tuple(p.point_id for p in score.missed), cells)


def feedback(score: Score, labels: dict[str, str], *, zh: bool) -> str:
    """One line of feedback: the points to add and the misconceptions to correct."""
    parts = []
    todo = [labels.get(p.point_id, p.title) for p in (*score.missed, *score.partial)]
    if todo:
        parts.append(("需补充：" if zh else "Add: ") + "; ".join(todo))
    for m in score.misconceptions:
        fix = f" -> {m.correction}" if m.correction else ""
        parts.append(("误解：" if zh else "Wrong: ") + m.text + fix)
    if not parts:
        return "要点齐全" if zh else "All key points covered"
    return " | ".join(parts)


def blank_result(bank: Bank, question_id: str) -> Graded:
    """The result of a blank answer: 0, flagged `blank`, left out of key point miss rates."""
    question = bank.questions[question_id]
    note = "未作答" if has_cjk(question.prompt) else "No answer given"
    return Graded(0.0, True, (), (), (question.topic, "0.0", "", "", "", "", BLANK_FLAG, note))
