"""Scores that say when they are unsure: intervals, review reasons, and where they show (issue 14).

scoring/intervals.py + review.py + heldout.py, the Score fields, scores.csv's
columns, the calibration file and the cohort report's "Answers to review".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml
from grade_helpers import GRADE_DATA, FakeScorer, tiny_bank

from harness.errors import CalibrationError
from harness.grade.outputs import RunFolder
from harness.grade.run import run_grading
from harness.grade.schema import SCORES, ScoreRow, read_scores, rows_of, write_rows
from harness.grade.submissions import open_submissions
from harness.report.cohort import cohort_report, review_table, tally_scores
from harness.report.render import render
from harness.scoring import calibration, calibration_file
from harness.scoring.features import FEATURE_NAMES
from harness.scoring.intervals import N_INPUTS, conformal_quantile, fit_intervals
from harness.scoring.review import (
    FORMULA,
    OFF_TOPIC,
    UNMATCHED,
    VERDICT,
    WIDE,
    describe,
    formulas,
    reasons,
    verdict,
    verdict_conflict,
)
from harness.scoring.rules import CLOSENESS_CAP
from harness.types import Score

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def fitted() -> tuple[calibration.Calibration, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.random((400, len(FEATURE_NAMES)))
    y = np.clip(0.6 * x[:, 0] + 0.4 * x[:, 1] + rng.normal(0, 0.1, 400), 0, 1)
    real = rng.random(400) > 0.15
    y = np.where(real, y, 0.0)
    cal = calibration.fit(x, y, real, embedder_id="e")
    comps = cal.components(x[real])
    zh = np.arange(int(real.sum())) % 2 == 0
    intervals = fit_intervals(comps, x[real], y[real], zh)
    return calibration.fit(x, y, real, embedder_id="e", intervals=intervals, extra={"anchors": {"ta2": 0.005}}), x


# --- the interval model ---------------------------------------------------------------------


def test_the_conformal_quantile_takes_the_finite_sample_rank() -> None:
    scores = np.arange(1, 11, dtype=float)  # n = 10: ceil(0.9 * 11) = 10th smallest
    assert conformal_quantile(scores, 0.9) == 10.0
    assert conformal_quantile(scores, 0.5) == 6.0  # ceil(0.5 * 11) = 6


def test_intervals_hold_the_score_and_cover_about_the_level(fitted) -> None:  # type: ignore[no-untyped-def]
    cal, x = fitted
    comps = cal.components(x)
    b = cal.intervals.bounds(comps, x, np.arange(len(x)) % 2 == 0)
    f = cal.predict(x) / 100
    assert (b.low <= f + 1e-12).all() and (f <= b.high + 1e-12).all()
    assert (0 <= b.low).all() and (b.high <= 1).all()
    assert 0 < b.wide.mean() < 0.3  # the 85th percentile of sigma, on its own fitting rows


def test_a_calibration_keeps_its_intervals_and_extra(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cal, x = fitted
    path = tmp_path / "c.npz"
    calibration.save(cal, path)
    again = calibration.load(path)
    assert again.id == cal.id and again.extra == {"anchors": {"ta2": 0.005}}
    zh = np.arange(len(x)) % 3 == 0
    a, b = again.intervals.bounds(again.components(x), x, zh), cal.intervals.bounds(cal.components(x), x, zh)
    assert np.array_equal(a.low, b.low) and np.array_equal(a.high, b.high) and np.array_equal(a.wide, b.wide)
    assert calibration.content_id(calibration.with_extra(cal, "anchors", {"ta2": 0.1})) != cal.id


@pytest.mark.parametrize("change", [
    lambda a: a.__setitem__("intervals.zh.q", np.array([-1.0, 1.0, 0.2])),
    lambda a: a.__setitem__("intervals.zh.q", np.array([np.nan, 1.0, 0.2])),
    lambda a: a.__setitem__("intervals.other.z_range", np.zeros((2, N_INPUTS - 1))),
    lambda a: a.__setitem__("intervals.other.z_range", np.vstack([np.ones(N_INPUTS), np.zeros(N_INPUTS)])),
    lambda a: a.__setitem__("intervals.zh.sigma.coef", np.zeros(3)),
    lambda a: a.pop("intervals.other.gap_sd"),
])
def test_a_bad_interval_array_is_refused(fitted, tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    cal, _ = fitted
    path = tmp_path / "c.npz"
    calibration.save(cal, path)
    arrays, meta = calibration_file.load(path)
    change(arrays)
    meta.pop("format")
    path.write_bytes(calibration_file.dumps(arrays, meta))
    with pytest.raises(CalibrationError, match="not a usable calibration"):
        calibration.load(path)


def test_a_calibration_without_intervals_scores_without_them(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cal, x = fitted
    plain = replace(cal, intervals=None)
    calibration.save(replace(plain, id=calibration.content_id(plain)), tmp_path / "p.npz")
    again = calibration.load(tmp_path / "p.npz")
    assert again.intervals is None and again.id != cal.id
    assert np.array_equal(again.predict(x), cal.predict(x))


# --- review reasons -------------------------------------------------------------------------


def test_verdicts_are_read_from_the_opening_words() -> None:
    assert verdict("错误。栈中元素可以删除栈底元素") is False
    assert verdict("该说法是正确的，因为……") is True
    assert verdict("True, since a stack is LIFO") is True
    assert verdict("No.") is False
    assert verdict("栈是一种后进先出的结构") is None
    assert verdict("nothing to say") is None
    assert verdict_conflict("正确，栈底元素不能删除", ["错误。可以删除栈底元素"])
    assert not verdict_conflict("错误，可以删除", ["错误。可以删除栈底元素"])
    assert not verdict_conflict("正确", ["错误。", "正确。"])  # the references disagree: no rule


def test_complexities_are_written_one_way() -> None:
    assert formulas("O(n^2) 或 O(n²)") == formulas("o(n2)")
    assert formulas("O(log2 n)") == formulas("O(lg n)")
    assert formulas("foo(x) and too(n)") == frozenset()


def test_reasons_come_in_a_fixed_order_and_in_plain_words() -> None:
    assert reasons(wide=True, on_topic=0.3, text=(FORMULA, VERDICT)) == (WIDE, VERDICT, FORMULA, OFF_TOPIC)
    assert reasons(wide=False, on_topic=0.9, text=()) == ()
    assert describe((WIDE, OFF_TOPIC)) == "the scorer is unsure about this answer; it may answer another question"


# --- the scorer --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ladder(scorer) -> dict[tuple[str, str, str], Score]:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((DATA / "paraphrase_ladder.yaml").read_text(encoding="utf-8"))
    items = [(q, lang, kind) for q, langs in data.items() for lang, kinds in langs.items() for kind in kinds]
    return dict(zip(items, scorer.score_many([(q, data[q][lang][kind]["text"]) for q, lang, kind in items])))


def test_every_score_carries_an_interval_around_it(ladder, scorer) -> None:  # type: ignore[no-untyped-def]
    for s in ladder.values():
        assert s.score_low is not None and s.score_high is not None
        assert 0 <= s.score_low <= s.score <= s.score_high <= 100
        assert s.likely == f"{s.score:.0f}, likely {s.score_low:.0f}-{s.score_high:.0f}"
    blank = scorer.score("clip-idea", "")
    assert (blank.score, blank.score_low, blank.score_high, blank.review) == (0.0, 0.0, 0.0, ())


def test_ladder_review(ladder) -> None:  # type: ignore[no-untyped-def]
    """The flag marks the answers the score gets wrong, and hardly the right ones."""
    partial = {(q, lang): s.score for (q, lang, kind), s in ladder.items() if kind == "partial"}
    inverted = [s for (q, lang, kind), s in ladder.items()
                if kind in ("misconception", "stuffing") and s.score >= partial[(q, lang)]]
    assert sum(bool(s.review) for s in inverted) >= 0.75 * len(inverted)
    good = [s for (_, _, kind), s in ladder.items() if kind in ("terms", "plain")]
    assert sum(bool(s.review) for s in good) <= 0.1 * len(good)
    wrong = [s for (_, _, kind), s in ladder.items() if kind in ("misconception", "stuffing")]
    assert sum(bool(s.review) for s in wrong) >= 0.6 * len(wrong)


def test_a_score_no_key_point_explains_stays_at_half_marks(scorer) -> None:  # type: ignore[no-untyped-def]
    """An answer near the topic that matches no key point is held at the cap and sent to review."""
    near = "CLIP needs no human-labelled classes: the captions that come with web images are the supervision."
    s = scorer.score("clip-idea", near)
    assert not s.covered and not any(p.status == "partial" for p in s.points)
    assert s.calibrated > CLOSENESS_CAP  # the hold is what sets it
    assert s.score == CLOSENESS_CAP and UNMATCHED in s.review and s.rests_on_closeness
    dropout = ("Dropout is a regularisation technique: during training each hidden unit is set to zero with "
               "probability p, so the network cannot rely on any single neuron and co-adaptation is reduced.")
    elsewhere = scorer.score("clip-idea", dropout)  # about something else: capped lower (`rules.shows_nothing_of`)
    assert elsewhere.score <= 15 and OFF_TOPIC in elsewhere.review and not elsewhere.rests_on_closeness
    right = scorer.score("clip-idea", "CLIP 用对比学习把图像和文本映射到同一个嵌入空间，"
                                      "用自然语言作监督，所以能零样本分类。")
    assert right.score > CLOSENESS_CAP and UNMATCHED not in right.review


# --- scores.csv and the cohort report ------------------------------------------------------


def _rows() -> list[ScoreRow]:
    return [
        ScoreRow("a", "clip-idea", "clip", 72.0, score_low=60.0, score_high=81.0, review=(WIDE,)),
        ScoreRow("b", "clip-idea", "clip", 90.0, score_low=80.0, score_high=100.0),
        ScoreRow("b", "clip-data", "clip", 40.0, score_low=20.0, score_high=70.0, review=(VERDICT, OFF_TOPIC)),
    ]


def test_scores_csv_round_trips_the_interval_and_review(tmp_path: Path) -> None:
    path = write_rows(tmp_path / SCORES.file, SCORES, _rows())
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith("score_low,score_high,review")
    assert list(rows_of(read_scores(path))) == _rows()


def test_an_old_scores_csv_has_nothing_to_review(tmp_path: Path) -> None:
    path = tmp_path / SCORES.file
    path.write_text("student_id,question_id,topic,score\ns1,clip-idea,clip,80\n", encoding="utf-8")
    frame = read_scores(path).frame
    assert frame["score_low"].isna().all() and review_table(frame).empty


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_cohort_report_lists_the_answers_to_review(tmp_path: Path, bank, lang: str) -> None:  # type: ignore[no-untyped-def]
    frame = read_scores(write_rows(tmp_path / SCORES.file, SCORES, _rows())).frame
    report = cohort_report(tally_scores(frame, bank=bank).stats(), bank=bank,
                           now=datetime(2026, 12, 1, tzinfo=timezone.utc), to_review=review_table(frame))
    assert list(report.to_review["person"]) == ["b", "a"]  # by question, then person
    md, html = render(report, "md", lang=lang), render(report, "html", lang=lang)
    head, unsure, verdict_words = (("Answers to review", "the scorer is unsure", "opposite verdict") if lang == "en"
                                   else ("需要复核的答案", "评分器没有把握", "判断与参考答案相反"))
    for text in (md, html):
        assert head in text and unsure in text and verdict_words in text
        assert "60-81" in text and "20-70" in text
    empty = cohort_report(tally_scores(frame, bank=bank).stats(), bank=bank, now=datetime.now(timezone.utc))
    assert ("No answer was flagged for review." if lang == "en" else "没有需要复核的答案。") in render(empty, "md",
                                                                                                 lang=lang)


class _UnsureScorer(FakeScorer):
    """The fake grade scorer, with a range on every score and the short answers flagged for review."""

    def score_many(self, items):  # type: ignore[no-untyped-def]
        return [replace(s, score_low=max(0.0, s.score - 20), score_high=min(100.0, s.score + 10),
                        review=(WIDE,) if len(a) < 12 else ())
                for s, (_, a) in zip(super().score_many(items), items, strict=True)]


def test_a_grade_run_writes_the_ranges_and_lists_the_answers_to_review(tmp_path: Path) -> None:
    bank = tiny_bank()
    run = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), _UnsureScorer(bank),
                      folder=RunFolder(tmp_path / "out"))
    frame = read_scores(run.out_dir).frame
    flagged = frame[[bool(r) for r in frame["review"]]]
    scored = frame[frame["flags"].map(lambda f: "blank" not in f)]
    assert (scored["score_low"] <= scored["score"]).all() and (scored["score"] <= scored["score_high"]).all()
    assert run.to_review == len(flagged) > 0
    report = (run.out_dir / "report.md").read_text(encoding="utf-8")
    section = report.split("## Answers to review")[1].split("\n## ")[0]
    assert all(f"| {p} | {q} |" in section for p, q in zip(flagged["student_id"], flagged["question_id"]))
    assert section.count("| the scorer is unsure |") == len(flagged)


def test_a_grade_run_keeps_only_the_flagged_answers_its_report_lists(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat however many answers are flagged: report.md lists the first few and counts the rest."""
    from harness.report import cohort_layout

    bank = tiny_bank()
    whole = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), _UnsureScorer(bank),
                        folder=RunFolder(tmp_path / "whole"))
    monkeypatch.setattr(cohort_layout, "REVIEW_SHOWN", 2)
    run = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), _UnsureScorer(bank),
                      folder=RunFolder(tmp_path / "out"))
    assert run.to_review == whole.to_review > 2
    section = (run.out_dir / "report.md").read_text(encoding="utf-8").split("## Answers to review")[1]
    section = section.split("\n## ")[0]
    listed = [line for line in section.splitlines() if line.endswith("| the scorer is unsure |")]
    first = [line for line in (whole.out_dir / "report.md").read_text(encoding="utf-8").splitlines()
             if line.endswith("| the scorer is unsure |")][:2]
    assert listed == first  # the first two by question, then person, as in the full list
    assert f"{whole.to_review - 2} more are marked in scores.csv (column review)." in section


