"""The systolic-array component (archsim/blocks/systolic/model.py), its presets and the shipped CNN
topologies."""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import archsim.blocks.systolic as S
from archsim.blocks.base import EvalContext
from archsim.config.arch import load_arch
from archsim.errors import ConfigError
from archsim.blocks.systolic import kernels as K
from archsim.simulate import simulate
from archsim.workloads.load import load_workload
from archsim.workloads.ops import Conv2d, Gemm

REPO = Path(__file__).resolve().parents[1]
PRESETS = sorted((REPO / "arch_configs" / "systolic").glob("*.toml"))
CNN = REPO / "workloads" / "cnn"

ACTION_PREFIXES = ("mac.", "sram.ifmap.", "sram.filter.", "sram.ofmap.", "dram.")
DETAIL_KEYS = (
    "compute_cycles", "stall_cycles", "fill_cycles", "drain_cycles", "total_cycles",
    "compute_plus_stall_cycles", "overall_util_pct", "mapping_efficiency_pct", "compute_util_pct",
    "sram_ifmap_read_words", "sram_filter_read_words", "sram_ofmap_write_words",
    "sram_ofmap_read_words", "dram_ifmap_read_words", "dram_filter_read_words",
    "dram_ofmap_write_words", "dram_ofmap_read_words",
    "avg_ifmap_sram_bw_words_per_cycle", "avg_filter_sram_bw_words_per_cycle",
    "avg_ofmap_sram_bw_words_per_cycle", "avg_ifmap_dram_bw_words_per_cycle",
    "avg_filter_dram_bw_words_per_cycle", "avg_ofmap_dram_bw_words_per_cycle",
    "max_ifmap_sram_bw_words_per_cycle", "max_filter_sram_bw_words_per_cycle",
    "max_ofmap_sram_bw_words_per_cycle", "max_ifmap_dram_bw_words_per_cycle",
    "max_filter_dram_bw_words_per_cycle", "max_ofmap_dram_bw_words_per_cycle")


def spec(**kw):
    base = dict(rows=16, cols=8, dataflow="ws", ifmap_sram_kib=8, filter_sram_kib=8,
                ofmap_sram_kib=8, dram_bandwidth_words_per_cycle=4.0)
    base.update(kw)
    return S.Spec(**base)


def ctx():
    return EvalContext(arch=None, component_name="sa")


# ----------------------------------------------------------------------------- presets

