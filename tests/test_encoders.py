from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.encoders import canonical_name, get_encoder
from harness.errors import EmbedderError

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
def test_bundled_minilm_loads_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = get_encoder("st:all-MiniLM-L6-v2", cache_dir=tmp_path)
    assert enc.name == "st:all-MiniLM-L6-v2"
    v = enc.encode(["contrastive learning pulls positives together", "positive pairs are pulled closer", "a recipe"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_missing_st_model_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderError, match=r"cannot load sentence-transformers model '/nonexistent/model'"):
        get_encoder("st:/nonexistent/model", cache_dir=tmp_path)
