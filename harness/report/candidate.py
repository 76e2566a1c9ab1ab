"""Practice history -> a candidate's weakness report. Pure pandas, no I/O.

`candidate_report(attempts, bank=..., now=...)` takes the frame
`store.attempts_frame` returns (one row per attempt, `explanation` in
`Score.to_dict()` form) and answers "what should I study next?":

- **topics**, weakest first: the mean of the latest score of each question
  tried, the attempts, and the trend (mean change from first to latest score
  over the questions tried more than once); bank topics never practised last;
- **missed points**: per topic, the key points the latest answer to their
  question still misses or only partly covers, most often missed first, with
  the rubric's statement and the closest clause the candidate wrote;
- **next questions**: the order `answer` would ask them (`scheduler.plan`);
- **progress**: after each attempt, its topic's latest-per-question mean;
- **scores to check**: the latest attempt at each question whose score the
  scorer flagged for a second look (`review`), with the range a teacher's
  grade likely falls in; newest first.

The cohort report (from a `grade` run's scores.csv) is in `harness.report.cohort`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from harness.practice.scheduler import Review, plan
from harness.types import Bank

TOPIC_COLUMNS = (
    "topic",
    "mean",
    "questions",
    "bank_questions",
    "attempts",
    "first_mean",
    "trend",
    "last_practised",
)
POINT_COLUMNS = (
    "topic",
    "question_id",
    "point_id",
    "title",
    "statement",
    "statement_en",
    "weight",
    "missed",
    "partial",
    "seen",
    "latest_status",
    "closest",
)
NEXT_COLUMNS = ("rank", "question_id", "topic", "reason", "last_score", "due", "prompt")
PROGRESS_COLUMNS = ("submitted_at", "topic", "question_id", "score", "topic_mean", "overall_mean")
CHECK_COLUMNS = ("question_id", "topic", "score", "score_low", "score_high", "review", "submitted_at")
_STATUS_ORDER = {"missed": 0, "partial": 1, "covered": 2}


@dataclass(frozen=True, eq=False)
class CandidateReport:
    """One candidate's weakness report; each frame's columns are the `*_COLUMNS` above."""

    user: str
    generated_at: datetime
    attempts: int
    questions: int
    bank_questions: int
    mean: float
    first_attempt: datetime | None
    last_attempt: datetime | None
    topics: pd.DataFrame
    missed_points: pd.DataFrame
    next_questions: pd.DataFrame
    progress: pd.DataFrame
    to_check: pd.DataFrame


def candidate_report(
    attempts: pd.DataFrame,
    *,
    bank: Bank | None,
    now: datetime,
    user: str | None = None,
    points_per_topic: int = 3,
    next_count: int = 5,
) -> CandidateReport:
    """Build the report from `store.attempts_frame` output for one user.

    `bank` gives the rubric statements, the topics not yet practised and the
    questions to practise next; without it those come from the attempts alone.
    """
    frame = _clean_attempts(attempts)
    latest = frame.groupby("question_id", sort=False).tail(1)
    name = user if user is not None else (str(frame["user"].iloc[0]) if len(frame) else "")
    return CandidateReport(
        user=name,
        generated_at=now,
        attempts=len(frame),
        questions=int(frame["question_id"].nunique()),
        bank_questions=len(bank.questions) if bank else 0,
        mean=float(latest["score"].mean()) if len(latest) else float("nan"),
        first_attempt=frame["submitted_at"].min().to_pydatetime() if len(frame) else None,
        last_attempt=frame["submitted_at"].max().to_pydatetime() if len(frame) else None,
        topics=topic_table(frame, bank),
        missed_points=missed_points(frame, bank, per_topic=points_per_topic),
        next_questions=next_questions(frame, bank, now=now, count=next_count),
        progress=progress(frame),
        to_check=scores_to_check(latest),
    )


def _clean_attempts(attempts: pd.DataFrame) -> pd.DataFrame:
    """Attempts in time order with UTC times and dict explanations."""
    frame = attempts.copy()
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    frame["score"] = frame["score"].astype("float64")
    frame["explanation"] = [_as_dict(e) for e in frame["explanation"]]
    order = ["submitted_at", "attempt_id"] if "attempt_id" in frame else ["submitted_at"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def _as_dict(explanation: Any) -> dict[str, Any]:
    if isinstance(explanation, dict):
        return explanation
    if isinstance(explanation, str) and explanation.strip():
        loaded = json.loads(explanation)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def topic_table(frame: pd.DataFrame, bank: Bank | None) -> pd.DataFrame:
    """Per topic: latest-per-question mean, attempts and trend; weakest first."""
    rows = []
    for topic, group in frame.groupby("topic", sort=False):
        by_q = group.groupby("question_id", sort=False)["score"]
        first, last, count = by_q.first(), by_q.last(), by_q.size()
        again = count[count > 1].index
        rows.append(
            {
                "topic": topic,
                "mean": float(last.mean()),
                "questions": int(len(last)),
                "bank_questions": len(bank.by_topic(str(topic))) if bank else pd.NA,
                "attempts": int(len(group)),
                "first_mean": float(first.mean()),
                "trend": float((last[again] - first[again]).mean()) if len(again) else float("nan"),
                "last_practised": group["submitted_at"].max(),
            }
        )
    table = pd.DataFrame(rows, columns=list(TOPIC_COLUMNS))
    table = table.sort_values(["mean", "topic"], kind="stable")
    if bank is not None:
        seen = set(table["topic"])
        unseen = [
            {
                "topic": t,
                "mean": float("nan"),
                "questions": 0,
                "bank_questions": len(bank.by_topic(t)),
                "attempts": 0,
                "first_mean": float("nan"),
                "trend": float("nan"),
                "last_practised": pd.NaT,
            }
            for t in bank.topics
            if t not in seen
        ]
        if unseen:
            table = pd.concat([table, pd.DataFrame(unseen, columns=list(TOPIC_COLUMNS))], ignore_index=True)
    table["bank_questions"] = table["bank_questions"].astype("Int64")
    table["last_practised"] = pd.to_datetime(table["last_practised"], utc=True)
    return table.reset_index(drop=True)


def missed_points(frame: pd.DataFrame, bank: Bank | None, *, per_topic: int = 3) -> pd.DataFrame:
    """Per topic, up to `per_topic` key points the latest answers still miss.

    A point is listed when the latest attempt at its question did not cover
    it; points are ranked by how often they were missed (a partial counts
    half) over all attempts, then by weight.
    """
    rows = [
        {
            "question_id": qid,
            "point_id": pid,
            **entry,
            **dict(
                zip(("statement", "statement_en"), _statement(bank, qid, pid, entry["text"]), strict=True)
            ),
        }
        for (qid, pid), entry in _tally(frame).items()
        if entry["latest_status"] != "covered"
    ]
    table = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    if table.empty:
        return table
    table["_often"] = table["missed"] + 0.5 * table["partial"]
    table["_status"] = table["latest_status"].map(_STATUS_ORDER).fillna(0)
    table = table.sort_values(
        ["_often", "_status", "weight", "question_id", "point_id"],
        ascending=[False, True, False, True, True],
        kind="stable",
    )
    table = table.groupby("topic", sort=False).head(per_topic).drop(columns=["_often", "_status"])
    order = {t: i for i, t in enumerate(topic_table(frame, None)["topic"])}
    table = table.sort_values("topic", key=lambda s: s.map(order), kind="stable")
    return table.reset_index(drop=True)


def _tally(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (question, point): counts over all attempts, and the latest attempt's status, text and clause."""
    tally: dict[tuple[str, str], dict[str, Any]] = {}
    for row in frame.itertuples(index=False):
        for point in row.explanation.get("points", []):
            key = (str(row.question_id), str(point.get("point_id", "")))
            entry = tally.setdefault(key, {"topic": row.topic, "missed": 0, "partial": 0, "seen": 0})
            entry["seen"] += 1
            status = point.get("status", "")
            if status in ("missed", "partial"):
                entry[status] += 1
            entry.update(
                topic=row.topic,
                title=point.get("title", ""),
                text=point.get("text", ""),
                weight=float(point.get("weight", 0.0)),
                latest_status=status,
                closest=(point.get("evidence") or {}).get("clause", ""),
            )
    return tally


