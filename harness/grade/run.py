"""One `grade` run: submissions + scorer -> a complete output folder.

`run_grading` streams the answers through `grading.grade_cohort`, writing
scores.csv as it goes into a `RunFolder`, then the summaries, report.md and
run.json, and renames the folder into place only when all are written.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.grade.grader import GradingCounts, Progress, ScorerLike, grade_cohort
from harness.grade.outputs import (
    OUTPUT_FILES,
    RunFolder,
    ScoresWriter,
    write_questions,
    write_run_json,
    write_students,
)
from harness.grade.report_md import RunInfo, render_report
from harness.grade.submissions import DEFAULT_CHUNK, Submissions
from harness.grade.tally import CohortTally, QuestionStats, StudentStats


@dataclass(frozen=True)
class GradeRun:
    """A finished run: where it is and what it found."""

    out_dir: Path
    counts: GradingCounts
    questions: tuple[QuestionStats, ...]
    students: int
    mean: float
    problems: tuple[str, ...]


def run_grading(subs: Submissions, scorer: ScorerLike, *, folder: RunFolder,
                chunk_size: int = DEFAULT_CHUNK,
                progress: Callable[[Progress], None] | None = None,
                settings: dict[str, Any] | None = None) -> GradeRun:
    """Grade `subs` into `folder` and move the folder into place.

    On any error (or Ctrl-C) the temporary folder is deleted, so no partial
    run is left looking complete.

    Raises:
        InputFileError: in strict mode at the first bad row, or if no row can be graded.
        OutputError: the folder cannot be moved into place.

    """
    started = datetime.now(timezone.utc)
    with folder:
        tally = CohortTally(subs.bank)
        writer = ScoresWriter(folder / "scores.csv", subs.extra_names)
        try:
            counts = grade_cohort(subs, scorer, tally=tally, sink=writer, chunk_size=chunk_size,
                                  progress=progress)
        finally:
            writer.close()
        questions = tally.questions()
        students = tally.students(list(subs.roster.index))
        topics = tally.topics()
        write_students(folder / "students.csv", students, topics=topics)
        prompts = {q.id: q.prompt for q in subs.bank.questions.values()}
        write_questions(folder / "questions.csv", questions, prompts=prompts)
        problems = tuple(str(p) for p in subs.problems.kept)
        finished = datetime.now(timezone.utc)
        info = RunInfo(str(subs.path), str(subs.bank.root), subs.bank.version, scorer.embedder_id,
                       scorer.calibration_id, finished.strftime("%Y-%m-%d %H:%M UTC"),
                       counts.skipped_rows, problems)
        (folder / "report.md").write_text(render_report(info, questions, students=students), encoding="utf-8")
        mean = _mean(questions)
        record = _run_record(subs, scorer, counts, started=started, finished=finished,
                             settings=settings or {}, questions=questions, students=students, mean=mean)
        write_run_json(folder / "run.json", record)
        out = folder.commit()
    return GradeRun(out, counts, tuple(questions), len(students), mean, problems)


def _mean(questions: list[QuestionStats]) -> float:
    n = sum(q.answers for q in questions)
    return sum((q.mean or 0.0) * q.answers for q in questions) / max(n, 1)


def _run_record(subs: Submissions, scorer: ScorerLike, counts: GradingCounts, *, started: datetime,
                finished: datetime, settings: dict[str, Any], questions: list[QuestionStats],
                students: list[StudentStats], mean: float) -> dict[str, Any]:
    bank = subs.bank
    rubric_versions = {q.question_id: bank.rubrics[q.question_id].version_id for q in questions}
    return {
        "command": "grade",
        "harness_version": __version__,
        "python": platform.python_version(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "inputs": {
            "submissions": {
                "path": str(subs.path.resolve()), "sha256": subs.sha256(), "bytes": subs.size,
                "encoding": subs.format.encoding, "delimiter": subs.format.delimiter,
                "layout": subs.layout, "extra_columns": list(subs.extra_names),
            },
            "bank": {"root": str(Path(bank.root).resolve()), "version": bank.version,
                     "questions": len(bank.questions), "rubric_versions": rubric_versions},
        },
        "embedder": scorer.embedder_id,
        "calibration": scorer.calibration_id,
        "settings": settings,
        "counts": {**asdict(counts), "questions": len(questions), "people_graded": len(students)},
        "mean_score": round(mean, 2),
        "outputs": list(OUTPUT_FILES),
        "problems": [str(p) for p in subs.problems.kept],
        "problems_not_listed": subs.problems.count - len(subs.problems.kept),
    }
