"""`harness history` (scores over time) and `harness rescore` (re-score stored attempts).

Every score is labelled with what produced it: `S1`, `S2`, ... name distinct
(embedder, calibration) pairs, listed under the table, and a `*` marks a
topic whose scores mix rubric versions of one question. `rescore` brings old
attempts up to the current rubric, embedder and calibration, keeping the old
scores, so that "better over time" compares like with like.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.console import make_console
from harness.cli.options import bank_option, embedder_option, results_option
from harness.files.write import safe_cell

if TYPE_CHECKING:
    from rich.console import RenderableType

    from harness.practice.store import StoredAttempt

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24
WINDOW = 5
CSV_COLUMNS = ("attempt_id", "user", "question_id", "topic", "started_at", "submitted_at", "score",
               "rubric_version", "embedder_id", "calibration_id", "answer")
RESCORE_BATCH = 64


def sparkline(scores: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """One bar per score (0-100), the last `width` of them."""
    return "".join(BARS[min(len(BARS) - 1, max(0, int(s / 100 * len(BARS))))] for s in scores[-width:])


@dataclass(frozen=True)
class TopicSummary:
    """First, latest, best and moving average of one topic's scores."""

    topic: str
    scores: tuple[float, ...]
    labels: tuple[str, ...]
    mixed_rubrics: bool

    @property
    def moving_average(self) -> float:
        """Mean of the last `WINDOW` scores."""
        recent = self.scores[-WINDOW:]
        return sum(recent) / len(recent)


def version_labels(rows: Sequence[StoredAttempt]) -> dict[tuple[str, str], str]:
    """`S1`, `S2`, ... for each distinct (embedder, calibration), in order of first use."""
    labels: dict[tuple[str, str], str] = {}
    for a in rows:
        labels.setdefault((a.embedder_id, a.calibration_id), f"S{len(labels) + 1}")
    return labels


def summarise(rows: Sequence[StoredAttempt]) -> list[TopicSummary]:
    """One summary per topic, in order of first attempt; rows oldest first."""
    labels = version_labels(rows)
    topics: dict[str, list[StoredAttempt]] = {}
    for a in rows:
        topics.setdefault(a.topic, []).append(a)
    out = []
    for topic, items in topics.items():
        rubric_versions: dict[str, set[str]] = {}
        for a in items:
            rubric_versions.setdefault(a.question_id, set()).add(a.rubric_version)
        used = dict.fromkeys(labels[(a.embedder_id, a.calibration_id)] for a in items)
        out.append(TopicSummary(topic, tuple(a.score for a in items), tuple(used),
                                any(len(v) > 1 for v in rubric_versions.values())))
    return out


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
@results_option
def history(user: str | None, topics: tuple[str, ...], question_id: str | None, list_attempts: bool,
            plot_path: Path | None, csv_path: Path | None, results_dir: Path | None) -> None:
    """Your scores over time: per topic the first, latest, best and moving average.

    S1, S2, ... under the table say which embedder and calibration each score
    came from; run `harness rescore` to bring old scores up to date.
    """
    from harness.paths import default_results_dir
    from harness.practice import session as practice
    from harness.practice import store

    user = user or practice.default_user()
    conn = store.connect(store.db_path(results_dir or default_results_dir()))
    try:
        rows = [a for a in store.attempts(conn, user=user, question_id=question_id)
                if not topics or a.topic in topics]
    finally:
        conn.close()
    console = make_console()
    if not rows:
        scope = f" matching {', '.join(topics or ((question_id,) if question_id else ()))}" \
            if topics or question_id else ""
        console.print(f"No attempts by {user}{scope} yet. Run [bold]harness answer[/] to start.")
        return
    console.print(f"[bold]{user}[/]: {len(rows)} attempts, "
                  f"{rows[0].submitted_at:%Y-%m-%d} to {rows[-1].submitted_at:%Y-%m-%d} (UTC)")
    console.print(_topic_table(rows))
    if list_attempts or question_id:
        console.print(_attempt_table(rows))
    console.print(_legend(rows))
    if csv_path:
        write_csv(rows, csv_path)
        console.print(f"Wrote {len(rows)} attempts to {csv_path}")
    if plot_path:
        plot(rows, plot_path, title=f"Scores over time: {user}")
        console.print(f"Wrote chart to {plot_path}")


