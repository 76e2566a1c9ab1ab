"""Builders for the progress and regrade tests: a cohort's answers at three levels, graded by FakeScorer.

The tiny grade bank (tests/data/grade/bank) has topics clip (clip-idea,
clip-loss) and vit (vit-patch); FakeScorer covers a key point when one of its
keywords appears, so GOOD answers score 100, PART about half and WEAK 0.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping
from pathlib import Path

from grade_helpers import GRADE_DATA, FakeScorer

from harness.bank.loader import load_bank
from harness.grade.outputs import RunFolder
from harness.grade.run import GradeRun, run_grading
from harness.grade.submissions import open_submissions
from harness.types import Bank

BANK_DIR = GRADE_DATA / "bank"
QUESTIONS = ("clip-idea", "clip-loss", "vit-patch")
ANSWERS = {
    "good": {
        "clip-idea": "CLIP 用对比学习把图像和文本映射到同一空间，用自然语言做监督。",
        "clip-loss": "InfoNCE 损失，批内其他样本是负样本。",
        "vit-patch": "切成不重叠的 patch，再做线性投影。",
    },
    "part": {
        "clip-idea": "CLIP 用对比学习。",
        "clip-loss": "InfoNCE。",
        "vit-patch": "切成 patch 再线性投影。",
    },
    "weak": {"clip-idea": "不清楚", "clip-loss": "交叉熵", "vit-patch": "卷积"},
    "blank": {"clip-idea": "", "clip-loss": "", "vit-patch": ""},
}
Levels = Mapping[str, Mapping[str, str]]  # person -> question -> level


def levels(person_levels: Mapping[str, str | Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Each person's level per question: one level for every question, or a mapping."""
    return {p: ({q: lv for q in QUESTIONS} if isinstance(lv, str) else dict(lv)) for p, lv in person_levels.items()}


def write_answers(path: Path, cohort: Levels, *, extra: Mapping[str, str] | None = None) -> Path:
    """A long submissions CSV (with a carried-through `group` column) of the cohort's answers."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer", "group"])
        for person, per_question in cohort.items():
            for qid, level in per_question.items():
                text = (extra or {}).get(f"{person}/{qid}", ANSWERS[level][qid])
                out.writerow([person, qid, text, f"g-{person}"])
    return path


def grade(source: Path, out: Path, *, bank: Bank | None = None) -> GradeRun:
    """Grade `source` with FakeScorer (the tiny grade bank unless given) into the new folder `out`."""
    bank = bank or load_bank(BANK_DIR)
    return run_grading(open_submissions(source, bank), FakeScorer(bank), folder=RunFolder(out))


def grade_cohort(tmp: Path, name: str, cohort: Levels, *, bank: Bank | None = None) -> Path:
    """Write the cohort's answers as NAME.csv and grade them into tmp/NAME; the run folder."""
    return grade(write_answers(tmp / f"{name}.csv", cohort), tmp / name, bank=bank).out_dir


def edited_bank(tmp: Path, question_id: str = "clip-idea") -> Path:
    """A copy of the tiny bank whose rubric for `question_id` has one keyword more (a new version id)."""
    folder = tmp / "bank-edited"
    shutil.copytree(BANK_DIR, folder)
    rubric = folder / "rubrics" / f"{question_id}.yaml"
    text = rubric.read_text(encoding="utf-8")
    rubric.write_text(text.replace("- [对比, contrastive]", "- [对比, contrastive, 对齐]", 1), encoding="utf-8")
    assert rubric.read_text(encoding="utf-8") != text
    return folder
