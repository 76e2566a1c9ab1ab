"""The piped-input format and the piped run (harness.practice.piped), without a terminal."""

from __future__ import annotations

import sqlite3

import pytest
from practice_helpers import PIPED, FakeClock, FakeScorer

from harness.errors import InputFileError, UnknownQuestionError
from harness.practice import piped, store
from harness.practice.launch import Practice
from harness.practice.piped import PipedAnswer, Stopped, parse_piped
from harness.practice.session import BackgroundScorer, Feedback, Session
from harness.types import Bank


def make_practice(conn: sqlite3.Connection, bank: Bank, scorer: FakeScorer, *,
                  limit: int | None = None) -> Practice:
    loader = BackgroundScorer(lambda: scorer, start=False)
    session = Session(conn, bank, loader.get, user="alice", clock=FakeClock(), limit=limit)
    return Practice(session, loader, "use-multilingual")


def test_parse_piped_format() -> None:
    items = parse_piped(PIPED)
    assert items == [
        PipedAnswer("clip-idea", PIPED.splitlines()[1] + "\n" + PIPED.splitlines()[2], 1),
        PipedAnswer("vit-patch", items[1].text, 5),
        PipedAnswer("blip-idea", ":skip", 8),
        PipedAnswer(None, "BLIP 统一了理解和生成。", 11),
    ]


def test_parse_piped_edges() -> None:
    assert parse_piped("") == []
    assert parse_piped("---\n\n---\n") == []
    assert parse_piped("\n\n  answer  \n\n---   \n") == [PipedAnswer(None, "answer", 3)]
    # a separator must be alone on its line
    assert parse_piped("a --- b\n----\n") == [PipedAnswer(None, "a --- b\n----", 1)]
    assert parse_piped("@q1\n") == [PipedAnswer("q1", "", 1)]
    # the line number is the answer's first non-blank line, counted from the top of the input
    assert parse_piped("a\n---\n\n\n@q2\n  body\n") == [PipedAnswer(None, "a", 1), PipedAnswer("q2", "body", 5)]


def test_read_answers_takes_utf8_with_or_without_bom() -> None:
    text = "@clip-idea\n对比学习\n"
    assert piped.read_answers(text.encode("utf-8")) == piped.read_answers(("\ufeff" + text).encode("utf-8")) \
        == [PipedAnswer("clip-idea", "对比学习", 1)]


def test_read_answers_names_the_line_of_bad_bytes() -> None:
    with pytest.raises(InputFileError) as exc:
        piped.read_answers("@clip-idea\n对比学习\n".encode("gbk"))
    assert str(exc.value) == "standard input: line 2: not UTF-8 text (byte 11); save the answers as UTF-8"


def test_run_scores_skips_and_prefetches_the_named_rubrics(fresh_db: sqlite3.Connection,
                                                           answer_bank: Bank) -> None:
    scorer = FakeScorer()
    practice = make_practice(fresh_db, answer_bank, scorer)
    results = list(piped.run(practice, parse_piped(PIPED)))
    assert all(isinstance(r, Feedback) for r in results)
    ids = [r.question.id for r in results if isinstance(r, Feedback)]
    assert ids[:2] == ["clip-idea", "vit-patch"] and len(ids) == 3
    assert ids[2] not in ("blip-idea", "clip-idea", "vit-patch")  # the scheduler's next, never a repeat
    assert scorer.prepared == [["clip-idea", "vit-patch", "blip-idea"]]
    assert practice.session.asked == ["clip-idea", "vit-patch", "blip-idea", ids[2]]
    assert [a.question_id for a in store.attempts(fresh_db, user="alice")] == ids


