"""Answers from a pipe: `harness answer < answers.txt`.

`read_answers` turns the piped bytes into `PipedAnswer`s (the format is in
`parse_piped`); `run` scores them one by one through a `Session`, yielding
each `Feedback` as it comes, or a `Stopped` when it has to stop early.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.errors import InputFileError
from harness.practice.launch import Practice
from harness.practice.session import Feedback

SEPARATOR = "---"
SKIP = ":skip"
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


def read_answers(raw: bytes) -> list[PipedAnswer]:
    """Decode piped input (UTF-8, a BOM allowed) and split it into answers.

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
    return parse_piped(text)


def parse_piped(text: str) -> list[PipedAnswer]:
    """Split piped input into answers.

    Answers are separated by a line `---`. An answer may start with a line
    `@question-id` naming its question; otherwise it answers the scheduler's
    next question. An answer that is just `:skip` skips its question. Blank
    answers between separators are ignored.
    """
    out: list[PipedAnswer] = []
    block: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == SEPARATOR:
            out.extend(_answer(block, start))
            block, start = [], number + 1
        else:
            block.append(raw)
    out.extend(_answer(block, start))
    return out


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


def run(practice: Practice, answers: Sequence[PipedAnswer]) -> Iterator[Feedback | Stopped]:
    """Score each answer in turn, yielding its feedback; skips yield nothing.

    The scorer starts loading here, embedding the rubrics the answers name
    first. A `Stopped` ends the run: the `-n` limit was reached, or an answer
    without `@QUESTION-ID` found no question left.

    Raises:
        UnknownQuestionError: an `@QUESTION-ID` not in the bank.
        HarnessError: scoring or storing failed.

    """
    from harness.bank.lookup import find_question

    session = practice.session
    named = dict.fromkeys(a.question_id for a in answers if a.question_id in session.bank.rubrics)
    practice.start_loading([session.bank.questions[qid] for qid in named if qid is not None])
    for item in answers:
        if session.limit is not None and len(session.asked) >= session.limit:
            yield Stopped(f"Stopped after {session.limit} questions (-n); "
                          f"{len(answers) - len(session.asked)} answers left unread.")
            return
        if item.question_id:
            question = find_question(session.bank, item.question_id)
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


def as_record(feedback: Feedback) -> dict[str, object]:
    """One answer's result as the JSON object `harness answer --json` prints."""
    return {
        "attempt_id": feedback.attempt_id,
        "question_id": feedback.question.id,
        "score": feedback.score.score,
        "comparison": feedback.comparison.lines(),
        "explanation": feedback.score.to_dict(),
        **(feedback.kept.as_json() if feedback.kept else {}),
    }
