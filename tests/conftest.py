"""Shared fixtures: isolated cache and results folders, one scorer per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.bank.loader import load_bank
from harness.types import Bank

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = REPO.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole run (rubric vectors are shared by tests)."""
    return tmp_path_factory.mktemp("harness-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_cache: Path) -> Iterator[None]:
    """Never touch the user's cache or the repository's results/ from a test."""
    monkeypatch.setenv("HARNESS_CACHE", str(session_cache))
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("HARNESS_BANK", raising=False)
    monkeypatch.delenv("HARNESS_EMBEDDER", raising=False)
    yield


@pytest.fixture(scope="session")
def bank() -> Bank:
    """The bundled multimodal bank."""
    return load_bank()


@pytest.fixture(scope="session")
def use_encoder(session_cache: Path):  # type: ignore[no-untyped-def]
    """The default encoder, loaded once (about 2 s)."""
    from harness.encoders import get_encoder

    return get_encoder("use-multilingual", cache_dir=session_cache)


@pytest.fixture(scope="session")
def scorer(bank: Bank, use_encoder):  # type: ignore[no-untyped-def]
    """The real scorer on the bundled bank with the shipped calibration."""
    from harness.scoring.scorer import Scorer

    return Scorer.load(bank, encoder=use_encoder, results_dir=Path("/nonexistent-results"))


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """shared/eval beside the checkout (CI lays it there)."""
    if not EVAL_DIR.is_dir():
        pytest.skip(f"{EVAL_DIR} not found: the human-graded eval sets sit beside the checkout")
    return EVAL_DIR
