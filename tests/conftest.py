"""Shared fixtures: isolated cache and results folders, one scorer per session."""

from __future__ import annotations

import io
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.bank.loader import load_bank
from harness.practice import store
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


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `harness ARGS...` in this process; returns (exit code, stdout, stderr).

    `stdin=TEXT` gives the command that text on standard input (piped).
    """
    from harness.cli import main

    def invoke(*args: str | Path, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def fake_scorer(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make the CLI's scorer a keyword FakeScorer (tests/grade_helpers.py) and its embedder a stub.

    The list collects the scorers built; each has `load_kwargs`, what `Scorer.load` was asked for.
    """
    from grade_helpers import FakeScorer

    import harness.encoders
    from harness.scoring.scorer import Scorer

    made: list[Any] = []

    def load(bank: Bank, **kw: Any) -> FakeScorer:
        scorer = FakeScorer(bank)
        scorer.load_kwargs = kw  # type: ignore[attr-defined]
        made.append(scorer)
        return scorer

    monkeypatch.setattr(Scorer, "load", staticmethod(load))
    backend = SimpleNamespace(name="fake", config=lambda: {"name": "fake"})
    monkeypatch.setattr(harness.encoders, "get_encoder", lambda name, **kw: SimpleNamespace(inner=backend))
    return made


@pytest.fixture(scope="module")
def answer_bank() -> Bank:
    """The practice tests' small bank (tests/data/answer)."""
    return load_bank(Path(__file__).parent / "data" / "answer")


@pytest.fixture
def fresh_db() -> Iterator[sqlite3.Connection]:
    """An empty practice store in memory."""
    conn = store.connect(":memory:")
    yield conn
    conn.close()