def test_review_rows_keep_the_first_in_report_order_and_count_all() -> None:
    from harness.grade.outputs import ReviewRows
    from harness.grade.schema import RESULT_COLUMNS
    from harness.grade.submissions import Answer
    from harness.grade.tally import Graded

    names = [c.name for c in RESULT_COLUMNS]
    cells = [""] * len(names)
    cells[names.index("score")], cells[names.index("review")] = "50.0", "wide-interval"
    rng = np.random.default_rng(3)
    pairs = [(f"p{i:04d}", f"q{j}") for i in range(700) for j in range(4)]
    rng.shuffle(pairs)
    keep = ReviewRows(keep=5)
    for start in range(0, len(pairs), 97):
        keep([(Answer(1, p, 0, q, "text", ()), Graded("t", 50.0, False, True, (), (), (), tuple(cells)))
              for p, q in pairs[start:start + 97]])
    frame = keep.frame()
    assert keep.count == 2800 and len(frame) == 5
    assert list(zip(frame["question_id"], frame["student_id"])) == [("q0", f"p{i:04d}") for i in range(5)]


def test_the_cohort_report_reads_a_run_in_chunks_and_says_the_same(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`harness report --scores RUN` streams scores.csv: any chunk size gives the same report."""
    from harness.report import cohort
    from harness.report.build import load_cohort

    bank = tiny_bank()
    run = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), _UnsureScorer(bank),
                      folder=RunFolder(tmp_path / "out"))
    assert run.to_review > 3
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    whole = {fmt: render(load_cohort(run.out_dir, bank_dir=GRADE_DATA / "bank", now=now), fmt)
             for fmt in ("md", "csv")}
    monkeypatch.setattr(cohort, "READ_CHUNK", 3)
    parts = load_cohort(run.out_dir, bank_dir=GRADE_DATA / "bank", now=now)
    assert {fmt: render(parts, fmt) for fmt in ("md", "csv")} == whole
    kept = load_cohort(run.out_dir, bank_dir=GRADE_DATA / "bank", now=now, review_keep=2)
    assert (len(kept.to_review), kept.review_total) == (2, run.to_review)
    assert f"{run.to_review - 2} more are marked in scores.csv (column review)." in render(kept, "md")
    assert kept.to_review.equals(parts.to_review.head(2))
    import csv as csvmodule
    import io

    table = list(csvmodule.DictReader(io.StringIO(whole["csv"])))
    assert [r["review_total"] for r in table if r["section"] == "summary"] == [str(run.to_review)]
    assert sum(r["section"] == "to_review" for r in table) == run.to_review  # the CSV lists every one


def test_the_summary_line_says_where_the_flagged_answers_are(tmp_path: Path) -> None:
    from harness.cli.grade_cmd import review_line

    bank = tiny_bank()
    run = run_grading(open_submissions(GRADE_DATA / "long.csv", bank), _UnsureScorer(bank),
                      folder=RunFolder(tmp_path / "out"))
    assert review_line(run) == f"{run.to_review} answers flagged for review: report.md lists them with the reasons"
    assert review_line(replace(run, to_review=2500)) == (
        "2,500 answers flagged for review: report.md lists the first 100 with the reasons, scores.csv marks all "
        "(column review)")
    assert review_line(replace(run, to_review=0)) is None
