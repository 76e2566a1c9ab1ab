"""Scoring with a saved calibration stays light: the fitting libraries load only when something is fitted."""

from __future__ import annotations

import subprocess
import sys


def test_loading_the_scorer_imports_no_fitting_library() -> None:
    code = ("import sys, harness.scoring.scorer, harness.grade.run, harness.practice.session; "
            "print(sorted(m for m in ('sklearn', 'scipy.optimize') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_help_imports_neither_scipy_nor_sklearn() -> None:
    # `harness --help` lists every command, so it imports every command module: none may pull in the fitters
    code = ("import sys; from click.testing import CliRunner; from harness.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
