"""How long a progress report over several grade runs takes.

    python benchmarks/bench_progress.py [--runs 3] [--answers 10000] [--repeat 3]

Writes RUNS synthetic grade runs (scores.csv as make_sample_cohort.py
simulates it, over every question of the bundled bank, the same people in
each run, plus a run.json as `harness grade` writes it), then times: reading
the runs and building the report (`report.progress.load_progress`), each
format's rendering, and the whole `harness report --scores ... --out
progress.html` command in a fresh process (start-up and imports included).
Prints the best of REPEAT runs of each, wall clock and CPU time (which a
busy machine disturbs less), and the output sizes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_sample_cohort import simulate  # noqa: E402

from harness.bank.loader import load_bank  # noqa: E402
from harness.grade.schema import SCORES, write_rows  # noqa: E402
from harness.report.progress import load_progress  # noqa: E402
from harness.report.render import render  # noqa: E402
from harness.types import Bank  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def best(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(best wall s, best CPU s of this process and its children, the last result) over `runs` calls."""
    walls, cpus, out = [], [], None
    for _ in range(runs):
        start, cpu = time.perf_counter(), _cpu()
        out = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return min(walls), min(cpus), out


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def write_run(folder: Path, bank: Bank, people: int, seed: int, finished: datetime) -> int:
    """A run folder with a simulated scores.csv and the run.json `harness grade` would write; its answers."""
    folder.mkdir(parents=True)
    rows = simulate(bank, people, seed=seed)
    write_rows(folder / SCORES.file, SCORES, rows)
    record = {
        "command": "grade", "finished": finished.isoformat(timespec="seconds"),
        "inputs": {"submissions": {"path": f"{folder.name}.csv"},
                   "bank": {"root": str(bank.root), "version": bank.version, "questions": len(bank.questions),
                            "rubric_versions": {q: r.version_id for q, r in bank.rubrics.items()}}},
        "embedder": "use-multilingual", "calibration": "shipped",
        "counts": {"answers": len(rows), "blanks": sum("blank" in r.flags for r in rows), "skipped_rows": 0},
        "problems": [], "problems_not_listed": 0,
    }
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--answers", type=int, default=10_000, help="answers per run (whole people)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bank = load_bank()
    people = -(-args.answers // len(bank.questions))
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / f"week{k + 1}" for k in range(args.runs)]
        sizes = [write_run(f, bank, people, seed=7 + k, finished=NOW + timedelta(weeks=k))
                 for k, f in enumerate(folders)]
        print(f"{args.runs} runs x {people} people x {len(bank.questions)} questions "
              f"({', '.join(f'{n:,}' for n in sizes)} answers)")
        print("  step                        wall ms   CPU ms")
        t_build, c_build, report = best(lambda: load_progress(folders, bank_dir=None, now=NOW), args.repeat)
        print(f"  read runs + build report   {t_build * 1000:8.0f} {c_build * 1000:8.0f}")
        for fmt in ("md", "html", "csv"):
            t, c, text = best(lambda fmt=fmt: render(report, fmt), args.repeat)
            print(f"  render {fmt:<4}                {t * 1000:8.0f} {c * 1000:8.0f}  "
                  f"({len(text.encode()) / 1024:,.0f} KiB)")
        out = Path(tmp) / "progress.html"
        command = [sys.executable, "-m", "harness", "report", *(a for f in folders for a in ("--scores", str(f))),
                   "--out", str(out)]

        def whole() -> None:
            out.unlink(missing_ok=True)
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)

        t_cli, c_cli, _ = best(whole, args.repeat)
        print(f"  harness report --scores x{args.runs} --out progress.html, a new process: {t_cli:.2f} s wall, "
              f"{c_cli:.2f} s CPU")


if __name__ == "__main__":
    main()
