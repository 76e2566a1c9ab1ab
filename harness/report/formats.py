"""The report formats and the file suffixes that select them (no heavy imports: the CLI reads this)."""

from __future__ import annotations

FORMATS: tuple[str, ...] = ("md", "html", "csv")
SUFFIX_FORMATS: dict[str, str] = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv"}
