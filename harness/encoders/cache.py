"""CachingEncoder: rubric-text vectors kept on disk, keyed by encoder and text.

A rubric is embedded once, not on every run. The cache is a SQLite file in
`$HARNESS_CACHE` (default `~/.cache/harness`), one row per (encoder config,
text) hash. Answers are deduplicated within a call but not persisted, so
memory stays flat however many answers pass through.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.encoders.base import ClauseMemo, Encoder

CACHE_ENV = "HARNESS_CACHE"


def default_cache_dir() -> Path:
    """$HARNESS_CACHE, else ~/.cache/harness."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "harness"


class CachingEncoder:
    """Wraps an Encoder; `encode(texts, persist=True)` reads and fills the disk cache."""

    def __init__(self, inner: Encoder, cache_dir: Path | None = None) -> None:
        self.inner = inner
        self._prefix = json.dumps(inner.config(), sort_keys=True).encode()
        self._memory: dict[str, np.ndarray] = {}
        self._path = (cache_dir or default_cache_dir()) / "embeddings.sqlite"
        self._db: sqlite3.Connection | None = None
        self.clause_memo: ClauseMemo[Any] | None = None  # grading sets a bounded one (see cohort_encoder)

    @property
    def name(self) -> str:
        return self.inner.name

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def warm_up(self) -> None:
        """Load the model weights now."""
        warm = getattr(self.inner, "warm_up", None)
        if callable(warm):
            warm()

    def _key(self, text: str) -> str:
        return hashlib.sha256(self._prefix + b"\0" + text.encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
                db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
                self._db = db
            except sqlite3.Error:
                return None  # an unwritable or damaged cache only costs time
        return self._db

    def encode(self, texts: Sequence[str], *, persist: bool = False) -> np.ndarray:
        """Vectors for `texts`, each distinct text embedded at most once."""
        unique = list(dict.fromkeys(texts))
        keys = {t: self._key(t) for t in unique} if persist else {}
        found: dict[str, np.ndarray] = {}
        if persist:
            found = {t: self._memory[keys[t]] for t in unique if keys[t] in self._memory}
            missing = [t for t in unique if t not in found]
            found.update(self._load(missing, keys))
        todo = [t for t in unique if t not in found]
        if todo:
            fresh = self.inner.encode(todo)
            found.update(zip(todo, fresh))
            if persist:
                self._store({keys[t]: v for t, v in zip(todo, fresh)})
        if persist:
            self._memory.update((keys[t], found[t]) for t in unique)
        if not texts:
            return self.inner.encode([])
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def encode_answers(self, answers: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(answer vector, clause vectors) for each (answer, its clauses); not persisted.

        A backend that `can_group` (use-multilingual at the pinned version, a
        mean-pooling sentence-transformers model) gets both from one pass over
        the clauses, keeping what it needs of each clause in `clause_memo` if
        set; any other embeds answers and clauses in one batch.
        """
        if not answers:
            return []
        if getattr(self.inner, "can_group", False):
            groups = [list(c) for _, c in answers]
            whole, clauses = self.inner.encode_grouped(groups, memo=self.clause_memo)  # type: ignore[attr-defined]
            return list(zip(whole, clauses))
        texts = [t for text, clauses in answers for t in (text, *clauses)]
        vecs = dict(zip(texts, self.encode(texts)))
        return [(vecs[text], np.stack([vecs[c] for c in clauses])) for text, clauses in answers]

    def _load(self, texts: list[str], keys: dict[str, str]) -> dict[str, np.ndarray]:
        db = self._connect()
        if db is None or not texts:
            return {}
        by_key = {keys[t]: t for t in texts}
        out: dict[str, np.ndarray] = {}
        items = list(by_key)
        try:
            for i in range(0, len(items), 500):
                chunk = items[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                    out[by_key[key]] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error:
            return {}
        return out

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()],
                )
        except sqlite3.Error:
            pass  # the cache is an optimisation; failing to write it loses nothing
