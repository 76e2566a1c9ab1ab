"""`harness grade --suggest-anchors K` then `--anchors FILE`, as a teacher runs them, with the real scorer.

The shipped calibration may predate teacher anchors, so the tests grade with
a copy that carries a fixed anchor prior (`--calibration`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.scoring import calibration as cal_mod
from harness.scoring.anchors import AnchorPrior

Run = Callable[..., tuple[int, str, str]]
PRIOR = AnchorPrior(offset=0.005, slope=0.15, similar=0.035, length=0.27, noise=0.0014)
K = 3
ANSWERS = {
    "clip-idea": [
        "CLIP 用对比学习把图像和文本放到同一个空间，用自然语言做监督。",
        "CLIP 用对比学习，图像编码器和文本编码器对齐到同一个嵌入空间。",
        "contrastive learning with natural language supervision, image and text encoders share one space",
        "用大量图文对训练，匹配的图文相似度高，不匹配的低。",
        "CLIP 是一个图像分类模型，用 ImageNet 标签训练。",
        "CLIP 用对抗训练生成图片。",
        "把图像和文字都编码成向量，然后算余弦相似度，可以做 zero-shot 分类。",
        "It is trained on 400M image-text pairs with a contrastive loss.",
        "自然语言监督，对比学习，图文对齐",
        "CLIP 就是 GAN 的一种。",
    ],
    "vit-patch": [
        "切成不重叠的 patch,再做线性投影",
        "把图像切成 16x16 的 patch，展平后线性映射成 token，再加位置编码。",
        "linear projection of non-overlapping patches",
        "每个 patch 展平，用一个全连接层投影到 embedding 维度，前面加 cls token。",
        "用卷积提取特征图，然后每个像素是一个 token。",
        "ViT 把每个像素当成一个 token。",
        "图像分块，每块拉平后过线性层，加上位置编码送进 Transformer。",
        "patch embedding: a conv with kernel = stride = patch size",
        "用 RNN 逐行读图像。",
        "切 patch",
    ],
}


@pytest.fixture
def real_scorer(monkeypatch: pytest.MonkeyPatch, use_encoder: Any) -> None:
    """Make `grade` reuse the session's encoder instead of loading the model again."""
    import harness.encoders

    monkeypatch.setattr(harness.encoders, "get_encoder", lambda name, **kw: use_encoder)


@pytest.fixture
def calibration(tmp_path: Path) -> Path:
    """The shipped calibration with an anchor prior in it."""
    shipped = cal_mod.resolve("use-multilingual", results_dir=Path("/nonexistent-results"))
    path = tmp_path / "with-prior.npz"
    cal_mod.save(replace(shipped, extra={**shipped.extra, "anchor_prior": PRIOR.as_json()}), path)
    return path


@pytest.fixture
def submissions(tmp_path: Path) -> Path:
    """Ten answers to each of two questions, one blank."""
    path = tmp_path / "answers.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer"])
        for qid, texts in ANSWERS.items():
            out.writerows((f"s{i:02d}", qid, text) for i, text in enumerate(texts))
        out.writerow(["s10", "clip-idea", ""])
    return path


def quiet(err: str) -> str:
    """Standard error without the note that the calibration is not the shipped one."""
    return "".join(line for line in err.splitlines(keepends=True) if not line.startswith("Note: scoring with"))


def read_csv(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def scores(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["student_id"], r["question_id"]): r for r in read_csv(folder / "scores.csv")}


