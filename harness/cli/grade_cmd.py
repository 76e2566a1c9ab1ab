"""`harness grade`: score a cohort's submissions CSV into a new results folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as Bar
from rich.status import Status

from harness.cli.console import make_console
from harness.cli.options import bank_option, embedder_option

if TYPE_CHECKING:
    from harness.grade.grader import Progress
    from harness.grade.run import GradeRun

PROBLEMS_SHOWN = 10


@click.command()
@click.argument("submissions", type=click.Path(dir_okay=False, path_type=Path))
@bank_option
@embedder_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="New folder for the results (default: a time-stamped results/grade-* folder). "
              "An existing run is never overwritten.")
@click.option("--layout", type=click.Choice(["auto", "long", "wide"]), default="auto", show_default=True,
              help="long: one row per answer (student_id,question_id,answer); wide: one row per person, "
              "one column per question. auto detects it from the header.")
@click.option("--strict", is_flag=True,
              help="Stop at the first bad row instead of reporting and skipping it.")
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Calibration file (default: the saved or shipped one for the embedder).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_RESULTS", help="Results folder (default: results/).")
@click.option("--chunk-size", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="Answers read at a time (scoring waits for 256 new distinct answers, at most "
              "20,000 rows).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of report.md's headings and notes (data is shown as written).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary; print only the output folder.")
def grade(submissions: Path, bank_dir: Path | None, embedder_name: str, out_dir: Path | None, layout: str,
          strict: bool, calibration_path: Path | None, results_dir: Path | None, chunk_size: int,
          lang: str, quiet: bool) -> None:
    """Score every answer in SUBMISSIONS.csv and write per-answer, per-person and per-question results.

    SUBMISSIONS.csv is long (student_id,question_id,answer[,other columns]) or
    wide (an id column, then one column per question headed by its id or text),
    in UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16, delimited by comma,
    semicolon or tab. Writes scores.csv, students.csv, questions.csv,
    report.md (the cohort report `harness report --scores` gives) and run.json.

    Example: harness grade answers.csv --bank my-bank --out results/week1
    """
    from harness.grade.run import grade_file

    console = make_console(soft_wrap=True)
    with _Display(console, console.is_terminal and not quiet) as display:
        run = grade_file(submissions, bank=bank_dir, embedder=embedder_name, out=out_dir,
                         results_dir=results_dir, calibration=calibration_path,
                         layout=layout, strict=strict, chunk_size=chunk_size, lang=lang,  # type: ignore[arg-type]
                         progress=display.update)
    _warn(run)
    if quiet:
        click.echo(str(run.out_dir))
    else:
        _summary(console, run)


class _Display:
    """The terminal display of a run: a spinner while the embedder loads, then a progress bar."""

    def __init__(self, console: Console, show: bool) -> None:
        self.console, self.show = console, show
        self.live: Status | Bar | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def update(self, p: Progress) -> None:
        """Show how far the run has got."""
        if not self.show:
            return
        if p.stage == "loading":
            self._stop()
            self.live = self.console.status("Loading the embedder...")
            self.live.start()
            return
        if not isinstance(self.live, Bar):
            self._stop()
            self.live = _bar(self.console)
            self.task = self.live.add_task("grade", total=None, answers=0, rate="-")
            self.live.start()
        assert self.task is not None
        rate = f"{p.answers / p.seconds:,.1f}" if p.seconds > 0 else "-"
        self.live.update(self.task, total=p.bytes_total, completed=p.bytes_read, answers=f"{p.answers:,}",
                         rate=rate)


def _bar(console: Console) -> Bar:
    return Bar(TextColumn("Grading"), BarColumn(), TextColumn("{task.fields[answers]} answers"),
               TextColumn("{task.fields[rate]} answers/s"), TimeElapsedColumn(), TimeRemainingColumn(),
               console=console, transient=True)


def _warn(run: GradeRun) -> None:
    for note in run.notes:
        click.echo(f"Note: {note}", err=True)
    for problem in run.problems[:PROBLEMS_SHOWN]:
        click.echo(f"Warning: {problem}", err=True)
    more = run.counts.problems - min(len(run.problems), PROBLEMS_SHOWN)
    if more > 0:
        click.echo(f"Warning: {more} more problem(s); all are listed in {run.out_dir / 'run.json'}", err=True)


def _summary(console: Console, run: GradeRun) -> None:
    c = run.counts
    rate = c.answers / c.seconds if c.seconds > 0 else 0.0
    console.print(
        f"Graded {c.answers:,} answers from {run.people:,} people on {run.questions} questions "
        f"in {c.seconds:.1f} s ({rate:,.1f} answers/s; {c.scored:,} distinct answers scored, "
        f"{c.blanks:,} blank); mean score {run.mean:.1f}"
    )
    if c.skipped_rows:
        console.print(f"Skipped {c.skipped_rows:,} bad row(s) (see the warnings above and run.json)")
    console.print(f"Results: {run.out_dir} (scores.csv, students.csv, questions.csv, report.md, run.json)",
                  soft_wrap=True)
