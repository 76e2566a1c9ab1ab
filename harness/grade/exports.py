"""Recognising the files survey tools and LMSs export, by their headers alone.

A teacher grades the file the class answered in as it comes. `recognise`
tells from the header which tool wrote it and what each column is:

- **问卷星 (wjx)** and **腾讯问卷**: every item numbered (`3、...`, `3.`,
  `Q3.`), the name and 学号 items like any other; the tool's own columns
  (序号/编号, times, IP, 来源, 总分) are not numbered.
- **Google Forms** (`Timestamp,Email Address,...`) and **Microsoft Forms**
  (`ID,Start time,Completion time,Email,Name,...`; quiz `Points - Q` and
  `Feedback - Q` columns).
- **Moodle quiz responses** (`Surname,First name,Email address,State,Started
  on,...,Grade/30.00,Response 1,...`): the answers sit under `Response N`,
  the question text nowhere, so they need `--questions` or `--map`.
- **Canvas quiz student analysis** (`name,id,sis_id,section,...`, then
  `<item id>: <question text>` columns each followed by its points column,
  then `n correct,n incorrect,score`).

A tool's own columns are *metadata*: carried through, never taken for a
question or a student id. What is left is matched to the bank by
`harness.grade.mapping`. Cells the tools write for an unanswered item
(`(跳过)`, `(空)`, Moodle's `-`) read as blank answers in that tool's files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.grade.identity import is_id_alias
from harness.grade.labels import answer_number, header_key, item_numbered, normalize_label

_SURVEY_BLANKS = frozenset({"(跳过)", "（跳过）", "(空)", "（空）"})
BLANK_MARKS = {"问卷星 (wjx)": _SURVEY_BLANKS, "腾讯问卷": _SURVEY_BLANKS, "Moodle quiz responses": frozenset({"-"})}
"""What each tool writes for an item left unanswered; read as a blank answer in its files only."""

# The tools' own columns, by header key, in any file: times, places, totals, states.
_METADATA = frozenset({
    "timestamp", "时间戳", "时间戳记", "時間戳記", "start_time", "completion_time", "end_time",
    "last_modified_time", "submitted", "submit_time", "submitted_at", "started_on", "completed", "time_taken",
    "state", "status", "ip", "ip_address", "提交时间", "提交答卷时间", "开始时间", "完成时间", "结束时间",
    "上次修改时间", "开始答题时间", "结束答题时间", "起始答题时间", "所用时间", "答题时长", "用时", "状态",
    "来自ip", "ip地址", "来源", "来源详情", "来源渠道", "地理位置", "地理位置国家和地区", "省份", "城市",
    "序号", "总分", "得分", "分数", "score", "total_score", "total_points", "points", "grade", "quiz_feedback",
    "测验反馈", "attempt", "section", "section_id", "section_sis_id", "root_account", "n_correct",
    "n_incorrect", "institution", "department", "用户类型", "昵称", "自定义字段",
})
# Columns that count responses, named like a student id: never the id in these tools' files.
_RESPONSE_NUMBERS = {"腾讯问卷": frozenset({"编号"}), "Microsoft Forms": frozenset({"id"}),
                     "问卷星 (wjx)": frozenset({"编号", "答卷编号"})}
_MOODLE_META = re.compile(r"^(?:grade/.*|q\._?\d+_?/.*|right_answer_\d+)$")
_FORMS_POINTS = re.compile(r"^(?:points|feedback|分数|反馈|得分)\s*-\s*\S", re.IGNORECASE)
_GOOGLE_POINTS = re.compile(r"\[\s*(?:score|feedback|分数|反馈|得分)\s*\]\s*$", re.IGNORECASE)
_CANVAS_ITEM = re.compile(r"^\s*(\d+):\s*(?:question\s*\n)?", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_SURVEYS = ("问卷星 (wjx)", "腾讯问卷", "numbered survey")


@dataclass(frozen=True)
class ExportShape:
    """What a header says about the tool that wrote the file, column by column.

    `labels` are the headers with the tool's decorations dropped (an item
    number, Canvas's `<item id>: `), as compared with aliases and prompts;
    `names` are the names columns are carried through under (a Canvas
    points column is named after its item). `numbered` lists (column, N) for
    `Response N`-style columns, in order of N.
    """

    tool: str | None
    labels: tuple[str, ...]
    names: tuple[str, ...]
    metadata: frozenset[int]
    numbered: tuple[tuple[int, int], ...]
    not_ids: frozenset[int] = frozenset()

    @property
    def blank_marks(self) -> frozenset[str]:
        """What this tool writes in a cell for an unanswered item."""
        return BLANK_MARKS.get(self.tool or "", frozenset())

    @property
    def survey(self) -> bool:
        """True for a numbered-item survey (问卷星, 腾讯问卷 and the like)."""
        return self.tool in _SURVEYS


def recognise(header: Sequence[str]) -> ExportShape:
    """The tool that wrote a file with this header, and the role of its columns."""
    keys = [header_key(h) for h in header]
    tool = _tool(header, keys)
    labels = [_label(h, tool) for h in header]
    names = list(header)
    metadata = {i for i, k in enumerate(keys) if k in _METADATA or _tool_metadata(header[i], k, tool)}
    if tool == "Canvas quiz student analysis":
        for i in range(1, len(header)):
            item = _CANVAS_ITEM.match(header[i - 1])
            if item and _NUMBER.match(header[i].strip()):
                metadata.add(i)
                names[i] = f"{item.group(1)}: points"
    if tool in _SURVEYS:
        metadata |= {i for i, h in enumerate(header) if not item_numbered(h) and not is_id_alias(keys[i])}
    not_ids = frozenset(i for i, k in enumerate(keys) if k in _RESPONSE_NUMBERS.get(tool or "", ()))
    numbered = sorted(((i, n) for i, h in enumerate(header) if (n := answer_number(h)) is not None),
                      key=lambda p: (p[1], p[0]))
    return ExportShape(tool, tuple(labels), tuple(names), frozenset(metadata - {i for i, _ in numbered}),
                       tuple(numbered), not_ids)


def _tool(header: Sequence[str], keys: list[str]) -> str | None:
    present = set(keys)
    if {"state", "started_on"} <= present or ("first_name" in present and present & {"surname", "last_name"}):
        return "Moodle quiz responses"
    if "section_sis_id" in present or {"n_correct", "n_incorrect"} <= present:
        return "Canvas quiz student analysis"
    if {"start_time", "completion_time"} <= present or {"开始时间", "完成时间"} <= present:
        return "Microsoft Forms"
    if keys and keys[0] in {"timestamp", "时间戳记", "时间戳", "時間戳記"}:
        return "Google Forms"
    if present & {"提交答卷时间", "来自ip", "来源详情", "所用时间"}:
        return "问卷星 (wjx)"
    if present & {"答题时长", "开始答题时间", "结束答题时间", "起始答题时间"}:
        return "腾讯问卷"
    if sum(item_numbered(h) for h in header) >= 2:
        return "numbered survey"
    return None


def _label(name: str, tool: str | None) -> str:
    if tool == "Canvas quiz student analysis":
        name = _CANVAS_ITEM.sub("", name, count=1)
    return normalize_label(name) if item_numbered(name) else name


def _tool_metadata(name: str, key: str, tool: str | None) -> bool:
    if tool == "Moodle quiz responses":
        return bool(_MOODLE_META.match(key))
    if tool == "Microsoft Forms":
        return bool(_FORMS_POINTS.match(name.strip()))
    if tool == "Google Forms":
        return bool(_GOOGLE_POINTS.search(name))
    return False

