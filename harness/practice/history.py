"""A user's scores over time: per-topic summaries, sparklines, version labels, the CSV.

Every score is labelled with what produced it: `S1`, `S2`, ... name distinct
(embedder, calibration) pairs in order of first use, and a topic whose
scores mix rubric versions of one question is flagged, so "better over
time" is read knowing whether it compares like with like.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.files.write import LIST_SEP, write_csv_atomic
from harness.practice import store
from harness.practice.store import StoredAttempt

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24
WINDOW = 5
CSV_COLUMNS = ("attempt_id", "user", "question_id", "topic", "started_at", "submitted_at", "score",
               "score_low", "score_high", "review", "rubric_version", "embedder_id", "calibration_id", "answer")


def sparkline(scores: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """One bar per score (0-100), the last `width` of them."""
    return "".join(BARS[min(len(BARS) - 1, max(0, int(s / 100 * len(BARS))))] for s in scores[-width:])


@dataclass(frozen=True)
class TopicSummary:
    """First, latest, best and moving average of one topic's scores."""

    topic: str
    scores: tuple[float, ...]
    labels: tuple[str, ...]
    mixed_rubrics: bool

    @property
    def moving_average(self) -> float:
        """Mean of the last `WINDOW` scores."""
        recent = self.scores[-WINDOW:]
        return sum(recent) / len(recent)

    @property
    def scored_with(self) -> str:
        """The version labels of its scores, `*` when they mix rubric versions: `S1,S2*`."""
        return ",".join(self.labels) + ("*" if self.mixed_rubrics else "")


def version_labels(rows: Sequence[StoredAttempt]) -> dict[tuple[str, str], str]:
    """`S1`, `S2`, ... for each distinct (embedder, calibration), in order of first use."""
    labels: dict[tuple[str, str], str] = {}
    for a in rows:
        labels.setdefault((a.embedder_id, a.calibration_id), f"S{len(labels) + 1}")
    return labels


def summarise(rows: Sequence[StoredAttempt]) -> list[TopicSummary]:
    """One summary per topic, in order of first attempt; rows oldest first."""
    labels = version_labels(rows)
    topics: dict[str, list[StoredAttempt]] = {}
    for a in rows:
        topics.setdefault(a.topic, []).append(a)
    out = []
    for topic, items in topics.items():
        rubric_versions: dict[str, set[str]] = {}
        for a in items:
            rubric_versions.setdefault(a.question_id, set()).add(a.rubric_version)
        used = dict.fromkeys(labels[(a.embedder_id, a.calibration_id)] for a in items)
        out.append(TopicSummary(topic, tuple(a.score for a in items), tuple(used),
                                any(len(v) > 1 for v in rubric_versions.values())))
    return out


@dataclass(frozen=True)
class History:
    """One user's attempts (oldest first) with their per-topic summaries and version labels."""

    user: str
    attempts: tuple[StoredAttempt, ...]
    topics: tuple[TopicSummary, ...]
    labels: Mapping[tuple[str, str], str]

    def label(self, attempt: StoredAttempt) -> str:
        """The `S1`, `S2`, ... label of the versions that scored `attempt`."""
        return self.labels[(attempt.embedder_id, attempt.calibration_id)]

    @property
    def comparable(self) -> bool:
        """True when every score came from one embedder, calibration and rubric version per question."""
        return len(self.labels) <= 1 and not any(s.mixed_rubrics for s in self.topics)


def load_history(
    conn: sqlite3.Connection, *, user: str, topics: Sequence[str] = (), question_id: str | None = None
) -> History:
    """The user's attempts, optionally only some topics or one question, summarised."""
    rows = tuple(a for a in store.attempts(conn, user=user, question_id=question_id)
                 if not topics or a.topic in topics)
    return History(user, rows, tuple(summarise(rows)), version_labels(rows))


def score_with_range(attempt: StoredAttempt) -> str:
    """The score with the range a teacher's grade likely falls in: "72 (60-81)"; "72" without one."""
    low, high = attempt.score_low, attempt.score_high
    return f"{attempt.score:.0f}" + (f" ({low:.0f}-{high:.0f})" if low is not None and high is not None else "")


def write_csv(rows: Sequence[StoredAttempt], path: Path) -> None:
    """Raw attempts with their current scores: UTF-8 with BOM, Excel-safe, written atomically.

    Raises:
        HarnessError: the file cannot be written.

    """
    write_csv_atomic(path, [CSV_COLUMNS, *(
        (a.attempt_id, a.user, a.question_id, a.topic, a.started_at.isoformat(), a.submitted_at.isoformat(),
         f"{a.score:.1f}", _bound(a.score_low), _bound(a.score_high), LIST_SEP.join(a.review),
         a.rubric_version, a.embedder_id, a.calibration_id, a.answer)
        for a in rows
    )], what="the attempts")


def _bound(value: float | None) -> str:
    """A range end as a CSV cell: one decimal, empty for a score stored without a range."""
    return "" if value is None else f"{value:.1f}"


def as_record(found: History) -> dict[str, Any]:
    """The history as the JSON `harness history --json` prints: summaries, version labels, every attempt."""
    rows = found.attempts
    return {
        "user": found.user,
        "attempt_count": len(rows),
        "first": rows[0].submitted_at.isoformat() if rows else None,
        "last": rows[-1].submitted_at.isoformat() if rows else None,
        "topics": [{"topic": s.topic, "attempts": len(s.scores), "first": s.scores[0], "latest": s.scores[-1],
                    "best": max(s.scores), "recent": round(s.moving_average, 1), "scores": list(s.scores),
                    "scored_with": list(s.labels), "mixed_rubrics": s.mixed_rubrics} for s in found.topics],
        "versions": {label: {"embedder_id": emb, "calibration_id": cal} for (emb, cal), label in found.labels.items()},
        "comparable": found.comparable,
        "attempts": [{"attempt_id": a.attempt_id, "question_id": a.question_id, "topic": a.topic,
                      "started_at": a.started_at.isoformat(), "submitted_at": a.submitted_at.isoformat(),
                      "score": a.score, "rubric_version": a.rubric_version, "embedder_id": a.embedder_id,
                      "calibration_id": a.calibration_id, "scored_with": found.label(a),
                      "score_low": a.score_low, "score_high": a.score_high, "review": list(a.review)}
                     for a in rows],
    }
