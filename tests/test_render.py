from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pandas as pd
import pytest
from report_fixtures import INJECTION, NOW, attempts_frame, cohort_rows, report_of, tiny_bank

from harness.errors import HarnessError
from harness.report.candidate import CandidateReport, candidate_report
from harness.report.charts import Bar, Series, bar_chart, clip_label, heatmap, line_chart, score_color, text_width
from harness.report.cohort import CohortReport
from harness.report.render import csv_safe, csv_text, md_escape, render

BANK = tiny_bank()
HISTORY = [
    ("clip-idea", 40, 0, {"contrastive": "missed"}, f"我写的 {INJECTION}"),
    ("vit-patch", 75, 1, {"position": "partial"}, "a | pipe and *stars*"),
    ("clip-idea", 55, 2, {"contrastive": "missed"}, f"我写的 {INJECTION}"),
]


def candidate(user: str = "小明") -> CandidateReport:
    return candidate_report(attempts_frame(BANK, HISTORY, user=user), bank=BANK, now=NOW)


def cohort(names: tuple[str, ...] = ("张三", "Bob", f"Eve{INJECTION}", "李四")) -> CohortReport:
    people = {
        n: {"clip-idea": 20.0 + 20 * i, "clip-data": 30.0 + 20 * i, "vit-patch": 60.0 - 5 * i}
        for i, n in enumerate(names)
    }
    return report_of(cohort_rows(BANK, people), BANK, source="run/<b>scores</b>.csv")


# --- Markdown ----------------------------------------------------------------------


def test_md_escape() -> None:
    assert md_escape("<script>x</script>") == r"\<script\>x\</script\>"
    assert md_escape("a | b\nc") == r"a \| b c"
    assert md_escape("[link](x) *b* `c`") == r"\[link\](x) \*b\* \`c\`"
    assert md_escape("snake_case _em_") == r"snake_case \_em\_"
    assert md_escape("# title") == "# title"
    assert md_escape("# title", line=True) == r"\# title"
    assert md_escape("- item", line=True) == r"\- item"
    assert md_escape("+30", line=True) == "+30"


def test_candidate_markdown_content() -> None:
    md = render(candidate(), "md")
    lines = md.splitlines()
    assert lines[0] == "# Practice report: 小明"
    assert lines[2] == "Generated 2026-04-30 12:00 UTC  "
    assert lines[3] == "3 attempts on 2 of 4 questions; mean of latest scores 65  "
    assert lines[4] == "first attempt 2026-04-01, latest 2026-04-03  "
    assert "| 1 | clip | 55 | 1/2 | 2 | +15 | 2026-04-03 |" in lines
    assert "| 2 | vit | 75 | 1/1 | 1 | — | 2026-04-02 |" in lines
    assert "| 3 | blip2 | — | 0/1 | 0 | — | — |" in lines
    assert (
        "| clip | 对比学习 / clip-idea | CLIP 用对比学习对齐图像和文本。 / CLIP aligns images and texts with "
        r"contrastive learning. | missed / missed 2, partly 0 in 2 attempts | "
        r"我写的 \<script\>document.title="
        r"'pwned';document.documentElement.setAttribute('data-pwned','1')\</script\> |"
    ) in lines
    assert (
        r"| vit | Position / vit-patch | Learnable position embeddings are added to the patch tokens. | "
        r"partly covered / missed 0, partly 1 in 1 attempt | a \| pipe and \*stars\* |" in lines
    )
    assert "| 1 | vit-patch | vit | due for review | 75 | How does ViT turn an image into tokens? |" in lines
    assert "| 3 | clip-data | clip | weak topic | — | CLIP 用什么数据训练？ |" in lines
    assert "| 4 | blip2-qformer | blip2 | not tried yet | — | Q-Former 是什么？ |" in lines
    assert "| Date | clip | vit | Overall |" in lines
    assert "| 2026-04-03 | 55 | 75 | 65 |" in lines
    assert re.search(r"(?<!\\)<", md) is None  # every < is escaped


