"""The `harness` command's entry point (harness/launcher.py, installed as `_harness_launcher`)."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

from harness import launcher

REPO = Path(__file__).resolve().parents[1]


class _Dist:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return self.direct_url


def _installed(monkeypatch: pytest.MonkeyPatch, direct_url: str | None) -> None:
    monkeypatch.setattr(launcher.metadata, "distribution", lambda name: _Dist(direct_url))


@pytest.mark.parametrize(("direct_url", "expected"), [
    ('{"dir_info": {"editable": true}, "url": "file:///home/me/my%20harness"}', Path("/home/me/my harness")),
    ('{"dir_info": {}, "url": "file:///home/me/harness"}', None),  # a plain install from a folder
    ('{"url": "https://example.org/harness.whl", "archive_info": {}}', None),
    ("not json", None),
    (None, None),  # from an index: no direct_url.json
])
def test_the_checkout_an_editable_install_points_at(monkeypatch: pytest.MonkeyPatch, direct_url: str | None,
                                                    expected: Path | None) -> None:
    _installed(monkeypatch, direct_url)
    assert launcher.editable_checkout() == expected


@pytest.mark.parametrize(("direct_url", "expected"), [
    ('{"dir_info": {"editable": true}, "url": "file:///home/me/h"}', (Path("/home/me/h"), True)),
    ('{"dir_info": {}, "url": "file:///home/me/my%20harness"}', (Path("/home/me/my harness"), False)),
    ('{"archive_info": {}, "url": "file:///home/me/dist/h.whl"}', None),  # a wheel file
    ('{"dir_info": {}, "url": "https://example.org/h"}', None),
    ('{"dir_info": "odd", "url": "file:///home/me/h"}', None),
    ("[]", None),
    (None, None),
])
def test_the_folder_any_install_came_from(monkeypatch: pytest.MonkeyPatch, direct_url: str | None,
                                          expected: tuple[Path, bool] | None) -> None:
    _installed(monkeypatch, direct_url)
    assert launcher.installed_from() == expected


def test_not_installed_at_all_is_no_editable_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise launcher.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(launcher.metadata, "distribution", missing)
    assert launcher.editable_checkout() is None


def test_the_message_names_the_checkout_and_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    _installed(monkeypatch, json.dumps({"dir_info": {"editable": True}, "url": gone.as_uri()}))
    message = launcher.not_importable()
    assert f"installed in editable mode from {gone}, which no longer exists" in message
    assert "pip install CHECKOUT (without -e" in message and "pip uninstall interview-harness" in message
    gone.mkdir()  # the folder is back, but without the package
    assert f"from {gone}, which holds no harness package now" in launcher.not_importable()
    _installed(monkeypatch, None)
    assert "pip install --force-reinstall interview-harness" in launcher.not_importable()
    assert all("\n" not in m for m in (message, launcher.not_importable()))


def test_main_says_why_in_one_line_when_the_package_is_missing(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    _installed(monkeypatch, json.dumps({"dir_info": {"editable": True}, "url": (tmp_path / "x").as_uri()}))
    monkeypatch.setitem(sys.modules, "harness.cli", None)  # importing it raises ModuleNotFoundError
    with pytest.raises(SystemExit) as exc:
        launcher.main()
    assert str(exc.value.code).startswith("Error: the harness package cannot be imported: it was installed in "
                                          f"editable mode from {tmp_path / 'x'}, which no longer exists")


def test_main_names_a_folder_an_older_install_left(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import types

    _installed(monkeypatch, None)
    stray = types.ModuleType("harness")  # what Python makes of a package-less site-packages/harness/
    stray.__path__ = [str(tmp_path / "site-packages" / "harness")]
    monkeypatch.setitem(sys.modules, "harness", stray)
    monkeypatch.setitem(sys.modules, "harness.cli", None)
    with pytest.raises(SystemExit) as exc:
        launcher.main()
    assert str(exc.value.code).endswith(f"; delete {tmp_path / 'site-packages' / 'harness'}, a folder an older "
                                        "install left, which passes for the package")
    monkeypatch.setitem(sys.modules, "harness", launcher)  # a real module, with a file: nothing stray
    assert launcher.stray_folder() is None


def test_main_lets_any_other_missing_module_through(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "harness.cli":
            raise ModuleNotFoundError("No module named 'click'", name="click")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)
    with pytest.raises(ModuleNotFoundError, match="click"):
        launcher.main()


def test_main_runs_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.cli

    monkeypatch.setattr(harness.cli, "main", lambda: 7)
    assert launcher.main() == 7


def _editable_wheel(project: Path, out: Path) -> Path:
    pytest.importorskip("hatchling")
    pytest.importorskip("editables")
    subprocess.run([sys.executable, "-c", "import sys, hatchling.build as b; b.build_editable(sys.argv[1])",
                    str(out)], cwd=project, check=True, capture_output=True)
    return next(out.glob("*.whl"))


@pytest.mark.slow
def test_the_editable_wheel_puts_only_the_launcher_beside_the_checkout(tmp_path: Path) -> None:
    names = zipfile.ZipFile(_editable_wheel(REPO, tmp_path)).namelist()
    # no site-packages/harness/ folder: it would pass for the package once the checkout is gone
    assert not any(n.startswith("harness/") for n in names), names
    assert "_harness_launcher.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "harness = _harness_launcher:main" in zipfile.ZipFile(next(tmp_path.glob("*.whl"))).read(entry).decode()


@pytest.mark.slow
def test_the_installed_command_runs_without_the_checkout_and_says_why(tmp_path: Path) -> None:
    """The editable wheel installed, then its checkout deleted: `harness` says so in one line and exits 1.

    Installed from the wheel file (offline), pip records no editable origin, so the message is the
    general one; `.ci/run` checks the wording for a real `pip install -e` (`not_importable` above).
    """
    checkout = tmp_path / "checkout"
    for part in ("harness", "questions", "rubrics"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / part, checkout / part)
    wheel = _editable_wheel(checkout, tmp_path / "dist")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    shutil.rmtree(checkout)
    done = subprocess.run([str(bin_dir / "harness"), "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("Error: the harness package cannot be imported, so the interview-harness install is "
                           "broken; reinstall it (pip install --force-reinstall interview-harness, or pip install "
                           "CHECKOUT)\n")
