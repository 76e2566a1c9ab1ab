"""The results schema: one definition of scores.csv, students.csv and questions.csv, written and read back."""

from __future__ import annotations

import codecs
import csv
from dataclasses import fields
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, FakeScorer, tiny_bank
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InputFileError
from harness.grade.outputs import RunFolder, ScoresWriter
from harness.grade.run import run_grading
from harness.grade.schema import (
    ANSWER_COLUMNS,
    QUESTIONS,
    RESULT_COLUMNS,
    SCORES,
    STUDENTS,
    ScoredRows,
    ScoreRow,
    read_scores,
    row_cells,
    rows_of,
    score_header,
    scores_layout,
    split_list,
    write_rows,
)
from harness.grade.submissions import open_submissions


def test_columns_come_from_the_row_classes() -> None:
    assert SCORES.names == (
        "student_id", "question_id", "topic", "score", "covered", "partial", "missed", "misconceptions",
        "flags", "feedback", "answer", "source_row", "covered_ids", "partial_ids", "missed_ids",
        "misconception_ids", "score_low", "score_high", "review",
    )
    assert [c.name for c in SCORES.columns if c.required] == ["student_id", "question_id", "topic", "score"]
    assert [c.name for c in SCORES.columns if c.kind == "list"] == [
        "covered", "partial", "missed", "misconceptions", "flags", "covered_ids", "partial_ids", "missed_ids",
        "misconception_ids", "review",
    ]
    assert (SCORES["score"].kind, SCORES["score"].low, SCORES["score"].high) == ("number", 0, 100)
    assert SCORES["source_row"].kind == "int"
    assert STUDENTS.names == ("student_id", "answers", "blanks", "overall", "weakest_topic")
    assert QUESTIONS.names == ("question_id", "topic", "answers", "blanks", "mean_score", "facility",
                               "discrimination", "most_missed", "question")
    assert (QUESTIONS["facility"].digits, QUESTIONS["mean_score"].digits) == (3, 1)
    assert set(ANSWER_COLUMNS) | {c.name for c in RESULT_COLUMNS} == set(SCORES.names)


def test_the_grader_writes_the_schemas_columns(tmp_path: Path) -> None:
    bank = tiny_bank()
    run = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), FakeScorer(bank),
                      folder=RunFolder(tmp_path / "out"))
    for table in (SCORES, STUDENTS, QUESTIONS):
        raw = (run.out_dir / table.file).read_bytes()
        assert raw.startswith(codecs.BOM_UTF8)
        header = next(csv.reader(raw.decode("utf-8-sig").splitlines()))
        assert tuple(header[: len(table.names)]) == table.names, table.file
    scores = read_scores(run.out_dir)
    assert scores.absent == () and scores.carried == ("human_score",)
    row = next(r for r in rows_of(scores) if r.student_id == "s4" and r.question_id == "clip-loss")
    assert row == ScoreRow("s4", "clip-loss", "clip", 66.7, covered=("InfoNCE",), missed=("批内负样本",),
                           feedback="需补充：批内负样本", answer="InfoNCE", source_row=13, covered_ids=("infonce",),
                           missed_ids=("in-batch",))
    blank = next(r for r in rows_of(scores) if r.flags)
    assert (blank.student_id, blank.score, blank.flags, blank.feedback) == ("s2", 0.0, ("blank",), "未作答")


def test_scores_writer_and_schema_writer_agree(tmp_path: Path) -> None:
    """The streaming writer of a run puts each cell under the schema's column."""
    from harness.grade.grader import blank_result
    from harness.grade.submissions import Answer

    bank = tiny_bank()
    writer = ScoresWriter(tmp_path / "a.csv", ["note"])
    writer([(Answer(7, "s1", 0, "clip-idea", "", ("x",)), blank_result(bank, "clip-idea"))])
    writer.close()
    write_rows(tmp_path / "b.csv", SCORES, [ScoreRow("s1", "clip-idea", "clip", 0.0, flags=("blank",),
                                                     feedback="未作答", source_row=7)])
    a = (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()
    b = (tmp_path / "b.csv").read_text(encoding="utf-8-sig").splitlines()
    assert a == [b[0] + ",note", b[1] + ",x"]


def test_header_clashes_and_list_cells() -> None:
    assert score_header(["score", "note", "input_score"])[-3:] == ["input_score", "note", "input_input_score"]
    assert split_list(" a ;b;; c ") == ("a", "b", "c") and split_list("") == ()
    assert row_cells(ScoreRow("=x", "q", "t", 5.25, covered=("a", "b")), SCORES)[:5] == ["'=x", "q", "t", "5.2",
                                                                                          "a; b"]


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip)
_item = _text.filter(lambda s: s and ";" not in s)
_items = st.lists(_item, max_size=3).map(tuple)


