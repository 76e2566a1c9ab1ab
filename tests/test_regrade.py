"""`harness regrade`: an old run's answers scored again with today's bank, into a new run folder."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import FakeScorer
from progress_helpers import BANK_DIR, edited_bank, grade, grade_cohort, levels, write_answers

from harness.bank.loader import load_bank
from harness.errors import InputFileError, OutputError
from harness.grade.regrade import default_regrade_dir, regrade
from harness.grade.schema import SCORES, ScoreRow, write_rows

Run = Callable[..., tuple[int, str, str]]
COHORT = levels({"p1": "good", "p2": "weak", "p3": "part", "p4": "blank"})
LATER = levels({"p1": "good", "p2": "good", "p3": "part", "p4": "part"})






def rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_same_bank_same_scorer_gives_the_same_scores_csv(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    bank = load_bank(BANK_DIR)
    done = regrade(old, bank=bank, scorer=FakeScorer(bank))
    assert done.out_dir == tmp_path / "week1-regraded"
    # student ids, carried-through `group`, source_row in the original file: all kept, byte for byte
    assert (done.out_dir / "scores.csv").read_bytes() == (old / "scores.csv").read_bytes()
    assert (done.out_dir / "students.csv").read_bytes() == (old / "students.csv").read_bytes()
    record = json.loads((done.out_dir / "run.json").read_text(encoding="utf-8"))
    before = json.loads((old / "run.json").read_text(encoding="utf-8"))
    assert record["command"] == "regrade"
    assert record["inputs"]["submissions"]["path"] == str((old / "scores.csv").resolve())
    assert record["inputs"]["submissions"]["extra_columns"] == ["group"]
    assert record["regraded_from"]["run"] == str(old.resolve())
    assert record["regraded_from"]["finished"] == before["finished"]
    assert record["regraded_from"]["submissions"] == str((tmp_path / "week1.csv").resolve())
    report = (done.out_dir / "report.md").read_text(encoding="utf-8")
    assert f"from {(old / 'scores.csv').resolve()}" in report


def test_source_rows_point_into_the_original_submissions(tmp_path: Path) -> None:
    source = write_answers(tmp_path / "wide-order.csv", COHORT)
    lines = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([lines[0], "", *lines[1:]]) + "\n", encoding="utf-8")  # an empty line: rows shift
    old = grade(source, tmp_path / "old").out_dir
    bank = load_bank(BANK_DIR)
    new = regrade(old / "scores.csv", bank=bank, scorer=FakeScorer(bank), out=tmp_path / "new").out_dir
    assert [r["source_row"] for r in rows(new)] == [r["source_row"] for r in rows(old)] == [
        str(n) for n in range(3, 3 + 12)]


def test_an_answer_excel_would_run_is_scored_as_it_was_written(tmp_path: Path) -> None:
    source = write_answers(tmp_path / "f.csv", {"p1": {"clip-idea": "good"}},
                           extra={"p1/clip-idea": "=1+1 对比学习"})
    old = grade(source, tmp_path / "old").out_dir
    assert rows(old)[0]["answer"] == "'=1+1 对比学习"
    bank = load_bank(BANK_DIR)
    scorer = FakeScorer(bank)
    new = regrade(old, bank=bank, scorer=scorer).out_dir
    assert scorer.scored == [("clip-idea", "=1+1 对比学习")]
    assert rows(new)[0]["answer"] == "'=1+1 对比学习"


def bank_without(tmp_path: Path, question_id: str) -> Path:
    folder = tmp_path / "bank-smaller"
    shutil.copytree(BANK_DIR, folder)
    (folder / "rubrics" / f"{question_id}.yaml").unlink()
    questions = folder / "questions" / "tiny.yaml"
    text = questions.read_text(encoding="utf-8")
    questions.write_text(text[: text.index(f"  - id: {question_id}")], encoding="utf-8")
    return folder


def test_an_answer_to_a_question_the_bank_lost_is_reported_not_dropped(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    bank = load_bank(bank_without(tmp_path, "vit-patch"))
    done = regrade(old, bank=bank, scorer=FakeScorer(bank))
    lost = [r for r in rows(old) if r["question_id"] == "vit-patch"]
    first = next(i for i, r in enumerate(rows(old), 2) if r["question_id"] == "vit-patch")
    assert len(done.problems) == len(lost) == 4
    assert done.problems[0] == (f"{old / 'scores.csv'}: row {first}, column question_id: question 'vit-patch' is "
                                f"not in today's bank ({bank.root}); its answer is not regraded")
    assert {r["question_id"] for r in rows(done.out_dir)} == {"clip-idea", "clip-loss"}
    record = json.loads((done.out_dir / "run.json").read_text(encoding="utf-8"))
    assert record["problems"][0] == done.problems[0] and record["counts"]["skipped_rows"] == 4


def test_a_scores_csv_without_answers_cannot_be_regraded(tmp_path: Path) -> None:
    path = write_rows(tmp_path / SCORES.file, SCORES, [ScoreRow("p1", "clip-idea", "clip", 50.0)])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    at = header.index("answer")
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines),
                    encoding="utf-8")
    with pytest.raises(InputFileError, match="no answer column, so the answers cannot be scored again"):
        regrade(path, bank=load_bank(BANK_DIR), scorer=FakeScorer(load_bank(BANK_DIR)))


def test_an_earlier_run_is_never_overwritten_and_a_failure_leaves_nothing(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    bank = load_bank(BANK_DIR)
    regrade(old, bank=bank, scorer=FakeScorer(bank))
    assert default_regrade_dir(old) == tmp_path / "week1-regraded-2"
    with pytest.raises(OutputError, match="already exists and is not empty"):
        regrade(old, bank=bank, scorer=FakeScorer(bank), out=tmp_path / "week1-regraded")

    class Failing(FakeScorer):
        def score_many(self, items: Any) -> Any:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        regrade(old, bank=bank, scorer=Failing(bank), out=tmp_path / "failed")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["week1", "week1-regraded"]


def test_after_regrading_the_older_run_the_rubric_warning_is_gone(run: Run, fake_scorer: list[FakeScorer],
                                                                   tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    bank_dir = edited_bank(tmp_path)
    new = grade_cohort(tmp_path, "week6", LATER, bank=load_bank(bank_dir))
    code, before, _ = run("report", "--scores", old, "--scores", new)
    assert code == 0 and "## Scored differently" in before and "| week1 | rubric of clip-idea |" in before
    code, out, err = run("regrade", old, "--bank", bank_dir)
    assert (code, err) == (0, "")
    assert out == (f"Regraded 12 answers from 4 people on 3 questions (9 distinct answers scored, 3 blank); mean "
                   f"score 40.3\nResults: {tmp_path / 'week1-regraded'} (scores.csv, students.csv, questions.csv, "
                   "report.md, run.json)\n")
    assert [s.bank.root for s in fake_scorer] == [bank_dir]
    code, after, _ = run("report", "--scores", tmp_path / "week1-regraded", "--scores", new)
    assert code == 0
    assert "Scored differently" not in after and "| clip \\* |" not in after
    assert "Every run was scored the same way: embedder fake, calibration fake-cal, the same rubrics." in after
    assert "| 1 | week1-regraded / regraded from week1 |" in after


def test_regrade_without_bank_uses_the_runs_bank_and_quiet_prints_the_folder(
        run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    code, out, err = run("regrade", old / "scores.csv", "--out", tmp_path / "again", "--quiet")
    assert (code, out, err) == (0, f"{tmp_path / 'again'}\n", "")
    assert [s.bank.root.resolve() for s in fake_scorer] == [BANK_DIR.resolve()]


def test_regrade_of_a_missing_run_is_an_error(run: Run, tmp_path: Path) -> None:
    code, out, err = run("regrade", tmp_path / "nowhere")
    assert (code, out) == (1, "")
    assert err == f"Error: {tmp_path / 'nowhere'}: not found; give a grade run's folder or its scores.csv\n"


def test_regrade_warns_of_each_answer_it_cannot_score(run: Run, fake_scorer: list[FakeScorer],
                                                      tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    smaller = bank_without(tmp_path, "vit-patch")
    code, out, err = run("regrade", old, "--bank", smaller, "--quiet")
    assert (code, out) == (0, f"{tmp_path / 'week1-regraded'}\n")
    warnings = err.splitlines()
    assert len(warnings) == 4 and all(w.startswith(f"Warning: {old / 'scores.csv'}: row ") for w in warnings)
    assert warnings[0].endswith("column question_id: question 'vit-patch' is not in today's bank "
                                f"({smaller}); its answer is not regraded")


def _edit(path: Path, change: Callable[[list[dict[str, str]]], None]) -> None:
    """Rewrite a scores.csv (UTF-8 with BOM, as written) after `change` edits its rows in place."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, table = list(reader.fieldnames or ()), list(reader)
    change(table)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.DictWriter(fh, header)
        out.writeheader()
        out.writerows(table)


