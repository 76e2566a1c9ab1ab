"""Scorer: bank + encoder + calibration -> Score for each (question, answer).

The flow per batch: embed each rubric once (disk-cached), embed every
distinct answer and its clauses in one call, compute features, map them to
0-100 with the calibration, then subtract misconception penalties. On a
hand-written rubric the score is never below the weighted share of its key
points the answer covers (`rules.coverage`): its points define a complete
answer, and the calibration was fitted on rubrics cut from reference
answers. Scores carry their evidence (see `harness.types.Score`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.bank.lookup import find_question
from harness.encoders import DEFAULT_EMBEDDER, ScoringEncoder, get_encoder
from harness.errors import CalibrationError
from harness.scoring import review
from harness.scoring.anchors import AnchorState, TeacherGrade, anchor_prior
from harness.scoring.calibration import Calibration, resolve
from harness.scoring.features import FEATURE_NAMES, AnswerVectors, Features, RubricVectors, compute_features
from harness.scoring.fitting import combine
from harness.scoring.intervals import in_zh_group, moved
from harness.scoring.polarity import Claim, asserted_correction, names_in
from harness.scoring.rules import (
    CLOSENESS_CAP,
    OFF_RUBRIC_CAP,
    contradict,
    coverage,
    is_keyword_list,
    is_no_answer,
    misconception_hits,
    point_results,
    settle,
    shows_nothing_of,
)
from harness.scoring.text import content_tokens, has_cjk, split_clauses
from harness.types import (
    ANCHOR_FLAG,
    KEYWORD_LIST_FLAG,
    OFF_RUBRIC_FLAG,
    Bank,
    Evidence,
    KeyPoint,
    PointResult,
    Rubric,
    Score,
    caught,
    contradicted_share,
)

MAX_ANSWER_CHARS = 20_000
MAX_CLAUSES = 120
KEYWORD_LIST_CAP = 15.0


@dataclass(frozen=True)
class Analysis:
    """An answer's features before calibration (None for a blank answer)."""

    question_id: str
    answer: AnswerVectors | None
    features: Features | None
    flags: tuple[str, ...]


