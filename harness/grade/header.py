"""Making sense of a submissions file's header: columns, aliases and layout.

Two layouts are read:

- **long**: one row per answer, with a student, a question and an answer
  column (names matched case-insensitively, with aliases such as `学号`,
  `题号`, `答案`); every other column is carried through.
- **wide**: one row per person, an id column, then one column per question,
  headed by the question's id or its prompt text (zh or en), as form exports
  write them; other columns are carried through.

Headers and question cells are compared after `normalize_label`: full-width
folded, case folded, white space collapsed, a leading item number (`3.`,
`Q3:`) and a trailing mark note (`（10分）`) dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from harness.errors import InputFileError
from harness.scoring.text import normalize
from harness.types import Bank

Layout = Literal["long", "wide"]

# Preferred name first; the first alias present in the header wins, the others
# (say `姓名` when `学号` is the id) are carried through.
STUDENT_ALIASES: tuple[str, ...] = (
    "student_id", "studentid", "student_no", "student_number", "学号", "学生编号", "考号", "工号",
    "编号", "id", "user_id", "userid", "respondent_id", "respondent", "candidate_id", "candidate",
    "student", "学生", "username", "user", "用户名", "用户", "email", "邮箱", "name", "student_name",
    "姓名", "名字",
)
QUESTION_ALIASES: tuple[str, ...] = (
    "question_id", "questionid", "qid", "question_no", "题号", "题目编号", "题目id", "问题编号",
    "question", "题目", "问题", "item", "item_id",
)
ANSWER_ALIASES: tuple[str, ...] = (
    "answer", "answer_text", "response", "response_text", "答案", "回答", "作答", "答题内容",
    "作答内容", "学生答案", "text", "submission", "reply",
)
_HINTS = {
    "student_id": "student, name, 学号, 姓名, id",
    "question_id": "qid, question, 题号, 题目",
    "answer": "response, 答案, 回答, 作答",
}
_SEPARATORS = re.compile(r"[\s_\-]+")
_ITEM_NUMBER = re.compile(r"^(?:q(?:uestion)?\s*)?\d{1,3}\s*[.、:)\]]\s*|^第\s*\d{1,3}\s*题[.、:：\s]*")
_MARK_NOTE = re.compile(r"\s*[(\[]\s*\d+(?:\.\d+)?\s*(?:分|points?|pts?|marks?)\s*[)\]]\s*$")
_EDGE_PUNCT = " \t?？:：.。!！"


def header_key(name: str) -> str:
    """A header name as compared with the aliases: `Student ID` -> `student_id`."""
    return _SEPARATORS.sub("_", normalize(name)).strip("_")


def normalize_label(text: str) -> str:
    """A question id or prompt as compared with the bank (see module docstring)."""
    label = normalize(text)
    label = _ITEM_NUMBER.sub("", label)
    label = _MARK_NOTE.sub("", label)
    return label.strip(_EDGE_PUNCT)


class QuestionMatcher:
    """Finds the bank question a header or cell names: by id, or by prompt text."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self._index: dict[str, str] = {}
        for q in bank.questions.values():
            for label in (q.prompt_zh, q.prompt_en):
                if label:
                    self._index.setdefault(normalize_label(label), q.id)
        for qid in bank.questions:  # ids win over a prompt that happens to equal one
            self._index[normalize_label(qid)] = qid
        self._cache: dict[str, str | None] = {}

    def find(self, text: str) -> str | None:
        """The id of the question `text` names, or None."""
        if text in self.bank.questions:
            return text
        found = self._cache.get(text, "")
        if found != "":
            return found
        qid = self._index.get(normalize_label(text))
        if len(self._cache) < 10_000:
            self._cache[text] = qid
        return qid

    def suggestion(self, text: str) -> str:
        """`; did you mean X?`, or a pointer to `harness bank list`."""
        close = difflib.get_close_matches(text.strip(), list(self.bank.questions), n=2, cutoff=0.6)
        if close:
            return f"; did you mean {' or '.join(close)}?"
        return f"; the bank has {len(self.bank.questions)} questions (see `harness bank list --bank ...`)"

    def looks_like_id(self, text: str) -> bool:
        """True for a header close to a question id without being one (a typo)."""
        close = difflib.get_close_matches(text.strip(), list(self.bank.questions), n=1, cutoff=0.8)
        return bool(close)


