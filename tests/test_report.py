from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import (
    NOW,
    OLD_SCORES_HEADER,
    T0,
    attempts_frame,
    cohort_rows,
    report_of,
    tiny_bank,
    write_csv,
    write_scores,
)

from harness.cli import main
from harness.errors import InputFileError
from harness.grade.schema import SCORES, ScoreRow, read_scores
from harness.practice.scheduler import Review, plan
from harness.report.candidate import candidate_report
from harness.report.cohort import CohortReport, cohort_report, tally_scores

BANK = tiny_bank()
# (question, score, day, statuses, closest clause)
HISTORY = [
    ("clip-idea", 40, 0, {"contrastive": "missed", "zero-shot": "missed"}),
    ("clip-idea", 70, 2, {"zero-shot": "partial"}, "零样本大概是 prompt"),
    ("clip-data", 90, 2),
    ("vit-patch", 30, 1, {"patchify": "missed", "position": "missed"}, "I think <script>"),
    ("vit-patch", 20, 3, {"patchify": "partial", "position": "missed"}, "patches are pixels"),
]
PEOPLE = {
    "p1": {"clip-idea": 90, "clip-data": 80, "vit-patch": 20},
    "p2": {"clip-idea": 70, "clip-data": 60, "vit-patch": 40},
    "p3": {"clip-idea": 50, "clip-data": 40, "vit-patch": 60},
    "p4": {"clip-idea": 30, "clip-data": 20, "vit-patch": 80},
    "张三": {"clip-idea": 10, "clip-data": 0, "vit-patch": 30},
}


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


# --- cohort ----------------------------------------------------------------------


@pytest.fixture()
def cohort_csv(tmp_path: Path) -> Path:
    return write_scores(tmp_path / "run" / "scores.csv", cohort_rows(BANK, PEOPLE))


def cohort_of(path: Path, **kw: object) -> CohortReport:
    scores = read_scores(path)
    return cohort_report(tally_scores(scores.frame, bank=BANK).stats(), bank=BANK, now=NOW, **kw)  # type: ignore[arg-type]


def test_read_scores_splits_items_and_keeps_row_numbers(cohort_csv: Path) -> None:
    scores = read_scores(cohort_csv.parent)  # a RUN_DIR works too
    frame = scores.frame
    assert (scores.skipped, scores.absent, scores.carried) == (0, (), ())
    assert list(frame.columns) == ["row", *SCORES.names]
    assert list(frame["row"][:3]) == [2, 3, 4]
    last = frame.iloc[-1]
    assert (last["student_id"], last["question_id"], last["score"]) == ("张三", "vit-patch", 30.0)
    assert last["missed"] == ("Patches", "Position") and last["missed_ids"] == ("patchify", "position")
    assert last["covered"] == () and last["flags"] == () and last["source_row"] == 16


def test_read_scores_rejects_a_file_that_is_not_a_scores_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ("student_id", "question_id", "answer"), [["s1", "clip-idea", "答案"]])
    with pytest.raises(InputFileError) as exc:
        read_scores(path)
    assert str(exc.value) == (
        f"{path}: not a scores.csv from `harness grade`: no topic, score columns "
        "(it needs student_id, question_id, topic, score); give RUN_DIR/scores.csv "
        "of a grade run"
    )


@pytest.mark.parametrize("bad", ["abc", "150", "nan"])
def test_read_scores_names_the_row_of_a_bad_score(tmp_path: Path, bad: str) -> None:
    path = write_csv(tmp_path / "scores.csv", OLD_SCORES_HEADER,
                     [["s1", "clip-idea", "clip", "50"], ["s2", "clip-idea", "clip", bad]])
    with pytest.raises(InputFileError) as exc:
        read_scores(path)
    assert str(exc.value) == f"{path}: row 3: score: {bad!r} is not a number from 0 to 100"


def test_read_scores_refuses_a_second_row_for_one_answer(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "scores.csv", OLD_SCORES_HEADER,
                     [["s1", "clip-idea", "clip", "50"], ["s2", "clip-idea", "clip", "60"],
                      ["s1", "clip-idea", "clip", "70"]])
    with pytest.raises(InputFileError) as exc:
        read_scores(path)
    assert str(exc.value) == (f"{path}: row 4: student 's1' answered clip-idea already in row 2; "
                              "a scores.csv holds one row per answer (report each run on its own)")


def test_read_scores_skips_rows_without_a_score(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "scores.csv", OLD_SCORES_HEADER,
                     [["s1", "clip-idea", "clip", "50"], ["s2", "clip-idea", "clip", ""]])
    scores = read_scores(path)
    assert (len(scores.frame), scores.skipped) == (1, 1)


def test_a_scores_csv_from_before_the_id_columns_reports_by_label(cohort_csv: Path, tmp_path: Path) -> None:
    """Files written before the id columns still report, their labels looked up in the bank."""
    rows = [[r.student_id, r.question_id, r.topic, f"{r.score:.1f}", "; ".join(r.covered), "",
             "; ".join(r.missed)] for r in cohort_rows(BANK, PEOPLE)]
    old = read_scores(write_csv(tmp_path / "old" / "scores.csv", OLD_SCORES_HEADER, rows))
    assert old.absent == ("answer", "covered_ids", "partial_ids", "missed_ids", "misconception_ids")
    assert old.frame["missed_ids"].iloc[-1] == ()
    before = cohort_report(tally_scores(old.frame, bank=BANK).stats(), bank=BANK, now=NOW)
    now = cohort_of(cohort_csv)
    for name in ("topics", "person_topic", "hardest", "missed_points", "attention"):
        pd.testing.assert_frame_equal(getattr(before, name), getattr(now, name))
    assert before.missed_points["statement"].iloc[0] == "4 亿个从互联网收集的图文对。"


