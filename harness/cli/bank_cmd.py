"""`harness bank ...`: list, show, validate and import question banks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.bank.loader import default_bank_dir, load_bank
from harness.bank.lookup import find_question
from harness.cli.console import echo_json, make_console, plural, print_table
from harness.cli.options import bank_option, json_option
from harness.errors import BankError, UnknownQuestionError
from harness.types import Bank, KeywordGroup, Question, Rubric


@click.group()
def bank() -> None:
    """List, show, validate and import question banks.

    Example: harness bank show clip-objective
    """


@bank.command("list")
@bank_option
@click.option("--topic", default=None, help="Only questions of this topic.")
@json_option
def list_(bank_dir: Path | None, topic: str | None, as_json: bool) -> None:
    """List the questions: id, topic, difficulty, key points, prompt.

    Piped, each question is one whole line (as wide as it needs); --json
    prints every field.
    """
    b = load_bank(bank_dir)
    if topic is not None and topic not in b.topics:
        raise UnknownQuestionError(f"no topic {topic!r} in the bank; topics: {', '.join(b.topics)}")
    questions = [q for q in b.questions.values() if topic is None or q.topic == topic]
    if as_json:
        echo_json({"bank": _bank_record(b), "questions": [_question_record(q, b.rubrics[q.id]) for q in questions]})
        return
    console = make_console(soft_wrap=True)
    console.print(f"{plural(len(questions), 'question')} in {plural(len(b.topics), 'topic')}, bank {b.root}")
    print_table(console, _list_table(b, questions, grouped=console.is_terminal))


def _list_table(b: Bank, questions: list[Question], *, grouped: bool) -> Table:
    """One row per question; `grouped` puts each topic on a line of its own (narrow terminals)."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", padding=(0, 1), pad_edge=False)
    for col in ("id", *(() if grouped else ("topic",)), "difficulty", "points"):
        table.add_column(col, no_wrap=True, justify="right" if col == "points" else "left")
    table.add_column("question", overflow="fold")
    topic = None
    for q in questions:
        if grouped and q.topic != topic:
            table.add_row(f"[bold cyan]{q.topic}[/]")
        topic = q.topic
        cells = (q.id, *(() if grouped else (q.topic,)), q.difficulty, str(len(b.rubrics[q.id].key_points)))
        table.add_row(*cells, q.prompt)
    return table


@bank.command()
@bank_option
@click.argument("question_id")
@json_option
def show(bank_dir: Path | None, question_id: str, as_json: bool) -> None:
    """Show one question and its rubric.

    The reference answers, key points (weight, keywords) and misconceptions
    (penalty, correction); --json prints every field.
    """
    b = load_bank(bank_dir)
    q = find_question(b, question_id)
    if as_json:
        echo_json({"bank": _bank_record(b), **_question_record(q, b.rubrics[q.id]),
                   "rubric": _rubric_record(b.rubrics[q.id])})
        return
    console = make_console()
    console.soft_wrap = not console.is_terminal  # piped: every line whole
    render_question(console, q, b.rubrics[q.id])


def render_question(console: Console, q: Question, rubric: Rubric) -> None:
    """Print a question with its references, key points and misconceptions."""
    from rich.markup import escape

    console.rule(f"[bold]{escape(q.id)}[/]  ({escape(q.topic)}, {q.difficulty})")
    if q.prompt_zh:
        console.print(q.prompt_zh, markup=False)
    if q.prompt_en:
        console.print(q.prompt_en, style="dim", markup=False)
    for i, ref in enumerate(rubric.references, 1):
        console.print(f"\n[bold]Reference answer {i}[/]")
        for text in ref.texts:
            console.print(text, markup=False)
    derived = " (derived from the reference answers)" if rubric.derived else ""
    console.print(f"\n[bold]Key points[/]{derived}  rubric version {rubric.version_id}")
    for p in rubric.key_points:
        console.print(f"  \\[{p.weight:g}] [bold]{escape(p.title)}[/]: {escape(p.text)}")
        if p.text_en:
            console.print(f"      {p.text_en}", style="dim", markup=False)
        for g in p.keywords:
            console.print(f"      keywords: {' / '.join(g.aliases)}", style="cyan", markup=False)
    if rubric.keywords:
        console.print("\n[bold]Answer keywords[/]")
        for g in rubric.keywords:
            console.print(f"  {' / '.join(g.aliases)}", style="cyan", markup=False)
    if rubric.misconceptions:
        console.print("\n[bold]Misconceptions[/]")
        for m in rubric.misconceptions:
            console.print(f"  [-{m.penalty:g}] {m.text}", markup=False)
            if m.correction:
                console.print(f"      correct: {m.correction}", style="green", markup=False)


