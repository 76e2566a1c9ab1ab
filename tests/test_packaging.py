"""The bundled bank and calibrations ship inside the wheel (plain `pip install .`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_holds_the_bank_and_calibrations(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "harness/_bank/questions/clip.yaml" in names
    assert "harness/_bank/rubrics/clip-idea.yaml" in names
    assert "harness/scoring/calibrations/use-multilingual.npz" in names
    assert "harness/scoring/calibrations/st_all-minilm-l6-v2.npz" in names
    assert not any(n.startswith(("tests/", "results/")) for n in names)
    assert "_harness_launcher.py" in names  # the `harness` command's entry point (harness/launcher.py)
