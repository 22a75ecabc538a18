"""Fix the int8 graph's activation scales once, from a built-in sample, so that a vector is a function of its text.

Dynamic quantisation scales each activation tensor by its range in the batch at hand, padding included, so a
text's vector moved with the texts batched beside it. Here every `DynamicQuantizeLinear` of the int8 graph
becomes a `QuantizeLinear` with a constant scale and zero point: the range its input takes at the real tokens
of a fixed sample of texts (`calibration.txt`) run through the float graph. The int8 kernels (`QAttention`,
integer matrix products) stay those of the dynamic graph; static QDQ quantisation cannot keep fused attention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vectorsync.embedders.onnx_runtime import padded_batches

if TYPE_CHECKING:
    import onnx

CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
# Runs of this many consecutive sample lines make paragraphs: medium texts and ones the model truncates.
PARAGRAPH_LINES = (4, 16)
# The sample runs in batches of similar length; padded positions are left out of the ranges, so only speed varies.
BATCH_TEXTS, BATCH_CHARS = 16, 4_096


def calibration_texts() -> list[str]:
    """The sample: every line of `calibration.txt` alone, then runs of consecutive lines joined into paragraphs."""
    lines = [line for line in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    paragraphs = [
        " ".join(lines[start : start + size])
        for size in PARAGRAPH_LINES
        for start in range(0, len(lines) - size + 1, size)
    ]
    return lines + paragraphs


def dynamic_activations(graph: onnx.ModelProto) -> list[str]:
    """The activation tensors that `graph` quantises per call (inputs of its `DynamicQuantizeLinear` nodes)."""
    return [node.input[0] for node in graph.graph.node if node.op_type == "DynamicQuantizeLinear"]


def activation_ranges(
    float_graph: Path, names: list[str], feeds: Iterable[dict[str, np.ndarray]]
) -> dict[str, tuple[float, float]]:
    """The lowest and highest value each named per-token tensor of `float_graph` takes at the real tokens of `feeds`."""
    import onnx
    import onnxruntime

    model = onnx.load(str(float_graph))
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = {item.name for item in session.get_inputs()}
    low = dict.fromkeys(names, 0.0)
    high = dict.fromkeys(names, 0.0)
    for feed in feeds:
        # Padded positions compute values that no text has; only the mask's real tokens count.
        real = feed["attention_mask"].astype(bool)
        values = session.run(names, {name: value for name, value in feed.items() if name in inputs})
        for name, value in zip(names, values, strict=True):
            tokens = value[real]
            low[name] = min(low[name], float(tokens.min()))
            high[name] = max(high[name], float(tokens.max()))
    return {name: (low[name], high[name]) for name in names}


def fix_activation_scales(graph: onnx.ModelProto, ranges: dict[str, tuple[float, float]]) -> None:
    """Replace each `DynamicQuantizeLinear` in `graph` by a `QuantizeLinear` with the scale its input's range gives.

    The scale and zero point are those `DynamicQuantizeLinear` computes (uint8, range widened to hold 0), so a
    text whose activations stay within the sample's range is quantised as a batch of such texts was.
    """
    import onnx

    nodes = []
    for node in graph.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        low, high = ranges[node.input[0]]
        scale = (high - low) / 255 or 1.0
        zero_point = int(np.clip(np.round(-low / scale), 0, 255))
        quantized, scale_name, zero_point_name = node.output
        graph.graph.initializer.extend(
            [
                onnx.numpy_helper.from_array(np.array(scale, dtype=np.float32), scale_name),
                onnx.numpy_helper.from_array(np.array(zero_point, dtype=np.uint8), zero_point_name),
            ]
        )
        nodes.append(
            onnx.helper.make_node(
                "QuantizeLinear", [node.input[0], scale_name, zero_point_name], [quantized], name=node.name
            )
        )
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


def fuse_integer_matmuls(graph: onnx.ModelProto) -> None:
    """Merge each `MatMulInteger -> Cast -> Mul(a_scale * b_scale)` of `graph` into one `MatMulIntegerToFloat`.

    ONNX Runtime makes this fusion itself only while the activation scale comes from a node: once it is a
    constant, its product with the weight scale is folded first and the pattern no longer matches, which left
    the matrix products 1.5x slower.
    """
    import onnx

    producers = {output: node for node in graph.graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_consumer(name: str, op_type: str) -> onnx.NodeProto | None:
        found = consumers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    replaced: dict[str, onnx.NodeProto] = {}
    dropped: set[str] = set()
    for node in graph.graph.node:
        quantize = producers.get(node.input[0])
        cast = only_consumer(node.output[0], "Cast") if node.op_type == "MatMulInteger" else None
        rescale = only_consumer(cast.output[0], "Mul") if cast else None
        if quantize is None or quantize.op_type != "QuantizeLinear" or cast is None or rescale is None:
            continue
        scales = producers.get(rescale.input[1])
        if scales is None or scales.op_type != "Mul" or only_consumer(scales.output[0], "Mul") is None:
            continue
        if not all((node.name, cast.name, rescale.name, scales.name)):  # nodes are told apart by name
            continue
        activation_scale = quantize.input[1]
        weight_scale = scales.input[1] if scales.input[0] == activation_scale else scales.input[0]
        replaced[node.name] = onnx.helper.make_node(
            "MatMulIntegerToFloat",
            [node.input[0], node.input[1], activation_scale, weight_scale, *node.input[2:4]],
            [rescale.output[0]],
            name=node.name,
            domain="com.microsoft",
        )
        dropped.update((cast.name, rescale.name, scales.name))
    nodes = [replaced.get(node.name, node) for node in graph.graph.node if node.name not in dropped]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


def calibrate(float_graph: Path, int8_graph: Path, tokenize: Callable[[list[str]], dict[str, np.ndarray]]) -> None:
    """Rewrite `int8_graph` in place with activation scales calibrated on the built-in sample through `float_graph`.

    `tokenize` turns texts into the graph's padded, truncated inputs.
    """
    import onnx

    model = onnx.load(str(int8_graph))
    texts = calibration_texts()
    groups = padded_batches([len(text) for text in texts], BATCH_TEXTS, BATCH_CHARS)
    feeds = (tokenize([texts[i] for i in group]) for group in groups)
    fix_activation_scales(model, activation_ranges(float_graph, list(dict.fromkeys(dynamic_activations(model))), feeds))
    fuse_integer_matmuls(model)
    onnx.save(model, str(int8_graph))
