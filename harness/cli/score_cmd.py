"""`harness calibrate` and `harness evaluate`: fit and measure the scorer on human grades."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from harness.cli.console import make_console
from harness.cli.options import embedder_option
from harness.scoring.evaluation import Evaluation


def _table(results: list[Evaluation], title: str) -> Table:
    table = Table(title=title)
    for col in ("set", "n", "method", "pearson", "spearman", "rmse", "qwk", "r by question (mean ± sd)"):
        table.add_column(col, justify="right" if col not in ("set", "method") else "left")
    for e in results:
        for label, a in (("scorer", e.scorer), ("cosine baseline", e.baseline)):
            table.add_row(e.name, str(e.n_answers), label, f"{a.pearson:.3f}", f"{a.spearman:.3f}",
                          f"{a.rmse:.3f}", f"{a.qwk:.3f}", f"{a.per_question_mean:.3f} ± {a.per_question_sd:.3f}")
    return table


@click.command()
@click.argument("graded", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bank", "banks", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              envvar="HARNESS_BANK", help="Bank of the graded questions; give one per GRADED file, in order "
              "(default: the bundled bank).")
@embedder_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to save (default: results/calibrations/<embedder>.npz, used by later runs).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_RESULTS", help="Results folder (default: results/).")
def calibrate(graded: tuple[Path, ...], banks: tuple[Path, ...], embedder_name: str, out_path: Path | None,
              results_dir: Path | None) -> None:
    """Fit the score calibration to human grades in GRADED.csv files.

    GRADED.csv columns: student_id,question_id,answer,human_score,human_score_max.
    Prints the agreement under cross-validation with questions held out, then saves.
    """
    from harness.bank.loader import load_bank
    from harness.encoders import get_encoder
    from harness.paths import default_results_dir
    from harness.scoring import calibration as cal_mod
    from harness.scoring.evaluation import calibrate as fit_calibration
    from harness.scoring.evaluation import read_graded
    from harness.scoring.scorer import Scorer

    if banks and len(banks) != len(graded):
        raise click.UsageError(f"give one --bank per GRADED file ({len(graded)} files, {len(banks)} banks)")
    encoder = get_encoder(embedder_name)
    pairs = []
    for i, path in enumerate(graded):
        bank = load_bank(banks[i] if banks else None)
        pairs.append((Scorer(bank, encoder, None), read_graded(path)))
    fitted, results = fit_calibration(pairs)
    console = make_console()
    console.print(_table(results, f"Agreement with human grades, {encoder.name}, questions held out"))
    target = out_path or cal_mod.user_path(results_dir or default_results_dir(), encoder.name)
    cal_mod.save(fitted, target)
    console.print(f"Saved calibration {fitted.id} for {encoder.name} to {target}")


@click.command()
@click.argument("graded", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bank", "bank_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_BANK", help="Bank of the graded questions (default: the bundled bank).")
@embedder_option
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Calibration file (default: results/calibrations/<embedder>.npz, else the shipped one).")
@click.option("--cv/--no-cv", "cross_validate", default=False, show_default=True,
              help="Refit the calibration with this file's questions held out (group k-fold) instead of "
              "using the saved one; use it when the saved calibration was fitted on this file.")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_RESULTS", help="Results folder (default: results/).")
def evaluate(graded: Path, bank_dir: Path | None, embedder_name: str, calibration_path: Path | None,
             cross_validate: bool, results_dir: Path | None) -> None:
    """Score every answer in GRADED.csv and print agreement with human_score.

    Pearson r, Spearman rho, RMSE on the human scale, quadratic weighted kappa
    and the spread across questions, next to the plain cosine baseline
    (answer vs reference embedding) of the same embedder.
    """
    from harness.bank.loader import load_bank
    from harness.paths import default_results_dir
    from harness.scoring.evaluation import evaluate as run_evaluation
    from harness.scoring.evaluation import read_graded
    from harness.scoring.scorer import Scorer

    bank = load_bank(bank_dir)
    graded_set = read_graded(graded)
    scorer = Scorer.load(bank, embedder_name=embedder_name, calibration_path=calibration_path,
                         results_dir=results_dir or default_results_dir())
    result = run_evaluation(scorer, graded_set, cross_validate=cross_validate)
    how = "questions held out (group k-fold)" if cross_validate else f"calibration {scorer.calibration_id}"
    console = make_console()
    console.print(_table([result], f"Agreement with human grades, {scorer.embedder_id}, {how}"))
    console.print(f"{result.n_answers} answers scored in {result.seconds:.1f} s "
                  f"({result.n_answers / max(result.seconds, 1e-9):.0f} answers/s)")
