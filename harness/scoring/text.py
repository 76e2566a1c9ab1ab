"""CJK-aware text handling: normalisation, sentence and clause splitting, tokens.

Pure functions. Normalisation folds full-width to half-width (NFKC), case and
runs of white space, so that `ＣＬＩＰ`, `clip` and `Clip` compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

_WS = re.compile(r"\s+")
# Sentence ends: Chinese and English terminators and line breaks. An English
# full stop ends a sentence only when followed by white space or the end, so
# "0.07", "e.g." inside a word and "ViT-B/32" stay whole.
_SENTENCE_END = re.compile(
    r"(?<=[。！？!?；;…])|(?<!e\.g\.)(?<!i\.e\.)(?<!etc\.)(?<!vs\.)(?<=\.)(?=\s)|\n+",
    re.IGNORECASE,
)
# Clause separators inside a sentence. The enumeration comma 、 is not one:
# it joins items of one list; nor is an ASCII comma or colon between digits
# ("65,536", "8,192", "16:9"), which belongs to a number.
_CLAUSE_SEP = re.compile(r"(?<=[，：])|(?<=[,:])(?!\d)|(?<=(?<!\d)[,:])")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_MIN_CLAUSE_CHARS = 5

ENGLISH_STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during
    each few for from further had has have having he her here hers him his how i if in
    into is it its itself just may me might more most must my no nor not now of off on
    once only or other our out over own same she should so some such than that the
    their them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your
    yours one ones thing things use used using""".split()
)
CHINESE_STOPCHARS = frozenset("的了是在和与及或就也都把被吗呢吧啊")


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width), case folding and single spaces."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def has_cjk(text: str) -> bool:
    """True if the text contains a CJK ideograph."""
    return _CJK.search(text) is not None


def visible_length(text: str) -> int:
    """Length in 'characters a reader sees': CJK ideographs plus English words."""
    return len(_CJK.findall(text)) + len(_WORD.findall(normalize(text)))


def split_sentences(text: str) -> list[str]:
    """Split on Chinese and English sentence ends and line breaks; drop empties."""
    parts = (p.strip(" \t\r\n-*•·") for p in _SENTENCE_END.split(text))
    return [p for p in parts if p and any(ch.isalnum() for ch in p)]


def split_clauses(text: str) -> list[str]:
    """Sentences cut further at commas and colons, short fragments merged back.

    A fragment shorter than a few words stays attached to its neighbour, so
    every clause carries a statement of its own ("CLIP 是双塔结构，" is one,
    "例如，" is not).
    """
    clauses: list[str] = []
    for sentence in split_sentences(text):
        pieces = [p.strip() for p in _CLAUSE_SEP.split(sentence) if p.strip()]
        merged: list[str] = []
        for piece in pieces:
            if merged and (
                visible_length(merged[-1]) < _MIN_CLAUSE_CHARS
                or visible_length(piece) < _MIN_CLAUSE_CHARS
            ):
                merged[-1] = f"{merged[-1]}{piece}" if has_cjk(piece) else f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        clauses.extend(m.rstrip("，,：:") for m in merged)
    return [c for c in clauses if c]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light English stemmer: enough to join plural and common verb forms."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def content_tokens(text: str) -> list[str]:
    """Tokens for overlap measures: stemmed English content words and CJK bigrams.

    Chinese has no spaces, so each run of ideographs yields its character
    bigrams (the character itself for a run of one), skipping bigrams that
    hold a function character such as 的 or 是.
    """
    norm = normalize(text)
    tokens = [_stem(w) for w in _WORD.findall(norm) if w not in ENGLISH_STOPWORDS]
    for run in _CJK_RUN.findall(norm):
        if len(run) == 1:
            tokens.extend(c for c in run if c not in CHINESE_STOPCHARS)
        tokens.extend(
            a + b for a, b in zip(run, run[1:])
            if a not in CHINESE_STOPCHARS and b not in CHINESE_STOPCHARS
        )
    return tokens


_LATIN_WORD = re.compile(r"[a-z0-9]+")


def char_ngrams(text: str) -> Counter[str]:
    """Character n-grams for a lexical overlap that sees Chinese below the word.

    NFKC and case folded; each run of CJK ideographs gives all its 1-, 2- and
    3-grams, each English word (stop words dropped) the 2- and 3-grams of
    " word " (single Latin letters say nothing).
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    runs = _CJK_RUN.findall(norm)
    padded = [f" {w} " for w in _LATIN_WORD.findall(norm) if w not in ENGLISH_STOPWORDS]
    # one list, counted once (Counter counts a list in C; updating it gram by gram is several times slower)
    return Counter([r[i:i + n] for r in runs for n in (1, 2, 3) for i in range(len(r) - n + 1)]
                   + [w[i:i + n] for w in padded for n in (2, 3) for i in range(len(w) - n + 1)])
