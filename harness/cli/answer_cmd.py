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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.console import make_console, plural, print_table, progress_bar
from harness.cli.options import announce_calibration, bank_option, embedder_option, results_option, warn_language

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from harness.practice.launch import Practice
    from harness.practice.scheduler import Pick
    from harness.practice.session import BackgroundScorer, Feedback, Session
    from harness.types import Question

QUIT_WORDS = (":q", ":quit", ":exit")
KEYS_HELP = "Write your answer (several lines are fine). Submit: Esc then Enter, or Ctrl-D. " \
    "Type :hint, :skip or :quit on a line of its own and press Enter."
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
              help="Pipe mode: print one JSON object per answer (JSON Lines) instead of the report.")
@click.option("--skip-unknown", is_flag=True,
              help="Pipe mode: skip (and report) answers whose @QUESTION-ID is not in the bank, instead of "
              "stopping before anything is scored.")
def answer(topics: tuple[str, ...], question_ids: tuple[str, ...], limit: int | None, user: str | None,
           bank_dir: Path | None, embedder_name: str, results_dir: Path | None, as_json: bool,
           skip_unknown: bool) -> None:
    """Answer questions and get an instant score with what you missed.

    Questions come in order of need: due reviews first, then your weakest
    topics, then new ones. In a terminal, write your answer over as many lines
    as you like; submit with Esc then Enter (or Ctrl-D). Type :hint (the key
    points' headings), :skip or :quit on a line of its own and press Enter.

    With input from a pipe (`harness answer < answers.txt`), answers are
    separated by a line `---`; a line `@QUESTION-ID` names the question of the
    answer below it (and starts a new answer); an answer without one answers
    the next scheduled question; `:skip` skips one. Every @QUESTION-ID is
    checked before anything is scored.

    Example: harness answer --topic clip -n 3
    """
    from harness.paths import default_results_dir
    from harness.practice.launch import open_practice

    results = results_dir or default_results_dir()
    with open_practice(bank_dir, results_dir=results, embedder_name=embedder_name,
                       user=user, topics=topics, question_ids=question_ids, limit=limit) as practice:
        for line in practice.imported.messages:
            click.echo(line, err=True)
        practice.check_embedder()
        warn_language(practice.session.bank, embedder_name)
        announce_calibration(embedder_name, results_dir=results)
        if sys.stdin.isatty():
            _interactive(practice, results)
        else:
            _piped(practice, results, as_json=as_json, skip_unknown=skip_unknown)
        practice.session.raise_if_kept()


def _interactive(practice: Practice, results: Path) -> None:
    """Ask, read, score, show; the first question is drawn before anything heavy loads."""
    console = make_console()
    session = practice.session
    pick = session.next()
    if pick is None:
        console.print("No questions to ask: the selection is empty.")
        return
    console.print(f"[dim]{KEYS_HELP}[/]")
    console.print(_question_panel(pick))
    editor = _Editor(practice.loader)  # before the loader starts: importing the editor would compete with it
    practice.start_loading([pick.question])
    while pick is not None and _ask(console, editor, session, pick):
        pick = session.next()
        if pick is not None:
            console.print(_question_panel(pick))
            session.prepare(pick.question)
    _goodbye(console, session, results)


def _ask(console: Console, editor: _Editor, session: Session, pick: Pick) -> bool:
    """Read one answer, then score and show it; False when the user quits."""
    from harness.errors import HarnessError
    from harness.practice.session import hint

    started = session.clock()
    text = ""
    while True:
        entry = editor.read(default=text + "\n" if text else "")
        text = entry.text
        if entry.command == ":hint":
            console.print(_hint_panel(hint(session.bank, pick.question.id)))
        elif entry.command is None and not text.strip():
            console.print("[yellow]Empty answer.[/] Write your answer, or type :skip or :quit and press Enter.")
        else:
            break
    if entry.command == ":quit":
        return False
    if entry.command == ":skip":
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


def command_word(line: str) -> str | None:
    """`:hint`, `:skip` or `:quit` when the line is that command alone (`:q` and `:exit` quit too)."""
    word = line.strip().lower()
    if word in QUIT_WORDS:
        return ":quit"
    return word if word in (":hint", ":skip") else None


@dataclass(frozen=True)
class Entry:
    """What the editor returned: the answer text and the command typed on a line of its own, if any."""

    text: str
    command: str | None = None


def parse_entry(text: str, command: str | None = None) -> Entry:
    """Take every command line out of the answer, so `:hint` never ends up in a stored answer.

    `command` is the one the user pressed Enter on; without it the last
    command line counts (as after Esc Enter or Ctrl-D).
    """
    lines = text.splitlines()
    found = [c for c in map(command_word, lines) if c]
    if not found:
        return Entry(text, command)
    kept = "\n".join(line for line in lines if command_word(line) is None).strip("\n")
    return Entry(kept, command or found[-1])


def _goodbye(console: Console, session: Session, results: Path) -> None:
    from harness.practice.store import db_path

    console.print(
        f"{plural(len(session.answered), 'answer')} saved for {session.user} in {db_path(results)}. "
        "Run [bold]harness history[/] to see your scores over time.", soft_wrap=True,
    )


