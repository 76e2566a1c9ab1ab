"""Answers from a pipe: `harness answer < answers.txt`.

`read_answers` turns the piped bytes into `PipedAnswer`s (the format is in
`parse_piped`); `run` checks every `@QUESTION-ID` first (`select`), loads
the scorer and the rubrics (`warm`), then scores the answers one by one
through a `Session` (`score`), yielding each `Feedback` as it comes, a
`Skipped` for an answer left out, or a `Stopped` when it has to stop early.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass

from harness.errors import InputFileError, UnknownQuestionError
from harness.practice.launch import Practice
from harness.practice.session import Feedback
from harness.types import Bank

Progress = Callable[[str, int, int], None]


def _ignore(step: str, done: int, total: int) -> None:
    """A progress callback that reports nowhere."""

SEPARATOR = "---"
SKIP = ":skip"
ID_LINE = re.compile(r"@[A-Za-z0-9][\w.-]*")  # a line that is only `@question-id`
LOADING = "Loading the embedder"
EMBEDDING = "Embedding rubrics"
RUBRIC_CHUNK = 8
NO_ANSWERS = ("No answers on standard input. Pipe answers separated by a line `---`, each "
              "optionally starting with `@QUESTION-ID` (see `harness answer --help`).")


@dataclass(frozen=True)
class PipedAnswer:
    """One answer read from a pipe; `question_id` None means "the scheduler's next"."""

    question_id: str | None
    text: str
    line: int


@dataclass(frozen=True)
class Stopped:
    """The run stopped before the last answer; `message` says why."""

    message: str


@dataclass(frozen=True)
class Skipped:
    """An answer left out (its `@QUESTION-ID` is not in the bank, and skipping was asked for)."""

    message: str


def read_answers(raw: bytes, known: Container[str] | None = None) -> list[PipedAnswer]:
    """Decode piped input (UTF-8, a BOM allowed) and split it into answers (see `parse_piped`).

    Raises:
        InputFileError: the input is not UTF-8, naming the line.

    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"standard input: line {line}: not UTF-8 text (byte {exc.start}); save the answers as UTF-8"
        ) from exc
    return parse_piped(text, known)


def parse_piped(text: str, known: Container[str] | None = None) -> list[PipedAnswer]:
    """Split piped input into answers.

    Answers are separated by a line `---`. An answer may start with a line
    `@question-id` naming its question; otherwise it answers the scheduler's
    next question. A line `@question-id` after an answer's text also starts a
    new answer, as if a `---` stood before it (so a file of `@id` + answer
    pairs needs no separators) - when `known` is given, only for an id in it,
    so a line like `@staticmethod` inside an answer stays text. An answer that is just `:skip` skips its
    question. Blank answers between separators are ignored.
    """
    out: list[PipedAnswer] = []
    block: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == SEPARATOR:
            out.extend(_answer(block, start))
            block, start = [], number + 1
        elif _starts_answer(raw.strip(), known) and any(s.strip() for s in block):
            out.extend(_answer(block, start))
            block, start = [raw], number
        else:
            block.append(raw)
    out.extend(_answer(block, start))
    return out


def _starts_answer(line: str, known: Container[str] | None) -> bool:
    """Whether a line inside an answer is an `@question-id` line that starts the next answer."""
    return bool(ID_LINE.fullmatch(line)) and (known is None or line[1:] in known)


def _answer(lines: list[str], start: int) -> list[PipedAnswer]:
    """The answer in one block of lines (none for a blank block); `start` is its first line's number."""
    first = next((i for i, s in enumerate(lines) if s.strip()), None)
    if first is None:
        return []
    qid = None
    head = lines[first].strip()
    if head.startswith("@"):
        qid, lines = head[1:].strip(), lines[first + 1:]
    body = "\n".join(lines).strip()
    return [PipedAnswer(qid, body, start + first)] if body or qid else []


def check_ids(bank: Bank, answers: Sequence[PipedAnswer]) -> list[str]:
    """Every `@QUESTION-ID` the bank lacks, one line each: `line 5: unknown question id ...`."""
    from harness.bank.lookup import find_question

    problems = []
    for item in answers:
        if item.question_id == "":
            problems.append(f"line {item.line}: `@` without a question id; write @QUESTION-ID, "
                            "or leave the line out to answer the next scheduled question")
        elif item.question_id is not None and item.question_id not in bank.questions:
            try:
                find_question(bank, item.question_id)
            except UnknownQuestionError as exc:
                problems.append(f"line {item.line}: {exc}")
    return problems


