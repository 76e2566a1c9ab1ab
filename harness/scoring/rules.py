"""Judgements that explain a score: key point status, misconceptions, answer flags. Pure.

A key point's credit mixes how close the answer's best clause is to the
point's statements with the share of its keyword groups found (for a point
without keywords, such as one derived from a reference answer, the share of
its content words); keywords count only in proportion to that closeness, so
a bare list of the right terms does not cover a point. A clause or sentence
naming every keyword group of a point (two or more, none negated) covers it
at least partly: the embedder misses terse statements in the field's terms.
Similarity thresholds come from the calibration (they differ between
embedders, kinds of point and languages; see `thresholds`), not from
constants here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from harness.scoring.features import AnswerVectors, PointMatch, RubricVectors
from harness.scoring.keywords import all_hits, match_group, match_groups, squeeze
from harness.scoring.polarity import ClauseView, clause_views, is_negated, names, negated_spans
from harness.scoring.text import ENGLISH_STOPWORDS, normalize, split_sentences
from harness.scoring.thresholds import COVERED, PARTIAL, PointThresholds
from harness.types import (
    HALF_MARKS,
    Evidence,
    KeywordGroup,
    Misconception,
    MisconceptionHit,
    PointResult,
    Score,
    Status,
    caught,
)

_NO_ANSWER = re.compile(
    r"^(我?(真的|也|完全)?(不知道|不清楚|不太清楚|不了解|不会|不记得|忘了|没学过)(这个|这题)?|"
    r"跳过|pass|skip|no idea|idk|n/?a|none|"
    r"i (do not|don't) know|not sure|dunno)[\s.。!！?？~～]*$"
)
_WORDS = re.compile(r"[a-z]+(?:[-'][a-z]+)*")
_CJK_CHARS = re.compile(r"[\u4e00-\u9fff]")
_FUNCTION_CHARS = frozenset(
    "的了是在和与把被将用就也都而从以会能让使得着所因但并即每个一这那其它们我要需为时很较当则若"
)
_STATEMENT_PUNCT = re.compile(r"[。；;：:！!？?]|\.(\s|$)")
_LIST_FUNCTION_RATIO = 0.07
_LIST_HEAD = re.compile(r"^[^:：。；;,，、]{1,16}[:：]\s*")  # "CLIP：" before an enumeration
_LIST_END = re.compile(r"[\s。.!！]+$")
_LIST_SEP = re.compile(r"[、,，]")
_LIST_MIN_ITEMS = 5
_LIST_ITEM_SHARE = 0.2  # an enumeration of terms: at most this share of its items hold a function word


def point_results(matches: tuple[PointMatch, ...], thresholds: PointThresholds, *, zh: bool,
                  answer: AnswerVectors | None = None, keyword_list: bool = False) -> tuple[PointResult, ...]:
    """Status and evidence for every key point of an answer (`zh`: written in Chinese).

    A clause or sentence of `answer` that names every keyword group of a
    point (two or more, none negated) covers it at least partly and is its
    evidence, unless the answer is a bare list of terms (`keyword_list`).
    """
    out = []
    units: list[tuple[str, str, str]] | None = None  # (text, normalised, squeezed) of each clause, then sentence
    for m in matches:
        semantic = thresholds.get(derived=m.point.derived, zh=zh).credit(m.similarity)
        credit = 0.6 * semantic + 0.4 * m.keyword_fraction * min(1.0, 2.0 * semantic)
        clause = m.evidence_text if semantic > 0 or m.aliases else ""
        if (credit < PARTIAL and answer is not None and not keyword_list and len(m.point.keywords) >= 2
                and m.keyword_fraction == 1.0):
            if units is None:
                units = [(t, n, squeeze(n)) for t in (*answer.clauses, *split_sentences(answer.text))
                         for n in (normalize(t),)]
            if stated := _stating(m.point.keywords, units):
                credit, clause = PARTIAL, stated
        status: Status = "covered" if credit >= COVERED else "partial" if credit >= PARTIAL else "missed"
        evidence = Evidence(clause, round(m.similarity, 4), m.aliases)
        out.append(PointResult(m.point.id, m.point.title, m.point.text, m.point.weight, status,
                               round(credit, 4), evidence))
    return tuple(out)


def _stating(groups: Sequence[KeywordGroup], units: list[tuple[str, str, str]]) -> str:
    """The first unit in which every group has a hit that is not negated ("" if none).

    The embedder places a terse statement in the field's terms ("展平后线性投影成
    token") far from the point written out in full; naming all of a point's
    groups in one affirmative clause or sentence is evidence the answer states it.
    """
    for text, norm, squeezed in units:
        found = [all_hits(g.aliases, norm, squeezed) for g in groups]
        if not all(found):
            continue
        spans = negated_spans(norm)
        if all(any(not is_negated(norm, h.start, h.end, spans) for h in hits) for hits in found):
            return text
    return ""


def coverage(points: tuple[PointResult, ...]) -> float:
    """The weighted mean credit of the points, on 0-100: how much of the rubric the answer covers."""
    total = sum(p.weight for p in points)
    return 100.0 * sum(p.weight * p.credit for p in points) / total if total else 0.0


def misconception_hits(rv: RubricVectors, av: AnswerVectors, *, min_similarity: float) -> tuple[MisconceptionHit, ...]:
    """Misconceptions the answer states, at most one hit (the first clause) each.

    A clause states one only on evidence of the wrong claim itself: every cue
    group occurs in it with the polarity it has in the claim (not negated or
    contrasted away, see `polarity`), the clause is about the claim's subject
    and not another model, and it is closer to the wrong claim than to its
    correction, compared in the correction's language (without a correction:
    at least `min_similarity` to the claim).
    """
    if not rv.rubric.misconceptions:
        return ()
    norms = [normalize(c) for c in av.clauses]
    squeezed = [squeeze(n) for n in norms]
    # The clauses where every cue group of a misconception occurs at all: only they can assert it.
    # Most answers state none, and are done here without the polarity views.
    cued = [[i for i, (n, sq) in enumerate(zip(norms, squeezed)) if all(all_hits(g.aliases, n, sq) for g in m.cues)]
            for m in rv.rubric.misconceptions]
    if not any(cued):
        return ()
    views = clause_views(av.clauses)  # in order: a clause's view depends on the sentence before it
    hits = []
    for misc, claim, mvec, cvec, where in zip(rv.rubric.misconceptions, rv.claims, rv.misconceptions,
                                              rv.corrections, cued):
        groups = tuple(g.aliases for g in misc.cues)
        for i in where:
            view, sq, vec = views[i], squeezed[i], av.clause_vectors[i]
            if not claim.asserted(view, groups, sq):
                continue
            wrong = float(mvec[claim.row] @ vec) if claim.row is not None else float((mvec @ vec).max())
            right = float((cvec @ vec).max()) if cvec is not None else min_similarity
            if wrong > right:
                hits.append(_hit(rv, misc, view, sq, round(wrong, 4), cvec if cvec is not None else mvec))
                break
    return tuple(hits)


def _hit(rv: RubricVectors, misc: Misconception, view: ClauseView, squeezed: str, similarity: float,
         against: np.ndarray) -> MisconceptionHit:
    """The hit record: evidence, and the key point closest to the correction (the one it contradicts)."""
    aliases = tuple(h.alias for g in misc.cues if (h := match_group(g, view.norm, squeezed)))
    point = int(np.argmax([float((against @ p.T).max()) for p in rv.points])) if rv.points else -1
    return MisconceptionHit(misc.id, misc.text, misc.penalty, misc.correction, Evidence(view.text, similarity, aliases),
                            rv.rubric.key_points[point].id if point >= 0 else None)


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
    five words or ideographs, and either no sentence or clause punctuation
    at all (。；：!? or a full stop) and hardly any function words
    (`function_word_ratio` < 0.07), or, once a short heading
    ("CLIP：") and the final full stop are set aside, an enumeration of at
    least five items separated by 、 or commas, with no other punctuation,
    at most a fifth of which hold a function word ("a photo of a {class}").
    Terse notes such as "顺序表：存储空间连续，删除插入较复杂。" have two
    items, not five, and are not lists.
    """
    norm = normalize(text)
    units = len(_WORDS.findall(norm)) + len(_CJK_CHARS.findall(norm))
    if not groups or units < 5:
        return False
    if not _STATEMENT_PUNCT.search(norm):
        return function_word_ratio(text) < _LIST_FUNCTION_RATIO
    body = _LIST_END.sub("", _LIST_HEAD.sub("", norm, count=1))
    items = [i for i in _LIST_SEP.split(body) if i.strip()]
    if len(items) < _LIST_MIN_ITEMS or _STATEMENT_PUNCT.search(body):
        return False
    return sum(function_word_ratio(i) > 0 for i in items) <= _LIST_ITEM_SHARE * len(items)


