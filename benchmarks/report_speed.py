"""How long `harness report` takes on a large cohort and a long practice history.

    python benchmarks/report_speed.py [--people 500] [--attempts 2000]

Cohort: a synthetic scores.csv (see make_sample_cohort.py) of PEOPLE people x
every question of the bundled bank, read, reported and rendered in each
format, and all of it as `harness report --scores` does (load the bank, read,
build, Markdown). Candidate: ATTEMPTS synthetic attempts over the bundled bank. Prints
the best of three runs of each step and the size of each output.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from make_sample_cohort import simulate  # noqa: E402

from harness.bank.loader import load_bank  # noqa: E402
from harness.grade.schema import SCORES, read_scores, write_rows  # noqa: E402
from harness.practice.store import FRAME_COLUMNS  # noqa: E402
from harness.report.build import load_cohort  # noqa: E402
from harness.report.candidate import candidate_report  # noqa: E402
from harness.report.cohort import cohort_report, tally_scores  # noqa: E402
from harness.report.render import render  # noqa: E402
from harness.types import Bank, Evidence, PointResult, Score  # noqa: E402

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


def best(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def history(bank: Bank, attempts: int) -> pd.DataFrame:
    rng = random.Random(1)
    qids = list(bank.questions)
    rows = []
    for i in range(attempts):
        qid = rng.choice(qids)
        score = rng.uniform(0, 100)
        points = tuple(
            PointResult(
                p.id,
                p.title,
                p.text,
                p.weight,
                rng.choice(("covered", "partial", "missed")),
                0.5,
                Evidence("一个从答案里摘出的句子", 0.4, ()),
            )
            for p in bank.rubrics[qid].key_points
        )
        when = NOW - timedelta(minutes=10 * (attempts - i))
        rows.append(
            (
                i + 1,
                "bench",
                qid,
                bank.questions[qid].topic,
                "answer",
                score,
                when,
                when,
                "1",
                "use",
                "cal",
                Score(qid, score, score, points, (), 0.5, 0, (), (), "1", "use", "cal").to_dict(),
                float("nan"),
                float("nan"),
                (),
            )
        )
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--attempts", type=int, default=2000)
    args = parser.parse_args()
    bank = load_bank()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_rows(Path(tmp) / SCORES.file, SCORES, simulate(bank, args.people, seed=7))
        t_read, scores = best(lambda: read_scores(path))
        t_report, report = best(
            lambda: cohort_report(tally_scores(scores.frame, bank=bank).stats(), bank=bank, now=NOW)
        )
        print(f"cohort: {args.people} people x {len(bank.questions)} questions = {len(scores.frame)} answers")
        print(f"  read scores.csv        {t_read * 1000:8.0f} ms")
        print(f"  build report           {t_report * 1000:8.0f} ms")
        for fmt in ("md", "html", "csv"):
            t, text = best(lambda fmt=fmt: render(report, fmt))
            print(f"  render {fmt:<4}            {t * 1000:8.0f} ms  ({len(text.encode()) / 1024:,.0f} KiB)")
        t_all, _ = best(lambda: render(load_cohort(path, bank_dir=None, now=NOW), "md"))
        print(f"  all: load bank, read, build, Markdown {t_all * 1000:8.0f} ms  (`harness report --scores` "
              "less start-up)")
    frame = history(bank, args.attempts)
    t_report, report = best(lambda: candidate_report(frame, bank=bank, now=NOW))
    print(f"candidate: {args.attempts} attempts over {len(bank.questions)} questions")
    print(f"  build report           {t_report * 1000:8.0f} ms")
    for fmt in ("md", "html", "csv"):
        t, text = best(lambda fmt=fmt: render(report, fmt))
        print(f"  render {fmt:<4}            {t * 1000:8.0f} ms  ({len(text.encode()) / 1024:,.0f} KiB)")


if __name__ == "__main__":
    main()
