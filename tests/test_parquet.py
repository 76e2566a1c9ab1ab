"""Parquet submissions: the long layout's columns, read as text, rows numbered as in the CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.errors import InputFileError
from harness.grade import parquet

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
    assert parquet.read_head(path) == (["student_id", "question_id", "answer", "score_hint"], True)
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
    assert parquet.read_head(path) == (["student_id", "question_id", "answer"], False)


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "cohort.parquet"
    path.write_text("student_id,question_id,answer\n1,q,a\n", encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        parquet.read_head(path)
    assert str(exc.value).startswith(f"{path}: not a readable Parquet file (")
    assert str(exc.value).endswith("save the table again with pandas' to_parquet, or as CSV")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="missing.parquet: file not found"):
        parquet.read_head(tmp_path / "missing.parquet")


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
