"""Which question each column of a one-row-per-person file answers, and how that was decided.

A column is mapped by the first rule that applies:

1. `--map "COLUMN=QUESTION_ID"` (`COLUMN=-`: not a question; `COLUMN=student_id`:
   the student id column);
2. `--questions ID,ID,...`: the numbered `Response N` / `Question N` columns,
   in order of N (`-` skips one);
3. the header names a question: its id, or its prompt in Chinese or English
   (item numbers, mark notes, case, full-width forms ignored);
4. the header reads like a prompt: its similarity to the closest prompt (Dice
   over content words and CJK bigrams, see `scoring.text.content_tokens`) is
   at least `SIMILAR_AT` and `MARGIN` above the next question's.

The tools' metadata columns and the student id candidates are never matched
by similarity. Two columns on one question is an error naming both, except
that a similarity match gives way to a column matched by rules 1-3. Every
column of free text that maps to nothing, and every numbered answer column
left unnamed, is returned in `unmapped`, so it is reported, never skipped in
silence. The `ColumnMapping` is printed by `harness grade` and written into
run.json and report.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import InputFileError, UnknownQuestionError
from harness.grade.exports import ExportShape
from harness.grade.labels import header_key, normalize_label
from harness.scoring.text import content_tokens, visible_length
from harness.types import Bank

SIMILAR_AT = 0.5
MARGIN = 0.15
NOT_A_QUESTION = "-"
STUDENT_ID = "student_id"
_QUESTION_LIKE = re.compile(
    r"[?？]\s*$|^(?:what|how|why|which|explain|describe|compare|请|简述|试述|为什么|如何|怎么|什么)", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z]+")
_DATA_CELL = re.compile(r"^(?:[\d\s:/.,\-+年月日时分秒()（）apm]+|[^@\s]+@[^@\s]+\.\w+|https?://\S+|\d{1,3}(?:\.\d{1,3}){3}.*)$",
                        re.IGNORECASE)


@dataclass(frozen=True)
class MapRequest:
    """What the user said about the columns: `--map` pairs and `--questions` ids."""

    columns: tuple[tuple[str, str], ...] = ()
    questions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, maps: Sequence[str] = (), questions: str | None = None) -> MapRequest:
        """From `--map "COLUMN=QUESTION_ID"` texts and a `--questions ID,ID,...` text.

        Raises:
            ValueError: see `parse_map` and `parse_questions`.

        """
        return cls(tuple(parse_map(text) for text in maps), parse_questions(questions))

    def __bool__(self) -> bool:
        return bool(self.columns or self.questions)


def parse_map(text: str) -> tuple[str, str]:
    """`COLUMN=QUESTION_ID` as (column, question id); split at the last `=`.

    Raises:
        ValueError: no `=`, or an empty column or question id.

    """
    column, sep, target = text.rpartition("=")
    if not sep or not column.strip() or not target.strip():
        raise ValueError(f"{text!r}: expected COLUMN=QUESTION_ID, e.g. --map \"Response 1=clip-idea\" "
                         "(or COLUMN=- for a column that is not a question)")
    return column.strip(), target.strip()


def parse_questions(text: str | None) -> tuple[str, ...]:
    """`ID,ID,...` as a tuple of ids (`-` skips a column); empty for None.

    Raises:
        ValueError: an empty id.

    """
    if not text:
        return ()
    ids = tuple(q.strip() for q in text.split(","))
    if any(not q for q in ids):
        raise ValueError(f"{text!r}: an empty question id; write --questions ID,ID,... (- skips a column)")
    return ids


@dataclass(frozen=True)
class ColumnMatch:
    """One column and the question it answers (None: none), with how that was decided."""

    column: int
    header: str
    question_id: str | None
    how: str
    similarity: float | None = None
    closest: str | None = None

    def describe(self) -> str:
        """`'Q3' -> clip-idea (similar text, 0.72)`, for people to read."""
        score = f", {self.similarity:.2f}" if self.similarity is not None else ""
        return f"{self.header!r} -> {self.question_id} ({self.how}{score})"

    def why(self) -> str:
        """Why an unmapped column is not graded: `free text, ...; closest clip-idea at 0.14`."""
        near = (f"; closest {self.closest} at {self.similarity:.2f}, {SIMILAR_AT:.2f} needed"
                if self.closest and self.similarity is not None else "")
        return f"{self.how}{near}"


@dataclass(frozen=True)
class ColumnMapping:
    """How a file's columns were read: tool, student id, questions, unmapped, carried through."""

    tool: str | None
    layout: str
    student_column: int
    student: str
    student_kind: str
    student_note: str
    matched: tuple[ColumnMatch, ...]
    unmapped: tuple[ColumnMatch, ...]
    carried: tuple[str, ...]
    ignored: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The mapping as lines for the terminal and report.md."""
        out = [f"Read as: {self.tool or 'a plain CSV'}, {self.layout} layout"]
        why = self.student_note or ("named with --map" if self.student_kind == "--map" else "the most unique column")
        kind = "" if self.student_kind == "--map" else f"{self.student_kind}, "
        out.append(f"Student id: {self.student!r} ({kind}{why})")
        out += [f"Question: {m.describe()}" for m in self.matched]
        out += [f"Not graded: {m.header!r} ({m.why()})" for m in self.unmapped]
        out += [f"Not a question: {name!r} (--map)" for name in self.ignored]
        if self.carried:
            out.append("Carried through: " + ", ".join(repr(c) for c in self.carried))
        return out

    def as_json(self) -> dict[str, Any]:
        """The mapping for run.json."""
        def entry(m: ColumnMatch) -> dict[str, Any]:
            return {"column": m.column + 1, "header": m.header, "question_id": m.question_id, "how": m.how,
                    "similarity": m.similarity, "closest": m.closest}

        return {"tool": self.tool, "layout": self.layout,
                "student_id": {"column": self.student_column + 1, "header": self.student, "kind": self.student_kind,
                               "note": self.student_note},
                "questions": [entry(m) for m in self.matched], "unmapped": [entry(m) for m in self.unmapped],
                "not_questions": list(self.ignored), "carried_through": list(self.carried)}


@dataclass(frozen=True)
class Forced:
    """The request resolved against a header: column -> (question id, how); ignored columns; the id column."""

    questions: tuple[tuple[int, str, str], ...]
    ignored: frozenset[int]
    student: int


class PromptIndex:
    """The bank's prompts (zh and en) as content-token sets, for similarity matching."""

    def __init__(self, bank: Bank) -> None:
        self._prompts = [(q.id, frozenset(content_tokens(normalize_label(p))))
                         for q in bank.questions.values() for p in (q.prompt_zh, q.prompt_en) if p]

    def closest(self, text: str) -> tuple[str | None, float, float]:
        """(closest question, its similarity, the next question's similarity), similarities in [0, 1]."""
        tokens = frozenset(content_tokens(normalize_label(text)))
        best: dict[str, float] = {}
        for qid, prompt in self._prompts:
            if tokens and prompt:
                dice = 2 * len(tokens & prompt) / (len(tokens) + len(prompt))
                best[qid] = max(best.get(qid, 0.0), dice)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] == 0:
            return None, 0.0, 0.0
        return ranked[0][0], round(ranked[0][1], 2), round(ranked[1][1], 2) if len(ranked) > 1 else 0.0