def _statement(bank: Bank | None, question_id: str, point_id: str, fallback: str) -> tuple[str, str]:
    """The rubric's statement of a point (zh, en); the stored text if the bank lacks it."""
    rubric = bank.rubrics.get(question_id) if bank else None
    for point in rubric.key_points if rubric else ():
        if point.id == point_id:
            return point.text, point.text_en or ""
    return fallback, ""


def next_questions(frame: pd.DataFrame, bank: Bank | None, *, now: datetime, count: int = 5) -> pd.DataFrame:
    """The first `count` questions `answer` would ask next, with why."""
    if bank is None or count <= 0:
        return pd.DataFrame(columns=list(NEXT_COLUMNS))
    reviews = [
        Review(str(r.question_id), str(r.topic), r.submitted_at.to_pydatetime(), float(r.score))
        for r in frame.itertuples(index=False)
    ]
    picks = plan(list(bank.questions.values()), reviews, now)[:count]
    rows = [
        {
            "rank": i,
            "question_id": p.question.id,
            "topic": p.question.topic,
            "reason": p.reason,
            "last_score": p.state.last_score if p.state else float("nan"),
            "due": pd.Timestamp(p.state.due) if p.state else pd.NaT,
            "prompt": p.question.prompt,
        }
        for i, p in enumerate(picks, 1)
    ]
    table = pd.DataFrame(rows, columns=list(NEXT_COLUMNS))
    table["due"] = pd.to_datetime(table["due"], utc=True)
    return table


