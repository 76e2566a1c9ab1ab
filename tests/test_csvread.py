"""Reading CSV text: runaway quotes cost one row, encodings are told by most lines, rows are named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.files.records import DECODE_ERRORS, MAX_RECORD_LINES, read_rows

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

