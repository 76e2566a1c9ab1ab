"""Cohort grading benchmark: throughput against the embedder's own time, and peak memory.

    python benchmarks/bench_grade.py [--sizes 20000,200000] [--bank DIR] [--seed 7]

For each size a cohort is generated (deterministic seed) over the bank (default:
the bundled one): every person answers every question, drawing from a pool per
question of reference sentences, pairs of them, whole references, the
rubric's misconceptions and a few fixed wrong answers, each in a couple of
surface variants (punctuation, spacing), Zipf-weighted so that some answers
are very common; 3% are blank and 1% are unique (a pool answer plus a
personal remark). Each size runs in its own process, which:

1. writes the cohort as a long CSV, loads the embedder and embeds the
   rubrics into the disk cache (as any `harness grade` run after the first
   finds them, so not timed);
2. times the embedder itself (`encoder.inner.encode`, batches of 2,000) on the
   cohort's distinct non-blank answer texts, interleaved with the grading runs
   (the best run counts);
3. grades the cohort through `harness.grade.run.grade_file`, the call
   `harness grade` makes (a fresh scorer each run; stream, score, write every
   output and the report), timing it from its "grading" progress report (the
   scorer is loaded then) and measuring peak RSS during grading (VmHWM after
   resetting it through /proc/self/clear_refs).
4. with `--regrade`, regrades the first run through `harness.grade.regrade.regrade`
   (the call `harness regrade` makes: read the old scores.csv back, score
   every answer again, write a new run), timed and with its own peak RSS.
5. with `--report`, runs `harness report --scores RUN --out FILE` on the first
   run as a user would (its own process, started by a small one: wall time,
   peak RSS from wait4, file size) in md, html and csv, and with `--regrade`
   too the progress report of the run and its regrade.

The cohort recombines reference sentences, so many clauses recur across
distinct answers (as when candidates learnt the same model answer); grading
runs each recent clause through the embedder once (`--clause-memo 0` turns
that off, to see the cost without it). The figures printed say how many
clauses there were, how many distinct, and how many were reused.

Printed: answers/s, grading time / embedder time (target: at most 1.25) and
peak memory. The ratio uses CPU time of the process (all threads), which a
busy machine disturbs far less than wall-clock time; wall-clock figures are
printed too.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from harness.bank.loader import load_bank  # noqa: E402
from harness.scoring.text import split_clauses, split_sentences  # noqa: E402
from harness.types import Bank  # noqa: E402

WRONG = ("不知道", "不清楚，没学过", "就是用 CNN 提取特征然后分类", "I don't know",
         "It is trained with a GAN.", "用强化学习训练的", "pass")
BLANK_SHARE = 0.03
UNIQUE_SHARE = 0.01
EMBED_BATCH = 2000


def answer_pool(bank: Bank, qid: str) -> list[str]:
    """Distinct plausible answers to one question, most typical first."""
    rubric = bank.rubrics[qid]
    base: list[str] = []
    for ref in rubric.references:
        for text in ref.texts:
            sentences = split_sentences(text)
            base += sentences[:1] + [" ".join(sentences[:2]), text.strip()]
            base += sentences[1:] + [" ".join(sentences[i:i + 2]) for i in range(1, len(sentences) - 1)]
    base += [t for m in rubric.misconceptions for t in m.statements]
    base += list(WRONG)
    variants = []
    for text in dict.fromkeys(base):
        variants += [text, text.rstrip("。.") + "。", "  " + text.replace("，", ", ")]
    return list(dict.fromkeys(v for v in variants if v.strip()))


def generate(path: Path, bank: Bank, n: int, seed: int) -> None:
    """Write a long-layout cohort of at least `n` answers (whole people)."""
    rng = random.Random(seed)
    pools = {q: answer_pool(bank, q) for q in bank.questions}
    weights = {q: [1.0 / (i + 1) for i in range(len(p))] for q, p in pools.items()}
    people = -(-n // len(pools))
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer", "group"])
        for i in range(people):
            for qid, pool in pools.items():
                draw = rng.random()
                if draw < BLANK_SHARE:
                    answer = ""
                else:
                    answer = rng.choices(pool, weights[qid])[0]
                    if draw > 1 - UNIQUE_SHARE:
                        answer += f" 另外，我在第 {i} 次练习里也提到过这一点。"
                out.writerow([f"p{i:06d}", qid, answer, f"g{i % 12}"])


def _status(field: str) -> int:
    """A VmXXX figure of this process, in bytes (0 off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def embed_time(encoder: Any, texts: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of embedding `texts` in batches."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), EMBED_BATCH):
        encoder.encode(texts[i:i + EMBED_BATCH])
    return time.perf_counter() - wall, time.process_time() - cpu


class EmbedClock:
    """Wraps the backend's encode methods on one instance, adding up the CPU seconds spent in them."""

    def __init__(self, backend: Any) -> None:
        self.cpu = 0.0
        self.backend = backend
        for name in ("encode", "encode_grouped"):
            method = getattr(backend, name, None)
            if callable(method):
                setattr(backend, name, self._timed(method))

    def remove(self) -> None:
        for name in ("encode", "encode_grouped"):
            vars(self.backend).pop(name, None)

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kw: Any) -> Any:
            start = time.process_time()
            try:
                return method(*args, **kw)
            finally:
                self.cpu += time.process_time() - start
        return timed


def grade_once(path: Path, bank: Any, encoder: Any, out: Path, *, chunk_size: int,
               clock: EmbedClock) -> dict[str, Any]:
    """Grade `path` with `grade_file`, as `harness grade` does; time it from the moment grading starts."""
    from harness.grade.run import grade_file

    marks: dict[str, Any] = {}

    def progress(p: Any) -> None:
        if p.stage == "grading" and "wall" not in marks:  # the scorer is loaded: grading starts now
            marks.update(wall=time.perf_counter(), cpu=time.process_time(), embed=clock.cpu,
                         rss=_status("VmRSS"), peak_ok=_reset_peak())

    run = grade_file(path, bank=bank, embedder=encoder, out=out, chunk_size=chunk_size, progress=progress)
    grade_s, grade_cpu = time.perf_counter() - marks["wall"], time.process_time() - marks["cpu"]
    with (out / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return {"grade_s": grade_s, "grade_cpu": grade_cpu, "grade_embed_cpu": clock.cpu - marks["embed"],
            "baseline_rss": marks["rss"], "peak_rss": _status("VmHWM") if marks["peak_ok"] else 0, "rows": rows,
            "counts": run.counts}


def regrade_once(run: Path, bank: Any, encoder: Any, out: Path, *, chunk_size: int) -> dict[str, Any]:
    """Regrade the run in `run` as `harness regrade` does (scorer built first, not timed): seconds and peak RSS."""
    from harness.encoders.reuse import ReusingEncoder
    from harness.grade.regrade import regrade
    from harness.grade.run import load_scorer

    scorer = load_scorer(bank, ReusingEncoder(encoder))
    peak_ok, wall = _reset_peak(), time.perf_counter()
    regrade(run, bank=bank, scorer=scorer, out=out, chunk_size=chunk_size)
    return {"regrade_s": time.perf_counter() - wall, "regrade_peak_rss": _status("VmHWM") if peak_ok else 0}


# Run a command and print its wall time and peak RSS. A child forked from the benchmark's own large process
# would report that process's RSS as its peak (Linux keeps it across exec), so a small process starts it.
_TIMED = """import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "s": time.perf_counter() - start,
                  "maxrss_kb": usage.ru_maxrss, "stderr": child.stderr.read().decode()}))
"""


def report_runs(runs: list[Path], out: Path) -> list[dict[str, Any]]:
    """`harness report --scores RUN... --out FILE`, each in its own process: format, seconds, peak RSS, bytes."""
    out.mkdir(exist_ok=True)
    jobs = [(runs[:1], fmt) for fmt in ("md", "html", "csv")] + ([(runs[:2], "md")] if len(runs) > 1 else [])
    found = []
    for scores, fmt in jobs:
        target = out / f"report-{len(scores)}.{fmt}"
        cmd = [sys.executable, "-m", "harness", "report", *(a for r in scores for a in ("--scores", str(r))),
               "--out", str(target)]
        done = subprocess.run([sys.executable, "-c", _TIMED, *cmd], check=True, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1])
        timed = json.loads(done.stdout)
        if timed["code"]:
            raise RuntimeError(f"{' '.join(cmd)}: {timed['stderr']}")
        found.append({"runs": len(scores), "format": fmt, "s": timed["s"], "peak_rss": timed["maxrss_kb"] * 1024,
                      "bytes": target.stat().st_size})
    return found


def measure(size: int, bank_dir: Path | None, seed: int, chunk_size: int, repeat: int,
            clause_memo: int | None, regrade: bool = False, report: bool = False) -> dict[str, Any]:
    from harness.encoders import get_encoder
    from harness.encoders.reuse import ReusingEncoder
    from harness.grade.run import load_scorer

    bank = load_bank(bank_dir)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.csv"
        generate(path, bank, size, seed)
        with path.open(encoding="utf-8", newline="") as fh:
            texts = sorted({r["answer"].strip() for r in csv.DictReader(fh) if r["answer"].strip()})
        clauses = [c for t in texts for c in (split_clauses(t) or [t])]
        encoder = get_encoder("use-multilingual", cache_dir=Path(tmp) / "cache")
        encoder.warm_up()
        # Embed the rubrics once into the disk cache, as any `harness grade` run after the first finds them.
        load_scorer(bank, encoder).rubric_vectors(list(bank.questions))
        embeds, grades = [], []
        for i in range(repeat):  # interleaved, so a busy spell on the machine hits both alike
            embeds.append(embed_time(encoder.inner, texts))
            # A fresh scorer per run, as `harness grade` builds it: nothing remembered from the last run
            # but the rubric vectors' disk cache.
            reusing = ReusingEncoder(encoder, max_clauses=clause_memo)
            clock = EmbedClock(encoder.inner)
            grades.append(grade_once(path, bank, reusing, Path(tmp) / f"run{i}", chunk_size=chunk_size,
                                     clock=clock))
            grades[-1]["clauses_reused"] = reusing.clauses_reused
            clock.remove()
        again = regrade_once(Path(tmp) / "run0", bank, encoder, Path(tmp) / "regraded",
                             chunk_size=chunk_size) if regrade else {}
        if report:
            runs = [Path(tmp) / "run0", *([Path(tmp) / "regraded"] if regrade else [])]
            again["reports"] = report_runs(runs, Path(tmp) / "reports")
    best = min(grades, key=lambda g: g["grade_cpu"])
    counts = best.pop("counts")
    return {
        "size": size, "answers": counts.answers, "rows_written": best["rows"], "people": counts.people,
        "blanks": counts.blanks, "distinct_scored": counts.scored, "distinct_texts": len(texts),
        "clauses": len(clauses), "distinct_clauses": len(set(clauses)),
        **best, "grade_s": min(g["grade_s"] for g in grades),
        "peak_rss": max(g["peak_rss"] for g in grades),
        "embed_s": min(e[0] for e in embeds), "embed_cpu": min(e[1] for e in embeds), **again,
    }


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000", help="comma-separated cohort sizes (answers)")
    parser.add_argument("--bank", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best counts")
    parser.add_argument("--clause-memo", type=int, default=None,
                        help="clauses whose sums grading keeps (default: as `harness grade`; 0: none)")
    parser.add_argument("--regrade", action="store_true",
                        help="also regrade the first run (`harness regrade`): its time and peak RSS")
    parser.add_argument("--report", action="store_true",
                        help="also run `harness report` on the first run (md, html, csv; with --regrade the "
                        "progress report too): time, peak RSS, file size")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.bank, args.seed, args.chunk_size, args.repeat,
                                 args.clause_memo, args.regrade, args.report)))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed),
               "--chunk-size", str(args.chunk_size), "--repeat", str(args.repeat)]
        cmd += ["--clause-memo", str(args.clause_memo)] if args.clause_memo is not None else []
        cmd += ["--bank", str(args.bank)] if args.bank else []
        cmd += ["--regrade"] if args.regrade else []
        cmd += ["--report"] if args.report else []
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = results[-1]
        assert r["rows_written"] == r["answers"], r
        print(f"{r['size']:>7,} answers ({r['people']:,} people, {r['blanks']:,} blank): graded in "
              f"{r['grade_s']:.1f} s = {r['answers'] / r['grade_s']:,.0f} answers/s; "
              f"{r['distinct_scored']:,} distinct (question, answer) pairs scored, "
              f"{r['distinct_texts']:,} distinct answer texts holding {r['clauses']:,} clauses "
              f"({r['distinct_clauses']:,} distinct; sums reused from the clause memo: "
              f"{r['clauses_reused']:,})", flush=True)
    print()
    header = (f"{'answers':>8} {'grading s':>9} {'(embedding':>10} {'other)':>7} {'answers/s':>9} "
              f"{'embedder s':>10} {'ratio':>6} {'wall ratio':>10} {'RSS before':>10} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        other = r["grade_cpu"] - r["grade_embed_cpu"]
        print(f"{r['answers']:>8,} {r['grade_cpu']:9.1f} {r['grade_embed_cpu']:10.1f} {other:7.1f} "
              f"{r['answers'] / r['grade_s']:9,.0f} {r['embed_cpu']:10.1f} "
              f"{r['grade_cpu'] / r['embed_cpu']:6.2f} {r['grade_s'] / r['embed_s']:10.2f} "
              f"{_mb(r['baseline_rss']):>10} {_mb(r['peak_rss']):>9}")
    print("\ngrading: `grade_file` over the whole cohort (read, score, write every output), split into "
          "the time inside the embedder and the rest (features, reading, writing); embedder: "
          "`encoder.inner.encode` on the cohort's distinct answer texts; ratio = grading / embedder "
          "(target <= 1.25). CPU seconds of the process, best of --repeat interleaved runs, unless "
          "marked wall; answers/s is wall-clock.")
    for r in results:
        if "regrade_s" in r:
            print(f"regrade of the {r['answers']:,}-answer run (`harness regrade`): {r['regrade_s']:.1f} s wall, "
                  f"peak RSS {_mb(r['regrade_peak_rss'])} (grading it: {_mb(r['peak_rss'])})")
        for rep in r.get("reports", ()):
            what = "report --scores RUN" if rep["runs"] == 1 else "progress report of RUN and its regrade"
            print(f"{what} of the {r['answers']:,}-answer run, {rep['format']}: {rep['s']:.1f} s wall, "
                  f"peak RSS {_mb(rep['peak_rss'])}, {rep['bytes'] / 2**20:,.1f} MB written")


if __name__ == "__main__":
    main()