class Scorer:
    """Scores answers against one bank with one encoder and one calibration."""

    def __init__(self, bank: Bank, encoder: ScoringEncoder, calibration: Calibration | None, *,
                 anchors: Sequence[TeacherGrade] = ()) -> None:
        """`anchors`: teacher grades that correct the scores of their questions (`scoring.anchors`)."""
        self.bank = bank
        self.encoder = encoder
        self.calibration = calibration
        self.anchors = tuple(anchors)
        self._anchor_state: AnchorState | None = None
        self._rubric_vectors: dict[str, RubricVectors] = {}

    @classmethod
    def load(cls, bank: Bank, *, embedder_name: str = DEFAULT_EMBEDDER, calibration_path: Path | None = None,
             encoder: ScoringEncoder | None = None, results_dir: Path | None = None,
             anchors: Sequence[TeacherGrade] = ()) -> Scorer:
        """Build the encoder (unless given) and find its calibration.

        Raises:
            EmbedderError: the embedder cannot be had.
            CalibrationError: no calibration fits the embedder.
        """
        encoder = encoder or get_encoder(embedder_name)
        calibration = resolve(encoder.name, path=calibration_path, results_dir=results_dir)
        return cls(bank, encoder, calibration, anchors=anchors)

    @property
    def embedder_id(self) -> str:
        return self.encoder.name

    @property
    def calibration_id(self) -> str:
        return self.calibration.id if self.calibration else "uncalibrated"

    def warm_up(self) -> None:
        """Load the model weights now (for a background thread)."""
        self.encoder.warm_up()

    def rubric_vectors(self, question_ids: Sequence[str]) -> dict[str, RubricVectors]:
        """Vectors of the rubrics of these questions, embedding the missing ones in one call."""
        todo = [q for q in dict.fromkeys(question_ids) if q not in self._rubric_vectors]
        if todo:
            texts: list[str] = []
            for qid in todo:
                q, r = self.bank.questions[qid], self.bank.rubrics[qid]
                texts.append(q.prompt)
                texts.extend(t for ref in r.references for t in ref.texts)
                texts.extend(plain_reference(r))
                texts.extend(t for p in r.key_points for t in phrasings(p))
                texts.extend(t for m in r.misconceptions for t in (*m.statements, asserted_correction(m)))
            vecs = dict(zip(texts, self.encoder.encode(texts, persist=True)))
            for qid in todo:
                self._rubric_vectors[qid] = _rubric_vectors(self.bank, qid, vecs)
        return {q: self._rubric_vectors[q] for q in question_ids}

    def analyse_many(self, items: Sequence[tuple[str, str]]) -> list[Analysis]:
        """Features for each (question id, answer), without calibration.

        Raises:
            UnknownQuestionError: an id not in the bank.
        """
        for qid, _ in items:
            find_question(self.bank, qid)
        rvs = self.rubric_vectors([q for q, _ in items])
        prepared = [_prepare(answer) for _, answer in items]
        distinct = list(dict.fromkeys((text, tuple(clauses)) for text, clauses, _ in prepared if text))
        vectors = dict(zip(distinct, self.encoder.encode_answers(distinct)))
        out = []
        for (qid, _), (text, clauses, flags) in zip(items, prepared):
            if not text:
                out.append(Analysis(qid, None, None, flags))
                continue
            vector, clause_vectors = vectors[(text, tuple(clauses))]
            av = AnswerVectors(text, vector, tuple(clauses), clause_vectors)
            feats = compute_features(rvs[qid], av)
            if is_keyword_list(text, rvs[qid].all_keywords):
                flags = (*flags, KEYWORD_LIST_FLAG)
            out.append(Analysis(qid, av, feats, flags))
        return out

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]:
        """Scores for each (question id, answer), in order.

        Raises:
            UnknownQuestionError: an id not in the bank.
            CalibrationError: the scorer has no calibration.
        """
        return self._scored(items, self.anchor_state())[1]

    def _scored(self, items: Sequence[tuple[str, str]],
                anchors: AnchorState | None) -> tuple[list[Analysis], list[Score]]:
        analyses = self.analyse_many(items)
        cal = self.calibration
        if cal is None:
            raise CalibrationError("this scorer has no calibration; run `harness calibrate` first")
        rvs = self.rubric_vectors([q for q, _ in items])
        predicted = iter(_predict(cal, [a for a in analyses if a.features is not None], rvs))
        return analyses, [self._assemble(a, rvs[a.question_id], next(predicted) if a.features else None, cal, anchors)
                          for a in analyses]

    def anchor_state(self) -> AnchorState | None:
        """The correction the teacher's grades make (None without anchors), fitted on first use.

        Raises:
            CalibrationError: the calibration has no anchor prior (made before anchors existed).
        """
        if self.anchors and self._anchor_state is None:
            grades = [g for g in self.anchors if _prepare(g.answer)[0]]  # a blank answer scores 0 regardless
            analyses, plain = self._scored([(g.question_id, g.answer) for g in grades], None)
            self._anchor_state = AnchorState.fit(
                anchor_prior(self.calibration), grades, [a.answer.vector if a.answer else None for a in analyses],
                [s.score / 100.0 for s in plain])
        return self._anchor_state

    def answer_vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        """Each answer's vector as the scorer embeds it (None for a blank or "don't know" one).

        Raises:
            UnknownQuestionError: an id not in the bank.
        """
        return [a.answer.vector if a.answer else None for a in self.analyse_many(items)]

    def score(self, question_id: str, answer: str) -> Score:
        """Score one answer (see `score_many`)."""
        return self.score_many([(question_id, answer)])[0]

    def _assemble(self, a: Analysis, rv: RubricVectors, pred: _Prediction | None, cal: Calibration,
                  anchors: AnchorState | None) -> Score:
        rubric = rv.rubric
        if a.features is None or a.answer is None or pred is None:
            points = tuple(PointResult(p.id, p.title, p.text, p.weight, "missed", 0.0, Evidence())
                           for p in _display_points(rubric.key_points))
            none = 0.0 if cal.intervals else None
            return Score(a.question_id, 0.0, 0.0, points, (), 0.0, 0, (), a.flags, rubric.version_id,
                         self.embedder_id, self.calibration_id, score_low=none, score_high=none)
        calibrated = pred.calibrated
        hits = misconception_hits(rv, a.answer, min_similarity=cal.thresholds.low)
        judged = point_results(a.features.matches, cal.points, zh=has_cjk(a.answer.text), answer=a.answer,
                               keyword_list=KEYWORD_LIST_FLAG in a.flags)
        covers = 0.0 if rubric.derived else coverage(judged)
        points = contradict(judged, hits)
        flags = (*a.flags, OFF_RUBRIC_FLAG) if shows_nothing_of(rv, points, a.answer.text) else a.flags
        final = max(calibrated, covers) * (1.0 - contradicted_share(points, hits)) - sum(h.penalty for h in hits)
        final = _capped(final, flags)
        if not caught(points):
            final = min(final, CLOSENESS_CAP)
        final = round(float(np.clip(final, 0.0, 100.0)), 1)
        final, flags = _anchored(anchors, a, final, flags)
        points, closeness = settle(points, score=final, keyword_list=KEYWORD_LIST_FLAG in a.flags)
        values = a.features.values
        teacher = ANCHOR_FLAG in flags
        low, high = (final, final) if teacher else pred.around(final)  # a teacher's grade is not in doubt
        return Score(
            question_id=a.question_id, score=final,
            calibrated=round(calibrated, 1), points=points, misconceptions=hits,
            reference_similarity=round(values["cos"], 4), best_reference=a.features.best_reference,
            features=tuple((n, round(values[n], 4)) for n in FEATURE_NAMES), flags=flags,
            rubric_version=rubric.version_id, embedder_id=self.embedder_id, calibration_id=self.calibration_id,
            rests_on_closeness=closeness, coverage=round(covers, 1), score_low=low, score_high=high,
            review=() if teacher else review.reasons(wide=pred.wide, on_topic=pred.on_topic,
                                                     text=text_reasons(a, rubric), unmatched=closeness,
                                                     off_rubric=OFF_RUBRIC_FLAG in flags),
        )


