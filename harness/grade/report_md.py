"""report.md of a `grade` run: the cohort's per-topic weakness report, in Chinese and English.

Headings and labels are bilingual; the content (topics, key point titles)
is in the bank's own language. Text from the submissions (ids) is escaped,
so it cannot inject Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.grade.tally import PASS_MARK, QuestionStats, StudentStats

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
ATTENTION_SHOWN = 30
MISSED_PER_TOPIC = 5


def md(text: str) -> str:
    """Escape text for a Markdown table cell or line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


@dataclass(frozen=True)
class TopicStats:
    """A topic's answers, mean score and facility, over all its questions."""

    topic: str
    answers: int
    mean: float
    facility: float
    questions: tuple[QuestionStats, ...]


def topic_stats(questions: Sequence[QuestionStats]) -> list[TopicStats]:
    """Topics from weakest (lowest mean) to strongest."""
    by_topic: dict[str, list[QuestionStats]] = {}
    for q in questions:
        by_topic.setdefault(q.topic, []).append(q)
    out = []
    for topic, qs in by_topic.items():
        n = sum(q.answers for q in qs)
        mean = sum((q.mean or 0.0) * q.answers for q in qs) / n
        facility = sum((q.facility or 0.0) * q.answers for q in qs) / n
        out.append(TopicStats(topic, n, mean, facility, tuple(qs)))
    return sorted(out, key=lambda t: (t.mean, t.topic))


@dataclass(frozen=True)
class RunInfo:
    """What the report's heading says about the run."""

    submissions: str
    bank: str
    bank_version: str
    embedder: str
    calibration: str
    finished: str
    skipped_rows: int
    problems: tuple[str, ...]


def render_report(info: RunInfo, questions: Sequence[QuestionStats], *,
                  students: Sequence[StudentStats]) -> str:
    """The whole report as Markdown."""
    topics = topic_stats(questions)
    answers = sum(q.answers for q in questions)
    mean = sum((q.mean or 0.0) * q.answers for q in questions) / max(answers, 1)
    lines = [
        "# 成绩报告 / Cohort report",
        "",
        f"- 提交文件 Submissions: {md(info.submissions)}",
        f"- {answers} 份答案 answers, {len(students)} 人 people, {len(questions)} 题 questions; "
        f"平均分 mean score {mean:.1f}",
        f"- 题库 Bank: {md(info.bank)} (version {info.bank_version}); "
        f"embedder {md(info.embedder)}, calibration {md(info.calibration)}",
        f"- 完成时间 Finished: {info.finished}",
    ]
    if info.skipped_rows:
        lines.append(f"- 跳过的行 Rows skipped: {info.skipped_rows} (see below)")
    lines += ["", "## 主题：由弱到强 / Topics from weakest to strongest", "",
              f"| 主题 Topic | 答案 Answers | 平均分 Mean | 及格率 Facility (≥{PASS_MARK:.0f}) |",
              "|---|---:|---:|---:|"]
    lines += [f"| {md(t.topic)} | {t.answers} | {t.mean:.1f} | {t.facility:.0%} |" for t in topics]
    for t in topics:
        lines += ["", f"### {md(t.topic)} — 平均分 mean {t.mean:.1f}", ""]
        lines += _missed_lines(t)
    lines += ["", "## 需要关注的人 / People who need attention", ""]
    lines += _attention_lines(students)
    lines += ["", "## 题目 / Questions", "",
              "| 题目 Question | 主题 Topic | 答案 Answers | 平均分 Mean | 及格率 Facility "
              "| 区分度 Discrimination |",
              "|---|---|---:|---:|---:|---:|"]
    for q in sorted(questions, key=lambda q: (q.mean or 0.0, q.question_id)):
        disc = "–" if q.discrimination is None else f"{q.discrimination:.2f}"
        lines.append(f"| {md(q.question_id)} | {md(q.topic)} | {q.answers} | {(q.mean or 0):.1f} | "
                     f"{(q.facility or 0):.0%} | {disc} |")
    if info.problems:
        lines += ["", "## 输入问题 / Input problems", ""]
        lines += [f"- {md(p)}" for p in info.problems[:50]]
        if len(info.problems) > 50 or info.skipped_rows > len(info.problems):
            lines.append("- … (all of them are listed in run.json)")
    return "\n".join(lines) + "\n"


def _missed_lines(t: TopicStats) -> list[str]:
    missed = [(n / judged, n, judged, q.question_id, title)
              for q in t.questions for _, title, n, judged in q.most_missed if judged]
    missed.sort(key=lambda m: (-m[0], -m[1], m[3]))
    if not missed:
        return ["没有经常遗漏的要点。 No key point was commonly missed."]
    lines = ["最常遗漏的要点 / Key points most often missed:", ""]
    for share, n, judged, qid, title in missed[:MISSED_PER_TOPIC]:
        lines.append(f"- {md(title)} ({md(qid)}): 遗漏 missed {n}/{judged} ({share:.0%})")
    return lines


def _attention_lines(students: Sequence[StudentStats]) -> list[str]:
    weak = sorted((s for s in students if s.overall < PASS_MARK), key=lambda s: (s.overall, s.student_id))
    if not weak:
        return [f"没有人的总平均分低于 {PASS_MARK:.0f}。 Nobody's overall mean is below {PASS_MARK:.0f}."]
    lines = [f"{len(weak)} 人总平均分低于 {PASS_MARK:.0f} / {len(weak)} people have an overall mean "
             f"below {PASS_MARK:.0f}:", "",
             "| 学生 Student | 总分 Overall | 最弱主题 Weakest topic | 答案 Answers | 空白 Blank |",
             "|---|---:|---|---:|---:|"]
    lines += [f"| {md(s.student_id)} | {s.overall:.1f} | {md(s.weakest_topic)} | {s.answers} | {s.blanks} |"
              for s in weak[:ATTENTION_SHOWN]]
    if len(weak) > ATTENTION_SHOWN:
        lines += ["", f"… {len(weak) - ATTENTION_SHOWN} more in students.csv (sort by overall)."]
    return lines
