"""ONNX models as workloads (`archsim run ARCH model.onnx`): the graph is read with the `onnx`
package, shapes come from its shape inference, and every compute node becomes an archsim op,
with dependencies from the tensors that connect them.

| ONNX | archsim op |
|---|---|
| Conv (2-D, group g, batch N) | `conv2d` (ifmap padded by the node's pads; `repeat` = N x g) |
| Gemm, MatMul with a constant (weight) operand | `gemm` (m = all leading dims x rows) |
| MatMul of two activations | `gemm` with `batch` = the leading dims |
| MatMul -> [Div/Mul/Add] -> Softmax -> MatMul (Q K^T, scale, mask, P V) | one `attention` |
| Attention (opset 23, 4-D Q/K/V) | `attention` |
| element-wise, normalisation, activation, pooling, Softmax | `elementwise` (FLOPs per element from a table) |
| Transpose, Concat, Split, Pad, Expand, Tile | `copy` (the output's bytes) |
| Reshape, Flatten, Squeeze, Unsqueeze, Identity, Shape, Constant, Cast, Gather on shapes... | nothing (no kernel) |

Symbolic dimensions (a batch left free by the exporter) count as 1. Any other op type is a
ConfigError naming the node and the supported types (never silently dropped).
"""
from __future__ import annotations

import math
from pathlib import Path

from archsim.errors import ConfigError
from archsim.workloads.load import Workload
from archsim.workloads.ops import Attention, Conv2d, Copy, Elementwise, Gemm

ELEMENTWISE_FLOPS = {
    "Relu": 1, "LeakyRelu": 2, "Sigmoid": 4, "Tanh": 5, "Gelu": 8, "Erf": 6, "HardSigmoid": 3,
    "HardSwish": 4, "Clip": 2, "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Pow": 2, "Sqrt": 1,
    "Exp": 4, "Log": 4, "Neg": 1, "Abs": 1, "Max": 1, "Min": 1, "Where": 1, "Sum": 1, "Mean": 2,
    "Softmax": 5, "LogSoftmax": 6, "LayerNormalization": 7, "BatchNormalization": 2,
    "InstanceNormalization": 7, "GroupNormalization": 7, "ReduceMean": 1, "ReduceSum": 1,
    "ReduceMax": 1, "MaxPool": 1, "AveragePool": 1, "GlobalAveragePool": 1, "GlobalMaxPool": 1,
    "Dropout": 0, "Swish": 5, "Mish": 8, "Elu": 4, "Selu": 5, "Reciprocal": 1, "Equal": 1,
    "Greater": 1, "Less": 1, "Not": 1, "And": 1, "Or": 1, "Floor": 1, "Ceil": 1, "Round": 1,
    "ScatterND": 1, "GatherElements": 1, "CumSum": 1, "ReduceL2": 2, "SkipLayerNormalization": 8,
    "SimplifiedLayerNormalization": 4, "FastGelu": 8, "BiasGelu": 9,
}
COPY_OPS = ("Transpose", "Concat", "Split", "Pad", "Expand", "Tile", "Resize", "Upsample", "DepthToSpace",
            "SpaceToDepth", "Slice", "Gather")
FREE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Shape", "Constant", "Cast",
            "ConstantOfShape", "Range", "Size", "NonZero", "CastLike")
ONNX_DTYPES = {1: "fp32", 10: "fp16", 16: "bf16", 3: "int8", 2: "int8", 17: "fp8", 11: "fp32"}
SOFTMAX_BETWEEN = ("Div", "Mul", "Add", "Where", "Cast")


def _dims(vi) -> list[int]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in t.shape.dim]