# An answer that shows nothing of a hand-written rubric (`shows_nothing_of`) is capped here, as a bare list is.
OFF_RUBRIC_CAP = 15.0


def shows_nothing_of(rv: RubricVectors, points: tuple[PointResult, ...], text: str) -> bool:
    """True when the answer shows nothing of a rubric whose key points have keywords: it is about something else.

    It catches no key point and names none of the rubric's terms: no alias
    of a point's or the rubric's keyword groups, and no model or method
    named in the question or the references (`RubricVectors.names`), as an
    answer about LSTM or a recipe does. The embedder still finds such text
    somewhat close to a long reference, so its calibrated score can reach
    half marks. Reference-only rubrics have no point keywords and are never
    judged so.
    """
    rubric = rv.rubric
    if not any(p.keywords for p in rubric.key_points) or caught(points) or any(p.evidence.aliases for p in points):
        return False
    if rv.names.intersection(names(text)):
        return False
    return not any(match_groups(rubric.keywords, text))


CLOSENESS_FLOOR = 20.0
# A score that no key point explains stays at half marks or below, and goes to review: with no
# point to show, the scorer cannot say what was right, so it does not pass the answer on closeness alone.
CLOSENESS_CAP = HALF_MARKS
_CLOSENESS_NOTE = {
    True: "这个分数主要来自答案与参考答案整体上的接近，并没有哪一个要点被单独明确地答到；"
          "请对照参考答案，把每个要点用自己的话说清楚。",
    False: "This score rests on the answer's overall closeness to the reference answer; no single key point "
           "was clearly caught. Compare with the reference and state each point explicitly.",
}


