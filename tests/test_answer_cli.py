from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from practice_helpers import PIPED
from rich.console import Console

from harness.cli import cli, main
from harness.cli.answer_cmd import feedback_view
from harness.practice import store
from harness.practice.session import Comparison, Feedback
from harness.types import Evidence, MisconceptionHit, PointResult, Question, Score

REPO = Path(__file__).resolve().parents[1]
BANK_DIR = Path(__file__).parent / "data" / "answer"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)



def make_score(qid: str, value: float, *, calibration: str = "cal-1", rubric: str = "1+aaa") -> Score:
    points = (
        PointResult("p1", "学习目标", "……", 2.0, "covered", 1.0,
                    Evidence("用对比学习把图文映射到同一空间", 0.8, ())),
        PointResult("p2", "零样本", "……", 1.0, "partial", 0.5, Evidence("可以分类", 0.5, ())),
        PointResult("p3", "训练数据", "……", 1.0, "missed", 0.0, Evidence("", 0.1, ())),
    )
    hit = MisconceptionHit("m1", "CLIP 是生成模型", 10.0, "CLIP 不生成文本",
                           Evidence("它能生成描述", 0.7, ()))
    return Score(qid, value, value, points, (hit,), 0.5, 0, (), (), rubric, "use-multilingual", calibration)


def run_harness(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=REPO, timeout=300)


def test_feedback_view_renders_chinese() -> None:
    q = Question("clip-idea", "clip", "easy", "CLIP 的基本思想是什么？", "What is CLIP?")
    comparison = Comparison(72, (60,), (60, 70), True)
    fb = Feedback(7, q, make_score("clip-idea", 72), comparison, "参考答案：对比学习。")
    out = StringIO()
    Console(file=out, width=80, color_system=None).print(feedback_view(fb))
    text = out.getvalue()
    for expected in ("Score 72/100", "学习目标", "✓ covered", "~ partly", "✗ missed",
                     "用对比学习把图文映射到同一空间", "Misconception: CLIP 是生成模型 (−10)",
                     "you wrote: 它能生成描述", "correction: CLIP 不生成文本",
                     "参考答案：对比学习。", "Question: +12 on your last attempt (60)"):
        assert expected in text, expected
    assert "likely" not in text and "second look" not in text  # no interval, nothing to review
    unsure = replace(fb, score=replace(fb.score, score_low=60.0, score_high=81.0, review=("wide-interval",)))
    out = StringIO()
    Console(file=out, width=100, color_system=None).print(feedback_view(unsure))
    assert "Score 72/100, likely 60-81" in out.getvalue()
    assert "Worth a second look: the scorer is unsure about this answer" in out.getvalue()


@pytest.mark.slow
def test_pipe_mode_end_to_end_is_deterministic(tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ("answer", "--bank", str(BANK_DIR), "--results", str(results), "--user", "alice", "--json")
    first = run_harness(*args, stdin=PIPED)
    assert first.returncode == 0, first.stderr
    lines = [json.loads(x) for x in first.stdout.splitlines()]
    assert [x["question_id"] for x in lines[:2]] == ["clip-idea", "vit-patch"]
    assert len(lines) == 3  # blip-idea skipped; the last answer took the scheduler's next question
    assert lines[2]["question_id"] != "blip-idea"
    assert all(0 <= x["score"] <= 100 for x in lines)
    assert all(x["score_low"] <= x["score"] <= x["score_high"] and isinstance(x["review"], list) for x in lines)
    assert all((x["explanation"]["score_low"], x["explanation"]["score_high"]) == (x["score_low"], x["score_high"])
               for x in lines)
    second = run_harness(*args, stdin=PIPED)
    assert second.returncode == 0, second.stderr
    again = [json.loads(x) for x in second.stdout.splitlines()]
    assert [x["question_id"] for x in again[:2]] == ["clip-idea", "vit-patch"]
    for a, b in zip(lines[:2], again[:2], strict=True):
        assert a["score"] == b["score"] and a["explanation"] == b["explanation"]
    assert again[0]["comparison"][0].startswith("Question: level on your last attempt")
    conn = store.connect(store.db_path(results))
    assert len(store.attempts(conn, user="alice")) == 6
    conn.close()
    report = run_harness("answer", "--bank", str(BANK_DIR), "--results", str(results), "--user", "bob",
                         stdin="@clip-idea\nCLIP 用对比学习。\n")
    assert report.returncode == 0, report.stderr
    assert "clip-idea · clip · easy" in report.stdout and "Score " in report.stdout
    assert f"1 answer saved for bob in {results / 'history.sqlite'}" in report.stdout


def test_answer_errors_are_plain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["answer", "--bank", str(BANK_DIR), "--results", str(tmp_path), "--topic", "clipp"])
    assert exc.value.code == 1
    assert capsys.readouterr().err == (
        "Error: unknown topic 'clipp'; the bank's topics are: blip, clip, vit\n")
    (tmp_path / "history.sqlite").write_bytes(b"garbage" * 200)
    with pytest.raises(SystemExit):
        main(["history", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {tmp_path / 'history.sqlite'}: the history database is damaged")
    assert (tmp_path / "history.sqlite").read_bytes() == b"garbage" * 200


def test_pipe_input_must_be_utf8(tmp_path: Path) -> None:
    gbk = "@clip-idea\n对比学习\n".encode("gbk")
    result = subprocess.run([sys.executable, "-m", "harness", "answer", "--bank", str(BANK_DIR), "--results",
                             str(tmp_path)], input=gbk, capture_output=True, cwd=REPO, timeout=300)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "Error: standard input: line 2: not UTF-8 text (byte 11); save the answers as UTF-8\n")


def seed(results: Path) -> None:
    conn = store.connect(store.db_path(results))
    rows = []
    for i, (qid, topic, value) in enumerate([("clip-idea", "clip", 40), ("clip-architecture", "clip", 60),
                                             ("vit-patch", "vit", 30), ("clip-idea", "clip", 80)]):
        at = T0 + timedelta(days=i)
        rows.append((store.NewAttempt("alice", qid, topic, f"=答案 {i}", at - timedelta(minutes=2), at),
                     make_score(qid, value)))
    store.record(conn, rows)
    conn.close()


def test_history_summary(tmp_path: Path) -> None:
    seed(tmp_path)
    result = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "alice"],
                                catch_exceptions=False, terminal_width=100)
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("alice: 4 attempts, 2030-01-01 to 2030-01-04 (UTC)")
    assert "│ clip  │        3 │    40 │     80 │   80 │     60 │ ▄▅▇   │ S1" in out
    assert "│ vit   │        1 │    30 │     30 │   30 │     30 │ ▃     │ S1" in out
    assert "S1 = embedder use-multilingual, calibration cal-1" in out
    assert "Every attempt" not in out
    listed = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "alice",
                                      "--question", "clip-idea"], catch_exceptions=False, terminal_width=100)
    assert "Every attempt" in listed.output and "vit" not in listed.output
    assert "2030-01-04 09:00" in listed.output