def resolve_request(path: str, header: Sequence[str], shape: ExportShape, request: MapRequest, *,
                    bank: Bank) -> Forced:
    """Which columns the user's `--map` and `--questions` name.

    Raises:
        InputFileError: a column the header lacks, named twice, or no numbered column for --questions.
        UnknownQuestionError: a question id the bank lacks.

    """
    questions: dict[int, tuple[str, str]] = {}
    ignored: set[int] = set()
    student = -1
    for name, target in request.columns:
        i = _find_column(path, header, name)
        if i in questions or i in ignored or i == student:
            raise InputFileError(f"{path}: --map names column {header[i]!r} twice; map each column once")
        if target == NOT_A_QUESTION:
            ignored.add(i)
        elif target == STUDENT_ID:
            student = i
        else:
            questions[i] = (_known(bank, target, f'--map "{name}={target}"'), "--map")
    if request.questions:
        numbered = [i for i, _ in shape.numbered if i not in questions and i not in ignored]
        if not numbered:
            raise InputFileError(f"{path}: row 1: --questions maps numbered answer columns (Response 1, Question 1, "
                                 "Q1...), and this header has none; name columns with --map \"COLUMN=QUESTION_ID\"")
        if len(request.questions) > len(numbered):
            raise InputFileError(f"{path}: row 1: --questions names {len(request.questions)} questions but the file "
                                 f"has {len(numbered)} numbered answer columns: "
                                 + ", ".join(header[i] for i in numbered))
        for i, qid in zip(numbered, request.questions):
            if qid != NOT_A_QUESTION:
                questions[i] = (_known(bank, qid, f"--questions {qid}"), "--questions")
            else:
                ignored.add(i)
    return Forced(tuple((i, q, how) for i, (q, how) in sorted(questions.items())), frozenset(ignored), student)


