"""PNG charts drawn with matplotlib, for files a user opens outside a report.

The HTML reports draw their charts as inline SVG (`charts.py`); this module
is for `harness history --plot`. matplotlib is imported only when a chart is
drawn, and the file is written atomically. Titles and labels are user text
(user names, topics), so mathtext is off: a dollar sign or backslash is drawn as it is,
never parsed as TeX.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from harness.files.write import write_bytes_atomic
from harness.report.charts import Series

if TYPE_CHECKING:
    from harness.practice.store import StoredAttempt

# Tried in order for each glyph; only those matplotlib knows are named, so a missing one logs nothing.
FONTS = ("DejaVu Sans", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
         "PingFang SC", "SimHei")


def topic_series(rows: Sequence[StoredAttempt]) -> list[Series]:
    """One line per topic, in order of first attempt: (submitted, score) points; rows oldest first."""
    topics: dict[str, list[tuple[datetime, float]]] = {}
    for a in rows:
        topics.setdefault(a.topic, []).append((a.submitted_at, a.score))
    return [Series(topic, tuple(points)) for topic, points in topics.items()]


def scores_png(series: Sequence[Series], *, title: str) -> bytes:
    """A PNG of score (0-100) over time (UTC), one line with markers per series."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fonts = _known_fonts()
    with warnings.catch_warnings(), plt.rc_context({"font.family": fonts, "text.parse_math": False,
                                                    "text.usetex": False}):
        warnings.simplefilter("ignore", UserWarning)  # a missing CJK font only costs glyphs
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        try:
            for s in series:
                when = mdates.date2num([t for t, _ in s.points])  # type: ignore[no-untyped-call]
                ax.plot(when, [v for _, v in s.points], marker="o", label=s.label)
            ax.xaxis_date(tz="UTC")
            ax.set_ylim(0, 100)
            ax.set_ylabel("score")
            ax.set_xlabel("submitted (UTC)")
            ax.set_title(title)
            ax.legend(loc="best", fontsize="small")
            fig.autofmt_xdate()
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
        finally:
            plt.close(fig)
    return out.getvalue()


def _known_fonts() -> list[str]:
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in FONTS if name in known] or ["sans-serif"]


def write_history_plot(rows: Sequence[StoredAttempt], path: Path, *, title: str) -> None:
    """Write a PNG of score over time, one line per topic.

    Raises:
        HarnessError: the file cannot be written.

    """
    write_bytes_atomic(path, scores_png(topic_series(rows), title=title), what="the chart")
