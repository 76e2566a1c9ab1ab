"""A submissions file accounts for every record it holds: graded, reported or empty, never lost."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, tiny_bank

from harness.errors import InputFileError
from harness.grade.problems import ReadCounts
from harness.grade.submissions import Answer, Submissions, open_submissions
from harness.types import Bank


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def read_all(subs: Submissions, size: int = 1000) -> list[Answer]:
    return [a for chunk in subs.chunks(size) for a in chunk]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return path


def cohort(n: int, *, bad: int, quotes_after: bool) -> str:
    """`n` rows of three questions; row index `bad` opens a quote it never closes."""
    qids = ("clip-idea", "clip-loss", "vit-patch")
    lines = ["student_id,question_id,answer"]
    for i in range(n):
        text = f"对比学习 {i % 5}"
        if i == bad:
            text = '"对比学习，引号没有关闭'
        elif i % 40 == 0 and (quotes_after or i < bad):
            text = f'"对比学习,\n多行答案 {i % 5}"'
        lines.append(f"s{i // 3},{qids[i % 3]},{text}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("quotes_after", [False, True], ids=["to-the-line-limit", "to-the-next-quote"])
def test_unclosed_quote_in_10000_rows_loses_only_that_row(bank: Bank, tmp_path: Path, quotes_after: bool) -> None:
    path = tmp_path / "a.csv"
    path.write_text(cohort(10_000, bad=6001, quotes_after=quotes_after), encoding="utf-8")
    subs = open_submissions(path, bank)
    answers = read_all(subs, 2000)
    assert len(answers) == 9_999 and "s2000" in {a.student_id for a in answers}
    def line(i: int) -> int:  # the header, then an extra line for each multi-line answer before row i
        return i + 2 + (i + 39) // 40

    assert line(6001) == 6154
    reason = (f"not closed where it should be (line {line(6040)} cannot be parsed: ',' expected after '\"')"
              if quotes_after else "not closed within 200 lines")
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row {line(6001)}: a quote opened in this row is {reason}; check its quotes"
    ]
    assert subs.counts() == ReadCounts(records=10_000, empty=0, graded=9_999, skipped=1, answers=9_999,
                                       blank_answers=0, problems=1)
    assert [a.row for a in answers if a.student_id == "s2000"] == [line(6000), line(6002)]


def test_counts_add_up_to_the_records_of_the_file(bank: Bank, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "student_id,question_id,answer\n"
        "s1,clip-idea,对比\n"          # 2 graded
        "\n"                            # 3 empty
        "s1,clip-loss,\n"              # 4 graded, blank
        "s1,clip-ideaa,x\n"            # 5 skipped: unknown question
        ",clip-idea,x\n"               # 6 skipped: no student
        "s1,clip-idea,again\n"         # 7 skipped: duplicate
        "s2,clip-idea,a,b,c\n"         # 8 skipped: surplus cells
        's2,clip-loss,"多行\n答案"\n'  # 9-10 graded
        ",,\n"                          # 11 empty
        "s2,vit-patch,\x00\n"          # 12 skipped: NUL
        's3,clip-idea,"never closed\n'  # 13 skipped: runaway
        "s3,clip-loss,InfoNCE\n",      # 14 graded
        encoding="utf-8",
    )
    subs = open_submissions(path, bank)
    assert [a.row for a in read_all(subs)] == [2, 4, 9, 14]
    assert subs.counts() == ReadCounts(records=12, empty=2, graded=4, skipped=6, answers=4, blank_answers=1,
                                       problems=6)
    assert [p.row for p in subs.problems.kept] == [5, 6, 7, 8, 12, 13]
    assert subs.rows_read == 10


def test_wide_counts_rows_not_answers(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["id", "clip-idea", "clip-loss"], ["s1", "a", ""], ["s1", "c", "d"],
                                      ["", "", ""], ["s2", "", "e"]])
    subs = open_submissions(path, bank)
    read_all(subs)
    assert subs.counts() == ReadCounts(records=4, empty=1, graded=2, skipped=1, answers=4, blank_answers=2,
                                       problems=1)


def test_strict_stops_at_a_runaway_quote(bank: Bank, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('student_id,question_id,answer\ns1,clip-idea,"never\ns2,clip-idea,x\n', encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        read_all(open_submissions(path, bank, strict=True))
    assert str(exc.value) == (f"{path}: row 2: a quote opened in this row is never closed (the field runs to "
                              "the end of the file, line 3); check its quotes (without --strict such rows are "
                              "reported and skipped)")


@pytest.mark.parametrize(("stray", "message"), [
    (b"\x00", "contains a NUL byte (binary data), not text"),
    ("对比学习".encode("gbk"), "not valid utf-8 text; save the file as CSV UTF-8"),
])
def test_a_stray_byte_early_in_the_file_names_its_row(bank: Bank, tmp_path: Path, stray: bytes,
                                                      message: str) -> None:
    rows = "".join(f"s{i},clip-idea,对比学习第{i}次\n" for i in range(20)).encode()
    path = tmp_path / "a.csv"
    path.write_bytes(b"student_id,question_id,answer\ns-bad,clip-idea," + stray + b"\n" + rows)
    subs = open_submissions(path, bank)
    assert len(read_all(subs)) == 20
    assert [str(p) for p in subs.problems.kept] == [f"{path}: row 2: {message}"]


def test_a_second_answer_column_is_reported(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [["student_id", "question_id", "answer", "Answer"],
                                      ["s1", "clip-idea", "", "对比学习"], ["s2", "clip-idea", "对比", ""],
                                      ["s3", "clip-idea", " ", "InfoNCE"]])
    subs = open_submissions(path, bank)
    assert [a.text for a in read_all(subs)] == ["", "对比", ""]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 1, column Answer: column 4 has the same name as column 3; only column 3 is read as the "
        "answer, column 4 is carried through; rename or delete one of them",
        f"{path}: row 1, column Answer: 2 answer(s) graded as blank from column 3 have text in column 4 "
        "(first in row 2); keep one 'answer' column and grade again",
    ]
    assert subs.counts().skipped == 0
    with pytest.raises(InputFileError, match="column 4 has the same name as column 3"):
        open_submissions(path, bank, strict=True)


def test_header_only_file_is_refused_before_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import harness.encoders
    from harness.cli import main
    from harness.scoring.scorer import Scorer

    def no_model(*args: object, **kw: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(Scorer, "load", staticmethod(no_model))
    monkeypatch.setattr(harness.encoders, "get_encoder", no_model)
    path = GRADE_DATA / "header_only.csv"
    with pytest.raises(SystemExit) as exc:
        main(["grade", str(path), "--bank", str(GRADE_DATA / "bank"), "--out", str(tmp_path / "run")])
    assert exc.value.code == 1
    assert capsys.readouterr().err == f"Error: {path}: no answers below the header row\n"
    assert list(tmp_path.iterdir()) == []


def test_grade_command_on_10000_rows_with_an_unclosed_quote(bank: Bank, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from types import SimpleNamespace

    from grade_helpers import FakeScorer

    import harness.encoders
    from harness.cli import main
    from harness.scoring.scorer import Scorer

    monkeypatch.setattr(Scorer, "load", staticmethod(lambda bank, **kw: FakeScorer(bank)))
    backend = SimpleNamespace(name="fake", config=lambda: {"name": "fake"})
    monkeypatch.setattr(harness.encoders, "get_encoder", lambda name, **kw: SimpleNamespace(inner=backend))
    path = tmp_path / "a.csv"
    path.write_text(cohort(10_000, bad=6001, quotes_after=False), encoding="utf-8")
    main(["grade", str(path), "--bank", str(GRADE_DATA / "bank"), "--out", str(tmp_path / "run"), "-q"])
    out, err = capsys.readouterr()
    assert err == (f"Warning: {path}: row 6154: a quote opened in this row is not closed within 200 lines; "
                   "check its quotes\n")
    with (tmp_path / "run" / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == 9_999
    counts = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))["counts"]
    assert (counts["rows_read"], counts["answers"], counts["skipped_rows"]) == (10_000, 9_999, 1)
    rows = counts["rows"]
    assert rows["records"] == rows["graded"] + rows["skipped"] + rows["empty"] == 10_000
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "Rows in the file: 10000 = 9999 graded + 1 skipped + 0 empty" in report


README_CASES = [
    ("unclosed_quote.csv", ["row 5: a quote opened in this row is never closed (the field runs to the end of the "
                            "file, line 9); check its quotes"], 7),
    ("nul_row.csv", ["row 4: contains a NUL byte (binary data), not text"], 3),
    ("utf8_row_in_gbk.csv", ["row 4: UTF-8 text in a GB18030 (GBK) file; save the whole file as CSV UTF-8"], 3),
    ("duplicate_answer_column.csv", [
        "row 1, column Answer: column 4 has the same name as column 3; only column 3 is read as the answer, "
        "column 4 is carried through; rename or delete one of them",
        "row 1, column Answer: 2 answer(s) graded as blank from column 3 have text in column 4 (first in row 2); "
        "keep one 'answer' column and grade again"], 3),
]


@pytest.mark.parametrize(("name", "messages", "graded"), README_CASES, ids=[c[0] for c in README_CASES])
def test_fixtures_give_the_messages_the_readme_shows(bank: Bank, name: str, messages: list[str],
                                                     graded: int) -> None:
    path = GRADE_DATA / name
    subs = open_submissions(path, bank)
    assert len(read_all(subs)) == graded
    assert [str(p) for p in subs.problems.kept] == [f"{path}: {m}" for m in messages]
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert all(f"`FILE: {m}`" in readme for m in messages)
