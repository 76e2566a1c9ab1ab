"""The words of a rendered report, in English and Chinese.

`labels(lang)` gives a mapping of key -> text; `{name}` fields are filled by
the renderer with `str.format`. Data (topics, names, answers) is never
translated.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.errors import HarnessError

LANGUAGES = ("en", "zh")

_EN: dict[str, str] = {
    "candidate_title": "Practice report: {user}",
    "cohort_title": "Cohort report: {source}",
    "generated": "Generated {when} UTC",
    "c_summary": "{attempts} attempt{attempts_s} on {questions} of {bank} questions; mean of latest scores {mean}",
    "c_span": "first attempt {first}, latest {last}",
    "k_summary": "{people} people, {answers} answers, {questions} questions; mean {mean}",
    "k_skipped": "{n} rows without a score were left out",
    "k_graded": "Graded {when} UTC: {answers} answers ({blanks} blank) from {file}",
    "k_scorer": "Bank {bank} (version {version}); embedder {embedder}, calibration {calibration}",
    "k_bad_rows": "Bad input rows skipped: {n} (see Input problems)",
    "k_rows": "Rows in the file: {records} = {graded} graded + {skipped} skipped + {empty} empty",
    "problems_head": "Input problems",
    "problem": "Problem",
    "problems_more": "{n} more are listed in run.json.",
    "columns_head": "Columns read",
    "column": "Column",
    "read_as": "Read as",
    "how": "How",
    "columns_note": "Read as {note}.",
    "mean": "Mean",
    "mean_latest": "Mean of latest scores",
    "attempts": "Attempts",
    "questions": "Questions",
    "people": "People",
    "answers": "Answers",
    "topic": "Topic",
    "topics_head": "Topics, weakest first",
    "trend": "Trend",
    "last_practised": "Last practised",
    "not_practised": "not practised yet",
    "points_head": "Key points to work on",
    "points_note": "Points your latest answer still misses or only partly covers, most often missed first.",
    "missed_of": "missed {missed}, partly {partial} in {seen} attempt{seen_s}",
    "latest": "Latest answer",
    "status_missed": "missed",
    "status_partial": "partly covered",
    "closest": "Closest you wrote",
    "no_points": "Your latest answers cover every key point.",
    "next_head": "Practise next",
    "next_note": "In the order `harness answer` will ask them.",
    "question": "Question",
    "why": "Why",
    "last_score": "Last score",
    "prompt": "Prompt",
    "reason_due": "due for review",
    "reason_weak-topic": "weak topic",
    "reason_unseen": "not tried yet",
    "reason_ahead": "review ahead",
    "progress_head": "Progress over time",
    "progress_note": "Each topic's mean of latest scores per question, after each day of practice.",
    "date": "Date",
    "overall": "Overall",
    "spread_head": "Topic means with spread (±1 SD across people)",
    "sd": "SD",
    "lowest": "Lowest",
    "highest": "Highest",
    "attention_head": "People who need attention",
    "no_attention": "Nobody stands out as needing attention.",
    "person": "Person",
    "weakest_topic": "Weakest topic",
    "reasons": "Why",
    "r_below": "mean below {mark}",
    "r_sd": "{sd} SD below the cohort mean",
    "r_flagged": "{n} answer{n_s} flagged",
    "r_blank": "{n} left blank",
    "show_table": "Show the numbers",
    "attention_card": "Need attention",
    "grid_head": "Person × topic",
    "hardest_head": "Hardest questions (lowest facility)",
    "facility": "Facility (share ≥ {mark})",
    "discrimination": "Discrimination",
    "negative_head": "Questions with negative discrimination",
    "negative_note": "Stronger people scored lower on these: check the question and its rubric.",
    "no_negative": "No question has negative discrimination.",
    "missed_head": "Most-missed key points",
    "key_point": "Key point",
    "missed": "Missed",
    "statement": "Rubric statement",
    "misc_head": "Most frequent misconceptions",
    "misconception": "Misconception",
    "count": "Answers",
    "none": "None.",
    "bar_chart": "Bar chart of topic means, weakest first",
    "line_chart": "Line chart of topic means over time",
    "heatmap": "Heatmap of each person's mean per topic",
    "no_data": "no data yet",
}

_ZH: dict[str, str] = {
    "candidate_title": "练习报告：{user}",
    "cohort_title": "班级报告：{source}",
    "generated": "生成于 {when} UTC",
    "c_summary": "共 {attempts} 次作答，覆盖题库 {bank} 题中的 {questions} 题；最近得分均值 {mean}",
    "c_span": "首次作答 {first}，最近一次 {last}",
    "k_summary": "{people} 人，{answers} 份答案，{questions} 道题；均分 {mean}",
    "k_skipped": "有 {n} 行没有分数，未计入",
    "k_graded": "批改于 {when} UTC：{answers} 份答案（{blanks} 份空白），来自 {file}",
    "k_scorer": "题库 {bank}（版本 {version}）；嵌入模型 {embedder}，校准 {calibration}",
    "k_bad_rows": "跳过的有问题的输入行：{n}（见“输入问题”）",
    "k_rows": "文件中的行：{records} = 已批改 {graded} + 跳过 {skipped} + 空行 {empty}",
    "problems_head": "输入问题",
    "problem": "问题",
    "problems_more": "另有 {n} 条，见 run.json。",
    "columns_head": "各列的读法",
    "column": "列",
    "read_as": "读作",
    "how": "依据",
    "columns_note": "读作：{note}。",
    "mean": "均分",
    "mean_latest": "最近得分均值",
    "attempts": "作答次数",
    "questions": "题数",
    "people": "人数",
    "answers": "答案数",
    "topic": "主题",
    "topics_head": "各主题由弱到强",
    "trend": "变化",
    "last_practised": "最近练习",
    "not_practised": "尚未练习",
    "points_head": "需要加强的要点",
    "points_note": "最近一次作答仍未答到或只答到一部分的要点，按遗漏次数排序。",
    "missed_of": "{seen} 次作答中遗漏 {missed} 次，部分答到 {partial} 次",
    "latest": "最近一次作答",
    "status_missed": "遗漏",
    "status_partial": "部分答到",
    "closest": "你写得最接近的一句",
    "no_points": "最近的作答覆盖了所有要点。",
    "next_head": "接下来练习",
    "next_note": "与 `harness answer` 的出题顺序相同。",
    "question": "题目",
    "why": "原因",
    "last_score": "上次得分",
    "prompt": "题干",
    "reason_due": "到期复习",
    "reason_weak-topic": "薄弱主题",
    "reason_unseen": "尚未作答",
    "reason_ahead": "提前复习",
    "progress_head": "进步曲线",
    "progress_note": "每个练习日结束时，各主题每题最近得分的均值。",
    "date": "日期",
    "overall": "总体",
    "spread_head": "各主题均分与离散程度（±1 个标准差）",
    "sd": "标准差",
    "lowest": "最低",
    "highest": "最高",
    "attention_head": "需要关注的人",
    "no_attention": "没有需要特别关注的人。",
    "person": "姓名/学号",
    "weakest_topic": "最弱主题",
    "reasons": "原因",
    "r_below": "均分低于 {mark}",
    "r_sd": "低于班级均值 {sd} 个标准差",
    "r_flagged": "{n} 份答案被标记",
    "r_blank": "{n} 题未作答",
    "show_table": "显示数据表",
    "attention_card": "需要关注",
    "grid_head": "人 × 主题",
    "hardest_head": "最难的题（通过率最低）",
    "facility": "通过率（≥{mark} 分）",
    "discrimination": "区分度",
    "negative_head": "区分度为负的题",
    "negative_note": "整体较强的人在这些题上反而得分更低：请检查题目和评分细则。",
    "no_negative": "没有区分度为负的题。",
    "missed_head": "遗漏最多的要点",
    "key_point": "要点",
    "missed": "遗漏次数",
    "statement": "评分细则表述",
    "misc_head": "最常见的误解",
    "misconception": "误解",
    "count": "答案数",
    "none": "无。",
    "bar_chart": "各主题均分柱状图，由弱到强",
    "line_chart": "各主题均分随时间变化的折线图",
    "heatmap": "每人各主题均分热力图",
    "no_data": "暂无数据",
}


def labels(lang: str) -> Mapping[str, str]:
    """The report's words in `lang` ("en" or "zh").

    Raises:
        HarnessError: an unknown language, naming the valid ones.

    """
    if lang == "en":
        return _EN
    if lang == "zh":
        return _ZH
    raise HarnessError(f"unknown report language {lang!r}; use one of: {', '.join(LANGUAGES)}")


def counted(**counts: int | str) -> dict[str, int | str]:
    """Format values plus an `<name>_s` plural suffix for each integer ("" for 1, else "s").

    English labels write `{n} answer{n_s}`; Chinese ones ignore the suffix.
    """
    out: dict[str, int | str] = dict(counts)
    for name, value in counts.items():
        if isinstance(value, int):
            out[f"{name}_s"] = "" if value == 1 else "s"
    return out
