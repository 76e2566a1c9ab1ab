"""The encoder interface every embedding backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

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


P = TypeVar("P")


class ClauseMemo(Protocol[P]):
    """Where a grouped pass may keep what it needs of each clause between calls (grading: a bounded LRU)."""

    def get(self, clause: str) -> P | None: ...

    def __setitem__(self, clause: str, parts: P) -> None: ...


def clause_parts(clauses: Sequence[str], compute: Callable[[list[str]], Sequence[P]],
                 memo: ClauseMemo[P] | None = None) -> dict[str, P]:
    """What a grouped pass needs of each distinct clause, from `memo` or computed once.

    `compute` gets the clauses not in `memo` (each once) and returns their
    parts in order, as arrays of their own (not views into a batch), since
    `memo` keeps them; the new parts go into `memo`.
    """
    distinct = list(dict.fromkeys(clauses))
    known: dict[str, P] = {}
    if memo is not None:
        for c in distinct:
            hit = memo.get(c)
            if hit is not None:
                known[c] = hit
    todo = [c for c in distinct if c not in known]
    if todo:
        fresh = dict(zip(todo, compute(todo), strict=True))
        known.update(fresh)
        if memo is not None:
            for c, parts in fresh.items():
                memo[c] = parts
    return known
