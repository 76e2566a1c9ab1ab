"""Score both dev sets with the shipped calibration and write (or compare) every score.

    python benchmarks/devset_scores.py --out scores.csv          # write the scores
    python benchmarks/devset_scores.py --compare scores.csv      # exit 1 if any score differs

Used to check that a refactoring changes no score: run it before, keep the
file, run it after with --compare. Each row: set, embedder, row index,
question id, score, calibrated score, point statuses, misconceptions, flags.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ("set", "embedder", "row", "question_id", "score", "calibrated", "points", "misconceptions", "flags")


def score_rows(eval_dir: Path, embedders: list[str], sets: list[str]) -> list[dict[str, str]]:
    from harness.bank.importer import import_questions
    from harness.encoders import get_encoder
    from harness.scoring.evaluation import read_graded
    from harness.scoring.scorer import Scorer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for embedder in embedders:
            encoder = get_encoder(embedder, cache_dir=Path(tmp) / "cache")
            for name in sets:
                bank = import_questions(eval_dir / f"{name}_questions.csv", Path(tmp) / embedder / name)
                graded = read_graded(eval_dir / f"{name}_answers.csv")
                scorer = Scorer.load(bank, encoder=encoder, results_dir=Path(tmp) / "none")
                scores = scorer.score_many(list(zip(graded.question_ids, graded.answers)))
                for i, s in enumerate(scores):
                    rows.append({
                        "set": name, "embedder": embedder, "row": str(i), "question_id": s.question_id,
                        "score": f"{s.score:.1f}", "calibrated": f"{s.calibrated:.1f}",
                        "points": " ".join(f"{p.point_id}={p.status}" for p in s.points),
                        "misconceptions": " ".join(m.misconception_id for m in s.misconceptions),
                        "flags": " ".join(s.flags),
                    })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--embedders", nargs="+", default=["use-multilingual"])
    parser.add_argument("--sets", nargs="+", default=["mohler_dev", "ads_dev"])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path, help="write the scores here")
    group.add_argument("--compare", type=Path, help="compare with scores written earlier")
    args = parser.parse_args()
    rows = score_rows(args.eval_dir, args.embedders, args.sets)
    if args.out:
        with args.out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"{len(rows)} scores written to {args.out}")
        return 0
    with args.compare.open(newline="", encoding="utf-8") as fh:
        before = list(csv.DictReader(fh))
    differ = [(a, b) for a, b in zip(before, rows) if a != b]
    if len(before) != len(rows) or differ:
        for a, b in differ[:10]:
            print(f"differs: {a}\n     now: {b}", file=sys.stderr)
        print(f"{len(differ)} of {len(rows)} scores differ ({len(before)} rows before)", file=sys.stderr)
        return 1
    print(f"identical: {len(rows)} scores ({', '.join(args.sets)}; {', '.join(args.embedders)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