def test_a_scores_csv_edited_to_repeat_an_answer_is_refused_naming_both_rows(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    _edit(old / "scores.csv", lambda t: t.append(dict(t[1])))
    bank = load_bank(BANK_DIR)
    first = rows(old)[1]
    with pytest.raises(InputFileError, match=(
            rf"scores.csv: row 14: student '{first['student_id']}' answered {first['question_id']} already in "
            r"row 3; a scores.csv holds one row per answer")):
        regrade(old, bank=bank, scorer=FakeScorer(bank))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["week1"]


def test_a_bad_source_row_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    _edit(old / "scores.csv", lambda t: t[4].update(source_row="seven"))
    bank = load_bank(BANK_DIR)
    with pytest.raises(InputFileError, match=r"scores.csv: row 6: source_row: 'seven' is not a whole number"):
        regrade(old, bank=bank, scorer=FakeScorer(bank))


def test_rows_without_a_score_or_a_student_are_counted_and_reported(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    _edit(old / "scores.csv", lambda t: (t[0].update(score=""), t[2].update(student_id=" ")))
    bank = load_bank(BANK_DIR)
    done = regrade(old, bank=bank, scorer=FakeScorer(bank))
    assert list(done.problems) == [f"{old / 'scores.csv'}: row 4, column student_id: empty student id; the answer is "
                             "not regraded"]
    record = json.loads((done.out_dir / "run.json").read_text(encoding="utf-8"))
    assert record["regraded_from"]["rows_without_score"] == 1
    assert len(rows(done.out_dir)) == len(rows(old)) - 2


def test_a_carried_column_named_like_the_hidden_one_is_kept(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)

    text = (old / "scores.csv").read_text(encoding="utf-8-sig")
    head, rest = text.split("\n", 1)
    assert head.endswith(",group")
    (old / "scores.csv").write_text(head.replace(",group", ",harness_source_row") + "\n" + rest, encoding="utf-8")
    bank = load_bank(BANK_DIR)
    new = regrade(old, bank=bank, scorer=FakeScorer(bank)).out_dir
    assert [r["harness_source_row"] for r in rows(new)] == [r["harness_source_row"] for r in rows(old)]
    assert [r["source_row"] for r in rows(new)] == [r["source_row"] for r in rows(old)]
    assert list(rows(new)[0])[-1] == "harness_source_row"


def test_regrade_reports_progress_as_grade_does(tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", COHORT)
    bank = load_bank(BANK_DIR)
    seen: list[tuple[str, int]] = []
    regrade(old, bank=bank, scorer=FakeScorer(bank), progress=lambda p: seen.append((p.stage, p.answers)))
    assert seen[0] == ("grading", 0) and seen[-1] == ("grading", 12)
