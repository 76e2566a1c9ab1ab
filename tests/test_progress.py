"""Progress on long steps: library code reports through a callback, the CLI draws a bar on a terminal."""

from __future__ import annotations

from io import StringIO

import numpy as np
from rich.console import Console

from harness.cli.console import progress_bar
from harness.scoring import calibration, evaluation
from harness.scoring.evaluation import GradedSet


def test_progress_bar_draws_on_a_terminal_only() -> None:
    out = StringIO()
    with progress_bar(Console(file=out, force_terminal=True, width=100)) as progress:
        progress("Embedding rubrics", 3, 8)
        progress("Cross-validation folds", 10, 10)
    drawn = out.getvalue()
    assert "Embedding rubrics" in drawn and "3/8" in drawn and "Cross-validation folds" in drawn
    piped = StringIO()
    with progress_bar(Console(file=piped, width=100)) as progress:
        progress("Embedding rubrics", 3, 8)
    assert piped.getvalue() == ""


def test_evaluation_reports_rubrics_answers_and_scoring(scorer) -> None:  # type: ignore[no-untyped-def]
    ids = ["clip-idea", "vit-patch", "blip-idea"] * 100
    graded = GradedSet("tiny", tuple(ids), tuple(f"答案 {i}：对比学习" for i in range(len(ids))),
                       np.arange(len(ids)) % 6.0, np.full(len(ids), 5.0))
    steps: list[tuple[str, int, int]] = []
    evaluation.evaluate(scorer, graded, cross_validate=False, progress=lambda *s: steps.append(s))
    assert steps[:2] == [("Embedding rubrics", 0, 3), ("Embedding rubrics", 3, 3)]
    answers = [s for s in steps if s[0] == "Embedding answers (tiny)"]
    assert [s[1] for s in answers] == [0, 256, 300] and answers[-1][2] == 300
    assert [s for s in steps if s[0] == "Scoring"][-1] == ("Scoring", 300, 300)


def test_cross_validation_reports_each_fold() -> None:
    rng = np.random.default_rng(0)
    n = 60
    x = rng.random((n, len(calibration.FEATURE_NAMES)))
    folds: list[tuple[int, int]] = []
    calibration.cross_val_predict(x, rng.random(n), np.repeat(np.arange(6), 10), np.arange(n) % 5 != 0,
                                  folds=3, progress=lambda done, total: folds.append((done, total)))
    assert folds == [(1, 3), (2, 3), (3, 3)]
