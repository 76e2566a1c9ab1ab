"""The cohort report model (`report.cohort`) built from scores.csv files and rows; reading scores.csv."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import NOW, OLD_SCORES_HEADER, PEOPLE, cohort_rows, report_of, tiny_bank, write_csv, write_scores

from harness.errors import InputFileError
from harness.grade.schema import SCORES, ScoreRow, read_scores
from harness.report.cohort import CohortReport, cohort_report, tally_scores

BANK = tiny_bank()


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
    assert old.absent == ("answer", "covered_ids", "partial_ids", "missed_ids", "misconception_ids", "score_low",
                          "score_high", "review")
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
