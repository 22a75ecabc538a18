"""Export a sentence-transformers model to ONNX with int8 weights, once per model and CPU family, cached on disk.

sentence-transformers' own exporter needs `optimum`, whose releases do not load with transformers 5;
`torch.onnx` and `onnxruntime.quantization` do the same job with optimum's weight recipe (per-channel int8
weights, as its `AutoQuantizationConfig` presets). Between the two, ONNX Runtime's transformer optimizer fuses
attention, layer norms and GELU into its own kernels (as optimum's O2 level), kept only where the fused graph
gives the plain graph's vectors. Activation scales are then fixed from a built-in calibration sample
(`onnx_calibration`), so a text's vector does not depend on the texts batched with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import platform
import re
import tempfile
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from vectorsync.embedders.onnx_calibration import calibrate
from vectorsync.errors import EmbedderUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

QuantizationTarget = Literal["avx512_vnni", "avx2", "arm64"]
# Bumped when the export recipe changes, so older cached exports are not reused and, through the embedder's
# identity, vectors stored from them are re-embedded. 3: activation scales calibrated once, not per batch.
RECIPE = 3
OPSET = 17
# The fused graph replaces the plain one only if every probe vector keeps this cosine to the plain one's.
FUSION_MIN_COSINE = 0.9999
PROBE_TEXTS = (
    "an example sentence to trace",
    "short",
    "A longer probe: attention over padded positions must ignore them, whatever the batch's longest text is.",
)


def default_cache_dir() -> Path:
    """Where exports live: beside the user's other caches, because site-packages may be read-only."""
    return Path.home() / ".cache" / "vectorsync" / "onnx"


