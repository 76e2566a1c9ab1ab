"""Frozen records for the bank (questions, rubrics) and for scores.

Everything here is plain data: no I/O, no scoring. `Score.to_dict` /
`Score.from_dict` give the one storage form used by the store and the CSV
writers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Difficulty = Literal["easy", "medium", "hard"]
Status = Literal["covered", "partial", "missed"]
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")


@dataclass(frozen=True)
class KeywordGroup:
    """Aliases of one concept; the group matches if any alias occurs."""

    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Alternative:
    """A further statement of a key point, e.g. in plain words without the paper's terms.

    `plain` marks a phrasing a candidate who understands the point but not
    the vocabulary would use.
    """

    zh: str | None = None
    en: str | None = None
    plain: bool = False

    @property
    def texts(self) -> tuple[str, ...]:
        """The alternative in every language given."""
        return tuple(t for t in (self.zh, self.en) if t)


@dataclass(frozen=True)
class KeyPoint:
    """One weighted point of a rubric.

    `derived` is true for points cut from reference answers of a rubric that
    has no hand-written key points (as `bank import` creates); `reference` is
    then the index of the reference answer the point was cut from.
    """

    id: str
    title: str
    text: str
    weight: float
    keywords: tuple[KeywordGroup, ...] = ()
    text_en: str | None = None
    derived: bool = False
    reference: int | None = None
    alternatives: tuple[Alternative, ...] = ()

    @property
    def statements(self) -> tuple[str, ...]:
        """The point's statements in every language the rubric gives."""
        return tuple(t for t in (self.text, self.text_en) if t)


@dataclass(frozen=True)
class Misconception:
    """A wrong claim, the cues that signal it, and its penalty in points (0-100 scale)."""

    id: str
    text: str
    cues: tuple[KeywordGroup, ...]
    penalty: float
    text_en: str | None = None
    correction: str | None = None

    @property
    def statements(self) -> tuple[str, ...]:
        """The wrong claim in every language the rubric gives."""
        return tuple(t for t in (self.text, self.text_en) if t)


@dataclass(frozen=True)
class Reference:
    """One acceptable reference answer, in Chinese and/or English."""

    zh: str | None = None
    en: str | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """The reference in every language given."""
        return tuple(t for t in (self.zh, self.en) if t)

    @property
    def primary(self) -> str:
        """The Chinese text where there is one, else the English."""
        return self.zh or self.en or ""


@dataclass(frozen=True)
class Rubric:
    """Reference answers, key points and misconceptions for one question.

    `keywords` are optional answer-level term groups (as `bank import` reads
    from a `keywords` column), checked against the whole answer.
    """

    question_id: str
    version: str
    references: tuple[Reference, ...]
    key_points: tuple[KeyPoint, ...]
    misconceptions: tuple[Misconception, ...] = ()
    keywords: tuple[KeywordGroup, ...] = ()
    path: str = ""
    content_hash: str = ""

    @property
    def derived(self) -> bool:
        """True when the key points were cut from the reference answers."""
        return bool(self.key_points) and all(p.derived for p in self.key_points)

    @property
    def version_id(self) -> str:
        """The rubric's declared version and content hash, e.g. `1+3fa2c9d01b2e`."""
        return f"{self.version}+{self.content_hash}"

    @property
    def total_weight(self) -> float:
        """Sum of key point weights."""
        return sum(p.weight for p in self.key_points)


@dataclass(frozen=True)
class Question:
    """One interview question."""

    id: str
    topic: str
    difficulty: str
    prompt_zh: str | None
    prompt_en: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    path: str = ""

    @property
    def prompt(self) -> str:
        """The Chinese prompt where there is one, else the English."""
        return self.prompt_zh or self.prompt_en or ""


@dataclass(frozen=True)
class Bank:
    """A validated question bank: every question has exactly one rubric."""

    root: Path
    questions: dict[str, Question]
    rubrics: dict[str, Rubric]
    version: str

    @property
    def topics(self) -> tuple[str, ...]:
        """Topics in order of first appearance."""
        return tuple(dict.fromkeys(q.topic for q in self.questions.values()))

    def by_topic(self, topic: str) -> tuple[Question, ...]:
        """Questions of one topic, in bank order."""
        return tuple(q for q in self.questions.values() if q.topic == topic)


@dataclass(frozen=True)
class Evidence:
    """What in the answer supports a judgement.

    `clause` is the answer's sentence or clause that matched best ("" if the
    answer has none; when the answer as a whole matched best, its clause
    closest to the statement), `similarity` the best cosine with the rubric
    statement, and `aliases` the keyword aliases found in the answer.
    """

    clause: str = ""
    similarity: float = 0.0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PointResult:
    """How one key point fared in one answer."""

    point_id: str
    title: str
    text: str
    weight: float
    status: Status
    credit: float
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True)
class MisconceptionHit:
    """A misconception the answer states, with its evidence.

    `contradicts` is the key point the wrong claim stands against (the point
    closest to its correction); that point earns no credit.
    """

    misconception_id: str
    text: str
    penalty: float
    correction: str | None = None
    evidence: Evidence = field(default_factory=Evidence)
    contradicts: str | None = None


ANCHOR_FLAG = "anchor"  # the flag of an answer whose score is a teacher's grade (`grade --anchors`)
KEYWORD_LIST_FLAG = "keyword-list"  # a bare list of terms, capped (`rules.is_keyword_list`)
OFF_RUBRIC_FLAG = "off-rubric"  # shows nothing of the rubric, capped (`rules.shows_nothing_of`)
HALF_MARKS = 50.0  # where the scorer holds a score that no key point explains (`rules.CLOSENESS_CAP`)


