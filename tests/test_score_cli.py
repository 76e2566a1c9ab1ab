"""`harness calibrate` and `harness evaluate` on a slice of the Mohler dev set."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.bank.importer import import_questions
from harness.cli import cli, main
from harness.scoring import calibration

QUESTIONS = ("mohler-1.1", "mohler-1.2", "mohler-1.3", "mohler-1.4", "mohler-1.5", "mohler-1.6")


@pytest.fixture(scope="module")
def mohler_slice(tmp_path_factory: pytest.TempPathFactory, eval_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mohler")
    bank = root / "bank"
    import_questions(eval_dir / "mohler_dev_questions.csv", bank)
    graded = root / "graded.csv"
    with (eval_dir / "mohler_dev_answers.csv").open(encoding="utf-8", newline="") as src, \
            graded.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(r for r in reader if r["question_id"] in QUESTIONS)
    return bank, graded


def test_evaluate_prints_agreement_and_baseline(mohler_slice: tuple[Path, Path]) -> None:
    bank, graded = mohler_slice
    result = CliRunner().invoke(cli, ["evaluate", str(graded), "--bank", str(bank)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "scorer" in result.output and "cosine" in result.output and "pearson" in result.output
    assert "answers scored in" in result.output


def test_evaluate_cross_validated(mohler_slice: tuple[Path, Path]) -> None:
    bank, graded = mohler_slice
    result = CliRunner().invoke(cli, ["evaluate", str(graded), "--bank", str(bank), "--cv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "questions held out" in result.output


def test_calibrate_saves_and_later_runs_use_it(mohler_slice: tuple[Path, Path], tmp_path: Path) -> None:
    bank, graded = mohler_slice
    results = tmp_path / "results"
    result = CliRunner().invoke(cli, ["calibrate", str(graded), "--bank", str(bank), "--results", str(results)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    saved = calibration.user_path(results, "use-multilingual")
    assert saved.is_file() and "Saved calibration" in result.output
    cal = calibration.resolve("use-multilingual", results_dir=results)
    assert cal.embedder_id == "use-multilingual" and cal.trained_on == ("graded",) and cal.id in result.output
    assert "graded_pearson" in cal.cv
    shipped = calibration.resolve("use-multilingual")
    assert shipped.id != cal.id


def test_calibration_for_another_embedder_is_refused(tmp_path: Path) -> None:
    shipped = calibration.load(calibration.shipped_path("use-multilingual"))
    path = tmp_path / "c.npz"
    calibration.save(shipped, path)
    with pytest.raises(calibration.CalibrationError, match="fitted for embedder 'use-multilingual', not 'st:x'"):
        calibration.resolve("st:x", path=path)
    path.write_bytes(b"not a calibration")
    with pytest.raises(calibration.CalibrationError, match="not a calibration file: expected a calibration archive"):
        calibration.load(path)


def test_graded_file_errors_name_file_row_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "g.csv"
    bad.write_text("student_id,question_id,answer,human_score\ns1,clip-idea,x,3\n", encoding="utf-8")
    with pytest.raises(SystemExit) as code:
        main(["evaluate", str(bad)])
    assert code.value.code == 1
    assert f"Error: {bad}: missing column(s) human_score_max" in capsys.readouterr().err
    bad.write_text("student_id,question_id,answer,human_score,human_score_max\ns1,clip-idea,x,7,5\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["evaluate", str(bad)])
    assert f"{bad}: row 2, column human_score: 7.0 is outside 0..5.0" in capsys.readouterr().err
    bad.write_text("student_id,question_id,answer,human_score,human_score_max\ns1,no-such-q,x,1,5\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["evaluate", str(bad)])
    assert "unknown question id 'no-such-q'" in capsys.readouterr().err


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    for name in ("answer", "bank", "calibrate", "evaluate", "grade", "history", "report", "rescore"):
        assert name in top.output
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output, name
