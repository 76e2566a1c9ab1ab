"""Inline SVG charts for the HTML report: bars, lines over time or runs, heatmaps. Pure.

Each function returns one `<svg>` element as text, sized in pixels, with
every label escaped; no scripts, no external references, no ids, so several
charts can sit in one page. Scores are on the 0-100 scale; a missing score
is NaN. Elements carry classes (`bar`, `line`, `cell`) for styling and tests.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

FONT = 13
# ColorBrewer "Spectral" without its pale centre: red (low) through yellow and green to blue (high).
_STOPS = (
    (0.0, "#d53e4f"),
    (25.0, "#f46d43"),
    (45.0, "#fdae61"),
    (55.0, "#f3d35c"),
    (68.0, "#9fd28b"),
    (82.0, "#5fb9a6"),
    (100.0, "#3288bd"),
)
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_DASHES = ("", "6 3", "2 3")
# ColorBrewer "RdBu" ends, for changes: red down, blue up, a light grey for none.
_DOWN, _FLAT, _UP = "#b2182b", "#f3f4f6", "#2166ac"
CHANGE_SPAN = 30.0  # a change of this many points or more gets the full colour


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a 0-100 value (NaN: no bar, `note` shown instead), optional whisker."""

    label: str
    value: float
    note: str = ""
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    """One line: a label and its (time, 0-100 value) points in time order."""

    label: str
    points: tuple[tuple[datetime, float], ...]


def text_width(text: str, size: float = FONT) -> float:
    """Approximate rendered width: wide (CJK) characters 1 em, others 0.6 em."""
    return sum(_char_width(ch, size) for ch in text)


def _char_width(ch: str, size: float) -> float:
    return size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6


def clip_label(text: str, max_px: float, size: float = FONT) -> str:
    """The text, cut with an ellipsis to fit `max_px`.

    Reads only the characters that fit (plus one), so the cost does not
    grow with the length of a huge label.
    """
    budget = max_px - _char_width("…", size)
    used, keep = 0.0, 0  # keep: the longest prefix that leaves room for the ellipsis
    for i, ch in enumerate(text):
        used += _char_width(ch, size)
        if used > max_px:
            return text[:keep] + "…"
        if used <= budget:
            keep = i + 1
    return text


def score_color(value: float) -> str:
    """Hex colour of a 0-100 score on the red-yellow-blue scale; grey for NaN."""
    if math.isnan(value):
        return "#e5e7eb"
    v = min(100.0, max(0.0, value))
    for (a, ca), (b, cb) in zip(_STOPS, _STOPS[1:], strict=False):
        if v <= b:
            t = (v - a) / (b - a)
            r, g, bl = (round(x + (y - x) * t) for x, y in zip(_rgb(ca), _rgb(cb), strict=True))
            return f"#{r:02x}{g:02x}{bl:02x}"
    return _STOPS[-1][1]


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def ink_for(fill: str) -> str:
    """Black or white text, whichever reads better on `fill`."""
    r, g, b = _rgb(fill)
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def _svg(kind: str, width: float, height: float, title: str, body: list[str]) -> str:
    t = escape(title)
    return (
        f'<svg class="chart {kind}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{t}">'
        f"<title>{t}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "", fill: str = "") -> str:
    attrs = f' class="{cls}"' if cls else ""
    attrs += f' fill="{fill}"' if fill else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attrs}>{escape(text)}</text>'


def bar_chart(bars: Sequence[Bar], *, title: str, width: int = 760) -> str:
    """Horizontal bars on a 0-100 axis, in the order given."""
    label_w = min(220.0, max([text_width(b.label) for b in bars] + [40.0]) + 12)
    left, right, top, row = label_w, 56.0, 24.0, 28.0
    plot_w = width - left - right
    height = top + row * len(bars) + 12
    body = []
    for tick in (0, 25, 50, 75, 100):
        x = left + plot_w * tick / 100
        body.append(
            f'<line class="grid" x1="{x:.1f}" y1="{top - 6:.1f}" x2="{x:.1f}" y2="{height - 8:.1f}"/>'
        )
        body.append(_text(x, top - 10, str(tick), anchor="middle", cls="tick"))
    for i, bar in enumerate(bars):
        y = top + row * i
        body.append(_text(left - 8, y + row / 2 + 4, clip_label(bar.label, label_w - 12), anchor="end"))
        if math.isnan(bar.value):
            body.append(_text(left + 6, y + row / 2 + 4, bar.note, cls="muted"))
            continue
        w = max(1.0, plot_w * min(100.0, max(0.0, bar.value)) / 100)
        body.append(
            f'<rect class="bar" x="{left:.1f}" y="{y + 5:.1f}" width="{w:.1f}" height="{row - 10:.1f}" '
            f'rx="3" fill="{score_color(bar.value)}"><title>{escape(bar.label)}: {bar.value:.0f}'
            f"</title></rect>"
        )
        if bar.low is not None and bar.high is not None:
            x1, x2 = (left + plot_w * min(100.0, max(0.0, v)) / 100 for v in (bar.low, bar.high))
            ym = y + row / 2
            body.append(
                f'<path class="whisker" d="M{x1:.1f} {ym:.1f}H{x2:.1f}M{x1:.1f} {ym - 5:.1f}v10'
                f'M{x2:.1f} {ym - 5:.1f}v10"/>'
            )
        body.append(_text(left + plot_w + 8, y + row / 2 + 4, bar.note or f"{bar.value:.0f}", cls="value"))
    return _svg("chart-bars", width, height, title, body)