class _Editor:
    """A multi-line prompt_toolkit editor with submit keys and a status bar."""

    def __init__(self, loader: BackgroundScorer) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.application.current import get_app
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()
        self._command: str | None = None  # the command whose line Enter was pressed on

        @kb.add("c-d")
        def _submit(event: object) -> None:
            buffer = event.current_buffer  # type: ignore[attr-defined]
            if buffer.text.strip():
                buffer.validate_and_handle()
            else:
                event.app.exit(result=":quit")  # type: ignore[attr-defined]

        @Condition
        def on_command_line() -> bool:
            return command_word(get_app().current_buffer.document.current_line) is not None

        @kb.add("enter", filter=on_command_line)
        def _command(event: object) -> None:
            buffer = event.current_buffer  # type: ignore[attr-defined]
            self._command = command_word(buffer.document.current_line)
            event.app.exit(result=buffer.text)  # type: ignore[attr-defined]

        self._loader = loader
        self._prompt: PromptSession[str] = PromptSession(
            multiline=True, key_bindings=kb, prompt_continuation="  ",
            bottom_toolbar=self._toolbar, refresh_interval=0.5,
        )

    def _toolbar(self) -> str:
        state = "scorer ready" if self._loader.ready else "scorer loading…"
        return f" Submit: Esc Enter or Ctrl-D │ alone on a line + Enter: :hint :skip :quit │ {state}"

    def read(self, *, default: str = "") -> Entry:
        self._command = None
        return parse_entry(self._prompt.prompt(PROMPT, default=default), self._command)


def _piped(practice: Practice, results: Path, *, as_json: bool, skip_unknown: bool) -> None:
    """Score the answers on standard input, printing each result as it comes."""
    from harness.practice import piped

    answers = piped.read_answers(sys.stdin.buffer.read(), practice.session.bank.questions)
    if not answers:
        click.echo(piped.NO_ANSWERS, err=True)
        return
    good, skipped = piped.select(practice.session.bank, answers, skip_unknown=skip_unknown)
    for note in skipped:
        click.echo(note.message, err=True)
    with progress_bar() as progress:
        piped.warm(practice, good, progress=progress)
    console = make_console()
    for result in piped.score(practice, good):
        if isinstance(result, piped.Stopped):
            click.echo(result.message, err=True)
        elif as_json:
            click.echo(json.dumps(piped.as_record(result), ensure_ascii=False))
        else:
            console.print(_question_panel_for(result.question))
            print_feedback(console, result)
        if not isinstance(result, piped.Stopped) and result.kept:
            click.echo(result.kept.message(), err=True)
    if not as_json:
        _goodbye(console, practice.session, results)


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

    return Group(*feedback_parts(feedback))


def print_feedback(console: Console, feedback: Feedback) -> None:
    """Print `feedback_view`; piped, every row of the key point table and the reference stay whole lines."""
    head, points, *notes, reference, comparison = feedback_parts(feedback)
    whole = not console.is_terminal
    console.print(head, soft_wrap=whole)
    print_table(console, points)
    for line in notes:  # the closeness note and the misconceptions
        console.print(line, soft_wrap=whole)
    if whole:
        console.print("Reference answer:", style="bold")
        console.print(feedback.reference, soft_wrap=True, markup=False)
    else:
        console.print(reference)
    console.print(comparison, soft_wrap=whole)


def feedback_parts(feedback: Feedback) -> list[RenderableType]:
    """The score line, the key point table, a closeness note, misconceptions, the reference and the comparison."""
    from rich.panel import Panel
    from rich.text import Text

    from harness.scoring.review import describe
    from harness.scoring.rules import closeness_note
    from harness.scoring.text import has_cjk

    score = feedback.score
    colour = "green" if score.score >= 85 else "yellow" if score.score >= 60 else "red"
    head = Text.assemble(("Score ", "bold"), (f"{score.score:.0f}/100", f"bold {colour}"))
    if score.score_low is not None and score.score_high is not None:  # "72, likely 60-81"
        head.append(f", likely {score.score_low:.0f}-{score.score_high:.0f}", style=colour)
    if score.adjusted:  # "calibrated 70 = 70/100" would say nothing
        head.append(f"   {score.how()}", style="dim")
    if score.flags:
        head.append(f"   [{', '.join(score.flags)}]", style="magenta")
    parts: list[RenderableType] = [head, _points_table(feedback)]
    if score.review:
        parts.append(Text.assemble(("Worth a second look: ", "bold magenta"), describe(score.review),
                                   ". Compare your answer with the reference answer below."))
    note = closeness_note(score, zh=has_cjk(feedback.reference))
    if note:  # the score rests on overall closeness that no single key point caught
        parts.append(Text(note, style="yellow"))
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
    return parts


def _points_table(feedback: Feedback) -> RenderableType:
    """Each key point with its status and the sentence that matched it (folded, never cut)."""
    from rich.table import Table
    from rich.text import Text

    points = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    points.add_column("Key point", overflow="fold")
    points.add_column("", no_wrap=True)
    points.add_column("Your matching sentence", overflow="fold")
    for p in feedback.score.points:
        label, style = STATUS[p.status]
        clause = p.evidence.clause if p.status != "missed" else ""
        matched = Text(clause) if clause else Text("—", style="dim")
        points.add_row(Text(p.title), Text(label, style=style), matched)
    return points
