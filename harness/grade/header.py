"""Making sense of a submissions file's header: columns, aliases and layout.

Two layouts are read:

- **long**: one row per answer, with a student, a question and an answer
  column (names matched case-insensitively, with aliases such as `学号`,
  `题号`, `答案`); every other column is carried through.
- **wide**: one row per person, an id column, then one column per question,
  headed by the question's id or its prompt text (zh or en), as form exports
  write them; other columns are carried through.

The exports of survey tools and LMSs are recognised by their headers
(`harness.grade.exports`); the student id is the most unique column present
(`harness.grade.identity`); wide columns are mapped to questions by
`harness.grade.mapping`, which also records how. Headers and question cells
are compared after `labels.normalize_label`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.errors import InputFileError
from harness.grade.exports import ExportShape, recognise
from harness.grade.identity import STUDENT_ALIASES, StudentChoice, choose_student, is_id_alias
from harness.grade.labels import header_key, normalize_label
from harness.grade.mapping import (
    ColumnMapping,
    ColumnMatch,
    Forced,
    MapRequest,
    PromptIndex,
    map_columns,
    resolve_request,
)
from harness.types import Bank

__all__ = ["STUDENT_ALIASES", "Columns", "Layout", "QuestionMatcher", "header_key", "normalize_label",
           "resolve_columns"]

Layout = Literal["long", "wide"]

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
_NO_REQUEST = Forced((), frozenset(), -1)


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
        self.prompts = PromptIndex(bank)

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
    (index, name carried under: the header as written, or for a Canvas
    points column its item's). `mapping` records how each was decided;
    `unmapped` are the free-text columns that answer no question;
    `blank_marks` what the exporting tool writes for an unanswered item.
    """

    layout: Layout
    student: int
    question: int
    answer: int
    questions: tuple[tuple[int, str], ...]
    extras: tuple[tuple[int, str], ...]
    mapping: ColumnMapping
    suspicious: tuple[str, ...] = ()
    unmapped: tuple[ColumnMatch, ...] = ()
    blank_marks: frozenset[str] = frozenset()

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


@dataclass(frozen=True)
class _Header:
    """A header with what is known of it before the layout is settled."""

    path: str
    names: list[str]
    shape: ExportShape
    forced: Forced
    student: StudentChoice
    candidates: frozenset[int]


def resolve_columns(path: str, header: list[str], *, matcher: QuestionMatcher, layout: Layout | None = None,
                    sample: Sequence[Sequence[str]] = (), request: MapRequest | None = None) -> Columns:
    """The layout (detected unless given) and the role of every column.

    `sample` holds the first rows below the header (they help choose the
    student id and tell free text); `request` is the user's `--map` /
    `--questions`.

    Raises:
        InputFileError: a required column is missing, two columns name one question,
            or --map / --questions do not fit the file.
        UnknownQuestionError: --map or --questions names a question the bank lacks.

    """
    shape = recognise(header)
    forced = resolve_request(path, header, shape, request, bank=matcher.bank) if request else _NO_REQUEST
    keys = [header_key(label) for label in shape.labels]
    candidates = frozenset(i for i, k in enumerate(keys) if is_id_alias(k)) - shape.metadata - shape.not_ids
    choice = (StudentChoice(forced.student, "--map", "", tuple(sorted(candidates - {forced.student})))
              if forced.student >= 0 else choose_student(keys, header, skip=shape.metadata | shape.not_ids,
                                                          sample=sample, per_person=shape.tool is not None))
    head = _Header(path, header, shape, forced, choice, candidates)
    student = choice.column
    question = _find(keys, QUESTION_ALIASES, {student})
    answer = _find(keys, ANSWER_ALIASES, {student, question})
    if student < 0:
        raise InputFileError(
            f"{path}: row 1: missing required column student_id (also accepted: {_HINTS['student_id']}); "
            f"the header is: {_show(header)}" + ("" if shape.tool is None else
                                                 '; name it with --map "COLUMN=student_id"'))
    if layout == "long" or layout is None and question >= 0 and answer >= 0 and not request:
        return _long_columns(head, question, answer, explicit=layout == "long")
    wide = _wide_columns(head, matcher, sample)
    if layout is None and not wide.questions and shape.tool is None and not shape.numbered and not request:
        return _long_columns(head, question, answer, explicit=False)
    if not wide.questions:
        raise InputFileError(_nothing_mapped(head, wide.unmapped))
    return wide


def _long_columns(head: _Header, question: int, answer: int, *, explicit: bool) -> Columns:
    if head.forced.questions or head.forced.ignored:
        raise InputFileError(f"{head.path}: row 1: --map and --questions name the question columns of a file "
                             "with one column per question; this one has one row per answer (question_id,answer)")
    for col, label in ((question, "question_id"), (answer, "answer")):
        if col < 0:
            raise InputFileError(
                f"{head.path}: row 1: missing required column {label} (also accepted: {_HINTS[label]}); "
                f"the header is: {_show(head.names)}; for one column per question use --layout wide"
            )
    used = {head.student.column, question, answer}
    extras = tuple((i, head.shape.names[i]) for i in range(len(head.names)) if i not in used)
    return Columns("long", head.student.column, question, answer, (), extras,
                   _mapping(head, "long", (), (), extras))


def _wide_columns(head: _Header, matcher: QuestionMatcher, sample: Sequence[Sequence[str]]) -> Columns:
    matched, unmapped = map_columns(head.path, head.names, head.shape, find=matcher.find,
                                    prompts=matcher.prompts, forced=head.forced, student=head.student.column,
                                    candidates=head.candidates, sample=sample)
    used = {head.student.column} | {m.column for m in matched}
    extras = tuple((i, head.shape.names[i]) for i in range(len(head.names)) if i not in used)
    suspicious = tuple(h for i, h in extras if i not in head.forced.ignored and matcher.looks_like_id(h))
    unmapped = tuple(m for m in unmapped if m.header not in suspicious)
    questions = tuple((m.column, m.question_id) for m in matched if m.question_id is not None)
    return Columns("wide", head.student.column, -1, -1, questions, extras,
                   _mapping(head, "wide", matched, unmapped, extras), suspicious, unmapped,
                   head.shape.blank_marks)


def _mapping(head: _Header, layout: Layout, matched: tuple[ColumnMatch, ...], unmapped: tuple[ColumnMatch, ...],
             extras: tuple[tuple[int, str], ...]) -> ColumnMapping:
    s = head.student
    return ColumnMapping(head.shape.tool, layout, s.column, head.names[s.column], s.kind, s.note, matched, unmapped,
                         tuple(name for _, name in extras),
                         tuple(head.names[i] for i in sorted(head.forced.ignored)))


def _nothing_mapped(head: _Header, unmapped: tuple[ColumnMatch, ...]) -> str:
    text = (f"{head.path}: row 1: no column is headed by a question id or question text of the bank; "
            f"the header is: {_show(head.names)}")
    if head.shape.numbered:
        first = head.names[head.shape.numbered[0][0]]
        return (f"{text}; its answers are in numbered columns ({first}, ...) that do not say which question they "
                f"answer: name them in order with --questions ID,ID,... or one by one with --map \"{first}=ID\"")
    near = [f"{m.header!r} (closest {m.closest}, {m.similarity:.2f})" for m in unmapped if m.closest][:3]
    if near:
        return f"{text}; not close enough to a prompt: {', '.join(near)}; map them with --map \"COLUMN=QUESTION_ID\""
    return f"{text}; for one row per answer name the columns student_id,question_id,answer"


def _show(header: list[str]) -> str:
    text = ",".join(header)
    return text if len(text) <= 120 else text[:117] + "..."
