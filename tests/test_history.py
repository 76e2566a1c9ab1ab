"""History summaries, sparklines, version labels and the CSV (harness.practice.history)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from practice_helpers import T0, FakeScorer, stored

from harness.errors import HarnessError
from harness.practice import history, store
from harness.practice.history import TopicSummary, sparkline, summarise, version_labels

ROWS = [
    stored(1, "clip-idea", "clip", 40, day=0),
    stored(2, "vit-patch", "vit", 30, day=1, calibration="cal-2"),
    stored(3, "clip-arch", "clip", 60, day=2, rubric="2+bbb"),
    stored(4, "clip-idea", "clip", 80, day=3),
]


def test_sparkline() -> None:
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert len(sparkline(list(range(100)))) == 24
    assert sparkline([-5, 12.5, 99.9, 130]) == "▁▂██"  # out-of-range scores are clamped
    assert sparkline(list(range(0, 100, 10)), width=3) == "▆▇█"  # the last three: 70, 80, 90


def test_version_labels_in_order_of_first_use() -> None:
    assert version_labels(ROWS) == {("use-multilingual", "cal-1"): "S1", ("use-multilingual", "cal-2"): "S2"}
    assert version_labels([]) == {}


def test_summarise_per_topic_in_order_of_first_attempt() -> None:
    assert summarise(ROWS) == [
        TopicSummary("clip", (40.0, 60.0, 80.0), ("S1",), False),  # two questions, each one rubric version
        TopicSummary("vit", (30.0,), ("S2",), False),
    ]


def test_summarise_flags_mixed_rubric_versions_of_one_question() -> None:
    rows = [*ROWS, stored(5, "clip-idea", "clip", 70, day=4, rubric="2+ccc", calibration="cal-2")]
    clip = summarise(rows)[0]
    assert clip.mixed_rubrics and clip.labels == ("S1", "S2")
    assert clip.scored_with == "S1,S2*"
    assert summarise(ROWS)[1].scored_with == "S2"


def test_moving_average_is_the_last_five() -> None:
    s = TopicSummary("t", (0, 10, 20, 30, 40, 50, 60), ("S1",), False)
    assert s.moving_average == 40.0
    assert TopicSummary("t", (70,), ("S1",), False).moving_average == 70.0


def test_load_history_filters_and_labels(fresh_db: sqlite3.Connection) -> None:
    def new(qid: str, topic: str, user: str = "alice") -> store.NewAttempt:
        return store.NewAttempt(user, qid, topic, "答案", T0, T0)

    store.record(fresh_db, [
        (new("clip-idea", "clip"), FakeScorer("cal-1").score("clip-idea", "x" * 8)),
        (new("vit-patch", "vit"), FakeScorer("cal-2").score("vit-patch", "x" * 10)),
        (new("clip-idea", "clip", user="bob"), FakeScorer("cal-1").score("clip-idea", "x" * 18)),
    ])
    everything = history.load_history(fresh_db, user="alice")
    assert [a.question_id for a in everything.attempts] == ["clip-idea", "vit-patch"]
    assert [s.topic for s in everything.topics] == ["clip", "vit"]
    assert [everything.label(a) for a in everything.attempts] == ["S1", "S2"]
    assert not everything.comparable
    clip = history.load_history(fresh_db, user="alice", topics=["clip"])
    assert [a.score for a in clip.attempts] == [40.0] and clip.comparable
    assert history.load_history(fresh_db, user="alice", question_id="vit-patch").topics[0].topic == "vit"
    assert history.load_history(fresh_db, user="zoe").attempts == ()


def test_write_csv_is_excel_safe_in_every_cell(tmp_path: Path) -> None:
    rows = [stored(1, "clip-idea", "=topic", 40, answer="=答案\n第二行", user="+alice"),
            stored(2, "vit-patch", "vit", 55.25, answer="-1.5")]
    path = tmp_path / "out" / "attempts.csv"
    history.write_csv(rows, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfattempt_id,user,question_id,topic,started_at,submitted_at,score,")
    text = raw.decode("utf-8-sig")
    assert text.split("\r\n")[1] == (
        "1,'+alice,clip-idea,'=topic,2030-01-01T08:58:00+00:00,2030-01-01T09:00:00+00:00,40.0,,,,1+aaa,"
        "use-multilingual,cal-1,\"'=答案\n第二行\"")
    assert text.split("\r\n")[2].endswith(",55.2,,,,1+aaa,use-multilingual,cal-1,-1.5")  # a number stays a number
    assert [p.name for p in path.parent.iterdir()] == ["attempts.csv"]  # no temporary file left


def test_write_csv_joins_review_reasons_as_scores_csv_does(tmp_path: Path) -> None:
    from dataclasses import replace

    row = replace(stored(1, "clip-idea", "clip", 40),
                  explanation={"score_low": 20.0, "score_high": 60.0, "review": ["wide-interval", "off-topic?"]})
    history.write_csv([row], tmp_path / "a.csv")
    line = (tmp_path / "a.csv").read_bytes().decode("utf-8-sig").split("\r\n")[1]
    assert ",40.0,20.0,60.0,wide-interval; off-topic?," in line


def test_write_csv_failure_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(HarnessError, match=r"taken: cannot write the attempts: Is a directory"):
        history.write_csv(ROWS, target)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
