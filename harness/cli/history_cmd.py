"""`harness history` (scores over time) and `harness rescore` (re-score stored attempts).

The work is done in `harness.practice.history`, `harness.practice.rescore`
and `harness.report.plots`; these commands parse, call them and print.
"""

from __future__ import annotations

import dataclasses
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.console import echo_json, make_console, plural, print_table, progress_bar
from harness.cli.options import (
    announce_calibration,
    bank_option,
    embedder_option,
    json_option,
    results_option,
    warn_language,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from harness.practice.history import History
    from harness.practice.rescore import RescoreResult


@click.command()
@click.option("--user", envvar="HARNESS_USER", show_envvar=True, default=None,
              help="Whose history (default: your login name).")
@click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable).")
@click.option("--question", "question_id", default=None, help="Only this question; lists every attempt.")
@click.option("--attempts", "list_attempts", is_flag=True,
              help="List every attempt, not only topic summaries.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG chart of score over time per topic.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the raw attempts as CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--import-recovered", "recovered", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="First import the answers a run could not save (the recovery file it named).")
@results_option
@json_option
def history(user: str | None, topics: tuple[str, ...], question_id: str | None, list_attempts: bool,
            plot_path: Path | None, csv_path: Path | None, recovered: Path | None, results_dir: Path | None,
            as_json: bool) -> None:
    """Your scores over time, per topic and per attempt.

    Per topic: the first, latest and best score and the recent average.
    S1, S2, ... under the table say which embedder and calibration each
    score came from; run `harness rescore` to bring old scores up to date.
    --json prints the summaries and every attempt. Answers an earlier run
    could not save are imported first.

    Example: harness history --topic clip --attempts
    """
    from harness.paths import default_results_dir
    from harness.practice import recovery, store
    from harness.practice.history import as_record, load_history, write_csv
    from harness.practice.session import default_user

    user = user or default_user()
    db = store.db_path(results_dir or default_results_dir())
    with closing(store.connect(db, writable=recovered is not None)) as conn:
        imported = recovery.import_file(conn, recovered) if recovered else recovery.Imported()
        imported += recovery.import_pending(conn)
        found = load_history(conn, user=user, topics=topics, question_id=question_id)
    for line in imported.messages:
        click.echo(line, err=as_json)
    rows = found.attempts
    if as_json:
        echo_json({"history": str(db), **as_record(found)})
    else:
        _print_history(found, db, list_attempts=list_attempts or bool(question_id),
                       scope=", ".join(topics or ((question_id,) if question_id else ())))
    if csv_path and rows:
        write_csv(rows, csv_path)
        click.echo(f"Wrote {plural(len(rows), 'attempt')} to {csv_path}", err=as_json)
    if plot_path and rows:
        from harness.report.plots import write_history_plot

        note = write_history_plot(rows, plot_path, title=f"Scores over time: {user}")
        if note:
            click.echo(f"Note: {note}", err=True)
        click.echo(f"Wrote chart to {plot_path}", err=as_json)


def _print_history(found: History, db: Path, *, list_attempts: bool, scope: str) -> None:
    console = make_console()
    rows = found.attempts
    if not rows:
        console.print(f"No attempts by {found.user}{f' matching {scope}' if scope else ''} yet in {db}. "
                      "Run [bold]harness answer[/] to start.", soft_wrap=True)
        return
    console.print(f"[bold]{found.user}[/]: {plural(len(rows), 'attempt')}, "
                  f"{rows[0].submitted_at:%Y-%m-%d} to {rows[-1].submitted_at:%Y-%m-%d} (UTC)")
    print_table(console, _topic_table(found))
    if list_attempts:
        print_table(console, _attempt_table(found))
    console.print(_legend(found, list_attempts=list_attempts), soft_wrap=True)


UNSURE_MARK = "?"  # after the score of an attempt flagged for review