def test_history_empty(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "zoe"],
                                catch_exceptions=False)
    assert result.output == f"No attempts by zoe yet in {tmp_path / 'history.sqlite'}. Run harness answer to start.\n"


def test_history_csv_and_plot(tmp_path: Path) -> None:
    seed(tmp_path)
    conn = store.connect(store.db_path(tmp_path))
    at = T0 + timedelta(days=9)
    ranged = replace(make_score("vit-patch", 70), score_low=55.0, score_high=88.5, review=("wide-interval",))
    store.record(conn, [(store.NewAttempt("alice", "vit-patch", "vit", "答案", at - timedelta(minutes=2), at), ranged)])
    conn.close()
    csv_path, png = tmp_path / "a.csv", tmp_path / "a.png"
    result = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "alice", "--csv",
                                      str(csv_path), "--plot", str(png)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfattempt_id,user,question_id,topic,started_at,submitted_at,score,"
                          b"score_low,score_high,review,")
    lines = raw.decode("utf-8-sig").splitlines()
    assert len(lines) == 6
    assert lines[1].endswith(",40.0,,,,1+aaa,use-multilingual,cal-1,'=答案 0")  # no range stored; formula neutralised
    assert ",70.0,55.0,88.5,wide-interval,1+aaa," in lines[5]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class RescoreScorer:
    embedder_id = "use-multilingual"
    calibration_id = "cal-2"

    def score_many(self, items: list[tuple[str, str]]) -> list[Score]:
        return [make_score(q, 55.0, calibration="cal-2", rubric=self.rubric(q)) for q, _ in items]

    def rubric_vectors(self, question_ids: list[str]) -> None:
        pass

    @staticmethod
    def rubric(qid: str) -> str:
        from harness.bank.loader import load_bank

        return load_bank(BANK_DIR).rubrics[qid].version_id


