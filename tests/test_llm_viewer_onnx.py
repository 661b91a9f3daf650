"""LLM-Viewer compatibility (hand-worked Llama-2-7B rows) and ONNX workloads."""
from __future__ import annotations

from pathlib import Path

import pytest

import archsim
from archsim.errors import ConfigError
from archsim.workloads.llm.config import load_config
from archsim.workloads.llm.viewer import llm_viewer_table

ROOT = Path(__file__).resolve().parents[1]


def test_llm_viewer_llama2_7b_rows():
    """LLM-Viewer's A100 numbers (1555 GB/s, 312 TOP/s fp16), seqlen 1024, batch 1."""
    t = llm_viewer_table(load_config(ROOT / "workloads/llm/llama-2-7b.json"), seqlen=1024, batch=1,
                         bandwidth_bytes_s=1555e9, peak_ops_s=312e12)
    q = t["decode"]["q_proj"]
    assert q["OPs"] == 2 * 4096 * 4096
    assert q["memory_access"] == 4096 * 4096 * 2 + 4096 * 2 + 4096 * 2
    assert q["bound"] == "memory" and q["inference_time"] == pytest.approx(q["memory_access"] / 1555e9)
    k = t["decode"]["k_proj"]
    assert k["store_act"] == 0 and k["store_kv_cache"] == 4096 * 2
    qk = t["decode"]["qk_matmul"]
    assert qk["OPs"] == 1024 * 128 * 32 * 2 and qk["load_kv_cache"] == 1024 * 128 * 32 * 2
    pre = t["prefill"]["qk_matmul"]            # LLM-Viewer counts the full S x S (no causal half)
    assert pre["OPs"] == 1024 * 1024 * 128 * 32 * 2
    g = t["prefill"]["gate_proj"]
    assert g["bound"] == "compute" and g["inference_time"] == pytest.approx(g["OPs"] / 312e12)
    assert t["total"]["decode"]["OPs"] == pytest.approx(32 * sum(r["OPs"] for r in t["decode"].values()))


def test_onnx_tiny_cnn_macs():
    w = archsim.load_workload(ROOT / "workloads/onnx/tiny_cnn.onnx")
    convs = [o for o in w.ops if o.KIND == "conv2d"]
    assert [c.macs() for c in convs] == [32 * 32 * 27 * 16, 8 * 8 * 144 * 32]
    fc = next(o for o in w.ops if o.KIND == "gemm")
    assert (fc.m, fc.k, fc.n) == (1, 32, 10)
    r = archsim.simulate(archsim.load_arch(ROOT / "arch_configs/systolic/tpu-128x128.toml",
                                           {"components.sa.vector_lanes": 256}), w)
    assert r.latency_s > 0


def test_onnx_vit_block_attention_pattern():
    w = archsim.load_workload(ROOT / "workloads/onnx/tiny_vit_block.onnx")
    att = [o for o in w.ops if o.KIND == "attention"]
    assert len(att) == 1
    a = att[0]
    assert (a.batch, a.heads, a.q_len, a.kv_len, a.head_dim) == (1, 4, 65, 65, 16)
    assert not any(o.KIND == "elementwise" and o.name == "softmax" for o in w.ops)
    gemms = [o for o in w.ops if o.KIND == "gemm"]
    assert sum(g.macs() for g in gemms) == 65 * 64 * 64 * 4 + 2 * 65 * 64 * 256
    # the residual waits for the output projection and the block input path
    deps = dict(zip((o.name for o in w.ops), w.deps()))
    names = [o.name for o in w.ops]
    assert names.index("o_proj") in deps["residual1"]
    r = archsim.simulate(archsim.load_arch(ROOT / "arch_configs/gpu/h100-sxm.toml"), w)
    assert r.latency_s > 0


def test_onnx_unsupported_op_is_config_error(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Einsum", ["x"], ["y"], name="weird", equation="ij->ij")], "g", [x], [y])
    p = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    with pytest.raises(ConfigError, match="Einsum"):
        archsim.load_workload(p)
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="ONNX"):
        archsim.load_workload(tmp_path / "bad.onnx")
