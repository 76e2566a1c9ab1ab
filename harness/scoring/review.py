"""When a score needs a second look: the reasons, and two text rules similarity cannot see. Pure.

A review flag never changes a score; it marks answers a teacher should read:

- `wide-interval`: the interval model expects a large error (`intervals`);
- `verdict-conflict`: the reference opens with a verdict (错误 / 不正确 / 正确 /
  对 / true / false / yes / no ..., optionally after 该说法是 / the statement is)
  and the answer opens with the opposite one. "正确，栈底元素不能删除" is as close
  to the reference "错误。栈中元素可以删除栈底元素" as a right answer is;
- `formula-conflict`: a key point states a complexity in O / Θ / Ω notation,
  and the part of the answer closest to that point (similarity >= 0.5)
  states one too, but none the same (O(1) against O(n));
- `off-topic?`: the on-topic gate leans off-topic (p < 0.5), so the score
  was discounted as an answer to another question; or the answer names none
  of a hand-written rubric's terms and catches none of its key points, so
  its score is capped (`rules.shows_nothing_of`, flag `off-rubric`);
- `no-point-matched`: the answer is close to the reference overall but
  matches none of its key points (a paraphrase the rubric did not
  anticipate, or an answer about something near it); its score is held
  at `rules.CLOSENESS_CAP`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from harness.scoring.features import PointMatch
from harness.scoring.text import normalize

WIDE, VERDICT, FORMULA, OFF_TOPIC = "wide-interval", "verdict-conflict", "formula-conflict", "off-topic?"
UNMATCHED = "no-point-matched"
REASONS = (WIDE, VERDICT, FORMULA, OFF_TOPIC, UNMATCHED)
# Each reason in plain words, for people (reports have their own, in English and Chinese: `report.labels`).
PLAIN = {
    WIDE: "the scorer is unsure about this answer",
    VERDICT: "it opens with the opposite verdict to the reference",
    FORMULA: "it states a different complexity than the reference",
    OFF_TOPIC: "it may answer another question",
    UNMATCHED: "it is close to the reference but matches none of its key points",
}
MATCH_SIMILARITY = 0.5
OFF_TOPIC_P = 0.5

_LEAD = (r"^\W*(?:(?:该|这个|这种|这|此|上述)?(?:叙述|说法|描述|命题|观点|答案|判断|结论)\s*"
         r"|(?:the\s+)?(?:statement|claim|answer)\s+is\s+|it\s+is\s+|this\s+is\s+)?(?:是|为)?\s*")
_ZH = r"(?P<zh>不正确|不对|错误|错的|错|否|正确|对的|对|是的|是)的?(?!\w)"
_EN = r"(?P<en>false|incorrect|wrong|no|true|correct|right|yes)(?=\s*(?:[,.;:!]|$))"
_VERDICT = re.compile(f"{_LEAD}(?:{_ZH}|{_EN})")
_NEGATIVE = frozenset({"不正确", "不对", "错误", "错的", "错", "否", "false", "incorrect", "wrong", "no"})

# O(n log n), Θ(n^2), Ω(1): not inside a word ("foo(x)" is no formula); up to 16 characters inside.
_FORMULA = re.compile(r"(?<![a-z0-9_])[oθω]\s*\(\s*([^()]{1,16})\s*\)")
_CANON = ((re.compile(r"[\s^*·×]"), ""), (re.compile(r"\blg"), "log"), (re.compile(r"log_?2"), "log"))


def verdict(text: str) -> bool | None:
    """True / False for a text that opens with a positive / negative verdict, None if it opens with none."""
    m = _VERDICT.match(normalize(text))
    if m is None:
        return None
    return (m.group("zh") or m.group("en")) not in _NEGATIVE


def verdict_conflict(answer: str, references: Iterable[str]) -> bool:
    """The references open with one verdict (all the same) and the answer opens with the opposite one."""
    got = verdict(answer)  # first: most answers open with no verdict, and then the references need no reading
    if got is None:
        return False
    said = {v for v in (verdict(t) for t in references) if v is not None}
    return len(said) == 1 and got not in said


def formulas(text: str) -> frozenset[str]:
    """The complexities a text states, written one way (O(n^2) = O(n²) = o(n2), O(log2 n) = O(lg n))."""
    out = set()
    for body in _FORMULA.findall(normalize(text)):
        for pattern, repl in _CANON:
            body = pattern.sub(repl, body)
        out.add(body)
    return frozenset(out)


def formula_conflict(matches: Sequence[PointMatch]) -> bool:
    """A point states a complexity and its best-matching part of the answer states only others."""
    for m in matches:  # cheapest test first: the similarity, then the (short) clause, then the point
        given = formulas(m.clause) if m.similarity >= MATCH_SIMILARITY else frozenset()
        if given:
            stated = frozenset().union(*(formulas(t) for t in m.point.statements))
            if stated and not stated & given:
                return True
    return False


def text_reasons(answer: str, references: Iterable[str], matches: Sequence[PointMatch]) -> tuple[str, ...]:
    """The text rules that fire on an answer: `VERDICT` and / or `FORMULA`."""
    found = (VERDICT if verdict_conflict(answer, references) else "", FORMULA if formula_conflict(matches) else "")
    return tuple(r for r in found if r)


def reasons(*, wide: bool, on_topic: float, text: Sequence[str], unmatched: bool = False,
            off_rubric: bool = False) -> tuple[str, ...]:
    """Why an answer needs a second look (empty: it does not), in `REASONS` order.

    `text` are the `text_reasons` of the answer, `on_topic` the gate's p,
    `unmatched` whether the score rests on closeness with no key point caught,
    `off_rubric` whether the answer shows nothing of the rubric.
    """
    found = {WIDE: wide, OFF_TOPIC: off_rubric or on_topic < OFF_TOPIC_P, UNMATCHED: unmatched,
             **{r: True for r in text}}
    return tuple(r for r in REASONS if found.get(r))


def describe(found: Sequence[str]) -> str:
    """The reasons in plain words, joined ("" for none); an unknown reason is shown as it is."""
    return "; ".join(PLAIN.get(r, r) for r in found)
