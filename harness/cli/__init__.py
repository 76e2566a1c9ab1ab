"""The `harness` command line: parse, call one library function, print.

Subcommands live in their own modules and are imported only when run, so
`harness --help` stays fast and a heavy backend loads only when chosen.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from harness import __version__
from harness.errors import HarnessError

# name -> "module:attribute"; imported on first use.
COMMANDS: dict[str, str] = {
    "bank": "harness.cli.bank_cmd:bank",
    "calibrate": "harness.cli.score_cmd:calibrate",
    "evaluate": "harness.cli.score_cmd:evaluate",
    "grade": "harness.cli.grade_cmd:grade",
    "answer": "harness.cli.answer_cmd:answer",
    "history": "harness.cli.history_cmd:history",
    "regrade": "harness.cli.regrade_cmd:regrade",
    "rescore": "harness.cli.history_cmd:rescore",
    "report": "harness.cli.report_cmd:report",
    "where": "harness.cli.where_cmd:where",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, attr = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


def _available(name: str) -> bool:
    module = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Practise and grade interview answers against reference rubrics.

    Scores compare each answer with the rubric's key points using sentence
    embeddings plus keyword checks, calibrated to human grades.
    """


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; library errors become `Error: ...` on stderr and exit 1."""
    try:
        return cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:  # a failing disk or network drive (EIO); click itself ends quietly on a closed pipe
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"Error: {where}{exc.strerror or exc}. Files already written are kept; "
                   "check the disk or the path and run the command again.", err=True)
        sys.exit(1)
