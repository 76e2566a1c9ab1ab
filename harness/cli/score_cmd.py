"""`harness calibrate` and `harness evaluate`: fit and measure the scorer on human grades."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from harness.cli.console import echo_json, make_console, plural, print_table, progress_bar
from harness.cli.options import announce_calibration, embedder_option, json_option, results_option, warn_language
from harness.scoring.intervals import LEVEL

if TYPE_CHECKING:  # scipy and scikit-learn load only when a command fits or measures (`harness --help` stays fast)
    from harness.scoring.evaluation import Evaluation
    from harness.scoring.heldout import HeldOutRow


def _table(results: list[Evaluation], title: str) -> Table:
    table = Table(title=title)
    for col in ("set", "n", "method", "pearson", "spearman", "rmse", "qwk", "r by question (mean ± sd)"):
        table.add_column(col, justify="right" if col not in ("set", "method") else "left")
    for e in results:
        for label, a in (("scorer", e.scorer), ("cosine baseline", e.baseline)):
            table.add_row(e.name, str(e.n_answers), label, f"{a.pearson:.3f}", f"{a.spearman:.3f}",
                          f"{a.rmse:.3f}", f"{a.qwk:.3f}", f"{a.per_question_mean:.3f} ± {a.per_question_sd:.3f}")
    return table


def _interval_table(results: list[Evaluation], title: str) -> Table:
    """Coverage of the 80% intervals and the review flag's figures per set (MAE and width on its scale)."""
    table = Table(title=title)
    for col in ("set", "n", "inside 80% range", "mean width", "flagged", "MAE flagged", "MAE others", "ratio"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for e in results:
        if (h := e.held_out) is not None:
            table.add_row(e.name, str(h.n), f"{h.coverage:.1%}", f"{h.width:.2f}", f"{h.flagged:.1%}",
                          f"{h.mae_flagged:.2f}", f"{h.mae_unflagged:.2f}", f"{h.ratio:.2f}")
    return table


def _number(x: float) -> float | None:
    """A JSON-safe figure: rounded, None for NaN (too few answers to tell)."""
    return None if math.isnan(x) else round(float(x), 4)


def evaluation_record(e: Evaluation) -> dict[str, Any]:
    """One set's agreement as `--json` prints it: scorer and cosine baseline side by side."""
    return {"name": e.name, "n_answers": e.n_answers, "cross_validated": e.cross_validated,
            "seconds": round(e.seconds, 2),
            **{method: {k: (v if k == "n" else _number(v)) for k, v in a.row().items()}
               for method, a in (("scorer", e.scorer), ("baseline", e.baseline))},
            **({"held_out": _held_out_record(e.held_out)} if e.held_out else {})}


def _held_out_record(h: HeldOutRow) -> dict[str, float | None]:
    """The interval and review figures of one set, as `calibrate --json` prints them."""
    return {"coverage": _number(h.coverage), "level": LEVEL, "mean_width": _number(h.width),
            "flagged": _number(h.flagged), "mae_flagged": _number(h.mae_flagged),
            "mae_unflagged": _number(h.mae_unflagged), "mae_ratio": _number(h.ratio),
            "pearson": _number(h.pearson), "r_by_question_mean": _number(h.per_question)}


@click.command()
@click.argument("graded", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bank", "banks", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              envvar="HARNESS_BANK", help="Bank of the graded questions; give one per GRADED file, in order "
              "(default: the bundled bank).")
@embedder_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to save (default: calibrations/<embedder>.npz in the results folder, which later "
              "runs use and name on stderr).")
@results_option
@click.option("--reset", is_flag=True,
              help="Go back to the shipped calibration: move your calibration for --embedder aside.")
@json_option
def calibrate(graded: tuple[Path, ...], banks: tuple[Path, ...], embedder_name: str, out_path: Path | None,
              results_dir: Path | None, reset: bool, as_json: bool) -> None:
    """Fit the score calibration to human grades in GRADED.csv files.

    GRADED.csv columns: student_id,question_id,answer,human_score,human_score_max.
    Prints the agreement under cross-validation with questions held out, then
    saves. Later runs with that embedder use your calibration and say so on
    stderr; `harness calibrate --reset` goes back to the shipped one.

    Example: harness calibrate graded.csv --bank my-bank
    """
    from harness.paths import default_results_dir

    results = results_dir or default_results_dir()
    if reset:
        if graded:
            raise click.UsageError("--reset takes no GRADED files")
        _reset(results, embedder_name, as_json=as_json)
        return
    if not graded:
        raise click.UsageError("Missing argument 'GRADED...': give human-graded CSV files, or --reset")
    if banks and len(banks) != len(graded):
        raise click.UsageError(f"give one --bank per GRADED file ({len(graded)} files, {len(banks)} banks)")
    fitted, results_table, encoder_name = _fit(graded, banks, embedder_name)
    target = out_path or _user_path(results, encoder_name)
    from harness.scoring import calibration as cal_mod

    cal_mod.save(fitted, target)
    from harness.scoring.calibration_choice import reset_hint
    used = target == _user_path(results, encoder_name)
    if as_json:
        echo_json({"calibration": {"id": fitted.id, "embedder_id": fitted.embedder_id, "path": str(target),
                                   "used_by_later_runs": used, "trained_on": list(fitted.trained_on),
                                   "bank_versions": list(fitted.bank_versions), "cv": fitted.cv},
                   "sets": [evaluation_record(e) for e in results_table]})
        return
    console = make_console(soft_wrap=True)
    print_table(console, _table(results_table, f"Agreement with human grades, {encoder_name}, questions held out"))
    print_table(console, _interval_table(results_table, "Score ranges and review flags, questions held out"))
    console.print(f"Saved calibration {fitted.id} for {encoder_name} to {target}")
    if used:
        console.print(f"Later runs with {encoder_name} use it and say so; {reset_hint(encoder_name)}.")
    else:
        console.print(f"Use it with --calibration {target}")


def _fit(graded: tuple[Path, ...], banks: tuple[Path, ...], embedder_name: str) -> tuple[Any, list[Evaluation], str]:
    from harness.bank.loader import load_bank
    from harness.encoders import get_encoder
    from harness.scoring.evaluation import calibrate as fit_calibration
    from harness.scoring.evaluation import read_graded
    from harness.scoring.scorer import Scorer

    sets = [read_graded(path) for path in graded]  # every file checked before the model loads
    loaded = [load_bank(banks[i] if banks else None) for i in range(len(graded))]
    for bank in loaded:
        warn_language(bank, embedder_name)
    encoder = get_encoder(embedder_name)
    with progress_bar() as progress:
        fitted, results = fit_calibration([(Scorer(b, encoder, None), s) for b, s in zip(loaded, sets)],
                                          progress=progress)
    return fitted, results, encoder.name


def _user_path(results: Path, embedder_id: str) -> Path:
    from harness.scoring.calibration_choice import user_path

    return user_path(results, embedder_id)


def _reset(results: Path, embedder_name: str, *, as_json: bool) -> None:
    from harness.encoders import canonical_name
    from harness.scoring.calibration_choice import reset, shipped_path

    embedder_id = canonical_name(embedder_name)
    moved = reset(results, embedder_id)
    if as_json:
        echo_json({"embedder_id": embedder_id, "moved_to": str(moved) if moved else None,
                   "now_using": str(shipped_path(embedder_id))})
    elif moved is None:
        click.echo(f"No calibration of yours for {embedder_id} in {results / 'calibrations'}; "
                   "runs already use the shipped one.")
    else:
        click.echo(f"Moved your calibration for {embedder_id} to {moved}; later runs use the shipped one "
                   f"(use yours with --calibration {moved}).")


@click.command()
@click.argument("graded", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bank", "bank_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="HARNESS_BANK", help="Bank of the graded questions (default: the bundled bank).")
@embedder_option
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Calibration file (default: yours from `harness calibrate`, else the shipped one).")
@click.option("--cv/--no-cv", "cross_validate", default=False, show_default=True,
              help="Refit the calibration with this file's questions held out (group k-fold) instead of "
              "using the saved one; use it when the saved calibration was fitted on this file.")
@results_option
@json_option
def evaluate(graded: Path, bank_dir: Path | None, embedder_name: str, calibration_path: Path | None,
             cross_validate: bool, results_dir: Path | None, as_json: bool) -> None:
    """Measure the scorer's agreement with human grades in GRADED.csv.

    Pearson r, Spearman rho, RMSE on the human scale, quadratic weighted kappa
    and the spread across questions, next to the plain cosine baseline
    (answer vs reference embedding) of the same embedder.

    Example: harness evaluate graded.csv --bank my-bank --cv
    """
    from harness.bank.loader import load_bank
    from harness.paths import default_results_dir
    from harness.scoring.evaluation import evaluate as run_evaluation
    from harness.scoring.evaluation import read_graded
    from harness.scoring.scorer import Scorer

    bank = load_bank(bank_dir)
    graded_set = read_graded(graded)
    results = results_dir or default_results_dir()
    warn_language(bank, embedder_name)
    if not cross_validate:
        announce_calibration(embedder_name, calibration_path=calibration_path, results_dir=results)
    scorer = Scorer.load(bank, embedder_name=embedder_name, calibration_path=calibration_path, results_dir=results)
    with progress_bar() as progress:
        result = run_evaluation(scorer, graded_set, cross_validate=cross_validate, progress=progress)
    if as_json:
        echo_json({"embedder_id": scorer.embedder_id,
                   "calibration_id": None if cross_validate else scorer.calibration_id,
                   "sets": [evaluation_record(result)]})
        return
    how = "questions held out (group k-fold)" if cross_validate else f"calibration {scorer.calibration_id}"
    console = make_console(soft_wrap=True)
    print_table(console, _table([result], f"Agreement with human grades, {scorer.embedder_id}, {how}"))
    console.print(f"{plural(result.n_answers, 'answer')} scored in {result.seconds:.1f} s "
                  f"({result.n_answers / max(result.seconds, 1e-9):.0f} answers/s)")
