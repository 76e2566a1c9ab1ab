"""Builders shared by the report tests: a tiny bank, attempt frames, scores.csv files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from harness.bank.loader import load_bank
from harness.grade.schema import SCORES, ScoreRow, point_label, write_rows
from harness.practice.store import FRAME_COLUMNS
from harness.report.cohort import CohortReport, cohort_report, tally_scores
from harness.types import Bank, Evidence, PointResult, Score

BANK_DIR = Path(__file__).parent / "data" / "report"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 4, 30, 12, 0, tzinfo=timezone.utc)
# scores.csv as written before the key point id columns (and without the answers): reports still read it.
OLD_SCORES_HEADER = ("student_id", "question_id", "topic", "score", "covered", "partial", "missed",
                     "misconceptions", "flags", "feedback", "source_row")
INJECTION = "<script>document.title='pwned';document.documentElement.setAttribute('data-pwned','1')</script>"


def tiny_bank() -> Bank:
    return load_bank(BANK_DIR)


def make_score(
    bank: Bank, qid: str, score: float, statuses: dict[str, str] | None = None, clause: str = ""
) -> Score:
    """A real Score for `qid`; points not named in `statuses` are covered."""
    statuses = statuses or {}
    points = tuple(
        PointResult(
            p.id,
            p.title,
            p.text,
            p.weight,
            statuses.get(p.id, "covered"),  # type: ignore[arg-type]
            1.0 if statuses.get(p.id, "covered") == "covered" else 0.0,
            Evidence(clause, 0.5, ()),
        )
        for p in bank.rubrics[qid].key_points
    )
    return Score(qid, score, score, points, (), 0.5, 0, (("sim", 0.5),), (), "1+x", "use", "cal")


def attempts_frame(bank: Bank, rows: Sequence[tuple], user: str = "alice") -> pd.DataFrame:
    """The frame `store.attempts_frame` returns; rows are (qid, score, day[, statuses[, clause[, extra]]]).

    `extra` sets more Score fields: {"score_low": 60.0, "score_high": 81.0, "review": ("wide-interval",)}.
    """
    records = []
    for i, row in enumerate(rows, 1):
        qid, score, day = row[0], row[1], row[2]
        statuses = row[3] if len(row) > 3 else None
        clause = row[4] if len(row) > 4 else ""
        scored = replace(make_score(bank, qid, score, statuses, clause), **(row[5] if len(row) > 5 else {}))
        when = T0 + timedelta(days=day, minutes=i)
        records.append(
            (
                i,
                user,
                qid,
                bank.questions[qid].topic,
                "answer",
                float(score),
                when,
                when,
                "1+x",
                "use",
                "cal",
                scored.to_dict(),
                float("nan") if scored.score_low is None else scored.score_low,
                float("nan") if scored.score_high is None else scored.score_high,
                scored.review,
            )
        )
    frame = pd.DataFrame(records, columns=list(FRAME_COLUMNS))
    for col in ("started_at", "submitted_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def write_scores(path: Path, rows: Sequence[ScoreRow]) -> Path:
    """A scores.csv as `grade` writes it, from row objects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_rows(path, SCORES, rows)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A CSV with this header (UTF-8 with BOM); short rows are padded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([*row, *[""] * (len(header) - len(row))])
    return path


def cohort_rows(bank: Bank, people: dict[str, dict[str, float]]) -> list[ScoreRow]:
    """scores.csv rows: person -> {question id: score}; every point is missed below 50, covered from 50."""
    rows: list[ScoreRow] = []
    for person, scores in people.items():
        for qid, score in scores.items():
            points = bank.rubrics[qid].key_points
            labels, ids = tuple(point_label(p) for p in points), tuple(p.id for p in points)
            low = score < 50
            rows.append(ScoreRow(
                person, qid, bank.questions[qid].topic, score,
                covered=() if low else labels, missed=labels if low else (),
                covered_ids=() if low else ids, missed_ids=ids if low else (), source_row=len(rows) + 2,
            ))
    return rows


def frame_of(rows: Sequence[ScoreRow]) -> pd.DataFrame:
    """The frame `read_scores` would give for these rows."""
    return pd.DataFrame([asdict(r) for r in rows], columns=list(SCORES.names))


def report_of(rows: Sequence[ScoreRow], bank: Bank | None, **kw: object) -> CohortReport:
    """The cohort report of these rows."""
    stats = tally_scores(frame_of(rows), bank=bank).stats()
    return cohort_report(stats, bank=bank, now=NOW, **kw)  # type: ignore[arg-type]


# Five people's scores on three questions: a spread for the cohort reports (one name in Chinese).
PEOPLE = {
    "p1": {"clip-idea": 90, "clip-data": 80, "vit-patch": 20},
    "p2": {"clip-idea": 70, "clip-data": 60, "vit-patch": 40},
    "p3": {"clip-idea": 50, "clip-data": 40, "vit-patch": 60},
    "p4": {"clip-idea": 30, "clip-data": 20, "vit-patch": 80},
    "张三": {"clip-idea": 10, "clip-data": 0, "vit-patch": 30},
}
