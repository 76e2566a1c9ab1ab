"""Held-out benchmark: zero-shot agreement, the 80% score ranges and the review flag, both dev sets.

    python benchmarks/bench_heldout.py [--eval-dir ../shared/eval] [--embedders use-multilingual]

Fits as `harness calibrate` does (`evaluation.calibrate`: the same rows,
folds and functions) on both dev sets pooled, each graded against a bank imported from its questions file
(reference-only rubrics: zero-shot), and prints one row per (set, embedder),
every figure with questions held out (group k-fold by question; the interval
model and the review threshold are fitted for each fold on the other
questions' inner out-of-fold residuals, `scoring.heldout`):

- r: Pearson r pooled over the set's answers; r/q: mean per-question r;
- inside: share of human grades inside the 80% range (target 75-85%);
- width: mean range width on the set's scale (Mohler 0-5, ADS 0-10);
- flagged: share of answers flagged for review (target at most 25%);
- MAE fl / unfl: mean absolute error (set's scale) of flagged and other
  answers, and their ratio (target at least 1.5);

then each review reason's share and the MAE ratio of the answers it flags.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness.bank.importer import import_questions
from harness.encoders import get_encoder
from harness.scoring.evaluation import read_graded
from harness.scoring.fitting import nested_components
from harness.scoring.heldout import HeldOutRow, held_out_rows, reason_shares, review_held_out
from harness.scoring.scorer import Scorer
from harness.scoring.training import collect

REPO = Path(__file__).resolve().parents[1]
HEADER = ("| set | embedder | r | r/q | inside 80% range | width | flagged | MAE flagged | MAE others | ratio |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(h: HeldOutRow, embedder: str) -> str:
    """One markdown table row of a set's held-out figures."""
    return (f"| {h.name} | {embedder} | {h.pearson:.3f} | {h.per_question:.3f} | {h.coverage:.1%} | {h.width:.2f} "
            f"| {h.flagged:.1%} | {h.mae_flagged:.2f} | {h.mae_unflagged:.2f} | {h.ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--embedders", nargs="+", default=["use-multilingual", "st:all-MiniLM-L6-v2"])
    parser.add_argument("--sets", nargs="+", default=["mohler_dev", "ads_dev"])
    args = parser.parse_args()
    rows, reasons = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for embedder in args.embedders:
            encoder = get_encoder(embedder, cache_dir=Path(tmp) / "cache")
            pairs = []
            for name in args.sets:
                bank = import_questions(args.eval_dir / f"{name}_questions.csv", Path(tmp) / embedder / name)
                pairs.append((Scorer(bank, encoder, None), read_graded(args.eval_dir / f"{name}_answers.csv")))
            start = time.perf_counter()
            data = collect(pairs)
            nested = nested_components(data.x, data.y, data.groups, data.real)
            reviewed = review_held_out(data, nested)
            rows += [row(h, embedder) for h in held_out_rows(data, reviewed)]
            shares = reason_shares(data, reviewed)
            reasons += [f"{embedder} {name}: " + ", ".join(f"{r} {share:.1%} (MAE ratio {ratio:.2f})"
                                                            for r, (share, ratio) in found.items())
                        for name, found in shares.items()]
            reasons.append(f"{embedder}: {time.perf_counter() - start:.0f} s (features, calibration, nested folds)")
    print(HEADER)
    print("\n".join(rows))
    print("\nReview reasons (share of answers, MAE of those over the rest):")
    print("\n".join(reasons))


if __name__ == "__main__":
    main()
