"""`harness grade`: score a cohort's submissions CSV into a new results folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

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
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary; print only the output folder.")
def grade(submissions: Path, bank_dir: Path | None, embedder_name: str, out_dir: Path | None, layout: str,
          strict: bool, calibration_path: Path | None, results_dir: Path | None, chunk_size: int,
          quiet: bool) -> None:
    """Score every answer in SUBMISSIONS.csv and write per-answer, per-person and per-question results.

    SUBMISSIONS.csv is long (student_id,question_id,answer[,other columns]) or
    wide (an id column, then one column per question headed by its id or text),
    in UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16, delimited by comma,
    semicolon or tab. Writes scores.csv, students.csv, questions.csv,
    report.md and run.json.

    Example: harness grade answers.csv --bank my-bank --out results/week1
    """
    from harness.bank.loader import load_bank
    from harness.encoders import get_encoder
    from harness.encoders.reuse import ReusingEncoder
    from harness.grade.outputs import RunFolder, default_out_dir
    from harness.grade.run import run_grading
    from harness.grade.submissions import open_submissions
    from harness.paths import default_results_dir
    from harness.scoring.scorer import Scorer

    console = make_console(soft_wrap=True)
    show = console.is_terminal and not quiet
    bank = load_bank(bank_dir)
    subs = open_submissions(submissions, bank, layout=None if layout == "auto" else layout,  # type: ignore[arg-type]
                            strict=strict)
    target = out_dir or default_out_dir(results_dir or default_results_dir())
    folder = RunFolder(target)
    try:
        with console.status("Loading the embedder...") if show else _nothing():
            encoder = ReusingEncoder(get_encoder(embedder_name))
            scorer = Scorer.load(bank, embedder_name=embedder_name, calibration_path=calibration_path,
                                 encoder=encoder, results_dir=results_dir)
            scorer.warm_up()
    except BaseException:
        folder.discard()
        raise
    settings = {"layout": layout, "strict": strict, "chunk_size": chunk_size}
    with _progress(console, show) as on_progress:
        run = run_grading(subs, scorer, folder=folder, chunk_size=chunk_size, progress=on_progress,
                          settings=settings)
    _warn(run)
    if quiet:
        click.echo(str(run.out_dir))
    else:
        _summary(console, run)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _progress(console: Console, show: bool) -> Iterator[Callable[[Progress], None] | None]:
    if not show:
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    bar = Bar(TextColumn("Grading"), BarColumn(), TextColumn("{task.fields[answers]} answers"),
              TextColumn("{task.fields[rate]} answers/s"), TimeElapsedColumn(), TimeRemainingColumn(),
              console=console, transient=True)
    task = bar.add_task("grade", total=None, answers=0, rate="-")

    def update(p: Progress) -> None:
        rate = f"{p.answers / p.seconds:,.1f}" if p.seconds > 0 else "-"
        bar.update(task, total=p.bytes_total, completed=p.bytes_read, answers=f"{p.answers:,}", rate=rate)

    with bar:
        yield update


def _warn(run: GradeRun) -> None:
    for problem in run.problems[:PROBLEMS_SHOWN]:
        click.echo(f"Warning: {problem}", err=True)
    more = run.counts.problems - min(len(run.problems), PROBLEMS_SHOWN)
    if more > 0:
        click.echo(f"Warning: {more} more problem(s); all are listed in {run.out_dir / 'run.json'}", err=True)


def _summary(console: Console, run: GradeRun) -> None:
    c = run.counts
    rate = c.answers / c.seconds if c.seconds > 0 else 0.0
    console.print(
        f"Graded {c.answers:,} answers from {run.students:,} people on {len(run.questions)} questions "
        f"in {c.seconds:.1f} s ({rate:,.1f} answers/s; {c.scored:,} distinct answers scored, "
        f"{c.blanks:,} blank); mean score {run.mean:.1f}"
    )
    if c.skipped_rows:
        console.print(f"Skipped {c.skipped_rows:,} bad row(s) (see the warnings above and run.json)")
    console.print(f"Results: {run.out_dir} (scores.csv, students.csv, questions.csv, report.md, run.json)",
                  soft_wrap=True)
