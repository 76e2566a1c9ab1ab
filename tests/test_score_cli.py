"""`harness calibrate` and `harness evaluate` on a slice of the Mohler dev set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.bank.importer import import_questions
from harness.cli import cli, main
from harness.scoring import calibration
from harness.scoring.anchors import anchor_prior

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
    assert saved.is_file() and f"to {saved}" in result.output
    assert "`harness calibrate --reset` goes back to the shipped one" in result.output
    cal = calibration.resolve("use-multilingual", results_dir=results)
    assert cal.embedder_id == "use-multilingual" and cal.trained_on == ("graded",) and cal.id in result.output
    assert "graded_pearson" in cal.cv
    assert anchor_prior(cal).noise > 0  # fitted beside, for grade --anchors
    shipped = calibration.resolve("use-multilingual")
    assert shipped.id != cal.id

    # every later run that uses it says so, naming the file, on stderr
    later = CliRunner().invoke(cli, ["evaluate", str(graded), "--bank", str(bank), "--results", str(results),
                                     "--json"], catch_exceptions=False)
    assert later.stderr == (f"Note: scoring with your calibration {saved} (made by `harness calibrate`); "
                            "`harness calibrate --reset` goes back to the shipped one.\n")
    assert json.loads(later.stdout)["calibration_id"] == cal.id

    reset = CliRunner().invoke(cli, ["calibrate", "--reset", "--results", str(results)], catch_exceptions=False)
    assert reset.exit_code == 0 and not saved.exists()
    (moved,) = saved.parent.glob("use-multilingual.off-*.npz")
    assert reset.output == (f"Moved your calibration for use-multilingual to {moved}; later runs use the shipped "
                            f"one (use yours with --calibration {moved}).\n")
    assert calibration.resolve("use-multilingual", results_dir=results).id == shipped.id
    after = CliRunner().invoke(cli, ["evaluate", str(graded), "--bank", str(bank), "--results", str(results),
                                     "--json"], catch_exceptions=False)
    assert after.stderr == "" and json.loads(after.stdout)["calibration_id"] == shipped.id
    again = CliRunner().invoke(cli, ["calibrate", "--reset", "--results", str(results)], catch_exceptions=False)
    assert again.output.startswith("No calibration of yours for use-multilingual")


def test_evaluate_and_calibrate_json(mohler_slice: tuple[Path, Path], tmp_path: Path) -> None:
    bank, graded = mohler_slice
    data = json.loads(CliRunner().invoke(cli, ["evaluate", str(graded), "--bank", str(bank), "--json"],
                                         catch_exceptions=False).stdout)
    assert data["embedder_id"] == "use-multilingual" and data["calibration_id"]
    (one,) = data["sets"]
    assert one["name"] == "graded" and one["n_answers"] > 100 and one["cross_validated"] is False
    assert set(one["scorer"]) == set(one["baseline"]) == {"n", "pearson", "spearman", "rmse", "qwk",
                                                          "r_by_question_mean", "r_by_question_sd"}
    out = tmp_path / "mine.npz"
    fitted = json.loads(CliRunner().invoke(cli, ["calibrate", str(graded), "--bank", str(bank), "--out", str(out),
                                                 "--json"], catch_exceptions=False).stdout)
    assert fitted["calibration"]["path"] == str(out) and fitted["calibration"]["used_by_later_runs"] is False
    assert fitted["sets"][0]["cross_validated"] is True and out.is_file()


def test_calibration_choice_is_visible_and_reversible(tmp_path: Path) -> None:
    from harness.encoders import DEFAULT_EMBEDDER
    from harness.scoring import calibration_choice as choice
    from harness.scoring import calibration_file

    assert choice.SUFFIX == calibration_file.SUFFIX and choice.DEFAULT_EMBEDDER == DEFAULT_EMBEDDER
    shipped = choice.shipped_path("use-multilingual")
    emb = "use-multilingual"
    assert choice.choose(emb, results_dir=tmp_path) == shipped and choice.notice(shipped, embedder_id=emb) is None
    mine = choice.user_path(tmp_path, emb)
    mine.parent.mkdir(parents=True)
    mine.write_bytes(shipped.read_bytes())
    assert choice.choose(emb, results_dir=tmp_path) == mine
    assert choice.notice(mine, embedder_id=emb) == (
        f"Note: scoring with your calibration {mine} (made by `harness calibrate`); "
        "`harness calibrate --reset` goes back to the shipped one.")
    assert choice.notice(mine, embedder_id=emb, explicit=True) == (
        f"Note: scoring with calibration {mine} (--calibration), not the shipped one.")
    assert choice.reset_hint("st:x") == "`harness calibrate --reset --embedder st:x` goes back to the shipped one"
    with pytest.raises(calibration.CalibrationError, match="no such calibration file"):
        choice.choose("use-multilingual", path=tmp_path / "missing.npz")
    from datetime import datetime, timezone

    moved = choice.reset(tmp_path, "use-multilingual", now=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert moved == mine.with_name("use-multilingual.off-20300102-030405.npz") and moved.is_file()
    assert choice.choose("use-multilingual", results_dir=tmp_path) == shipped
    assert choice.reset(tmp_path, "use-multilingual") is None


def test_calibrate_usage_errors(tmp_path: Path) -> None:
    graded = tmp_path / "g.csv"
    graded.write_text("student_id,question_id,answer,human_score,human_score_max\n", encoding="utf-8")
    for args, message in ((["calibrate"], "give human-graded CSV files, or --reset"),
                          (["calibrate", str(graded), "--reset"], "--reset takes no GRADED files")):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and message in result.output


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
