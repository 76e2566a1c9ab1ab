"""Grading in chunks and the run's outputs: CSVs (Excel-safe), report.md, run.json, the run folder."""

from __future__ import annotations

import codecs
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from grade_helpers import GRADE_DATA, FakeScorer, tiny_bank

from harness.errors import OutputError
from harness.files.write import SafeCsvWriter, safe_cell
from harness.grade.grader import grade_cohort
from harness.grade.outputs import OUTPUT_FILES, RunFolder
from harness.grade.run import GradeRun, run_grading
from harness.grade.schema import RESULT_COLUMNS, score_header
from harness.grade.submissions import open_submissions
from harness.grade.tally import CohortTally
from harness.types import Bank

LONG = GRADE_DATA / "long.csv"
RESULT = [c.name for c in RESULT_COLUMNS]


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def grade(bank: Bank, source: Path, out: Path, **kw: object) -> tuple[GradeRun, FakeScorer]:
    scorer = FakeScorer(bank)
    run = run_grading(open_submissions(source, bank), scorer, folder=RunFolder(out), **kw)  # type: ignore[arg-type]
    return run, scorer


# --- Excel safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"),
    ("+1+2", "'+1+2"),
    ("-A1", "'-A1"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\tInfoNCE", "'\tInfoNCE"),
    ("\r=1", "'\r=1"),
    ("＝1+1", "'＝1+1"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("-1.5", "-1.5"),
    ("+3", "+3"),
    ("1e-3", "1e-3"),
    ("a=1", "a=1"),
    ("", ""),
    (None, ""),
    (12, "12"),
])
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_csv_has_bom_and_neutralised_cells(tmp_path: Path) -> None:
    with SafeCsvWriter(tmp_path / "x.csv") as out:
        out.row(["a", "=1+1", "中文"])
    assert (tmp_path / "x.csv").read_bytes() == codecs.BOM_UTF8 + "a,'=1+1,中文\r\n".encode()


def test_formulas_in_submissions_cannot_run(bank: Bank, tmp_path: Path) -> None:
    run, _ = grade(bank, GRADE_DATA / "formula.csv", tmp_path / "out")
    rows = read_csv(run.out_dir / "scores.csv")
    assert [(r["student_id"], r["answer"], r["note"]) for r in rows] == [
        ("'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1:A2)"),
        ("s2", "'+1+2", "-1.5"),
        ("s3", "InfoNCE", "'-A1"),
    ]
    assert read_csv(run.out_dir / "students.csv")[0]["student_id"] == "'=cmd|' /C calc'!A0"
    for name in ("scores.csv", "students.csv", "questions.csv"):
        for row in csv.reader((run.out_dir / name).read_text(encoding="utf-8-sig").splitlines()):
            assert not any(cell[:1] in ("=", "+", "@", "\t") for cell in row), (name, row)


def test_extra_column_clashing_with_a_fixed_one() -> None:
    assert score_header(["score", "note", "input_score"])[-3:] == ["input_score", "note", "input_input_score"]


# --- grading in chunks -----------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_identical_answers_are_scored_once_and_blanks_never(bank: Bank, chunk_size: int) -> None:
    scorer = FakeScorer(bank)
    rows: list[tuple[str, str, str, str]] = []
    counts = grade_cohort(open_submissions(LONG, bank), scorer, tally=CohortTally(),
                          sink=lambda chunk: rows.extend((a.student_id, a.question_id, g.cells[RESULT.index("score")],
                                                                         g.cells[RESULT.index("flags")])
                                                         for a, g in chunk),
                          chunk_size=chunk_size)
    assert len(scorer.scored) == len(set(scorer.scored)) == 9  # 12 answers, 1 blank, 2 repeats
    assert all(text for _, text in scorer.scored)
    assert (counts.answers, counts.blanks, counts.scored, counts.reused) == (12, 1, 9, 2)
    assert rows[4] == ("s2", "clip-loss", "0.0", "blank")
    assert [r[0] for r in rows] == ["s1"] * 3 + ["s2"] * 3 + ["s3"] * 3 + ["s4"] * 3