def test_cohort_topics_people_and_questions(cohort_csv: Path) -> None:
    r = cohort_of(cohort_csv, source="run/scores.csv")
    assert (r.people, r.answers, r.questions, round(r.mean, 3)) == (5, 15, 3, 45.333)
    t = r.topics
    assert list(t["topic"]) == ["clip", "vit"]
    assert list(t["mean"]) == [45, 46]
    assert round(t["sd"].iloc[0], 3) == round(math.sqrt(800), 3)
    assert list(t["lowest"]) == [5, 20] and list(t["highest"]) == [85, 80]
    assert list(t["people"]) == [5, 5] and list(t["answers"]) == [10, 5]
    g = r.person_topic
    assert list(g.columns) == ["person", "clip", "vit", "overall"]
    assert list(g["person"]) == ["张三", "p4", "p3", "p2", "p1"]
    assert list(g["clip"]) == [5, 25, 45, 65, 85]


def test_topic_mean_is_the_mean_of_the_peoples_topic_means() -> None:
    """Each person counts once in a topic's mean, however many of its questions they answered."""
    rows = [ScoreRow("a", "clip-idea", "clip", 90.0), ScoreRow("a", "clip-data", "clip", 70.0),
            ScoreRow("b", "clip-idea", "clip", 20.0)]
    r = report_of(rows, BANK)
    assert r.topics["mean"].iloc[0] == 50  # (80 + 20) / 2, not (90 + 70 + 20) / 3
    assert r.mean == 50 and list(r.person_topic["overall"]) == [20, 80]


def test_cohort_facility_and_negative_discrimination(cohort_csv: Path) -> None:
    r = cohort_of(cohort_csv)
    assert list(r.hardest["question_id"]) == ["clip-data", "vit-patch", "clip-idea"]  # ties broken by mean
    assert list(r.hardest["facility"]) == [0.4, 0.4, 0.4]
    assert list(r.negative["question_id"]) == ["vit-patch"]
    x = np.array([20, 40, 60, 80, 30], float)
    rest = np.array([85, 65, 45, 25, 5], float)
    assert r.negative["discrimination"].iloc[0] == pytest.approx(np.corrcoef(x, rest)[0, 1], abs=1e-12)
    assert (r.hardest["discrimination"][r.hardest["question_id"] != "vit-patch"] > 0).all()


def test_cohort_most_missed_points_carry_the_rubric_statement(cohort_csv: Path) -> None:
    p = cohort_of(cohort_csv).missed_points
    assert list(zip(p["question_id"], p["title"], p["missed"], strict=True)) == [
        ("clip-data", "数据规模", 3),
        ("vit-patch", "Patches", 3),
        ("vit-patch", "Position", 3),
        ("clip-idea", "对比学习", 2),
        ("clip-idea", "零样本迁移", 2),
    ]
    assert list(p["rate"]) == [0.6, 0.6, 0.6, 0.4, 0.4]
    assert p["statement"].iloc[0] == "4 亿个从互联网收集的图文对。"
    assert p["statement_en"].iloc[3] == "CLIP aligns images and texts with contrastive learning."


def test_a_point_the_bank_lacks_keeps_the_label_the_file_gave() -> None:
    rows = [ScoreRow("a", "clip-idea", "clip", 10.0, missed=("旧的要点",), missed_ids=("old-point",))]
    p = report_of(rows, BANK).missed_points
    assert (p["title"].iloc[0], p["statement"].iloc[0]) == ("旧的要点", "")
    assert report_of(rows, None).missed_points["title"].iloc[0] == "旧的要点"


def test_cohort_people_who_need_attention(cohort_csv: Path) -> None:
    a = cohort_of(cohort_csv).attention
    assert list(a["person"]) == ["张三", "p4", "p3", "p2"]
    first = a.iloc[0]
    assert (first["weakest_topic"], first["weakest_mean"], bool(first["below_mark"])) == ("clip", 5.0, True)
    assert first["sd_below"] > 1 and a["sd_below"].iloc[1] < 1


def test_blank_answers_count_for_attention_but_not_for_miss_rates() -> None:
    rows = [
        ScoreRow("s1", "clip-data", "clip", 0.0, flags=("blank",)),
        ScoreRow("s1", "vit-patch", "vit", 0.0, flags=("blank",)),
        ScoreRow("s1", "clip-idea", "clip", 95, covered=("对比学习", "零样本迁移")),
        ScoreRow("s2", "clip-data", "clip", 100, covered=("数据规模",)),
        ScoreRow("s2", "vit-patch", "vit", 40, missed=("Patches", "Position")),
        ScoreRow("s2", "clip-idea", "clip", 90, covered=("对比学习", "零样本迁移")),
    ]
    r = report_of(rows, BANK, attention_below=10)
    assert list(r.missed_points["judged"]) == [1, 1]  # s1's blank vit-patch answer is not judged
    assert list(r.attention["person"]) == ["s1"]
    assert (r.attention["blank"].iloc[0], bool(r.attention["below_mark"].iloc[0])) == (2, False)


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
