"""Load and validate a question bank: `questions/*.yaml` + `rubrics/*.yaml` -> Bank.

Every problem found names its file and field; a broken bank fails as a whole
(`BankError` lists every problem) before any answer is read. Files are read
in sorted order, so the bank and its version hash are the same on every machine.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml

from harness.bank.derive import derive_key_points
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
# libyaml's safe loader where present (7x faster on the bundled bank), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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
    for path in _yaml_files(qdir):
        data = _read_yaml(path, problems, hasher)
        for q in _parse_question_file(path, data, problems):
            if q.id in questions:
                problems.append(f"{path}: id: duplicate question id {q.id!r} (also in {questions[q.id].path})")
            else:
                questions[q.id] = q
    rubrics: dict[str, Rubric] = {}
    for path in _yaml_files(rdir):
        data = _read_yaml(path, problems, hasher)
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
    if problems:
        raise BankError(problems)
    return Bank(root=root, questions=questions, rubrics=rubrics, version=hasher.hexdigest()[:12])


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _read_yaml(path: Path, problems: list[str], hasher: Any) -> Any:
    try:
        raw = path.read_bytes()
        hasher.update(path.name.encode() + b"\0" + raw)
        return yaml.load(raw.decode("utf-8-sig"), Loader=_LOADER)
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
    return None


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
            self.fail(f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(data)):
            self.fail(f"{prefix}{key}", "required field is missing")
        return data

    def text(self, data: dict[str, Any], key: str, field: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(field, "expected non-empty text")
            return None
        return value.strip() or None

    def ident(self, data: dict[str, Any], key: str, field: str) -> str | None:
        value = self.text(data, key, field)
        if value is not None and not _KEBAB.match(value):
            self.fail(field, f"{value!r} is not a kebab-case id (lower-case letters, digits and hyphens)")
            return None
        return value

    def positive(self, data: dict[str, Any], key: str, field: str, default: float | None = None) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.fail(field, f"must be a positive number, got {value!r}")
            return 1.0
        return float(value)

    def languages(self, data: Any, field: str) -> tuple[str | None, str | None]:
        if isinstance(data, str):
            return (data.strip() or None, None)
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
        for i, group in enumerate(data):
            items = group if isinstance(group, list) else [group]
            aliases = []
            for j, alias in enumerate(items):
                if isinstance(alias, (int, float)) and not isinstance(alias, bool):
                    alias = str(alias)
                if not isinstance(alias, str) or not alias_key(alias):
                    self.fail(f"{field}[{i}][{j}]", f"empty or non-text alias {alias!r}")
                    continue
                aliases.append(alias.strip())
            if not items:
                self.fail(f"{field}[{i}]", "empty keyword group")
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
    for i, item in enumerate(items):
        f = f"questions[{i}]"
        m = c.mapping(item, f, _QUESTION_KEYS, {"id", "topic", "difficulty", "prompt"})
        if m is None:
            continue
        qid = c.ident(m, "id", f"{f}.id")
        topic = c.ident(m, "topic", f"{f}.topic")
        difficulty = str(m.get("difficulty", ""))
        if "difficulty" in m and difficulty not in DIFFICULTIES:
            c.fail(f"{f}.difficulty", f"{difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
        zh, en = c.languages(m.get("prompt"), f"{f}.prompt") if "prompt" in m else (None, None)
        tags = m.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            c.fail(f"{f}.tags", "expected a list of non-empty tags")
            tags = []
        source = c.text(m, "source", f"{f}.source", required=False)
        if qid and topic and (zh or en):
            out.append(Question(qid, topic, difficulty, zh, en, tuple(tags), source, str(path)))
    return out


def _parse_rubric(path: Path, data: Any, problems: list[str]) -> Rubric | None:
    c = _Checker(path, problems)
    before = len(problems)
    m = c.mapping(data, "", _RUBRIC_KEYS, {"question_id", "version", "references"})
    if m is None:
        return None
    qid = c.ident(m, "question_id", "question_id")
    version = c.text(m, "version", "version")
    refs = []
    raw_refs = m.get("references")
    if "references" in m and (not isinstance(raw_refs, list) or not raw_refs):
        c.fail("references", "expected a non-empty list of reference answers")
    for i, raw in enumerate(raw_refs if isinstance(raw_refs, list) else []):
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
    points, ids, owner = [], set(), {}
    for i, item in enumerate(data):
        f = f"key_points[{i}]"
        m = c.mapping(item, f, _POINT_KEYS, {"id", "text", "weight"})
        if m is None:
            continue
        pid = c.ident(m, "id", f"{f}.id")
        if pid in ids:
            c.fail(f"{f}.id", f"duplicate key point id {pid!r}")
        ids.add(pid)
        text = c.text(m, "text", f"{f}.text")
        weight = c.positive(m, "weight", f"{f}.weight")
        groups = c.groups(m.get("keywords"), f"{f}.keywords")
        for g in groups:
            for alias in g.aliases:
                key = alias_key(alias)
                if owner.get(key, pid) != pid:
                    c.fail(f"{f}.keywords", f"alias {alias!r} is also used by key point {owner[key]!r}; "
                           "an alias may belong to one point only")
                owner[key] = pid
        title = c.text(m, "title", f"{f}.title", required=False) or (pid or "")
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
    for i, item in enumerate(data):
        f = f"{field}[{i}]"
        m = c.mapping(item, f, _ALT_KEYS, set())
        if m is None:
            continue
        plain = m.get("plain", False)
        if not isinstance(plain, bool):
            c.fail(f"{f}.plain", f"must be true or false, got {plain!r}")
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
    for i, item in enumerate(data):
        f = f"misconceptions[{i}]"
        m = c.mapping(item, f, _MISC_KEYS, {"id", "text", "cues", "penalty"})
        if m is None:
            continue
        mid = c.ident(m, "id", f"{f}.id")
        text = c.text(m, "text", f"{f}.text")
        cues = c.groups(m.get("cues"), f"{f}.cues")
        if "cues" in m and not cues:
            c.fail(f"{f}.cues", "needs at least one keyword group")
        penalty = c.positive(m, "penalty", f"{f}.penalty")
        if penalty > 100:
            c.fail(f"{f}.penalty", f"is in points out of 100, got {penalty}")
        if mid and text and cues:
            out.append(
                Misconception(mid, text, cues, penalty, c.text(m, "text_en", f"{f}.text_en"),
                              c.text(m, "correction", f"{f}.correction"))
            )
    return tuple(out)
