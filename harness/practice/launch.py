"""Open a practice run: the bank's questions, the history, a scorer loading in the background.

`open_practice` is what `harness answer` calls first. It draws nothing heavy:
the scorer loads only at `Practice.start_loading`, so the first question can
be on screen before the embedder competes for the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from harness.bank.loader import load_bank
from harness.practice import recovery, store
from harness.practice.session import BackgroundScorer, Session, default_user, select_questions
from harness.types import Bank, Question

if TYPE_CHECKING:
    from harness.scoring.scorer import Scorer


@dataclass(frozen=True)
class Practice:
    """A session, the loader of its scorer, the embedder it will use, and the answers imported at start."""

    session: Session
    loader: BackgroundScorer
    embedder_name: str
    imported: recovery.Imported = recovery.Imported()

    def check_embedder(self) -> None:
        """Fail now, before loading anything, on an unknown embedder name.

        Raises:
            EmbedderError: the name is unknown (with the closest valid one).

        """
        from harness.encoders import canonical_name

        canonical_name(self.embedder_name)

    def start_loading(self, questions: Sequence[Question]) -> None:
        """Start loading the scorer, then embed these questions' rubrics while the user writes."""
        self.loader.start()
        if questions:
            self.session.prepare(*questions)


@contextmanager
def open_practice(
    bank_dir: Path | None,
    *,
    results_dir: Path,
    embedder_name: str,
    user: str | None = None,
    topics: Sequence[str] = (),
    question_ids: Sequence[str] = (),
    limit: int | None = None,
) -> Iterator[Practice]:
    """Load the bank, open the history and yield a `Practice`; the history closes on exit.

    Named `question_ids` are asked in their order; otherwise the scheduler
    picks from the `topics` (default: the whole bank). Answers an earlier run
    kept in a recovery file are imported first (`Practice.imported`).

    Raises:
        BankError: the bank does not load.
        UnknownQuestionError: an id not in the bank.
        HarnessError: a topic not in the bank.
        StoreError: the history database cannot be opened or written.

    """
    bank = load_bank(bank_dir)
    pool = select_questions(bank, topics=topics, question_ids=question_ids)
    conn = store.connect(store.db_path(results_dir), writable=True)
    try:
        loader = BackgroundScorer(partial(load_scorer, bank, embedder_name=embedder_name, results_dir=results_dir),
                                  start=False)
        session = Session(conn, bank, loader.get, user=user or default_user(), questions=pool,
                          fixed_order=bool(question_ids), limit=limit)
        yield Practice(session, loader, embedder_name, recovery.import_pending(conn))
    finally:
        conn.close()


def load_scorer(bank: Bank, *, embedder_name: str, results_dir: Path) -> Scorer:
    """Build the scorer and load its model weights (meant for a background thread).

    Raises:
        EmbedderError: the embedder cannot be had.
        CalibrationError: no calibration fits the embedder.

    """
    from harness.scoring.scorer import Scorer

    scorer = Scorer.load(bank, embedder_name=embedder_name, results_dir=results_dir)
    scorer.warm_up()
    return scorer