@bank.command()
@click.argument("bank_path", required=False, type=click.Path(file_okay=False, path_type=Path))
@bank_option
@json_option
def validate(bank_path: Path | None, bank_dir: Path | None, as_json: bool) -> None:
    """Check a bank and list every problem; exit 1 on any.

    BANK_PATH defaults to --bank, else the bundled bank. Every problem is
    printed with its file and field.
    """
    root = bank_path or bank_dir or default_bank_dir()
    try:
        b = load_bank(root)
    except BankError as exc:
        if as_json:
            echo_json({"ok": False, "root": str(root), "problems": exc.problems})
        else:
            for problem in exc.problems:
                click.echo(f"Error: {problem}", err=True)
            click.echo(f"{plural(len(exc.problems), 'problem')} in {root}", err=True)
        sys.exit(1)
    from harness.bank.lint import lint_bank

    warnings = lint_bank(b)
    _summary(b, as_json=as_json, warnings=warnings)


def _summary(b: Bank, *, as_json: bool, warnings: list[str]) -> None:
    counts = _counts(b)
    if as_json:
        echo_json({"ok": True, **_bank_record(b), **counts, "problems": [], "warnings": warnings})
        return
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(
        f"OK: {plural(counts['questions'], 'question')} in {plural(counts['topics'], 'topic')}, "
        f"{plural(counts['references'], 'reference answer')}, {plural(counts['key_points'], 'key point')}, "
        f"{plural(counts['misconceptions'], 'misconception')} (bank version {b.version}, {b.root})"
    )


@bank.command("import")
@click.argument("csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the new bank into (must not hold a bank yet).")
@json_option
def import_(csv_path: Path, out_dir: Path, as_json: bool) -> None:
    """Build a bank from a questions CSV.

    CSV_PATH has the columns question_id,topic,question,reference_answer and
    optionally keywords (groups separated by `;`, aliases in a group by `|`);
    several rows with one question_id are several acceptable references.
    """
    from harness.bank.importer import import_questions
    from harness.bank.lint import lint_bank

    b = import_questions(csv_path, out_dir)
    _summary(b, as_json=as_json, warnings=lint_bank(b))


def _counts(b: Bank) -> dict[str, int]:
    rubrics = b.rubrics.values()
    return {"questions": len(b.questions), "topics": len(b.topics),
            "references": sum(len(r.references) for r in rubrics),
            "key_points": sum(len(r.key_points) for r in rubrics),
            "misconceptions": sum(len(r.misconceptions) for r in rubrics)}


def _bank_record(b: Bank) -> dict[str, Any]:
    return {"root": str(b.root), "version": b.version, "topics": list(b.topics)}


def _question_record(q: Question, rubric: Rubric) -> dict[str, Any]:
    return {"id": q.id, "topic": q.topic, "difficulty": q.difficulty, "prompt_zh": q.prompt_zh,
            "prompt_en": q.prompt_en, "tags": list(q.tags), "key_points": len(rubric.key_points),
            "misconceptions": len(rubric.misconceptions), "rubric_version": rubric.version_id}


def _groups(groups: tuple[KeywordGroup, ...]) -> list[list[str]]:
    return [list(g.aliases) for g in groups]


def _rubric_record(r: Rubric) -> dict[str, Any]:
    return {
        "version": r.version, "version_id": r.version_id, "derived": r.derived,
        "references": [{"zh": ref.zh, "en": ref.en} for ref in r.references],
        "key_points": [{"id": p.id, "title": p.title, "text": p.text, "text_en": p.text_en, "weight": p.weight,
                        "keywords": _groups(p.keywords),
                        "alternatives": [{"zh": a.zh, "en": a.en, "plain": a.plain} for a in p.alternatives]}
                       for p in r.key_points],
        "misconceptions": [{"id": m.id, "text": m.text, "text_en": m.text_en, "cues": _groups(m.cues),
                            "penalty": m.penalty, "correction": m.correction} for m in r.misconceptions],
        "keywords": _groups(r.keywords),
    }