def settle(points: tuple[PointResult, ...], *, score: float,
           keyword_list: bool) -> tuple[tuple[PointResult, ...], bool]:
    """Point statuses that agree with the final score, and whether the score rests on closeness alone.

    A bare list of terms names points without explaining them, so none of
    them counts as more than partly covered. A score under `CLOSENESS_FLOOR`
    says nothing much was right, so covered points that together carry half
    the weight or more are shown as partly covered (the misconceptions or
    the off-topic gate explain the score). A score of at least
    `CLOSENESS_FLOOR` with no point covered or partly covered rests on the
    answer's overall closeness to the reference (`closeness_note`).
    """
    if keyword_list:
        points = tuple(replace(p, status="partial") if p.status == "covered" else p for p in points)
    total = sum(p.weight for p in points)
    covered = sum(p.weight for p in points if p.status == "covered")
    if score < CLOSENESS_FLOOR and total and covered >= total / 2:
        points = tuple(replace(p, status="partial") if p.status == "covered" else p for p in points)
    return points, score >= CLOSENESS_FLOOR and not caught(points)


def closeness_note(score: Score, *, zh: bool) -> str | None:
    """The sentence feedback shows when the score rests on overall closeness (None otherwise), in zh or en."""
    return _CLOSENESS_NOTE[zh] if score.rests_on_closeness else None
