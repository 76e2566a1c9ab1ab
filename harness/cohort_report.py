"""PLACEHOLDER: this file's original content was lost.

The helper implementing issue 4 (`harness grade`) overwrote this module by
mistake at about 00:09:19 (it used the name for its own report.md writer,
now moved to `harness/grade_report.py`). The cohort report written for
issue 6 must be recreated here.
"""

from __future__ import annotations

raise ImportError(
    "harness/cohort_report.py was overwritten by mistake and must be recreated "
    "(see the note at the top of the file)"
)
