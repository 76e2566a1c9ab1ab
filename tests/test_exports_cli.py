"""`harness grade` on survey and LMS exports, end to end: printed mapping, scores.csv, run.json, report.md."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import GRADE_DATA, FakeScorer

EXPORTS = GRADE_DATA / "exports"
BANK = GRADE_DATA / "bank"
QUESTIONS = "clip-idea,clip-loss,vit-patch"


@pytest.fixture
def grade(run: Any, fake_scorer: list[Any]) -> Any:
    """Run `harness grade FILE --bank BANK ARGS...` with a keyword scorer; returns (exit code, stdout, stderr)."""
    return lambda path, *args: run("grade", path, "--bank", BANK, *args)


def scores(out: Path) -> list[dict[str, str]]:
    with (out / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# (file, flags, student ids, a carried-through column and its first value)
CASES = [
    ("wjx_gbk.csv", [], ["2023010101", "2023010102", "2023010103"], ("来自IP", "116.23.45.67(广东-广州)")),
    ("wjx_utf8_bom.csv", [], ["2023020201", "2023020202"], ("2、姓名", "陈静")),
    ("tencent_utf8_bom.csv", [], ["2023030301", "2023030302"], ("答题时长", "7分29秒")),
    ("google_forms.csv", [], ["wei.zhang@example.edu", "ana.lima@example.edu", "li.na@example.edu"],
     ("Name", "Zhang Wei")),
    ("ms_forms_excel_gbk.csv", [], ["zhou.min@school.edu.cn", "wu.hao@school.edu.cn"], ("Name", "周敏")),
    ("moodle_responses.csv", ["--questions", QUESTIONS], ["jie.huang@uni.example", "c.okafor@uni.example"],
     ("Grade/30.00", "Not yet graded")),
    ("moodle_responses.csv", ["--map", "Response 1=clip-idea", "--map", "Response 2=clip-loss", "--map",
                              "Response 3=vit-patch"], ["jie.huang@uni.example", "c.okafor@uni.example"],
     ("Started on", "5 March 2024  10:02 AM")),
    ("canvas_student_analysis.csv", [], ["S2024001", "S2024002"], ("input_score", "0.0")),
]


@pytest.mark.parametrize(("name", "flags", "people", "carried"), CASES,
                         ids=[f"{c[0]}{'+' + c[1][0] if c[1] else ''}" for c in CASES])
def test_each_export_grades_end_to_end(grade: Any, tmp_path: Path, name: str, flags: list[str], people: list[str],
                                       carried: tuple[str, str]) -> None:
    code, out, err = grade(EXPORTS / name, "--out", tmp_path / "run", *flags)
    assert code == 0, err
    rows = scores(tmp_path / "run")
    assert [(r["student_id"], r["question_id"]) for r in rows] == [
        (p, q) for p in people for q in QUESTIONS.split(",")]  # every answer graded, the right id
    assert rows[0][carried[0]] == carried[1]  # metadata carried through
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    columns = record["inputs"]["columns"]
    assert [q["question_id"] for q in columns["questions"]] == QUESTIONS.split(",")
    assert columns["student_id"]["header"] in out.splitlines()[1]
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## Columns read" in report and f"| {columns['student_id']['header']} | student_id |" in report


def test_the_mapping_is_printed_before_the_summary(grade: Any, tmp_path: Path) -> None:
    code, out, err = grade(EXPORTS / "google_forms.csv", "--out", tmp_path / "run")
    assert (code, err) == (0, "")
    assert out.splitlines()[:6] == [
        "Read as: Google Forms, wide layout",
        "Student id: 'Email Address' (email, the most unique column)",
        "Question: 'CLIP 的基本思想是什么？' -> clip-idea (prompt text)",
        "Question: \"What is CLIP's loss function?\" -> clip-loss (prompt text)",
        "Question: 'ViT 的 patch 是怎么切分的？' -> vit-patch (similar text, 0.67)",
        "Carried through: 'Timestamp', 'Score', 'Name'",
    ]


def test_a_reworded_question_is_named_on_stderr_and_in_the_report(grade: Any, tmp_path: Path) -> None:
    path = tmp_path / "form.csv"
    header = ["Timestamp", "Email Address", "Name", "CLIP 的基本思想是什么？", "ViT 是如何把图像变成 token 序列的？"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, ["3/5/2024 10:12:33", "ann@x.org", "Ann", "对比学习", "切成 patch"]])
    code, out, err = grade(path, "--out", tmp_path / "run")
    assert code == 0
    why = "free text, no question close enough; closest vit-patch at 0.18, 0.50 needed"
    assert f"Not graded: '{header[4]}' ({why})" in out.splitlines()
    assert err.startswith(f"Warning: {path}: row 1, column {header[4]}: not graded: {why}; ")
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert f"| {header[4]} | not graded | {why} |" in report
    assert [r["question_id"] for r in scores(tmp_path / "run")] == ["clip-idea"]
    code, out, err = grade(path, "--out", tmp_path / "mapped", "--map", f"{header[4]}=vit-patch")
    assert (code, err) == (0, "")
    assert f"Question: '{header[4]}' -> vit-patch (--map)" in out.splitlines()
    assert [r["question_id"] for r in scores(tmp_path / "mapped")] == ["clip-idea", "vit-patch"]
    settings = json.loads((tmp_path / "mapped" / "run.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["map"], settings["questions"]) == ([f"{header[4]}=vit-patch"], [])


def test_moodle_without_flags_stops_before_the_model_loads(grade: Any, tmp_path: Path) -> None:
    path = EXPORTS / "moodle_responses.csv"
    code, out, err = grade(path, "--out", tmp_path / "run")
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {path}: row 1: no column is headed by a question id or question text")
    assert "--questions ID,ID,..." in err and not (tmp_path / "run").exists()


def test_a_malformed_map_is_a_usage_error(grade: Any, tmp_path: Path) -> None:
    code, _, err = grade(EXPORTS / "moodle_responses.csv", "--map", "Response 1")
    assert code == 2
    assert ("Invalid value for '--map': 'Response 1': expected COLUMN=QUESTION_ID, e.g. --map \"Response "
            "1=clip-idea\" (or COLUMN=- for a column that is not a question)") in err


def test_quiet_prints_no_mapping_but_still_warns(grade: Any, tmp_path: Path) -> None:
    code, out, err = grade(EXPORTS / "wjx_utf8_bom.csv", "--out", tmp_path / "run", "--quiet")
    assert (code, out) == (0, f"{tmp_path / 'run'}\n")
    assert err.startswith(f"Warning: {EXPORTS / 'wjx_utf8_bom.csv'}: row 1, column 6、你对本课程有什么建议？: "
                          "not graded")


def test_grade_file_reports_the_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.grade import run as run_module
    from harness.grade.mapping import ColumnMapping, MapRequest

    monkeypatch.setattr(run_module, "load_scorer", lambda bank, embedder, **kw: FakeScorer(bank))
    heard: list[ColumnMapping] = []
    done = run_module.grade_file(EXPORTS / "moodle_responses.csv", bank=BANK, out=tmp_path / "run",
                                 request=MapRequest(questions=tuple(QUESTIONS.split(","))), on_columns=heard.append)
    assert heard == [done.columns] and done.columns.tool == "Moodle quiz responses"
    assert done.counts.answers == 6

