"""Parquet submissions: the long layout's columns, read as text, rows numbered as in the CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from grade_helpers import GRADE_DATA, FakeScorer, tiny_bank

from harness.errors import InputFileError
from harness.grade import parquet
from harness.grade.outputs import RunFolder
from harness.grade.run import run_grading
from harness.grade.schema import SCORES
from harness.grade.submissions import open_submissions

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write(path: Path, frame: pd.DataFrame, **kwargs: object) -> Path:
    frame.to_parquet(path, **kwargs)
    return path


def test_values_are_read_as_text_and_rows_numbered_as_in_the_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "student_id": [1001, 1002, 1003],
        "question_id": pd.Categorical(["clip-idea", "clip-loss", "clip-idea"]),
        "answer": ["对比学习，双塔", None, "  image-text pairs "],
        "score_hint": [1.5, None, 2.0],
    }).iloc[[0, 1, 2]].set_index(pd.Index([7, 8, 9]))  # a saved non-default index is not a column
    path = _write(tmp_path / "cohort.parquet", frame)
    assert parquet.read_head(path, 1) == (["student_id", "question_id", "answer", "score_hint"],
                                          [["1001", "clip-idea", "对比学习，双塔", "1.5"]], True)
    raw, rows = parquet.open_rows(path)
    with raw:
        assert list(rows) == [
            (2, ["1001", "clip-idea", "对比学习，双塔", "1.5"]),
            (3, ["1002", "clip-loss", "", ""]),
            (4, ["1003", "clip-idea", "  image-text pairs ", "2"]),
        ]


def test_reading_moves_through_the_file_batch_by_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 30_000
    frame = pd.DataFrame({"student_id": [f"s{i}" for i in range(n)], "question_id": ["clip-idea"] * n,
                          "answer": [f"答案 {i} " * 3 for i in range(n)]})
    path = _write(tmp_path / "big.parquet", frame, row_group_size=5000)
    monkeypatch.setattr(parquet, "BATCH_ROWS", 5000)
    raw, rows = parquet.open_rows(path)
    positions = []
    with raw:
        for line, _cells in rows:
            if line % 5000 == 2:
                positions.append(raw.tell())
    assert positions == sorted(positions) and positions[-1] > positions[0]
    assert line == n + 1


def test_an_empty_table_has_no_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.parquet", pd.DataFrame({"student_id": [], "question_id": [], "answer": []}))
    assert parquet.read_head(path, 5) == (["student_id", "question_id", "answer"], [], False)


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "cohort.parquet"
    path.write_text("student_id,question_id,answer\n1,q,a\n", encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        parquet.read_head(path, 5)
    assert str(exc.value).startswith(f"{path}: not a readable Parquet file (")
    assert str(exc.value).endswith("save the table again with pandas' to_parquet, or as CSV")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="missing.parquet: file not found"):
        parquet.read_head(tmp_path / "missing.parquet", 5)


def test_a_column_that_is_not_text_is_named(tmp_path: Path) -> None:
    table = pa.table({"student_id": ["a"], "question_id": ["clip-idea"], "answer": [["a", "list"]]})
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    raw, rows = parquet.open_rows(path)
    with raw, pytest.raises(InputFileError) as exc:
        list(rows)
    assert str(exc.value).startswith(f"{path}: column answer: cannot read list<element: string> values as text")


def test_is_parquet_by_suffix() -> None:
    assert parquet.is_parquet(Path("a/b.PARQUET")) and not parquet.is_parquet(Path("a/b.csv"))


# --- grading a Parquet cohort, writing scores.parquet ---------------------------------------------

LONG = GRADE_DATA / "long.csv"


def _as_parquet(source: Path, target: Path) -> Path:
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    frame["human_score"] = frame["human_score"].astype(int)  # a number column is read as its text
    frame.to_parquet(target)
    return target


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _grade(source: Path, out: Path, **kw: object) -> Path:
    bank = tiny_bank()
    return run_grading(open_submissions(source, bank), FakeScorer(bank), folder=RunFolder(out), **kw).out_dir  # type: ignore[arg-type]


def test_a_parquet_cohort_grades_as_its_csv(tmp_path: Path) -> None:
    from_csv = _grade(LONG, tmp_path / "csv")
    from_parquet = _grade(_as_parquet(LONG, tmp_path / "long.parquet"), tmp_path / "parquet")
    for name in ("students.csv", "questions.csv"):
        assert (from_parquet / name).read_bytes() == (from_csv / name).read_bytes()
    got, want = _rows(from_parquet / "scores.csv"), _rows(from_csv / "scores.csv")
    assert [{**r, "source_row": ""} for r in got] == [{**r, "source_row": ""} for r in want]
    assert [r["source_row"] for r in got] == [str(i) for i in range(2, 14)]  # records, not text lines
    record = json.loads((from_parquet / "run.json").read_text(encoding="utf-8"))["inputs"]["submissions"]
    assert (record["encoding"], record["delimiter"], record["layout"]) == ("parquet", "", "long")


def test_bad_rows_of_a_parquet_file_are_reported_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"student_id": ["s1", "s1", "", "s2"],
                  "question_id": ["clip-idea", "clip-idea", "clip-loss", "clip-ide"],
                  "answer": ["a", "b", "c", "d"]}).to_parquet(path)
    subs = open_submissions(path, tiny_bank())
    answers = [a for chunk in subs.chunks() for a in chunk]
    assert [(a.row, a.text) for a in answers] == [(2, "a")]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 3, column student_id: duplicate answer: student 's1' already answered clip-idea in row 2; "
        "the first answer is kept",
        f"{path}: row 4, column student_id: empty student id",
        f"{path}: row 5, column question_id: unknown question id 'clip-ide'; did you mean clip-idea?",
    ]


def test_a_parquet_file_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "cols.parquet", pd.DataFrame({"student_id": ["s1"], "text": ["a"]}))
    with pytest.raises(InputFileError, match=r"cols\.parquet: row 1: missing required column question_id"):
        open_submissions(path, tiny_bank())


def test_scores_parquet_holds_the_scores_csv_table(tmp_path: Path) -> None:
    run = _grade(LONG, tmp_path / "run", parquet=True)
    table = pq.read_table(run / "scores.parquet")
    text = pd.read_csv(run / "scores.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert table.column_names == list(text.columns) == [*SCORES.names, "human_score"]
    assert str(table.schema.field("score").type) == "double"
    assert str(table.schema.field("source_row").type) == "int64"
    frame = table.to_pandas()
    for name in text.columns:
        if name in ("score", "source_row", "score_low", "score_high"):
            assert [None if pd.isna(v) else v for v in frame[name]] == [float(v) if v else None for v in text[name]]
        else:
            assert frame[name].tolist() == text[name].tolist(), name
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["outputs"][-1] == "scores.parquet"


def test_scores_parquet_is_written_in_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 5)
    run = _grade(LONG, tmp_path / "run", parquet=True, chunk_size=4)
    meta = pq.ParquetFile(run / "scores.parquet").metadata
    assert meta.num_rows == 12 and meta.num_row_groups > 1


def test_the_cli_grades_parquet_into_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main
    from harness.scoring.scorer import Scorer

    monkeypatch.setattr(Scorer, "load", staticmethod(lambda bank, **kw: FakeScorer(bank)))
    monkeypatch.setattr("harness.encoders.get_encoder", lambda name, **kw: object())
    source = _as_parquet(LONG, tmp_path / "long.parquet")
    main(["grade", str(source), "--bank", str(GRADE_DATA / "bank"), "--out", str(tmp_path / "run"), "--parquet"])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (f"Results: {tmp_path / 'run'} (scores.csv, students.csv, questions.csv, "
                                    "report.md, run.json, scores.parquet)")
    assert pq.read_metadata(tmp_path / "run" / "scores.parquet").num_rows == 12
