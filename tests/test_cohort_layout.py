"""The cohort report laid out (`report.cohort_layout`, `report.layout`) and its golden Markdown.

Golden files live in tests/data/report/golden/; `HARNESS_UPDATE_GOLDEN=1
pytest tests/test_cohort_layout.py` writes them again (then read the diff).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from report_fixtures import BANK_DIR, PEOPLE, cohort_rows, report_of, tiny_bank

from harness.grade.outputs import RunFacts
from harness.grade.schema import ScoreRow
from harness.report.cohort import CohortReport
from harness.report.labels import labels
from harness.report.layout import layout
from harness.report.render import markdown

BANK = tiny_bank()
GOLDEN = BANK_DIR / "golden"
FACTS = RunFacts(
    folder="week-1", submissions="/data/answers_week1.csv", bank="/data/bank", bank_version="abc123",
    embedder="use-multilingual", calibration="185d8bae598e",
    finished=datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc), answers=15, blanks=1, skipped_rows=2,
    problems=("answers.csv: row 3, column question_id: unknown question id 'clip-ideaa'; did you mean clip-idea?",
              "answers.csv: row 9: 5 cells but the header has 3"),
    problems_not_listed=0,
)


def run_report(**kw: object) -> CohortReport:
    rows = cohort_rows(BANK, PEOPLE)
    rows[-1] = ScoreRow("张三", "vit-patch", "vit", 0.0, flags=("blank",))
    rows[0] = ScoreRow("p1", "clip-idea", "clip", 90.0, covered=("对比学习",), misconceptions=("CLIP 是生成模型",),
                       covered_ids=("contrastive",), misconception_ids=("generative",))
    return report_of(rows, BANK, **{"run": FACTS, "source": FACTS.folder, **kw})


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("HARNESS_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (HARNESS_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_of_a_run_matches_the_golden_file(lang: str) -> None:
    golden(f"cohort-run.{lang}.md", markdown(layout(run_report(), labels(lang), lang=lang)))


def test_markdown_of_a_bare_scores_csv_matches_the_golden_file() -> None:
    report = report_of(cohort_rows(BANK, PEOPLE), BANK, source="some/scores.csv")
    golden("cohort-bare.en.md", markdown(layout(report, labels("en"), lang="en")))


def test_run_facts_make_the_summary_lines() -> None:
    doc = layout(run_report(), labels("en"), lang="en")
    assert doc.title == "Cohort report: week-1"
    assert doc.lines == (
        "Graded 2026-05-01 09:30 UTC: 15 answers (1 blank) from /data/answers_week1.csv",
        "Bank /data/bank (version abc123); embedder use-multilingual, calibration 185d8bae598e",
        "Bad input rows skipped: 2 (see Input problems)",
        "5 people, 15 answers, 3 questions; mean 43",
    )
    problems = doc.sections[-1]
    assert (problems.title, problems.headers, problems.note) == ("Input problems", ("Problem",), "")
    assert problems.rows == tuple((p,) for p in FACTS.problems)


def test_without_a_run_the_report_says_when_it_was_made() -> None:
    doc = layout(report_of(cohort_rows(BANK, PEOPLE), BANK), labels("en"), lang="en")
    assert doc.lines[0] == "Generated 2026-04-30 12:00 UTC"
    assert [s.title for s in doc.sections] == [
        "Topics, weakest first", "People who need attention", "Answers to review", "Person × topic",
        "Hardest questions (lowest facility)", "Questions with negative discrimination", "Most-missed key points",
        "Most frequent misconceptions",
    ]


def test_problems_beyond_those_shown_are_counted() -> None:
    from dataclasses import replace

    facts = replace(FACTS, problems=tuple(f"row {i}" for i in range(60)), problems_not_listed=5)
    section = layout(run_report(run=facts), labels("zh"), lang="zh").sections[-1]
    assert (section.title, len(section.rows), section.note) == ("输入问题", 50, "另有 15 条，见 run.json。")


def test_attention_rows_say_why() -> None:
    doc = layout(run_report(), labels("en"), lang="en")
    attention = next(s for s in doc.sections if s.title == "People who need attention")
    assert attention.rows[0] == ("张三", "3", "3", "vit (0)", "mean below 60; 1.9 SD below the cohort mean; "
                                 "1 left blank")
    assert attention.numeric == frozenset({1, 2}) and attention.score == frozenset({1})


def test_golden_files_exist() -> None:
    assert sorted(p.name for p in Path(GOLDEN).glob("*.md")) == [
        "cohort-bare.en.md", "cohort-run.en.md", "cohort-run.zh.md",
    ]


def test_charts_are_drawn_only_when_asked_for() -> None:
    report = run_report()
    drawn = layout(report, labels("en"), lang="en")
    bare = layout(report, labels("en"), lang="en", charts=False)
    assert [bool(s.chart) for s in drawn.sections][:4] == [True, False, False, True]  # topics bars, person x topic
    assert not any(s.chart for s in bare.sections)
    assert markdown(drawn) == markdown(bare)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_large_cohort_lists_its_weakest_people_and_says_where_the_rest_are(lang: str) -> None:
    """A course of thousands must not make report.md a phone book (or the HTML page a 170 MB heatmap)."""
    from harness.report.document import PEOPLE_SHOWN
    from harness.report.render import render

    people = {f"s{i:04d}": {"clip-idea": float(i % 41), "clip-data": float(i % 37), "vit-patch": float(i % 43)}
              for i in range(PEOPLE_SHOWN + 37)}
    report = report_of(cohort_rows(BANK, people), BANK, source="big/scores.csv")
    assert len(report.person_topic) == len(people) and len(report.attention) > PEOPLE_SHOWN
    md, page, table = render(report, "md", lang=lang), render(report, "html", lang=lang), render(report, "csv")
    head = labels(lang)["grid_head"]
    grid = md.split(f"## {head}")[1].split("\n## ")[0]
    weakest = report.person_topic["person"].tolist()
    assert sum(line.startswith("| s") for line in grid.splitlines()) == PEOPLE_SHOWN
    assert f"| {weakest[0]} |" in grid and f"| {weakest[-1]} |" not in grid
    note = labels(lang)["people_more"].format(shown=PEOPLE_SHOWN, n=f"{len(people):,}")
    attention = md.split(f"## {labels(lang)['attention_head']}")[1].split("\n## ")[0]
    assert note in grid and labels(lang)["people_more"].format(
        shown=PEOPLE_SHOWN, n=f"{len(report.attention):,}") in attention
    assert page.count(f">{weakest[-1]}<") == 0 and page.count(f">{weakest[0]}<") >= 1
    assert all(name in table for name in weakest)  # the CSV report keeps everyone
