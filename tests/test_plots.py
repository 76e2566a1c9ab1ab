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


TRICKY_NAMES = ["$", "a$b", "$x$", "\\", "C:\\new\\table", "$\\frac{$", "$a^$", "小明", "王$小\\明"]


@pytest.mark.parametrize("user", TRICKY_NAMES)
def test_user_text_is_drawn_as_it_is_never_parsed_as_tex(tmp_path: Path, user: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    rows = [*ROWS, stored(4, "x", f"topic {user}", 55, day=4)]
    path = tmp_path / "p.png"
    plots.write_history_plot(rows, path, title=f"Scores over time: {user}")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]


def test_history_plot_with_a_dollar_in_the_user_name_through_the_cli(tmp_path: Path) -> None:
    from harness.cli import main
    from harness.practice import store

    results = tmp_path / "results"
    conn = store.connect(store.db_path(results))
    for a in ROWS:
        store.record(conn, [(store.NewAttempt("$\\frac{$", a.question_id, a.topic, "答", a.started_at,
                                               a.submitted_at), _score(a.question_id, a.score))])
    conn.close()
    main(["history", "--results", str(results), "--user", "$\\frac{$", "--plot", str(tmp_path / "h.png")])
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _score(qid: str, value: float):  # type: ignore[no-untyped-def]
    from harness.types import Score

    return Score(qid, value, value, (), (), 0.5, 0, (), (), "1+aaa", "use-multilingual", "cal-1")


def test_chinese_text_finds_a_cjk_font_even_with_a_stale_font_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from matplotlib import font_manager

    if not any(plots._CJK_FILE.search(Path(f).name) for f in font_manager.findSystemFonts()):
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    stale = copy.copy(font_manager.fontManager)
    stale.ttflist = [f for f in font_manager.fontManager.ttflist if f.name not in plots.CJK_FAMILIES]
    monkeypatch.setattr(font_manager, "fontManager", stale)  # as a cache built before the font was installed
    assert plots.cjk_font() in plots.CJK_FAMILIES


def test_no_cjk_font_is_one_quiet_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    import re

    monkeypatch.setattr(plots, "CJK_FAMILIES", ("No Such CJK Font",))
    monkeypatch.setattr(plots, "_CJK_FILE", re.compile("no-such-font-file"))
    rows = [stored(1, "clip-idea", "对比学习", 40), stored(2, "vit-patch", "vit", 30, day=1)]
    with caplog.at_level("DEBUG", logger="matplotlib.font_manager"):
        note = plots.write_history_plot(rows, tmp_path / "p.png", title="Scores over time: 小明")
    assert note == plots.NO_CJK_FONT
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert "findfont" not in capfd.readouterr().err
    assert plots.write_history_plot(ROWS, tmp_path / "q.png", title="English only") is None