def read_onnx(path) -> Workload:
    try:
        import onnx
        from onnx import numpy_helper, shape_inference
    except ImportError:  # pragma: no cover - onnx is a dependency
        raise ConfigError(path, "<file>", "reading .onnx needs the onnx package (pip install onnx)") from None
    p = Path(path)
    if not p.is_file():
        raise ConfigError(p, "<file>", "file not found")
    try:
        model = onnx.load(str(p))
        model = shape_inference.infer_shapes(model)
    except Exception as exc:     # onnx raises DecodeError / ValidationError / InferenceError
        raise ConfigError(p, "<file>", f"not a readable ONNX model: {exc}") from None
    g = model.graph
    shapes: dict[str, list[int]] = {}
    dtypes: dict[str, str] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = _dims(vi)
        dtypes[vi.name] = ONNX_DTYPES.get(vi.type.tensor_type.elem_type, "fp32")
    consts = {}
    for init in g.initializer:
        consts[init.name] = list(init.dims)
        shapes[init.name] = list(init.dims)
        dtypes[init.name] = ONNX_DTYPES.get(init.data_type, "fp32")
    for node in g.node:
        if node.op_type == "Constant":
            for o in node.output:
                consts[o] = shapes.get(o, [])
    nodes = list(g.node)
    consumers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for t in n.input:
            consumers.setdefault(t, []).append(i)
    fused = _attention_patterns(nodes, consumers, consts)
    ops, after = [], []
    prod: dict[str, frozenset] = {}
    for i, n in enumerate(nodes):
        deps = frozenset().union(*[prod.get(t, frozenset()) for t in n.input if t])
        name = n.name or f"{n.op_type}_{i}"
        key = f"graph.node[{i}] ({name})"
        new = []
        if i in fused.get("skip", ()):
            new = []
        elif i in fused.get("attention", {}):
            q, k, v = fused["attention"][i]
            new = [_attention(name, shapes.get(q, []), shapes.get(k, []), shapes.get(v, []), dtypes.get(q, "fp32"),
                              transposed_k=True, file=p, key=key)]
        else:
            new = _node_ops(n, name, shapes, dtypes, consts, file=p, key=key, numpy_helper=numpy_helper)
        if new:
            idx = []
            for op in new:
                ops.append(op)
                after.append(tuple(sorted(deps)) if not idx else (idx[-1],))
                idx.append(len(ops) - 1)
            out_set = frozenset((idx[-1],))
        else:
            out_set = deps
        for o in n.output:
            prod[o] = out_set
    if not ops:
        raise ConfigError(p, "graph", "no compute nodes found")
    return Workload(name=p.stem, ops=tuple(ops), source=str(p), after=tuple(after),
                    meta={"format": "onnx", "opset": [o.version for o in model.opset_import]})


