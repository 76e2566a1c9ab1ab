"""The encoder contracts: a plain Encoder works through both wrappers; the grouped pass is used exactly when given."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.encoders import ENCODERS, canonical_name, get_encoder
from harness.encoders.base import Backend, ClauseMemo, Encoder, GroupedEncoder, ScoringEncoder
from harness.encoders.cache import CachingEncoder
from harness.encoders.reuse import ReusingEncoder
from harness.errors import EmbedderError

ANSWERS = [("a b", ("a", "b")), ("ccc", ("ccc",))]


class PlainFake:
    """Implements `Encoder` and nothing else: a text's vector is (its length, 1)."""

    name = "plain-fake"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.warmed = 0

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    def warm_up(self) -> None:
        self.warmed += 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += texts
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)


class GroupedFake(PlainFake):
    """A `Backend` with a grouped pass: an answer's vector is (its clauses' total length, 0)."""

    name = "grouped-fake"

    def __init__(self, model: str = "") -> None:
        super().__init__()
        self.model = model
        self.groups: list[list[list[str]]] = []
        self.memos: list[ClauseMemo[Any] | None] = []

    def grouped(self) -> GroupedEncoder | None:
        return None if self.model == "no-group" else self

    def encode_grouped(self, groups: Sequence[Sequence[str]],
                       memo: ClauseMemo[Any] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        self.groups.append([list(g) for g in groups])
        self.memos.append(memo)
        whole = np.array([[sum(map(len, g)), 0.0] for g in groups], dtype=np.float32)
        return whole, [np.array([[len(c), 1.0] for c in g], dtype=np.float32) for g in groups]


def test_fakes_satisfy_the_protocols(tmp_path: Path) -> None:
    plain: Encoder = PlainFake()
    backend: Backend = GroupedFake()
    caching: ScoringEncoder = CachingEncoder(plain, tmp_path)
    reusing: ScoringEncoder = ReusingEncoder(CachingEncoder(backend, tmp_path))
    assert (caching.name, reusing.name) == ("plain-fake", "grouped-fake")


@pytest.mark.parametrize("wrap", ["caching", "reusing"])
def test_a_plain_encoder_works_through_both_wrappers(tmp_path: Path, wrap: str) -> None:
    fake = PlainFake()
    caching = CachingEncoder(fake, tmp_path)
    enc: ScoringEncoder = caching if wrap == "caching" else ReusingEncoder(caching)
    enc.warm_up()
    got = enc.encode_answers(ANSWERS)
    assert fake.warmed == 1
    assert sorted(fake.texts) == ["a", "a b", "b", "ccc"]  # answers and clauses embedded plainly, each once
    assert [w.tolist() for w, _ in got] == [[3, 1], [3, 1]]
    assert [c.tolist() for _, c in got] == [[[1, 1], [1, 1]], [[3, 1]]]
    assert enc.encode_answers([]) == []
    assert enc.encode([], persist=False).shape == (0, 2)
    assert enc.encode(["rubric"], persist=True).tolist() == [[6, 1]]
    assert (tmp_path / "embeddings.sqlite").is_file()
    assert (enc.name, enc.config()) == ("plain-fake", {"name": "plain-fake"})


def test_reusing_encoder_embeds_a_recent_answer_once(tmp_path: Path) -> None:
    fake = PlainFake()
    enc = ReusingEncoder(CachingEncoder(fake, tmp_path))
    first = enc.encode_answers(ANSWERS)
    again = enc.encode_answers(ANSWERS)
    assert len(fake.texts) == 4 and (enc.embedded, enc.reused) == (4, 6)  # "ccc" is answer and clause
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert enc.clauses_reused == 0  # no grouped pass, so the clause memo is never consulted


def test_caching_encoder_uses_the_grouped_pass_exactly_when_given(tmp_path: Path) -> None:
    backend = GroupedFake()
    with_pass = CachingEncoder(backend, tmp_path, grouped=backend.grouped())
    got = with_pass.encode_answers(ANSWERS)
    assert backend.groups == [[["a", "b"], ["ccc"]]] and backend.memos == [None] and backend.texts == []
    assert [w.tolist() for w, _ in got] == [[2, 0], [3, 0]]
    without = CachingEncoder(backend, tmp_path)  # a backend able to group is not probed for it
    assert [w.tolist() for w, _ in without.encode_answers(ANSWERS)] == [[3, 1], [3, 1]]
    assert len(backend.groups) == 1 and sorted(backend.texts) == ["a", "a b", "b", "ccc"]


def test_reusing_encoder_hands_its_clause_memo_to_the_grouped_pass(tmp_path: Path) -> None:
    backend = GroupedFake()
    enc = ReusingEncoder(CachingEncoder(backend, tmp_path, grouped=backend), max_texts=5, max_clauses=3)
    enc.encode_answers(ANSWERS)
    assert backend.memos == [enc.clause_memo] and enc.clause_memo is not None
    assert enc.clause_memo.max_items == 3 and backend.texts == []
    no_memo = ReusingEncoder(CachingEncoder(backend, tmp_path, grouped=backend), max_clauses=0)
    no_memo.encode_answers(ANSWERS)
    assert backend.memos[-1] is None and no_memo.clauses_reused == 0


def test_the_constructor_takes_the_base_lazily() -> None:
    """`harness grade` tests wrap a stand-in; building the wrapper must not call into it."""
    enc = ReusingEncoder(object(), max_texts=2)  # type: ignore[arg-type]
    assert enc.max_texts == 2 and enc.clause_memo is not None and enc.clause_memo.max_items == 2


def test_get_encoder_passes_the_backends_own_grouped_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENCODERS, "fake:", f"{__name__}:GroupedFake")
    grouping = get_encoder("fake:yes", cache_dir=tmp_path)
    assert isinstance(grouping.inner, GroupedFake) and grouping.inner.model == "yes"
    assert grouping.grouped is grouping.inner
    assert get_encoder("fake:no-group", cache_dir=tmp_path).grouped is None
    with pytest.raises(EmbedderError, match=r"choose one of: .*fake:NAME_OR_PATH.*Did you mean 'fake:NAME_OR_PATH'"):
        canonical_name("fake:")


def test_use_groups_only_at_the_pinned_version(use_encoder: CachingEncoder, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    backend = use_encoder.inner
    assert use_encoder.grouped is backend and backend.grouped() is backend  # type: ignore[attr-defined]
    monkeypatch.setattr(backend, "_version", "9.9.9")
    assert backend.grouped() is None  # type: ignore[attr-defined]
    with pytest.raises(EmbedderError, match=r"use-multilingual 9.9.9 cannot pool clauses"):
        backend.encode_grouped([["a clause"]])  # type: ignore[attr-defined]
    text = "CLIP 是双塔结构，它用对比学习训练。"
    plain = CachingEncoder(backend, tmp_path, grouped=backend.grouped())  # type: ignore[attr-defined]
    (whole, clauses), = plain.encode_answers([(text, ("CLIP 是双塔结构", "它用对比学习训练。"))])
    assert np.allclose(whole, backend.encode([text])[0], atol=1e-5)  # embedded whole, not pooled from clauses
    monkeypatch.undo()
    (pooled, _), = use_encoder.encode_answers([(text, ("CLIP 是双塔结构", "它用对比学习训练。"))])
    assert not np.allclose(whole, pooled, atol=1e-3)  # which the pinned version would have done
    assert clauses.shape == (2, 512)
