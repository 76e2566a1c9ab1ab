"""The encoder interface every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text, in input order."""

    @property
    def name(self) -> str:
        """Stable id stored with every score, e.g. `use-multilingual`."""
        ...

    def config(self) -> dict[str, Any]:
        """What identifies this encoder's vectors (name, model version, dim)."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> float32 array (len(texts), dim), rows L2-normalised."""
        ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
