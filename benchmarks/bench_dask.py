"""Grading on Dask: in-process against `--dask local:N`, and a scaling model from measured rates.

    python benchmarks/bench_dask.py [--answers 20000] [--free 3000] [--workers 2] [--driver 200000]

Everything is measured in one run, on this machine:

1. Two cohorts over the bundled bank, written as long CSVs (the generator of
   `bench_grade.py`): a *model-answer* cohort of `--answers` answers, where
   candidates reuse model answers (a few thousand distinct), and a
   *free-text* one of `--free` answers, every one distinct.
2. Each graded end to end with `grade_file`, first in this process, then on
   a `LocalCluster` of `--workers` worker processes (`--dask local:N`); the
   Dask time includes starting the cluster and each worker loading the model
   once, the in-process time loading the model once. The outputs are
   checked equal. Printed: both times, and their ratio.
3. Per-worker throughput: distinct answers scored per second per worker in
   the free-text Dask run (grading time only).
4. The driver's own ceiling, with scoring taken away: a `--driver`-row
   cohort graded with every result known in advance (reading, checking,
   tallying and writing every output: rows/s); and the rate at which the
   driver and the scheduler move distinct answers through Dask when the
   workers do no work (a task that returns ready rows: distinct answers/s).
5. From these, a table of expected answers/s for 1, 4, 16 and 64 workers,
   for each kind of cohort, and the number of workers beyond which the
   driver is the bottleneck.

A busy machine slows both runs of a pair alike only roughly; the figures
are for orders of magnitude, the ratio for this machine at this moment.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_grade import answer_pool, generate  # noqa: E402

from harness.bank.loader import load_bank  # noqa: E402
from harness.grade.distributed import BATCH_SIZE  # noqa: E402
from harness.grade.tally import Graded  # noqa: E402
from harness.types import Bank  # noqa: E402

WORKER_COUNTS = (1, 4, 16, 64)


def free_text(path: Path, bank: Bank, n: int, seed: int) -> None:
    """A cohort whose every answer is distinct: a pool answer with a personal remark."""
    rng = random.Random(seed)
    pools = {q: answer_pool(bank, q) for q in bank.questions}
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer"])
        for i in range(-(-n // len(pools))):
            for qid, pool in pools.items():
                out.writerow([f"p{i:06d}", qid, f"{rng.choice(pool)} 我的理解是第{i}种情况。"])


@dataclass(frozen=True)
class Timed:
    """One end-to-end run: wall seconds in all, seconds grading (after loading), its counts."""

    total: float
    grading: float
    answers: int
    scored: int
    out: Path


def grade(path: Path, bank: Bank, out: Path, dask: str | None) -> Timed:
    from harness.grade.run import grade_file

    start = time.perf_counter()
    run = grade_file(path, bank=bank, out=out, dask=dask)
    return Timed(time.perf_counter() - start, run.counts.seconds, run.counts.answers, run.counts.scored, out)


def same_scores(a: Path, b: Path) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in ("scores.csv", "students.csv", "questions.csv"))


# --- the driver alone ----------------------------------------------------------------------------


class Known:
    """A BatchScorer whose results are known in advance: the driver's cost without any scoring."""

    window = 0
    batch_size = 512

    def __init__(self, rows: dict[str, Graded]) -> None:
        self.rows = rows

    def submit(self, items: Sequence[tuple[str, str]]) -> Any:
        rows = [self.rows[q] for q, _ in items]
        return type("Ready", (), {"result": lambda self: rows})()


class Ids:
    """What run_grading asks of a scorer besides batches."""

    embedder_id = "none"
    calibration_id = "none"

    def __init__(self, bank: Bank) -> None:
        self.bank = bank


def sample_rows(bank: Bank) -> dict[str, Graded]:
    """One real graded row per question (realistic cells), from the in-process scorer."""
    from harness.grade.grader import compact
    from harness.grade.run import load_scorer

    scorer = load_scorer(bank, "use-multilingual")
    items = [(q, bank.rubrics[q].references[0].primary) for q in bank.questions]
    return {q: compact(s, bank) for (q, _), s in zip(items, scorer.score_many(items))}


def driver_rows_per_s(path: Path, bank: Bank, rows: dict[str, Graded], out: Path) -> tuple[float, float]:
    """(rows/s reading and checking only, rows/s for the whole run: read, tally, write every output)."""
    from harness.grade.outputs import RunFolder
    from harness.grade.run import run_grading
    from harness.grade.submissions import open_submissions

    subs = open_submissions(path, bank)
    start = time.perf_counter()
    n = sum(len(chunk) for chunk in subs.chunks())
    read = n / (time.perf_counter() - start)
    start = time.perf_counter()
    run = run_grading(open_submissions(path, bank), Ids(bank), folder=RunFolder(out), batches=Known(rows))  # type: ignore[arg-type]
    return read, run.counts.answers / (time.perf_counter() - start)


