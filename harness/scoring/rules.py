"""Judgements that explain a score: key point status, misconceptions, answer flags. Pure.

A key point's credit mixes how close the answer's best clause is to the
point's statement with the share of its keyword groups found; keywords count
only in proportion to that closeness, so a bare list of the right terms does
not cover a point. Similarity thresholds come from the calibration (they
differ between embedders), not from constants here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from harness.scoring.features import AnswerVectors, PointMatch, RubricVectors
from harness.scoring.keywords import is_negated, match_group, squeeze
from harness.scoring.text import ENGLISH_STOPWORDS, normalize
from harness.types import Evidence, KeywordGroup, MisconceptionHit, PointResult, Status

COVERED, PARTIAL = 0.6, 0.3
_NO_ANSWER = re.compile(
    r"^(我?(真的|也|完全)?(不知道|不清楚|不太清楚|不了解|不会|不记得|忘了|没学过)(这个|这题)?|"
    r"跳过|pass|skip|no idea|idk|n/?a|none|"
    r"i (do not|don't) know|not sure|dunno)[\s.。!！?？~～]*$"
)
_WORDS = re.compile(r"[a-z]+(?:[-'][a-z]+)*")
_CJK_CHARS = re.compile(r"[\u4e00-\u9fff]")
_FUNCTION_CHARS = frozenset("的了是在和与把被将用就也都而从以会能让使得着所因但并即每个一这那其它们我要需")
_STATEMENT_PUNCT = re.compile(r"[。；;：:！!？?]|\.(\s|$)")
_LIST_FUNCTION_RATIO = 0.07


@dataclass(frozen=True)
class Thresholds:
    """Similarities at which a clause starts to cover a point (low) and fully covers it (high)."""

    low: float
    high: float

    def credit(self, similarity: float) -> float:
        """Similarity mapped linearly to 0..1 between the thresholds."""
        return min(1.0, max(0.0, (similarity - self.low) / max(1e-6, self.high - self.low)))


def point_results(matches: tuple[PointMatch, ...], thresholds: Thresholds) -> tuple[PointResult, ...]:
    """Status and evidence for every key point."""
    out = []
    for m in matches:
        semantic = thresholds.credit(m.similarity)
        if m.point.keywords:
            credit = 0.6 * semantic + 0.4 * m.keyword_fraction * min(1.0, 2.0 * semantic)
        else:
            credit = semantic
        status: Status = "covered" if credit >= COVERED else "partial" if credit >= PARTIAL else "missed"
        evidence = Evidence(m.clause if semantic > 0 or m.aliases else "", round(m.similarity, 4), m.aliases)
        out.append(PointResult(m.point.id, m.point.title, m.point.text, m.point.weight, status,
                               round(credit, 4), evidence))
    return tuple(out)


def misconception_hits(rv: RubricVectors, av: AnswerVectors, *, min_similarity: float) -> tuple[MisconceptionHit, ...]:
    """Misconceptions the answer states.

    A clause states one when every cue group matches in it, not right after a
    negation, and the clause is closer to the wrong claim than to its
    correction (without a correction: at least `min_similarity` to the claim).
    """
    hits = []
    normalised = [normalize(c) for c in av.clauses] if rv.rubric.misconceptions else []
    squeezed = [squeeze(n) for n in normalised]
    for misc, mvec, cvec in zip(rv.rubric.misconceptions, rv.misconceptions, rv.corrections):
        for clause, norm, sq, vec in zip(av.clauses, normalised, squeezed, av.clause_vectors):
            found = [match_group(g, norm, sq) for g in misc.cues]
            if any(h is None for h in found) or any(is_negated(norm, h.start) for h in found if h):
                continue
            wrong = float((mvec @ vec).max())
            right = float((cvec @ vec).max()) if cvec is not None else min_similarity
            if wrong > right:
                aliases = tuple(h.alias for h in found if h)
                against = cvec if cvec is not None else mvec
                point = int(np.argmax([float((against @ p.T).max()) for p in rv.points])) if rv.points else -1
                hits.append(MisconceptionHit(misc.id, misc.text, misc.penalty, misc.correction,
                                             Evidence(clause, round(wrong, 4), aliases),
                                             rv.rubric.key_points[point].id if point >= 0 else None))
                break
    return tuple(hits)


def contradict(points: tuple[PointResult, ...], hits: tuple[MisconceptionHit, ...]) -> tuple[PointResult, ...]:
    """Points that a stated misconception contradicts lose their credit; the wrong clause is the evidence."""
    against = {h.contradicts: h for h in hits if h.contradicts}
    return tuple(
        replace(p, status="missed", credit=0.0, evidence=against[p.point_id].evidence) if p.point_id in against else p
        for p in points
    )


def is_no_answer(text: str) -> bool:
    """True for an empty answer or a plain 'I don't know'."""
    norm = normalize(text)
    return not norm or _NO_ANSWER.match(norm) is not None


def function_word_ratio(text: str) -> float:
    """Share of function words (English) and function characters (Chinese) among all words and ideographs.

    Statements need them (is, the, of; 的, 是, 把); a bare list of terms has
    almost none: about 0.3 in prose, under 0.06 in lists of terms.
    """
    norm = normalize(text)
    words = _WORDS.findall(norm)
    chars = _CJK_CHARS.findall(norm)
    function = sum(w in ENGLISH_STOPWORDS for w in words) + sum(c in _FUNCTION_CHARS for c in chars)
    return function / max(1, len(words) + len(chars))


def is_keyword_list(text: str, groups: Sequence[KeywordGroup]) -> bool:
    """True when the answer is a bare list of terms rather than statements.

    Only for rubrics with keywords (the terms a list would name): at least
    five words or ideographs, no sentence or clause punctuation (。；：!? or a
    full stop), and hardly any function words (`function_word_ratio` < 0.07).
    Terse notes such as "顺序表：存储空间连续，删除插入较复杂。" keep their
    punctuation and are not lists.
    """
    norm = normalize(text)
    units = len(_WORDS.findall(norm)) + len(_CJK_CHARS.findall(norm))
    if not groups or units < 5 or _STATEMENT_PUNCT.search(norm):
        return False
    return function_word_ratio(text) < _LIST_FUNCTION_RATIO
