"""`harness where` and the results folder: one place per user, from any working folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import paths
from harness.cli import cli


def fake_checkout(folder: Path) -> Path:
    """A folder that passes for a source checkout (pyproject.toml, harness/, questions/)."""
    for part in ("harness", "questions"):
        (folder / part).mkdir(parents=True)
    (folder / "pyproject.toml").write_text("", encoding="utf-8")
    return folder


def test_results_folder_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "env"))
    assert paths.results_location(tmp_path / "flag") == paths.Location("results", tmp_path / "flag", "--results")
    assert paths.results_location() == paths.Location("results", tmp_path / "env", "$HARNESS_RESULTS")
    monkeypatch.delenv("HARNESS_RESULTS")
    checkout = paths.source_checkout()
    assert checkout is not None  # the tests run from a checkout
    assert paths.results_location() == paths.Location("results", checkout / "results", "source checkout")


def test_installed_harness_uses_the_user_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Installed from a wheel there is no checkout: history lives in the per-user data folder,
    # the same whatever the working folder.
    monkeypatch.delenv("HARNESS_RESULTS", raising=False)
    monkeypatch.setattr(paths, "source_checkout", lambda: None)
    monkeypatch.setattr(paths, "installed_checkout", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for cwd in (tmp_path / "a", tmp_path / "b"):
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        assert paths.default_results_dir() == tmp_path / "data" / "harness" / "results"


def test_installed_from_a_checkout_keeps_that_checkouts_history(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    # `pip install CHECKOUT` (the README's set-up): the installed `harness`, run anywhere, keeps the
    # history `python -m harness` keeps in the checkout; once the checkout is gone, the user data folder.
    from harness import launcher

    checkout = fake_checkout(tmp_path / "my checkout")
    monkeypatch.delenv("HARNESS_RESULTS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(paths, "source_checkout", lambda: None)
    monkeypatch.setattr(launcher, "installed_from", lambda: (checkout, False))
    assert paths.results_location() == paths.Location("results", checkout / "results",
                                                      "checkout it was installed from")
    (checkout / "pyproject.toml").unlink()  # no longer a checkout (moved, deleted, emptied)
    assert paths.results_location() == paths.Location("results", tmp_path / "data" / "harness" / "results",
                                                      "user data folder")
    monkeypatch.setattr(launcher, "installed_from", lambda: None)  # from an index or a wheel file
    assert paths.results_location().chosen_by == "user data folder"


def test_an_installed_wheel_reads_its_origin_through_the_top_level_launcher(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    # The wheel has no harness/launcher.py: the module is installed as `_harness_launcher` only.
    import sys
    import types

    checkout = fake_checkout(tmp_path / "checkout")
    top = types.ModuleType("_harness_launcher")
    top.installed_from = lambda: (checkout, False)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "harness.launcher", None)  # importing it raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "_harness_launcher", top)
    assert paths.installed_checkout() == checkout


def test_where_json_names_every_folder_and_its_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "r"))
    result = CliRunner().invoke(cli, ["where", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"bank", "results", "history", "grade runs", "calibrations", "shipped calibrations", "cache"}
    assert data["results"] == {"path": str(tmp_path / "r"), "chosen_by": "$HARNESS_RESULTS", "exists": False}
    assert data["history"]["path"] == str(tmp_path / "r" / "history.sqlite")
    assert data["bank"]["chosen_by"] == "bundled" and data["shipped calibrations"]["exists"]


def test_where_piped_prints_whole_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    long = tmp_path / ("a-very-long-folder-name-" * 4) / "results"
    result = CliRunner().invoke(cli, ["where", "--results", str(long)], catch_exceptions=False)
    lines = result.output.splitlines()
    assert f"results\t{long}\t--results" in lines
    assert len(lines) == 7
