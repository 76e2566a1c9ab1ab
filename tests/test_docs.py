"""The README and the program cannot drift apart.

Every `harness ...` / `python -m harness ...` line in the README's bash blocks
names a command and options that exist; every command has help text and a
README example; the blocks marked `<!-- docs-test: run -->` run, in order, in
a temporary folder and exit 0; the sample outputs marked `<!-- docs-test:
output NAME -->` are exactly what the program prints. When a sample is meant
to change (a rubric or calibration changed the scores), regenerate them with
`HARNESS_UPDATE_DOCS=1 python -m pytest tests/test_docs.py`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.practice import store

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BLOCK = re.compile(r"(?:<!-- docs-test: (?P<kind>run|output)(?: (?P<name>[\w-]+))? -->\n)?"
                   r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.S | re.M)
OPERATORS = {"&&", "||", "|", ";", "&"}
REDIRECTS = {"<", ">", ">>", "2>", "<<"}
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?\n.*?^\1$\n?", re.S | re.M)
UPDATE = os.environ.get("HARNESS_UPDATE_DOCS") == "1"


@dataclass(frozen=True)
class Block:
    """A fenced block of the README, with its marker if any."""

    lang: str
    body: str
    kind: str | None
    name: str | None
    start: int
    end: int


def blocks(text: str | None = None) -> list[Block]:
    text = README.read_text(encoding="utf-8") if text is None else text
    return [Block(m["lang"], m["body"], m["kind"], m["name"], m.start("body"), m.end("body"))
            for m in BLOCK.finditer(text)]


def invocations(body: str) -> list[list[str]]:
    """The arguments of every harness call in a shell block (after `harness` or `python -m harness`)."""
    out = []
    body = HEREDOC.sub(r"<<\1\n", body)  # the text a heredoc feeds is not a command
    joined = re.sub(r"\\\n\s*", " ", body)
    for line in joined.splitlines():
        if not re.search(r"(^|[\s;&|(])(python -m )?harness(\s|$)", line) or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token in OPERATORS:
                out.extend(_harness_args(segment))
                segment = []
            else:
                segment.append(token)
    return out


def _harness_args(segment: list[str]) -> list[list[str]]:
    args = []
    skip = False
    for token in segment:
        if skip:
            skip = False
        elif token in REDIRECTS:
            skip = True
        else:
            args.append(token.strip("[]"))
    for i in range(len(args)):
        if args[i:i + 3] == ["python", "-m", "harness"]:
            return [[a for a in args[i + 3:] if a not in ("", "...")]]
        if args[i] == "harness" and i == 0:
            return [[a for a in args[1:] if a not in ("", "...")]]
    return []


def all_invocations() -> list[list[str]]:
    return [args for b in blocks() if b.lang in ("bash", "sh") for args in invocations(b.body)]


def resolve(args: list[str]) -> tuple[str, click.Command, list[str]]:
    """The command a README call names (`bank list` for a subcommand) and its remaining arguments."""
    ctx = click.Context(cli)
    command = cli.get_command(ctx, args[0]) if args and not args[0].startswith("-") else cli
    assert command is not None, f"README names an unknown command: harness {' '.join(args)}"
    name, rest = (args[0], args[1:]) if command is not cli else ("", args)
    if isinstance(command, click.Group) and command is not cli:
        sub = command.get_command(ctx, rest[0]) if rest else None
        assert sub is not None, f"README names an unknown subcommand: harness {' '.join(args)}"
        name, command, rest = f"{name} {rest[0]}", sub, rest[1:]
    return name, command, rest


def options(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def test_the_parser_finds_harness_calls() -> None:
    body = ("pip install x && python -m harness bank validate && python -m harness answer\n"
            "python -m harness bank list [--topic clip]      # id, topic\n"
            "cat > a.txt <<'TXT'\nharness is a word here, not a command\nTXT\n"
            "python -m harness calibrate G.csv [G2.csv ...] --bank DIR \\\n  --embedder E\n"
            "harness answer --json < answers.txt | head\n")
    assert invocations(body) == [["bank", "validate"], ["answer"], ["bank", "list", "--topic", "clip"],
                                 ["calibrate", "G.csv", "G2.csv", "--bank", "DIR", "--embedder", "E"],
                                 ["answer", "--json"]]


def test_every_command_and_option_the_readme_names_exists() -> None:
    calls = all_invocations()
    assert len(calls) > 30
    for args in calls:
        name, command, rest = resolve(args)
        known = options(command)
        for token in rest:
            if token.startswith("-") and token != "-":
                assert token.split("=")[0] in known, f"README: `harness {' '.join(args)}`: {token} is not an " \
                    f"option of `harness {name}` ({', '.join(sorted(known))})"


def test_every_command_has_help_text_and_a_readme_example() -> None:
    named = {resolve(args)[0] for args in all_invocations()}
    ctx = click.Context(cli)
    commands: list[tuple[str, click.Command]] = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            commands += [(f"{name} {sub}", command.get_command(ctx, sub)) for sub in command.list_commands(ctx)]
        else:
            commands.append((name, command))
    assert {"answer", "bank list", "history", "where", "calibrate", "grade", "report"} <= {n for n, _ in commands}
    for name, command in commands:
        assert command is not None and (command.help or "").strip(), f"harness {name} has no help text"
        assert name in named, f"the README has no example of `harness {name}`"
        result = CliRunner().invoke(cli, [*name.split(), "--help"], prog_name="harness")
        assert result.exit_code == 0 and f"Usage: harness {name}" in result.output, name


def test_short_help_in_listings_is_never_cut() -> None:
    for args in ([], ["bank"]):
        listing = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80).output
        rows = listing.split("Commands:\n", 1)[1].splitlines()
        cut = [row for row in rows if row.rstrip().endswith("...")]
        assert cut == []


def _env(tmp_path: Path, session_cache: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, command in (("python", ""), ("harness", " -m harness")):  # this interpreter, its venv included
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n', encoding="utf-8")
        script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO),
            "HARNESS_RESULTS": str(tmp_path / "results"), "HARNESS_CACHE": str(session_cache),
            "HARNESS_USER": "alice", "COLUMNS": "80"}


@pytest.mark.slow
def test_the_readme_examples_marked_run_exit_0(tmp_path: Path, session_cache: Path) -> None:
    env = _env(tmp_path, session_cache)
    work = tmp_path / "work"
    work.mkdir()
    marked = [b for b in blocks() if b.kind == "run"]
    assert len(marked) >= 4
    for block in marked:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], cwd=work, env=env, capture_output=True,
                              text=True, encoding="utf-8", timeout=600)
        assert done.returncode == 0, f"README block failed:\n{block.body}\nstderr:\n{done.stderr}"
    assert (work / "progress.png").is_file() and (work / "questions.json").is_file()


def _answers_txt() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("cat > answers.txt <<'TXT'\n", 1)[1].split("\nTXT\n", 1)[0] + "\n"


def answer_sample(tmp_path: Path, session_cache: Path) -> str:
    """What the README's answers.txt prints for its first answer, piped at 80 columns."""
    done = subprocess.run([sys.executable, "-m", "harness", "answer"], input=_answers_txt(), cwd=tmp_path,
                          env=_env(tmp_path, session_cache), capture_output=True, text=True, encoding="utf-8",
                          timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    second = next(i for i, line in enumerate(lines) if i > 0 and line.startswith("╭─ ") and "·" in line)
    return "\n".join(lines[:second]) + "\n"


def history_sample(tmp_path: Path) -> str:
    """`harness history` at 80 columns, piped, for six scripted attempts."""
    from test_answer_cli import T0, make_score

    conn = store.connect(store.db_path(tmp_path))
    attempts = [("clip-idea", "clip", 32), ("vit-patch", "vit", 32.3), ("clip-objective", "clip", 55),
                ("clip-data", "clip", 68), ("vit-patch", "vit", 66.6), ("clip-idea", "clip", 81)]
    store.record(conn, [(store.NewAttempt("alice", qid, topic, "答案", T0 + timedelta(days=day, minutes=-3),
                                          T0 + timedelta(days=day)),
                         make_score(qid, value, calibration="185d8bae598e"))
                        for day, (qid, topic, value) in enumerate(attempts)])
    conn.close()
    result = CliRunner().invoke(cli, ["history", "--results", str(tmp_path), "--user", "alice"],
                                env={"COLUMNS": "80"}, catch_exceptions=False)
    return result.output


def _check_sample(name: str, actual: str) -> None:
    text = README.read_text(encoding="utf-8")
    (block,) = [b for b in blocks(text) if b.kind == "output" and b.name == name]
    if UPDATE and block.body != actual:
        README.write_text(text[:block.start] + actual + text[block.end:], encoding="utf-8")
        return
    assert block.body == actual, f"README sample {name!r} differs from the program's output; if the change " \
        "is meant, run HARNESS_UPDATE_DOCS=1 python -m pytest tests/test_docs.py"


def test_readme_history_sample_is_what_history_prints(tmp_path: Path) -> None:
    _check_sample("history-sample", history_sample(tmp_path))


@pytest.mark.slow
def test_readme_answer_sample_is_what_answer_prints(tmp_path: Path, session_cache: Path) -> None:
    _check_sample("answer-sample", answer_sample(tmp_path, session_cache))


def test_the_readme_describes_the_bundled_bank_as_it_is() -> None:
    from harness.bank.loader import load_bank

    bank = load_bank()
    rubrics = list(bank.rubrics.values())
    texts = [t for q in bank.questions.values() for t in (q.prompt_zh, q.prompt_en)]
    texts += [t for r in rubrics for ref in r.references for t in (ref.zh, ref.en)]
    texts += [t for r in rubrics for p in r.key_points for t in (p.text, p.text_en)]
    texts += [t for r in rubrics for m in r.misconceptions for t in (m.text, m.text_en, m.correction)]
    readme = " ".join(README.read_text(encoding="utf-8").split())
    counts = re.search(r"The bundled bank: (\d+) questions in (\d+) topics \([^)]*\), (\d+) key points, (\d+) "
                       r"misconceptions", readme)
    sizes = re.search(r"the bundled rubrics are under (\d+) KB, their longest text ([\d,]+) characters", readme)
    assert counts and sizes, "README: the bundled bank's figures are no longer where this test looks"
    assert tuple(map(int, counts.groups())) == (
        len(bank.questions), len({q.topic for q in bank.questions.values()}),
        sum(len(r.key_points) for r in rubrics), sum(len(r.misconceptions) for r in rubrics))
    largest = max(Path(r.path).stat().st_size for r in rubrics if r.path)
    assert largest < int(sizes.group(1)) * 1024 <= largest + 8 * 1024, f"largest rubric file: {largest} bytes"
    assert int(sizes.group(2).replace(",", "")) == max(len(t or "") for t in texts)
