"""Error tree. Every message names the fault and, where there is one, the fix.

The library raises these; only the CLI turns them into `Error: ...` and exit 1.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class for every error the harness reports to a user."""


class BankError(HarnessError):
    """A question bank or rubric file is missing, unreadable or invalid.

    Carries every problem found, so `bank validate` can list them all.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = self.problems[0] if len(self.problems) == 1 else (
            f"{len(self.problems)} problems in the bank:\n  " + "\n  ".join(self.problems)
        )
        super().__init__(head)


class UnknownQuestionError(HarnessError):
    """A question id that the bank does not contain."""


class EmbedderError(HarnessError):
    """An embedding backend that cannot be named, installed or loaded."""


class CalibrationError(HarnessError):
    """A calibration file that is missing, broken or does not fit the embedder."""


class InputFileError(HarnessError):
    """A user-supplied file (CSV, answers) that cannot be read or parsed."""


class StoreError(HarnessError):
    """The attempt history database is damaged, locked or of a newer schema."""


class OutputError(HarnessError):
    """An output folder that already exists or cannot be written."""
