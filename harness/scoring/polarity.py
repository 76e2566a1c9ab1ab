"""Polarity: is a term asserted in a clause, or negated or contrasted away? Pure, Chinese and English.

A misconception may only fire on evidence of the wrong claim itself, and a
correct contrast ("和 BERT 不同", "unlike BERT", "不在输入层", "梯度被截断")
names the wrong claim's words while denying it. So every cue found in a
clause is checked here.

A clause is cut into scopes at commas, colons, semicolons and contrastive
conjunctions (而是, 但, whereas, but ...): a negation never reaches past
them, so in "不是 GPT 而是 BERT" only GPT is negated. Inside a scope:

- a forward negator (不是, 没有, 不在, 不能, 无法, 而不是, 并非, 不同于,
  not, no, without, unlike, rather than, instead of ...) negates what follows;
- a backward negator (不同, 不一样, 两回事, 被截断, differs, poorly ...)
  negates what precedes ("和 BERT 不同");
- a negation right after a term negates it ("BERT 并不是...", "BERT is not");
- a negating character right before a term negates it (无|监督, 没|有重叠).

A clause can also be about something else than the question's subject: it
names another model first ("ALIGN 的文本编码器才是 BERT"), opens with a
contrast marker ("对比来看", "by contrast"), or goes on about a model that
the same sentence has just contrasted ("和 BERT 不同，BERT 是双向的").
`subject_elsewhere` tells those apart, given the names the question and the
wrong claim are about.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from harness.scoring.keywords import alias_key, all_hits, squeeze
from harness.scoring.text import has_cjk, normalize
from harness.types import Misconception

_SCOPE_BREAK = re.compile(
    r"[,，;；:：()（）]|而是|但是|但(?!凡)|不过|然而|反而|相反|却|"
    r"\b(?:but|whereas|while|although|though|however|which|whose)\b"
)
_FORWARD = re.compile(
    r"不是|并非|并不|没有|没用|未曾|从未|而非|而不是|不要|(?<![类分区特识级差个性告辨鉴判派])别|切勿|勿|避免|不用|不使用|不需要?|无需|无须|不再|不在|不能|无法|不可能?|"
    r"不会|不同于|不像|区别于|有别于|不(?:做|含|包含|涉及|依赖|属于|采用|经过|通过|进行|参与|计算|更新|回传|传|接收)|"
    r"\bnot\b(?!\s+only)|n[’']t\b|\bno\b|\bnever\b|\bwithout\b|\brather than\b|\binstead of\b|\bneither\b|"
    r"\bnor\b|\bunlike\b|\bcannot\b|\bdifferent from\b|\bother than\b|\bfails? to\b|\bnone\b|\bnothing\b|"
    r"去掉|去除|取消了?|抛弃|舍弃|丢掉|省去|\bdrop(?:s|ped)?\b|\bremove[sd]?\b|\bdiscard(?:s|ed)?\b|\bgets? rid of\b"
)
_BACKWARD = re.compile(
    r"不同|不一样|不相同|两回事|一回事|有区别|有所区别|区别很大|被截断|截断|被阻断|阻断|不回传|"
    r"很差|较差|不好|不佳|\bdiffers?\b|\bis different\b|\bare different\b|\bpoorly\b|\bbadly\b|"
    r"\bis stopped\b|\bare stopped\b|\bis detached\b|\bare detached\b"
)
_AFTER = re.compile(
    r"^\s*(?:也|都|则|就)?\s*(?:并不是|并不|并非|并没有|不是|没有|不会|不能|无法|不再|不需要|不(?![仅但光只断少多错久])|"
    r"(?:is|are|was|were|does|do|did|has|have|can|could|will|would)\s*(?:not\b|n[’']t\b)|\bcannot\b|"
    r"(?:is|are|was|were)\s+never\b|\bnever\b)"
)
_AFTER_REACH = 12
_SCOPE_BREAK_ANY_CASE = re.compile(_SCOPE_BREAK.pattern, re.IGNORECASE)
_NEGATING_CHARS = "没不无非未"
_CONTRAST_OPENING = re.compile(
    r"^\s*(?:对比来看|对比之下|对比而言|相比之下|相比而言|相较而言|相较之下|与之相比|与此相比|反观|"
    r"by contrast|in contrast|by comparison|in comparison|compared with|compared to|on the other hand)"
)
_NAME = re.compile(r"(?<![\[A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-/.][A-Za-z0-9]+)*")
_SENTENCE_END = "。！？!?；;….\n"
_WS = re.compile(r"\s+")


def scopes(norm: str) -> list[tuple[int, int]]:
    """Spans of a normalised clause between scope breaks (commas, 而是, but ...)."""
    out, start = [], 0
    for m in _SCOPE_BREAK.finditer(norm):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(norm)))
    return [(a, b) for a, b in out if b > a]


def asserted_correction(misc: Misconception) -> str:
    """The misconception's correction without the scopes that deny the wrong claim.

    A correction often restates the claim to deny it ("CLIP 的文本编码器是
    GPT-2 风格的 Transformer，并不是 BERT"); compared whole, it would look
    like the claim it denies. Scopes where a cue of the claim occurs negated
    are dropped; everything else, negative statements of fact included
    ("超出训练长度就没有对应嵌入"), is kept. "" without a correction; the
    whole correction if every scope denies the claim.
    """
    text = misc.correction or ""
    pieces = [p.strip() for p in _SCOPE_BREAK_ANY_CASE.split(text) if p and p.strip()]
    kept = [p for p in pieces if not _denies(p, misc)]
    if not kept or len(kept) == len(pieces):
        return text
    return ("，" if has_cjk(text) else ", ").join(kept)


def _denies(piece: str, misc: Misconception) -> bool:
    """True if a cue of the misconception occurs negated in this piece of text."""
    norm = normalize(piece)
    squeezed = squeeze(norm)
    return any(is_negated(norm, h.start, h.end) for g in misc.cues for h in all_hits(g.aliases, norm, squeezed))


def negated_spans(norm: str) -> list[tuple[int, int]]:
    """Spans a forward or backward negator negates, each within its scope."""
    spans: list[tuple[int, int]] = []
    for a, b in scopes(norm):
        part = norm[a:b]
        spans.extend((a + m.end(), b) for m in _FORWARD.finditer(part))
        spans.extend((a, a + m.start()) for m in _BACKWARD.finditer(part))
    return [(a, b) for a, b in spans if b > a]


def is_negated(norm: str, start: int, end: int, spans: list[tuple[int, int]] | None = None) -> bool:
    """True if the term at norm[start:end] is negated or contrasted away in its scope.

    `spans` is `negated_spans(norm)`, computed here if not given.
    """
    spans = negated_spans(norm) if spans is None else spans
    if any(a <= start and end <= b for a, b in spans):
        return True
    scope_start, scope_end = next(((a, b) for a, b in scopes(norm) if a <= start < b), (start, end))
    if start > scope_start and norm[start - 1] in _NEGATING_CHARS:
        return True
    return _AFTER.match(norm[end : min(scope_end, end + _AFTER_REACH)]) is not None


def names(text: str) -> list[str]:
    """Model and method names in a text, in order, as alias keys (`BLIP-2` -> `blip2`).

    A name is a Latin token with two capitals (BERT, SimMIM, InstructBLIP),
    or a capital and a digit (T5, GPT-2); a bracketed token such as [CLS] is
    not one, nor a capitalised English word (The, Transformer).
    """
    return [key for key, _ in name_positions(text)]


def name_positions(text: str) -> list[tuple[str, int]]:
    """Names (see `names`) with where each starts in `normalize(text)` (-1 if that cannot be told)."""
    cased = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    exact = len(cased) == len(normalize(text))
    out = []
    for m in _NAME.finditer(cased):
        token = m.group()
        capitals = sum(ch.isupper() for ch in token)
        if capitals >= 2 or (capitals and any(ch.isdigit() for ch in token)):
            out.append((alias_key(token), m.start() if exact else -1))
    return out


def names_in(texts: Iterable[str]) -> frozenset[str]:
    """Every name (see `names`) in any of the texts."""
    return frozenset(n for t in texts for n in names(t))


@dataclass(frozen=True)
class ClauseView:
    """One answer clause prepared for polarity checks.

    `contrasted` holds the names the sentence so far has negated or
    contrasted (in this clause or an earlier clause of the same sentence).
    """

    text: str
    norm: str
    spans: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    name_starts: tuple[int, ...]
    contrasted: frozenset[str]
    opens_with_contrast: bool

    def negated(self, start: int, end: int) -> bool:
        """True if norm[start:end] is negated in this clause (see `is_negated`)."""
        return is_negated(self.norm, start, end, list(self.spans))

    def owner(self, start: int) -> str | None:
        """The last name before position `start`: what a predicate there is said of (None: no name before)."""
        before = [n for n, at in zip(self.names, self.name_starts) if 0 <= at < start]
        return before[-1] if before else None


def clause_views(clauses: Iterable[str]) -> list[ClauseView]:
    """Views of an answer's clauses in order, carrying contrasted names to the end of each sentence."""
    views, carried = [], frozenset[str]()
    for text in clauses:
        norm = normalize(text)
        spans = negated_spans(norm)
        found = name_positions(text)
        here = frozenset(n for n, _ in found if _inside(norm, n, spans))
        views.append(ClauseView(text, norm, tuple(spans), tuple(n for n, _ in found), tuple(at for _, at in found),
                                carried | here, _CONTRAST_OPENING.match(norm) is not None))
        carried = frozenset() if text.rstrip()[-1:] in _SENTENCE_END else carried | here
    return views


def _inside(norm: str, name: str, spans: list[tuple[int, int]]) -> bool:
    """True if the name occurs inside a negated span of the normalised clause."""
    squeezed_spans = [alias_key(norm[a:b]) for a, b in spans]
    return any(name in s for s in squeezed_spans)


def subject_elsewhere(view: ClauseView, *, known: frozenset[str], subjects: frozenset[str]) -> bool:
    """True when the clause speaks about something other than the wrong claim's subject.

    `known` holds the names of the question, the wrong claim and its cues;
    `subjects` those of them the claim is about (not the cue names: for
    "CLIP 的文本编码器是 BERT", CLIP, not BERT). The clause is elsewhere if
    its first name is neither known nor the subject but another model
    ("ALIGN 的文本编码器才是 BERT"), if that name was just contrasted in the
    sentence ("和 BERT 不同，BERT 是双向的"), or if it opens with a contrast
    marker ("对比来看", "by contrast") and names no subject.
    """
    first = view.names[0] if view.names else None
    if first is not None and (first not in known or (first in view.contrasted and first not in subjects)):
        return True
    return view.opens_with_contrast and not subjects.intersection(view.names)


@dataclass(frozen=True)
class Claim:
    """What a misconception asserts, prepared once per rubric for `asserted` and the similarity check.

    `negated[i]` is the polarity cue group i has in the wrong claim itself
    (True when the claim denies something, as in "CLIP 不能直接做零样本");
    `row` is the claim statement in the correction's language, so a clause
    is compared with claim and correction alike (None: no correction).
    `name_groups[i]` is True for a cue group of model names only ([SimCLR]),
    whose names are `named`: the claim's other cues must then be said of
    one of them, not of another model named in between.
    """

    known: frozenset[str]
    subjects: frozenset[str]
    negated: tuple[bool, ...]
    row: int | None
    named: frozenset[str] = frozenset()
    name_groups: tuple[bool, ...] = ()

    @classmethod
    def of(cls, misc: Misconception, prompts: Iterable[str]) -> Claim:
        """Prepare a misconception of a question with these prompt texts."""
        prompts = tuple(prompts)
        cue_names = names_in(a for g in misc.cues for a in g.aliases)
        subjects = names_in((*prompts, *misc.statements)) - cue_names
        negated = []
        for group in misc.cues:
            polarity = {v for t in misc.statements if (v := _polarity(group.aliases, normalize(t))) is not None}
            negated.append(polarity == {True})
        row = None
        if misc.correction:
            same = [i for i, t in enumerate(misc.statements) if has_cjk(t) == has_cjk(misc.correction)]
            row = same[0] if same else None
        name_groups = tuple(all(_is_name(a) for a in g.aliases) for g in misc.cues)
        named = frozenset(n for g, is_named in zip(misc.cues, name_groups) if is_named for n in names_in(g.aliases))
        return cls(subjects | cue_names | names_in(prompts), subjects, tuple(negated), row, named, name_groups)

    def asserted(self, view: ClauseView, groups: tuple[tuple[str, ...], ...], squeezed: str) -> bool:
        """True if every cue group occurs in the clause with the claim's polarity, about the claim's subject."""
        for i, (aliases, negated) in enumerate(zip(groups, self.negated)):
            said = [h for h in all_hits(aliases, view.norm, squeezed) if view.negated(h.start, h.end) == negated]
            if self.named and not self.name_groups[i]:
                said = [h for h in said if view.owner(h.start) in (None, *self.named)]
            if not said:
                return False
        return not subject_elsewhere(view, known=self.known, subjects=self.subjects)


def _is_name(alias: str) -> bool:
    """True for an alias that is a model name ("SimCLR", "BEiT-3", "BEiT 3"), not a phrase."""
    return not has_cjk(alias) and len(alias.split()) <= 2 and bool(names(alias))


def _polarity(aliases: tuple[str, ...], norm: str) -> bool | None:
    """Whether the first occurrence of the group in a claim statement is negated (None: not there)."""
    found = all_hits(aliases, norm, squeeze(norm))
    return is_negated(norm, found[0].start, found[0].end) if found else None
