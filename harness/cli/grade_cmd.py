"""`harness grade`: score a cohort's submissions CSV into a new results folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as Bar
from rich.status import Status

from harness.cli.console import echo_json, make_console, plural
from harness.cli.options import (
    announce_calibration,
    bank_option,
    chunk_size_option,
    dask_option,
    embedder_option,
    json_option,
    parquet_option,
    warn_language,
)

if TYPE_CHECKING:
    from harness.grade.grader import Progress
    from harness.grade.mapping import ColumnMapping, MapRequest
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
@click.option("--map", "maps", multiple=True, metavar="COLUMN=QUESTION_ID",
              help="Read COLUMN as the answers to QUESTION_ID (repeatable); COLUMN=- says it is not a question, "
              "COLUMN=student_id makes it the student id. Overrides or completes the mapping found from the header.")
@click.option("--questions", metavar="ID,ID,...",
              help="The questions of the numbered answer columns (Response 1, Response 2... or Question 1...), "
              "in order; - skips one. For exports that do not name their questions, such as Moodle's.")
@click.option("--strict", is_flag=True,
              help="Stop at the first bad row instead of reporting and skipping it.")
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Calibration file (default: the saved or shipped one for the embedder).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_RESULTS", help="Results folder (default: results/).")
@chunk_size_option
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of report.md's headings and notes (data is shown as written).")
@dask_option
@parquet_option
@click.option("--anchors", "anchors_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Teacher grades of some answers (student_id,question_id,answer,human_score,human_score_max; "
              "a filled-in anchors-to-grade.csv, or SUBMISSIONS itself with those columns): each question's "
              "scores are corrected toward them, and graded answers get the teacher's score (flag anchor).")
@click.option("--suggest-anchors", "suggest_anchors", type=click.IntRange(0, 100), default=0, metavar="K",
              help="Write anchors-to-grade.csv into the run folder: K answers per question whose grades would "
              "teach the most, and apart the answers flagged for review, with an empty human_score column.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary; print only the output folder.")
@json_option
def grade(submissions: Path, bank_dir: Path | None, embedder_name: str, out_dir: Path | None, layout: str,
          maps: tuple[str, ...], questions: str | None, strict: bool, calibration_path: Path | None,
          results_dir: Path | None, chunk_size: int, lang: str, dask_address: str | None,
          write_parquet: bool, anchors_path: Path | None, suggest_anchors: int, quiet: bool, as_json: bool) -> None:
    """Score a cohort's answers and report per person and question.

    Reads SUBMISSIONS.csv and writes a new run folder with per-answer,
    per-person and per-question results.

    SUBMISSIONS.csv is long (student_id,question_id,answer[,other columns]) or
    wide (an id column, then one column per question headed by its id or text),
    in UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16, delimited by comma,
    semicolon or tab; or a .parquet file with the long layout's columns.
    Exports of 问卷星, 腾讯问卷, Google Forms, Microsoft Forms, Moodle (quiz
    responses, with --questions or --map) and Canvas (quiz student analysis)
    are read as they come. The columns are printed as read: which is the
    student id, which question each answers and how that was decided, and
    which free-text columns answer none. Writes scores.csv, students.csv,
    questions.csv, report.md (the cohort report `harness report --scores`
    gives) and run.json.

    \b
    Examples:
      harness grade answers.csv --bank my-bank --out results/week1
      harness grade wjx-export.csv                       # 问卷星, 腾讯问卷, Forms, Canvas
      harness grade moodle.csv --questions clip-idea,clip-loss,vit-patch
      harness grade form.csv --map "ViT 是如何把图像变成 token 序列的？=vit-patch"
      harness grade answers.parquet --dask tcp://10.0.0.5:8786 --parquet   # on a Dask cluster
      harness grade answers.csv --out results/w1 --suggest-anchors 5      # then fill in
      harness grade answers.csv --anchors results/w1/anchors-to-grade.csv  # results/w1/anchors-to-grade.csv
    """  # noqa: D301 - click keeps the lines after a \b (backspace) line as written
    from harness.bank.loader import load_bank
    from harness.grade.run import grade_file

    request = _request(maps, questions)
    bank = load_bank(bank_dir)
    warn_language(bank, embedder_name)
    announce_calibration(embedder_name, calibration_path=calibration_path, results_dir=results_dir)
    console = make_console(soft_wrap=True)
    with RunDisplay(console, console.is_terminal and not quiet and not as_json, dask=dask_address) as display:
        run = grade_file(submissions, bank=bank, embedder=embedder_name, out=out_dir,
                         results_dir=results_dir, calibration=calibration_path,
                         layout=layout, strict=strict, chunk_size=chunk_size, lang=lang,  # type: ignore[arg-type]
                         request=request, progress=display.update,
                         on_columns=None if quiet or as_json else lambda m: _columns(console, m),
                         dask=dask_address, parquet=write_parquet, anchors=anchors_path,
                         suggest_anchors=suggest_anchors)
    warn(run)
    if as_json:
        echo_json(summary_record(run))
    elif quiet:
        click.echo(str(run.out_dir))
    else:
        _summary(console, run)


def _request(maps: tuple[str, ...], questions: str | None) -> MapRequest:
    """--map and --questions as a `MapRequest`; a malformed one is a usage error."""
    from harness.grade.mapping import MapRequest, parse_map, parse_questions

    try:
        pairs = tuple(parse_map(text) for text in maps)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--map'") from exc
    try:
        return MapRequest(pairs, parse_questions(questions))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--questions'") from exc


def _columns(console: Console, mapping: ColumnMapping) -> None:
    """How the columns were read, before anything is graded."""
    for line in mapping.lines():
        console.print(line, markup=False)


class RunDisplay:
    """The terminal display of a run (grade, regrade): a spinner while the scorer loads, then a progress bar."""

    def __init__(self, console: Console, show: bool, *, dask: str | None = None) -> None:
        """Show on `console` if `show`; `dask` is the cluster's address, when the scorer starts there."""
        self.console, self.show = console, show
        self.loading = "Loading the embedder..." if dask is None else (
            f"Starting the scorer on the Dask workers ({dask})...")
        self.live: Status | Bar | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> RunDisplay:
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
            self.live = self.console.status(self.loading)
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