@st.composite
def score_rows(draw: st.DrawFn) -> list[ScoreRow]:
    people = draw(st.lists(_item, min_size=1, max_size=4, unique=True))
    questions = draw(st.lists(_item.filter(lambda s: s[0] not in "=+-@'＝＋－＠"), min_size=1, max_size=3,
                              unique=True))
    rows = []
    for p in people:
        for q in questions:
            rows.append(ScoreRow(
                p, q, draw(_text), round(draw(st.floats(0, 100)), 1), covered=draw(_items), missed=draw(_items),
                misconceptions=draw(_items), flags=draw(_items), feedback=draw(_text),
                answer=draw(_text), source_row=draw(st.none() | st.integers(2, 10**6)),
                covered_ids=draw(_items), missed_ids=draw(_items), misconception_ids=draw(_items),
            ))
    return rows


def _as_read(row: ScoreRow) -> ScoreRow:
    """What a row reads back as: text cells a spreadsheet could run get a leading `'` when written."""
    from harness.files.write import safe_cell

    out = {}
    for f in fields(ScoreRow):
        value = getattr(row, f.name)
        if isinstance(value, str):
            value = safe_cell(value).strip()
        elif isinstance(value, tuple):
            value = tuple(safe_cell("; ".join(value)).split("; ")) if value else ()
            value = tuple(v.strip() for v in value if v.strip())
        out[f.name] = value
    return ScoreRow(**out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=score_rows())
def test_scores_round_trip(tmp_path: Path, rows: list[ScoreRow]) -> None:
    path = write_rows(tmp_path / "scores.csv", SCORES, rows)
    assert list(rows_of(read_scores(path))) == [_as_read(r) for r in rows]


def test_a_bad_whole_number_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text("student_id,question_id,topic,score,source_row\ns1,q,t,50,x\n", encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        read_scores(path)
    assert str(exc.value) == f"{path}: row 2: source_row: 'x' is not a whole number"


def test_reading_some_columns_only(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "scores.csv", SCORES, [ScoreRow("s1", "q", "t", 50.0, missed_ids=("a",),
                                                                 answer="long answer")])
    scores = read_scores(path, columns=("missed_ids",))
    assert list(scores.frame.columns) == ["row", "student_id", "question_id", "topic", "score", "missed_ids"]
    assert scores.frame["missed_ids"].tolist() == [("a",)] and scores.absent == ()


def test_reading_some_columns_and_the_carried_ones(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text("student_id,question_id,topic,score,answer,feedback,班级\ns1,q,t,50,text,long feedback,一班\n",
                    encoding="utf-8")
    scores = read_scores(path, columns=("answer",), carry=True)
    assert list(scores.frame.columns) == ["row", "student_id", "question_id", "topic", "score", "answer", "班级"]
    assert scores.carried == ("班级",) and scores.frame["班级"].tolist() == ["一班"]
    assert read_scores(path, columns=("answer",)).carried == ()


def test_scored_rows_stream_and_refuse_a_repeated_answer_when_they_reach_it(tmp_path: Path) -> None:
    """What regrade reads: rows one at a time, so a long file is never held; a repeat stops at its row."""
    path = tmp_path / "scores.csv"
    path.write_text("Student ID,question_id,topic,score,answer,班级\n"
                    "s1,q,t,50,first,一班\ns1,r,t,,no score,一班\ns2,q,t,10,second,二班\n s1 ,q ,t,20,again,一班\n",
                    encoding="utf-8")
    layout = scores_layout(tmp_path)  # the run folder will do
    assert (layout.path, layout.carried, layout.cells["student_id"]) == (path, ("班级",), "Student ID")
    assert "source_row" in layout.absent and "answer" not in layout.absent
    rows = ScoredRows(layout)
    stream = iter(rows)
    assert [next(stream)[0], next(stream)[0]] == [2, 4]  # read before the repeat further down
    assert rows.skipped == 1
    with pytest.raises(InputFileError) as exc:
        next(stream)
    assert str(exc.value) == (f"{path}: row 5: student 's1' answered q already in row 2; a scores.csv holds one row "
                              "per answer (report each run on its own)")
