"""Finding questions by id, with "did you mean" for typos, and key point statements by id."""

from __future__ import annotations

import difflib

from harness.errors import UnknownQuestionError
from harness.types import Bank, Question


def find_question(bank: Bank, question_id: str) -> Question:
    """The question with this id.

    Raises:
        UnknownQuestionError: naming the closest ids in the bank.
    """
    q = bank.questions.get(question_id.strip())
    if q is not None:
        return q
    close = difflib.get_close_matches(question_id, list(bank.questions), n=3, cutoff=0.5)
    hint = (f"; did you mean {', '.join(close)}?" if close
            else f"; run `harness bank list` to see the {len(bank.questions)} ids")
    raise UnknownQuestionError(f"unknown question id {question_id!r}{hint}")


def point_statements(bank: Bank | None, question_id: str, point_id: str) -> tuple[str, str]:
    """The statement of a key point (zh or as written, en) by id; empty strings if the bank lacks it."""
    rubric = bank.rubrics.get(question_id) if bank else None
    for point in rubric.key_points if rubric else ():
        if point.id == point_id:
            return point.text, point.text_en or ""
    return "", ""
