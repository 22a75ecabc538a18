"""Fixed activation scales: the built-in calibration sample, and constant scales quantising as the per-call ones did."""

from __future__ import annotations

import numpy as np
import pytest

from vectorsync.embedders.onnx_calibration import calibration_texts, fix_activation_scales
from vectorsync.embedders.onnx_export import onnx_available

needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime and onnx are not installed")


def test_calibration_sample_is_fixed_and_spans_single_words_to_texts_the_model_truncates(embedder):
    texts = calibration_texts()
    tokens = [len(offsets) for offsets in embedder.tokenizer.token_offsets_batch(texts)]
    assert texts == calibration_texts() and len(set(texts)) == len(texts)
    assert min(tokens) <= 2 and max(tokens) > embedder.max_tokens
    assert sum(8 < count < 64 for count in tokens) >= 100


def _dynamic_quantizer():
    """A graph that quantises its input per call, as the int8 export does before calibration."""
    from onnx import TensorProto, helper

    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero_point"], name="quantize_x")
    graph = helper.make_graph(
        [node],
        "quantize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [
            helper.make_tensor_value_info("q", TensorProto.UINT8, [None]),
            helper.make_tensor_value_info("scale", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("zero_point", TensorProto.UINT8, []),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


@needs_onnx
def test_fixed_scales_quantise_any_input_as_per_call_scales_quantised_the_calibrated_one():
    model = _dynamic_quantizer()
    calibrated = np.random.default_rng(7).normal(1.0, 3.0, size=500).astype(np.float32)
    per_call = _run(model, calibrated)

    fix_activation_scales(model, {"x": (float(calibrated.min()), float(calibrated.max()))})
    assert [node.op_type for node in model.graph.node] == ["QuantizeLinear"]
    fixed = _run(model, calibrated)
    assert np.array_equal(fixed[0], per_call[0]) and fixed[1:] == per_call[1:]
    # A part of the input on its own keeps the scale, so each value is quantised exactly as before.
    part = calibrated[10:20]
    assert np.array_equal(_run(model, part)[0], per_call[0][10:20])
