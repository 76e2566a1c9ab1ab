"""Where the scorer's closeness note and the bank lint reach the user: grade feedback, answer, validate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from grade_helpers import fake_score, tiny_bank

from harness.cli import cli
from harness.grade.grader import feedback
from harness.scoring.rules import closeness_note


def test_grade_feedback_says_when_the_score_rests_on_overall_closeness() -> None:
    bank = tiny_bank()
    score = dataclasses.replace(fake_score(bank, "clip-idea", "完全不相关的一句话"), rests_on_closeness=True)
    note = closeness_note(score, zh=True)
    assert note and note in feedback(score, {}, zh=True)
    plain = dataclasses.replace(score, rests_on_closeness=False)
    assert note not in feedback(plain, {}, zh=True)


def test_answer_feedback_shows_the_closeness_note() -> None:
    from rich.text import Text

    from harness.cli.answer_cmd import feedback_parts
    from harness.practice.session import Comparison, Feedback

    bank = tiny_bank()
    score = dataclasses.replace(fake_score(bank, "clip-idea", "一句话"), rests_on_closeness=True)
    fb = Feedback(None, bank.questions["clip-idea"], score, Comparison(score.score, (), (), True), "参考答案")
    texts = [p.plain for p in feedback_parts(fb) if isinstance(p, Text)]
    assert closeness_note(score, zh=True) in texts
    plain = Feedback(None, bank.questions["clip-idea"], dataclasses.replace(score, rests_on_closeness=False),
                     Comparison(score.score, (), (), True), "参考答案")
    assert closeness_note(score, zh=True) not in [p.plain for p in feedback_parts(plain) if isinstance(p, Text)]


def test_validate_prints_lint_warnings(tmp_path: Path) -> None:
    import shutil

    from harness.bank.loader import default_bank_dir

    root = tmp_path / "bank"
    for part in ("questions", "rubrics"):
        shutil.copytree(default_bank_dir() / part, root / part)
    rubric = root / "rubrics" / "clip-idea.yaml"
    data = yaml.safe_load(rubric.read_text(encoding="utf-8"))
    cue = data["misconceptions"][0]["cues"][0][0]
    data["key_points"][0]["keywords"].append([cue])
    rubric.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["bank", "validate", str(root)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Warning: " in result.stderr and cue in result.stderr
    data = json.loads(CliRunner().invoke(cli, ["bank", "validate", str(root), "--json"]).stdout)
    assert data["ok"] and any(cue in w for w in data["warnings"])