@dataclass(frozen=True)
class Score:
    """The score of one answer and how it was reached.

    `score` is the final 0-100 score: `calibrated` (the calibration model's
    output from `features`) or, on a hand-written rubric, `coverage` (the
    weighted credit of its key points, 0-100) where that is higher, scaled
    down by the weight share of key points a stated misconception
    contradicts, minus the misconceptions' penalties, clipped to 0-100.
    `rests_on_closeness` is true when the score (at least 20) rests on the
    answer's overall closeness to the reference while no single key point
    was caught; feedback then says so (`scoring.rules.closeness_note`).
    `score_low`-`score_high` is where the human grade likely lies (80% of
    the time on held-out questions; None when the calibration has no
    interval model) and `review` the reasons to look at the answer again
    (`scoring.review.REASONS`; empty when none): a flag, never a penalty.
    Records stored before a field existed read back with its default.
    """

    question_id: str
    score: float
    calibrated: float
    points: tuple[PointResult, ...]
    misconceptions: tuple[MisconceptionHit, ...]
    reference_similarity: float
    best_reference: int
    features: tuple[tuple[str, float], ...]
    flags: tuple[str, ...]
    rubric_version: str
    embedder_id: str
    calibration_id: str
    rests_on_closeness: bool = False
    coverage: float = 0.0
    score_low: float | None = None
    score_high: float | None = None
    review: tuple[str, ...] = ()

    @property
    def covered(self) -> tuple[PointResult, ...]:
        """Points judged covered."""
        return tuple(p for p in self.points if p.status == "covered")

    @property
    def partial(self) -> tuple[PointResult, ...]:
        """Points judged partly covered."""
        return tuple(p for p in self.points if p.status == "partial")

    @property
    def missed(self) -> tuple[PointResult, ...]:
        """Points judged missed."""
        return tuple(p for p in self.points if p.status == "missed")

    @property
    def contradicted_share(self) -> float:
        """Weight share of the key points that stated misconceptions contradict."""
        return contradicted_share(self.points, self.misconceptions)

    def _steps(self) -> list[str]:
        """The steps from the calibrated value to the score, as `how` words them."""
        penalty = sum(m.penalty for m in self.misconceptions)
        steps = [f"calibrated {self.calibrated:.0f}"]
        if self.coverage > self.calibrated:
            steps = [f"key points covered {self.coverage:.0f} (calibrated {self.calibrated:.0f})"]
        if self.contradicted_share:
            steps.append(f"x {1 - self.contradicted_share:.2f} for contradicted points")
        if penalty:
            steps.append(f"- {penalty:.0f} for misconceptions")
        before = max(self.coverage, self.calibrated) * (1 - self.contradicted_share) - penalty
        if abs(self.score - before) > 0.5:  # a cap or the teacher's grades set the score (scorer._assemble)
            steps.append(self._set_by())
        return steps

    def _set_by(self) -> str:
        """What set the score apart from the steps above, read from the flags and the points."""
        if ANCHOR_FLAG in self.flags:
            return "the teacher's grade"
        held = self.score < HALF_MARKS + 0.5  # at or below half marks, as rounded (every cap is)
        if held and KEYWORD_LIST_FLAG in self.flags:
            return "capped: a bare list of terms"
        if held and OFF_RUBRIC_FLAG in self.flags:
            return "capped: none of the rubric's terms or key points"
        if held and not caught(self.points):
            return "held at half marks: no key point clearly caught"
        return "moved toward the teacher's grades of similar answers"

    def how(self) -> str:
        """One line saying how the final score was reached."""
        return " ".join([*self._steps(), f"= {self.score:.0f}/100"])

    @property
    def adjusted(self) -> bool:
        """Whether anything besides the calibrated value made the score (else `how` says nothing new)."""
        return self.coverage > self.calibrated or len(self._steps()) > 1

    @property
    def likely(self) -> str:
        """The score with its interval, as shown: "72, likely 60-81" ("72" without an interval)."""
        if self.score_low is None or self.score_high is None:
            return f"{self.score:.0f}"
        return f"{self.score:.0f}, likely {self.score_low:.0f}-{self.score_high:.0f}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `Score.from_dict` reverses it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        """Rebuild a Score from `to_dict` output."""
        points = tuple(
            PointResult(**{**p, "evidence": _evidence(p["evidence"])}) for p in data["points"]
        )
        hits = tuple(
            MisconceptionHit(**{**m, "evidence": _evidence(m["evidence"])})
            for m in data["misconceptions"]
        )
        return cls(
            **{
                **data,
                "points": points,
                "misconceptions": hits,
                "features": tuple((str(k), float(v)) for k, v in data["features"]),
                "flags": tuple(data["flags"]),
                "review": tuple(data.get("review", ())),
            }
        )


def caught(points: Iterable[PointResult]) -> bool:
    """Whether any key point is covered or partly covered: something the score can point to."""
    return any(p.status != "missed" for p in points)


def contradicted_share(points: tuple[PointResult, ...], hits: tuple[MisconceptionHit, ...]) -> float:
    """Weight share of `points` that the misconceptions in `hits` contradict."""
    ids = {m.contradicts for m in hits if m.contradicts}
    total = sum(p.weight for p in points)
    return sum(p.weight for p in points if p.point_id in ids) / total if total else 0.0


def _evidence(data: dict[str, Any]) -> Evidence:
    return Evidence(
        clause=data["clause"], similarity=float(data["similarity"]), aliases=tuple(data["aliases"])
    )
