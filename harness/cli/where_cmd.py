"""`harness where`: every folder the harness uses, and what chose it."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.console import echo_json, make_console
from harness.cli.options import bank_option, json_option, results_option


@click.command()
@bank_option
@results_option
@json_option
@click.pass_context
def where(ctx: click.Context, bank_dir: Path | None, results_dir: Path | None, as_json: bool) -> None:
    """Show every folder the harness uses, and what chose it.

    Bank, history, grade runs, calibrations and the embedding cache.
    History and runs live in one place per user: `results/` of a source
    checkout, else the per-user data folder; --results or $HARNESS_RESULTS
    moves them.
    """
    from rich.table import Table

    from harness.paths import all_locations

    # A value click took from the environment is reported as the environment's choice.
    from_env = click.core.ParameterSource.ENVIRONMENT
    bank_dir = None if ctx.get_parameter_source("bank_dir") == from_env else bank_dir
    results_dir = None if ctx.get_parameter_source("results_dir") == from_env else results_dir
    locations = all_locations(bank_dir=bank_dir, results_dir=results_dir)
    if as_json:
        echo_json({loc.name: {"path": str(loc.path), "chosen_by": loc.chosen_by, "exists": loc.path.exists()}
                   for loc in locations})
        return
    console = make_console()
    if not console.is_terminal:  # piped: one whole line per folder, never a path split across lines
        for loc in locations:
            click.echo(f"{loc.name}\t{loc.path}\t{loc.chosen_by}")
        return
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    for column in ("what", "path", "chosen by"):
        table.add_column(column, overflow="fold")
    for loc in locations:
        table.add_row(loc.name, str(loc.path) + ("" if loc.path.exists() else "  (not created yet)"), loc.chosen_by)
    console.print(table)
