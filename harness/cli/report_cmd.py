"""`harness report`: a candidate's weakness report, a cohort's, or a cohort's progress, as Markdown, HTML or CSV."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from harness.cli.console import make_console
from harness.cli.options import bank_option, results_option
from harness.files.write import write_atomic, write_bytes_atomic
from harness.report.formats import FORMATS, SUFFIX_FORMATS

if TYPE_CHECKING:
    from harness.report.candidate import CandidateReport
    from harness.report.cohort import CohortReport
    from harness.report.progress import ProgressReport

LANGUAGES = ("en", "zh")


@click.command()
@click.option(
    "--user",
    envvar="HARNESS_USER",
    show_envvar=True,
    default=None,
    help="Practice report for this user (default: your login name).",
)
@click.option(
    "--scores",
    "scores_paths",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Cohort report from a grade run: RUN_DIR/scores.csv (or RUN_DIR). Given twice or more "
    "(oldest run first): the cohort's progress over those runs.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="md, html or csv (default: from the --out suffix, else md).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to FILE (default: print it).",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of the headings and notes (data is shown as written).",
)
@bank_option
@results_option
@click.pass_context
def report(
    ctx: click.Context,
    user: str | None,
    scores_paths: tuple[Path, ...],
    fmt: str | None,
    out: Path | None,
    lang: str,
    bank_dir: Path | None,
    results_dir: Path | None,
) -> None:
    """Weakness reports for you or a cohort: md, html or csv.

    Topics from weakest to strongest, the key points missed most, what to
    practise next.

    With --user (the default), from your practice history: per topic the mean
    of your latest score on each question, attempts and trend, the key points
    your latest answers still miss with the rubric's statement, the questions
    `harness answer` will ask next, and your progress over time.

    With --scores, from a `harness grade` run: per-topic means and spread, a
    person x topic table, the questions with the lowest facility or negative
    discrimination, the most-missed key points, and who needs attention.
    Given a run folder, the report also states the run's facts from its
    run.json, and --bank defaults to the bank the run used; `--format md`
    then prints the run's report.md.

    With --scores given for two runs or more (oldest first), the cohort's
    progress: per topic, person and question the change from the first run
    to the last, who improved most, who declined, who is new or missing, and
    which key points are missed less or more often. People are matched by
    student id. When the runs were scored differently (rubric, embedder,
    calibration), the report names each difference; `harness regrade RUN`
    scores an old run again with today's bank and scorer.

    HTML is one self-contained file with charts; it opens offline. Examples:

    \b
        harness report --format html --out my-report.html
        harness report --scores results/grade-20260501-093000/scores.csv --out cohort.html --lang zh
        harness report --scores results/week1 --scores results/week6 --out progress.html
    """  # noqa: D301 (\b is click's no-rewrap marker)
    if scores_paths and ctx.get_parameter_source("user") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError(
            "give either --user (a practice report) or --scores (a cohort report), not both"
        )
    if fmt is None and out is not None and out.suffix.lower() not in SUFFIX_FORMATS:
        raise click.UsageError(f"--out {out.name}: unknown file type {out.suffix or '(none)'!r}; use "
                               f"{', '.join(sorted(SUFFIX_FORMATS))}, or name one with --format md|html|csv")
    fmt = fmt or (SUFFIX_FORMATS[out.suffix.lower()] if out else "md")
    from harness.report.build import build_report
    from harness.report.progress import load_progress
    from harness.report.render import render

    now = datetime.now(timezone.utc)
    data: CandidateReport | CohortReport | ProgressReport
    if len(scores_paths) > 1:
        data = load_progress(scores_paths, bank_dir=bank_dir, now=now)
    else:
        from harness.report.cohort_layout import REVIEW_SHOWN

        data = build_report(user=user, scores=scores_paths[0] if scores_paths else None, bank_dir=bank_dir,
                            results_dir=results_dir, now=now, review_keep=None if fmt == "csv" else REVIEW_SHOWN)
    if out is not None and fmt == "csv":  # written as it is made: a big cohort's CSV lists every answer flagged
        write_bytes_atomic(out, lambda fh: _csv_to(data, fh), what="the report")
    else:
        text = render(data, fmt, lang=lang)
        if out is None:
            click.echo(text, nl=not text.endswith("\n"))
            return
        write_atomic(out, text, encoding="utf-8")
    make_console(soft_wrap=True).print(f"Wrote {out} ({fmt})", markup=False)


def _csv_to(report: CandidateReport | CohortReport | ProgressReport, fh: BinaryIO) -> None:
    """The CSV report into a binary file: UTF-8 with BOM, for Excel."""
    from harness.report.render import write_csv

    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    write_csv(report, text)
    text.flush()
    text.detach()