def onnx_available() -> bool:
    """True when ONNX Runtime and the `onnx` package (which its quantiser needs) are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def cpu_quantization_target(cpuinfo: str | None = None) -> QuantizationTarget | None:
    """The int8 recipe this CPU runs fast: AVX512-VNNI, AVX2 or ARM64; None for CPUs with none of them."""
    if platform.machine().lower() in {"arm64", "aarch64"}:
        return "arm64"
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    match = re.search(r"^flags\s*:(.*)$", cpuinfo, flags=re.MULTILINE)
    flags = set(match.group(1).split()) if match else set()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx2" in flags:
        return "avx2"
    return None


def gpu_present() -> bool:
    """True when an NVIDIA driver is loaded: torch on the GPU beats int8 on the CPU there."""
    return Path("/proc/driver/nvidia/version").exists()


def auto_backend(device: str | None) -> Literal["torch", "onnx"]:
    """`backend="auto"`: ONNX int8 on CPU-only machines that run it fast and have it installed, else torch."""
    on_cpu = device == "cpu" or (device is None and not gpu_present())
    return "onnx" if on_cpu and onnx_available() and cpu_quantization_target() is not None else "torch"


def export_path(
    model_id: str, model_path: str, target: QuantizationTarget, revision: str | None, cache_dir: Path
) -> Path:
    """The cached export's file: named after the model, keyed by its location, revision and the recipe."""
    key = hashlib.sha256(f"{model_path}\x00{revision}\x00{RECIPE}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "--", model_id).strip("-")
    return cache_dir / f"{slug}-{key}" / f"model_int8_{target}.onnx"


def export_int8(
    model_id: str,
    model_path: str,
    target: QuantizationTarget,
    *,
    revision: str | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """The int8 ONNX file for the model, exported and quantised on first use (a few seconds), then reused."""
    path = export_path(model_id, model_path, target, revision, cache_dir or default_cache_dir())
    if path.exists():
        return path
    if not onnx_available():
        raise EmbedderUnavailable("the onnx backend needs onnxruntime and onnx: pip install 'vectorsync[onnx]'")
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to int8 ONNX (%s) at %s", model_id, target, path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as scratch:
        fp32 = Path(scratch) / "model.onnx"
        fused = Path(scratch) / "fused.onnx"
        int8 = Path(scratch) / path.name
        try:
            model = _load_torch_model(model_path, revision)
            _export_fp32(model, fp32)
            probe = dict(model.tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="np"))
            heads, hidden = _attention_shape(model)
            source = fused if _fuse(fp32, fused, probe, heads, hidden) else fp32
            _quantize(source, int8, target)
            calibrate(source, int8, partial(_tokenize, model))
        except (OSError, RuntimeError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot export model '{model_id}' to ONNX: {exc}; set backend=torch") from exc
        # Atomic: a process that races this one finds either no file or a whole one.
        os.replace(int8, path)
    return path


def _load_torch_model(model_path: str, revision: str | None) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    # Eager attention traces as plain MatMul and Softmax, the pattern ONNX Runtime fuses; SDPA's trace is not.
    return SentenceTransformer(
        model_path,
        device="cpu",
        revision=revision,
        backend="torch",
        model_kwargs={"attn_implementation": "eager"},
    )


def _tokenize(model: SentenceTransformer, texts: list[str]) -> dict[str, np.ndarray]:
    """The graph's inputs for `texts`, padded and truncated as the encoder feeds them."""
    features = model.tokenizer(
        texts, padding=True, truncation=True, max_length=model.max_seq_length, return_tensors="np"
    )
    return {name: np.asarray(value, dtype=np.int64) for name, value in features.items()}


def _export_fp32(model: SentenceTransformer, target: Path) -> None:
    """Trace every module of the model (transformer, pooling, dense, normalise) into one graph."""
    import torch

    names = list(model.tokenizer.model_input_names)

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, inputs, strict=True)))["sentence_embedding"]

    # A padded example: traced masks must handle padding, the common case in a length-sorted batch.
    example = model.tokenizer(["an example sentence to trace", "short"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    model.eval()
    # The tracer warns about shape-dependent branches; they hold for every input the tokenizer makes.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(),
            tuple(example[name] for name in names),
            str(target),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def _attention_shape(model: SentenceTransformer) -> tuple[int, int]:
    """Attention heads and hidden size from the transformer's config; (0, 0) lets the optimizer guess."""
    config = getattr(getattr(model[0], "auto_model", None), "config", None)
    return int(getattr(config, "num_attention_heads", 0) or 0), int(getattr(config, "hidden_size", 0) or 0)


def _fuse(source: Path, target: Path, probe: dict[str, np.ndarray], heads: int, hidden: int) -> bool:
    """Write `source` with ONNX Runtime's fused transformer kernels to `target`; True if its vectors match."""
    from onnxruntime.transformers.optimizer import optimize_model

    # A pattern the optimizer does not recognise is left unfused, and the graph stays valid.
    try:
        optimized = optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        optimized.save_model_to_file(str(target))
    except Exception as exc:  # the optimizer's failures share no base class; fusing is an optional speed-up
        log.warning("cannot fuse the ONNX graph (%s); keeping the unfused graph", exc)
        return False
    plain, fused = _run_graph(source, probe), _run_graph(target, probe)
    cosine = (plain * fused).sum(axis=1) / (np.linalg.norm(plain, axis=1) * np.linalg.norm(fused, axis=1))
    if cosine.min() < FUSION_MIN_COSINE:
        log.warning("fused ONNX graph changes the vectors (cosine %.5f); keeping the unfused graph", cosine.min())
        return False
    return True


def _run_graph(graph: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    names = {item.name for item in session.get_inputs()}
    return np.asarray(session.run(None, {name: value for name, value in feed.items() if name in names})[0])


def _quantize(source: Path, target: Path, cpu: QuantizationTarget) -> None:
    """Int8 quantisation, per-channel weights (unsigned for AVX2, as optimum's presets); `calibrate` fixes its scales.

    The activations of this graph are still scaled per call, by their range in each batch.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser advises pre-processing on the root logger; its shape inference fails on these graphs.
    advice = _DropMessage("Please consider to run pre-processing")
    logging.getLogger().addFilter(advice)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QUInt8 if cpu == "avx2" else QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            # Shape inference cannot type the outputs of ONNX Runtime's fused operators; they are float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(advice)


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)
