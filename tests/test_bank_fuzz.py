"""Fuzzing the bank loader: whatever a bank file holds, the answer is a Bank or a BankError, and quickly.

Three sources of input: arbitrary bytes, YAML-ish text built from the
fragments that trip loaders up (aliases, tags, merge keys, odd numbers,
flow and block syntax), and valid rubrics mutated in their data or in
their text.
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.bank.loader import load_bank
from harness.errors import BankError
from harness.types import Bank

REPO = Path(__file__).resolve().parents[1]
QUESTION = "questions:\n  - {id: q1, topic: t, difficulty: easy, prompt: {zh: 问题, en: A question}}\n"
RUBRIC_DATA: dict[str, Any] = yaml.safe_load((REPO / "rubrics/clip-objective.yaml").read_text(encoding="utf-8"))
RUBRIC_DATA["question_id"] = "q1"
RUBRIC = yaml.safe_dump(RUBRIC_DATA, allow_unicode=True, sort_keys=False)
FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECONDS = 2.0  # per load; the tiny bank loads in milliseconds


def load(question: str | bytes = QUESTION, rubric: str | bytes = RUBRIC) -> Bank | None:
    """Load a one-question bank made of these two files: a Bank, or None after a BankError; fast."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "questions").mkdir()
        (root / "rubrics").mkdir()
        for path, content in ((root / "questions/t.yaml", question), (root / "rubrics/q1.yaml", rubric)):
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        start = time.perf_counter()
        try:
            bank = load_bank(root)
        except BankError as exc:
            assert exc.problems and all(str(root) in p for p in exc.problems), exc.problems  # names the file
            assert all(len(p) < 600 + len(str(root)) for p in exc.problems), exc.problems  # echoes prefixes only
            bank = None
        assert time.perf_counter() - start < SECONDS
        return bank


def test_the_unmutated_files_load() -> None:
    bank = load()
    assert bank is not None and bank.rubrics["q1"].key_points


@FAST
@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes(content: bytes, as_rubric: bool) -> None:
    load(rubric=content) if as_rubric else load(question=content)


FRAGMENTS = [
    "\n", "\n  ", "\n    ", " ", "- ", ": ", ", ", "{", "}", "[", "]", "? ", "#", "'", '"', "|", ">", "---\n", "...\n",
    "&a ", "*a", "&b ", "*b", "<<: ", "!!int ", "!!float ", "!!binary ", "!!str ", "!!set ", "!!omap ", "!!timestamp ",
    "!!python/object:os.system ", "!custom ", "%YAML 1.1\n", ".nan", ".inf", "-.inf", "~", "null", "true", "no",
    "0x1F", "0o17", "1_000", "1:20:30", "1e309", "-0", "2020-13-45", "2020-01-01 25:61:00", "9" * 120, "\t", "\x00",
    "\ufeff", "\u2028", "问题", "InfoNCE", "id", "question_id", "version", "references", "key_points", "weight",
    "penalty", "misconceptions", "cues", "keywords", "alternatives", "plain", "zh", "en", "text", "questions",
    "topic", "difficulty", "prompt", "tags", "q1", "easy", "x" * 300,
]
yamlish = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)


@FAST
@given(yamlish, st.booleans())
def test_yaml_ish_text(content: str, as_rubric: bool) -> None:
    load(rubric=content) if as_rubric else load(question=content)


@FAST
@given(yamlish)
def test_yaml_ish_text_after_a_valid_prefix(tail: str) -> None:
    load(rubric=RUBRIC + tail)
    load(question=QUESTION + tail)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(["", " ", "x" * 20_001]),
    st.dates(), st.binary(max_size=10),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def _mutate(data: Any, draw: st.DataObject) -> Any:
    """Replace, delete or add one entry somewhere in `data` (which is changed in place and returned)."""
    node = data
    while isinstance(node, (dict, list)) and node and draw.draw(st.booleans()):
        child = draw.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        if not isinstance(node[child], (dict, list)):
            break
        node = node[child]
    if not isinstance(node, (dict, list)) or not node:
        return data
    action = draw.draw(st.sampled_from(["replace", "delete", "add"]))
    key = draw.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
    if action == "replace":
        node[key] = draw.draw(values)
    elif action == "delete":
        del node[key]
    elif isinstance(node, dict):
        node[draw.draw(st.sampled_from([*RUBRIC_DATA, "colour", 7, None]))] = draw.draw(values)
    else:
        node.append(draw.draw(values))
    return data


@FAST
@given(st.data())
def test_mutated_rubric_data(draw: st.DataObject) -> None:
    data = copy.deepcopy(RUBRIC_DATA)
    for _ in range(draw.draw(st.integers(min_value=1, max_value=4))):
        data = _mutate(data, draw)
    load(rubric=yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@FAST
@given(st.data())
def test_mutated_question_data(draw: st.DataObject) -> None:
    data = _mutate(yaml.safe_load(QUESTION), draw)
    load(question=yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@FAST
@given(st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.sampled_from(["insert", "delete", "replace"]),
                          st.sampled_from(FRAGMENTS)), min_size=1, max_size=6))
def test_mutated_rubric_text(edits: list[tuple[float, str, str]]) -> None:
    text = RUBRIC
    for where, action, fragment in edits:
        at = int(where * len(text))
        if action == "insert":
            text = text[:at] + fragment + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + len(fragment):]
        else:
            text = text[:at] + fragment + text[at + len(fragment):]
    load(rubric=text)