@dataclass(frozen=True)
class Columns:
    """Where the data sits in a header row (indices into the row's cells).

    Long layout: `student`, `question` and `answer` are set and `questions`
    is empty. Wide layout: `question` and `answer` are -1 and `questions`
    maps cell index -> question id. `extras` are the carried-through columns
    (index, header name as written).
    """

    layout: Layout
    student: int
    question: int
    answer: int
    questions: tuple[tuple[int, str], ...]
    extras: tuple[tuple[int, str], ...]
    suspicious: tuple[str, ...] = ()

    @property
    def extra_names(self) -> tuple[str, ...]:
        """Names of the carried-through columns, in file order."""
        return tuple(name for _, name in self.extras)


def _find(keys: list[str], aliases: tuple[str, ...], taken: set[int]) -> int:
    for alias in aliases:
        for i, key in enumerate(keys):
            if key == alias and i not in taken:
                return i
    return -1


def _wide_questions(header: list[str], matcher: QuestionMatcher, taken: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for i, name in enumerate(header):
        if i in taken or not name.strip():
            continue
        qid = matcher.find(name)
        if qid is not None:
            found[i] = qid
    return found


def resolve_columns(path: str, header: list[str], *, matcher: QuestionMatcher,
                    layout: Layout | None = None) -> Columns:
    """The layout (detected unless given) and the role of every column.

    Raises:
        InputFileError: a required column is missing, or two columns name one question.

    """
    keys = [header_key(h) for h in header]
    student = _find(keys, STUDENT_ALIASES, set())
    question = _find(keys, QUESTION_ALIASES, {student})
    answer = _find(keys, ANSWER_ALIASES, {student, question})
    wide = _wide_questions(header, matcher, {student})
    if layout is None:
        layout = "long" if question >= 0 and answer >= 0 else "wide" if wide else "long"
    if student < 0:
        raise InputFileError(
            f"{path}: row 1: missing required column student_id (also accepted: {_HINTS['student_id']}); "
            f"the header is: {_show(header)}"
        )
    if layout == "long":
        for col, label in ((question, "question_id"), (answer, "answer")):
            if col < 0:
                raise InputFileError(
                    f"{path}: row 1: missing required column {label} (also accepted: {_HINTS[label]}); "
                    f"the header is: {_show(header)}; for one column per question use --layout wide"
                )
        used = {student, question, answer}
        extras = tuple((i, h) for i, h in enumerate(header) if i not in used)
        return Columns("long", student, question, answer, (), extras)
    return _wide_columns(path, header, matcher, student, wide)


def _wide_columns(path: str, header: list[str], matcher: QuestionMatcher, student: int,
                  wide: dict[int, str]) -> Columns:
    if not wide:
        raise InputFileError(
            f"{path}: row 1: no column is headed by a question id or question text of the bank; "
            f"the header is: {_show(header)}; for one row per answer name the columns "
            "student_id,question_id,answer"
        )
    first: dict[str, int] = {}
    for i, qid in wide.items():
        if qid in first:
            raise InputFileError(
                f"{path}: row 1, column {header[i]!r}: names question {qid!r} again (also column "
                f"{header[first[qid]]!r}); keep one column per question"
            )
        first[qid] = i
    extras = tuple((i, h) for i, h in enumerate(header) if i != student and i not in wide)
    suspicious = tuple(h for _, h in extras if matcher.looks_like_id(h))
    return Columns("wide", student, -1, -1, tuple(wide.items()), extras, suspicious)


def _show(header: list[str]) -> str:
    text = ",".join(header)
    return text if len(text) <= 120 else text[:117] + "..."
