"""Workload readers: JSON Lines, TOML [[ops]], SCALE-Sim topology CSVs (conv and GEMM)."""
from __future__ import annotations

import json

import pytest

from archsim.errors import ConfigError
from archsim.workloads.load import load_workload, read_topology_csv
from archsim.workloads.ops import Attention, Conv2d, Gemm, Mlp, op_to_dict, parse_op


def test_toml_ops(tmp_path):
    p = tmp_path / "w.toml"
    p.write_text('name = "w"\n[[ops]]\nop = "gemm"\nm = 4\nk = 8\nn = 2\ndtype = "fp16"\n'
                 '[[ops]]\nop = "mlp"\nbatch = 16\nlayers = [32, 64, 64, 4]\ndtype = "fp16"\nrepeat = 3\n')
    wl = load_workload(p)
    assert wl.name == "w" and len(wl.ops) == 2
    g, m = wl.ops
    assert isinstance(g, Gemm) and g.macs() == 4 * 8 * 2 and g.name == "gemm0"
    assert isinstance(m, Mlp) and m.layers == (32, 64, 64, 4) and m.repeat == 3
    assert m.macs() == 16 * (32 * 64 + 64 * 64 + 64 * 4)


def test_jsonl_roundtrip(tmp_path):
    ops = [Gemm(m=3, k=5, n=7, dtype="bf16", name="a"),
           Attention(batch=1, q_len=1, kv_len=100, heads=32, kv_heads=8, head_dim=128, dtype="fp16",
                     name="dec")]
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(op_to_dict(o)) for o in ops) + "\n")
    wl = load_workload(p)
    assert wl.ops == tuple(ops)


def test_jsonl_errors(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"op": "gemm", "m": 1, "k": 1, "n": 1, "dtype": "fp16"}\n{"op": "gemm", "m": 0}\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key.startswith("line 2")
    p.write_text('{"op": "gemm", "m": 1,\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == "line 1" and "invalid JSON" in ei.value.message
    p.write_text('{"op": "conv3d"}\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == "line 1.op" and "allowed values" in ei.value.message


def test_op_field_errors():
    with pytest.raises(ConfigError) as ei:
        parse_op({"op": "gemm", "m": 1, "k": 1, "n": 1, "dtype": "fp12"}, file="f", key="ops[0]")
    assert ei.value.key == "ops[0].dtype" and "bf16" in ei.value.message
    with pytest.raises(ConfigError) as ei:
        parse_op({"op": "attention", "batch": 1, "q_len": 1, "kv_len": 1, "heads": 6, "kv_heads": 4,
                  "head_dim": 8, "dtype": "fp16"}, file="f", key="ops[1]")
    assert "multiple of kv_heads" in ei.value.message
    with pytest.raises(ConfigError):
        parse_op({"op": "mlp", "batch": 1, "layers": [3], "dtype": "fp16"}, file="f", key="k")


def test_scalesim_conv_csv(tmp_path):
    # SCALE-Sim conv format: trailing commas; 'valid' conv, one stride
    p = tmp_path / "net.csv"
    p.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                 "Conv1, 230, 230, 7, 7, 3, 64, 2,\n"
                 "DPconv, 16, 16, 3, 3, 4, 1, 1,\n")
    wl = read_topology_csv(p)
    c1 = wl.ops[0]
    assert isinstance(c1, Conv2d) and (c1.ofmap_h, c1.ofmap_w) == (112, 112)   # (230-7+2)//2
    assert c1.gemm_mnk() == (112 * 112, 64, 7 * 7 * 3)
    assert len(wl.ops) == 1 + 4 and all(o.channels == 1 for o in wl.ops[1:])   # depth-wise expanded


def test_scalesim_gemm_csv(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("Layer, M, N, K,\nQKV, 512, 2304, 768,\n")
    (g,) = load_workload(p).ops
    assert (g.m, g.n, g.k) == (512, 2304, 768) and g.dtype == "int8"


@pytest.mark.parametrize("text, key", [
    ("Layer, M, N, K,\nQ, 5, 6,\n", "line 2"),
    ("Layer, M, N, K,\nQ, 5, x, 7,\n", "line 2"),
    ("Layer, M, N, K,\nQ, 5, 0, 7,\n", "line 2"),
    ("L, H, W, FH, FW, C, N, S,\nc, 3, 3, 5, 5, 1, 1, 1,\n", "line 2"),
    ("Layer, M, N, K,\n", "<file>"),
])
def test_scalesim_csv_errors(tmp_path, text, key):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == key


def test_workload_toml_errors(tmp_path):
    p = tmp_path / "w.toml"
    p.write_text('name = "w"\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == "ops"
    p.write_text('generator = "nope"\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == "generator" and "allowed values" in ei.value.message
    p.write_text('opz = 1\n')
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.key == "opz"
    with pytest.raises(ConfigError):
        load_workload(tmp_path / "w.yaml")
