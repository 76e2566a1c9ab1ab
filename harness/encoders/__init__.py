"""Embedding backends behind one interface, chosen by name.

`use-multilingual` (default, bundled, numpy only) or `st:NAME_OR_PATH`
(sentence-transformers, imported only when chosen).
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

from harness.encoders.base import Encoder
from harness.encoders.cache import CachingEncoder
from harness.errors import EmbedderError

DEFAULT_EMBEDDER = "use-multilingual"
# name -> "module:Class"; imported lazily so torch loads only for st:.
ENCODERS: dict[str, str] = {
    "use-multilingual": "harness.encoders.use_enc:UseMultilingual",
    "st": "harness.encoders.st_enc:SentenceTransformerEncoder",
}
KNOWN_NAMES = ("use-multilingual", "st:all-MiniLM-L6-v2", "st:NAME_OR_PATH")


def canonical_name(name: str) -> str:
    """The embedder id as stored: `st:` names keep their model part as given.

    Raises:
        EmbedderError: an unknown name, with the closest valid one.
    """
    name = name.strip()
    if name in ENCODERS and name != "st":
        return name
    if name.startswith("st:") and len(name) > 3:
        return name
    close = difflib.get_close_matches(name, KNOWN_NAMES, n=1, cutoff=0.4)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise EmbedderError(f"unknown embedder {name!r}; choose one of: {', '.join(KNOWN_NAMES)}.{hint}")


def get_encoder(name: str = DEFAULT_EMBEDDER, *, cache_dir: Path | None = None) -> CachingEncoder:
    """Build the named encoder, wrapped in the rubric-vector cache.

    Raises:
        EmbedderError: unknown name, missing package, or a model that cannot be loaded.
    """
    name = canonical_name(name)
    key, _, model = name.partition(":")
    module, cls = ENCODERS[key].split(":")
    backend = getattr(importlib.import_module(module), cls)
    inner: Encoder = backend(model) if model else backend()
    return CachingEncoder(inner, cache_dir)


__all__ = ["DEFAULT_EMBEDDER", "Encoder", "CachingEncoder", "canonical_name", "get_encoder"]