def test_the_reuse_cache_is_bounded(bank: Bank) -> None:
    scorer = FakeScorer(bank)
    grade_cohort(open_submissions(LONG, bank), scorer, tally=CohortTally(), sink=lambda chunk: None,
                 chunk_size=1, cache_size=1, hold_rows=1)
    assert len(scorer.scored) == 11  # s3's clip-idea repeats s1's, but 5 answers came between


def test_rows_are_held_until_a_batch_is_worth_scoring(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.grade.grader

    monkeypatch.setattr(harness.grade.grader, "MIN_BATCH", 4)
    scorer = FakeScorer(bank)
    written: list[int] = []
    grade_cohort(open_submissions(LONG, bank), scorer, tally=CohortTally(),
                 sink=lambda rows: written.append(len(rows)), chunk_size=2)
    # 6 chunks of 2: the 4th new answer arrives in chunk 2, the 9th in chunk 6
    assert [len(call) for call in scorer.calls] == [4, 5]
    assert written == [4, 8]


def test_progress_moves_within_and_between_chunks(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.grade.grader

    monkeypatch.setattr(harness.grade.grader, "SCORE_BATCH", 2)
    seen = []
    subs = open_submissions(LONG, bank)
    grade_cohort(subs, FakeScorer(bank), tally=CohortTally(), sink=lambda chunk: None, chunk_size=6,
                 hold_rows=1, progress=lambda p: seen.append((p.answers, p.bytes_read, p.bytes_total)))
    assert [a for a, _, _ in seen] == [3, 6, 6, 8, 10, 12, 12]  # 2 + 3 scorer calls, 2 chunk ends
    assert [b for _, b, _ in seen] == sorted(b for _, b, _ in seen)
    assert seen[-1][1:] == (subs.size, subs.size)


class CountingBackend:
    name = "counting"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def config(self) -> dict[str, object]:
        return {"name": self.name}

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_reusing_encoder_embeds_each_answer_text_once(tmp_path: Path) -> None:
    from harness.encoders.cache import CachingEncoder
    from harness.encoders.reuse import ReusingEncoder

    backend = CountingBackend()
    enc = ReusingEncoder(CachingEncoder(backend, tmp_path), max_texts=3)
    first = enc.encode(["a", "bb", "a"])
    again = enc.encode(["bb", "ccc", "a"])
    assert backend.texts == ["a", "bb", "ccc"]
    assert first.tolist() == [[1, 1], [2, 1], [1, 1]] and again.tolist() == [[2, 1], [3, 1], [1, 1]]
    enc.encode(["dddd"])  # evicts the least recently used ("bb")
    enc.encode(["bb", "a"])
    assert backend.texts == ["a", "bb", "ccc", "dddd", "bb"]
    enc.encode(["rubric text"], persist=True)
    enc.encode(["rubric text"], persist=True)  # the wrapped encoder's disk cache answers
    assert backend.texts[-1] == "rubric text" and backend.texts.count("rubric text") == 1
    assert (enc.name, enc.config()) == ("counting", {"name": "counting"})


def test_reusing_encoder_runs_each_recent_clause_through_the_network_once(use_encoder) -> None:  # type: ignore[no-untyped-def]
    """Grouped backends: recurring clauses reuse their sums, and vectors match a plain grouped pass."""
    from harness.encoders.reuse import ReusingEncoder
    from harness.scoring.text import split_clauses

    answers = ["CLIP 是双塔结构，图像编码器和文本编码器分开。它用对比学习训练。",
               "CLIP 是双塔结构，图像编码器和文本编码器分开。训练用 InfoNCE 损失。",
               "It is trained with a contrastive loss, on 400M image-text pairs.",
               "CLIP 是双塔结构，图像编码器和文本编码器分开。它用对比学习训练。它很快。"]
    items = [(a, tuple(split_clauses(a))) for a in answers]
    plain = use_encoder.encode_answers(items)
    enc = ReusingEncoder(use_encoder, max_texts=4)
    seen: list[str] = []
    original = use_encoder.inner.encode_grouped

    def spying(groups, memo=None):  # type: ignore[no-untyped-def]
        from harness.encoders import use_grouped

        sums = use_grouped.sentence_sums

        def counting(m, texts):  # type: ignore[no-untyped-def]
            seen.extend(texts)
            return sums(m, texts)

        use_grouped.sentence_sums = counting
        try:
            return original(groups, memo)
        finally:
            use_grouped.sentence_sums = sums

    use_encoder.inner.encode_grouped = spying
    try:
        got = enc.encode_answers(items[:2]) + enc.encode_answers(items[2:])
    finally:
        del use_encoder.inner.encode_grouped
    for (a, ca), (b, cb) in zip(plain, got, strict=True):
        assert np.allclose(a, b, atol=1e-5) and np.allclose(ca, cb, atol=1e-5)
    clauses = [c for _, cs in items for c in cs]
    assert sorted(seen) == sorted(set(clauses))  # every distinct clause once, however often it recurs
    assert enc.clauses_reused >= 2 and len(enc.clause_memo) <= 4  # the memo stays bounded


# --- the whole run ---------------------------------------------------------------------------


def test_run_writes_every_output(bank: Bank, tmp_path: Path) -> None:
    run, _ = grade(bank, LONG, tmp_path / "out", chunk_size=5)
    assert run.out_dir == tmp_path / "out"
    assert sorted(p.name for p in run.out_dir.iterdir()) == sorted(OUTPUT_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind

    scores = read_csv(run.out_dir / "scores.csv")
    assert list(scores[0]) == [*score_header([]), "human_score"]
    with LONG.open(encoding="utf-8", newline="") as fh:
        assert [r["human_score"] for r in scores] == [row[3] for row in list(csv.reader(fh))[1:]]
    assert scores[3]["misconceptions"] == "CLIP 用对抗训练对齐图像和文本"
    assert scores[3]["feedback"] == ("需补充：共享空间; 语言监督 | "
                                     "误解：CLIP 用对抗训练对齐图像和文本 -> CLIP 用的是对比损失")
    assert scores[10]["covered"] == "InfoNCE" and scores[10]["missed"] == "批内负样本"

    students = read_csv(run.out_dir / "students.csv")
    assert [(s["student_id"], s["overall"], s["weakest_topic"], s["clip"], s["vit"]) for s in students] == [
        ("s1", "100.0", "clip", "100.0", "100.0"),
        ("s2", "33.3", "clip", "0.0", "100.0"),
        ("s3", "33.3", "vit", "50.0", "0.0"),
        ("s4", "88.9", "clip", "83.3", "100.0"),
    ]
    questions = read_csv(run.out_dir / "questions.csv")
    got = [(q["question_id"], q["answers"], q["blanks"], q["mean_score"], q["facility"]) for q in questions]
    assert got == [
        ("clip-idea", "4", "0", "75.0", "0.750"),
        ("clip-loss", "4", "1", "41.7", "0.500"),
        ("vit-patch", "4", "0", "75.0", "0.750"),
    ]
    assert questions[1]["most_missed"] == "批内负样本 (missed 2/3); InfoNCE (missed 1/3)"


def test_run_json_records_inputs_and_counts(bank: Bank, tmp_path: Path) -> None:
    import hashlib

    run, _ = grade(bank, LONG, tmp_path / "out", settings={"strict": False})
    record = json.loads((run.out_dir / "run.json").read_text(encoding="utf-8"))
    sub = record["inputs"]["submissions"]
    assert sub["sha256"] == hashlib.sha256(LONG.read_bytes()).hexdigest()
    assert (sub["layout"], sub["encoding"], sub["extra_columns"]) == ("long", "utf-8", ["human_score"])
    assert record["inputs"]["bank"]["version"] == bank.version
    assert record["inputs"]["bank"]["rubric_versions"]["clip-idea"] == bank.rubrics["clip-idea"].version_id
    assert (record["embedder"], record["calibration"]) == ("fake", "fake-cal")
    assert record["counts"] | {"seconds": 0} == {
        "answers": 12, "blanks": 1, "scored": 9, "reused": 2, "rows_read": 12, "skipped_rows": 0,
        "problems": 0, "people": 4, "seconds": 0, "questions": 3, "people_graded": 4,
        # every record of the file is counted once: records == graded + skipped + empty
        "rows": {"records": 12, "empty": 0, "graded": 12, "skipped": 0, "answers": 12, "blank_answers": 1,
                 "problems": 0},
    }
    assert record["settings"] == {"strict": False}
    assert record["problems"] == [] and record["problems_not_listed"] == 0


def test_report_md_is_the_cohort_report_of_the_run(bank: Bank, tmp_path: Path) -> None:
    run, _ = grade(bank, LONG, tmp_path / "out")
    report = (run.out_dir / "report.md").read_text(encoding="utf-8")
    lines = report.splitlines()
    assert lines[0] == "# Cohort report: out"
    assert re.fullmatch(r"Graded \d{4}-\d\d-\d\d \d\d:\d\d UTC: 12 answers \(1 blank\) from "
                        + re.escape(str(LONG)) + "  ", lines[2])
    assert lines[3] == f"Bank {bank.root} (version {bank.version}); embedder fake, calibration fake-cal  "
    assert lines[4] == "Rows in the file: 12 = 12 graded + 0 skipped + 0 empty  "
    assert lines[5] == "4 people, 12 answers, 3 questions; mean 64  "
    assert "| 1 | clip | 58 | 38 | 0 | 100 | 4 | 8 |" in lines  # the mean of the people's topic means
    assert "| 批内负样本 / clip-loss | 2/3 (67%) | 同一 batch 内的其他配对作负样本。 |" in lines
    assert "| s2 | 33 | 3 | clip (0) | mean below 60; 1 left blank |" in lines
    assert "## Input problems" not in report


def test_report_lists_skipped_rows(bank: Bank, tmp_path: Path) -> None:
    run, _ = grade(bank, GRADE_DATA / "unknown_question.csv", tmp_path / "out")
    report = (run.out_dir / "report.md").read_text(encoding="utf-8")
    assert "Bad input rows skipped: 1 (see Input problems)  " in report.splitlines()
    assert report.endswith(f"## Input problems\n\n| Problem |\n|---|\n| {GRADE_DATA / 'unknown_question.csv'}: "
                           "row 3, column question_id: unknown question id 'clip-ideaa'; did you mean "
                           "clip-idea? |\n")
    assert run.problems == (f"{GRADE_DATA / 'unknown_question.csv'}: row 3, column question_id: unknown "
                            "question id 'clip-ideaa'; did you mean clip-idea?",)


# --- the run folder --------------------------------------------------------------------------


def test_an_earlier_run_is_never_overwritten(bank: Bank, tmp_path: Path) -> None:
    run, _ = grade(bank, LONG, tmp_path / "out")
    before = (run.out_dir / "scores.csv").read_bytes()
    with pytest.raises(OutputError) as exc:
        grade(bank, LONG, tmp_path / "out")
    assert str(exc.value) == (f"{tmp_path / 'out'}: already exists and is not empty; an earlier run is never "
                              "overwritten, so choose a new --out folder")
    assert (run.out_dir / "scores.csv").read_bytes() == before


def test_an_empty_existing_folder_is_used(bank: Bank, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    run, _ = grade(bank, LONG, tmp_path / "out")
    assert (run.out_dir / "run.json").is_file()


@pytest.mark.parametrize("error", [RuntimeError("scorer broke"), KeyboardInterrupt()])
def test_a_failed_run_leaves_no_folder(bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       error: BaseException) -> None:
    import harness.grade.grader

    monkeypatch.setattr(harness.grade.grader, "MIN_BATCH", 1)  # score and write every chunk at once

    class Failing(FakeScorer):
        def score_many(self, items):  # type: ignore[no-untyped-def]
            if len(self.calls) == 1:
                raise error
            return super().score_many(items)

    with pytest.raises(type(error)):
        run_grading(open_submissions(LONG, bank), Failing(bank), folder=RunFolder(tmp_path / "out"),
                    chunk_size=2)
    assert list(tmp_path.iterdir()) == []


def test_strict_failure_leaves_no_folder(bank: Bank, tmp_path: Path) -> None:
    from harness.errors import InputFileError

    subs = open_submissions(GRADE_DATA / "unknown_question.csv", bank, strict=True)
    with pytest.raises(InputFileError):
        run_grading(subs, FakeScorer(bank), folder=RunFolder(tmp_path / "out"))
    assert list(tmp_path.iterdir()) == []