def warn(run: GradeRun) -> None:
    """Print a run's notes and its first problems on stderr (all are in run.json)."""
    for note in run.notes:
        click.echo(f"Note: {note}", err=True)
    for problem in run.problems[:PROBLEMS_SHOWN]:
        click.echo(f"Warning: {problem}", err=True)
    more = run.counts.problems - min(len(run.problems), PROBLEMS_SHOWN)
    if more > 0:
        click.echo(f"Warning: {more} more problem(s); all are listed in {run.out_dir / 'run.json'}", err=True)


def summary_record(run: GradeRun) -> dict[str, object]:
    """The summary `grade --json` prints: counts as numbers, paths as strings."""
    from harness.grade.outputs import OUTPUT_FILES

    c = run.counts
    return {
        "out_dir": str(run.out_dir), "answers": c.answers, "people": run.people, "questions": run.questions,
        "blanks": c.blanks, "scored": c.scored, "skipped_rows": c.skipped_rows, "seconds": round(c.seconds, 3),
        "answers_per_second": round(c.answers / c.seconds, 1) if c.seconds > 0 else None,
        "mean_score": round(run.mean, 2), "to_review": run.to_review, "problems": list(run.problems),
        "columns": run.columns.as_json(),
        "files": {name.split(".")[0]: str(run.out_dir / name) for name in OUTPUT_FILES}
        | {name.split(".")[0].replace("-", "_"): str(run.out_dir / name) for name in run.outputs
           if name.startswith("anchors")},
        **({"anchors": dict(run.anchors)} if run.anchors else {}),
        **({"suggested_anchors": dict(run.suggested)} if run.suggested else {}),
    }


def _summary(console: Console, run: GradeRun) -> None:
    c = run.counts
    rate = c.answers / c.seconds if c.seconds > 0 else 0.0
    console.print(
        f"Graded {plural(c.answers, 'answer')} from {plural(run.people, 'person', 'people')} on "
        f"{plural(run.questions, 'question')} in {c.seconds:.1f} s ({rate:,.1f} answers/s; "
        f"{c.scored:,} distinct {'answer' if c.scored == 1 else 'answers'} scored, "
        f"{c.blanks:,} blank); mean score {run.mean:.1f}"
    )
    if review := review_line(run):
        console.print(review)
    if c.skipped_rows:
        console.print(f"Skipped {plural(c.skipped_rows, 'bad row')} (see the warnings above and run.json)")
    for line in anchor_lines(run):
        console.print(line, soft_wrap=True, markup=False)
    console.print(f"Results: {run.out_dir} ({', '.join(run.outputs)})", soft_wrap=True)


def review_line(run: GradeRun) -> str | None:
    """How many answers were flagged for review and where they are listed; None if none was."""
    from harness.report.cohort_layout import REVIEW_SHOWN

    if not run.to_review:
        return None
    where = ("report.md lists them with the reasons" if run.to_review <= REVIEW_SHOWN else
             f"report.md lists the first {REVIEW_SHOWN} with the reasons, scores.csv marks all (column review)")
    return f"{plural(run.to_review, 'answer')} flagged for review: {where}"


def anchor_lines(run: GradeRun) -> list[str]:
    """What the teacher's anchors did, and where the answers to grade next are."""
    lines = []
    if run.anchors:
        a, overall = run.anchors, run.anchors.get("overall") or {}
        loo, zero = overall.get("leave_one_out_mae"), overall.get("zero_shot_mae")
        agreement = (f"; each graded answer predicted from the others is off by {loo:.1f} points on average, "
                     f"{zero:.1f} without anchors" if loo is not None and zero is not None else "")
        lines.append(f"Anchors: {plural(int(a['count']), 'teacher grade')} on "
                     f"{plural(len(a.get('questions') or {}), 'question')} corrected the scores{agreement}")
    if run.suggested:
        s = run.suggested
        review = f", and {plural(int(s['review']), 'answer')} flagged for review" if s.get("review") else ""
        lines.append(f"To grade next: {run.out_dir / str(s['file'])} ({s['per_question']} per question, "
                     f"{int(s['chosen'])} in all{review}); fill in human_score, then grade again with "
                     f"--anchors {run.out_dir / str(s['file'])}")
    return lines
