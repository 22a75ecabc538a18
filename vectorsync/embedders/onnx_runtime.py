"""Run an exported sentence-transformers model with ONNX Runtime: same tokenizer, same length-sorted batches."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# ONNX Runtime on a CPU runs fastest with small batches whose size grows with its threads: on 2 cores long texts
# one or two at a time and short ones about 16 to a batch; on 16 cores batches 8 to 16 times as large ran 1.7 to
# 1.8x faster than the 2-core sizes (benchmarks/README.md). Its memory arena also keeps the largest batch's
# activations. So a batch holds at most TEXTS_PER_THREAD texts and CHARS_PER_THREAD padded characters per thread.
TEXTS_PER_THREAD = 8
CHARS_PER_THREAD = 1_024


class OnnxSentenceEncoder:
    """An ONNX sentence-embedding graph with the model's own tokenizer; `encode` mirrors `SentenceTransformer.encode`.

    >>> encoder = OnnxSentenceEncoder(export_int8(...), tokenizer_path, max_seq_length=256)
    >>> encoder.encode(["a sentence"], normalize_embeddings=True).shape
    (1, 384)
    """

    def __init__(
        self,
        model_file: str | Path,
        tokenizer_path: str,
        max_seq_length: int,
        *,
        truncate_dim: int | None = None,
        revision: str | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning workers burn the CPU time that a shared or oversubscribed machine needs elsewhere.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            # Several encoders sharing a machine each take a share of its cores; by default one takes them all.
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._threads = threads or os.cpu_count() or 1
        self._inputs = [item.name for item in self._session.get_inputs()]
        self._tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, revision=revision)
        self.max_seq_length = max_seq_length
        self.truncate_dim = truncate_dim

    def get_embedding_dimension(self) -> int:
        """Output size, read from the graph (or the truncation)."""
        native = self._session.get_outputs()[0].shape[-1]
        size = native if isinstance(native, int) else self.encode(["dimension probe"]).shape[1]
        return min(size, self.truncate_dim) if self.truncate_dim else size

    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        convert_to_numpy: bool = True,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """Embed `sentences` in batches of similar length, small for long texts; rows keep their order.

        `convert_to_numpy` and `show_progress_bar` are accepted so callers treat both runtimes alike;
        runtime failures are raised as `RuntimeError`, as torch raises them.
        """
        vectors: np.ndarray | None = None
        max_texts = min(batch_size, TEXTS_PER_THREAD * self._threads)
        for picked in padded_batches([len(text) for text in sentences], max_texts, CHARS_PER_THREAD * self._threads):
            batch = self._run([sentences[i] for i in picked])
            if vectors is None:
                vectors = np.empty((len(sentences), batch.shape[1]), dtype=np.float32)
            vectors[picked] = batch
        if vectors is None:
            return np.zeros((0, self.get_embedding_dimension()), dtype=np.float32)
        if self.truncate_dim:
            vectors = vectors[:, : self.truncate_dim]
        if normalize_embeddings:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors.astype(np.float32, copy=False)

    def _run(self, texts: list[str]) -> np.ndarray:
        features = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="np"
        )
        feed = {name: np.asarray(features[name], dtype=np.int64) for name in self._inputs}
        try:
            return self._session.run(None, feed)[0]
        except Exception as exc:  # onnxruntime's errors share no base class below Exception
            raise RuntimeError(f"ONNX Runtime: {exc}") from exc


def padded_batches(lengths: Sequence[int], max_texts: int, max_chars: int) -> list[list[int]]:
    """Indices grouped longest first, each group at most `max_texts` long and `max_chars` once padded (or one text)."""
    groups: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        group = groups[-1] if groups else None
        if group is None or len(group) >= max_texts or (len(group) + 1) * lengths[group[0]] > max_chars:
            groups.append([index])
        else:
            group.append(index)
    return groups
