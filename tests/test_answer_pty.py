"""`harness answer` in a real pseudo-terminal (pexpect), as a user drives it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness.bank.loader import load_bank
from harness.practice import scheduler, store

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BANK_DIR = Path(__file__).parent / "data" / "answer"
START = datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc)
SUBMIT = "\x1b\r"  # Esc then Enter
TITLE = re.compile(r"([a-z0-9-]+) · ([a-z0-9-]+) · (?:easy|medium|hard)")
SCORE = re.compile(r"Score (?:\x1b\[[0-9;]*m)*(\d+)/100")
ANSWERS = [
    "今天天气不错。",
    "CLIP 用对比学习把图像和文本映射到同一个嵌入空间，\r"
    "匹配的图文对靠近、不匹配的远离，训练后可以做零样本分类。",
    "ViT 把图像切成固定大小的 patch，\r每个 patch 展平后线性投影成 token，加上位置编码后送入 Transformer。",
]


def spawn(results: Path, now: datetime) -> pexpect.spawn:
    env = {**os.environ, "HARNESS_USER": "alice", "HARNESS_NOW": now.isoformat(), "TERM": "xterm",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "harness", "answer", "--bank", str(BANK_DIR), "--results",
                                           str(results)], env=env, cwd=str(REPO), encoding="utf-8",
                          dimensions=(50, 120), timeout=120)
    return child


def question_id(child: pexpect.spawn) -> str:
    child.expect(TITLE)
    qid = child.match.group(1)
    child.expect("›")
    return str(qid)


def attempts(results: Path) -> list[store.StoredAttempt]:
    conn = store.connect(store.db_path(results))
    try:
        return store.attempts(conn, user="alice")
    finally:
        conn.close()


def test_three_answers_quit_restart_history_and_due_question(tmp_path: Path) -> None:
    results = tmp_path / "results"
    child = spawn(results, START)
    asked = []
    for i, text in enumerate(ANSWERS):
        asked.append(question_id(child))
        if i == 0:
            child.send(":hint" + SUBMIT)
            child.expect("Hint: what a full answer covers")
            child.expect("›")
        child.send(text)
        child.send(SUBMIT)
        child.expect(SCORE)
    child.expect("›")
    child.send(":quit" + SUBMIT)
    child.expect("3 answers saved for alice")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(set(asked)) == 3

    history = subprocess.run([sys.executable, "-m", "harness", "history", "--results", str(results), "--user",
                              "alice", "--attempts"], capture_output=True, text=True, encoding="utf-8",
                             cwd=REPO, timeout=120, env={**os.environ, "COLUMNS": "120"})
    assert history.returncode == 0, history.stderr
    assert "alice: 3 attempts" in history.stdout
    for qid in asked:
        assert qid in history.stdout

    later = START + timedelta(days=3)
    stored = attempts(results)
    assert [a.question_id for a in stored] == asked
    expected = scheduler.next_question(
        list(load_bank(BANK_DIR).questions.values()),
        [scheduler.Review(a.question_id, a.topic, a.submitted_at, a.score) for a in stored], later)
    assert expected is not None and expected.reason == "due"
    child = spawn(results, later)
    assert question_id(child) == expected.question.id
    assert "due for review" in child.before
    child.sendcontrol("c")
    child.expect("Aborted!")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert len(attempts(results)) == 3


def test_kill_9_mid_attempt_loses_nothing_saved(tmp_path: Path) -> None:
    results = tmp_path / "results"
    child = spawn(results, START)
    question_id(child)
    child.send(ANSWERS[1])
    child.send(SUBMIT)
    child.expect(SCORE)
    question_id(child)
    child.send("写到一半的答案，还没有提交")
    child.kill(signal.SIGKILL)
    child.close(force=True)
    assert child.signalstatus == signal.SIGKILL
    conn = store.connect(store.db_path(results))
    try:
        assert store.integrity_check(conn) == "ok"
        (row,) = store.attempts(conn, user="alice")
        assert row.answer == ANSWERS[1].replace("\r", "\n")
    finally:
        conn.close()


def test_commands_act_on_enter_and_never_reach_the_answer(tmp_path: Path) -> None:
    results = tmp_path / "results"
    child = spawn(results, START)
    first = question_id(child)
    child.send(":skip\r")  # Enter alone: no Esc, no Ctrl-D
    child.expect("Skipped.")
    second = question_id(child)
    assert second != first
    child.send("ViT 把图像切成 patch，\r:hint\r")  # the hint shows, the text written so far stays
    child.expect("Hint: what a full answer covers")
    child.expect("›")
    child.send("每个 patch 线性投影成 token。")
    child.send(SUBMIT)
    child.expect(SCORE)
    question_id(child)
    child.send("写了一半\r:quit\r")
    child.expect("1 answer saved for alice")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    (row,) = attempts(results)
    assert row.question_id == second
    assert row.answer == "ViT 把图像切成 patch，\n每个 patch 线性投影成 token。"
