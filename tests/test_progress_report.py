"""`harness report --scores A --scores B`: a cohort graded twice, compared; bad input refused with file, row, column."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from grade_helpers import FakeScorer
from progress_helpers import BANK_DIR, edited_bank, grade_cohort, levels
from report_fixtures import NOW

from harness.bank.loader import load_bank
from harness.errors import HarnessError, InputFileError
from harness.report.progress import load_progress
from harness.report.progress_runs import load_runs

Run = Callable[..., tuple[int, str, str]]
WEEK1 = levels({"p1": "good", "p2": "weak", "p3": "part", "p4": "part", "p5": "good", "p6": "weak"})
WEEK6 = levels({
    "p1": "good",  # unchanged
    "p2": "good",  # improved everywhere
    "p3": "blank",  # left everything blank
    "p4": {"clip-idea": "good", "clip-loss": "good", "vit-patch": "part"},  # better at clip only
    "p5": {"clip-idea": "good", "clip-loss": "good", "vit-patch": "weak"},  # worse at vit only
    "p7": "part",  # new; p6 is missing
})




@pytest.fixture
def weeks(tmp_path: Path) -> tuple[Path, Path]:
    return grade_cohort(tmp_path, "week1", WEEK1), grade_cohort(tmp_path, "week6", WEEK6)


def sections(text: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["section"], []).append(row)
    return out


def sign(value: str) -> int:
    number = float(value)
    return (number > 0) - (number < 0)


def test_the_csv_shows_who_improved_and_who_declined_in_which_topic(run: Run, weeks: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "progress.csv"
    code, stdout, _ = run("report", "--scores", weeks[0], "--scores", weeks[1] / "scores.csv", "--out", out)
    assert code == 0 and stdout == f"Wrote {out} (csv)\n"
    table = sections(out.read_text(encoding="utf-8-sig"))
    people = {r["person"]: r for r in table["people"]}
    assert {p: sign(people[p]["change"]) for p in ("p1", "p2", "p3", "p4", "p5")} == {
        "p1": 0, "p2": 1, "p3": -1, "p4": 1, "p5": -1}
    topic = {(r["person"], r["topic"]): sign(r["change"]) for r in table["person_topic"] if r["change"]}
    assert topic == {("p1", "clip"): 0, ("p1", "vit"): 0, ("p2", "clip"): 1, ("p2", "vit"): 1,
                     ("p3", "clip"): -1, ("p3", "vit"): -1, ("p4", "clip"): 1, ("p4", "vit"): 0,
                     ("p5", "clip"): 0, ("p5", "vit"): -1}
    assert (people["p6"]["status"], people["p6"]["in_runs"], people["p6"]["change"]) == ("missing", "week1", "")
    assert (people["p7"]["status"], people["p7"]["in_runs"], people["p7"]["mean_1"]) == ("new", "week6", "")
    assert [r["person"] for r in table["improved"]] == ["p2", "p4"]
    assert [r["person"] for r in table["declined"]] == ["p3", "p5"]
    assert table["declined"][0]["change"] == "-61.133"  # p3: part (66.7, 66.7, 50) -> blank (0)
    assert table["summary"][0]["comparable"] == "true" and "differences" not in table
    assert [r["run"] for r in table["runs"]] == ["week1", "week6"]


def test_topic_and_question_means_in_each_run(weeks: tuple[Path, Path]) -> None:
    report = load_progress(weeks, bank_dir=None, now=NOW)
    topics = report.topics.set_index("topic")
    # clip: week1 people means 100, 0, 66.7 (part), 66.7, 100, 0
    assert topics.loc["clip", "mean_1"] == pytest.approx((100 + 0 + 66.7 + 66.7 + 100 + 0) / 6, abs=0.01)
    assert topics.loc["vit", "change"] == 0 < topics.loc["clip", "change"]  # vit: 50 both times
    questions = report.questions.set_index("question_id")
    assert questions.loc["vit-patch", "facility_1"] == pytest.approx(2 / 6)
    assert list(report.questions["in_every_run"]) == [True, True, True]
    assert report.shared == ("clip-idea", "clip-loss", "vit-patch")


def test_the_markdown_names_new_and_missing_people_in_both_languages(run: Run, weeks: tuple[Path, Path]) -> None:
    code, text, _ = run("report", "--scores", weeks[0], "--scores", weeks[1], "--format", "md")
    assert code == 0
    assert text.startswith("# Progress report: week1 → week6\n")
    assert "Every run was scored the same way: embedder fake, calibration fake-cal, the same rubrics." in text
    assert "| p6 | missing from week6 | week1 | 0 | — |" in text
    assert "| p7 | new in week6 | week6 | — | 61 |" in text
    assert "| p6 |" not in text.split("## Person × topic: change")[1]  # no change to show: listed above
    code, zh, _ = run("report", "--scores", weeks[0], "--scores", weeks[1], "--lang", "zh")
    assert code == 0 and zh.startswith("# 进步报告：week1 → week6\n")
    assert "| p6 | 缺席 week6 | week1 | 0 | — |" in zh and "## 人 × 主题：变化" in zh


def test_a_question_in_only_some_runs_is_listed_not_dropped(tmp_path: Path) -> None:
    first = grade_cohort(tmp_path, "a", {"p1": {"clip-idea": "good", "vit-patch": "weak"},
                                         "p2": {"clip-idea": "weak", "vit-patch": "good"}})
    second = grade_cohort(tmp_path, "b", {"p1": {"clip-idea": "good", "clip-loss": "part"},
                                          "p2": {"clip-idea": "good", "clip-loss": "good"}})
    report = load_progress([first, second], bank_dir=None, now=NOW)
    assert report.shared == ("clip-idea",)
    rows = report.questions.set_index("question_id")
    assert rows.loc["vit-patch", "in_runs"] == "a" and rows.loc["clip-loss", "in_runs"] == "b"
    assert not rows.loc["vit-patch", "in_every_run"] and rows.loc["clip-idea", "in_every_run"]
    assert list(report.topics["topic"]) == ["clip"]  # means over the shared question only
    people = report.people.set_index("person")
    assert (people.loc["p2", "mean_1"], people.loc["p2", "mean_2"]) == (0.0, 100.0)
    from harness.report.render import render

    text = render(report, "md")
    assert "2 question(s) were asked in only some runs" in text
    assert "| vit-patch | vit | 50 | — | — | 50% | — | — | a |" in text


def test_a_changed_rubric_is_named(run: Run, tmp_path: Path) -> None:
    old = grade_cohort(tmp_path, "week1", WEEK1)
    new = grade_cohort(tmp_path, "week6", WEEK6, bank=load_bank(edited_bank(tmp_path)))
    before = json.loads((old / "run.json").read_text())["inputs"]["bank"]["rubric_versions"]["clip-idea"]
    after = json.loads((new / "run.json").read_text())["inputs"]["bank"]["rubric_versions"]["clip-idea"]
    code, text, _ = run("report", "--scores", old, "--scores", new)
    assert code == 0
    assert "Not every run was scored the same way: see Scored differently." in text
    assert f"| week1 | rubric of clip-idea | {before} | {after} |" in text
    assert "| clip \\* |" in text and "| clip-idea \\* |" in text and "| clip-loss |" in text
    code, table, _ = run("report", "--scores", old, "--scores", new, "--format", "csv")
    rows = sections(table)
    assert rows["summary"][0]["comparable"] == "false"
    assert [(d["run"], d["what"], d["item"]) for d in rows["differences"]] == [("week1", "rubric", "clip-idea")]


def rewrite_record(run_dir: Path, **fields: object) -> None:
    path = run_dir / "run.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record.update(fields)
    path.write_text(json.dumps(record), encoding="utf-8")


def test_embedder_calibration_and_anchors_differences_are_named(weeks: tuple[Path, Path]) -> None:
    rewrite_record(weeks[0], embedder="st:all-MiniLM-L6-v2", calibration="cal-old", anchors=[{"answer": 1}])
    report = load_progress(weeks, bank_dir=None, now=NOW)
    found = [(d.what, d.value, d.latest) for d in report.differences.itertuples()]
    assert found[:2] == [("embedder", "st:all-MiniLM-L6-v2", "fake"), ("calibration", "cal-old", "fake-cal")]
    assert found[2][0] == "anchors" and found[2][1].startswith("1 entries, hash ") and found[2][2] == "none"
    assert not report.comparable and not report.topics["scored_same"].any()


def test_a_run_without_run_json_is_said_to_be_scored_in_an_unknown_way(weeks: tuple[Path, Path]) -> None:
    (weeks[0] / "run.json").unlink()
    report = load_progress(weeks, bank_dir=None, now=NOW)
    assert [(d.what, d.value, d.latest) for d in report.differences.itertuples()] == [
        ("unknown", "no run.json", "run.json")]
    assert not report.comparable
    from harness.report.render import render

    assert "| week1 | how it was scored (no run.json) | no run.json | run.json |" in render(report, "md")


def test_a_bank_change_that_leaves_the_rubrics_alone_is_only_a_note(weeks: tuple[Path, Path]) -> None:
    record = json.loads((weeks[0] / "run.json").read_text(encoding="utf-8"))
    record["inputs"]["bank"]["version"] = "0123456789ab"
    (weeks[0] / "run.json").write_text(json.dumps(record), encoding="utf-8")
    report = load_progress(weeks, bank_dir=None, now=NOW)
    assert report.comparable
    from harness.report.render import render

    text = render(report, "md")
    assert "Bank version 0123456789ab in week1" in text and "Scored differently" not in text


# --- bad input -----------------------------------------------------------------------------------


def test_runs_with_no_question_in_common_are_refused(run: Run, tmp_path: Path) -> None:
    first = grade_cohort(tmp_path, "a", {"p1": {"clip-idea": "good"}})
    second = grade_cohort(tmp_path, "b", {"p1": {"vit-patch": "good"}})
    code, out, err = run("report", "--scores", first, "--scores", second)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: no question is in every run, so there is no progress to measure: {first / 'scores.csv'}: 1 "
        f"question(s) (clip-idea); {second / 'scores.csv'}: 1 question(s) (vit-patch). Were they graded "
        "against different banks? Compare runs of the same questions\n"
    )


def test_a_hand_edited_score_names_file_row_and_column(run: Run, weeks: tuple[Path, Path]) -> None:
    path = weeks[1] / "scores.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    cells = lines[3].split(",")
    cells[3] = "eighty"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run("report", "--scores", weeks[0], "--scores", weeks[1])
    assert (code, err) == (1, f"Error: {path}: row 4: score: 'eighty' is not a number from 0 to 100\n")


def test_a_scores_csv_missing_columns_is_refused_with_its_name(run: Run, weeks: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    bad = tmp_path / "edited.csv"
    bad.write_text("student_id,question_id,points\np1,clip-idea,3\n", encoding="utf-8")
    code, _, err = run("report", "--scores", weeks[0], "--scores", bad)
    assert code == 1
    assert err.startswith(f"Error: {bad}: not a scores.csv from `harness grade`: no topic, score columns")


def test_the_same_run_twice_or_a_missing_one_is_refused(weeks: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="the same run as"):
        load_runs([weeks[0], weeks[0] / "scores.csv"])
    with pytest.raises(InputFileError, match="nowhere: not found"):
        load_runs([weeks[0], tmp_path / "nowhere"])


def test_runs_with_one_folder_name_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = grade_cohort(tmp_path / "x", "week", WEEK1)
    b = grade_cohort(tmp_path / "y", "week", WEEK6)
    assert [r.label for r in load_runs([a, b])] == ["week (#1)", "week (#2)"]


def test_one_run_is_not_a_progress_report(weeks: tuple[Path, Path]) -> None:
    from harness.report.progress import progress_report

    with pytest.raises(HarnessError, match="two runs or more"):
        progress_report(load_runs([weeks[0]]), bank=None, now=NOW)


def test_user_and_several_scores_together_is_a_usage_error(run: Run, weeks: tuple[Path, Path]) -> None:
    code, _, err = run("report", "--user", "alice", "--scores", weeks[0], "--scores", weeks[1])
    assert code == 2 and "give either --user" in err


def test_fake_scorer_matches_the_helpers_levels() -> None:
    from progress_helpers import ANSWERS

    scorer = FakeScorer(load_bank(BANK_DIR))
    for qid in ("clip-idea", "clip-loss", "vit-patch"):
        good, part, weak = (s.score for s in scorer.score_many([(qid, ANSWERS[k][qid]) for k in ("good", "part",
                                                                                                 "weak")]))
        assert good == 100 and 0 < part < 100 and weak == 0


def test_runs_given_newest_first_are_warned_about(run: Run, weeks: tuple[Path, Path]) -> None:
    record = json.loads((weeks[0] / "run.json").read_text(encoding="utf-8"))
    record["finished"] = "2030-01-01T00:00:00+00:00"  # week1 graded after week6
    (weeks[0] / "run.json").write_text(json.dumps(record), encoding="utf-8")
    code, text, _ = run("report", "--scores", weeks[0], "--scores", weeks[1])
    assert code == 0
    assert "Warning: week6 was graded before week1; give the runs oldest first, or the changes run backwards." in text
    code, text, _ = run("report", "--scores", weeks[1], "--scores", weeks[0])
    assert "Warning" not in text


def test_runs_are_read_in_chunks_and_report_the_same(weeks: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each run streams into its tally (memory flat however large the runs); a question's topic is the latest's."""
    from harness.report import cohort
    from harness.report.render import render

    week1, week6 = weeks
    moved = tmp_path / "week6-moved.csv"  # the latest run files clip-idea under another topic
    text = (week6 / "scores.csv").read_text(encoding="utf-8-sig")
    moved.write_text(text.replace(",clip-idea,clip,", ",clip-idea,multimodal,"), encoding="utf-8")
    paths = [week1, moved]
    whole = load_progress(paths, bank_dir=None, now=NOW)
    monkeypatch.setattr(cohort, "READ_CHUNK", 2)
    parts = load_progress(paths, bank_dir=None, now=NOW)
    for fmt in ("md", "csv"):
        assert render(parts, fmt) == render(whole, fmt)
    assert "multimodal" in set(whole.topics["topic"]) and "clip" in set(whole.topics["topic"])
    assert whole.runs["answers"].tolist() == [len(p.read_text(encoding="utf-8-sig").splitlines()) - 1
                                              for p in (week1 / "scores.csv", moved)]
