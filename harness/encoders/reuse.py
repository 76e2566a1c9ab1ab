"""An encoder for grading a cohort: remembers recent answer-side work in memory.

The scorer embeds every new answer and its clauses. Across the chunks of a
cohort many clauses recur inside differently worded answers ("CLIP 是双塔结构"
in a hundred answers; candidates who learnt the same model answer), and
`CachingEncoder` deduplicates only within one call, so they would be embedded
again in every chunk. This wrapper keeps the last `max_texts` of them in a
bounded LRU, so each clause goes through the network about once per run while
memory stays bounded:

- a backend with a grouped pass that takes a memo (use-multilingual;
  sentence-transformers models with mean pooling, such as
  st:all-MiniLM-L6-v2): what the pass needs of each clause to rebuild the
  answer and clause vectors exactly (USE: its pooled sums before the head,
  4 KB; MiniLM: its vector, token sum and special tokens, about 6 KB);
- any other backend, which embeds answers and clauses as separate texts:
  their vectors.

Rubric vectors still go through the held `CachingEncoder` and its disk cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.encoders.base import AnswerVectors, encode_answers
from harness.encoders.cache import CachingEncoder

DEFAULT_MAX_TEXTS = 10_000


class LruMemo(OrderedDict[str, Any]):
    """A dict that keeps its `max_items` most recently used entries."""

    def __init__(self, max_items: int) -> None:  # noqa: D107
        super().__init__()
        self.max_items = max_items
        self.hits = 0

    def get(self, key: str, default: Any = None) -> Any:
        """The entry (now most recent), or `default`."""
        if key not in self:
            return default
        self.move_to_end(key)
        self.hits += 1
        return self[key]

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_items:
            self.popitem(last=False)


class ReusingEncoder:
    """Holds a `CachingEncoder` (the one given, shared) and remembers recent answer-side work in memory.

    Persisted (rubric) texts go to `base`, whose model and disk cache it
    shares; it never opens the disk cache itself.
    """

    def __init__(self, base: CachingEncoder, max_texts: int = DEFAULT_MAX_TEXTS,
                 max_clauses: int | None = None) -> None:
        """`max_texts` answer-side vectors and `max_clauses` clauses' parts (default: `max_texts`; 0: none) are kept."""
        self.base = base
        self.max_texts = max_texts
        self._recent = LruMemo(max_texts)
        clauses = max_texts if max_clauses is None else max_clauses
        self.clause_memo = LruMemo(clauses) if clauses > 0 else None
        self.embedded = 0
        self.reused = 0

    @property
    def name(self) -> str:
        return self.base.name

    def config(self) -> dict[str, Any]:
        return self.base.config()

    def warm_up(self) -> None:
        """Load the model weights now."""
        self.base.warm_up()

    @property
    def clauses_reused(self) -> int:
        """Clauses whose parts came from the memo rather than the network (grouped backends)."""
        return self.clause_memo.hits if self.clause_memo is not None else 0

    def encode(self, texts: Sequence[str], *, persist: bool = False) -> np.ndarray:
        """Vectors for `texts`; answer-side texts seen recently are not embedded again."""
        if persist or not texts:
            return self.base.encode(texts, persist=persist)
        recent = self._recent
        missing = [t for t in dict.fromkeys(texts) if t not in recent]
        self.reused += len(texts) - len(missing)
        found: dict[str, np.ndarray] = {}
        if missing:
            vectors = self.base.encode(missing)
            self.embedded += len(missing)
            found = {t: np.array(v, dtype=np.float32) for t, v in zip(missing, vectors, strict=True)}
        out = [found[t] if t in found else recent.get(t) for t in texts]
        recent.update(found)
        return np.stack(out)

    def encode_answers(self, answers: Sequence[tuple[str, Sequence[str]]]) -> list[AnswerVectors]:
        """(answer vector, clause vectors) for each (answer, its clauses).

        A grouped backend keeps each clause's parts in `clause_memo`; any other
        embeds answers and clauses through `encode`, so recent ones are reused.
        """
        return encode_answers(answers, encode=self.encode, grouped=self.base.grouped, memo=self.clause_memo)
