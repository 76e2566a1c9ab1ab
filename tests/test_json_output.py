"""Machine-readable output: --json on every listing command, and piped tables that keep rows whole."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.table import Table
from test_answer_cli import make_score, seed

from harness.bank.loader import load_bank
from harness.cli import cli
from harness.cli.answer_cmd import print_feedback
from harness.cli.console import print_table
from harness.practice.session import Comparison, Feedback
from harness.types import Evidence, PointResult, Question

REPO = Path(__file__).resolve().parents[1]
BANK_DIR = Path(__file__).parent / "data" / "answer"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_bank_list_json_has_every_question() -> None:
    data = json.loads(invoke("bank", "list", "--json"))
    assert data["bank"]["topics"][:2] == ["beit", "blip"] and len(data["bank"]["topics"]) == 8
    assert len(data["questions"]) == 24
    first = data["questions"][0]
    assert set(first) == {"id", "topic", "difficulty", "prompt_zh", "prompt_en", "tags", "key_points",
                          "misconceptions", "rubric_version"}
    vit = json.loads(invoke("bank", "list", "--topic", "vit", "--json"))["questions"]
    assert [q["id"] for q in vit] == ["vit-patch", "vit-sequence-length"]


def test_bank_show_json_is_the_whole_rubric(bank) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(invoke("bank", "show", "clip-objective", "--json"))
    rubric = bank.rubrics["clip-objective"]
    assert data["id"] == "clip-objective" and data["prompt_zh"].startswith("CLIP 的训练目标")
    assert data["rubric"]["version_id"] == rubric.version_id
    assert [p["id"] for p in data["rubric"]["key_points"]] == [p.id for p in rubric.key_points]
    assert data["rubric"]["key_points"][0]["keywords"] == [list(g.aliases) for g in rubric.key_points[0].keywords]
    assert [m["penalty"] for m in data["rubric"]["misconceptions"]] == [m.penalty for m in rubric.misconceptions]


def test_bank_validate_and_import_json(tmp_path: Path) -> None:
    ok = json.loads(invoke("bank", "validate", "--json"))
    assert ok["ok"] is True and ok["questions"] == 24 and ok["topics"] == 8 and ok["problems"] == []
    broken = tmp_path / "bank"
    shutil.copytree(BANK_DIR, broken)
    (broken / "rubrics" / "vit-patch.yaml").unlink()
    result = CliRunner().invoke(cli, ["bank", "validate", str(broken), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and any("vit-patch" in p for p in data["problems"])
    csv = tmp_path / "q.csv"
    csv.write_text("question_id,topic,question,reference_answer\nq1,t,What is X?,X is a thing.\n", encoding="utf-8")
    imported = json.loads(invoke("bank", "import", str(csv), "--out", str(tmp_path / "new"), "--json"))
    assert (imported["ok"], imported["questions"], imported["topics"]) == (True, 1, 1)


def test_history_json(tmp_path: Path) -> None:
    seed(tmp_path)
    data = json.loads(invoke("history", "--results", str(tmp_path), "--user", "alice", "--json"))
    assert data["history"] == str(tmp_path / "history.sqlite")
    assert data["attempt_count"] == 4 and data["first"] == "2030-01-01T09:00:00+00:00"
    assert data["topics"][0] == {"topic": "clip", "attempts": 3, "first": 40.0, "latest": 80.0, "best": 80.0,
                                 "recent": 60.0, "scores": [40.0, 60.0, 80.0], "scored_with": ["S1"],
                                 "mixed_rubrics": False}
    assert data["versions"] == {"S1": {"embedder_id": "use-multilingual", "calibration_id": "cal-1"}}
    assert [a["question_id"] for a in data["attempts"]] == ["clip-idea", "clip-architecture", "vit-patch",
                                                            "clip-idea"]
    empty = json.loads(invoke("history", "--results", str(tmp_path), "--user", "zoe", "--json"))
    assert (empty["attempt_count"], empty["first"], empty["topics"], empty["attempts"]) == (0, None, [], [])


def test_history_json_keeps_stdout_pure_with_csv(tmp_path: Path) -> None:
    seed(tmp_path)
    result = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "alice", "--json",
                                      "--csv", str(tmp_path / "a.csv")], catch_exceptions=False)
    assert json.loads(result.stdout)["attempt_count"] == 4
    assert "Wrote 4 attempts" in result.stderr


def test_rescore_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_answer_cli import RescoreScorer

    from harness.scoring import scorer as scorer_mod

    seed(tmp_path)
    monkeypatch.setattr(scorer_mod.Scorer, "load", classmethod(lambda cls, bank, **kw: RescoreScorer()))
    data = json.loads(invoke("rescore", "--bank", str(BANK_DIR), "--results", str(tmp_path), "--user", "alice",
                             "--json"))
    assert data == {"user": "alice", "embedder_id": "use-multilingual", "calibration_id": "cal-2", "rescored": 4,
                    "up_to_date": 0, "mean_change": 2.5, "gone": []}


def test_piped_bank_list_keeps_each_id_whole_at_80_columns() -> None:
    # The check, as a user runs it: `harness bank list | cat` in an 80-column terminal.
    result = subprocess.run([sys.executable, "-m", "harness", "bank", "list"], capture_output=True, text=True,
                            encoding="utf-8", cwd=REPO, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ids = list(load_bank().questions)
    assert len(ids) == 24
    for qid in ids:
        (row,) = [line for line in lines if line.split()[:1] == [qid]]  # exactly one line starts with the id
        assert load_bank().questions[qid].prompt in row  # the whole row on that line
    assert lines[0] == f"24 questions in 8 topics, bank {load_bank().root}"
    assert all(line == line.rstrip() for line in lines)


def test_print_table_piped_never_splits_a_cell_but_a_terminal_wraps() -> None:
    table = Table("id", "score")
    table.add_row("transformer-position-encoding-" * 3, "12.5")
    piped = StringIO()
    print_table(Console(file=piped, width=40), table)
    assert "transformer-position-encoding-" * 3 in piped.getvalue()
    terminal = StringIO()
    print_table(Console(file=terminal, width=40, force_terminal=True, color_system=None), table)
    assert max(len(line) for line in terminal.getvalue().splitlines()) <= 40


def test_piped_feedback_keeps_the_matching_sentence_whole() -> None:
    sentence = "CLIP 用对比学习把图像和文本映射到同一个嵌入空间，匹配的图文对靠近、不匹配的远离，训练后可以做零样本分类"
    score = make_score("clip-idea", 70)
    point = PointResult("p1", "学习目标", "……", 2.0, "covered", 1.0, Evidence(sentence, 0.8, ()))
    score = type(score)(**{**score.__dict__, "points": (point,)})
    q = Question("clip-idea", "clip", "easy", "CLIP 的基本思想是什么？")
    reference = "参考答案" * 40
    out = StringIO()
    print_feedback(Console(file=out, width=80, color_system=None), Feedback(1, q, score, Comparison(70, (), (), True),
                                                                             reference))
    text = out.getvalue()
    assert sentence in text and "…" not in text.replace("……", "")
    assert reference in text.splitlines()  # the reference is one whole line too


def test_bank_list_on_an_80_column_terminal_groups_by_topic_and_keeps_ids_whole() -> None:
    from harness.cli.bank_cmd import _list_table

    bank = load_bank()
    out = StringIO()
    print_table(Console(file=out, width=80, force_terminal=True, color_system=None),
                _list_table(bank, list(bank.questions.values()), grouped=True))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(any(line.split()[:1] == [qid] for line in lines) for qid in bank.questions)
    assert all(any(line.strip() == topic for line in lines) for topic in bank.topics)
