"""The progress report drawn: both languages, Markdown and HTML from one layout, its charts, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from progress_helpers import grade_cohort, levels
from report_fixtures import INJECTION, NOW

from harness.report.charts import CHANGE_SPAN, change_color, change_heatmap, run_lines
from harness.report.labels import labels
from harness.report.progress import ProgressReport, load_progress
from harness.report.render import render

EVE = f"Eve{INJECTION}"


@pytest.fixture
def report(tmp_path: Path) -> ProgressReport:
    first = grade_cohort(tmp_path, "week1", levels({"张三": "weak", EVE: "good", "Bob": "part"}))
    second = grade_cohort(tmp_path, "week6", levels({"张三": "good", EVE: "weak", "李四": "part"}))
    return load_progress([first, second], bank_dir=None, now=NOW)


def test_both_languages_have_the_same_words() -> None:
    assert set(labels("en")) == set(labels("zh"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_and_html_carry_the_same_sections(report: ProgressReport, lang: str) -> None:
    md, page = render(report, "md", lang=lang), render(report, "html", lang=lang)
    heads = re.findall(r"^## (.+)$", md, re.M)
    assert heads == re.findall(r"<h2>(.+?)</h2>", page)
    words = labels(lang)
    assert heads[:3] == [words["runs_head"], words["p_topics_head"], words["improved_head"]]
    assert "<svg" not in md and 'class="chart chart-lines chart-runs"' in page
    assert 'class="chart chart-heatmap chart-change"' in page


def test_names_are_escaped_everywhere(report: ProgressReport) -> None:
    md, page, table = render(report, "md"), render(report, "html"), render(report, "csv")
    assert "<script>" not in md and "\\<script\\>" in md
    assert "<script" not in page and "&lt;script&gt;" in page
    assert f"{EVE}," in table or f'"{EVE}"' in table  # CSV keeps the name as written (quoted as needed)


def test_the_grid_and_movers_follow_the_changes(report: ProgressReport) -> None:
    md = render(report, "md")
    improved = md.split("## Improved most")[1].split("##")[0]
    declined = md.split("## Declined")[1].split("##")[0]
    assert "| 张三 | 0 | 100 | +100 | clip (+100) |" in improved
    assert "Eve\\<script\\>" in declined and "| 100 | 0 | -100 |" in declined
    churn = md.split("## People not in every run")[1].split("##")[0]
    assert "| Bob | missing from week6 | week1 |" in churn and "| 李四 | new in week6 | week6 |" in churn


def test_change_colours_diverge_from_a_flat_middle() -> None:
    up, down, flat = change_color(12.0), change_color(-12.0), change_color(0.0)

    def rgb(c: str) -> tuple[int, int, int]:
        return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)

    assert rgb(up)[2] > rgb(up)[0] and rgb(down)[0] > rgb(down)[2]
    assert flat == "#f3f4f6" and change_color(float("nan")) == "#e5e7eb"
    assert change_color(CHANGE_SPAN) == change_color(5 * CHANGE_SPAN) == "#2166ac"
    assert change_color(-CHANGE_SPAN) == "#b2182b"


def test_run_lines_skip_missing_runs_and_escape_labels() -> None:
    svg = run_lines(["w1", "w2", "w3"], [("a<b", [40.0, float("nan"), 60.0]), ("c", [30.0, 35.0, 50.0])],
                    title="t")
    paths = re.findall(r'<path class="line" d="([^"]+)"', svg)
    assert [p.count("L") for p in paths] == [1, 2]  # a<b: w1 -> w3 only
    assert "a&lt;b" in svg and "a<b" not in svg
    assert svg.count('class="dot"') == 5
    ticks = re.findall(r'class="tick">(\d+)<', svg)
    assert ticks == ["20", "30", "40", "50", "60", "70"]  # the values (30-60) with a margin, in tens


def test_run_lines_zoom_to_the_values() -> None:
    svg = run_lines(["w1", "w2"], [("a", [62.0, 71.0])], title="t")
    assert re.findall(r'class="tick">(\d+)<', svg) == ["55", "60", "65", "70", "75", "80"]


def test_change_heatmap_shows_signed_changes() -> None:
    svg = change_heatmap(["p1", "p2"], ["clip", "vit"], [[12.0, float("nan")], [-30.0, 0.2]], title="t")
    assert svg.count('class="cell"') == 4
    texts = re.findall(r'class="num"[^>]*>([^<]+)<', svg)
    assert texts == ["+12", "–", "-30", "0"]
    assert f'fill="{change_color(-30.0)}"' in svg


def test_a_large_cohort_lists_the_first_people_and_says_where_the_rest_are(tmp_path: Path) -> None:
    from harness.report.document import PEOPLE_SHOWN

    n = PEOPLE_SHOWN + 15
    first = grade_cohort(tmp_path, "week1", levels({f"s{i:04d}": "weak" for i in range(n)}))
    later = levels({f"s{i:04d}": "good" if i % 2 else "part" for i in range(5, n + 5)})  # 5 left, 5 joined
    report = load_progress([first, grade_cohort(tmp_path, "week6", later)], bank_dir=None, now=NOW)
    md, table = render(report, "md"), render(report, "csv")
    grid = md.split("## Person × topic: change")[1].split("\n## ")[0]
    assert sum(line.startswith("| s") for line in grid.splitlines()) == PEOPLE_SHOWN
    assert f"The first {PEOPLE_SHOWN} of {n - 5} are shown; `--format csv` lists everyone." in grid
    churn = md.split("## People not in every run")[1].split("\n## ")[0]
    assert sum(line.startswith("| s") for line in churn.splitlines()) == 10 and "are shown" not in churn
    assert all(f"s{i:04d}" in table for i in range(n + 5))
