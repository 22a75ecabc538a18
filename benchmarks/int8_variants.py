"""The int8 encoders that benchmarks set beside vectorsync's: the per-batch recipe it replaced, and OpenVINO + NNCF.

`dynamic_int8_encoder` rebuilds export recipe 2 (the same fused graph, activations scaled by each batch's range)
from the export's own steps. `openvino_encoder` quantises the plain float graph with NNCF's static
post-training quantisation on vectorsync's calibration sample and runs it with OpenVINO on the CPU; it needs
`pip install openvino nncf`, which vectorsync does not depend on. Both batch texts as vectorsync's encoder does.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]


def dynamic_int8_encoder(model_path: str) -> Encode:
    """Recipe 2: the fused int8 graph with activation scales computed per batch (exported into a temporary folder)."""
    from vectorsync.embedders import onnx_export
    from vectorsync.embedders.onnx_runtime import OnnxSentenceEncoder

    folder = Path(tempfile.mkdtemp(prefix="vectorsync-int8-dynamic-"))
    model = onnx_export._load_torch_model(model_path, None)
    plain, fused, int8 = folder / "model.onnx", folder / "fused.onnx", folder / "int8.onnx"
    onnx_export._export_fp32(model, plain)
    probe = onnx_export._tokenize(model, list(onnx_export.PROBE_TEXTS))
    source = fused if onnx_export._fuse(plain, fused, probe, *onnx_export._attention_shape(model)) else plain
    onnx_export._quantize(source, int8, onnx_export.cpu_quantization_target() or "avx2")
    encoder = OnnxSentenceEncoder(int8, model_path, model.max_seq_length)
    return lambda texts: encoder.encode(list(texts), normalize_embeddings=True)


def openvino_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "nncf"))


def openvino_encoder(model_path: str) -> Encode:
    """The plain float graph quantised by NNCF (static, transformer preset) on the calibration sample, on OpenVINO."""
    import nncf
    import openvino

    from vectorsync.embedders import onnx_export
    from vectorsync.embedders.onnx_calibration import calibration_texts

    folder = Path(tempfile.mkdtemp(prefix="vectorsync-openvino-"))
    model = onnx_export._load_torch_model(model_path, None)
    onnx_export._export_fp32(model, folder / "model.onnx")
    core = openvino.Core()
    graph = core.read_model(str(folder / "model.onnx"))
    sample = [onnx_export._tokenize(model, [text]) for text in calibration_texts()]
    quantized = nncf.quantize(
        graph, nncf.Dataset(sample), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(sample)
    )
    compiled = core.compile_model(quantized, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    names = [port.get_any_name() for port in compiled.inputs]
    return _batched(lambda feed: compiled({name: feed[name] for name in names})[0], model)


def _batched(run: Callable[[dict[str, np.ndarray]], Any], model: Any) -> Encode:
    """Length-sorted batches within vectorsync's ONNX limits, rows back in input order, normalised."""
    from vectorsync.embedders import onnx_export
    from vectorsync.embedders.onnx_runtime import CHARS_PER_THREAD, TEXTS_PER_THREAD, padded_batches

    threads = os.cpu_count() or 1

    def encode(texts: Sequence[str]) -> np.ndarray:
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for picked in padded_batches([len(t) for t in texts], TEXTS_PER_THREAD * threads, CHARS_PER_THREAD * threads):
            batch = np.asarray(run(onnx_export._tokenize(model, [texts[i] for i in picked])), dtype=np.float32)
            if vectors.shape[1] == 0:
                vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[picked] = batch
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    return encode


def alone_vs_batched(encode: Encode, texts: Sequence[str]) -> np.ndarray:
    """Each text's cosine between its vector embedded alone and embedded in one call with all of `texts`."""
    batched = encode(texts)
    alone = np.concatenate([encode([text]) for text in texts])
    return np.asarray((batched * alone).sum(axis=1) / np.linalg.norm(alone, axis=1) / np.linalg.norm(batched, axis=1))