def unknown_ids_error(problems: Sequence[str]) -> UnknownQuestionError:
    """The error naming every bad `@QUESTION-ID`: nothing has been scored or saved."""
    head = (f"standard input: {problems[0]}" if len(problems) == 1
            else f"standard input: {len(problems)} unknown question ids:\n  " + "\n  ".join(problems))
    return UnknownQuestionError(f"{head}\nNothing was scored or saved. Fix the ids (`harness bank list` "
                                "shows them all), or pass --skip-unknown to score the other answers.")


def select(bank: Bank, answers: Sequence[PipedAnswer], *,
           skip_unknown: bool = False) -> tuple[list[PipedAnswer], list[Skipped]]:
    """The answers to score, and a `Skipped` for each whose `@QUESTION-ID` is bad (with `skip_unknown`).

    Raises:
        UnknownQuestionError: any `@QUESTION-ID` not in the bank (all of them named), without `skip_unknown`.

    """
    problems = check_ids(bank, answers)
    if problems and not skip_unknown:
        raise unknown_ids_error(problems)
    good = [a for a in answers if a.question_id is None or a.question_id in bank.questions]
    return good, [Skipped(f"Skipped the answer at {problem}") for problem in problems]


def warm(practice: Practice, answers: Sequence[PipedAnswer], *, progress: Progress = _ignore) -> None:
    """Load the scorer and embed the rubrics the answers name, `RUBRIC_CHUNK` at a time.

    `progress(step, done, total)` follows both steps: a bank's first
    embedding takes a while on a cold cache (the vectors are cached on disk).

    Raises:
        HarnessError: the scorer cannot load.

    """
    named = list(dict.fromkeys(a.question_id for a in answers if a.question_id is not None))
    progress(LOADING, 0, 1)
    practice.loader.start()
    scorer = practice.loader.get()
    progress(LOADING, 1, 1)
    progress(EMBEDDING, 0, len(named))
    for start in range(0, len(named), RUBRIC_CHUNK):
        scorer.rubric_vectors(named[start:start + RUBRIC_CHUNK])
        progress(EMBEDDING, min(start + RUBRIC_CHUNK, len(named)), len(named))


def score(practice: Practice, answers: Sequence[PipedAnswer]) -> Iterator[Feedback | Stopped]:
    """Score each answer in turn, yielding its feedback; answers that are just `:skip` yield nothing.

    A `Stopped` ends the run: the `-n` limit was reached, or an answer
    without `@QUESTION-ID` found no question left. Every `@QUESTION-ID` must
    be in the bank (see `select`).

    Raises:
        HarnessError: scoring or storing failed.

    """
    session = practice.session
    for item in answers:
        if session.limit is not None and len(session.asked) >= session.limit:
            left = len(answers) - len(session.asked)
            yield Stopped(f"Stopped after {session.limit} question{'s' * (session.limit != 1)} (-n); "
                          f"{left} answer{'s' * (left != 1)} left unread.")
            return
        if item.question_id is not None:
            question = session.bank.questions[item.question_id]
        else:
            pick = session.next()
            if pick is None:
                yield Stopped(f"No question left for the answer at line {item.line}; stopping.")
                return
            question = pick.question
        if item.text.strip().lower() == SKIP:
            session.mark_asked(question)
            continue
        yield session.submit(question, item.text, started_at=session.clock())


def run(practice: Practice, answers: Sequence[PipedAnswer], *, skip_unknown: bool = False,
        progress: Progress = _ignore) -> Iterator[Feedback | Skipped | Stopped]:
    """`select`, `warm` and `score` in one: nothing is scored or stored when an `@QUESTION-ID` is bad.

    With `skip_unknown`, each bad answer yields a `Skipped` first and the rest
    are scored.

    Raises:
        UnknownQuestionError: an `@QUESTION-ID` not in the bank (all of them named), without `skip_unknown`.
        HarnessError: the scorer cannot load, or scoring or storing failed.

    """
    good, skipped = select(practice.session.bank, answers, skip_unknown=skip_unknown)
    yield from skipped
    warm(practice, good, progress=progress)
    yield from score(practice, good)


def as_record(feedback: Feedback) -> dict[str, object]:
    """One answer's result as the JSON object `harness answer --json` prints."""
    return {
        "attempt_id": feedback.attempt_id,
        "question_id": feedback.question.id,
        "score": feedback.score.score,
        "score_low": feedback.score.score_low,
        "score_high": feedback.score.score_high,
        "review": list(feedback.score.review),
        "comparison": feedback.comparison.lines(),
        "explanation": feedback.score.to_dict(),
        **(feedback.kept.as_json() if feedback.kept else {}),
    }
