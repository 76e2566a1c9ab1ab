"""The contracts between backends, wrappers and the scorer, and the helpers they share.

- `Encoder`: what every backend implements (texts -> unit vectors).
- `GroupedEncoder`: the optional one-pass clause embedding (an answer's vector
  and its clauses' vectors from one pass over the clauses).
- `Backend`: what the registry builds: an `Encoder` that says, per model,
  whether it has a grouped pass (`grouped()` returns it, or None).
- `ScoringEncoder`: what the scorer calls; `CachingEncoder` (disk cache) and
  `ReusingEncoder` (in-run reuse) implement it by holding what they wrap.

A capability is passed in explicitly (`CachingEncoder(inner, grouped=...)`),
never discovered by probing attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

AnswerVectors = tuple[np.ndarray, np.ndarray]
"""An answer's vector (dim,) and its clauses' vectors (n_clauses, dim)."""


class Encoder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text, in input order."""

    @property
    def name(self) -> str:
        """Stable id stored with every score, e.g. `use-multilingual`."""
        ...

    def config(self) -> dict[str, Any]:
        """What identifies this encoder's vectors (name, model version, dim)."""
        ...

    def warm_up(self) -> None:
        """Load the weights now rather than on the first encode (may do nothing)."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> float32 array (len(texts), dim), rows L2-normalised."""
        ...


P = TypeVar("P")


class ClauseMemo(Protocol[P]):
    """Where a grouped pass may keep what it needs of each clause between calls (grading: a bounded LRU)."""

    def get(self, clause: str) -> P | None: ...

    def __setitem__(self, clause: str, parts: P) -> None: ...


class GroupedEncoder(Protocol):
    """An answer's vector and its clauses' vectors from one pass over the clauses."""

    def encode_grouped(self, groups: Sequence[Sequence[str]],
                       memo: ClauseMemo[Any] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """(one unit vector per group, each group's clause vectors (n_clauses, dim)).

        Each group is one answer's clauses, in order. `memo`, if given, keeps
        what the pass needs of each clause, so a clause seen before is not run
        through the network again; results are the same with or without it.
        """
        ...


class Backend(Encoder, Protocol):
    """What the registry builds: an encoder that says whether it has a grouped pass."""

    def grouped(self) -> GroupedEncoder | None:
        """The model's one-pass clause embedding, or None where it would not reproduce the model."""
        ...


class ScoringEncoder(Encoder, Protocol):
    """What the scorer calls: rubric texts may be persisted, answers come with their clauses."""

    def encode(self, texts: Sequence[str], *, persist: bool = False) -> np.ndarray:
        """Vectors for `texts`; `persist` keeps them on disk (rubric texts)."""
        ...

    def encode_answers(self, answers: Sequence[tuple[str, Sequence[str]]]) -> list[AnswerVectors]:
        """(answer vector, clause vectors) for each (answer, its clauses); never persisted."""
        ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return out


def encode_answers(answers: Sequence[tuple[str, Sequence[str]]], *, encode: Callable[[list[str]], np.ndarray],
                   grouped: GroupedEncoder | None, memo: ClauseMemo[Any] | None = None) -> list[AnswerVectors]:
    """(answer vector, clause vectors) for each (answer, its clauses).

    With a grouped pass, both come from one pass over the clauses (keeping
    clause parts in `memo`); without one, answers and clauses are embedded
    together by `encode` as separate texts.
    """
    if not answers:
        return []
    if grouped is not None:
        whole, clauses = grouped.encode_grouped([list(c) for _, c in answers], memo=memo)
        return list(zip(whole, clauses))
    texts = [t for text, clauses in answers for t in (text, *clauses)]
    vecs = dict(zip(texts, encode(texts)))
    return [(vecs[text], np.stack([vecs[c] for c in clauses])) for text, clauses in answers]


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