def _anchored(anchors: AnchorState | None, a: Analysis, final: float,
              flags: tuple[str, ...]) -> tuple[float, tuple[str, ...]]:
    """The score after the teacher's anchors, and the flags (`anchor` added when a teacher graded this very answer).

    A bare keyword list, or an answer that shows nothing of the rubric, stays capped unless the teacher graded it.
    """
    if anchors is None or a.answer is None:
        return final, flags
    score01, graded = anchors.adjust(a.question_id, a.answer.text, a.answer.vector, final / 100.0)
    score = round(100.0 * score01, 1)
    if graded:
        return score, (*flags, ANCHOR_FLAG)
    return _capped(score, flags), flags


def _capped(score: float, flags: tuple[str, ...]) -> float:
    """The score under the caps its flags set: a bare list of terms, an answer that shows nothing of the rubric."""
    for flag, cap in ((KEYWORD_LIST_FLAG, KEYWORD_LIST_CAP), (OFF_RUBRIC_FLAG, OFF_RUBRIC_CAP)):
        if flag in flags:
            score = min(score, cap)
    return score


@dataclass(frozen=True)
class _Prediction:
    """The calibration's output for one answer: score 0-100, its interval (0-100), wide or not, and p."""

    calibrated: float
    low: float | None
    high: float | None
    wide: bool
    on_topic: float

    def around(self, score: float) -> tuple[float | None, float | None]:
        """The interval moved with the score: rules (coverage, penalties, caps) move the estimate, not the doubt."""
        if self.low is None or self.high is None:
            return None, None
        low, high = moved(self.calibrated, self.low, self.high, score, top=100.0)
        return round(float(low), 1), round(float(high), 1)


def _predict(cal: Calibration, rows: Sequence[Analysis], rvs: dict[str, RubricVectors]) -> list[_Prediction]:
    """Calibrated scores, intervals and the on-topic probability of the non-blank answers, in one batch."""
    matrix = np.array([[a.features.values[n] for n in FEATURE_NAMES] for a in rows if a.features])
    if not len(matrix):
        return []
    comps = cal.components(matrix)
    scores = combine(comps) * 100.0
    if cal.intervals is None:
        return [_Prediction(float(s), None, None, False, float(c[2])) for s, c in zip(scores, comps)]
    zh = np.array([in_zh_group(rvs[a.question_id].rubric) for a in rows])
    b = cal.intervals.bounds(comps, matrix, zh)
    return [_Prediction(float(s), float(lo) * 100, float(hi) * 100, bool(w), float(c[2]))
            for s, lo, hi, w, c in zip(scores, b.low, b.high, b.wide, comps)]


