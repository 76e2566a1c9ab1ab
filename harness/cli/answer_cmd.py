"""`harness answer`: write answers, get an instant score, build a history.

In a terminal the answer is written in a prompt_toolkit editor (multi-line,
paste, IME input); with standard input from a pipe, answers are read in the
format `harness.practice.piped` documents. Either way each answer is scored,
stored and compared with the user's earlier attempts; this module only reads
keys and draws.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.console import make_console
from harness.cli.options import bank_option, embedder_option, results_option

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from harness.practice.launch import Practice
    from harness.practice.scheduler import Pick
    from harness.practice.session import BackgroundScorer, Feedback, Session
    from harness.types import Question

COMMANDS = (":skip", ":hint", ":quit")
KEYS_HELP = "Write your answer (several lines are fine). Submit: Esc then Enter, or Ctrl-D. " \
    "On a line of its own: :hint, :skip or :quit."
PROMPT = "› "
REASONS = {
    "due": "due for review",
    "weak-topic": "weak topic",
    "unseen": "new question",
    "ahead": "review ahead of schedule",
}
STATUS = {"covered": ("✓ covered", "green"), "partial": ("~ partly", "yellow"), "missed": ("✗ missed", "red")}


@click.command()
@click.option("--topic", "topics", multiple=True, help="Only questions of this topic (repeatable).")
@click.option("--question", "question_ids", multiple=True,
              help="Ask exactly these question ids, in this order (repeatable).")
@click.option("-n", "limit", type=click.IntRange(min=1), default=None, help="Stop after N questions.")
@click.option("--user", envvar="HARNESS_USER", show_envvar=True, default=None,
              help="Whose history to use (default: your login name).")
@bank_option
@embedder_option
@results_option
@click.option("--json", "as_json", is_flag=True,
              help="Pipe mode: print one JSON object per answer instead of the report.")
def answer(topics: tuple[str, ...], question_ids: tuple[str, ...], limit: int | None, user: str | None,
           bank_dir: Path | None, embedder_name: str, results_dir: Path | None, as_json: bool) -> None:
    """Answer questions and get an instant score with what you missed.

    Questions come in order of need: due reviews first, then your weakest
    topics, then new ones. In a terminal, write your answer over as many lines
    as you like; submit with Esc then Enter (or Ctrl-D). On a line of its own,
    type :hint for the key points' headings, :skip to skip, :quit to stop.

    With input from a pipe (`harness answer < answers.txt`), answers are
    separated by a line `---`; an answer may start with a line `@QUESTION-ID`,
    else it answers the next scheduled question; `:skip` skips one.
    """
    from harness.paths import default_results_dir
    from harness.practice.launch import open_practice

    with open_practice(bank_dir, results_dir=results_dir or default_results_dir(), embedder_name=embedder_name,
                       user=user, topics=topics, question_ids=question_ids, limit=limit) as practice:
        for line in practice.imported.messages:
            click.echo(line, err=True)
        if sys.stdin.isatty():
            _interactive(practice)
        else:
            _piped(practice, as_json=as_json)
        practice.session.raise_if_kept()


def _interactive(practice: Practice) -> None:
    """Ask, read, score, show; the first question is drawn before anything heavy loads."""
    console = make_console()
    session = practice.session
    pick = session.next()
    if pick is None:
        console.print("No questions to ask: the selection is empty.")
        return
    console.print(f"[dim]{KEYS_HELP}[/]")
    console.print(_question_panel(pick))
    practice.check_embedder()
    practice.start_loading([pick.question])
    editor = _Editor(practice.loader)
    while pick is not None and _ask(console, editor, session, pick):
        pick = session.next()
        if pick is not None:
            console.print(_question_panel(pick))
            session.prepare(pick.question)
    _goodbye(console, session)


def _ask(console: Console, editor: _Editor, session: Session, pick: Pick) -> bool:
    """Read one answer, then score and show it; False when the user quits."""
    from harness.errors import HarnessError
    from harness.practice.session import hint

    started = session.clock()
    text = ""
    while True:
        text = editor.read(default=text)
        command = _command(text)
        if command == ":hint":
            text = _strip_command(text)
            console.print(_hint_panel(hint(session.bank, pick.question.id)))
        elif command is None and not text.strip():
            console.print("[yellow]Empty answer.[/] Write your answer, or type :skip or :quit.")
        else:
            break
    if command == ":quit":
        return False
    if command == ":skip":
        session.mark_asked(pick.question)
        console.print("[dim]Skipped.[/]")
        return True
    try:
        with console.status("Scoring… (the first score waits for the embedder to load)"):
            feedback = session.submit(pick.question, text, started_at=started)
    except HarnessError:
        click.echo(f"Your answer was not saved; here it is to copy:\n{text}\n", err=True)
        raise
    console.print(feedback_view(feedback))
    if feedback.kept:
        click.echo(feedback.kept.message(), err=True)
    return True


def _command(text: str) -> str | None:
    lines = text.rstrip().splitlines()
    last = lines[-1].strip().lower() if lines else ""
    if last in (":q", ":quit", ":exit"):
        return ":quit"
    return last if last in COMMANDS else None


def _strip_command(text: str) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(lines[:-1]).rstrip() + ("\n" if len(lines) > 1 else "")


def _goodbye(console: Console, session: Session) -> None:
    n = len(session.answered)
    console.print(
        f"{n} answer{'s' * (n != 1)} saved for {session.user}. "
        "Run [bold]harness history[/] to see your scores over time."
    )


class _Editor:
    """A multi-line prompt_toolkit editor with submit keys and a status bar."""

    def __init__(self, loader: BackgroundScorer) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()

        @kb.add("c-d")
        def _submit(event: object) -> None:
            buffer = event.current_buffer  # type: ignore[attr-defined]
            if buffer.text.strip():
                buffer.validate_and_handle()
            else:
                event.app.exit(result=":quit")  # type: ignore[attr-defined]

        self._loader = loader
        self._prompt: PromptSession[str] = PromptSession(
            multiline=True, key_bindings=kb, prompt_continuation="  ",
            bottom_toolbar=self._toolbar, refresh_interval=0.5,
        )

    def _toolbar(self) -> str:
        state = "scorer ready" if self._loader.ready else "scorer loading…"
        return f" Submit: Esc Enter or Ctrl-D │ on a line alone: :hint :skip :quit │ {state}"

    def read(self, *, default: str = "") -> str:
        return self._prompt.prompt(PROMPT, default=default)


def _piped(practice: Practice, *, as_json: bool) -> None:
    """Score the answers on standard input, printing each result as it comes."""
    from harness.practice import piped

    practice.check_embedder()
    answers = piped.read_answers(sys.stdin.buffer.read())
    if not answers:
        click.echo(piped.NO_ANSWERS, err=True)
        return
    console = make_console()
    for result in piped.run(practice, answers):
        if isinstance(result, piped.Stopped):
            click.echo(result.message, err=True)
        elif as_json:
            click.echo(json.dumps(piped.as_record(result), ensure_ascii=False))
        else:
            console.print(_question_panel_for(result.question))
            console.print(feedback_view(result))
        if not isinstance(result, piped.Stopped) and result.kept:
            click.echo(result.kept.message(), err=True)
    if not as_json:
        _goodbye(console, practice.session)


def _question_panel(pick: Pick) -> RenderableType:
    return _question_panel_for(pick.question, REASONS.get(pick.reason, pick.reason))


def _question_panel_for(question: Question, reason: str = "") -> RenderableType:
    from rich.panel import Panel
    from rich.text import Text

    body = Text(question.prompt, style="bold")
    if question.prompt_zh and question.prompt_en:
        body.append("\n" + question.prompt_en, style="dim")
    title = f"{question.id} · {question.topic} · {question.difficulty}"
    return Panel(body, title=title, subtitle=reason or None, title_align="left", subtitle_align="right")


def _hint_panel(titles: list[str]) -> RenderableType:
    from rich.panel import Panel

    return Panel("\n".join(f"• {t}" for t in titles), title="Hint: what a full answer covers",
                 title_align="left", border_style="cyan")


def feedback_view(feedback: Feedback) -> RenderableType:
    """Render the score, each key point, misconceptions, the reference and the comparison."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    score = feedback.score
    colour = "green" if score.score >= 85 else "yellow" if score.score >= 60 else "red"
    head = Text.assemble(("Score ", "bold"), (f"{score.score:.0f}/100", f"bold {colour}"),
                         (f"   {score.how()}", "dim"))
    if score.flags:
        head.append(f"   [{', '.join(score.flags)}]", style="magenta")
    points = Table(show_header=True, header_style="bold", expand=True, box=None, padding=(0, 1))
    points.add_column("Key point", ratio=2)
    points.add_column("", no_wrap=True)
    points.add_column("Your matching sentence", ratio=3)
    for p in score.points:
        label, style = STATUS[p.status]
        clause = p.evidence.clause if p.status != "missed" else ""
        matched = Text(clause) if clause else Text("—", style="dim")
        points.add_row(Text(p.title), Text(label, style=style), matched)
    parts: list[RenderableType] = [head, points]
    for m in score.misconceptions:
        line = Text.assemble(("Misconception: ", "bold red"), m.text, f" (−{m.penalty:.0f})")
        if m.evidence.clause:
            line.append(f"\n  you wrote: {m.evidence.clause}", style="dim")
        if m.correction:
            line.append(f"\n  correction: {m.correction}", style="green")
        parts.append(line)
    parts.append(Panel(Text(feedback.reference), title="Reference answer", title_align="left",
                       border_style="dim"))
    parts.append(Text("\n".join(feedback.comparison.lines()), style="cyan"))
    return Group(*parts)