def _find_column(path: str, header: Sequence[str], name: str) -> int:
    for same in (lambda h: h.strip() == name, lambda h: header_key(h) == header_key(name),
                 lambda h: normalize_label(h) == normalize_label(name)):
        found = [i for i, h in enumerate(header) if same(h)]
        if len(found) == 1:
            return found[0]
        if found:
            raise InputFileError(f"{path}: --map names column {name!r}, and {len(found)} columns are named so; "
                                 "rename one of them")
    close = difflib.get_close_matches(name, list(header), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(h) for h in header[:30]) + (" ..." if len(header) > 30 else "")
    raise InputFileError(f"{path}: --map names column {name!r}, which the header does not have{hint} "
                         f"(its columns: {shown})")


def _known(bank: Bank, qid: str, where: str) -> str:
    if qid in bank.questions:
        return qid
    close = difflib.get_close_matches(qid, list(bank.questions), n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see `harness bank list --bank ...`"
    raise UnknownQuestionError(f"{where}: the bank has no question {qid!r}{hint}")


def free_text(label: str, cells: Sequence[str]) -> bool:
    """True for a column of free text: a header worded as a question, or long prose in its cells."""
    if _QUESTION_LIKE.search(label.strip()) or visible_length(label) >= 10:
        return True
    lengths = [_prose_length(c) for c in cells if c.strip() and not _DATA_CELL.match(c.strip())]
    return bool(lengths) and max(lengths) >= 12 and sum(lengths) / len(lengths) >= 6


def _prose_length(text: str) -> int:
    """Length in CJK characters, an English word counting two (a 12-character sentence is about 6 words)."""
    words = len(_WORDS.findall(text))
    return visible_length(text) + words


class _Claims:
    """Questions claimed so far, so that a second column on one question is caught."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.by_question: dict[str, ColumnMatch] = {}

    def add(self, match: ColumnMatch) -> None:
        qid = match.question_id
        assert qid is not None
        earlier = self.by_question.get(qid)
        if earlier is not None:
            exact = {"question id", "prompt text"}
            hint = "" if {earlier.how, match.how} <= exact else (
                f" ({earlier.header!r} by {earlier.how}, {match.header!r} by {match.how}); map one of them to "
                "another question, or to - if it answers none, with --map \"COLUMN=QUESTION_ID\"")
            raise InputFileError(
                f"{self.path}: row 1, column {match.header!r}: names question {qid!r} again (also column "
                f"{earlier.header!r}); keep one column per question{hint}")
        self.by_question[qid] = match


def map_columns(path: str, header: Sequence[str], shape: ExportShape, *, find: Callable[[str], str | None],
                prompts: PromptIndex, forced: Forced, student: int, candidates: frozenset[int],
                sample: Sequence[Sequence[str]]) -> tuple[tuple[ColumnMatch, ...], tuple[ColumnMatch, ...]]:
    """(matched columns, unmapped free-text columns) of a one-row-per-person file, in file order.

    `find` is `QuestionMatcher.find`; `candidates` are the student id
    candidates (never matched by similarity).

    Raises:
        InputFileError: two columns answer one question.

    """
    claims = _Claims(path)
    for i, forced_id, forced_how in forced.questions:
        claims.add(ColumnMatch(i, header[i], forced_id, forced_how))
    taken = {i for i, _, _ in forced.questions} | forced.ignored | {student}
    numbered = {i for i, _ in shape.numbered}
    similar: list[int] = []
    for i, name in enumerate(header):
        if i in taken or not name.strip():
            continue
        qid = find(name) or (find(shape.labels[i]) if shape.labels[i] != name else None)
        if qid is not None:
            how = "question id" if normalize_label(shape.labels[i]) == normalize_label(qid) else "prompt text"
            claims.add(ColumnMatch(i, name, qid, how))
        elif i not in numbered and i not in shape.metadata and i not in candidates and shape.labels[i].strip():
            similar.append(i)
    unmapped = [ColumnMatch(i, header[i], None, "a numbered answer column")
                for i in numbered if i not in taken and i not in {m.column for m in claims.by_question.values()}]
    for i in similar:
        match = _similar(i, header, shape, prompts, claims, sample)
        if match.question_id is not None:
            claims.add(match)
        elif match.how:
            unmapped.append(match)
    matched = sorted(claims.by_question.values(), key=lambda m: m.column)
    return tuple(matched), tuple(sorted(unmapped, key=lambda m: m.column))


def _similar(i: int, header: Sequence[str], shape: ExportShape, prompts: PromptIndex, claims: _Claims,
             sample: Sequence[Sequence[str]]) -> ColumnMatch:
    """Column `i` matched by similarity, or unmapped with why (`how` empty: not free text, nothing to say)."""
    qid, best, second = prompts.closest(shape.labels[i])
    if qid is not None and best >= SIMILAR_AT and best - second >= MARGIN:
        holder = claims.by_question.get(qid)
        if holder is None or holder.how == "similar text":
            return ColumnMatch(i, header[i], qid, "similar text", best)
        return ColumnMatch(i, header[i], None, f"free text, close to {qid}, which column {holder.header!r} "
                           "answers", best, qid)
    if not free_text(shape.labels[i], [row[i] for row in sample]):
        return ColumnMatch(i, header[i], None, "")
    why = ("free text, no question close enough" if best < SIMILAR_AT
           else f"free text, about as close to another question as to {qid}")
    return ColumnMatch(i, header[i], None, why, best if qid else None, qid)


def column_rows(record: dict[str, Any] | None) -> tuple[tuple[tuple[str, str, str], ...], str]:
    """The rows (column, read as, how) and the note of report.md's columns section, from run.json's record.

    Raises:
        KeyError: a field is missing.
        TypeError: a field has the wrong form.

    """
    if not record:
        return (), ""
    student = record["student_id"]
    how = student["note"] or student["kind"]
    rows = [(str(student["header"]), STUDENT_ID, str(how))]
    for m in record["questions"]:
        score = f", {m['similarity']:.2f}" if m.get("similarity") is not None else ""
        rows.append((str(m["header"]), str(m["question_id"]), f"{m['how']}{score}"))
    for m in record["unmapped"]:
        near = (f"; closest {m['closest']} at {m['similarity']:.2f}, {SIMILAR_AT:.2f} needed"
                if m.get("closest") and m.get("similarity") is not None else "")
        rows.append((str(m["header"]), "not graded", f"{m['how']}{near}"))
    rows += [(str(name), NOT_A_QUESTION, "--map") for name in record.get("not_questions", ())]
    carried = ", ".join(map(str, record["carried_through"]))
    note = f"{record['tool'] or 'a plain CSV'}, {record['layout']} layout" + (
        f"; carried through: {carried}" if carried else "")
    return tuple(rows), note
