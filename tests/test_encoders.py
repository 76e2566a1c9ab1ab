from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.encoders import canonical_name, get_encoder
from harness.errors import EmbedderError
from harness.scoring.text import split_clauses

REPO = Path(__file__).resolve().parents[1]


def test_unknown_embedder_names_the_valid_ones() -> None:
    with pytest.raises(EmbedderError, match=r"unknown embedder 'use-multilingua'.*Did you mean 'use-multilingual'"):
        canonical_name("use-multilingua")


def test_use_vectors_are_unit_and_cross_lingual(use_encoder) -> None:  # type: ignore[no-untyped-def]
    v = use_encoder.encode(["CLIP 用对比学习训练", "CLIP is trained with contrastive learning", "我喜欢吃苹果"])
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_grouped_pass_gives_exact_clauses_and_close_answers(use_encoder) -> None:  # type: ignore[no-untyped-def]
    answer = "CLIP 是双塔结构，图像编码器是 ResNet 或 ViT，文本编码器是 Transformer。两者投影到同一空间。"
    clauses = ["CLIP 是双塔结构", "图像编码器是 ResNet 或 ViT", "文本编码器是 Transformer。", "两者投影到同一空间。"]
    (whole, clause_vecs), = use_encoder.encode_answers([(answer, clauses)])
    plain = use_encoder.encode([answer, *clauses])
    assert np.allclose(clause_vecs, plain[1:], atol=1e-4)
    assert float(whole @ plain[0]) > 0.95


def test_rubric_vectors_persist_across_encoders(tmp_path: Path) -> None:
    first = get_encoder("use-multilingual", cache_dir=tmp_path)
    v1 = first.encode(["对比学习"], persist=True)
    assert (tmp_path / "embeddings.sqlite").is_file()
    second = get_encoder("use-multilingual", cache_dir=tmp_path)
    second.inner.encode = None  # type: ignore[method-assign]  # would fail if called: must come from disk
    assert np.array_equal(second.encode(["对比学习"], persist=True), v1)