def write_rows(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return path


def suggested(run: Run, submissions: Path, calibration: Path, folder: Path) -> list[dict[str, str]]:
    code, out, err = run("grade", submissions, "--calibration", calibration, "--out", folder,
                         "--suggest-anchors", K)
    assert (code, quiet(err)) == (0, ""), err
    assert f"--anchors {folder / 'anchors-to-grade.csv'}" in out
    return read_csv(folder / "anchors-to-grade.csv")


def test_suggest_then_grade_with_the_filled_in_file(run: Run, real_scorer: None, calibration: Path,
                                                    submissions: Path, tmp_path: Path) -> None:
    first = tmp_path / "week1"
    rows = suggested(run, submissions, calibration, first)
    assert (first / "anchors-to-grade.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    picks = [r for r in rows if r["why_chosen"].startswith("pick")]
    assert sorted(r["question_id"] for r in picks) == sorted([*ANSWERS] * K)
    assert all(r["human_score"] == "" and r["human_score_max"] == "100" for r in rows)
    assert all(r["answer"] in ANSWERS[r["question_id"]] for r in rows)
    assert json.loads((first / "run.json").read_text(encoding="utf-8"))["suggested_anchors"]["chosen"] == 2 * K

    unsure = [r for r in rows if r["why_chosen"].startswith("review")]
    assert unsure and len(picks) + len(unsure) == len(rows)  # review-flagged answers listed apart, not picked
    for r in picks:  # the teacher grades the picks and finds the scorer 30 points too generous
        r["human_score"] = f"{max(0.0, float(r['predicted_score']) - 30):.0f}"
    filled = write_rows(tmp_path / "graded.csv", rows)
    code, out, err = run("grade", submissions, "--calibration", calibration, "--out", tmp_path / "week1b",
                         "--anchors", filled)
    assert (code, quiet(err)) == (0, ""), err
    assert f"Anchors: {2 * K} teacher grades on 2 questions corrected the scores" in out

    before, after = scores(first), scores(tmp_path / "week1b")
    graded = {(r["student_id"], r["question_id"]): float(r["human_score"]) for r in picks}
    for key, grade in graded.items():
        assert float(after[key]["score"]) == grade
        assert "anchor" in after[key]["flags"].split("; ")
    others = [k for k in after if k not in graded and after[k]["answer"]]
    assert others and all("anchor" not in after[k]["flags"] for k in others)
    drops = [float(before[k]["score"]) - float(after[k]["score"]) for k in others]
    assert min(drops) >= 0 and sum(drops) / len(drops) > 5, drops  # pulled toward the teacher, shrunk

    record = json.loads((tmp_path / "week1b" / "run.json").read_text(encoding="utf-8"))["anchors"]
    assert record["count"] == 2 * K and record["file"] == str(filled.resolve())
    assert set(record["questions"]) == set(ANSWERS)
    assert record["overall"]["anchors"] == 2 * K
    assert record["overall"]["leave_one_out_mae"] < record["overall"]["zero_shot_mae"]
    assert {"leave_one_out_r", "zero_shot_r"} <= set(record["questions"]["clip-idea"])
    assert len(read_csv(tmp_path / "week1b" / "anchors.csv")) == 2 * K
    # the run's report and the one built again from its scores.csv agree: a teacher's grade is no flag in either
    code, text, err = run("report", "--scores", tmp_path / "week1b", "--format", "md")
    assert (code, text) == (0, (tmp_path / "week1b" / "report.md").read_text(encoding="utf-8")), err


def test_regrade_applies_the_runs_anchors_again(run: Run, real_scorer: None, calibration: Path,
                                                submissions: Path, tmp_path: Path) -> None:
    rows = suggested(run, submissions, calibration, tmp_path / "week1")
    for r in rows:
        r["human_score"] = "0"
    graded = write_rows(tmp_path / "graded.csv", rows)
    assert run("grade", submissions, "--calibration", calibration, "--out", tmp_path / "run",
               "--anchors", graded, "-q")[0] == 0
    code, out, err = run("regrade", tmp_path / "run", "--calibration", calibration, "--out", tmp_path / "again")
    assert (code, quiet(err)) == (0, ""), err
    assert "Anchors: " in out
    first, again = scores(tmp_path / "run"), scores(tmp_path / "again")
    assert {k: r["score"] for k, r in again.items()} == {k: r["score"] for k, r in first.items()}


def test_submissions_with_their_own_grades_anchor_themselves(run: Run, real_scorer: None, calibration: Path,
                                                             submissions: Path, tmp_path: Path) -> None:
    rows = read_csv(submissions)
    for i, r in enumerate(rows):
        r["human_score"], r["human_score_max"] = ("7", "10") if i % 4 == 0 and r["answer"] else ("", "")
    own = write_rows(tmp_path / "own.csv", rows)
    code, _, err = run("grade", own, "--calibration", calibration, "--out", tmp_path / "run", "--anchors", own)
    assert (code, quiet(err)) == (0, ""), err
    got = scores(tmp_path / "run")
    anchored = [k for k, r in got.items() if "anchor" in r["flags"]]
    assert len(anchored) == sum(1 for r in rows if r["human_score"])
    assert all(float(got[k]["score"]) == 70.0 for k in anchored)


def test_a_gbk_file_of_grades_is_read(run: Run, real_scorer: None, calibration: Path, submissions: Path,
                                      tmp_path: Path) -> None:
    grades = [{"student_id": "s00", "question_id": "clip-idea", "answer": ANSWERS["clip-idea"][0],
               "human_score": "4", "human_score_max": "5"}]
    gbk = write_rows(tmp_path / "gbk.csv", grades, encoding="gbk")
    code, _, err = run("grade", submissions, "--calibration", calibration, "--out", tmp_path / "run",
                       "--anchors", gbk, "-q")
    assert (code, quiet(err)) == (0, ""), err
    assert scores(tmp_path / "run")[("s00", "clip-idea")]["score"] == "80.0"


GOOD = {"student_id": "s01", "question_id": "clip-idea", "answer": ANSWERS["clip-idea"][1],
        "human_score": "8", "human_score_max": "10"}


@pytest.mark.parametrize(("change", "message"), [
    ({"question_id": "clip-ideas"}, "row 2, column question_id: unknown question id 'clip-ideas'"),
    ({"student_id": "s99"}, "row 2, column student_id: student 's99' has no answer to clip-idea"),
    ({"answer": "另一个答案"}, "row 2, column answer: not the answer student 's01' gave to clip-idea"),
    ({"human_score": "12"}, "row 2, column human_score: 12 is outside 0..10"),
    ({"human_score": "-1"}, "row 2, column human_score: -1 is outside 0..10"),
    ({"human_score": "good"}, "row 2, column human_score: 'good' is not a number"),
    ({"human_score_max": ""}, "row 2, column human_score_max: empty"),
    ({"human_score_max": "0"}, "row 2, column human_score_max: 0 is not a positive number"),
])
def test_bad_grades_name_file_row_and_column(run: Run, fake_scorer: list[Any], submissions: Path, tmp_path: Path,
                                             change: dict[str, str], message: str) -> None:
    bad = write_rows(tmp_path / "bad.csv", [GOOD | change])
    code, out, err = run("grade", submissions, "--out", tmp_path / "run", "--anchors", bad)
    assert code != 0 and f"{bad}: {message}" in err
    assert not (tmp_path / "run").exists() and fake_scorer == []  # checked before the model loads


@pytest.mark.parametrize(("rows", "message"), [
    ([GOOD, GOOD], "row 3, column student_id: student 's01''s answer to clip-idea is graded twice"),
    ([GOOD | {"human_score": ""}], "no graded answer (every human_score is empty)"),
])
def test_bad_files_of_grades(run: Run, fake_scorer: list[Any], submissions: Path, tmp_path: Path,
                             rows: list[dict[str, str]], message: str) -> None:
    bad = write_rows(tmp_path / "bad.csv", rows)
    code, _, err = run("grade", submissions, "--out", tmp_path / "run", "--anchors", bad)
    assert code != 0 and f"{bad}: {message}" in err


def test_missing_columns_and_missing_file(run: Run, fake_scorer: list[Any], submissions: Path,
                                          tmp_path: Path) -> None:
    bad = write_rows(tmp_path / "bad.csv", [{k: v for k, v in GOOD.items() if k != "human_score_max"}])
    code, _, err = run("grade", submissions, "--out", tmp_path / "run", "--anchors", bad)
    assert code != 0 and f"{bad}: missing column(s) human_score_max" in err
    code, _, err = run("grade", submissions, "--out", tmp_path / "run", "--anchors", tmp_path / "nope.csv")
    assert code != 0 and "nope.csv: not found" in err
    code, _, err = run("grade", submissions, "--out", tmp_path / "run", "--anchors", submissions)
    assert code != 0 and "no human_score column" in err


def test_a_calibration_without_a_prior_is_refused_before_grading(run: Run, real_scorer: None, submissions: Path,
                                                                 tmp_path: Path) -> None:
    shipped = cal_mod.resolve("use-multilingual", results_dir=Path("/nonexistent-results"))
    old = tmp_path / "old.npz"
    cal_mod.save(replace(shipped, extra={}), old)
    good = write_rows(tmp_path / "good.csv", [GOOD])
    code, _, err = run("grade", submissions, "--calibration", old, "--out", tmp_path / "run", "--anchors", good)
    assert code != 0 and "has no anchor prior" in err and "harness calibrate" in err
    assert not (tmp_path / "run").exists()


def test_json_summary_names_the_anchor_files(run: Run, real_scorer: None, calibration: Path, submissions: Path,
                                             tmp_path: Path) -> None:
    rows = suggested(run, submissions, calibration, tmp_path / "week1")
    rows[0]["human_score"] = "50"
    graded = write_rows(tmp_path / "graded.csv", rows)
    code, out, err = run("grade", submissions, "--calibration", calibration, "--out", tmp_path / "run",
                         "--anchors", graded, "--suggest-anchors", 2, "--json")
    assert (code, quiet(err)) == (0, ""), err
    summary = json.loads(out)
    assert summary["anchors"]["count"] == 1 and summary["suggested_anchors"]["per_question"] == 2
    assert summary["files"]["anchors"] == str(tmp_path / "run" / "anchors.csv")
    assert summary["files"]["anchors_to_grade"] == str(tmp_path / "run" / "anchors-to-grade.csv")
    again = read_csv(tmp_path / "run" / "anchors-to-grade.csv")
    assert (rows[0]["student_id"], rows[0]["question_id"]) not in {(r["student_id"], r["question_id"]) for r in again}


def test_an_answer_excel_safe_in_the_suggestions_matches_the_one_submitted(bank: Any, tmp_path: Path) -> None:
    from harness.grade.anchors import read_anchors

    subs = write_rows(tmp_path / "answers.csv", [{"student_id": "s1", "question_id": "clip-idea",
                                                   "answer": "=对比学习  图文对齐"}])
    graded = write_rows(tmp_path / "graded.csv", [{"student_id": "s1", "question_id": "clip-idea",
                                                   "answer": "'=对比学习 图文对齐", "human_score": "60",
                                                   "human_score_max": "100"}])
    (row,) = read_anchors(graded, submissions=subs, bank=bank).rows
    assert (row.answer, row.human, row.row) == ("=对比学习  图文对齐", 60.0, 2)  # the text as submitted


def test_matching_grades_to_the_submissions_keeps_only_the_graded_answers() -> None:
    """The pass over the submissions before grading holds the answers graded, not the whole file."""
    from grade_helpers import GRADE_DATA, tiny_bank

    from harness.grade.anchors import _submitted

    found, names = _submitted(GRADE_DATA / "long.csv", tiny_bank(), None, None,
                              lambda names: lambda a: a.student_id == "s1")
    assert found and {student for student, _ in found} == {"s1"} and "human_score" in names
