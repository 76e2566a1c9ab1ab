"""Builders shared by the report tests: a tiny bank, attempt frames, scores.csv files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from harness.bank.loader import load_bank
from harness.grade.outputs import SCORE_COLUMNS
from harness.practice.store import FRAME_COLUMNS
from harness.types import Bank, Evidence, PointResult, Score

BANK_DIR = Path(__file__).parent / "data" / "report"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 4, 30, 12, 0, tzinfo=timezone.utc)
# scores.csv as `harness grade` writes it, less the `answer` column (reports do not need it, and
# files edited by hand or from older runs may lack it): the rows below are positional.
SCORES_HEADER = tuple(c for c in SCORE_COLUMNS if c != "answer")
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
    """The frame `store.attempts_frame` returns; rows are (qid, score, day[, statuses[, clause]])."""
    records = []
    for i, row in enumerate(rows, 1):
        qid, score, day = row[0], row[1], row[2]
        statuses = row[3] if len(row) > 3 else None
        clause = row[4] if len(row) > 4 else ""
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
                make_score(bank, qid, score, statuses, clause).to_dict(),
            )
        )
    frame = pd.DataFrame(records, columns=list(FRAME_COLUMNS))
    for col in ("started_at", "submitted_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def write_scores(path: Path, rows: Sequence[Sequence[object]], header: Sequence[str] = SCORES_HEADER) -> Path:
    """A scores.csv as `grade` writes it (UTF-8 with BOM); short rows are padded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([*row, *[""] * (len(header) - len(row))])
    return path


def cohort_rows(bank: Bank, people: dict[str, dict[str, float]]) -> list[list[object]]:
    """scores.csv rows: person -> {question id: score}; a point is missed when the score is below 50."""
    rows: list[list[object]] = []
    for person, scores in people.items():
        for qid, score in scores.items():
            titles = [p.title for p in bank.rubrics[qid].key_points]
            missed = "; ".join(titles) if score < 50 else ""
            covered = "" if score < 50 else "; ".join(titles)
            rows.append(
                [
                    person,
                    qid,
                    bank.questions[qid].topic,
                    f"{score:.1f}",
                    covered,
                    "",
                    missed,
                    "",
                    "",
                    "",
                    len(rows) + 2,
                ]
            )
    return rows
