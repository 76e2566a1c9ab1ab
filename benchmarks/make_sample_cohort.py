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
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from harness.bank.loader import load_bank  # noqa: E402
from harness.grade.schema import BLANK_FLAG, SCORES, ScoreRow, point_label, write_rows  # noqa: E402
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


def simulate(bank: Bank, people: int, seed: int) -> list[ScoreRow]:
    """One scores.csv row per person and question (without the answers themselves)."""
    rng = random.Random(seed)
    topic_shift = {t: rng.gauss(0, 12) for t in bank.topics}
    question_shift = {q: rng.gauss(0, 8) for q in bank.questions}
    inverted = sorted(bank.questions)[len(bank.questions) // 2]
    rows: list[ScoreRow] = []
    line = 2
    for i in range(people):
        name = NAMES[i] if i < len(NAMES) else f"student-{i + 1:03d}"
        ability = rng.gauss(62, 15)
        for qid, q in bank.questions.items():
            if rng.random() < 0.03:
                rows.append(ScoreRow(name, qid, q.topic, 0.0, flags=(BLANK_FLAG,), feedback="No answer given",
                                     source_row=line))
                line += 1
                continue
            level = 124 - ability if qid == inverted else ability
            score = min(100.0, max(0.0, level + topic_shift[q.topic] + question_shift[qid] + rng.gauss(0, 9)))
            rows.append(_row(bank, (name, qid, q.topic, round(score, 1)), rng, source_row=line))
            line += 1
    return rows


def _row(bank: Bank, key: tuple[str, str, str, float], rng: random.Random, *, source_row: int) -> ScoreRow:
    """The row of a non-blank answer: key points covered, partly covered or missed by chance."""
    status: dict[str, list[str]] = {"covered": [], "partial": [], "missed": []}
    rubric = bank.rubrics[key[1]]
    score = key[3]
    for k, p in enumerate(rubric.key_points):
        chance = 1 / (1 + math.exp(-(score - 35 - 9 * k) / 10))
        draw = rng.random()
        status["covered" if draw < chance else "partial" if draw < chance + 0.15 else "missed"].append(p.id)
    wrong = [m for m in rubric.misconceptions if score < 45 and rng.random() < 0.35]
    title = {p.id: point_label(p) for p in rubric.key_points}
    names = {s: tuple(title[i] for i in ids) for s, ids in status.items()}
    todo = names["missed"] + names["partial"]
    return ScoreRow(
        *key, covered=names["covered"], partial=names["partial"], missed=names["missed"],
        misconceptions=tuple(m.text for m in wrong), feedback=("需补充：" + "; ".join(todo)) if todo else "要点齐全",
        source_row=source_row, covered_ids=tuple(status["covered"]), partial_ids=tuple(status["partial"]),
        missed_ids=tuple(status["missed"]), misconception_ids=tuple(m.id for m in wrong),
    )


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
    path = write_rows(args.out / SCORES.file, SCORES, rows)
    print(f"wrote {len(rows)} rows for {args.people} people to {path}")


if __name__ == "__main__":
    main()