def line_chart(
    series: Sequence[Series], *, title: str, width: int = 900, height: int = 300, empty: str = ""
) -> str:
    """One line per series over a shared time axis, 0-100 vertical axis, legend below."""
    times = [t for s in series for t, _ in s.points]
    per_row = 4
    legend_rows = math.ceil(len(series) / per_row)
    left, right, top = 40.0, 24.0, 14.0
    bottom = 34.0 + 22 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        body.append(
            f'<line class="grid" x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}"/>'
        )
        body.append(_text(left - 6, y + 4, str(tick), anchor="end", cls="tick"))
    if not times:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, empty, anchor="middle", cls="muted"))
        return _svg("chart-lines", width, height, title, body)
    t0, t1 = min(times), max(times)
    span = (t1 - t0).total_seconds()

    def x_of(t: datetime) -> float:
        return left + (plot_w * (t - t0).total_seconds() / span if span else plot_w / 2)

    for t, label in _time_ticks(t0, t1):
        body.append(_text(x_of(t), top + plot_h + 18, label, anchor="middle", cls="tick"))
    for i, s in enumerate(series):
        color, dash = PALETTE[i % len(PALETTE)], _DASHES[(i // len(PALETTE)) % len(_DASHES)]
        pts = [(x_of(t), top + plot_h * (1 - min(100.0, max(0.0, v)) / 100)) for t, v in s.points]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        d = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f} {y:.1f}" for j, (x, y) in enumerate(pts))
        body.append(
            f'<path class="line" d="{d}" stroke="{color}"{dash_attr}><title>{escape(s.label)}</title></path>'
        )
        body.extend(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts)
        lx = left + (i % per_row) * (plot_w / per_row)
        ly = top + plot_h + 40 + 22 * (i // per_row)
        body.append(f'<rect class="key" x="{lx:.1f}" y="{ly - 6:.1f}" width="16" height="4" fill="{color}"/>')
        body.append(_text(lx + 22, ly, clip_label(s.label, plot_w / per_row - 30)))
    return _svg("chart-lines", width, height, title, body)


def _time_ticks(t0: datetime, t1: datetime, count: int = 5) -> list[tuple[datetime, str]]:
    span = (t1 - t0).total_seconds()
    fmt = "%m-%d %H:%M" if span < 2 * 86400 else "%Y-%m-%d" if span > 300 * 86400 else "%m-%d"
    if span == 0:
        return [(t0, t0.strftime(fmt))]
    return [
        (t0 + (t1 - t0) * i / (count - 1), (t0 + (t1 - t0) * i / (count - 1)).strftime(fmt))
        for i in range(count)
    ]


def _heads(columns: Sequence[str], left: float, cell_w: float, top: float, *, slant: bool) -> list[str]:
    """Column labels above a heatmap, centred on their cells or slanted up to the right."""
    out = []
    for j, c in enumerate(columns):
        x = left + cell_w * (j + 0.5)
        if slant:
            out.append(
                f'<text class="head" x="{x:.1f}" y="{top - 8:.1f}" text-anchor="start" '
                f'transform="rotate(-35 {x:.1f} {top - 8:.1f})">{escape(clip_label(c, 160, FONT - 1))}</text>'
            )
        else:
            out.append(_text(x, top - 10, c, anchor="middle", cls="head"))
    return out


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    title: str,
    max_width: int = 940,
) -> str:
    """A grid of scores: one row per `rows` label, one column per `columns` label.

    Cells share `max_width`; column labels that do not fit their cell are
    drawn slanted.
    """
    scale = [(score_color(k * 10.0), "0" if k == 0 else "100" if k == 10 else "") for k in range(11)]
    return _grid(rows, columns, values, title=title, max_width=max_width, color=score_color,
                 shown=lambda v: f"{v:.0f}", scale=scale, kind="chart-heatmap")


def change_color(value: float, span: float = CHANGE_SPAN) -> str:
    """Hex colour of a change on a diverging red (down) - grey - blue (up) scale, full at +-`span`; NaN grey."""
    if math.isnan(value):
        return "#e5e7eb"
    t = min(1.0, abs(value) / span)
    end = _rgb(_UP if value > 0 else _DOWN)
    r, g, b = (round(x + (y - x) * t) for x, y in zip(_rgb(_FLAT), end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def change_heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], *,
                   title: str, max_width: int = 940, span: float = CHANGE_SPAN) -> str:
    """A grid of changes (say, of a topic mean between two runs), coloured by `change_color`."""
    steps = [-span + span * k / 5 for k in range(11)]
    scale = [(change_color(v, span), f"{v:+.0f}" if k in (0, 10) else "0" if k == 5 else "")
             for k, v in enumerate(steps)]
    return _grid(rows, columns, values, title=title, max_width=max_width,
                 color=lambda v: change_color(v, span), shown=lambda v: f"{v:+.0f}" if round(v) else "0",
                 scale=scale, kind="chart-heatmap chart-change")


def _grid(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], *, title: str,
          max_width: int, color: Callable[[float], str], shown: Callable[[float], str],
          scale: Sequence[tuple[str, str]], kind: str) -> str:
    """A heatmap: labelled rows, column heads (slanted when they do not fit), cells, and a colour scale."""
    label_w = min(180.0, max([text_width(r) for r in rows] + [40.0]) + 12)
    cell_w = min(96.0, max(40.0, (max_width - label_w - 8) / max(1, len(columns))))
    head_w = [min(160.0, text_width(c, FONT - 1)) for c in columns]
    slant = any(w > cell_w - 6 for w in head_w)
    cell_h = 24.0
    top = 20 + (max(head_w, default=0) * 0.6 if slant else 10)
    width = label_w + cell_w * len(columns) + (max(head_w, default=0) * 0.85 if slant else 8)
    height = top + cell_h * len(rows) + 44
    body = _heads(columns, label_w, cell_w, top, slant=slant)
    for i, (name, row) in enumerate(zip(rows, values, strict=True)):
        y = top + cell_h * i
        body.append(_text(label_w - 8, y + cell_h / 2 + 4, clip_label(name, label_w - 12), anchor="end"))
        for j, v in enumerate(row):
            fill, x = color(v), label_w + cell_w * j
            text = "–" if math.isnan(v) else shown(v)
            body.append(
                f'<rect class="cell" x="{x:.1f}" y="{y:.1f}" width="{cell_w - 2:.1f}" '
                f'height="{cell_h - 2:.1f}" fill="{fill}"><title>{escape(name)} · {escape(columns[j])}: '
                f"{text}</title></rect>"
            )
            body.append(_text(x + cell_w / 2 - 1, y + cell_h / 2 + 3, text, anchor="middle", cls="num",
                              fill=ink_for(fill)))
    ly = height - 34
    for k, (fill, label) in enumerate(scale):
        body.append(f'<rect class="scale" x="{label_w + 18 * k:.1f}" y="{ly:.1f}" width="18" height="10" '
                    f'fill="{fill}"/>')
        if label:
            edge = 0 if k == 0 else 18 if k == len(scale) - 1 else 9  # the ends at the ends, others centred
            body.append(_text(label_w + 18 * k + edge, ly + 24, label, anchor="middle", cls="tick"))
    return _svg(kind, width, height, title, body)