def _topic_table(found: History) -> RenderableType:
    from rich.table import Table

    from harness.practice.history import sparkline

    table = Table(title="Per topic", title_justify="left")
    for name, justify in (("Topic", "left"), ("Attempts", "right"), ("First", "right"), ("Latest", "right"),
                          ("Best", "right"), ("Recent", "right"), ("Trend", "left"),
                          ("Scored with", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in found.topics:
        table.add_row(s.topic, str(len(s.scores)), f"{s.scores[0]:.0f}", f"{s.scores[-1]:.0f}",
                      f"{max(s.scores):.0f}", f"{s.moving_average:.0f}", sparkline(s.scores), s.scored_with)
    return table


def _attempt_table(found: History) -> RenderableType:
    from rich.table import Table

    from harness.practice.history import score_with_range

    table = Table(title="Every attempt", title_justify="left")
    for name in ("#", "Submitted (UTC)", "Question", "Score", "Rubric", "Scored with"):
        table.add_column(name, justify="right" if name in ("#", "Score") else "left",
                         no_wrap=name != "Question", overflow="fold")
    for a in found.attempts:
        table.add_row(str(a.attempt_id), f"{a.submitted_at:%Y-%m-%d %H:%M}", a.question_id,
                      score_with_range(a) + (f" {UNSURE_MARK}" if a.review else ""), a.rubric_version, found.label(a))
    return table


def _legend(found: History, *, list_attempts: bool) -> str:
    from harness.practice.history import SPARK_WIDTH, WINDOW

    lines = [f"Recent = mean of the last {WINDOW} scores; "
             f"Trend = every score, oldest first (the last {SPARK_WIDTH})."]
    if list_attempts and any(a.score_low is not None for a in found.attempts):
        lines.append("Score (low-high): the range a teacher's grade likely falls in, 80% of the time.")
    if list_attempts and any(a.review for a in found.attempts):
        lines.append(f"{UNSURE_MARK} = the score is unsure, worth a second look: compare your answer with the "
                     "reference (`harness bank show ID`); `harness report` says why.")
    lines += [f"{label} = embedder {emb}, calibration {cal}" for (emb, cal), label in found.labels.items()]
    if not found.comparable:
        lines.append("Scores from different versions (or * : different rubric versions) are not directly "
                     "comparable; run `harness rescore` to re-score them all with the current ones.")
    return "\n".join(lines)


@click.command()
@click.option("--user", envvar="HARNESS_USER", show_envvar=True, default=None,
              help="Whose attempts (default: your login name).")
@click.option("--all-users", is_flag=True, help="Re-score every user's attempts.")
@click.option("--force", is_flag=True,
              help="Re-score even attempts already scored with the current versions.")
@bank_option
@embedder_option
@results_option
@json_option
def rescore(user: str | None, all_users: bool, force: bool, bank_dir: Path | None, embedder_name: str,
            results_dir: Path | None, as_json: bool) -> None:
    """Re-score stored attempts with the current rubrics and scorer.

    Uses the current rubric versions, embedder and calibration. Old scores
    are kept; the new ones become current, so `harness history`
    compares like with like. Only attempts scored with another rubric,
    embedder or calibration are re-scored, unless --force.

    Example: harness rescore --all-users --embedder st:all-MiniLM-L6-v2
    """
    from harness.bank.loader import load_bank
    from harness.paths import default_results_dir
    from harness.practice import store
    from harness.practice.rescore import rescore as rescore_attempts
    from harness.practice.session import default_user
    from harness.scoring.scorer import Scorer

    results = results_dir or default_results_dir()
    bank = load_bank(bank_dir)
    warn_language(bank, embedder_name)
    announce_calibration(embedder_name, results_dir=results)
    who = None if all_users else (user or default_user())
    with closing(store.connect(store.db_path(results), writable=True)) as conn, progress_bar() as progress:
        done = rescore_attempts(
            conn, bank, load=lambda: Scorer.load(bank, embedder_name=embedder_name, results_dir=results),
            user=who, force=force, progress=progress)
    if as_json:
        echo_json({"user": who, **dataclasses.asdict(done), "gone": list(done.gone)})
    else:
        _print_rescore(done, make_console())


def _print_rescore(done: RescoreResult, console: Console) -> None:
    console.print(f"Re-scored {plural(done.rescored, 'attempt')} with embedder {done.embedder_id}, "
                  f"calibration {done.calibration_id}; {done.up_to_date:,} already up to date.")
    if done.mean_change is not None:
        console.print(f"Average change: {done.mean_change:+.1f} points. "
                      "Old scores are kept in the history database.")
    if done.gone:
        console.print(f"[yellow]Skipped attempts on questions no longer in the bank:[/] {', '.join(done.gone)}")
