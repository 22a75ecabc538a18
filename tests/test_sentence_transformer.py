"""The local embedder's runtime choices, read from its identity (no GPU needed: nothing is loaded)."""

from __future__ import annotations

from vectorsync.embedders.sentence_transformer import CUDA_BATCH_SIZE, SentenceTransformerEmbedder


def test_cuda_device_runs_float16_in_large_batches_and_says_so_in_its_identity():
    on_gpu = SentenceTransformerEmbedder(device="cuda", batch_size=32, backend="torch")
    assert on_gpu.half and on_gpu.batch_size == CUDA_BATCH_SIZE
    assert "precision=float16:backend=torch:cuda" in on_gpu.identity
    assert not on_gpu.loaded, "choosing the precision loads no model"


def test_cpu_torch_stays_float32_so_stored_vectors_keep_their_fingerprints():
    on_cpu = SentenceTransformerEmbedder(device="cpu", backend="torch")
    assert not on_cpu.half and "precision=float32:backend=torch" in on_cpu.identity
