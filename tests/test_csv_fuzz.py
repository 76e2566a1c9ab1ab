"""Property-based fuzzing of the CSV reader: never a traceback, every row graded or reported.

Files are built from arbitrary bytes, from CSV-like text in every supported
encoding, and from rows written by `csv.writer` with one row broken (a quote
never closed, a NUL, GBK bytes in a UTF-8 file). Answer texts draw on quotes,
delimiters, line breaks and Chinese characters whose GBK bytes are never
valid UTF-8 (so a GBK file is told from a UTF-8 one by its first bytes).
"""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from grade_helpers import tiny_bank
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows
from harness.grade.submissions import Answer, Submissions, open_submissions

BANK = tiny_bank()
QIDS = sorted(BANK.questions)
CJK = "个函力对层本机案比空答练编表觉负间，。？"  # GBK lead byte below 0xC2: never valid UTF-8
TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,;\t\"'\r\n-_.:()" + CJK, max_size=40)
ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def file(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "fuzz.csv"


def lines_in(text: str) -> int:
    """Lines as the reader counts them (split at \\n, \\r and \\r\\n)."""
    return len(io.StringIO(text, newline="").readlines())


def grade_read(path: Path) -> tuple[Submissions | None, list[Answer]]:
    """Open and read `path` as `harness grade` does; only InputFileError may stop it."""
    try:
        subs = open_submissions(path, BANK)
    except InputFileError:
        return None, []
    answers: list[Answer] = []
    try:
        for chunk in subs.chunks(7):
            answers += chunk
    except InputFileError as exc:
        assert "could be graded" in str(exc) or "no answers" in str(exc)
    return subs, answers


def assert_accounted(subs: Submissions, answers: list[Answer], path: Path) -> None:
    """Every record below the header is empty, graded or skipped with a problem; rows in file order."""
    counts = subs.counts()
    assert counts.records == counts.empty + counts.graded + counts.skipped
    assert counts.answers == len(answers) and counts.graded == len({a.row for a in answers})
    assert counts.problems >= counts.skipped
    rows = [a.row for a in answers]
    assert rows == sorted(rows) and all(r >= 2 for r in rows)
    last = max(lines_in(path.read_bytes().decode("latin-1")), 1)
    assert all(1 <= p.row <= last for p in subs.problems.kept)


# --- anything at all: a clear error or an account of every record -------------------------------


CSVISH = st.lists(st.sampled_from([b'"', b",", b";", b"\t", b"\n", b"\r", b"\0", b"\xff", b"\xa3\xac",
                                   "对比".encode(), "对比".encode("gbk"), b"s1", b"clip-idea", b"  "]),
                  max_size=60).map(b"".join)


@FUZZ
@given(head=st.sampled_from([b"", b"student_id,question_id,answer\n", b"\xef\xbb\xbfid,clip-idea,clip-loss\r\n",
                             "学号;题号;答案\n".encode("gbk")]),
       body=st.one_of(st.binary(max_size=300), CSVISH))
def test_any_bytes_give_a_clear_error_or_every_record_accounted_for(file: Path, head: bytes, body: bytes) -> None:
    file.write_bytes(head + body)
    subs, answers = grade_read(file)
    if subs is not None:
        assert_accounted(subs, answers, file)
    try:
        list(iter_rows(file, detect_format(file)))
    except InputFileError:
        pass


@FUZZ
@given(text=TEXT.map(lambda t: "student_id,question_id,answer\n" + t.replace("q", "clip-idea")),
       encoding=st.sampled_from(ENCODINGS))
def test_csv_like_text_in_any_encoding_is_accounted_for(file: Path, text: str, encoding: str) -> None:
    file.write_bytes(text.encode(encoding))
    subs, answers = grade_read(file)
    if subs is not None:
        assert_accounted(subs, answers, file)


# --- rows written properly: read back exactly; one broken row: only that row lost ----------------


ROWS = st.lists(TEXT, min_size=1, max_size=25)
SAFE_START = TEXT.map(lambda t: "x" + t if t[:1] in "\",;\t\r\n" else t)  # see test_one_broken_row...


def written(texts: list[str], *, delimiter: str, terminator: str) -> list[str]:
    """Each row as csv.writer writes it: student s<i>, a question, the text."""
    out = []
    for i, text in enumerate(texts):
        buffer = io.StringIO()  # written with \r\n, so a lone \r in a text is quoted too
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow([f"s{i}", QIDS[i % len(QIDS)], text])
        out.append(buffer.getvalue()[:-2] + terminator)
    return out


def header(delimiter: str, terminator: str) -> str:
    return delimiter.join(["student_id", "question_id", "answer"]) + terminator


@FUZZ
@given(texts=ROWS, encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from(",;\t"),
       terminator=st.sampled_from(["\r\n", "\n"]))
def test_rows_written_by_csv_writer_are_read_back_exactly(file: Path, texts: list[str], encoding: str,
                                                          delimiter: str, terminator: str) -> None:
    rows = written(texts, delimiter=delimiter, terminator=terminator)
    file.write_bytes((header(delimiter, terminator) + "".join(rows)).encode(encoding))
    subs, answers = grade_read(file)
    assert subs is not None and subs.format.delimiter == delimiter
    assert [(a.student_id, a.text) for a in answers] == [(f"s{i}", t.strip()) for i, t in enumerate(texts)]
    starts = [2 + sum(lines_in(r) for r in rows[:i]) for i in range(len(rows))]
    assert [a.row for a in answers] == starts
    assert subs.problems.kept == [] and subs.counts().records == len(texts)


@FUZZ
@given(texts=st.lists(SAFE_START, min_size=1, max_size=25), data=st.data(),
       kind=st.sampled_from(["unclosed", "nul", "gbk"]), encoding=st.sampled_from(ENCODINGS),
       delimiter=st.sampled_from(",;\t"))
def test_one_broken_row_costs_only_itself(file: Path, texts: list[str], data: st.DataObject, kind: str,
                                          encoding: str, delimiter: str) -> None:
    # Every answer starts with a character other than a quote, a delimiter or a line break, so a
    # runaway quote meets its end at the next quoted field: otherwise `"` + `,` could close it
    # where a real field opens, and no reader can tell that row from a real multi-line answer.
    k = data.draw(st.integers(0, len(texts) - 1), label="broken row")
    if kind == "gbk":
        encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig"]), label="encoding")
    rows = written(texts, delimiter=delimiter, terminator="\n")
    broken = data.draw(st.text(alphabet=string.ascii_letters + " ,;\t'" + CJK, max_size=20), label="text")
    if kind == "gbk":  # written as it is, not quoted
        broken = broken.replace(delimiter, "")
    if kind == "unclosed":
        rows[k] = delimiter.join([f"s{k}", QIDS[k % len(QIDS)], '"' + broken]) + "\n"
    elif kind == "nul":
        rows[k] = written([broken + "\0" + broken], delimiter=delimiter, terminator="\n")[0].replace("s0", f"s{k}", 1)
    parts = [(header(delimiter, "\n") + "".join(rows[:k])).encode(encoding)]
    if kind == "gbk":
        parts.append(f"s{k}{delimiter}{QIDS[k % len(QIDS)]}{delimiter}对比{broken}\n".encode("gbk"))
    else:
        parts.append(rows[k].encode(encoding))
    parts.append("".join(rows[k + 1:]).encode(encoding))
    data_bytes = b"".join(parts)
    if encoding in ("utf-8-sig", "utf-16"):  # one BOM, at the start
        bom = "".encode(encoding)
        data_bytes = bom + data_bytes.replace(bom, b"")
    file.write_bytes(data_bytes)
    subs, answers = grade_read(file)
    assert subs is not None
    line = 2 + sum(lines_in(r) for r in rows[:k])
    kept = [(a.student_id, a.text) for a in answers]
    expected = [(f"s{i}", t.strip()) for i, t in enumerate(texts) if i != k]
    if kind == "gbk" and subs.format.encoding == "gb18030":  # no other row has UTF-8 Chinese in it
        assert kept == [(f"s{i}", t.strip()) if i != k else (f"s{k}", ("对比" + broken).strip())
                        for i, t in enumerate(texts)]
        return
    assert kept == expected
    assert [p.row for p in subs.problems.kept] == [line]
    assert subs.counts().records == len(texts)
