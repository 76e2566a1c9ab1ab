"""Grading on Dask: in-process against `--dask local:N`, and a scaling model from measured rates.

    python benchmarks/bench_dask.py [--answers 20000] [--free 3000] [--workers 2] [--driver 200000]

Everything is measured in one run, on this machine:

1. Two cohorts over the bundled bank, written as long CSVs (the generator of
   `bench_grade.py`): a *model-answer* cohort of `--answers` answers, where
   candidates reuse model answers (a few thousand distinct), and a
   *free-text* one of `--free` answers, every one distinct.
2. Each graded end to end with `grade_file`, first in this process, then on
   a `LocalCluster` of `--workers` worker processes (`--dask local:N`); the
   Dask run includes starting the cluster and each worker loading the model
   once, the in-process run loading the model once. The outputs are checked
   equal. Printed: wall-clock and CPU seconds of both (the Dask run's CPU is
   the driver's, with the scheduler, plus the workers'), and their ratios.
3. Per-worker throughput: distinct answers scored per CPU-second of the
   workers in the free-text run, less their start-up (measured apart: a
   cluster started, the scorers built, nothing graded).
4. The driver's own ceiling, with scoring taken away, per CPU-second: a
   `--driver`-row cohort graded with every result known in advance
   (reading and checking; then reading, checking, tallying and writing every
   output: rows); and the rate at which the driver and the scheduler move
   distinct answers through Dask when the workers do no work (a task that
   returns ready rows; a free-text cohort of a quarter of `--driver`).
5. From these, a table of expected answers/s for 1, 4, 16 and 64 workers,
   each worker and the driver on a core of their own, for each kind of
   cohort, and the number of workers beyond which the driver is the
   bottleneck.

Rates are per CPU-second because on a shared machine wall-clock time
measures the neighbours as much as the harness; the wall-clock ratio is
printed too, for this machine at this moment.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
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
    """One end-to-end run: wall seconds in all and grading (after loading), CPU seconds, its counts.

    `cpu` is this process's (the driver's, and a LocalCluster's scheduler's) and
    `workers_cpu` its children's: the local workers, once they have exited.
    """

    wall: float
    grading: float
    cpu: float
    workers_cpu: float
    answers: int
    scored: int
    out: Path


def cpu_seconds() -> tuple[float, float]:
    """(this process, its exited children) CPU seconds, user + system."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def grade(path: Path, bank: Bank, out: Path, dask: str | None) -> Timed:
    from harness.grade.run import grade_file

    (me, children), start = cpu_seconds(), time.perf_counter()
    run = grade_file(path, bank=bank, out=out, dask=dask)
    wall = time.perf_counter() - start
    me2, children2 = cpu_seconds()
    return Timed(wall, run.counts.seconds, me2 - me, children2 - children, run.counts.answers, run.counts.scored,
                 out)


def startup_cpu(bank: Bank, workers: int) -> float:
    """CPU seconds of the local workers starting and building their scorers, with nothing to grade."""
    from harness.grade.distributed import ScorerSpec, open_dask, parse_address
    from harness.scoring.calibration import resolve

    spec = ScorerSpec(bank, "use-multilingual", resolve("use-multilingual"))
    before = cpu_seconds()[1]
    with open_dask(parse_address(f"local:{workers}"), spec):
        pass
    return cpu_seconds()[1] - before


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
    """Rows per CPU-second: (reading and checking only, the whole run: read, tally, write every output)."""
    from harness.grade.outputs import RunFolder
    from harness.grade.run import run_grading
    from harness.grade.submissions import open_submissions

    subs = open_submissions(path, bank)
    start = time.process_time()
    n = sum(len(chunk) for chunk in subs.chunks())
    read = n / (time.process_time() - start)
    start = time.process_time()
    run = run_grading(open_submissions(path, bank), Ids(bank), folder=RunFolder(out), batches=Known(rows))  # type: ignore[arg-type]
    return read, run.counts.answers / (time.process_time() - start)


