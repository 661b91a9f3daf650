"""Build the small ONNX models shipped for the tests and examples, with the onnx helper API
(no download, no framework): `tiny_cnn.onnx` (conv / relu / pool / gemm) and
`tiny_vit_block.onnx` (one pre-norm transformer encoder block: LayerNorm, QKV MatMuls, the
attention pattern MatMul -> Div -> Softmax -> MatMul, output projection, GELU MLP, residuals).
Weights are seeded random values. Run: python workloads/onnx/make_models.py"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(0)


def _w(name, *shape):
    return numpy_helper.from_array((RNG.standard_normal(shape) * 0.05).astype(np.float32), name)


def tiny_cnn() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])
    inits = [_w("conv1.w", 16, 3, 3, 3), _w("conv1.b", 16), _w("conv2.w", 32, 16, 3, 3), _w("conv2.b", 32),
             _w("fc.w", 10, 32), _w("fc.b", 10)]
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "tiny_cnn", [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="archsim")


def tiny_vit_block(seq=65, dim=64, heads=4, mlp=256) -> onnx.ModelProto:
    hd = dim // heads
    x = helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [1, seq, dim])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, seq, dim])
    inits = [numpy_helper.from_array(np.ones(dim, np.float32), "ln1.g"),
             numpy_helper.from_array(np.zeros(dim, np.float32), "ln1.b"),
             numpy_helper.from_array(np.ones(dim, np.float32), "ln2.g"),
             numpy_helper.from_array(np.zeros(dim, np.float32), "ln2.b"),
             _w("wq", dim, dim), _w("wk", dim, dim), _w("wv", dim, dim), _w("wo", dim, dim),
             _w("fc1", dim, mlp), _w("fc2", mlp, dim),
             numpy_helper.from_array(np.array([1, seq, heads, hd], np.int64), "heads_shape"),
             numpy_helper.from_array(np.array([1, seq, dim], np.int64), "merge_shape"),
             numpy_helper.from_array(np.array(np.sqrt(hd), np.float32), "scale")]
    nodes = [helper.make_node("LayerNormalization", ["tokens", "ln1.g", "ln1.b"], ["h1"], name="ln1", axis=-1)]
    for t in ("q", "k", "v"):
        nodes += [helper.make_node("MatMul", ["h1", f"w{t}"], [f"{t}0"], name=f"{t}_proj"),
                  helper.make_node("Reshape", [f"{t}0", "heads_shape"], [f"{t}1"], name=f"{t}_split_heads"),
                  helper.make_node("Transpose", [f"{t}1"], [f"{t}"], name=f"{t}_to_bhsd",
                                   perm=[0, 2, 3, 1] if t == "k" else [0, 2, 1, 3])]
    nodes += [
        helper.make_node("MatMul", ["q", "k"], ["s0"], name="qk"),
        helper.make_node("Div", ["s0", "scale"], ["s1"], name="scale"),
        helper.make_node("Softmax", ["s1"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["a0"], name="pv"),
        helper.make_node("Transpose", ["a0"], ["a1"], name="merge_transpose", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["a1", "merge_shape"], ["a2"], name="merge_heads"),
        helper.make_node("MatMul", ["a2", "wo"], ["o"], name="o_proj"),
        helper.make_node("Add", ["tokens", "o"], ["r1"], name="residual1"),
        helper.make_node("LayerNormalization", ["r1", "ln2.g", "ln2.b"], ["h2"], name="ln2", axis=-1),
        helper.make_node("MatMul", ["h2", "fc1"], ["m0"], name="fc1"),
        helper.make_node("Gelu", ["m0"], ["m1"], name="gelu"),
        helper.make_node("MatMul", ["m1", "fc2"], ["m2"], name="fc2"),
        helper.make_node("Add", ["r1", "m2"], ["out"], name="residual2"),
    ]
    graph = helper.make_graph(nodes, "tiny_vit_block", [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="archsim")


if __name__ == "__main__":
    for name, m in (("tiny_cnn", tiny_cnn()), ("tiny_vit_block", tiny_vit_block())):
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, HERE / f"{name}.onnx")
        print(f"wrote {HERE / name}.onnx")
