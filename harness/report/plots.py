"""PNG charts drawn with matplotlib, for files a user opens outside a report.

The HTML reports draw their charts as inline SVG (`charts.py`); this module
is for `harness history --plot`. matplotlib is imported only when a chart is
drawn, and the file is written atomically. Titles and labels are user text
(user names, topics), so mathtext is off: a dollar sign or backslash is
drawn as it is, never parsed as TeX.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from harness.files.write import write_bytes_atomic
from harness.report.charts import Series

if TYPE_CHECKING:
    from harness.practice.store import StoredAttempt


def topic_series(rows: Sequence[StoredAttempt]) -> list[Series]:
    """One line per topic, in order of first attempt: (submitted, score) points; rows oldest first."""
    topics: dict[str, list[tuple[datetime, float]]] = {}
    for a in rows:
        topics.setdefault(a.topic, []).append((a.submitted_at, a.score))
    return [Series(topic, tuple(points)) for topic, points in topics.items()]


# Families with Chinese glyphs, most wanted first; and file names that hint at one.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC",
                "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
                "AR PL UMing CN", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
                "Arial Unicode MS")
_CJK_FILE = re.compile(r"cjk|wqy|wenquanyi|sourcehan|droidsansfallback|uming|ukai|msyh|simhei|pingfang|hiragino|"
                       r"heiti|arialuni", re.IGNORECASE)
NO_CJK_FONT = ("no font with Chinese characters found, so Chinese text in the chart shows as boxes; "
               "install one (Debian: fonts-noto-cjk)")


def has_cjk(texts: Sequence[str]) -> bool:
    """True when any text holds a CJK character."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for t in texts for ch in t)


def cjk_font() -> str | None:
    """A font family with Chinese glyphs, or None.

    matplotlib's font list is looked at first; it is cached on disk and may
    predate fonts installed since, so the system's font files are searched
    next and any CJK font found is added for this process (the cache on disk
    is left as it is).
    """
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)

    found = known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(Path(path).name):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file: try the next
                    continue
        found = known()
    return found


@contextmanager
def _quiet_fonts() -> Iterator[None]:
    """Silence matplotlib's `findfont: Font family ... not found` lines and missing-glyph warnings."""
    import warnings

    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Glyph ... missing from font": the note says why
            yield
    finally:
        logger.setLevel(level)


def scores_png(series: Sequence[Series], *, title: str, cjk_family: str | None = None) -> bytes:
    """A PNG of score (0-100) over time (UTC), one line with markers per series.

    `cjk_family` (see `cjk_font`) draws Chinese titles and topic names.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    families = ["DejaVu Sans", *([cjk_family] if cjk_family else [])]
    with _quiet_fonts(), plt.rc_context({"font.family": families, "text.parse_math": False,
                                         "text.usetex": False}):
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


def write_history_plot(rows: Sequence[StoredAttempt], path: Path, *, title: str) -> str | None:
    """Write a PNG of score over time, one line per topic; returns a one-line note, or None.

    The note says Chinese text could not be drawn (no CJK font found);
    matplotlib's own font messages are kept quiet.

    Raises:
        HarnessError: the file cannot be written.

    """
    series = topic_series(rows)
    family = None
    note = None
    with _quiet_fonts():
        if has_cjk([title, *(s.label for s in series)]):
            family = cjk_font()
            note = None if family else NO_CJK_FONT
    write_bytes_atomic(path, scores_png(series, title=title, cjk_family=family), what="the chart")
    return note