def test_run_stops_at_the_limit(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    practice = make_practice(fresh_db, answer_bank, FakeScorer(), limit=2)
    results = list(piped.run(practice, parse_piped(PIPED)))
    assert [r.question.id for r in results if isinstance(r, Feedback)] == ["clip-idea", "vit-patch"]
    assert results[-1] == Stopped("Stopped after 2 questions (-n); 2 answers left unread.")


def test_run_stops_when_no_question_is_left(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    answers = [PipedAnswer(None, f"答案 {i}", 1 + 2 * i) for i in range(6)]  # the bank has 5 questions
    results = list(piped.run(make_practice(fresh_db, answer_bank, FakeScorer()), answers))
    assert sum(isinstance(r, Feedback) for r in results) == 5
    assert results[-1] == Stopped("No question left for the answer at line 11; stopping.")


def test_run_rejects_an_unknown_id_before_scoring_it(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    scorer = FakeScorer()
    run = piped.run(make_practice(fresh_db, answer_bank, scorer), [PipedAnswer("clip-idae", "答案", 1)])
    with pytest.raises(UnknownQuestionError, match="did you mean clip-idea"):
        next(run)
    assert scorer.calls == [] and store.attempts(fresh_db) == []


def test_as_record_is_the_json_line(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    (result,) = piped.run(make_practice(fresh_db, answer_bank, FakeScorer()), [PipedAnswer("vit-patch", "x" * 4, 1)])
    assert isinstance(result, Feedback)
    record = piped.as_record(result)
    assert record == {
        "attempt_id": 1, "question_id": "vit-patch", "score": 20.0, "score_low": None, "score_high": None, "review": [],
        "comparison": ["First attempt at this question.", "First attempt in this topic."],
        "explanation": result.score.to_dict(),
    }


BAD_IDS = """@clip-idea
第一个答案
---
@clip-idae
拼错的题号
---
@vit-patch
第三个答案
---
@
没有题号
---
@no-such-question
最后一个
"""


def test_every_bad_id_is_named_before_anything_is_scored(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    scorer = FakeScorer()
    practice = make_practice(fresh_db, answer_bank, scorer)
    with pytest.raises(UnknownQuestionError) as exc:
        list(piped.run(practice, parse_piped(BAD_IDS)))
    assert str(exc.value) == (
        "standard input: 3 unknown question ids:\n"
        "  line 4: unknown question id 'clip-idae'; did you mean clip-idea, blip-idea, clip-architecture?\n"
        "  line 10: `@` without a question id; write @QUESTION-ID, or leave the line out to answer the next "
        "scheduled question\n"
        "  line 13: unknown question id 'no-such-question'; run `harness bank list` to see the 5 ids\n"
        "Nothing was scored or saved. Fix the ids (`harness bank list` shows them all), or pass --skip-unknown "
        "to score the other answers.")
    assert scorer.calls == [] and store.attempts(fresh_db) == [] and not practice.loader.ready


def test_skip_unknown_scores_the_rest_and_reports_each(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    results = list(piped.run(make_practice(fresh_db, answer_bank, FakeScorer()), parse_piped(BAD_IDS),
                             skip_unknown=True))
    skipped = [r.message for r in results if isinstance(r, piped.Skipped)]
    assert skipped[0] == ("Skipped the answer at line 4: unknown question id 'clip-idae'; "
                          "did you mean clip-idea, blip-idea, clip-architecture?")
    assert len(skipped) == 3
    assert [r.question.id for r in results if isinstance(r, Feedback)] == ["clip-idea", "vit-patch"]
    assert [a.answer for a in store.attempts(fresh_db, user="alice")] == ["第一个答案", "第三个答案"]


def test_stopped_message_counts_in_words(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    practice = make_practice(fresh_db, answer_bank, FakeScorer(), limit=1)
    results = list(piped.run(practice, parse_piped("@clip-idea\na\n---\n@vit-patch\nb\n")))
    assert results[-1] == Stopped("Stopped after 1 question (-n); 1 answer left unread.")


def test_warm_reports_loading_and_rubrics_as_it_goes(fresh_db: sqlite3.Connection, answer_bank: Bank) -> None:
    scorer = FakeScorer()
    steps: list[tuple[str, int, int]] = []
    answers = [PipedAnswer(qid, "答案", i) for i, qid in enumerate(answer_bank.questions)] * 2
    piped.warm(make_practice(fresh_db, answer_bank, scorer), answers, progress=lambda *s: steps.append(s))
    assert steps == [("Loading the embedder", 0, 1), ("Loading the embedder", 1, 1), ("Embedding rubrics", 0, 5),
                     ("Embedding rubrics", 5, 5)]
    assert scorer.prepared == [list(answer_bank.questions)]  # each rubric once


def test_an_id_line_after_text_starts_the_next_answer() -> None:
    text = "@clip-idea\nfirst\n@vit-patch\nsecond\n---\nthird\n@not-in-bank\n@staticmethod\n"
    known = {"clip-idea", "vit-patch"}
    assert parse_piped(text, known) == [
        PipedAnswer("clip-idea", "first", 1), PipedAnswer("vit-patch", "second", 3),
        PipedAnswer(None, "third\n@not-in-bank\n@staticmethod", 6)]
    # without a bank to ask, any id-shaped line starts an answer (and is then checked against the bank)
    assert [a.question_id for a in parse_piped(text)] == ["clip-idea", "vit-patch", None, "not-in-bank", "staticmethod"]
