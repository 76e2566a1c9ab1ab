"""Embedding backends behind one interface, chosen by name.

`use-multilingual` (default, bundled, numpy only) or `st:NAME_OR_PATH`
(sentence-transformers, imported only when chosen). To add an embedder,
write a class implementing `base.Backend` in a module of its own and add one
line to `ENCODERS`.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

from harness.encoders.base import Backend, Encoder, GroupedEncoder, ScoringEncoder
from harness.encoders.cache import CachingEncoder
from harness.errors import EmbedderError

DEFAULT_EMBEDDER = "use-multilingual"
# The one place to add an embedder: name -> "module:Class", imported only when chosen (torch only for st:).
# A name ending in ":" takes a model after it (`st:all-MiniLM-L6-v2`), passed to the class.
ENCODERS: dict[str, str] = {
    "use-multilingual": "harness.encoders.use_enc:UseMultilingual",
    "st:": "harness.encoders.st_enc:SentenceTransformerEncoder",
}
EXAMPLES = ("st:all-MiniLM-L6-v2",)  # offered beside the registry's names in "did you mean"


def known_names() -> tuple[str, ...]:
    """Every name a user may give: the registry's, an example model, and `PREFIX:NAME_OR_PATH`."""
    fixed = [k for k in ENCODERS if not k.endswith(":")]
    prefixed = [f"{k}NAME_OR_PATH" for k in ENCODERS if k.endswith(":")]
    return (*fixed, *EXAMPLES, *prefixed)


def _split(name: str) -> tuple[str, str] | None:
    """(registry key, model) for a valid name, else None."""
    if name in ENCODERS and not name.endswith(":"):
        return name, ""
    prefix, sep, model = name.partition(":")
    if sep and model and prefix + sep in ENCODERS:
        return prefix + sep, model
    return None


def canonical_name(name: str) -> str:
    """The embedder id as stored: `st:` names keep their model part as given.

    Raises:
        EmbedderError: an unknown name, with the closest valid one.
    """
    name = name.strip()
    if _split(name) is not None:
        return name
    valid = known_names()
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.4)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise EmbedderError(f"unknown embedder {name!r}; choose one of: {', '.join(valid)}.{hint}")


def get_encoder(name: str = DEFAULT_EMBEDDER, *, cache_dir: Path | None = None) -> CachingEncoder:
    """Build the named backend, held by the disk cache with its grouped pass if it has one.

    Raises:
        EmbedderError: unknown name, missing package, or a model that cannot be loaded.
    """
    key, model = _split(canonical_name(name)) or ("", "")
    module, cls = ENCODERS[key].split(":")
    backend_class = getattr(importlib.import_module(module), cls)  # the registered class, by its name
    backend: Backend = backend_class(model) if model else backend_class()
    return CachingEncoder(backend, cache_dir, grouped=backend.grouped())


__all__ = ["DEFAULT_EMBEDDER", "ENCODERS", "Backend", "CachingEncoder", "Encoder", "GroupedEncoder",
           "ScoringEncoder", "canonical_name", "get_encoder", "known_names"]