def _attention_patterns(nodes, consumers, consts) -> dict:
    """MatMul(Q, K^T) -> [Div | Mul | Add | Where | Cast]* -> Softmax -> MatMul(P, V), all on
    activations: the last MatMul becomes one attention op, the others are skipped."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output}
    skip, att = set(), {}
    for i, n in enumerate(nodes):
        if n.op_type != "Softmax":
            continue
        chain, cur = [i], n
        while True:
            j = producer.get(cur.input[0])
            if j is None:
                break
            if nodes[j].op_type in SOFTMAX_BETWEEN:
                chain.append(j)
                cur = nodes[j]
                continue
            break
        if j is None or nodes[j].op_type != "MatMul":
            continue
        qk = nodes[j]
        if any(t in consts for t in qk.input):
            continue
        outs = consumers.get(n.output[0], [])
        if len(outs) != 1 or nodes[outs[0]].op_type != "MatMul":
            continue
        pv = nodes[outs[0]]
        if pv.input[0] != n.output[0] or pv.input[1] in consts:
            continue
        skip.update(chain + [j])
        att[outs[0]] = (qk.input[0], qk.input[1], pv.input[1])
    return {"skip": skip, "attention": att}


def _attention(name, q, k, v, dtype, *, transposed_k, file, key):
    if len(q) < 2 or len(k) < 2 or len(v) < 2:
        raise ConfigError(file, key, "attention pattern without inferred shapes")
    lead = q[:-2]
    s, d = q[-2], q[-1]
    t = k[-1] if transposed_k else k[-2]
    heads = lead[-1] if len(lead) >= 1 else 1
    batch = math.prod(lead[:-1]) if len(lead) >= 2 else 1
    kv_lead = k[:-2]
    kv_heads = kv_lead[-1] if kv_lead else heads
    if kv_heads < 1 or heads % kv_heads:
        kv_heads = heads
    return Attention(batch=max(batch, 1), q_len=s, kv_len=t, heads=max(heads, 1), kv_heads=max(kv_heads, 1),
                     head_dim=d, dtype=dtype, causal=False, name=name)


def _attr(n, name, default=None):
    for a in n.attribute:
        if a.name == name:
            if a.type == a.INTS:
                return list(a.ints)
            if a.type == a.INT:
                return a.i
            if a.type == a.FLOAT:
                return a.f
            if a.type == a.STRING:
                return a.s.decode()
    return default


def _numel(shape) -> int:
    return max(1, math.prod(shape)) if shape else 1


def _node_ops(n, name, shapes, dtypes, consts, *, file, key, numpy_helper):
    t = n.op_type
    out = n.output[0] if n.output else ""
    dt = dtypes.get(n.input[0], "fp32") if n.input else "fp32"
    if t in FREE_OPS:
        return []
    if t == "Conv":
        x, w = shapes.get(n.input[0], []), shapes.get(n.input[1], [])
        if len(x) != 4 or len(w) != 4:
            raise ConfigError(file, key, f"Conv: only 2-D convolutions with inferred shapes are supported (input {x}, weight {w})")
        if any(d != 1 for d in _attr(n, "dilations", [1, 1])):
            raise ConfigError(file, key, "Conv: dilations > 1 are not supported (conv2d has no dilation)")
        strides = _attr(n, "strides", [1, 1])
        if strides[0] != strides[1]:
            raise ConfigError(file, key, f"Conv: unequal strides {strides} are not supported (conv2d has one stride)")
        pads = _attr(n, "pads", [0, 0, 0, 0])
        if _attr(n, "auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
            oy = shapes.get(out, [0, 0, 0, 0])
            ph = max(0, (oy[2] - 1) * strides[0] + w[2] - x[2])
            pw = max(0, (oy[3] - 1) * strides[1] + w[3] - x[3])
            pads = [ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]
        group = _attr(n, "group", 1)
        return [Conv2d(ifmap_h=x[2] + pads[0] + pads[2], ifmap_w=x[3] + pads[1] + pads[3], filter_h=w[2],
                       filter_w=w[3], channels=w[1], num_filters=w[0] // group, stride=strides[0], dtype=dt,
                       name=name, repeat=x[0] * group)]
    if t == "Gemm":
        a, b = shapes.get(n.input[0], []), shapes.get(n.input[1], [])
        if len(a) != 2 or len(b) != 2:
            raise ConfigError(file, key, f"Gemm: 2-D operands expected, got {a} and {b}")
        m, k = (a[1], a[0]) if _attr(n, "transA", 0) else (a[0], a[1])
        nn = b[0] if _attr(n, "transB", 0) else b[1]
        return [Gemm(m=m, k=k, n=nn, dtype=dt, name=name)]
    if t == "MatMul":
        a, b = shapes.get(n.input[0], []), shapes.get(n.input[1], [])
        if len(a) < 1 or len(b) < 1:
            raise ConfigError(file, key, "MatMul without inferred shapes")
        a2 = a if len(a) >= 2 else [1] + a
        b2 = b if len(b) >= 2 else b + [1]
        m, k, nn = a2[-2], a2[-1], b2[-1]
        if n.input[1] in consts and len(b) == 2:        # a linear layer: rows of all leading dims
            return [Gemm(m=_numel(a2[:-1]), k=k, n=nn, dtype=dt, name=name)]
        lead = a2[:-2] if len(a2[:-2]) >= len(b2[:-2]) else b2[:-2]
        return [Gemm(m=m, k=k, n=nn, batch=_numel(lead), dtype=dt, name=name)]
    if t == "Attention":
        q, k, v = (shapes.get(x, []) for x in n.input[:3])
        if len(q) != 4:
            raise ConfigError(file, key, "Attention: only 4-D (batch, heads, seq, head_dim) Q/K/V are supported")
        op = _attention(name, q, k, v, dt, transposed_k=False, file=file, key=key)
        return [Attention(**{**{f: getattr(op, f) for f in ("batch", "q_len", "kv_len", "heads", "kv_heads",
                                                            "head_dim", "dtype", "name")},
                             "causal": bool(_attr(n, "is_causal", 0))})]
    if t in ELEMENTWISE_FLOPS:
        src = n.input[0] if t.endswith("Pool") or t.startswith("Reduce") else out
        n_el = _numel(shapes.get(src, []))
        ins = sum(1 for x in n.input if x and x not in consts)
        return [Elementwise(n_elements=n_el, n_inputs=max(ins, 1), flops_per_element=float(ELEMENTWISE_FLOPS[t]),
                            dtype=dt, name=name)]
    if t in COPY_OPS:
        nbytes = _numel(shapes.get(out, [])) * {"fp32": 4, "fp16": 2, "bf16": 2}.get(dtypes.get(out, dt), 1)
        return [Copy(bytes=max(1, nbytes), name=name)]
    raise ConfigError(file, key, f"op_type {t!r} is not supported; supported: Conv, Gemm, MatMul, Attention, "
                      + ", ".join(sorted(ELEMENTWISE_FLOPS)) + ", " + ", ".join(COPY_OPS)
                      + " (and shape-only ops: " + ", ".join(FREE_OPS) + ")")
