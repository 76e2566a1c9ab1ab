"""Benchmark `harness answer`: time to first question, time from submit to score.

Drives the real command in a pseudo-terminal (pexpect), as a user would, on
the default embedder (use-multilingual). Uses a temporary embedding cache
and results folder, so it never touches yours.

    python benchmarks/bench_answer.py [--bank DIR] [--runs 3]

Figures:
- time to first question: process start until the first question is drawn
  (the embedder keeps loading in the background);
- submit to score, first answer: submitted at once, so it includes waiting
  for the embedder to finish loading;
- submit to score, later answers: the scorer is loaded, as on every answer
  after the first (this is the "within a second" figure); each is sent
  `--think` seconds after its question appears (the question's rubric is
  embedded in the background meanwhile, which matters on a cold cache);
- in-process `Session.submit` (score + store + compare), median and p95.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[1]
TITLE = re.compile(r"([a-z0-9-]+) · ([a-z0-9-]+) · (?:easy|medium|hard)")
SCORE = re.compile(r"Score (?:\x1b\[[0-9;]*m)*(\d+)/100")
SUBMIT = "\x1b\r"  # Esc then Enter
ANSWERS = [
    "CLIP 用对比学习把图像和文本映射到同一个嵌入空间，匹配的图文对靠近、不匹配的远离，"
    "训练后可以直接做零样本分类。",
    "ViT 把图像切成固定大小的 patch，每个 patch 展平后线性投影成 token，"
    "加上位置编码和 CLS token 后送入 Transformer。",
    "BLIP 用一个多模态混合编码器-解码器统一理解和生成任务，并用 CapFilt 过滤和生成网页图文对的标注。",
    "位置编码给 Transformer 提供 token 的顺序信息，可以是绝对位置编码，也可以是相对位置编码。",
]


def spawn(bank: Path | None, results: Path, cache: Path) -> pexpect.spawn:
    env = {**os.environ, "HARNESS_CACHE": str(cache), "HARNESS_USER": "bench", "TERM": "xterm",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    args = ["-m", "harness", "answer", "--results", str(results)]
    if bank:
        args += ["--bank", str(bank)]
    return pexpect.spawn(sys.executable, args, env=env, cwd=str(REPO), encoding="utf-8",
                         dimensions=(50, 140), timeout=180)


def one_run(bank: Path | None, cache: Path, answers: int, think: float) -> tuple[float, float, list[float]]:
    """(time to first question, first submit to score, later submits to score)."""
    with tempfile.TemporaryDirectory() as results:
        t0 = time.perf_counter()
        child = spawn(bank, Path(results), cache)
        child.expect(TITLE)
        child.expect("›")
        first_question = time.perf_counter() - t0
        latencies = []
        for i in range(answers):
            if i:
                time.sleep(think)  # reading and writing time (the first answer is sent at once)
            child.send(ANSWERS[i % len(ANSWERS)])
            t1 = time.perf_counter()
            child.send(SUBMIT)
            child.expect(SCORE)
            latencies.append(time.perf_counter() - t1)
            child.expect(TITLE)
            child.expect("›")
        child.send(":quit" + SUBMIT)
        child.expect(pexpect.EOF)
        child.close()
        return first_question, latencies[0], latencies[1:]


def in_process(bank_dir: Path | None, cache: Path, n: int) -> list[float]:
    """Latency of Session.submit with a loaded scorer, over n answers."""
    os.environ["HARNESS_CACHE"] = str(cache)
    from harness.bank.loader import load_bank
    from harness.practice import session as practice
    from harness.practice import store
    from harness.scoring.scorer import Scorer

    bank = load_bank(bank_dir)
    scorer = Scorer.load(bank)
    scorer.warm_up()
    questions = list(bank.questions.values())
    scorer.rubric_vectors([q.id for q in questions])
    conn = store.connect(":memory:")
    session = practice.Session(conn, bank, lambda: scorer, user="bench")
    out = []
    for i in range(n):
        q = questions[i % len(questions)]
        t = time.perf_counter()
        session.submit(q, ANSWERS[i % len(ANSWERS)] + f"（第 {i} 次）", started_at=datetime.now(timezone.utc))
        out.append(time.perf_counter() - t)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, default=None, help="bank folder (default: the bundled bank)")
    parser.add_argument("--runs", type=int, default=3, help="terminal sessions to time (after a cold one)")
    parser.add_argument("--answers", type=int, default=4, help="answers per session")
    parser.add_argument("--think", type=float, default=3.0,
                        help="seconds between a question appearing and its submit (after the first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        cold = one_run(args.bank, cache, args.answers, args.think)
        warm = [one_run(args.bank, cache, args.answers, args.think) for _ in range(args.runs)]
        submits = in_process(args.bank, cache, 30)
    later = [x for _, _, xs in warm for x in xs]
    print(f"harness answer, default embedder (use-multilingual), {os.cpu_count()} CPUs, "
          f"{args.runs} warm sessions + 1 cold")
    print(f"  time to first question, cold cache : {cold[0]:.2f} s")
    print(f"  time to first question, median     : {statistics.median(w[0] for w in warm):.2f} s")
    print(f"  submit to score, first answer at once (waits for the embedder): "
          f"{statistics.median(w[1] for w in warm):.2f} s (cold cache {cold[1]:.2f} s)")
    print(f"  submit to score, later answers ({args.think:g} s to write each): "
          f"median {statistics.median(later):.3f} s, max {max(later):.3f} s (n={len(later)}); "
          f"cold cache: median {statistics.median(cold[2]):.3f} s, max {max(cold[2]):.3f} s")
    p95 = sorted(submits)[int(0.95 * len(submits))]
    print(f"  Session.submit in process (score + store + compare): median "
          f"{statistics.median(submits) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
