"""The bank wing: load and validate question banks, import CSVs, derive key points, look ids up.

`load_bank` reads `questions/*.yaml` + `rubrics/*.yaml` into a frozen `Bank`;
a broken bank fails as a whole before any answer is read.
"""

from __future__ import annotations

from harness.bank.loader import default_bank_dir, load_bank

__all__ = ["default_bank_dir", "load_bank"]
