"""Reading submissions: layouts, header aliases, encodings, delimiters, and every input error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, tiny_bank

from harness.errors import InputFileError
from harness.grade.header import QuestionMatcher, header_key, normalize_label
from harness.grade.submissions import Answer, Submissions, open_submissions
from harness.types import Bank

LONG = GRADE_DATA / "long.csv"
HEADER = ["student_id", "question_id", "answer"]


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def read_all(subs: Submissions, size: int = 1000) -> list[Answer]:
    return [a for chunk in subs.chunks(size) for a in chunk]


def triples(answers: list[Answer]) -> list[tuple[str, str, str]]:
    return [(a.student_id, a.question_id, a.text) for a in answers]


def long_rows() -> list[list[str]]:
    with LONG.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return path


# --- layouts and headers ---------------------------------------------------------------------


def test_long_layout_streams_answers_in_file_order(bank: Bank) -> None:
    subs = open_submissions(LONG, bank)
    answers = read_all(subs)
    assert subs.layout == "long"
    assert subs.extra_names == ("human_score",)
    assert len(answers) == 12
    assert [a.row for a in answers] == [2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]  # row 9 spans two lines
    assert answers[7].text == "交叉熵\n（多行答案）"
    assert answers[0].extras == ("9",)
    assert [a.student_index for a in answers] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_blank_answer_is_read_not_dropped(bank: Bank) -> None:
    blank = [a for a in read_all(open_submissions(LONG, bank)) if a.blank]
    assert [(a.student_id, a.question_id, a.row) for a in blank] == [("s2", "clip-loss", 6)]


def test_wide_layout_matches_headers_by_id_and_by_prompt_text(bank: Bank) -> None:
    long = read_all(open_submissions(LONG, bank))
    subs = open_submissions(GRADE_DATA / "wide.csv", bank)
    wide = read_all(subs)
    assert subs.layout == "wide"
    assert subs.extra_names == ("姓名",)
    assert triples(wide) == triples(long)
    assert wide[0].extras == ("张三",)


def test_gbk_semicolon_wide_file(bank: Bank) -> None:
    subs = open_submissions(GRADE_DATA / "wide_gbk.csv", bank)
    assert subs.format.delimiter == ";"
    assert triples(read_all(subs)) == triples(read_all(open_submissions(LONG, bank)))


def test_chinese_header_aliases_bom_and_tabs(bank: Bank) -> None:
    subs = open_submissions(GRADE_DATA / "long_aliases_bom.tsv", bank)
    assert (subs.layout, subs.format.encoding, subs.format.delimiter) == ("long", "utf-8-sig", "\t")
    assert subs.extra_names == ("人工评分",)
    assert triples(read_all(subs)) == triples(read_all(open_submissions(LONG, bank)))


def test_header_names_are_case_insensitive_with_aliases(bank: Bank, tmp_path: Path) -> None:
    rows = [["Name", "Student ID", "QUESTION", "Response"], ["Ann", "s1", "clip-idea", "对比"]]
    path = write(tmp_path / "a.csv", rows)
    subs = open_submissions(path, bank)
    (a,) = read_all(subs)
    assert (a.student_id, a.question_id, a.text, a.extras) == ("s1", "clip-idea", "对比", ("Ann",))
    assert subs.extra_names == ("Name",)


def test_question_cells_may_hold_the_prompt_text(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [["学号", "题目", "答案"], ["s1", "ＣＬＩＰ　的基本思想是什么?", "对比"],
                                      ["s2", "Q3: How does ViT turn an image into patches", "切分"]])
    assert [a.question_id for a in read_all(open_submissions(path, bank))] == ["clip-idea", "vit-patch"]


@pytest.mark.parametrize(("label", "expected"), [
    ("clip-idea", "clip-idea"),
    ("CLIP-IDEA", "clip-idea"),
    ("1. CLIP 的基本思想是什么？（10分）", "clip-idea"),
    ("第2题 CLIP 的损失函数是什么？", "clip-loss"),
    ("  What is CLIP's   loss function?  [5 points]", "clip-loss"),
    ("ViT 的 patch 是怎么做的", "vit-patch"),
    ("时间戳", None),
])
def test_question_matcher(bank: Bank, label: str, expected: str | None) -> None:
    assert QuestionMatcher(bank).find(label) == expected


def test_header_key_and_normalize_label() -> None:
    assert header_key(" Student-ID ") == "student_id"
    assert header_key("ＡＮＳＷＥＲ") == "answer"
    assert normalize_label("3、 ＣＬＩＰ 是什么？ (10 分)") == "clip 是什么"


def test_layout_option_overrides_detection(bank: Bank) -> None:
    with pytest.raises(InputFileError) as exc:
        open_submissions(GRADE_DATA / "wide.csv", bank, layout="long")
    assert str(exc.value) == (
        f"{GRADE_DATA / 'wide.csv'}: row 1: missing required column question_id (also accepted: qid, "
        "question, 题号, 题目); the header is: 学号,姓名,1. CLIP 的基本思想是什么？（10分）,"
        "What is CLIP's loss function?,vit-patch; for one column per question use --layout wide"
    )
    with pytest.raises(InputFileError, match="row 1: no column is headed by a question id"):
        open_submissions(LONG, bank, layout="wide")


def test_wide_header_typo_is_reported_and_carried_through(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["id", "clip-idea", "clip-losss"], ["s1", "对比", "InfoNCE"]])
    subs = open_submissions(path, bank)
    answers = read_all(subs)
    assert triples(answers) == [("s1", "clip-idea", "对比")]
    assert answers[0].extras == ("InfoNCE",)
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 1, column clip-losss: unknown question id 'clip-losss'; did you mean clip-loss? "
        "(the column is carried through, not graded)"
    ]


def test_wide_two_columns_for_one_question(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["id", "clip-idea", "CLIP 的基本思想是什么？"], ["s1", "a", "b"]])
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank)
    assert str(exc.value) == (f"{path}: row 1, column 'CLIP 的基本思想是什么？': names question 'clip-idea' "
                              "again (also column 'clip-idea'); keep one column per question")


# --- encodings and delimiters ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters_read_the_same(bank: Bank, tmp_path: Path, encoding: str,
                                                delimiter: str) -> None:
    path = write(tmp_path / "s.csv", long_rows(), encoding=encoding, delimiter=delimiter)
    subs = open_submissions(path, bank)
    assert subs.format.delimiter == delimiter
    assert triples(read_all(subs)) == triples(read_all(open_submissions(LONG, bank)))


# --- errors that stop everything -------------------------------------------------------------


def test_missing_required_column(bank: Bank) -> None:
    path = GRADE_DATA / "missing_column.csv"
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank)
    assert str(exc.value) == (
        f"{path}: row 1: missing required column question_id (also accepted: qid, question, 题号, 题目); "
        "the header is: student_id,answer; for one column per question use --layout wide"
    )


def test_missing_student_column(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [["question_id", "answer"], ["clip-idea", "x"]])
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank)
    assert str(exc.value) == (f"{path}: row 1: missing required column student_id (also accepted: student, "
                              "name, 学号, 姓名, id); the header is: question_id,answer")


@pytest.mark.parametrize(("name", "message"), [
    ("empty.csv", "the file is empty; expected a header row and answers"),
    ("binary.dat", "this is a binary file, not a CSV text file"),
    ("binary.xlsx", "this is a binary file (an Excel workbook or other archive), not a CSV text file; "
                    "save it as CSV UTF-8 and grade that"),
    ("no-such-file.csv", "file not found"),
])
def test_unreadable_files(bank: Bank, name: str, message: str) -> None:
    with pytest.raises(InputFileError) as exc:
        open_submissions(GRADE_DATA / name, bank)
    assert str(exc.value) == f"{GRADE_DATA / name}: {message}"


def test_header_without_answers_is_refused_on_opening(bank: Bank, tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as exc:
        open_submissions(GRADE_DATA / "header_only.csv", bank)
    assert str(exc.value) == f"{GRADE_DATA / 'header_only.csv'}: no answers below the header row"
    blank_lines = tmp_path / "a.csv"
    blank_lines.write_text("student_id,question_id,answer\n\n,,\n  ,\t,\n\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no answers below the header row"):
        open_submissions(blank_lines, bank)


def test_no_row_can_be_graded(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [HEADER, ["s1", "nope", "x"], ["s2", "nope", "y"]])
    with pytest.raises(InputFileError) as exc:
        read_all(open_submissions(path, bank))
    assert str(exc.value) == (f"{path}: none of the 2 rows could be graded; first problem: {path}: row 2, "
                              "column question_id: unknown question id 'nope'; the bank has 3 questions "
                              "(see `harness bank list --bank ...`)")


# --- bad rows: reported and skipped, or refused with strict ----------------------------------


def test_unknown_question_row_is_skipped_and_reported(bank: Bank) -> None:
    path = GRADE_DATA / "unknown_question.csv"
    subs = open_submissions(path, bank)
    assert triples(read_all(subs)) == [("s1", "clip-idea", "对比学习"), ("s2", "clip-idea", "对比学习")]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 3, column question_id: unknown question id 'clip-ideaa'; did you mean clip-idea?"
    ]
    assert (subs.problems.count, subs.problems.skipped_rows) == (1, 1)


def test_duplicate_pair_keeps_the_first(bank: Bank) -> None:
    path = GRADE_DATA / "duplicate.csv"
    subs = open_submissions(path, bank)
    assert triples(read_all(subs)) == [("s1", "clip-idea", "对比学习"), ("s2", "clip-idea", "自然语言")]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 4, column student_id: duplicate answer: student 's1' already answered clip-idea "
        "in row 2; the first answer is kept"
    ]


def test_unparsable_rows_are_skipped(bank: Bank) -> None:
    path = GRADE_DATA / "unparsable.csv"
    subs = open_submissions(path, bank)
    assert triples(read_all(subs)) == [("s1", "clip-idea", "对比学习"), ("s4", "clip-idea", "自然语言")]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 3: 5 cells but the header has 3; quote answers that contain the delimiter ','",
        f"{path}: row 4: cannot parse the row as CSV (',' expected after '\"'); check its quotes",
    ]


def test_undecodable_row_far_into_the_file(bank: Bank, tmp_path: Path) -> None:
    good = "".join(f"s{i},clip-idea,对比学习第{i}次\n" for i in range(3000)).encode()
    path = tmp_path / "a.csv"
    bad = b"bad,clip-idea,\xff\xfe oops\nlast,clip-idea,ok\n"
    path.write_bytes(b"student_id,question_id,answer\n" + good + bad)
    subs = open_submissions(path, bank)
    answers = read_all(subs)
    assert len(answers) == 3001 and answers[-1].student_id == "last"
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 3002: not valid utf-8 text; save the file as CSV UTF-8"
    ]


def test_empty_student_id(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [HEADER, ["", "clip-idea", "x"], ["s2", "clip-idea", "y"]])
    subs = open_submissions(path, bank)
    assert len(read_all(subs)) == 1
    assert [str(p) for p in subs.problems.kept] == [f"{path}: row 2, column student_id: empty student id"]


@pytest.mark.parametrize(("name", "message"), [
    ("unknown_question.csv", "row 3, column question_id: unknown question id 'clip-ideaa'; "
                             "did you mean clip-idea?"),
    ("duplicate.csv", "row 4, column student_id: duplicate answer: student 's1' already answered clip-idea "
                      "in row 2; the first answer is kept"),
    ("unparsable.csv", "row 3: 5 cells but the header has 3; quote answers that contain the delimiter ','"),
])
def test_strict_stops_at_the_first_problem(bank: Bank, name: str, message: str) -> None:
    subs = open_submissions(GRADE_DATA / name, bank, strict=True)
    with pytest.raises(InputFileError) as exc:
        read_all(subs)
    assert str(exc.value) == (f"{GRADE_DATA / name}: {message} "
                              "(without --strict such rows are reported and skipped)")


def test_wide_duplicate_person_row(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["id", "clip-idea", "clip-loss"], ["s1", "a", "b"], ["s1", "c", "d"]])
    subs = open_submissions(path, bank)
    assert triples(read_all(subs)) == [("s1", "clip-idea", "a"), ("s1", "clip-loss", "b")]
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 3, column id: duplicate answer: student 's1' already answered clip-idea, clip-loss "
        "in row 2; the first answer is kept"
    ]


# --- streaming -------------------------------------------------------------------------------


def test_chunks_are_bounded(bank: Bank) -> None:
    sizes = [len(c) for c in open_submissions(LONG, bank).chunks(5)]
    assert sizes == [5, 5, 2]


def test_chunks_can_be_read_once(bank: Bank) -> None:
    subs = open_submissions(LONG, bank)
    read_all(subs)
    with pytest.raises(RuntimeError):
        read_all(subs)


def test_bytes_read_reaches_the_file_size(bank: Bank, tmp_path: Path) -> None:
    rows = [HEADER] + [[f"s{i}", "clip-idea", "对比学习" * 20] for i in range(2000)]
    path = write(tmp_path / "big.csv", rows)
    subs = open_submissions(path, bank)
    seen = []
    for _ in subs.chunks(500):
        seen.append(subs.bytes_read)
    assert seen == sorted(seen) and seen[-1] == subs.size == path.stat().st_size