def test_default_backend_does_not_import_torch() -> None:
    code = ("import sys; from harness.encoders import get_encoder; get_encoder('use-multilingual').encode(['x']); "
            "print('sentence_transformers' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.slow
def test_bundled_minilm_loads_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = get_encoder("st:all-MiniLM-L6-v2", cache_dir=tmp_path)
    assert "Loading weights" not in capfd.readouterr().err  # no progress bar behind `grade --quiet`
    assert enc.name == "st:all-MiniLM-L6-v2"
    v = enc.encode(["contrastive learning pulls positives together", "positive pairs are pulled closer", "a recipe"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_missing_st_model_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderError, match=r"cannot load sentence-transformers model '/nonexistent/model'"):
        get_encoder("st:/nonexistent/model", cache_dir=tmp_path)


@pytest.fixture(scope="module")
def minilm(session_cache: Path):  # type: ignore[no-untyped-def]
    """The bundled MiniLM, loaded once for this module, offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield get_encoder("st:all-MiniLM-L6-v2", cache_dir=session_cache)


ENGLISH_ANSWERS = [
    "A prototype simulates portions of the final product. It lets the team test risky parts early, "
    "and it shows the customer what the program will do.",
    "Variables can remain private. The code is easily modified and reusable, as well as easily implemented.",
    "A constructor is called when an object is created; it initialises the members, and it has no return type.",
    "Encapsulation hides the data.",
]


@pytest.mark.slow
def test_st_grouped_pass_gives_exact_clauses_and_close_answers(minilm) -> None:  # type: ignore[no-untyped-def]
    assert minilm.grouped is minilm.inner and minilm.inner.grouped() is minilm.inner
    answers = [(a, split_clauses(a)) for a in ENGLISH_ANSWERS]
    assert [len(c) for _, c in answers] == [3, 3, 2, 1]
    pairs = minilm.encode_answers(answers)
    for (text, clauses), (whole, clause_vecs) in zip(answers, pairs):
        plain = minilm.inner.encode([text, *clauses])
        assert whole.shape == (384,) and whole.dtype == np.float32
        assert clause_vecs.shape == (len(clauses), 384) and clause_vecs.dtype == np.float32
        assert np.allclose(clause_vecs, plain[1:], atol=1e-5)
        assert np.allclose(np.linalg.norm(clause_vecs, axis=1), 1, atol=1e-5)
        assert abs(float(np.linalg.norm(whole)) - 1) < 1e-5
        # Attention stops at clause boundaries: on Mohler's 471 multi-clause answers the
        # cosine to the plainly embedded answer is 0.65 at worst, 0.91 at the median.
        assert float(whole @ plain[0]) > 0.6
        if len(clauses) == 1:  # one clause: its own [CLS]/[SEP] are the answer's, so the vector is exact
            assert np.allclose(whole, plain[0], atol=1e-5)


@pytest.mark.slow
def test_st_grouped_shapes_and_repeated_clauses(minilm) -> None:  # type: ignore[no-untyped-def]
    groups = [["the stack grows", "the heap is shared"], ["the stack grows"], []]
    whole, clauses = minilm.inner.encode_grouped(groups)
    assert whole.shape == (3, 384) and whole.dtype == np.float32
    assert [c.shape for c in clauses] == [(2, 384), (1, 384), (0, 384)]
    assert np.array_equal(clauses[0][0], clauses[1][0])
    assert not whole[2].any()  # an empty group has no text, so no direction


@pytest.mark.slow
def test_st_grouped_memo_reuses_clauses_across_calls(minilm) -> None:  # type: ignore[no-untyped-def]
    from harness.encoders.reuse import ReusingEncoder

    answers = [(a, split_clauses(a)) for a in ENGLISH_ANSWERS]
    reference = minilm.encode_answers(answers)
    reusing = ReusingEncoder(minilm)
    first = reusing.encode_answers(answers[:2])
    again = reusing.encode_answers(answers)  # the first two answers' clauses come from the memo
    assert reusing.clauses_reused == sum(len(c) for _, c in answers[:2])
    for (whole, clauses), (ref_whole, ref_clauses) in zip([*first, *again], [*reference[:2], *reference]):
        assert np.allclose(whole, ref_whole, atol=1e-5) and np.allclose(clauses, ref_clauses, atol=1e-5)


@pytest.mark.slow
def test_st_non_mean_pooling_cannot_group(minilm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bundled = minilm.inner._model
    cls_model = SentenceTransformer(modules=[bundled[0], Pooling(384, pooling_mode="cls"), Normalize()], device="cpu")
    cls_model.save(str(tmp_path / "cls-minilm"))
    enc = get_encoder(f"st:{tmp_path / 'cls-minilm'}", cache_dir=tmp_path)
    assert enc.grouped is None and enc.inner.grouped() is None
    text = ENGLISH_ANSWERS[0]
    (whole, clause_vecs), = enc.encode_answers([(text, split_clauses(text))])  # the plain fallback
    assert np.allclose(whole, enc.inner.encode([text])[0], atol=1e-5)
    with pytest.raises(EmbedderError, match="cannot pool clauses"):
        enc.inner.encode_grouped([["a clause"]])


def test_legacy_pooling_flags_are_read() -> None:
    from harness.encoders.st_enc import _mean_pooling

    class Legacy:
        def __init__(self, **flags: bool) -> None:
            self.flags = {"word_embedding_dimension": 384, **flags}

        def get_config_dict(self) -> dict[str, object]:
            return self.flags

    assert _mean_pooling(Legacy(pooling_mode_mean_tokens=True, pooling_mode_cls_token=False))
    assert not _mean_pooling(Legacy(pooling_mode_mean_tokens=True, pooling_mode_max_tokens=True))
    assert not _mean_pooling(Legacy(pooling_mode_cls_token=True))