def dispatch_per_s(path: Path, bank: Bank, rows: dict[str, Graded], workers: int) -> float:
    """Distinct answers/s the driver and scheduler move through Dask when the workers do no work."""
    import logging

    import distributed

    from harness.grade.grader import grade_cohort
    from harness.grade.submissions import open_submissions
    from harness.grade.tally import CohortTally

    def ready(items: list[tuple[str, str]], table: dict[str, Graded]) -> list[Graded]:
        return [table[q] for q, _ in items]

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        [table] = client.scatter([rows], broadcast=True)

        class Null:
            window = 2 * workers
            batch_size = BATCH_SIZE

            def submit(self, items: Sequence[tuple[str, str]]) -> Any:
                return client.submit(ready, list(items), table, pure=False)

        start = time.perf_counter()
        counts = grade_cohort(open_submissions(path, bank), Ids(bank), tally=CohortTally(),  # type: ignore[arg-type]
                              sink=lambda rows: None, batches=Null())
        return counts.scored / (time.perf_counter() - start)


# --- the model -----------------------------------------------------------------------------------


def expected(workers: int, per_worker: float, share: float, driver_rows: float, dispatch: float) -> tuple[float, str]:
    """Answers/s with `workers` workers, and what bounds it."""
    bounds = {"workers": workers * per_worker / share, "driver": driver_rows, "dispatch": dispatch / share}
    which = min(bounds, key=lambda k: bounds[k])
    return bounds[which], which


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20_000, help="model-answer cohort size")
    parser.add_argument("--free", type=int, default=3_000, help="free-text cohort size (all distinct)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--driver", type=int, default=200_000, help="cohort size for the driver's ceiling")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bank = load_bank()
    print(f"{date.today()} {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cohorts = {"model-answer": tmp / "model.csv", "free-text": tmp / "free.csv"}
        generate(cohorts["model-answer"], bank, args.answers, args.seed)
        free_text(cohorts["free-text"], bank, args.free, args.seed)
        share, per_worker = {}, 0.0
        for kind, path in cohorts.items():
            here = grade(path, bank, tmp / f"{kind}-here", None)
            there = grade(path, bank, tmp / f"{kind}-dask", f"local:{args.workers}")
            assert same_scores(here.out, there.out), f"{kind}: the Dask run's outputs differ"
            share[kind] = here.scored / here.answers
            print(f"{kind}: {here.answers:,} answers, {here.scored:,} distinct scored; in-process {here.total:.1f} s "
                  f"({here.grading:.1f} s grading), --dask local:{args.workers} {there.total:.1f} s "
                  f"({there.grading:.1f} s grading); in-process / Dask = {here.total / there.total:.2f} "
                  f"(grading only {here.grading / there.grading:.2f}); outputs equal", flush=True)
            if kind == "free-text":
                per_worker = there.scored / there.grading / args.workers
        print(f"per worker: {per_worker:,.0f} distinct answers/s (free-text run, {args.workers} workers "
              f"sharing {os.cpu_count()} cores)", flush=True)
        rows = sample_rows(bank)
        big = tmp / "driver.csv"
        generate(big, bank, args.driver, args.seed)
        read, whole = driver_rows_per_s(big, bank, rows, tmp / "driver-run")
        print(f"driver: reading and checking {read:,.0f} rows/s; reading, tallying and writing every output "
              f"{whole:,.0f} rows/s ({args.driver:,} rows, results known in advance)", flush=True)
        dispatch = dispatch_per_s(cohorts["free-text"], bank, rows, args.workers)
        print(f"driver + scheduler through Dask, workers idle: {dispatch:,.0f} distinct answers/s", flush=True)
    print_table(per_worker, share, whole, dispatch)


def print_table(per_worker: float, share: dict[str, float], driver: float, dispatch: float) -> None:
    print("\nexpected answers/s = min(workers x per-worker rate / distinct share, driver rows/s, "
          "dispatch rate / distinct share)")
    print(f"{'workers':>8} " + " ".join(f"{kind + ' (' + format(s, '.0%') + ' distinct)':>34}"
                                       for kind, s in share.items()))
    for w in WORKER_COUNTS:
        cells = []
        for s in share.values():
            rate, bound = expected(w, per_worker, s, driver, dispatch)
            cells.append(f"{rate:>24,.0f} ({bound:>8})")
        print(f"{w:>8} " + " ".join(cells))
    for kind, s in share.items():
        limit = min(driver, dispatch / s)
        print(f"{kind}: the driver is the bottleneck beyond {limit * s / per_worker:,.0f} workers "
              f"({limit:,.0f} answers/s)")


if __name__ == "__main__":
    main()
