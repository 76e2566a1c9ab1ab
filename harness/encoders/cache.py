"""CachingEncoder: rubric-text vectors kept on disk, keyed by encoder and text.

A rubric is embedded once, not on every run. The cache is a SQLite file in
`$HARNESS_CACHE` (default: the per-user cache folder, see `harness.paths`), one row per (encoder config,
text) hash. Answers are deduplicated within a call but not persisted, so
memory stays flat however many answers pass through.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.encoders.base import AnswerVectors, Encoder, GroupedEncoder, encode_answers
from harness.paths import default_cache_dir


class CachingEncoder:
    """Holds an Encoder; `encode(texts, persist=True)` reads and fills the disk cache.

    `grouped` is the wrapped backend's one-pass clause embedding, if it has
    one (`get_encoder` passes `backend.grouped()`); `encode_answers` uses it.
    """

    def __init__(self, inner: Encoder, cache_dir: Path | None = None, *,
                 grouped: GroupedEncoder | None = None) -> None:
        self.inner = inner
        self.grouped = grouped
        self._prefix = json.dumps(inner.config(), sort_keys=True).encode()
        self._memory: dict[str, np.ndarray] = {}
        self._path = (cache_dir or default_cache_dir()) / "embeddings.sqlite"
        self._db: sqlite3.Connection | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def warm_up(self) -> None:
        """Load the model weights now."""
        self.inner.warm_up()

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

    def encode_answers(self, answers: Sequence[tuple[str, Sequence[str]]]) -> list[AnswerVectors]:
        """(answer vector, clause vectors) for each (answer, its clauses); not persisted.

        With a grouped backend (use-multilingual at the pinned version, a
        mean-pooling sentence-transformers model) both come from one pass over
        the clauses; otherwise answers and clauses are embedded in one batch.
        """
        return encode_answers(answers, encode=self.encode, grouped=self.grouped)

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