def dispatch_per_s(path: Path, bank: Bank, rows: dict[str, Graded], workers: int) -> float:
    """Distinct answers per CPU-second the driver and scheduler move through Dask when the workers do no work."""
    import logging

    import distributed

    from harness.grade.grader import grade_cohort
    from harness.grade.submissions import open_submissions
    from harness.grade.tally import CohortTally

    def ready(items: list[tuple[str, str]], table: dict[str, Graded]) -> list[Graded]:
        return [table[q] for q, _ in items]

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        [table] = client.scatter([rows], broadcast=True)

        class Null:
            window = 2 * workers
            batch_size = BATCH_SIZE

            def submit(self, items: Sequence[tuple[str, str]]) -> Any:
                return client.submit(ready, list(items), table, pure=False)

        start = time.process_time()  # the driver's threads and the scheduler's, all in this process
        counts = grade_cohort(open_submissions(path, bank), Ids(bank), tally=CohortTally(),  # type: ignore[arg-type]
                              sink=lambda rows: None, batches=Null())
        return counts.scored / (time.process_time() - start)


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
        start = startup_cpu(bank, args.workers)
        print(f"start-up of --dask local:{args.workers} (cluster, {args.workers} workers importing the harness "
              f"and loading the model): {start:.1f} CPU s", flush=True)
        for kind, path in cohorts.items():
            here = grade(path, bank, tmp / f"{kind}-here", None)
            there = grade(path, bank, tmp / f"{kind}-dask", f"local:{args.workers}")
            assert same_scores(here.out, there.out), f"{kind}: the Dask run's outputs differ"
            share[kind] = here.scored / here.answers
            scoring = there.workers_cpu - start
            print(f"{kind}: {here.answers:,} answers, {here.scored:,} distinct scored, outputs equal\n"
                  f"  in-process      {here.wall:6.1f} s ({here.grading:5.1f} s grading), {here.cpu:6.1f} CPU s\n"
                  f"  --dask local:{args.workers}  {there.wall:6.1f} s ({there.grading:5.1f} s grading), "
                  f"{there.cpu + there.workers_cpu:6.1f} CPU s (driver {there.cpu:.1f}, workers "
                  f"{there.workers_cpu:.1f} of which scoring about {scoring:.1f})\n"
                  f"  in-process / Dask: wall {here.wall / there.wall:.2f} (grading only "
                  f"{here.grading / there.grading:.2f}), CPU {here.cpu / (there.cpu + there.workers_cpu):.2f}",
                  flush=True)
            if kind == "free-text":
                per_worker = there.scored / max(scoring, 1e-9)
        print(f"per worker: {per_worker:,.0f} distinct answers per CPU-second of scoring (free-text run)", flush=True)
        rows = sample_rows(bank)
        big = tmp / "driver.csv"
        generate(big, bank, args.driver, args.seed)
        read, whole = driver_rows_per_s(big, bank, rows, tmp / "driver-run")
        print(f"driver, per CPU-second: reading and checking {read:,.0f} rows; reading, tallying and writing "
              f"every output {whole:,.0f} rows ({args.driver:,} rows, results known in advance)", flush=True)
        distinct = tmp / "distinct.csv"
        free_text(distinct, bank, args.driver // 4, args.seed)
        dispatch = dispatch_per_s(distinct, bank, rows, args.workers)
        print(f"driver + scheduler through Dask, workers idle: {dispatch:,.0f} distinct answers per CPU-second "
              f"({args.driver // 4:,} distinct answers)", flush=True)
    print_table(per_worker, share, whole, dispatch)


def print_table(per_worker: float, share: dict[str, float], driver: float, dispatch: float) -> None:
    print("\nexpected answers/s, each worker and the driver on a core of their own = min(workers x per-worker "
          "rate / distinct share, driver rows/s, dispatch rate / distinct share)")
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
