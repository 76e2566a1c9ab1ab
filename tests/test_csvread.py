"""Reading CSV text: runaway quotes cost one row, encodings are told by most lines, rows are named;
a submissions file accounts for every record it holds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, tiny_bank

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.files.records import DECODE_ERRORS, MAX_RECORD_LINES, read_rows
from harness.grade.problems import ReadCounts
from harness.grade.submissions import Answer, Submissions, open_submissions
from harness.types import Bank

HEADER = "student_id,question_id,answer\n"


def read(text: str, *, delimiter: str = ",", encoding: str = "utf-8",
         max_lines: int = MAX_RECORD_LINES) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]], list[int]]:
    """(rows, bad records, empty lines) of `text`, header included in rows."""
    bad: list[tuple[int, str]] = []
    empty: list[int] = []
    rows = list(read_rows(io.StringIO(text, newline=""), delimiter=delimiter, encoding=encoding,
                          on_bad=lambda line, why: bad.append((line, why)), on_empty=empty.append,
                          max_lines=max_lines))
    return rows, bad, empty


def numbered(n: int, first: int = 0) -> str:
    return "".join(f"s{i},q,answer {i}\n" for i in range(first, first + n))


# --- runaway quotes ------------------------------------------------------------------------------


def test_quote_never_closed_costs_only_its_row() -> None:
    rows, bad, _ = read(HEADER + numbered(3) + 's3,q,"never closed\n' + numbered(5, first=4))
    assert bad == [(5, "a quote opened in this row is never closed (the field runs to the end of the file, "
                       "line 10); check its quotes")]
    assert [line for line, _ in rows] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert rows[4] == (6, ["s4", "q", "answer 4"])


def test_quote_never_closed_on_the_last_line() -> None:
    rows, bad, _ = read(HEADER + numbered(2) + 's2,q,"never closed')
    assert bad == [(4, "a quote opened in this row is never closed (the field runs to the end of the file, "
                       "line 4); check its quotes")]
    assert len(rows) == 3


def test_quote_running_past_the_line_limit_is_cut_off() -> None:
    text = HEADER + numbered(3) + 's3,q,"never closed\n' + numbered(30, first=4)
    rows, bad, _ = read(text, max_lines=10)
    assert bad == [(5, "a quote opened in this row is not closed within 10 lines; check its quotes")]
    assert [line for line, _ in rows] == [1, 2, 3, 4, *range(6, 36)]


def test_quote_closed_by_a_later_row_is_caught_there() -> None:
    text = HEADER + 's0,q,"opened\ns1,q,plain\ns2,q,"quoted, with a comma"\ns3,q,last\n'
    rows, bad, _ = read(text)
    assert bad == [(2, "a quote opened in this row is not closed where it should be (line 4 cannot be "
                       "parsed: ',' expected after '\"'); check its quotes")]
    assert rows[1:] == [(3, ["s1", "q", "plain"]), (4, ["s2", "q", "quoted, with a comma"]),
                        (5, ["s3", "q", "last"])]


def test_quote_that_swallows_rows_into_surplus_cells_is_caught() -> None:
    text = HEADER + 's0,q,"opened\ns1,q,",and more",x\ns2,q,fine\n'
    rows, bad, _ = read(text)
    assert bad[0] == (2, "a quote opened in this row is not closed where it should be (the field runs to "
                         "line 3, giving 5 cells where the header has 3); check its quotes")
    assert (4, ["s2", "q", "fine"]) in rows


def test_multi_line_answers_are_kept_and_numbered_by_their_first_line() -> None:
    text = HEADER + 's0,q,"line one\r\nline two\rline three"\r\ns1,q,next\r\n'
    rows, bad, _ = read(text)
    assert bad == []
    assert rows[1:] == [(2, ["s0", "q", "line one\r\nline two\rline three"]), (5, ["s1", "q", "next"])]


def test_a_long_real_answer_below_the_limit_is_kept() -> None:
    answer = "\n".join(f"第{i}行" for i in range(MAX_RECORD_LINES))
    rows, bad, _ = read(HEADER + f's0,q,"{answer}"\ns1,q,x\n')
    assert bad == [] and rows[1][1][2] == answer and rows[2][0] == 2 + MAX_RECORD_LINES


@pytest.mark.parametrize("at", [1790, 1815, 1830, 2500])
def test_runaway_across_read_blocks_is_recovered(at: int) -> None:
    # lines are read in blocks of about 32K characters (some 1,800 of these lines): the runaway
    # starts near the end of one block and is re-read from the lines kept of it
    text = HEADER + numbered(at) + f's{at},q,"never closed\n' + numbered(5000 - at, first=at + 1)
    rows, bad, _ = read(text)
    assert [line for line, _ in bad] == [at + 2]
    assert [line for line, _ in rows] == [1, *range(2, at + 2), *range(at + 3, 5003)]
    assert rows[-1] == (5002, ["s5000", "q", "answer 5000"])


def test_every_line_opening_a_quote_costs_one_row_each() -> None:
    text = HEADER + "".join(f's{i},q,"open {i}\n' for i in range(50))
    rows, bad, _ = read(text)
    assert len(rows) == 1 and [line for line, _ in bad] == list(range(2, 52))


# --- rows that are reported, padded or skipped ---------------------------------------------------


def test_single_line_faults_keep_their_messages() -> None:
    rows, bad, empty = read(HEADER + 's0,q,a,b,c\ns1,q,"x"y\ns2,q,\x00\n\n,,\ns3\n')
    assert bad == [(2, "5 cells but the header has 3; quote answers that contain the delimiter ','"),
                   (3, "cannot parse the row as CSV (',' expected after '\"'); check its quotes"),
                   (4, "contains a NUL byte (binary data), not text")]
    assert empty == [5, 6]
    assert rows[1:] == [(7, ["s3", "", ""])]


def test_surplus_empty_cells_are_not_a_fault() -> None:
    rows, bad, _ = read(HEADER + "s0,q,a,,\n")
    assert bad == [] and rows[1] == (2, ["s0", "q", "a", "", ""])


def test_undecodable_bytes_name_their_row() -> None:
    rows, bad, _ = read(HEADER + "s0,q,ok\ns1,q,\udcff\udcfe\n")
    assert bad == [(3, "not valid utf-8 text; save the file as CSV UTF-8")] and len(rows) == 2


def test_utf8_row_in_a_gbk_file_is_named() -> None:
    mojibake = "对比学习".encode().decode("gb18030")
    rows, bad, _ = read(HEADER + f"s0,q,对比\ns1,q,{mojibake}\n", encoding="gb18030")
    assert bad == [(3, "UTF-8 text in a GB18030 (GBK) file; save the whole file as CSV UTF-8")]
    assert rows[1] == (2, ["s0", "q", "对比"])


# --- encodings -----------------------------------------------------------------------------------


def lines_of(n: int) -> bytes:
    return "".join(f"s{i},clip-idea,CLIP 用对比学习把图像和文本放到同一个空间，第{i}次\n" for i in range(n)).encode()


@pytest.mark.parametrize(("name", "stray"), [
    ("nul", b"s-bad,clip-idea,\x00\x00\n"),
    ("gbk", "s-bad,clip-idea,对比学习\n".encode("gbk")),
    ("ff", b"s-bad,clip-idea,\xff\xfe\n"),
])
def test_one_stray_row_in_the_first_64kb_does_not_decide_the_encoding(tmp_path: Path, name: str,
                                                                       stray: bytes) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(HEADER.encode() + lines_of(10) + stray + lines_of(10))
    assert detect_format(path).encoding == "utf-8"
    with pytest.raises(InputFileError) as exc:
        list(iter_rows(path))
    assert str(exc.value).startswith(f"{path}: row 12: ")


def test_gbk_file_with_a_few_utf8_rows_is_gbk(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(HEADER.encode("gbk") + lines_of(5).decode().encode("gbk") + lines_of(1)
                     + lines_of(5).decode().encode("gbk"))
    assert detect_format(path).encoding == "gb18030"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_with_long_chinese_answers(tmp_path: Path, encoding: str) -> None:
    text = HEADER + "".join(f"s{i},clip-idea,{'对比学习把图像和文本放到同一个空间' * 20}\n" for i in range(20))
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode(encoding))
    assert detect_format(path).encoding == encoding
    assert len(list(iter_rows(path))) == 20


def test_bad_bytes_in_a_utf16_file_name_their_row(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    lone_surrogate = "s1,q,".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le")
    path.write_bytes(b"\xff\xfe" + (HEADER + "s0,q,对比\n").encode("utf-16-le") + lone_surrogate
                     + "s2,q,ok\n".encode("utf-16-le") + b"\x00")
    fmt = detect_format(path)
    bad: list[tuple[int, str]] = []
    with path.open(encoding=fmt.encoding, errors=DECODE_ERRORS, newline="") as fh:
        rows = list(read_rows(fh, delimiter=",", encoding=fmt.encoding, on_bad=lambda *b: bad.append(b)))
    assert [line for line, _ in rows] == [1, 2, 4]
    assert bad == [(3, "not valid utf-16 text; save the file as CSV UTF-8"),
                   (5, "not valid utf-16 text; save the file as CSV UTF-8")]


def test_mostly_nul_bytes_is_still_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\x00\x01\x02\n\x00\x03,\n\x00\x00\x00\n")
    with pytest.raises(InputFileError, match="this is a binary file, not a CSV text file"):
        detect_format(path)


# --- strict readers name the row -----------------------------------------------------------------


def test_iter_rows_names_the_row_a_runaway_quote_opens_in(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question_id,answer\nq1,ok\nq2,\"never closed\nq3,x\n", encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        list(iter_rows(path))
    assert str(exc.value) == (f"{path}: row 3: a quote opened in this row is never closed (the field runs "
                              "to the end of the file, line 4); check its quotes")


def test_read_header_of_a_runaway_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('"question_id,answer\nq1,ok\n', encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        read_header(path)
    assert str(exc.value) == (f"{path}: row 1: cannot parse the header row: a quote opened in this row is "
                              "never closed (the field runs to the end of the file, line 2); check its quotes")


def test_iter_rows_pads_short_rows_and_skips_empty_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a;b;c\n1;2\n\n;;\n4;5;6\n", encoding="utf-8")
    assert list(iter_rows(path)) == [(2, {"a": "1", "b": "2", "c": ""}), (5, {"a": "4", "b": "5", "c": "6"})]


# --- submissions: nothing lost silently, every record is graded or reported --------------------


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
