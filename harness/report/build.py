"""Building a report from where its data lives: a practice history, or a grade run's scores.csv.

`build_report` is what `harness report` calls; `load_cohort` and
`load_candidate` are its two halves.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError, InputFileError
from harness.report.candidate import CandidateReport
from harness.report.cohort import CohortReport
from harness.types import Bank


def build_report(*, user: str | None, scores: Path | None, bank_dir: Path | None, results_dir: Path | None,
                 now: datetime, review_keep: int | None = None) -> CandidateReport | CohortReport:
    """The cohort report of `scores` if given, else the practice report of `user` (default: you).

    `review_keep` is as for `load_cohort`.

    Raises:
        HarnessError: no such history or user, or a scores.csv that cannot be read.

    """
    if scores is not None:
        return load_cohort(scores, bank_dir=bank_dir, now=now, review_keep=review_keep)
    from harness.bank.loader import load_bank

    return load_candidate(user, bank=load_bank(bank_dir), results_dir=results_dir, now=now)


def load_cohort(path: Path, *, bank_dir: Path | None, now: datetime, review_keep: int | None = None) -> CohortReport:
    """The cohort report of a grade run: RUN_DIR or RUN_DIR/scores.csv (or any scores.csv).

    Beside a run.json (a run folder, or a file named scores.csv in one) the
    report states the run's facts and time, is titled by the folder's name
    and, without `bank_dir`, takes statements from the bank the run used
    (if it is still there). A grade run's report.md is this report.

    The file is read in chunks into the tally, so memory does not grow with
    the run; so do the answers to review with `review_keep` (Markdown and
    HTML list the first `cohort_layout.REVIEW_SHOWN`), which keeps only that
    many (in the report's order) and counts the rest.

    Raises:
        InputFileError: missing or unreadable file, not a scores.csv, a bad row, no scored rows.

    """
    from harness.bank.loader import load_bank
    from harness.grade.outputs import read_run_facts
    from harness.grade.schema import SCORES
    from harness.report.cohort import (
        COLUMNS_READ,
        REVIEW_READ,
        cohort_report,
        merge_review,
        review_table,
        tally_file,
    )

    if not path.exists():
        raise InputFileError(f"{path}: not found; give RUN_DIR/scores.csv of a `harness grade` run")
    folder = path if path.is_dir() else path.parent
    run = read_run_facts(folder) if path.is_dir() or path.name == SCORES.file else None
    if bank_dir is None and run is not None and Path(run.bank).is_dir():
        bank_dir = Path(run.bank)
    bank = load_bank(bank_dir)
    review: list[pd.DataFrame] = []
    flagged = 0

    def collect(frame: pd.DataFrame) -> None:
        nonlocal flagged
        part = review_table(frame)
        flagged += len(part)
        if len(part):
            review.append(part)
        if review_keep is not None and len(review) > 1:
            review[:] = [merge_review(review, review_keep)]

    tally, chunks = tally_file(path, bank=bank, columns=(*COLUMNS_READ, *REVIEW_READ), each=collect)
    if not tally.answers:
        raise InputFileError(f"{chunks.path}: no scored rows; nothing to report")
    return cohort_report(tally.stats(), bank=bank, now=run.finished if run else now, run=run,
                         source=run.folder if run else str(path), skipped_rows=chunks.skipped,
                         to_review=merge_review(review, review_keep) if review else None, review_total=flagged)


def load_candidate(user: str | None, *, bank: Bank, results_dir: Path | None, now: datetime) -> CandidateReport:
    """The practice report of `user` (default: you) from the history in `results_dir`.

    Raises:
        HarnessError: no history there, or no attempts by that user.

    """
    from harness.practice import store
    from harness.practice.session import default_user
    from harness.report.candidate import candidate_report

    name = user or default_user()
    path = store.db_path(results_dir or store.default_results_dir())
    if not path.is_file():
        raise HarnessError(
            f"no practice history at {path}; answer some questions first with "
            f"`harness answer --user {name}`, or point --results at the folder holding it"
        )
    conn = store.connect(path)
    try:
        frame = store.attempts_frame(conn, user=name)
        if frame.empty:
            known = store.users(conn)
            hint = f"; users with attempts: {', '.join(known)}" if known else ""
            raise HarnessError(
                f"no attempts by {name!r} in {path}; practise with `harness answer --user {name}` first{hint}"
            )
    finally:
        conn.close()
    return candidate_report(frame, bank=bank, now=now, user=name)
