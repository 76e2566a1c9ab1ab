"""The candidate's side of review flags: the report's *Scores to check yourself*, and `history`'s ranges.

A stored score carries `score_low` / `score_high` / `review` in its
explanation; scores stored before they existed read back as none.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from report_fixtures import NOW, T0, attempts_frame, make_score, tiny_bank

from harness.cli import cli
from harness.practice import store
from harness.report.candidate import CHECK_COLUMNS, CandidateReport, candidate_report
from harness.report.render import render
from harness.types import Score

BANK = tiny_bank()
UNSURE = {"score_low": 60.0, "score_high": 81.0, "review": ("wide-interval", "verdict-conflict")}
# (question, score, day, statuses, clause, more Score fields)
HISTORY = [
    ("clip-idea", 40, 0, None, "", {"review": ("off-topic?",)}),  # flagged, but a later attempt was not
    ("clip-idea", 72, 2, None, "", {"score_low": 61.0, "score_high": 80.0}),
    ("vit-patch", 55, 1, None, "", UNSURE),
    ("clip-data", 30, 3, None, "", {"review": ("no-point-matched",)}),  # flagged, no range
]
CHECK_HEAD = "## Scores to check yourself"


def report(rows: list[tuple] = HISTORY) -> CandidateReport:  # type: ignore[type-arg]
    return candidate_report(attempts_frame(BANK, rows, user="小明"), bank=BANK, now=NOW)


def test_only_the_latest_flagged_attempt_per_question_is_listed_newest_first() -> None:
    table = report().to_check
    assert tuple(table.columns) == CHECK_COLUMNS
    assert table["question_id"].tolist() == ["clip-data", "vit-patch"]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["score"], first["review"]) == (30.0, ("no-point-matched",))
    assert pd.isna(first["score_low"]) and pd.isna(first["score_high"])
    assert (second["score_low"], second["score_high"]) == (60.0, 81.0)


def test_markdown_lists_question_score_range_reasons_and_date() -> None:
    md = render(report(), "md")
    section = md.split(CHECK_HEAD, 1)[1].split("\n## ", 1)[0]
    assert "| Question | Score | Likely | Why | Date |" in section
    assert "| clip-data | 30 | — | close to the reference, but no key point matched | 2026-04-04 |" in section
    assert ("| vit-patch | 55 | 60-81 | the scorer is unsure; opposite verdict to the reference | 2026-04-02 |"
            in section)
    assert "clip-idea" not in section
    assert "compare your answer with the reference" in section
    assert md.index(CHECK_HEAD) < md.index("## Practise next")


def test_without_flags_the_section_says_so() -> None:
    md = render(report([row[:5] for row in HISTORY]), "md")
    section = md.split(CHECK_HEAD, 1)[1].split("\n## ", 1)[0]
    assert "None of your latest scores was flagged." in section
    assert "| Question |" not in section
    assert "None of your latest scores was flagged." in render(report([row[:5] for row in HISTORY]), "html")


def test_chinese_labels() -> None:
    md = render(report(), "md", lang="zh")
    assert "## 需要自己核对的分数" in md
    assert "| vit-patch | 55 | 60-81 | 评分器没有把握; 判断与参考答案相反 | 2026-04-02 |" in md
    assert "最近的分数都没有被标记。" in render(report([row[:3] for row in HISTORY]), "md", lang="zh")


def test_html_and_csv_carry_the_section() -> None:
    html = render(report(), "html")
    assert "Scores to check yourself" in html and "60-81" in html
    lines = render(report(), "csv").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line.startswith("to_check,")]
    assert [(r["question_id"], r["score_low"], r["score_high"], r["review"]) for r in rows] == [
        ("clip-data", "", "", "no-point-matched"),
        ("vit-patch", "60", "81", "wide-interval; verdict-conflict"),
    ]
    assert "to_check" not in render(report([row[:3] for row in HISTORY]), "csv")


def test_a_frame_built_before_the_review_columns_has_nothing_to_check() -> None:
    frame = attempts_frame(BANK, HISTORY).drop(columns=["score_low", "score_high", "review"])
    r = candidate_report(frame, bank=BANK, now=NOW)
    assert r.to_check.empty and "None of your latest scores was flagged." in render(r, "md")


# --- the store and `harness history` ------------------------------------------------


def seed(results: Path, *, old: bool = False) -> None:
    """Three attempts by 小明: one flagged with a range, one with a range only, one scored before either existed."""
    conn = store.connect(store.db_path(results))
    scores = [replace(make_score(BANK, "vit-patch", 55), **UNSURE),
              replace(make_score(BANK, "clip-idea", 72), score_low=61.0, score_high=80.0),
              make_score(BANK, "clip-data", 30)]
    store.record(conn, [(store.NewAttempt("小明", s.question_id, BANK.questions[s.question_id].topic, "答案",
                                          T0 + timedelta(days=i), T0 + timedelta(days=i, minutes=3)), s)
                        for i, s in enumerate(scores)])
    if old:
        _forget_review_fields(conn)
    conn.close()


def _forget_review_fields(conn: sqlite3.Connection) -> None:
    """Rewrite every stored explanation as it was before `score_low`, `score_high` and `review` existed."""
    for sid, text in conn.execute("SELECT id, explanation FROM scores").fetchall():
        data = {k: v for k, v in json.loads(text).items() if k not in ("score_low", "score_high", "review")}
        conn.execute("UPDATE scores SET explanation = ? WHERE id = ?", (json.dumps(data, ensure_ascii=False), sid))
    conn.commit()


def test_store_reads_the_range_and_reasons_back_and_old_scores_as_none(tmp_path: Path) -> None:
    seed(tmp_path)
    conn = store.connect(store.db_path(tmp_path))
    frame = store.attempts_frame(conn, user="小明")
    conn.close()
    assert frame["review"].tolist() == [("wide-interval", "verdict-conflict"), (), ()]
    assert frame["score_low"].tolist()[:2] == [60.0, 61.0] and pd.isna(frame["score_low"].iloc[2])
    assert str(frame["score_high"].dtype) == "float64"
    seed(tmp_path / "old", old=True)
    conn = store.connect(store.db_path(tmp_path / "old"))
    (first, *_) = store.attempts(conn, user="小明")
    frame = store.attempts_frame(conn, user="小明")
    conn.close()
    assert (first.score_low, first.score_high, first.review) == (None, None, ())
    assert frame["score_low"].isna().all() and frame["review"].tolist() == [(), (), ()]
    Score.from_dict(first.explanation)  # the old record still rebuilds a Score


def test_report_cli_on_a_stored_history(tmp_path: Path) -> None:
    seed(tmp_path)
    out = tmp_path / "r.md"
    result = CliRunner().invoke(cli, ["report", "--user", "小明", "--results", str(tmp_path), "--bank",
                                      str(Path(__file__).parent / "data" / "report"), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert "| vit-patch | 55 | 60-81 | the scorer is unsure; opposite verdict to the reference | 2026-04-01 |" in md


def history(results: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["history", "--results", str(results), "--user", "小明", *args],
                                catch_exceptions=False, terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def test_history_attempts_show_the_range_when_there_is_one(tmp_path: Path) -> None:
    seed(tmp_path)
    out = history(tmp_path, "--attempts")
    rows = {line.split("│")[3].strip(): line.split("│")[4].strip() for line in out.splitlines()
            if line.startswith("│") and "-" in line.split("│")[2]}
    assert rows == {"vit-patch": "55 (60-81) ?", "clip-idea": "72 (61-80)", "clip-data": "30"}  # ?: flagged
    assert "Score (low-high): the range a teacher's grade likely falls in, 80% of the time." in out
    assert "? = the score is unsure, worth a second look" in out
    assert "low-high" not in history(tmp_path)  # no attempt table, no legend line for it
    seed(tmp_path / "old", old=True)
    assert "low-high" not in history(tmp_path / "old", "--attempts")
    assert "? = the score is unsure" not in history(tmp_path / "old", "--attempts")  # no flagged attempt


def test_history_json_carries_range_and_reasons(tmp_path: Path) -> None:
    seed(tmp_path)
    seed(tmp_path / "old", old=True)
    got = [(a["score_low"], a["score_high"], a["review"]) for a in json.loads(history(tmp_path, "--json"))["attempts"]]
    assert got == [(60.0, 81.0, ["wide-interval", "verdict-conflict"]), (61.0, 80.0, []), (None, None, [])]
    old = json.loads(history(tmp_path / "old", "--json"))["attempts"]
    assert [(a["score_low"], a["score_high"], a["review"]) for a in old] == [(None, None, [])] * 3
