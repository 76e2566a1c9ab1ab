from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import (
    NOW,
    PEOPLE,
    T0,
    attempts_frame,
    cohort_rows,
    tiny_bank,
    write_scores,
)

from harness.cli import main
from harness.practice.scheduler import Review, plan
from harness.report.candidate import candidate_report

BANK = tiny_bank()
# (question, score, day, statuses, closest clause)
HISTORY = [
    ("clip-idea", 40, 0, {"contrastive": "missed", "zero-shot": "missed"}),
    ("clip-idea", 70, 2, {"zero-shot": "partial"}, "零样本大概是 prompt"),
    ("clip-data", 90, 2),
    ("vit-patch", 30, 1, {"patchify": "missed", "position": "missed"}, "I think <script>"),
    ("vit-patch", 20, 3, {"patchify": "partial", "position": "missed"}, "patches are pixels"),
]


@pytest.fixture()
def history() -> pd.DataFrame:
    return attempts_frame(BANK, HISTORY)


# --- candidate -------------------------------------------------------------------


def test_topics_weakest_first_with_trend_and_unpractised_topics_last(history: pd.DataFrame) -> None:
    r = candidate_report(history, bank=BANK, now=NOW)
    t = r.topics
    assert list(t["topic"]) == ["vit", "clip", "blip2"]
    assert list(t["questions"]) == [1, 2, 0]
    assert list(t["bank_questions"]) == [1, 2, 1]
    assert list(t["attempts"]) == [2, 3, 0]
    assert t["mean"].iloc[0] == 20 and t["mean"].iloc[1] == 80 and math.isnan(t["mean"].iloc[2])
    assert t["first_mean"].iloc[0] == 30 and t["first_mean"].iloc[1] == 65
    # trend: latest minus first, over the questions tried more than once
    assert t["trend"].iloc[0] == -10 and t["trend"].iloc[1] == 30 and math.isnan(t["trend"].iloc[2])
    assert t["last_practised"].iloc[0] == pd.Timestamp(T0 + timedelta(days=3, minutes=5))
    assert (r.user, r.attempts, r.questions, r.bank_questions, r.mean) == ("alice", 5, 3, 4, 60.0)
    assert r.first_attempt == T0 + timedelta(minutes=1)
    assert r.last_attempt == T0 + timedelta(days=3, minutes=5)


def test_without_a_bank_only_practised_topics_are_listed(history: pd.DataFrame) -> None:
    r = candidate_report(history, bank=None, now=NOW)
    assert list(r.topics["topic"]) == ["vit", "clip"]
    assert r.next_questions.empty
    assert (
        r.missed_points["statement"].iloc[0] == "Learnable position embeddings are added to the patch tokens."
    )


def test_missed_points_are_those_the_latest_answer_still_misses_most_often_missed_first(
    history: pd.DataFrame,
) -> None:
    p = candidate_report(history, bank=BANK, now=NOW).missed_points
    assert list(zip(p["topic"], p["question_id"], p["point_id"], strict=True)) == [
        ("vit", "vit-patch", "position"),
        ("vit", "vit-patch", "patchify"),
        ("clip", "clip-idea", "zero-shot"),
    ]
    assert list(p["missed"]) == [2, 1, 1]
    assert list(p["partial"]) == [0, 1, 1]
    assert list(p["seen"]) == [2, 2, 2]
    assert list(p["latest_status"]) == ["missed", "partial", "partial"]
    assert list(p["closest"]) == ["patches are pixels", "patches are pixels", "零样本大概是 prompt"]
    assert p["statement"].iloc[2] == "训练后可以用类别提示做 zero-shot 分类。"
    assert p["statement_en"].iloc[2] == "After training it classifies zero-shot from class prompts."
    assert p["title"].iloc[2] == "零样本迁移"


def test_missed_points_per_topic_limit(history: pd.DataFrame) -> None:
    p = candidate_report(history, bank=BANK, now=NOW, points_per_topic=1).missed_points
    assert list(p["point_id"]) == ["position", "zero-shot"]


def test_a_point_the_bank_no_longer_has_keeps_its_stored_text(history: pd.DataFrame) -> None:
    frame = history.copy()
    explanation = json.loads(json.dumps(frame.at[4, "explanation"]))
    explanation["points"][1].update(point_id="old-point", text="旧的要点表述")
    frame.at[4, "explanation"] = json.dumps(explanation)  # a JSON string is accepted too
    p = candidate_report(frame, bank=BANK, now=NOW).missed_points
    row = p[p["point_id"] == "old-point"].iloc[0]
    assert (row["statement"], row["statement_en"], row["missed"]) == ("旧的要点表述", "", 1)


def test_next_questions_follow_the_scheduler_order(history: pd.DataFrame) -> None:
    n = candidate_report(history, bank=BANK, now=NOW).next_questions
    reviews = [
        Review(q, BANK.questions[q].topic, (T0 + timedelta(days=d, minutes=i)), float(s))
        for i, (q, s, d, *_) in enumerate(HISTORY, 1)
    ]
    expected = plan(list(BANK.questions.values()), reviews, NOW)
    assert list(n["question_id"]) == [p.question.id for p in expected]
    assert list(n["question_id"]) == ["vit-patch", "clip-idea", "clip-data", "blip2-qformer"]
    assert list(n["reason"]) == ["due", "due", "due", "unseen"]
    assert list(n["rank"]) == [1, 2, 3, 4]
    assert list(n["last_score"][:3]) == [20, 70, 90] and math.isnan(n["last_score"].iloc[3])
    assert n["prompt"].iloc[3] == "Q-Former 是什么？"
    assert list(
        candidate_report(history, bank=BANK, now=NOW, next_count=2).next_questions["question_id"]
    ) == ["vit-patch", "clip-idea"]