def test_markdown_in_chinese() -> None:
    md = render(candidate(), "md", lang="zh")
    assert md.splitlines()[0] == "# 练习报告：小明"
    for heading in ("## 各主题由弱到强", "## 需要加强的要点", "## 接下来练习", "## 进步曲线"):
        assert heading in md
    assert "| 3 | clip-data | clip | 薄弱主题 | — | CLIP 用什么数据训练？ |" in md
    assert "| 2 | vit | 75 | 1/1 | 1 | — | 2026-04-02 |" in md


def test_cohort_markdown_content() -> None:
    md = render(cohort(), "md")
    lines = md.splitlines()
    assert lines[0] == r"# Cohort report: run/\<b\>scores\</b\>.csv"
    assert "4 people, 12 answers, 3 questions; mean 54  " in lines
    assert "| 1 | vit | 52 | 6 | 45 | 60 | 4 | 4 |" in lines
    assert "| 2 | clip | 55 | 22 | 25 | 85 | 4 | 8 |" in lines
    assert "| 张三 | 37 | 3 | clip (25) | mean below 60 |" in lines
    assert "| Person | vit | clip | Overall |" in lines
    assert (
        r"| Eve\<script\>document.title='pwned';document.documentElement.setAttribute('data-pwned','1')"
        r"\</script\> | 50 | 65 | 60 |" in lines
    )
    assert "| 张三 | 60 | 25 | 37 |" in lines
    negative = lines.index("## Questions with negative discrimination")
    assert lines[negative + 2] == "Stronger people scored lower on these: check the question and its rubric."
    assert lines[negative + 6] == "| vit-patch | vit | 4 | 52 | 25% | -1.00 |"
    assert "| clip-idea | clip | 4 | 50 | 50% | 1.00 |" in lines
    assert "| 数据规模 / clip-data | 1/4 (25%) | 4 亿个从互联网收集的图文对。 |" in lines
    assert lines[-3:] == ["## Most frequent misconceptions", "", "None."]


# --- HTML --------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped() -> None:
    for report in (candidate(f"Mallory{INJECTION}"), cohort()):
        page = render(report, "html")
        assert page.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">')
        assert "default-src 'none'; style-src 'unsafe-inline'" in page
        assert "<script" not in page.lower()
        assert "&lt;script&gt;document.title=&#x27;pwned&#x27;" in page
        assert not re.search(r"\b(src|href)\s*=", page), "no external resources"
        assert not re.search(r"https?://", page.replace('http-equiv="Content-Security-Policy"', ""))
        assert "<link" not in page and "@import" not in page and "url(" not in page


def test_candidate_html_charts() -> None:
    page = render(candidate(), "html", lang="zh")
    assert '<html lang="zh-CN">' in page and "<title>练习报告：小明</title>" in page
    assert page.count('<svg class="chart chart-bars"') == 1
    assert page.count('<rect class="bar"') == 2  # blip2 not practised: no bar, a note instead
    assert ">尚未练习</text>" in page
    assert page.count('<svg class="chart chart-lines"') == 1
    assert page.count('<path class="line"') == 2
    assert page.count('<circle class="dot"') == 3
    assert "chart-heatmap" not in page


def test_cohort_html_charts() -> None:
    page = render(cohort(), "html")
    assert page.count('<rect class="bar"') == 2
    assert page.count('<path class="whisker"') == 2
    assert page.count('<rect class="cell"') == 8
    assert "<title>Eve&lt;script&gt;" in page  # cell tooltips are escaped too
    assert "chart-lines" not in page


# --- CSV ---------------------------------------------------------------------------


def test_csv_safe() -> None:
    assert csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_safe("@SUM") == "'@SUM"
    assert csv_safe("-x") == "'-x"
    assert csv_safe("张三") == "张三"
    assert csv_safe(-3.0) == -3.0


