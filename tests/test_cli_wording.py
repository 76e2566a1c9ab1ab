"""Grade's JSON summary and calibration notice, report's unknown --out suffix, plurals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import GRADE_DATA

from harness.cli import main


def test_grade_json_summary(tmp_path: Path, fake_scorer: list[Any],
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    main(["grade", str(GRADE_DATA / "long.csv"), "--bank", str(GRADE_DATA / "bank"), "--out", str(out), "--json"])
    stdout, _ = capsys.readouterr()
    data = json.loads(stdout)
    assert data["out_dir"] == str(out)
    assert (data["answers"], data["people"], data["questions"], data["blanks"]) == (12, 4, 3, 1)
    assert isinstance(data["mean_score"], float) and data["problems"] == [] and data["to_review"] == 0
    assert data["columns"] == json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]["columns"]
    assert data["files"] == {name.split(".")[0]: str(out / name)
                             for name in ("scores.csv", "students.csv", "questions.csv", "report.md", "run.json")}


def test_grade_uses_and_names_the_users_calibration(tmp_path: Path, fake_scorer: list[Any],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from harness.scoring import calibration

    results = tmp_path / "results"
    mine = calibration.user_path(results, "use-multilingual")
    calibration.save(calibration.load(calibration.shipped_path("use-multilingual")), mine)
    main(["grade", str(GRADE_DATA / "long.csv"), "--bank", str(GRADE_DATA / "bank"), "--results", str(results),
          "-q"])
    _, err = capsys.readouterr()
    assert f"Note: scoring with your calibration {mine}" in err
    assert fake_scorer[0].load_kwargs["results_dir"] == results  # so Scorer.load finds it


def test_grade_summary_plurals(tmp_path: Path, fake_scorer: list[Any],
                               capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.csv"
    one.write_text("student_id,question_id,answer\ns1,clip-idea,对比学习\n", encoding="utf-8")
    main(["grade", str(one), "--bank", str(GRADE_DATA / "bank"), "--out", str(tmp_path / "run")])
    out, _ = capsys.readouterr()
    assert "Graded 1 answer from 1 person on 1 question in" in out and "1 distinct answer scored" in out


def test_report_out_with_an_unknown_suffix_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as code:
        main(["report", "--out", str(tmp_path / "x.pdf")])
    assert code.value.code == 2
    err = capsys.readouterr().err
    assert "--out x.pdf: unknown file type '.pdf'; use .csv, .htm, .html, .markdown, .md" in err
    assert not (tmp_path / "x.pdf").exists()


def test_a_failing_disk_is_one_line_naming_the_file(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    import harness.cli.bank_cmd

    def eio(root: object) -> None:
        raise OSError(errno.EIO, "Input/output error", "/mnt/share/rubrics/clip-idea.yaml")

    monkeypatch.setattr(harness.cli.bank_cmd, "load_bank", eio)
    with pytest.raises(SystemExit) as exit_:
        main(["bank", "validate"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: /mnt/share/rubrics/clip-idea.yaml: Input/output error. Files already written")
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`harness ... | head`: a closed pipe is not reported as a failing disk."""
    import subprocess
    import sys

    code = ("import harness.cli, harness.cli.bank_cmd as b\n"
            "def gone(root):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
            "b.load_bank = gone\nharness.cli.main(['bank', 'list'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr == ""
