"""The int8 ONNX backend: which CPUs get it, how it names itself, and that its vectors stay close to float32."""

from __future__ import annotations

import platform
from collections import Counter

import numpy as np
import pytest

from vectorsync.embedders import onnx_export
from vectorsync.embedders.onnx_export import _fuse, auto_backend, cpu_quantization_target, export_path, onnx_available
from vectorsync.embedders.onnx_runtime import OnnxSentenceEncoder
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

x86 = pytest.mark.skipif(platform.machine().lower() in {"arm64", "aarch64"}, reason="reads x86 CPU flags")
needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime and onnx are not installed")

TEXTS = [
    "Honey bees live in colonies with one queen and thousands of workers.",
    "A black hole is a region of spacetime where gravity lets nothing escape.",
    "The Sicilian Defence answers 1.e4 with c5. " * 40,
    "ok",
]
# Texts of 1 to about 60 tokens: short enough to share one batch with the encoder's default limits.
MIXED_LENGTHS = [
    "yes",
    "Error 404",
    "Wolves returned to Yellowstone in 1995.",
    "How do I reset my password if I no longer have access to my email account?",
    "Whisk the eggs with the sugar until pale and thick, then fold in the flour and bake for twenty minutes.",
    "In a randomised trial of 120 adults with moderate asthma, inhaled budesonide improved FEV1 by 180 ml over "
    "24 weeks against placebo, with similar adverse events in both groups and no change in exacerbations.",
]


@x86
def test_cpu_target_prefers_vnni_then_avx2_and_refuses_older_cpus():
    assert cpu_quantization_target("flags\t: fpu sse2 avx2 avx512f avx512_vnni\n") == "avx512_vnni"
    assert cpu_quantization_target("flags\t: fpu sse2 avx avx2\n") == "avx2"
    assert cpu_quantization_target("flags\t: fpu sse2 sse4_2\n") is None


def test_auto_keeps_torch_on_an_explicit_gpu_device():
    assert auto_backend("cuda") == "torch"
    assert auto_backend("mps") == "torch"


def test_int8_identity_differs_from_float32_without_loading_anything(tmp_path):
    int8 = SentenceTransformerEmbedder(backend="onnx", onnx_cache=tmp_path)
    fp32 = SentenceTransformerEmbedder(backend="torch")
    assert "precision=int8:backend=onnx" in int8.identity
    assert "precision=float32:backend=torch" in fp32.identity
    assert not int8.loaded and not any(tmp_path.iterdir())


def test_a_new_export_recipe_changes_the_identity_and_the_cached_file(tmp_path, monkeypatch):
    embedder = SentenceTransformerEmbedder(backend="onnx", onnx_cache=tmp_path)
    current = embedder.identity, export_path("m", "/models/m", "avx2", None, tmp_path)
    monkeypatch.setattr(onnx_export, "RECIPE", onnx_export.RECIPE - 1)
    monkeypatch.setattr("vectorsync.embedders.sentence_transformer.RECIPE", onnx_export.RECIPE)
    older = embedder.identity, export_path("m", "/models/m", "avx2", None, tmp_path)
    # Vectors stored under the older identity are re-embedded; the older export is not reused.
    assert current[0] != older[0] and current[1] != older[1]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """One export for this module's tests: exporting takes seconds."""
    return tmp_path_factory.mktemp("onnx")


@needs_onnx
def test_int8_vectors_stay_close_to_float32_and_the_export_is_reused(embedder, onnx_cache):
    int8 = SentenceTransformerEmbedder(backend="onnx", onnx_cache=onnx_cache)
    vectors = int8.encode(TEXTS)
    (exported,) = onnx_cache.rglob("*.onnx")
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert ((vectors * embedder.encode(TEXTS)).sum(axis=1) > 0.95).all()

    modified = exported.stat().st_mtime_ns
    again = SentenceTransformerEmbedder(backend="onnx", onnx_cache=onnx_cache, truncate_dim=128)
    short = again.encode(TEXTS[:1])
    assert exported.stat().st_mtime_ns == modified
    assert short.shape == (1, 128) and np.isclose(np.linalg.norm(short), 1.0, atol=1e-5)
    assert again.dimensions == 128 and int8.encode([]).shape == (0, 384)


@needs_onnx
def test_export_runs_attention_and_layer_norms_in_onnx_runtime_fused_int8_kernels(onnx_cache):
    import onnx

    SentenceTransformerEmbedder(backend="onnx", onnx_cache=onnx_cache).encode(TEXTS[:1])
    (exported,) = onnx_cache.rglob("*.onnx")
    operators = Counter(node.op_type for node in onnx.load(str(exported)).graph.node)
    # all-MiniLM-L6-v2 has 6 layers: one quantised attention and two skip layer norms each.
    assert operators["QAttention"] == 6 and operators["SkipLayerNormalization"] == 12
    assert operators["Softmax"] == 0
    # Activations are quantised with the scales calibrated at export, never by their range in a batch, and the
    # other matrix products stay single int8 kernels.
    assert operators["QuantizeLinear"] == 24 and operators["DynamicQuantizeLinear"] == 0
    assert operators["MatMulIntegerToFloat"] == 18 and operators["MatMulInteger"] == 0


@needs_onnx
def test_a_text_gets_the_same_int8_vector_alone_as_batched_with_texts_of_other_lengths(onnx_cache):
    embedder = SentenceTransformerEmbedder(backend="onnx", onnx_cache=onnx_cache)
    texts = [*TEXTS, *MIXED_LENGTHS]
    batched = embedder.encode(texts)
    alone = np.concatenate([embedder.encode([text]) for text in texts])
    assert (batched * alone).sum(axis=1).min() >= 0.9999


@needs_onnx
def test_an_encoder_limited_to_one_thread_gives_the_same_vectors(onnx_cache):
    embedder = SentenceTransformerEmbedder(backend="onnx", onnx_cache=onnx_cache)
    embedder.encode(TEXTS[:1])
    (exported,) = onnx_cache.rglob("*.onnx")
    encoders = [OnnxSentenceEncoder(exported, embedder.path, 256, threads=n) for n in (1, None)]
    # Batches grow with the thread count; activation scales fixed at export make them not matter.
    single, default = (encoder.encode(TEXTS) for encoder in encoders)
    assert np.allclose(single, default, atol=1e-6)


@needs_onnx
def test_a_graph_the_optimizer_cannot_fuse_is_quantised_unfused_with_a_warning(tmp_path, caplog):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"not a graph the optimizer can read")
    assert not _fuse(source, tmp_path / "fused.onnx", {}, heads=0, hidden=0)
    assert "keeping the unfused graph" in caplog.text
