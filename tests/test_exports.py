"""Survey and LMS exports read as they come: the tool, the student id, the question columns, the rest.

Fixtures in tests/data/grade/exports/ are shaped like each tool's export
(header, metadata columns, encoding, what it writes for an unanswered item),
with made-up people.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from grade_helpers import GRADE_DATA, tiny_bank

from harness.errors import InputFileError, UnknownQuestionError
from harness.grade.exports import recognise
from harness.grade.labels import answer_number, item_numbered
from harness.grade.mapping import MapRequest, PromptIndex, column_rows, free_text, parse_map, parse_questions
from harness.grade.submissions import Answer, Submissions, open_submissions
from harness.types import Bank

EXPORTS = GRADE_DATA / "exports"
QUESTIONS = ("clip-idea", "clip-loss", "vit-patch")
MOODLE_IN_ORDER = MapRequest(questions=QUESTIONS)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return tiny_bank()


def read_all(subs: Submissions) -> list[Answer]:
    return [a for chunk in subs.chunks() for a in chunk]


def write(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return path


# (file, tool, encoding, student id column, people, blank answers, how each question column was matched,
#  carried-through columns)
SHAPES = [
    ("wjx_gbk.csv", "问卷星 (wjx)", "gb18030", "2、学号", ["2023010101", "2023010102", "2023010103"], 2,
     ["prompt text"] * 3, ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、姓名", "总分"]),
    ("wjx_utf8_bom.csv", "问卷星 (wjx)", "utf-8-sig", "1、学号", ["2023020201", "2023020202"], 1,
     ["prompt text", "similar text", "prompt text"],
     ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "2、姓名", "6、你对本课程有什么建议？",
      "总分"]),
    ("tencent_utf8_bom.csv", "腾讯问卷", "utf-8-sig", "1.学号", ["2023030301", "2023030302"], 1,
     ["prompt text"] * 3, ["编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置", "来源渠道", "2.姓名"]),
    ("google_forms.csv", "Google Forms", "utf-8", "Email Address",
     ["wei.zhang@example.edu", "ana.lima@example.edu", "li.na@example.edu"], 1,
     ["prompt text", "prompt text", "similar text"], ["Timestamp", "Score", "Name"]),
    ("ms_forms_excel_gbk.csv", "Microsoft Forms", "gb18030", "Email",
     ["zhou.min@school.edu.cn", "wu.hao@school.edu.cn"], 1, ["prompt text"] * 3,
     ["ID", "Start time", "Completion time", "Name", "Last modified time", "Total points", "Quiz feedback",
      *(f"{kind} - {q}" for q in ("CLIP 的基本思想是什么？", "CLIP 的损失函数是什么？", "ViT 的 patch 是怎么做的？")
        for kind in ("Points", "Feedback"))]),
    ("moodle_responses.csv", "Moodle quiz responses", "utf-8", "Email address",
     ["jie.huang@uni.example", "c.okafor@uni.example"], 1, ["--questions"] * 3,
     ["Surname", "First name", "State", "Started on", "Completed", "Time taken", "Grade/30.00"]),
    ("canvas_student_analysis.csv", "Canvas quiz student analysis", "utf-8", "sis_id", ["S2024001", "S2024002"], 1,
     ["prompt text"] * 3,
     ["name", "id", "section", "section_id", "section_sis_id", "submitted", "attempt", "4101: points",
      "4102: points", "4103: points", "n correct", "n incorrect", "score"]),
]


@pytest.mark.parametrize(("name", "tool", "encoding", "student", "people", "blanks", "hows", "carried"), SHAPES,
                         ids=[s[0] for s in SHAPES])
def test_each_export_is_read_without_flags(bank: Bank, name: str, tool: str, encoding: str, student: str,
                                           people: list[str], blanks: int, hows: list[str],
                                           carried: list[str]) -> None:
    request = MOODLE_IN_ORDER if name.startswith("moodle") else None
    subs = open_submissions(EXPORTS / name, bank, request=request)
    answers = read_all(subs)
    m = subs.mapping
    assert (m.tool, subs.format.encoding, subs.layout, m.student) == (tool, encoding, "wide", student)
    assert [(c.question_id, c.how) for c in m.matched] == list(zip(QUESTIONS, hows))
    assert [(a.student_id, a.question_id) for a in answers] == [(p, q) for p in people for q in QUESTIONS]
    assert sum(a.blank for a in answers) == blanks
    assert list(subs.extra_names) == carried == list(m.carried)
    assert subs.counts().skipped == 0


def test_metadata_is_carried_through_row_by_row(bank: Bank) -> None:
    subs = open_submissions(EXPORTS / "wjx_gbk.csv", bank)
    first = read_all(subs)[0]
    assert dict(zip(subs.extra_names, first.extras)) == {
        "序号": "1", "提交答卷时间": "2024/3/5 10:12:33", "所用时间": "125秒", "来源": "手机提交",
        "来源详情": "直接访问", "来自IP": "116.23.45.67(广东-广州)", "1、姓名": "张伟", "总分": "0"}


def test_a_tools_unanswered_marks_are_blank_answers(bank: Bank) -> None:
    wjx = {(a.student_id, a.question_id): a.text for a in read_all(open_submissions(EXPORTS / "wjx_gbk.csv", bank))}
    assert wjx[("2023010102", "clip-loss")] == wjx[("2023010102", "vit-patch")] == ""  # (空), (跳过)
    moodle = read_all(open_submissions(EXPORTS / "moodle_responses.csv", bank, request=MOODLE_IN_ORDER))
    assert [a.question_id for a in moodle if a.blank] == ["clip-loss"]  # Moodle's "-"


def test_a_plain_files_dash_is_an_answer(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["学号", "clip-idea"], ["s1", "-"], ["s2", "(空)"]])
    assert [a.text for a in read_all(open_submissions(path, bank))] == ["-", "(空)"]


# --- the student id -----------------------------------------------------------------------------


def test_student_id_prefers_number_then_email_then_login_then_name(bank: Bank, tmp_path: Path) -> None:
    row = {"Name": "Ann", "Username": "ann1", "Email": "ann@x.org", "学号": "s1", "clip-idea": "对比"}
    for taken in ("学号", "Email", "Username", "Name"):
        path = write(tmp_path / "w.csv", [list(row), list(row.values())])
        subs = open_submissions(path, bank)
        assert subs.mapping.student == taken
        assert read_all(subs)[0].student_id == row.pop(taken)


def test_an_id_column_left_empty_gives_way_and_says_why(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["Timestamp", "Email Address", "Name", "学号", "CLIP 的基本思想是什么？"],
                                      ["2024/3/5", "a@x.org", "Ann", "", "对比"],
                                      ["2024/3/5", "b@x.org", "Bo", "s2", "x"]])
    m = open_submissions(path, bank).mapping
    assert (m.student, m.student_kind) == ("Email Address", "email")
    assert m.student_note == "学号 is empty in 1 of the first 2 rows"
    assert "Student id: 'Email Address' (email, 学号 is empty in 1 of the first 2 rows)" in m.lines()


def test_an_anonymous_form_falls_back_to_the_name(bank: Bank, tmp_path: Path) -> None:
    header = ["ID", "Start time", "Completion time", "Email", "Name", "CLIP 的基本思想是什么？"]
    path = write(tmp_path / "w.csv", [header, ["1", "t", "t", "anonymous", "Ann", "a"],
                                      ["2", "t", "t", "anonymous", "Bo", "b"]])
    subs = open_submissions(path, bank)
    assert subs.mapping.student == "Name"  # never the form's response number ID
    assert [a.student_id for a in read_all(subs)] == ["Ann", "Bo"]


def test_map_names_the_student_id(bank: Bank) -> None:
    subs = open_submissions(EXPORTS / "moodle_responses.csv", bank,
                            request=MapRequest.parse(["Surname=student_id"], "clip-idea,clip-loss,vit-patch"))
    assert (subs.mapping.student, subs.mapping.student_kind) == ("Surname", "--map")
    assert {a.student_id for a in read_all(subs)} == {"Huang", "Okafor"}
    assert "Email address" in subs.extra_names


# --- question columns: similarity, unmapped free text, --map and --questions ----------------------


def test_a_reworded_question_below_the_threshold_is_named_not_skipped(bank: Bank, tmp_path: Path) -> None:
    header = ["Timestamp", "Email Address", "Name", "CLIP 的基本思想是什么？", "ViT 是如何把图像变成 token 序列的？"]
    path = write(tmp_path / "g.csv", [header, ["t", "a@x.org", "Ann", "对比学习", "切成 patch 再线性投影"]])
    subs = open_submissions(path, bank)
    assert [a.question_id for a in read_all(subs)] == ["clip-idea"]
    (unmapped,) = subs.mapping.unmapped
    assert (unmapped.header, unmapped.closest, unmapped.similarity) == (header[4], "vit-patch", 0.18)
    assert [str(p) for p in subs.problems.kept] == [
        f"{path}: row 1, column {header[4]}: not graded: free text, no question close enough; closest vit-patch at "
        f"0.18, 0.50 needed; the column is carried through; if it answers a question, grade again with --map "
        f"\"{header[4]}=QUESTION_ID\"; if not, say so with --map \"{header[4]}=-\""]
    with pytest.raises(InputFileError, match="not graded: free text"):
        open_submissions(path, bank, strict=True)
    mapped = open_submissions(path, bank, request=MapRequest.parse([f"{header[4]}=vit-patch"]))
    assert [(m.question_id, m.how) for m in mapped.mapping.matched] == [("clip-idea", "prompt text"),
                                                                        ("vit-patch", "--map")]
    assert not mapped.problems.kept
    silenced = open_submissions(path, bank, request=MapRequest.parse([f"{header[4]}=-"]))
    assert not silenced.problems.kept and silenced.mapping.ignored == (header[4],)


def test_short_columns_are_carried_without_a_word(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["学号", "班级", "clip-idea"], ["s1", "计科1班", "对比"], ["s2", "计科2班", "x"]])
    subs = open_submissions(path, bank)
    assert subs.extra_names == ("班级",) and not subs.mapping.unmapped and not subs.problems.kept


def test_moodle_without_flags_says_how_to_name_its_columns(bank: Bank) -> None:
    path = EXPORTS / "moodle_responses.csv"
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank)
    assert str(exc.value).endswith(
        "its answers are in numbered columns (Response 1, ...) that do not say which question they answer: name "
        "them in order with --questions ID,ID,... or one by one with --map \"Response 1=ID\"")


def test_map_one_by_one_and_questions_skipping_one(bank: Bank) -> None:
    path = EXPORTS / "moodle_responses.csv"
    pairs = [f"Response {i}={q}" for i, q in enumerate(QUESTIONS, 1)]
    by_map = open_submissions(path, bank, request=MapRequest.parse(pairs))
    assert [(m.header, m.question_id, m.how) for m in by_map.mapping.matched] == [
        (f"Response {i}", q, "--map") for i, q in enumerate(QUESTIONS, 1)]
    skipping = open_submissions(path, bank, request=MapRequest.parse(questions="clip-idea,-,vit-patch"))
    assert [m.question_id for m in skipping.mapping.matched] == ["clip-idea", "vit-patch"]
    assert skipping.mapping.ignored == ("Response 2",) and not skipping.problems.kept


def test_a_numbered_column_left_unnamed_is_reported(bank: Bank) -> None:
    subs = open_submissions(EXPORTS / "moodle_responses.csv", bank, request=MapRequest.parse(["Response 1=clip-idea"]))
    assert [m.header for m in subs.mapping.unmapped] == ["Response 2", "Response 3"]
    assert "not graded: a numbered answer column" in str(subs.problems.kept[0])


@pytest.mark.parametrize(("maps", "questions", "message"), [
    (["Response 1=clip-idea", "Response 2=clip-idea"], None,
     "row 1, column 'Response 2': names question 'clip-idea' again (also column 'Response 1'); keep one column "
     "per question ('Response 1' by --map, 'Response 2' by --map); map one of them to another question, or to - "
     "if it answers none, with --map \"COLUMN=QUESTION_ID\""),
    (["Respons 1=clip-idea"], None, "--map names column 'Respons 1', which the header does not have; did you mean "
     "'Response 1'? (its columns: 'Surname', 'First name', 'Email address', 'State', 'Started on', 'Completed', "
     "'Time taken', 'Grade/30.00', 'Response 1', 'Response 2', 'Response 3')"),
    (["Response 1=clip-idea", "response 1=clip-loss"], None, "--map names column 'Response 1' twice; map each "
     "column once"),
    ([], "clip-idea,clip-loss,vit-patch,clip-idea", "row 1: --questions names 4 questions but the file has 3 "
     "numbered answer columns: Response 1, Response 2, Response 3"),
])
def test_map_errors_name_the_columns(bank: Bank, maps: list[str], questions: str | None, message: str) -> None:
    path = EXPORTS / "moodle_responses.csv"
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank, request=MapRequest.parse(maps, questions))
    assert str(exc.value) == f"{path}: {message}"


def test_map_onto_a_column_already_matched_is_an_error_naming_both(bank: Bank) -> None:
    path = EXPORTS / "google_forms.csv"
    with pytest.raises(InputFileError) as exc:
        open_submissions(path, bank, request=MapRequest.parse(["Name=clip-idea"]))
    assert "column 'CLIP 的基本思想是什么？': names question 'clip-idea' again (also column 'Name')" in str(exc.value)


def test_map_to_an_unknown_question(bank: Bank) -> None:
    with pytest.raises(UnknownQuestionError) as exc:
        open_submissions(EXPORTS / "moodle_responses.csv", bank, request=MapRequest.parse(["Response 1=clip-ide"]))
    assert str(exc.value) == ("--map \"Response 1=clip-ide\": the bank has no question 'clip-ide'; "
                              "did you mean clip-idea?")


def test_questions_need_numbered_columns(bank: Bank) -> None:
    with pytest.raises(InputFileError, match="--questions maps numbered answer columns"):
        open_submissions(EXPORTS / "google_forms.csv", bank, request=MOODLE_IN_ORDER)


def test_two_similar_columns_on_one_question_is_an_error(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["学号", "请简述 CLIP 的基本思想", "CLIP 的基本思想简述"], ["s1", "a", "b"]])
    with pytest.raises(InputFileError, match="names question 'clip-idea' again .* by similar text"):
        open_submissions(path, bank)


def test_a_similar_column_gives_way_to_an_exact_one(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", [["学号", "请简述 CLIP 的基本思想", "clip-idea"], ["s1", "对比学习的思想", "b"]])
    subs = open_submissions(path, bank)
    assert [(m.header, m.how) for m in subs.mapping.matched] == [("clip-idea", "question id")]
    assert subs.mapping.unmapped[0].how == "free text, close to clip-idea, which column 'clip-idea' answers"


# --- the pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "tool"), [
    (["序号", "提交答卷时间", "1、姓名", "2、q"], "问卷星 (wjx)"),
    (["编号", "答题时长", "Q1. 学号", "Q2. q"], "腾讯问卷"),
    (["Timestamp", "Email Address", "q"], "Google Forms"),
    (["ID", "Start time", "Completion time", "q"], "Microsoft Forms"),
    (["Last name", "First name", "Response 1"], "Moodle quiz responses"),
    (["name", "id", "sis_id", "section_sis_id", "1: q", "1.0"], "Canvas quiz student analysis"),
    (["学号", "1. q", "2. r"], "numbered survey"),
    (["学号", "1. q", "vit-patch"], None),
])
def test_tools_are_recognised_by_their_headers(header: list[str], tool: str | None) -> None:
    assert recognise(header).tool == tool


def test_survey_metadata_and_ids() -> None:
    shape = recognise(["编号", "开始答题时间", "用户标识", "1.学号", "2.q", "备注"])
    assert shape.metadata == {1, 5} and shape.not_ids == {0}  # 编号 counts responses; 用户标识 may be the id


@pytest.mark.parametrize(("text", "number", "item"), [
    ("Response 3", 3, False), ("Question 12", 12, False), ("Q3", 3, False), ("第2题", 2, False),
    ("Q. 3 /1.00", None, False), ("3、姓名", None, True), ("Q1. 学号", None, True), ("序号", None, False),
])
def test_numbered_columns_and_items(text: str, number: int | None, item: bool) -> None:
    assert (answer_number(text), item_numbered(text)) == (number, item)


@pytest.mark.parametrize(("text", "closest"), [
    ("请简述 CLIP 的基本思想", ("clip-idea", 0.73)),
    ("What's the basic idea of CLIP?", ("clip-idea", 0.75)),
    ("CLIP 的训练数据是什么？", ("clip-idea", 0.4)),  # as close to clip-loss: not mapped
    ("班级", (None, 0.0)),
])
def test_prompt_similarity(bank: Bank, text: str, closest: tuple[str | None, float]) -> None:
    assert PromptIndex(bank).closest(text)[:2] == closest


@pytest.mark.parametrize(("label", "cells", "expected"), [
    ("Comments", ["This course needs more worked examples on attention."], True),
    ("备注", ["希望多讲一些多模态模型的最新进展"], True),
    ("你对本课程有什么建议？", [""], True),
    ("Explain attention", ["x"], True),
    ("班级", ["计科1班", "计科2班"], False),
    ("Completed", ["5 March 2024  10:19 AM"], False),
    ("来源详情", ["https://www.wjx.cn/vm/abc123.aspx"], False),
])
def test_free_text(label: str, cells: list[str], expected: bool) -> None:
    assert free_text(label, cells) is expected


def test_map_and_questions_syntax() -> None:
    assert parse_map(" a=b=c ") == ("a=b", "c")
    assert parse_questions("a, -,b") == ("a", "-", "b")
    for bad in ("no-equals", "=q", "col="):
        with pytest.raises(ValueError, match="expected COLUMN=QUESTION_ID"):
            parse_map(bad)
    with pytest.raises(ValueError, match="an empty question id"):
        parse_questions("a,,b")


def test_the_record_round_trips_into_report_rows(bank: Bank) -> None:
    m = open_submissions(EXPORTS / "wjx_utf8_bom.csv", bank).mapping
    rows, note = column_rows(m.as_json())
    assert rows == (
        ("1、学号", "student_id", "student number"),
        ("3、CLIP 的基本思想是什么？（10分）", "clip-idea", "prompt text"),
        ("4、请简述 CLIP 训练时用的损失函数（10分）", "clip-loss", "similar text, 0.57"),
        ("5、ViT 的 patch 是怎么做的？（5分）", "vit-patch", "prompt text"),
        ("6、你对本课程有什么建议？", "not graded",
         "free text, no question close enough; closest clip-idea at 0.14, 0.50 needed"),
    )
    assert note.startswith("问卷星 (wjx), wide layout; carried through: 序号, 提交答卷时间")


def test_the_readme_shows_what_grade_prints(bank: Bank) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    path = EXPORTS / "wjx_utf8_bom.csv"
    subs = open_submissions(path, bank)
    assert "\n".join(subs.mapping.lines()) in readme
    (problem,) = subs.problems.kept
    assert f"`{str(problem).replace(str(path), 'FILE')}`" in readme
    listed = set(re.findall(r"python -m harness grade tests/data/grade/exports/(\S+)", readme))
    assert listed == {p.name for p in EXPORTS.glob("*.csv")} - {"wjx_utf8_bom.csv"}


def test_a_few_empty_ids_keep_the_id_and_are_reported_row_by_row(bank: Bank, tmp_path: Path) -> None:
    rows = [["学号", "姓名", "clip-idea"], *([f"s{i}", f"N{i}", "x"] for i in range(10)), ["", "Bo", "y"]]
    subs = open_submissions(write(tmp_path / "w.csv", rows), bank)
    assert (subs.mapping.student, subs.mapping.student_note) == ("学号", "")
    assert len(read_all(subs)) == 10 and "empty student id" in str(subs.problems.kept[0])


def test_one_person_in_a_long_file_is_not_anonymous(bank: Bank, tmp_path: Path) -> None:
    rows = [["student_id", "name", "question_id", "answer"], ["s1", "Ann", "clip-idea", "a"],
            ["s1", "Ann", "clip-loss", "b"]]
    subs = open_submissions(write(tmp_path / "l.csv", rows), bank)
    assert (subs.mapping.student, subs.mapping.student_note) == ("student_id", "")


def test_the_wjx_file_from_the_issue_is_graded_by_name(bank: Bank, tmp_path: Path) -> None:
    header = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、姓名", "2、CLIP 的基本思想是什么？",
              "3、CLIP 的损失函数是什么？", "总分"]
    path = write(tmp_path / "wjx.csv", [header, ["1", "2024/3/5 10:12:33", "125秒", "手机提交", "直接访问", "1.2.3.4",
                                                 "张伟", "对比学习", "InfoNCE", "0"]], encoding="gbk")
    subs = open_submissions(path, bank)
    assert (subs.mapping.student, subs.mapping.student_kind) == ("1、姓名", "name")
    assert [(a.student_id, a.question_id) for a in read_all(subs)] == [("张伟", "clip-idea"), ("张伟", "clip-loss")]
