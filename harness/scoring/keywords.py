"""Keyword and alias matching, CJK-aware. Pure functions.

Rules:
- text and alias are normalised alike (full-width/half-width, case);
- spaces, hyphens, underscores and quotation marks inside an alias are
  optional in the text, so `InfoNCE`, `info-nce` and `Info NCE` are one
  alias, and `queries are the user` finds `"queries" are the user`;
- an alias that starts or ends with a Latin letter or digit must sit on a word
  boundary there (`ViT` does not match inside `activity`), and may carry an
  English plural (`patch` matches `patches`);
- Chinese characters match as substrings (`编码器` matches inside `图像编码器`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from harness.scoring.text import normalize
from harness.types import KeywordGroup

_JOINERS = re.compile(r"[\s\-_\"'“”‘’「」『』]+")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")
_GAP = r"[\s\-_\"'“”‘’「」『』]*"


@lru_cache(maxsize=8192)
def alias_key(alias: str) -> str:
    """The comparable form of an alias: normalised, joiners removed."""
    return _JOINERS.sub("", normalize(alias))


@lru_cache(maxsize=8192)
def alias_regex(alias: str) -> re.Pattern[str]:
    """Compile the pattern that finds `alias` in normalised text."""
    key = alias_key(alias)
    if not key:
        raise ValueError("empty alias")
    body = _GAP.join(re.escape(ch) for ch in key)
    head = r"(?<![a-z0-9])" if _ASCII_ALNUM.match(key[0]) else ""
    tail = r"(?:e?s)?(?![a-z0-9])" if _ASCII_ALNUM.match(key[-1]) else ""
    return re.compile(head + body + tail)


@dataclass(frozen=True)
class AliasHit:
    """One alias found in a text, with its span in the normalised text."""

    alias: str
    start: int
    end: int


def find_alias(alias: str, norm_text: str) -> AliasHit | None:
    """First occurrence of `alias` in text already passed through `normalize`."""
    m = alias_regex(alias).search(norm_text)
    return AliasHit(alias, m.start(), m.end()) if m else None


def squeeze(norm_text: str) -> str:
    """Normalised text with joiners (spaces, hyphens, underscores) removed, for `match_group`."""
    return _JOINERS.sub("", norm_text)


def match_group(group: KeywordGroup, norm_text: str, squeezed: str | None = None) -> AliasHit | None:
    """The first alias of the group (in the group's order) found in the normalised text, if any.

    An alias can only match where its key (joiners removed) occurs in the text
    with joiners removed, so a substring test on `squeezed` (`squeeze(norm_text)`,
    computed here if not given) rules out most aliases before any regex runs.
    """
    if squeezed is None:
        squeezed = squeeze(norm_text)
    for alias in group.aliases:
        if alias_key(alias) not in squeezed:
            continue
        hit = find_alias(alias, norm_text)
        if hit:
            return hit
    return None


def match_groups(groups: Iterable[KeywordGroup], text: str) -> list[AliasHit | None]:
    """For each group, its hit in `text` (normalised here) or None."""
    norm = normalize(text)
    squeezed = squeeze(norm)
    return [match_group(g, norm, squeezed) for g in groups]


def all_hits(aliases: Iterable[str], norm_text: str, squeezed: str) -> list[AliasHit]:
    """Every occurrence of any of the aliases in the normalised text, in order of position.

    `squeezed` is `squeeze(norm_text)` (see `match_group`).
    """
    out: list[AliasHit] = []
    for alias in aliases:
        if alias_key(alias) in squeezed:
            out.extend(AliasHit(alias, m.start(), m.end()) for m in alias_regex(alias).finditer(norm_text))
    return sorted(out, key=lambda h: (h.start, -h.end))
