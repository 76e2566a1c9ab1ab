"""The pieces a laid-out report is made of: a `Document` of `Section`s, and number formats.

`layout` (practice reports) and `cohort_layout` (cohort reports) build them;
`render.markdown` and `render.html` draw them. Cells hold raw text; the
renderers escape it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

Cell = str | tuple[str, ...]
L = Mapping[str, str]


@dataclass(frozen=True)
class Section:
    """One block of a report.

    `numeric` and `score` hold column indexes (right-aligned; score chips);
    a `fold_label` folds the table under that label in HTML (a chart shows it).
    """

    title: str
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""
    empty: str = ""
    numeric: frozenset[int] = frozenset()
    score: frozenset[int] = frozenset()
    chart: str = ""
    fold_label: str = ""


@dataclass(frozen=True)
class Document:
    """A report laid out: title, summary lines, cards (label, value) and sections."""

    title: str
    lines: tuple[str, ...]
    cards: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    lang: str


def num(value: object, digits: int = 0) -> str:
    """A number for display; an em dash for a missing one."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def likely(low: object, high: object) -> str:
    """An interval as "60-81"; an em dash without one."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "—"
    return f"{float(low):.0f}-{float(high):.0f}"  # type: ignore[arg-type]


def plain_reasons(review: Iterable[str], words: L) -> str:
    """Review reason codes in the plain words of `words` (its `rv_<code>` labels), joined; unknown codes as they are."""
    return "; ".join(words.get(f"rv_{code}", code) for code in review)


def signed(value: float) -> str:
    """A change with its sign (+5, -3, 0); an em dash for a missing one."""
    if math.isnan(value):
        return "—"
    return f"{value:+.0f}" if round(value) else "0"


def day(value: datetime | pd.Timestamp | None) -> str:
    """The UTC date, or an em dash."""
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def stamp(value: datetime | pd.Timestamp) -> str:
    """A time as `YYYY-MM-DD HH:MM`."""
    return str(pd.Timestamp(value).strftime("%Y-%m-%d %H:%M"))


PEOPLE_SHOWN = 200  # people listed by name in a Markdown or HTML section; CSV lists everyone


def more_people(note: str, total: int, template: str) -> str:
    """`note`, followed by `template` (with {shown} and {n}) when more than PEOPLE_SHOWN people are left out."""
    if total <= PEOPLE_SHOWN:
        return note
    extra = template.format(shown=f"{PEOPLE_SHOWN:,}", n=f"{total:,}")
    return f"{note} {extra}" if note else extra