def run_lines(runs: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
              width: int = 900, height: int = 300) -> str:
    """One line per series over runs evenly spaced left to right (NaN: no point), legend below.

    The vertical axis spans the values (in steps of 10, within 0-100), so a
    change of a few points between runs is visible.
    """
    per_row = 4
    left, right, top = 40.0, 60.0, 14.0
    bottom = 34.0 + 22 * math.ceil(len(series) / per_row)
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high, step = _axis([v for _, values in series for v in values if not math.isnan(v)])

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (min(high, max(low, v)) - low) / (high - low))

    body = []
    for tick in range(int(low), int(high) + 1, step):
        y = y_of(tick)
        body.append(f'<line class="grid" x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}"/>')
        body.append(_text(left - 6, y + 4, str(tick), anchor="end", cls="tick"))
    gap = plot_w / max(1, len(runs) - 1)
    for k, run in enumerate(runs):
        body.append(_text(left + gap * k, top + plot_h + 18, clip_label(run, max(gap - 8, 60.0)),
                          anchor="middle", cls="tick"))
    for i, (label, values) in enumerate(series):
        color, dash = PALETTE[i % len(PALETTE)], _DASHES[(i // len(PALETTE)) % len(_DASHES)]
        pts = [(left + gap * k, y_of(v)) for k, v in enumerate(values) if not math.isnan(v)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        d = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f} {y:.1f}" for j, (x, y) in enumerate(pts))
        body.append(f'<path class="line" d="{d}" stroke="{color}"{dash_attr}><title>{escape(label)}</title></path>')
        body.extend(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts)
        lx = left + (i % per_row) * (plot_w / per_row)
        ly = top + plot_h + 40 + 22 * (i // per_row)
        body.append(f'<rect class="key" x="{lx:.1f}" y="{ly - 6:.1f}" width="16" height="4" fill="{color}"/>')
        body.append(_text(lx + 22, ly, clip_label(label, plot_w / per_row - 30)))
    return _svg("chart-lines chart-runs", width, height, title, body)


def _axis(values: Sequence[float]) -> tuple[float, float, int]:
    """A 0-100 axis cut to the values with a margin of 5, in whole ticks: (low, high, tick step)."""
    if not values:
        return 0.0, 100.0, 20
    lo, hi = min(values) - 5, max(values) + 5
    step = 5 if hi - lo <= 25 else 10 if hi - lo <= 50 else 20
    return max(0.0, math.floor(lo / step) * step), min(100.0, math.ceil(hi / step) * step), step