def test_presets_exist():
    names = {p.name for p in PRESETS}
    assert {"base.toml", "tpu-128x128.toml", "eyeriss-like-12x14.toml",
            "scalesim-32x32-os.toml"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_loads_and_runs(path):
    arch = load_arch(path)
    assert arch.component_kinds == {"sa": "systolic_array"}
    op = Gemm(m=64, k=96, n=80, dtype="int8", name="g")
    r = S.evaluate(arch.components["sa"], op, ctx())
    assert r.details["macs"] == 64 * 96 * 80
    assert r.cycles >= r.details["compute_cycles"] > 0


def test_tpu_preset_values():
    arch = load_arch(REPO / "arch_configs/systolic/tpu-128x128.toml")
    sa = arch.components["sa"]
    assert (sa.rows, sa.cols, sa.dataflow, sa.word_bytes, sa.dtype) == (128, 128, "ws", 2, "bf16")
    assert arch.tech.node_nm == 7
    # 71.43 words/cycle * 2 B * 1.05 GHz = 150 GB/s, a 1/8 share of 1200 GB/s
    assert sa.dram_bandwidth_gb_s() == pytest.approx(150.0, rel=1e-3)


def test_scalesim_preset_matches_scale_user_os_cfg():
    sa = load_arch(REPO / "arch_configs/systolic/scalesim-32x32-os.toml").components["sa"]
    assert (sa.rows, sa.cols, sa.dataflow, sa.sram_words(), sa.dram_bandwidth_words_per_cycle,
            sa.dram_channels, sa.word_bytes) == (32, 32, "os", (65536,) * 3, 10, "per_operand", 1)


# ----------------------------------------------------------------------------- config errors

@pytest.mark.parametrize("key,value,fragment", [
    ("dataflow", "xs", "allowed values: os, ws, is"),
    ("rows", 0, "must be >= 1"),
    ("cols", 5000, "must be <= 4096"),
    ("dram_channels", "both", "allowed values: shared, per_operand"),
    ("dram_technology", "sram", "allowed values"),
    ("dtype", "int4", "allowed values"),
    ("ifmap_sram_kib", -1, "must be > 0"),
    ("ofmap_sram_kib", 0.001, "at least 2 words"),
    ("word_bytes", 0, "must be >= 1"),
    ("clock_ghz", "fast", "expected a number"),
    ("bogus", 1, "unknown key"),
])
def test_bad_values_are_config_errors(key, value, fragment):
    path = REPO / "arch_configs/systolic/base.toml"
    with pytest.raises(ConfigError) as exc:
        load_arch(path, {f"components.sa.{key}": value})
    assert exc.value.key.startswith("components.sa")
    assert fragment in exc.value.message


def test_word_bytes_must_hold_the_dtype():
    with pytest.raises(ConfigError) as exc:
        load_arch(REPO / "arch_configs/systolic/base.toml", {"components.sa.dtype": "fp16"})
    assert exc.value.key == "components.sa.word_bytes"


# ----------------------------------------------------------------------------- evaluate

@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_evaluate_fields_actions_and_units(df):
    sp = spec(dataflow=df, word_bytes=2, dtype="fp16", clock_ghz=0.5)
    op = Gemm(m=70, k=50, n=40, dtype="fp16", name="g")
    r = S.evaluate(sp, op, ctx())
    d = r.details
    for key in DETAIL_KEYS:
        assert key in d, key
    assert all(k.startswith(ACTION_PREFIXES) for k in r.actions)
    assert r.actions["mac.fp16"] == 70 * 50 * 40
    assert r.flops == 2 * 70 * 50 * 40
    assert r.cycles == d["total_cycles"] == (d["compute_cycles"] + d["stall_cycles"]
                                             + d["fill_cycles"] + d["drain_cycles"])
    assert r.latency_s == pytest.approx(r.cycles / 0.5e9)
    words = (d["dram_ifmap_read_words"] + d["dram_filter_read_words"] + d["dram_ofmap_read_words"]
             + d["dram_ofmap_write_words"])
    assert r.dram_bytes == words * 2
    assert r.actions["dram.read_bytes"] + r.actions["dram.write_bytes"] == r.dram_bytes
    assert r.actions["sram.ifmap.read_bytes"] == d["sram_ifmap_read_words"] * 2
    assert r.actions["sram.filter.write_bytes"] == d["dram_filter_read_words"] * 2
    assert 0 < d["overall_util_pct"] <= d["compute_util_pct"] <= d["mapping_efficiency_pct"] <= 100
    assert r.bound in ("compute", "memory")


def test_gemm_batch_folds_into_m():
    sp = spec()
    a = S.evaluate(sp, Gemm(m=12, k=40, n=30, batch=5, dtype="int8"), ctx())
    b = S.evaluate(sp, Gemm(m=60, k=40, n=30, dtype="int8"), ctx())
    assert a.cycles == b.cycles and a.actions == b.actions


def test_conv_op_uses_scalesim_geometry():
    sp = spec(dataflow="os")
    op = Conv2d(ifmap_h=10, ifmap_w=12, filter_h=3, filter_w=3, channels=4, num_filters=9, stride=1)
    r = S.evaluate(sp, op, ctx())
    raw = K.simulate_layer(K.DF_OS, 16, 8, 10, 12, 3, 3, 4, 9, 1, 8192, 8192, 8192, 4.0, False)
    assert r.cycles == int(raw[K.TOTAL_CYCLES])
    assert (r.details["m"], r.details["n"], r.details["k"]) == (8 * 10, 9, 36)
    assert r.details["macs"] == op.macs()


def test_memory_bound_label():
    big = S.evaluate(spec(dram_bandwidth_words_per_cycle=1000.0), Gemm(m=512, k=512, n=512, dtype="int8"), ctx())
    small = S.evaluate(spec(dram_bandwidth_words_per_cycle=0.05), Gemm(m=512, k=512, n=512, dtype="int8"), ctx())
    assert big.bound == "compute" and small.bound == "memory"
    assert small.cycles > big.cycles


def test_structure():
    sp = spec(word_bytes=2, dtype="bf16", dram_technology="hbm2e", clock_ghz=1.0)
    st = S.structure(sp)
    assert st.kind == "systolic_array"
    assert dict(st.units) == {"mac.bf16": 16 * 8}
    assert [s.name for s in st.srams] == ["ifmap", "filter", "ofmap"]
    assert all(s.capacity_bytes == 8 * 1024 for s in st.srams)
    assert st.srams[0].width_bits == 16 * 16        # 16 rows x 16-bit words
    assert st.dram.technology == "hbm2e"
    assert st.dram.bandwidth_gb_s == pytest.approx(4.0 * 2 * 1.0)
    per_op = S.structure(attrs.evolve(sp, dram_channels="per_operand"))
    assert per_op.dram.bandwidth_gb_s == pytest.approx(3 * 8.0)


def test_simulate_resnet18_end_to_end():
    arch = load_arch(REPO / "arch_configs/systolic/tpu-128x128.toml")
    wl = load_workload(CNN / "resnet18.csv")
    rep = simulate(arch, wl)
    assert len(rep.ops) == 21
    assert sum(o.details["macs"] for o in rep.ops) == 1_814_073_344
    ideal = 1_814_073_344 / (128 * 128)
    assert rep.cycles >= ideal


def test_cli_run_json(capsys, tmp_path):
    from archsim.cli import main
    wl = tmp_path / "gemms.csv"
    wl.write_text("Layer, M, N, K,\nqkv, 64, 96, 48,\nffn, 64, 128, 96,\n")
    rc = main(["run", str(REPO / "arch_configs/systolic/eyeriss-like-12x14.toml"), str(wl),
               "--json", "-", "--set", "components.sa.dram_bandwidth_words_per_cycle=8"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert [o["name"] for o in rep["ops"]] == ["qkv", "ffn"]
    assert rep["totals"]["cycles"] == sum(o["cycles"] for o in rep["ops"]) > 0


# ----------------------------------------------------------------------------- workloads

def test_topologies_are_reproducible(tmp_path):
    import importlib.util
    spec_ = importlib.util.spec_from_file_location("make_topologies", CNN / "make_topologies.py")
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    mod.main(tmp_path)
    for name in ("resnet18.csv", "resnet50.csv", "mobilenet_v2.csv", "transformer_gemms.csv"):
        assert (tmp_path / name).read_text() == (CNN / name).read_text(), name


@pytest.mark.parametrize("name,layers,macs", [
    ("resnet18", 21, 1_814_073_344),        # torchvision resnet18: 1.81 GMAC
    ("resnet50", 54, 4_089_184_256),        # torchvision resnet50: 4.09 GMAC
    ("mobilenet_v2", None, 300_774_272),    # torchvision mobilenet_v2: 0.30 GMAC
])
def test_cnn_mac_counts(name, layers, macs):
    wl = load_workload(CNN / f"{name}.csv")
    if layers is not None:
        assert len(wl.ops) == layers
    assert sum(o.macs() for o in wl.ops) == macs


def test_topology_rows_end_with_comma_and_pytorch_ofmaps():
    for name in ("resnet18", "resnet50", "mobilenet_v2", "transformer_gemms"):
        lines = (CNN / f"{name}.csv").read_text().splitlines()
        assert all(line.rstrip().endswith(",") for line in lines if line.strip())
    wl = load_workload(CNN / "resnet50.csv")
    ops = {o.name: o for o in wl.ops}
    assert (ops["conv1"].ofmap_h, ops["conv1"].ofmap_w) == (112, 112)
    assert ops["layer4.2.conv3"].ofmap_h == 7
    assert ops["layer2.0.conv2"].ofmap_h == 28
    mb = load_workload(CNN / "mobilenet_v2.csv")
    dw = [o for o in mb.ops if "_DP_ch" in o.name]
    assert dw and all(o.channels == 1 and o.num_filters == 1 for o in dw)


# ----------------------------------------------------------------------------- golden numbers

GOLDEN = Path(__file__).resolve().parent / "golden" / "systolic_resnet18.json"


def _golden_rows():
    rows = {}
    wl = load_workload(CNN / "resnet18.csv")
    for preset in ("tpu-128x128", "scalesim-32x32-os", "eyeriss-like-12x14"):
        sa = load_arch(REPO / "arch_configs" / "systolic" / f"{preset}.toml").components["sa"]
        rs = [S.evaluate(sa, op, ctx()) for op in wl.ops]
        rows[preset] = {
            "cycles": sum(r.cycles for r in rs),
            "stall_cycles": sum(r.details["stall_cycles"] for r in rs),
            "dram_bytes": sum(r.dram_bytes for r in rs),
            "sram_ifmap_read_words": sum(r.details["sram_ifmap_read_words"] for r in rs),
        }
    return rows


def test_golden_resnet18_totals():
    """Regression numbers of the own model; regenerate deliberately with
    ARCHSIM_UPDATE_GOLDEN=1 pytest tests/test_systolic_component.py -k golden."""
    import os
    got = _golden_rows()
    if os.environ.get("ARCHSIM_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert got.keys() == want.keys()
    for preset, vals in want.items():
        for key, v in vals.items():
            assert got[preset][key] == pytest.approx(v, rel=1e-9), (preset, key)