def _topic_table(rows: Sequence[StoredAttempt]) -> RenderableType:
    from rich.table import Table

    table = Table(title="Per topic", title_justify="left")
    for name, justify in (("Topic", "left"), ("Attempts", "right"), ("First", "right"), ("Latest", "right"),
                          ("Best", "right"), ("Recent", "right"), ("Trend", "left"),
                          ("Scored with", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in summarise(rows):
        scored = ",".join(s.labels) + ("*" if s.mixed_rubrics else "")
        table.add_row(s.topic, str(len(s.scores)), f"{s.scores[0]:.0f}", f"{s.scores[-1]:.0f}",
                      f"{max(s.scores):.0f}", f"{s.moving_average:.0f}", sparkline(s.scores), scored)
    return table


def _attempt_table(rows: Sequence[StoredAttempt]) -> RenderableType:
    from rich.table import Table

    labels = version_labels(rows)
    table = Table(title="Every attempt", title_justify="left")
    for name in ("#", "Submitted (UTC)", "Question", "Score", "Rubric", "Scored with"):
        table.add_column(name, justify="right" if name in ("#", "Score") else "left",
                         no_wrap=name != "Question", overflow="fold")
    for a in rows:
        table.add_row(str(a.attempt_id), f"{a.submitted_at:%Y-%m-%d %H:%M}", a.question_id, f"{a.score:.0f}",
                      a.rubric_version, labels[(a.embedder_id, a.calibration_id)])
    return table


def _legend(rows: Sequence[StoredAttempt]) -> str:
    labels = version_labels(rows)
    lines = [f"Recent = mean of the last {WINDOW} scores; "
             f"Trend = every score, oldest first (the last {SPARK_WIDTH})."]
    lines += [f"{label} = embedder {emb}, calibration {cal}" for (emb, cal), label in labels.items()]
    if len(labels) > 1 or any(s.mixed_rubrics for s in summarise(rows)):
        lines.append("Scores from different versions (or * : different rubric versions) are not directly "
                     "comparable; run `harness rescore` to re-score them all with the current ones.")
    return "\n".join(lines)


def write_csv(rows: Sequence[StoredAttempt], path: Path) -> None:
    """Raw attempts with their current scores, UTF-8 with BOM.

    Raises:
        HarnessError: the file cannot be written.

    """
    from harness.errors import HarnessError

    try:
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for a in rows:
                writer.writerow([
                    a.attempt_id, safe_cell(a.user), a.question_id, a.topic, a.started_at.isoformat(),
                    a.submitted_at.isoformat(), f"{a.score:.1f}", a.rubric_version, a.embedder_id,
                    a.calibration_id, safe_cell(a.answer),
                ])
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror}") from exc


def plot(rows: Sequence[StoredAttempt], path: Path, *, title: str) -> None:
    """Write a PNG of score over time, one line per topic.

    Raises:
        HarnessError: the file cannot be written.

    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from harness.errors import HarnessError

    with warnings.catch_warnings(), plt.rc_context({"font.family": ["DejaVu Sans", "Noto Sans CJK SC"]}):
        warnings.simplefilter("ignore", UserWarning)  # a missing CJK font only costs glyphs
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        for s in summarise(rows):
            items = [a for a in rows if a.topic == s.topic]
            when = mdates.date2num([a.submitted_at for a in items])  # type: ignore[no-untyped-call]
            ax.plot(when, [a.score for a in items], marker="o", label=s.topic)
        ax.xaxis_date(tz="UTC")
        ax.set_ylim(0, 100)
        ax.set_ylabel("score")
        ax.set_xlabel("submitted (UTC)")
        ax.set_title(title)
        ax.legend(loc="best", fontsize="small")
        fig.autofmt_xdate()
        fig.tight_layout()
        try:
            fig.savefig(path, format="png")
        except OSError as exc:
            raise HarnessError(f"cannot write {path}: {exc.strerror}") from exc
        finally:
            plt.close(fig)


@click.command()
@click.option("--user", envvar="HARNESS_USER", show_envvar=True, default=None,
              help="Whose attempts (default: your login name).")
@click.option("--all-users", is_flag=True, help="Re-score every user's attempts.")
@click.option("--force", is_flag=True,
              help="Re-score even attempts already scored with the current versions.")
@bank_option
@embedder_option
@results_option
def rescore(user: str | None, all_users: bool, force: bool, bank_dir: Path | None, embedder_name: str,
            results_dir: Path | None) -> None:
    """Re-score stored attempts with the current rubrics, embedder and calibration.

    Old scores are kept; the new ones become current, so `harness history`
    compares like with like. Only attempts scored with another rubric,
    embedder or calibration are re-scored, unless --force.
    """
    from harness.bank.loader import load_bank
    from harness.paths import default_results_dir
    from harness.practice import session as practice
    from harness.practice import store
    from harness.scoring.scorer import Scorer

    results = results_dir or default_results_dir()
    bank = load_bank(bank_dir)
    conn = store.connect(store.db_path(results))
    console = make_console()
    try:
        rows = store.attempts(conn, user=None if all_users else (user or practice.default_user()))
        gone = sorted({a.question_id for a in rows if a.question_id not in bank.rubrics})
        rows = [a for a in rows if a.question_id in bank.rubrics]
        with console.status("Loading the embedder…"):
            scorer = Scorer.load(bank, embedder_name=embedder_name, results_dir=results)
        todo = [a for a in rows if force or (a.embedder_id, a.calibration_id, a.rubric_version) != (
            scorer.embedder_id, scorer.calibration_id, bank.rubrics[a.question_id].version_id)]
        new = []
        with console.status(f"Re-scoring {len(todo)} attempts…"):
            for i in range(0, len(todo), RESCORE_BATCH):
                batch = todo[i:i + RESCORE_BATCH]
                new.extend(scorer.score_many([(a.question_id, a.answer) for a in batch]))
        store.add_scores(conn, [(a.attempt_id, s) for a, s in zip(todo, new, strict=True)])
    finally:
        conn.close()
    console.print(f"Re-scored {len(todo)} attempts with embedder {scorer.embedder_id}, "
                  f"calibration {scorer.calibration_id}; {len(rows) - len(todo)} already up to date.")
    if todo:
        change = sum(s.score - a.score for a, s in zip(todo, new, strict=True)) / len(todo)
        console.print(f"Average change: {change:+.1f} points. Old scores are kept in the history database.")
    if gone:
        console.print(f"[yellow]Skipped attempts on questions no longer in the bank:[/] {', '.join(gone)}")
