"""Self-assessment harness for technical interview preparation.

Data flow: load bank -> embed -> score -> store -> report.
"""

from __future__ import annotations

__version__ = "0.1.0"
