"""Write two weeks of a sample cohort's answers (submissions CSVs) to grade and compare, for the README.

    python benchmarks/make_sample_progress.py --out sample-progress [--people 12] [--seed 7]

Writes OUT/week1.csv and OUT/week6.csv in the long layout (student_id,
question_id, answer, class), one answer per person and question of the bank
(default: the bundled one). An answer is made of the rubric's key point
statements: a person of ability a covers about a share a of a question's
points, in the rubric's order; someone who covers none writes a wrong answer
or leaves it blank. By week 6 most people have learnt more (their ability
grows), two have fallen behind, one has left the class and one has joined,
so the progress report has improvers, decliners, a missing and a new person.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_sample_cohort import NAMES  # noqa: E402

from harness.bank.loader import load_bank  # noqa: E402
from harness.types import Bank  # noqa: E402

WRONG = ("不清楚", "就是用 CNN 提取特征然后分类", "I am not sure.")


def answer(bank: Bank, qid: str, ability: float, rng: random.Random) -> str:
    """An answer covering about `ability` of the question's key points, in the rubric's order."""
    points = [p for p in bank.rubrics[qid].key_points if p.reference in (None, 0)]
    k = max(0, min(len(points), round(ability * len(points) + rng.gauss(0, 0.8))))
    if k == 0:
        return "" if rng.random() < 0.3 else rng.choice(WRONG)
    return "".join(p.text.rstrip("。.") + "。" for p in points[:k])


def write_week(path: Path, bank: Bank, people: dict[str, float], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer", "class"])
        for name, ability in people.items():
            for qid in bank.questions:
                out.writerow([name, qid, answer(bank, qid, ability, rng), "A" if len(name) % 2 else "B"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write week1.csv and week6.csv into")
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bank", type=Path, default=None)
    args = parser.parse_args()
    bank = load_bank(args.bank)
    rng = random.Random(args.seed)
    names = list(NAMES[: args.people + 1])
    week1 = {n: min(0.9, max(0.05, rng.gauss(0.3, 0.2))) for n in names[:-1]}  # the last name joins later
    week6 = {n: min(1.0, a + rng.uniform(0.1, 0.45)) for n, a in week1.items()}
    for n in names[1:3]:  # two fall behind
        week6[n] = max(0.0, week1[n] - 0.3)
    del week6[names[3]]  # one leaves
    week6[names[-1]] = 0.5  # one joins
    args.out.mkdir(parents=True, exist_ok=True)
    write_week(args.out / "week1.csv", bank, week1, args.seed)
    write_week(args.out / "week6.csv", bank, week6, args.seed + 1)
    print(f"wrote {args.out / 'week1.csv'} ({len(week1)} people) and {args.out / 'week6.csv'} ({len(week6)} people)")


if __name__ == "__main__":
    main()
