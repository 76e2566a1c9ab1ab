"""`harness regrade`: score an old grade run's answers again with today's bank and scorer."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.console import make_console
from harness.cli.options import chunk_size_option, dask_option, parquet_option


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="New folder for the regraded run (default: RUN-regraded beside RUN). "
              "An existing run is never overwritten.")
@click.option("--bank", "bank_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_BANK", show_envvar=True,
              help="Bank folder with questions/ and rubrics/ (default: the folder RUN was graded against, as it "
              "is now, else the bundled bank).")
@click.option("--embedder", "embedder_name", default=None, envvar="HARNESS_EMBEDDER", show_envvar=True,
              help="Embedder (default: the one RUN was graded with, else use-multilingual).")
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Calibration file (default: the saved or shipped one for the embedder).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_RESULTS", help="Results folder, where saved calibrations are found.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of report.md's headings and notes (data is shown as written).")
@chunk_size_option
@dask_option
@parquet_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the new run's folder.")
def regrade(run: Path, out_dir: Path | None, bank_dir: Path | None, embedder_name: str | None,
            calibration_path: Path | None, results_dir: Path | None, lang: str, chunk_size: int,
            dask_address: str | None, write_parquet: bool, quiet: bool) -> None:
    """Score an earlier grade run again with today's bank and scorer.

    The answers of RUN go into a new run folder. RUN is a `harness grade`
    run's folder or its scores.csv, which keeps every answer. Use it after a
    rubric, calibration or embedder change, so that `harness report --scores OLD --scores NEW` compares like with like.
    The new run keeps the student ids, the carried-through columns and each
    answer's row in the original submissions file; its run.json says which
    run it regraded (`regraded_from`). --bank defaults to the bank folder RUN
    was graded against (as it is now), else the bundled bank.

    \b
    Example:
      harness regrade results/week1
      harness report --scores results/week1-regraded --scores results/week6
      harness regrade results/term --dask tcp://10.0.0.5:8786   # a large run, on a Dask cluster
    """  # noqa: D301 (\b is click's no-rewrap marker)
    from harness.cli.grade_cmd import RunDisplay, anchor_lines, review_line, warn
    from harness.grade.regrade import regrade as regrade_run

    console = make_console(soft_wrap=True)
    with RunDisplay(console, console.is_terminal and not quiet, dask=dask_address) as display:
        done = regrade_run(run, bank=bank_dir, embedder=embedder_name, calibration=calibration_path, out=out_dir,
                           results_dir=results_dir, lang=lang, chunk_size=chunk_size, dask=dask_address,
                           parquet=write_parquet, progress=display.update)
    warn(done)
    if quiet:
        click.echo(str(done.out_dir))
        return
    c = done.counts
    console.print(
        f"Regraded {c.answers:,} answers from {done.people:,} people on {done.questions} questions "
        f"({c.scored:,} distinct answers scored, {c.blanks:,} blank); mean score {done.mean:.1f}\n"
        + "".join(f"{line}\n" for line in [review_line(done), *anchor_lines(done)] if line)
        + f"Results: {done.out_dir} ({', '.join(done.outputs)})",
        markup=False,
    )
