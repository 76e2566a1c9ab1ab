"""Load and validate a question bank: `questions/*.yaml` + `rubrics/*.yaml` -> Bank.

Every problem found names its file and field (or line); a broken bank fails
as a whole (`BankError` lists every problem) before any answer is read. Files
are read in sorted order, so the bank and its version hash are the same on
every machine.

A bank is untrusted input that ends up in error messages and in the scorer,
so it cannot be made to eat the machine: files, texts, lists and numbers are
capped, YAML aliases (the "billion laughs") and duplicate or merge keys are
refused, a bad value is echoed as a short prefix only, and weights and
penalties must be finite.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.bank.derive import derive_key_points
from harness.bank.strict_yaml import SHOWN_CHARS, cut, read_yaml, show
from harness.errors import BankError
from harness.scoring.keywords import alias_key
from harness.types import (
    DIFFICULTIES,
    Alternative,
    Bank,
    KeyPoint,
    KeywordGroup,
    Misconception,
    Question,
    Reference,
    Rubric,
)

BANK_ENV = "HARNESS_BANK"
MAX_FILE_BYTES = 1 << 20  # one YAML file; the bundled rubrics are under 8 KB
MAX_TEXT_CHARS = 10_000  # a prompt, reference answer, statement, correction or source
MAX_NAME_CHARS = 200  # an id, topic, version, title, tag or keyword alias
MAX_ITEMS = 200  # entries of any list in one question or rubric
MAX_QUESTIONS = 5_000  # questions in a bank, and YAML files in each of its folders
MAX_WEIGHT = 1_000.0  # the bundled weights are 1-3; beyond this a sum could overflow
_KEBAB = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
_QUESTION_KEYS = {"id", "topic", "difficulty", "prompt", "tags", "source"}
_RUBRIC_KEYS = {"question_id", "version", "references", "key_points", "misconceptions", "keywords"}
_POINT_KEYS = {"id", "title", "text", "text_en", "weight", "keywords", "alternatives"}
_ALT_KEYS = {"zh", "en", "plain"}
_MISC_KEYS = {"id", "text", "text_en", "cues", "correction", "penalty"}
_LANG_KEYS = {"zh", "en"}


def default_bank_dir() -> Path:
    """The bank to use when none is named: $HARNESS_BANK, else the bundled one.

    The bundled bank sits in the package after a wheel install
    (`harness/_bank`) and at the repository root in a checkout.
    """
    env = os.environ.get(BANK_ENV)
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    installed = package / "_bank"
    if (installed / "questions").is_dir():
        return installed
    return package.parent


def load_bank(root: Path | str | None = None) -> Bank:
    """Read and validate the bank under `root` (see `default_bank_dir`).

    Raises:
        BankError: listing every problem found, each with its file and field.
    """
    root = Path(root) if root is not None else default_bank_dir()
    problems: list[str] = []
    qdir, rdir = root / "questions", root / "rubrics"
    for d in (qdir, rdir):
        if not d.is_dir():
            problems.append(f"{d}: folder not found (a bank has questions/ and rubrics/ folders)")
    if problems:
        raise BankError(problems)
    hasher = hashlib.sha256()
    questions: dict[str, Question] = {}
    for path, data in _read_folder(qdir, problems, hasher):
        for q in _parse_question_file(path, data, problems):
            if q.id in questions:
                problems.append(f"{path}: id: duplicate question id {q.id!r} (also in {questions[q.id].path})")
            else:
                questions[q.id] = q
    rubrics: dict[str, Rubric] = {}
    for path, data in _read_folder(rdir, problems, hasher):
        rubric = _parse_rubric(path, data, problems)
        if rubric is None:
            continue
        if rubric.question_id in rubrics:
            problems.append(
                f"{path}: question_id: a second rubric for {rubric.question_id!r} "
                f"(also in {rubrics[rubric.question_id].path})"
            )
        else:
            rubrics[rubric.question_id] = rubric
    for qid, q in questions.items():
        if qid not in rubrics:
            problems.append(f"{q.path}: id: question {qid!r} has no rubric in {rdir}")
    for qid, r in rubrics.items():
        if qid not in questions:
            problems.append(f"{r.path}: question_id: no question with id {qid!r} in {qdir}")
    if not questions and not problems:
        problems.append(f"{qdir}: no questions found (add a questions/*.yaml file)")
    if len(questions) > MAX_QUESTIONS:
        problems.append(f"{qdir}: {len(questions):,} questions, more than the {MAX_QUESTIONS:,} a bank may hold")
    if problems:
        raise BankError(problems)
    return Bank(root=root, questions=questions, rubrics=rubrics, version=hasher.hexdigest()[:12])


def _read_folder(folder: Path, problems: list[str], hasher: Any) -> Iterator[tuple[Path, Any]]:
    """(path, data) of each YAML file in the folder that reads, in sorted order; problems recorded for the rest."""
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError as exc:
        problems.append(f"{folder}: cannot list: {exc.strerror}")
        return
    if len(files) > MAX_QUESTIONS:
        problems.append(f"{folder}: {len(files):,} YAML files, more than the {MAX_QUESTIONS:,} a bank may hold")
        return
    for path in files:
        before = len(problems)
        data = read_yaml(path, problems, hasher, max_bytes=MAX_FILE_BYTES)
        if len(problems) == before:
            yield path, data


class _Checker:
    """Field checks that record `file: field: message` problems."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems

    def fail(self, field: str, message: str) -> None:
        self.problems.append(f"{self.path}: {field}: {message}")

    def mapping(self, data: Any, field: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.fail(field or "(top level)", f"expected a mapping, got {type(data).__name__}")
            return None
        prefix = f"{field}." if field else ""
        for key in sorted(set(map(str, data)) - allowed):
            self.fail(f"{prefix}{cut(key, SHOWN_CHARS)}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(data)):
            self.fail(f"{prefix}{key}", "required field is missing")
        return data

    def text(self, data: dict[str, Any], key: str, field: str, *, required: bool = True,
             limit: int = MAX_TEXT_CHARS) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(field, "expected non-empty text")
            return None
        return self.capped(value.strip(), field, limit) or None

    def capped(self, value: str, field: str, limit: int = MAX_TEXT_CHARS) -> str | None:
        """`value`, or None (a problem recorded) when it is longer than `limit` characters."""
        if len(value) > limit:
            self.fail(field, f"{len(value):,} characters, more than the {limit:,} allowed: {show(value)}")
            return None
        return value

    def within(self, items: list[Any], field: str, limit: int = MAX_ITEMS) -> list[Any]:
        """`items`, or none of them (a problem recorded) when there are more than `limit`."""
        if len(items) > limit:
            self.fail(field, f"{len(items):,} entries, more than the {limit:,} allowed")
            return []
        return items

    def ident(self, data: dict[str, Any], key: str, field: str) -> str | None:
        value = self.text(data, key, field, limit=MAX_NAME_CHARS)
        if value is not None and not _KEBAB.match(value):
            self.fail(field, f"{show(value)} is not a kebab-case id (lower-case letters, digits and hyphens)")
            return None
        return value

    def positive(self, data: dict[str, Any], key: str, field: str, *, most: float) -> float:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            self.fail(field, f"must be a positive number, got {show(value)}")
            return 1.0
        if value > most:
            self.fail(field, f"must be at most {most:g}, got {value:g}")
            return 1.0
        return float(value)

    def languages(self, data: Any, field: str) -> tuple[str | None, str | None]:
        if isinstance(data, str):
            return (self.capped(data.strip(), field) or None, None)
        m = self.mapping(data, field, _LANG_KEYS, set())
        if m is None:
            return (None, None)
        zh = self.text(m, "zh", f"{field}.zh")
        en = self.text(m, "en", f"{field}.en")
        if not zh and not en:
            self.fail(field, "needs a zh or en text")
        return (zh, en)

    def groups(self, data: Any, field: str) -> tuple[KeywordGroup, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.fail(field, "expected a list of keyword groups, e.g. [[对比学习, contrastive learning]]")
            return ()
        out = []
        for i, group in enumerate(self.within(data, field)):
            items = group if isinstance(group, list) else [group]
            if not items:
                self.fail(f"{field}[{i}]", "empty keyword group")
            aliases = []
            for j, alias in enumerate(self.within(items, f"{field}[{i}]")):
                if isinstance(alias, (int, float)) and not isinstance(alias, bool):
                    alias = str(alias)
                f = f"{field}[{i}][{j}]"
                if isinstance(alias, str) and self.capped(alias.strip(), f, MAX_NAME_CHARS) is None:
                    continue
                if not isinstance(alias, str) or not alias_key(alias):
                    self.fail(f, f"empty or non-text alias {show(alias)}")
                    continue
                aliases.append(alias.strip())
            if aliases:
                out.append(KeywordGroup(tuple(aliases)))
        return tuple(out)


def _parse_question_file(path: Path, data: Any, problems: list[str]) -> list[Question]:
    if data is None:
        return []
    c = _Checker(path, problems)
    top = c.mapping(data, "", {"questions"}, {"questions"})
    if top is None:
        return []
    items = top.get("questions")
    if not isinstance(items, list) or not items:
        c.fail("questions", "expected a non-empty list of questions")
        return []
    out = []
    for i, item in enumerate(c.within(items, "questions", MAX_QUESTIONS)):
        f = f"questions[{i}]"
        m = c.mapping(item, f, _QUESTION_KEYS, {"id", "topic", "difficulty", "prompt"})
        if m is None:
            continue
        qid = c.ident(m, "id", f"{f}.id")
        topic = c.ident(m, "topic", f"{f}.topic")
        difficulty = m.get("difficulty", "")
        if "difficulty" in m and difficulty not in DIFFICULTIES:
            c.fail(f"{f}.difficulty", f"{show(difficulty)} is not one of {', '.join(DIFFICULTIES)}")
        zh, en = c.languages(m.get("prompt"), f"{f}.prompt") if "prompt" in m else (None, None)
        tags = _tags(c, m.get("tags"), f"{f}.tags")
        source = c.text(m, "source", f"{f}.source", required=False)
        if qid and topic and (zh or en):
            out.append(Question(qid, topic, str(difficulty), zh, en, tags, source, str(path)))
    return out


def _tags(c: _Checker, data: Any, field: str) -> tuple[str, ...]:
    tags = data or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        c.fail(field, "expected a list of non-empty tags")
        return ()
    return tuple(t for t in c.within(tags, field) if c.capped(t, field, MAX_NAME_CHARS))


def _parse_rubric(path: Path, data: Any, problems: list[str]) -> Rubric | None:
    c = _Checker(path, problems)
    before = len(problems)
    m = c.mapping(data, "", _RUBRIC_KEYS, {"question_id", "version", "references"})
    if m is None:
        return None
    qid = c.ident(m, "question_id", "question_id")
    version = c.text(m, "version", "version", limit=MAX_NAME_CHARS)
    refs = []
    raw_refs = m.get("references")
    if "references" in m and (not isinstance(raw_refs, list) or not raw_refs):
        c.fail("references", "expected a non-empty list of reference answers")
    for i, raw in enumerate(c.within(raw_refs, "references") if isinstance(raw_refs, list) else []):
        zh, en = c.languages(raw, f"references[{i}]")
        if zh or en:
            refs.append(Reference(zh, en))
    points = _parse_points(c, m.get("key_points"))
    miscs = _parse_misconceptions(c, m.get("misconceptions"))
    keywords = c.groups(m.get("keywords"), "keywords")
    if len(problems) > before or qid is None or version is None:
        return None
    if not points:
        points = derive_key_points(refs)
    digest = hashlib.sha256(repr((qid, version, refs, points, miscs, keywords)).encode()).hexdigest()
    return Rubric(qid, version, tuple(refs), points, miscs, keywords, str(path), digest[:12])


def _parse_points(c: _Checker, data: Any) -> tuple[KeyPoint, ...]:
    if data is None:
        return ()
    if not isinstance(data, list) or not data:
        c.fail("key_points", "expected a non-empty list (or leave key_points out to derive them from the references)")
        return ()
    points: list[KeyPoint] = []
    ids: set[str] = set()
    owner: dict[str, str | None] = {}
    for i, item in enumerate(c.within(data, "key_points")):
        f = f"key_points[{i}]"
        m = c.mapping(item, f, _POINT_KEYS, {"id", "text", "weight"})
        if m is None:
            continue
        pid = c.ident(m, "id", f"{f}.id")
        if pid is not None and pid in ids:
            c.fail(f"{f}.id", f"duplicate key point id {pid!r}")
        ids.add(pid or "")
        text = c.text(m, "text", f"{f}.text")
        weight = c.positive(m, "weight", f"{f}.weight", most=MAX_WEIGHT)
        groups = c.groups(m.get("keywords"), f"{f}.keywords")
        for g in groups:
            for alias in g.aliases:
                key = alias_key(alias)
                if owner.get(key, pid) != pid:
                    c.fail(f"{f}.keywords", f"alias {alias!r} is also used by key point {owner[key]!r}; "
                           "an alias may belong to one point only")
                owner[key] = pid
        title = c.text(m, "title", f"{f}.title", required=False, limit=MAX_NAME_CHARS) or (pid or "")
        alternatives = _parse_alternatives(c, m.get("alternatives"), f"{f}.alternatives")
        if pid and text:
            points.append(KeyPoint(pid, title, text, weight, groups, c.text(m, "text_en", f"{f}.text_en"),
                                   alternatives=alternatives))
    return tuple(points)


def _parse_alternatives(c: _Checker, data: Any, field: str) -> tuple[Alternative, ...]:
    """Further statements of one key point: a list of {zh, en, plain}."""
    if data is None:
        return ()
    if not isinstance(data, list):
        c.fail(field, "expected a list of alternatives, e.g. [{zh: ..., plain: true}]")
        return ()
    out = []
    for i, item in enumerate(c.within(data, field)):
        f = f"{field}[{i}]"
        m = c.mapping(item, f, _ALT_KEYS, set())
        if m is None:
            continue
        plain = m.get("plain", False)
        if not isinstance(plain, bool):
            c.fail(f"{f}.plain", f"must be true or false, got {show(plain)}")
            continue
        zh = c.text(m, "zh", f"{f}.zh")
        en = c.text(m, "en", f"{f}.en")
        if not zh and not en:
            c.fail(f, "needs a zh or en text")
            continue
        out.append(Alternative(zh, en, plain))
    return tuple(out)


def _parse_misconceptions(c: _Checker, data: Any) -> tuple[Misconception, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        c.fail("misconceptions", "expected a list")
        return ()
    out = []
    for i, item in enumerate(c.within(data, "misconceptions")):
        f = f"misconceptions[{i}]"
        m = c.mapping(item, f, _MISC_KEYS, {"id", "text", "cues", "penalty"})
        if m is None:
            continue
        mid = c.ident(m, "id", f"{f}.id")
        text = c.text(m, "text", f"{f}.text")
        cues = c.groups(m.get("cues"), f"{f}.cues")
        if "cues" in m and not cues:
            c.fail(f"{f}.cues", "needs at least one keyword group")
        penalty = c.positive(m, "penalty", f"{f}.penalty", most=math.inf)
        if penalty > 100:
            c.fail(f"{f}.penalty", f"is in points out of 100, got {penalty:g}")
        if mid and text and cues:
            out.append(
                Misconception(mid, text, cues, penalty, c.text(m, "text_en", f"{f}.text_en"),
                              c.text(m, "correction", f"{f}.correction"))
            )
    return tuple(out)
