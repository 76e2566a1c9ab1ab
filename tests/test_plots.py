"""The matplotlib history chart (harness.report.plots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from practice_helpers import T0, stored

from harness.errors import HarnessError
from harness.report import plots
from harness.report.charts import Series

ROWS = [stored(1, "clip-idea", "clip", 40, day=0), stored(2, "vit-patch", "vit", 30, day=1),
        stored(3, "clip-idea", "clip", 80, day=3)]


def test_topic_series_one_line_per_topic_in_order_of_first_attempt() -> None:
    from datetime import timedelta

    assert plots.topic_series(ROWS) == [
        Series("clip", ((T0, 40.0), (T0 + timedelta(days=3), 80.0))),
        Series("vit", ((T0 + timedelta(days=1), 30.0),)),
    ]


def test_write_history_plot_writes_a_png_atomically(tmp_path: Path) -> None:
    path = tmp_path / "progress.png"
    plots.write_history_plot(ROWS, path, title="Scores over time: 小明")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["progress.png"]


def test_write_history_plot_failure_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(HarnessError, match="taken.png: cannot write the chart: Is a directory"):
        plots.write_history_plot(ROWS, tmp_path / "taken.png", title="t")
