"""An encoder for grading a cohort: remembers recent answer-side vectors in memory.

The scorer embeds every new answer and its clauses. Across the chunks of a
cohort many clauses recur inside differently worded answers ("CLIP 是双塔结构"
in a hundred answers), and `CachingEncoder` deduplicates only within one
call, so they would be embedded again in every chunk. This wrapper keeps the
last `max_texts` answer-side vectors (2 KB each for a 512-dimension model) in
a bounded LRU, so each text is embedded about once per run while memory stays
bounded. It applies to backends that embed answers and clauses as separate
texts (sentence-transformers); a backend with a grouped pass
(use-multilingual's `encode_grouped`, reached through `encode_answers`)
embeds each answer's clauses once per distinct answer, which grading already
deduplicates. Rubric vectors still go through the wrapped encoder's disk cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from harness.encoders.cache import CachingEncoder

DEFAULT_MAX_TEXTS = 10_000


class ReusingEncoder(CachingEncoder):
    """A `CachingEncoder` (the one given, shared) plus an in-memory LRU of answer-side vectors.

    Persisted (rubric) texts go to `base`, whose model and disk cache it
    shares; it never opens the disk cache itself.
    """

    def __init__(self, base: CachingEncoder, max_texts: int = DEFAULT_MAX_TEXTS) -> None:  # noqa: D107
        super().__init__(base.inner)
        self.base = base
        self.max_texts = max_texts
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embedded = 0
        self.reused = 0

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
        out = []
        for t in texts:
            v = found.get(t)
            if v is None:
                v = recent[t]
                recent.move_to_end(t)
            out.append(v)
        recent.update(found)
        while len(recent) > self.max_texts:
            recent.popitem(last=False)
        return np.stack(out)