def scores_to_check(latest: pd.DataFrame) -> pd.DataFrame:
    """The latest attempts whose score was flagged for review, newest first (`CHECK_COLUMNS`).

    `latest` holds one attempt per question; a frame without a `review`
    column (built before it existed) has none to check.
    """
    if "review" not in latest.columns or latest.empty:
        return pd.DataFrame(columns=list(CHECK_COLUMNS))
    flagged = latest[[bool(r) for r in latest["review"]]]
    table = pd.DataFrame({
        "question_id": flagged["question_id"].astype(str).tolist(),
        "topic": flagged["topic"].astype(str).tolist(),
        "score": flagged["score"].astype(float).tolist(),
        **{c: flagged[c].astype(float).tolist() for c in ("score_low", "score_high")},
        "review": [tuple(r) for r in flagged["review"]],
        "submitted_at": flagged["submitted_at"].tolist(),
    }, columns=list(CHECK_COLUMNS))
    table["submitted_at"] = pd.to_datetime(table["submitted_at"], utc=True)
    return table.sort_values("submitted_at", ascending=False, kind="stable").reset_index(drop=True)


def progress(frame: pd.DataFrame) -> pd.DataFrame:
    """After each attempt: its score, its topic's and the overall latest-per-question mean."""
    latest: dict[str, dict[str, float]] = {}
    rows = []
    for r in frame.itertuples(index=False):
        latest.setdefault(str(r.topic), {})[str(r.question_id)] = float(r.score)
        topic_scores = latest[str(r.topic)].values()
        every = [s for scores in latest.values() for s in scores.values()]
        rows.append(
            (
                r.submitted_at,
                r.topic,
                r.question_id,
                float(r.score),
                sum(topic_scores) / len(topic_scores),
                sum(every) / len(every),
            )
        )
    table = pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))
    table["submitted_at"] = pd.to_datetime(table["submitted_at"], utc=True)
    return table