def text_reasons(a: Analysis, rubric: Rubric) -> tuple[str, ...]:
    """The review text rules that fire on an analysed answer (`review.text_reasons`; none for a blank)."""
    if a.features is None or a.answer is None:
        return ()
    return review.text_reasons(a.answer.text, (t for ref in rubric.references for t in ref.texts),
                               a.features.matches)


def phrasings(point: KeyPoint) -> tuple[str, ...]:
    """Every statement of a key point: its text, text_en and each alternative (duplicates once)."""
    return tuple(t for t, _ in phrasing_groups(point))


def phrasing_groups(point: KeyPoint) -> tuple[tuple[str, int], ...]:
    """`phrasings` with the group each belongs to: 0 for text and text_en, i for alternative i (its zh and en)."""
    seen: dict[str, int] = {}
    for group, texts in enumerate((point.statements, *(a.texts for a in point.alternatives))):
        for text in texts:
            seen.setdefault(text, group)
    return tuple(seen.items())


def _display_points(points: Sequence[KeyPoint]) -> tuple[KeyPoint, ...]:
    """For a blank answer: the first reference group's points (all points of a hand-written rubric)."""
    return tuple(p for p in points if p.reference in (None, 0))


def _prepare(answer: str) -> tuple[str, list[str], tuple[str, ...]]:
    """(text, clauses, flags); text is "" for a blank or 'don't know' answer."""
    text = (answer or "").strip()
    if not text:
        return "", [], ("blank",)
    if is_no_answer(text):
        return "", [], ("no-answer",)
    flags: tuple[str, ...] = ()
    if len(text) > MAX_ANSWER_CHARS:
        text, flags = text[:MAX_ANSWER_CHARS], ("truncated",)
    clauses = split_clauses(text)[:MAX_CLAUSES] or [text]
    return text, clauses, flags


def _rubric_vectors(bank: Bank, qid: str, vecs: dict[str, np.ndarray]) -> RubricVectors:
    q, r = bank.questions[qid], bank.rubrics[qid]
    return RubricVectors(
        rubric=r,
        prompt=vecs[q.prompt],
        references=tuple(np.stack([vecs[t] for t in ref.texts]) for ref in r.references),
        points=tuple(np.stack([vecs[t] for t in phrasings(p)]) for p in r.key_points),
        misconceptions=tuple(np.stack([vecs[t] for t in m.statements]) for m in r.misconceptions),
        corrections=tuple(vecs[asserted_correction(m)][None, :] if m.correction else None
                          for m in r.misconceptions),
        question_tokens=frozenset(content_tokens(q.prompt)),
        point_tokens=tuple(Counter(content_tokens(p.text)) for p in r.key_points),
        reference_tokens=tuple(tuple(Counter(content_tokens(t)) for t in ref.texts) for ref in r.references),
        plain=np.stack([vecs[t] for t in plain]) if (plain := plain_reference(r)) else None,
        plain_tokens=tuple(Counter(content_tokens(t)) for t in plain),
        claims=tuple(Claim.of(m, (t for t in (q.prompt_zh, q.prompt_en) if t)) for m in r.misconceptions),
        names=names_in((q.prompt_zh or "", q.prompt_en or "", *(t for ref in r.references for t in ref.texts))),
    )


def plain_reference(rubric: Rubric) -> tuple[str, ...]:
    """The rubric's answer in plain words, zh and en where given: each point's first plain alternative, joined.

    Alternatives marked `plain` say a point as a candidate who understands it
    without the paper's vocabulary would; joined, they make a reference answer
    in those words, so an answer in plain language has one to be compared with.
    """
    zh = [next((a.zh for a in p.alternatives if a.plain and a.zh), "") for p in rubric.key_points]
    en = [next((a.en for a in p.alternatives if a.plain and a.en), "") for p in rubric.key_points]
    texts = ("".join(t.rstrip("。. ") + "。" for t in zh if t), " ".join(t.rstrip("。. ") + "." for t in en if t))
    return tuple(t for t in texts if t)