def test_rescore_keeps_old_scores_and_history_marks_versions(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.scoring import scorer as scorer_mod

    seed(tmp_path)
    monkeypatch.setattr(scorer_mod.Scorer, "load", classmethod(lambda cls, bank, **kw: RescoreScorer()))
    args = ["--results", str(tmp_path), "--user", "alice"]
    # one attempt first, so history shows a mix of versions
    conn = store.connect(store.db_path(tmp_path))
    store.add_scores(conn, [(1, RescoreScorer().score_many([("clip-idea", "")])[0])])
    conn.close()
    mixed = CliRunner().invoke(cli, ["history", *args], catch_exceptions=False, terminal_width=100)
    assert "S1,S2" in mixed.output and "run `harness rescore`" in mixed.output
    result = CliRunner().invoke(cli, ["rescore", "--bank", str(BANK_DIR), *args], catch_exceptions=False,
                                env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Re-scored 3 attempts with embedder use-multilingual, calibration cal-2; 1 already up to date.",
        "Average change: -1.7 points. Old scores are kept in the history database.",
    ]
    conn = store.connect(store.db_path(tmp_path))
    assert [a.score for a in store.attempts(conn, user="alice")] == [55.0] * 4
    assert [s[0] for s in store.score_history(conn, 2)] == [60.0, 55.0]
    conn.close()
    after = CliRunner().invoke(cli, ["history", *args], catch_exceptions=False, terminal_width=100)
    assert "S1 = embedder use-multilingual, calibration cal-2" in after.output
    assert "S2" not in after.output
    again = CliRunner().invoke(cli, ["rescore", "--bank", str(BANK_DIR), *args], catch_exceptions=False)
    assert "Re-scored 0 attempts" in again.output


def test_help_texts() -> None:
    for name in ("answer", "history", "rescore"):
        result = CliRunner().invoke(cli, [name, "--help"], catch_exceptions=False)
        assert result.exit_code == 0 and "--results" in result.output


def test_wal_database_readable_by_plain_sqlite(tmp_path: Path) -> None:
    seed(tmp_path)
    raw = sqlite3.connect(store.db_path(tmp_path))
    assert raw.execute("SELECT count(*) FROM attempts").fetchone()[0] == 4
    raw.close()


def test_piped_bad_ids_stop_before_anything_loads_or_is_stored(tmp_path: Path) -> None:
    from harness.scoring import calibration_choice

    mine = calibration_choice.user_path(tmp_path, "st:all-MiniLM-L6-v2")
    mine.parent.mkdir(parents=True)
    mine.write_bytes(calibration_choice.shipped_path("st:all-MiniLM-L6-v2").read_bytes())
    result = run_harness("answer", "--bank", str(BANK_DIR), "--results", str(tmp_path), "--user", "alice",
                         "--embedder", "st:all-MiniLM-L6-v2", stdin="@clip-idea\n答案\n---\n@clip-idae\n答案\n")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Warning: st:all-MiniLM-L6-v2 reads English only (it maps most Chinese characters to [UNK]) and this "
        "bank is written mostly in Chinese, so its scores mean little; use --embedder use-multilingual.",
        f"Note: scoring with your calibration {mine} (made by `harness calibrate`); `harness calibrate --reset "
        "--embedder st:all-MiniLM-L6-v2` goes back to the shipped one.",
        "Error: standard input: line 4: unknown question id 'clip-idae'; did you mean clip-idea, blip-idea, "
        "clip-architecture?",
        "Nothing was scored or saved. Fix the ids (`harness bank list` shows them all), or pass --skip-unknown to "
        "score the other answers.",
    ]
    conn = store.connect(store.db_path(tmp_path))
    assert store.attempts(conn) == []
    conn.close()


def test_piped_skip_unknown_scores_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from practice_helpers import FakeScorer

    from harness.practice import launch

    monkeypatch.setattr(launch, "load_scorer", lambda bank, **kw: FakeScorer())
    result = CliRunner().invoke(cli, ["answer", "--bank", str(BANK_DIR), "--results", str(tmp_path), "--user", "al",
                                      "--json", "--skip-unknown"], input="@clip-idae\n答案\n---\n@vit-patch\n答案\n",
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert [json.loads(line)["question_id"] for line in result.stdout.splitlines()] == ["vit-patch"]
    assert result.stderr.startswith("Skipped the answer at line 1: unknown question id 'clip-idae'")


def test_language_warning_only_for_an_english_embedder_on_a_chinese_bank(tmp_path: Path) -> None:
    from harness.bank.importer import import_questions
    from harness.bank.loader import load_bank
    from harness.cli.options import language_warning

    chinese = load_bank()
    assert language_warning(chinese, "use-multilingual") is None
    assert (language_warning(chinese, "st:all-MiniLM-L6-v2") or "").startswith(
        "Warning: st:all-MiniLM-L6-v2 reads English only")
    csv = tmp_path / "q.csv"
    csv.write_text("question_id,topic,question,reference_answer\nq1,t,What is a prototype?,A first model.\n",
                   encoding="utf-8")
    assert language_warning(import_questions(csv, tmp_path / "en"), "st:all-MiniLM-L6-v2") is None


def test_parse_entry_takes_every_command_line_out_of_the_answer() -> None:
    from harness.cli.answer_cmd import Entry, parse_entry

    assert parse_entry("答案\n:hint", ":hint") == Entry("答案", ":hint")  # Enter pressed on the :hint line
    assert parse_entry("第一行\n  :HINT  \n第二行") == Entry("第一行\n第二行", ":hint")  # submitted with Esc Enter
    assert parse_entry(":hint\n答案\n:skip") == Entry("答案", ":skip")
    assert parse_entry(":q") == Entry("", ":quit") and parse_entry(":exit") == Entry("", ":quit")
    assert parse_entry("用 :hint 看提示\n") == Entry("用 :hint 看提示\n", None)  # not alone on its line