def test_candidate_csv_carries_every_section() -> None:
    frame = pd.read_csv(io.StringIO(csv_text(candidate("=cmd|' /C calc'!A0"))), keep_default_na=False)
    assert list(frame["section"].drop_duplicates()) == [
        "summary",
        "topics",
        "missed_points",
        "next_questions",
        "progress",
    ]
    summary = frame[frame["section"] == "summary"].iloc[0]
    assert summary["user"] == "'=cmd|' /C calc'!A0"
    assert (summary["attempts"], summary["questions"], summary["mean"]) == ("3", "2", "65")
    topics = frame[frame["section"] == "topics"]
    assert list(topics["topic"]) == ["clip", "vit", "blip2"]
    assert list(topics["trend"]) == ["15", "", ""]
    assert list(topics["bank_questions"]) == ["2", "1", "1"]
    points = frame[frame["section"] == "missed_points"]
    assert list(points["point_id"]) == ["contrastive", "position"]
    assert points["closest"].iloc[0] == f"我写的 {INJECTION}"
    assert len(frame[frame["section"] == "progress"]) == 3


def test_cohort_csv_carries_every_section() -> None:
    frame = pd.read_csv(io.StringIO(csv_text(cohort())), keep_default_na=False)
    assert list(frame["section"].drop_duplicates()) == [
        "summary",
        "topics",
        "people",
        "person_topic",
        "hardest",
        "negative_discrimination",
        "missed_points",
        "attention",
    ]
    long = frame[frame["section"] == "person_topic"]
    assert len(long) == 8 and set(long["topic"]) == {"clip", "vit"}
    assert frame[frame["section"] == "negative_discrimination"]["question_id"].tolist() == ["vit-patch"]
    assert frame[frame["section"] == "summary"]["people"].tolist() == ["4"]
    assert frame[frame["section"] == "attention"]["below_mark"].tolist() == ["true", "true"]
    assert frame[frame["section"] == "people"]["mean"].tolist() == ["36.667", "48.333", "60", "71.667"]


def test_unknown_format_and_language() -> None:
    with pytest.raises(HarnessError, match="unknown report format 'pdf'; use one of: md, html, csv"):
        render(candidate(), "pdf")
    with pytest.raises(HarnessError, match="unknown report language 'fr'; use one of: en, zh"):
        render(candidate(), "md", lang="fr")


# --- charts ------------------------------------------------------------------------


def test_score_colours() -> None:
    assert score_color(0) == "#d53e4f" and score_color(100) == "#3288bd" and score_color(-5) == "#d53e4f"
    assert score_color(float("nan")) == "#e5e7eb"
    assert score_color(55) == "#f3d35c"


def test_text_width_and_clipping() -> None:
    assert text_width("中文", 10) == 20 and text_width("ab", 10) == 12
    assert clip_label("short", 200) == "short"
    clipped = clip_label("contrastive-learning", 60)
    assert clipped.endswith("…") and text_width(clipped) <= 60


def test_bar_lengths_are_proportional_to_scores() -> None:
    svg = bar_chart([Bar("a", 25.0), Bar("b", 100.0), Bar("c", float("nan"), note="none")], title="t")
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[1] == pytest.approx(4 * widths[0], rel=1e-3)


def test_line_chart_maps_scores_to_height() -> None:
    t0, t1 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 11, tzinfo=timezone.utc)
    svg = line_chart([Series("x", ((t0, 0.0), (t1, 100.0)))], title="t", width=500, height=300)
    (d,) = re.findall(r'<path class="line" d="([^"]+)"', svg)
    (x0, y0), (x1, y1) = ((float(a), float(b)) for a, b in re.findall(r"[ML]([\d.]+) ([\d.]+)", d))
    assert x0 < x1 and y0 > y1  # later and higher
    assert line_chart([], title="t", empty="no data yet").count("no data yet") == 1


def test_heatmap_marks_missing_cells() -> None:
    svg = heatmap(["a", "b"], ["x", "y"], [[10.0, float("nan")], [90.0, 50.0]], title="t")
    assert svg.count('<rect class="cell"') == 4
    assert ">–</text>" in svg and 'fill="#e5e7eb"' in svg