def test_progress_is_each_topics_latest_per_question_mean_after_each_attempt(history: pd.DataFrame) -> None:
    g = candidate_report(history, bank=BANK, now=NOW).progress
    assert list(g["question_id"]) == ["clip-idea", "vit-patch", "clip-idea", "clip-data", "vit-patch"]
    assert list(g["topic_mean"]) == [40, 30, 70, 80, 20]
    assert [round(v, 3) for v in g["overall_mean"]] == [40, 35, 50, 63.333, 60]


def test_an_empty_history_gives_an_empty_report() -> None:
    r = candidate_report(attempts_frame(BANK, []), bank=BANK, now=NOW, user="bob")
    assert (r.user, r.attempts, r.first_attempt) == ("bob", 0, None)
    assert list(r.topics["topic"]) == ["clip", "vit", "blip2"]
    assert r.missed_points.empty and r.progress.empty
    assert list(r.next_questions["reason"]) == ["unseen"] * 4


# --- cohort (the model is tested in test_cohort_report.py) ---------------------


@pytest.fixture()
def cohort_csv(tmp_path: Path) -> Path:
    return write_scores(tmp_path / "run" / "scores.csv", cohort_rows(BANK, PEOPLE))


# --- CLI -------------------------------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_cohort_markdown_to_stdout(cohort_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["report", "--scores", str(cohort_csv), "--bank", str(BANK.root)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"# Cohort report: {cohort_csv}\n")
    assert "| 1 | clip | 45 | 28 | 5 | 85 | 5 | 10 |" in out
    assert "| 张三 | 5 | 30 | 13 |" in out


def test_cli_writes_html_and_csv_files(
    cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_html = tmp_path / "out" / "cohort.html"
    code, out, _ = run(
        [
            "report",
            "--scores",
            str(cohort_csv),
            "--bank",
            str(BANK.root),
            "--out",
            str(out_html),
            "--lang",
            "zh",
        ],
        capsys,
    )
    assert (code, out) == (0, f"Wrote {out_html} (html)\n")
    page = out_html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h2>各主题由弱到强</h2>" in page
    out_csv = tmp_path / "cohort.csv"
    code, out, _ = run(
        ["report", "--scores", str(cohort_csv), "--bank", str(BANK.root), "--out", str(out_csv)], capsys
    )
    assert (code, out) == (0, f"Wrote {out_csv} (csv)\n")
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbfsection,")
    assert not list(out_csv.parent.glob(".*partial"))
    code, printed, _ = run(["report", "--scores", str(cohort_csv), "--bank", str(BANK.root), "--format", "csv"],
                           capsys)  # written as it is made into the file, the same text as printed
    def timeless(text: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\dT[\d:.+]+", "TIME", text)

    assert code == 0 and timeless(out_csv.read_text(encoding="utf-8-sig")) == timeless(printed)


def test_cli_errors(cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["report", "--user", "bob", "--scores", str(cohort_csv)], capsys)
    assert code == 2 and err.endswith(
        "Error: give either --user (a practice report) or --scores (a cohort report), not both\n"
    )
    results = tmp_path / "results"
    code, _, err = run(
        ["report", "--user", "bob", "--results", str(results), "--bank", str(BANK.root)], capsys
    )
    assert (code, err) == (
        1,
        f"Error: no practice history at {results / 'history.sqlite'}; answer some questions "
        "first with `harness answer --user bob`, or point --results at the folder holding it\n",
    )
    assert not results.exists()
    missing = tmp_path / "nope" / "scores.csv"
    code, _, err = run(["report", "--scores", str(missing), "--bank", str(BANK.root)], capsys)
    assert (code, err) == (
        1,
        f"Error: {missing}: not found; give RUN_DIR/scores.csv of a `harness grade` run\n",
    )


def _stable_lines(text: str) -> list[str]:
    """Lines that do not carry the time the report was made."""
    return [line for line in text.splitlines() if "Generated" not in line and "summary," not in line]


@pytest.mark.slow
def test_cli_practice_report_from_a_real_history(
    scorer,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.practice import store
    from harness.report.render import render

    answers = [
        (
            "clip-idea",
            "CLIP 用对比学习把图像和文本映射到同一个 embedding 空间，训练后可以用 prompt 做 zero-shot 分类。",
            0,
        ),
        ("clip-idea", "CLIP 是一个图像分类模型。<script>alert(1)</script>", 1),
        (
            "vit-patch",
            "ViT 把图像切成 16x16 的 patch，每个 patch 展平后线性投影成 token，再加上位置编码。",
            1,
        ),
    ]
    results = tmp_path / "results"
    conn = store.connect(store.db_path(results))
    items = []
    for qid, text, day in answers:
        when = T0 + timedelta(days=day)
        items.append(
            (
                store.NewAttempt("小明", qid, scorer.bank.questions[qid].topic, text, when, when),
                scorer.score(qid, text),
            )
        )
    store.record(conn, items)
    expected = candidate_report(store.attempts_frame(conn, user="小明"), bank=scorer.bank, now=NOW)
    conn.close()
    for fmt in ("md", "html", "csv"):
        out = tmp_path / f"report.{fmt}"
        code, printed, err = run(
            ["report", "--user", "小明", "--results", str(results), "--out", str(out)], capsys
        )
        assert (code, printed, err) == (0, f"Wrote {out} ({fmt})\n", "")
        got = out.read_text(encoding="utf-8-sig")
        want = render(expected, fmt)
        if fmt == "html":
            got, want = (t.split("</header>", 1)[1] for t in (got, want))
        assert _stable_lines(got) == _stable_lines(want)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Practice report: 小明\n")
    assert "| clip |" in md and "| vit |" in md
