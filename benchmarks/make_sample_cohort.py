"""Write a synthetic cohort's scores.csv, in the format `harness grade` writes, for demos.

    python benchmarks/make_sample_cohort.py --out /tmp/sample-run [--people 24] [--seed 7]

People are simulated, not graded: each has an ability, each topic and
question a difficulty, and each key point a threshold; one question is made
to discriminate negatively (weaker people do better on it) so the report has
something to flag. Names mix Chinese and English. The bank (default: the
bundled one) supplies question ids, topics, key point titles and
misconceptions, so the report finds the rubric statements.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from harness.bank.loader import load_bank  # noqa: E402
from harness.grade.outputs import SCORE_COLUMNS  # noqa: E402
from harness.types import Bank  # noqa: E402

NAMES = (
    "张伟",
    "Alice Chen",
    "王芳",
    "Bob Li",
    "李娜",
    "Carol Wang",
    "刘洋",
    "David Zhao",
    "陈静",
    "Emma Liu",
    "杨磊",
    "Frank Wu",
    "赵敏",
    "Grace Sun",
    "黄婷",
    "Henry Zhou",
    "周杰",
    "Iris Ma",
    "吴昊",
    "Jack Xu",
    "孙悦",
    "Kate Hu",
    "马超",
    "Leo Guo",
)
# scores.csv as `harness grade` writes it, less the answers themselves (rows below are positional).
HEADER = tuple(c for c in SCORE_COLUMNS if c != "answer")


def simulate(bank: Bank, people: int, seed: int) -> list[tuple[str, ...]]:
    """One scores.csv row per person and question."""
    rng = random.Random(seed)
    topic_shift = {t: rng.gauss(0, 12) for t in bank.topics}
    question_shift = {q: rng.gauss(0, 8) for q in bank.questions}
    inverted = sorted(bank.questions)[len(bank.questions) // 2]
    rows: list[tuple[str, ...]] = []
    line = 2
    for i in range(people):
        name = NAMES[i] if i < len(NAMES) else f"student-{i + 1:03d}"
        ability = rng.gauss(62, 15)
        for qid, q in bank.questions.items():
            if rng.random() < 0.03:
                rows.append(
                    (name, qid, q.topic, "0.0", "", "", "", "", "blank", "No answer given", str(line))
                )
                line += 1
                continue
            level = 124 - ability if qid == inverted else ability
            score = min(100.0, max(0.0, level + topic_shift[q.topic] + question_shift[qid] + rng.gauss(0, 9)))
            rows.append((name, qid, q.topic, f"{score:.1f}", *_points(bank, qid, score, rng), str(line)))
            line += 1
    return rows


def _points(bank: Bank, qid: str, score: float, rng: random.Random) -> tuple[str, ...]:
    covered, partial, missed = [], [], []
    rubric = bank.rubrics[qid]
    for k, p in enumerate(rubric.key_points):
        chance = 1 / (1 + math.exp(-(score - 35 - 9 * k) / 10))
        draw = rng.random()
        (covered if draw < chance else partial if draw < chance + 0.15 else missed).append(p.title)
    wrong = [m.text for m in rubric.misconceptions if score < 45 and rng.random() < 0.35]
    todo = missed + partial
    feedback = ("需补充：" + "; ".join(todo)) if todo else "要点齐全"
    return ("; ".join(covered), "; ".join(partial), "; ".join(missed), "; ".join(wrong), "", feedback)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="run folder to write scores.csv into")
    parser.add_argument("--people", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bank", type=Path, default=None)
    args = parser.parse_args()
    bank = load_bank(args.bank)
    rows = simulate(bank, args.people, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "scores.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows for {args.people} people to {path}")


if __name__ == "__main__":
    main()
