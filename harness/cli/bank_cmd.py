"""`harness bank ...`: list, show, validate and import question banks."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from harness.bank.loader import default_bank_dir, load_bank
from harness.bank.lookup import find_question
from harness.cli.console import make_console
from harness.cli.options import bank_option
from harness.errors import BankError, UnknownQuestionError
from harness.types import Bank, Question, Rubric


@click.group()
def bank() -> None:
    """List, show, validate and import question banks."""


@bank.command("list")
@bank_option
@click.option("--topic", default=None, help="Only questions of this topic.")
def list_(bank_dir: Path | None, topic: str | None) -> None:
    """Table of id, topic, difficulty and number of key points."""
    b = load_bank(bank_dir)
    if topic is not None and topic not in b.topics:
        raise UnknownQuestionError(f"no topic {topic!r} in the bank; topics: {', '.join(b.topics)}")
    table = Table(title=f"{len(b.questions)} questions, {len(b.topics)} topics ({b.root})")
    for col in ("id", "topic", "difficulty", "key points", "question"):
        table.add_column(col, overflow="fold")
    for q in b.questions.values():
        if topic is None or q.topic == topic:
            table.add_row(q.id, q.topic, q.difficulty, str(len(b.rubrics[q.id].key_points)), q.prompt)
    make_console().print(table)


@bank.command()
@bank_option
@click.argument("question_id")
def show(bank_dir: Path | None, question_id: str) -> None:
    """Show one question and its rubric."""
    b = load_bank(bank_dir)
    q = find_question(b, question_id)
    render_question(make_console(), q, b.rubrics[q.id])


def render_question(console: Console, q: Question, rubric: Rubric) -> None:
    """Print a question with its references, key points and misconceptions."""
    console.rule(f"[bold]{q.id}[/]  ({q.topic}, {q.difficulty})")
    if q.prompt_zh:
        console.print(q.prompt_zh)
    if q.prompt_en:
        console.print(q.prompt_en, style="dim")
    for i, ref in enumerate(rubric.references, 1):
        console.print(f"\n[bold]Reference answer {i}[/]")
        for text in ref.texts:
            console.print(text)
    derived = " (derived from the reference answers)" if rubric.derived else ""
    console.print(f"\n[bold]Key points[/]{derived}  rubric version {rubric.version_id}")
    for p in rubric.key_points:
        console.print(f"  [{p.weight:g}] [bold]{p.title}[/]: {p.text}")
        if p.text_en:
            console.print(f"      {p.text_en}", style="dim")
        for g in p.keywords:
            console.print(f"      keywords: {' / '.join(g.aliases)}", style="cyan")
    if rubric.keywords:
        console.print("\n[bold]Answer keywords[/]")
        for g in rubric.keywords:
            console.print(f"  {' / '.join(g.aliases)}", style="cyan")
    if rubric.misconceptions:
        console.print("\n[bold]Misconceptions[/]")
        for m in rubric.misconceptions:
            console.print(f"  [-{m.penalty:g}] {m.text}")
            if m.correction:
                console.print(f"      correct: {m.correction}", style="green")


@bank.command()
@click.argument("bank_path", required=False, type=click.Path(file_okay=False, path_type=Path))
@bank_option
def validate(bank_path: Path | None, bank_dir: Path | None) -> None:
    """Check a bank (default: --bank or the bundled one); exit 1 on any error."""
    root = bank_path or bank_dir or default_bank_dir()
    try:
        b = load_bank(root)
    except BankError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {root}", err=True)
        sys.exit(1)
    _summary(b)


def _summary(b: Bank) -> None:
    points = sum(len(r.key_points) for r in b.rubrics.values())
    refs = sum(len(r.references) for r in b.rubrics.values())
    click.echo(
        f"OK: {len(b.questions)} questions in {len(b.topics)} topics, {refs} reference answers, "
        f"{points} key points (bank version {b.version}, {b.root})"
    )


@bank.command("import")
@click.argument("csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the new bank into (must not hold a bank yet).")
def import_(csv_path: Path, out_dir: Path) -> None:
    """Build a bank from a CSV: question_id,topic,question,reference_answer[,keywords]."""
    from harness.bank.importer import import_questions

    b = import_questions(csv_path, out_dir)
    _summary(b)
