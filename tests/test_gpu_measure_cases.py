"""benchmarks/gpu/measure_cases.py (the torch-free half of measure_llm.py): every case of every
section builds valid archsim ops, the hand-checked shapes of a few layers, memory and time
estimates that fit the device runs, the nvidia-smi / power helpers, and `measure_llm.py --plan`
running without torch. No GPU and no torch needed."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archsim.config.registry import op_types
from archsim.workloads.ops import op_to_dict, parse_op

REPO = Path(__file__).resolve().parents[1]
GPU_BENCH = REPO / "benchmarks" / "gpu"


def _load_cases():
    spec = importlib.util.spec_from_file_location("measure_cases", GPU_BENCH / "measure_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MC = _load_cases()


def _parse_all(ops, where):
    kinds = op_types()
    out = []
    for i, o in enumerate(ops):
        assert o["op"] in kinds, (where, o)
        op = parse_op(dict(o), file=where, key=f"ops[{i}]")
        d = op_to_dict(op)
        assert d["name"] == o.get("name", ""), (where, o)
        out.append(op)
    return out


@pytest.mark.parametrize("set_name", ["tiny", "smoke", "full"])
def test_every_layer_case_builds_valid_ops(set_name):
    cases = MC.layer_cases(set_name)
    assert cases
    for c in cases:
        ops = _parse_all(MC.layer_ops(c), f"layer {c}")
        names = [o.name for o in ops]
        assert len(names) == len(set(names)), f"op names must be unique within a layer: {c}"
        assert "o_proj" in names and "residual_ffn" in names
        la = MC.logical_attention(c)
        _parse_all([la], "logical")
        assert c["modes"] == (["eager"] if c["ffn"] == "moe_loop" else ["eager", "graph"])


@pytest.mark.parametrize("set_name", ["tiny", "full"])
def test_every_step_case_builds_valid_ops(set_name):
    for c in MC.step_cases(set_name):
        ops = MC.step_ops(c)
        _parse_all(ops, f"step {c}")
        agg = MC.aggregate_ops(ops)
        _parse_all(agg, f"step aggregated {c}")
        assert sum(o.get("repeat", 1) for o in agg) == sum(o.get("repeat", 1) for o in ops)
        assert MC.ops_estimate_s(agg) == pytest.approx(MC.ops_estimate_s(ops), rel=1e-9)
        cfg = MC.MODELS[c["model"]]
        full = c["layers"] == cfg["layers"]
        assert any(o["name"] == "lm_head" for o in ops) == full


@pytest.mark.parametrize("set_name", ["tiny", "a", "b"])
def test_attention_cases_and_variants(set_name):
    cases = MC.attn_cases(set_name)
    assert cases
    for c in cases:
        _parse_all([MC.attn_op(c)], f"attn {c}")
        vs = MC.attn_variants(c)
        backends = {b for b, _ in vs}
        assert {"default", "flash", "efficient", "cudnn", "math", "flash_attn"} <= backends
        if c["heads"] == c["kv_heads"]:
            assert all(g == "native" for _, g in vs)
        else:
            assert ("flash", "expanded") in vs and ("default", "expand_per_call") in vs
        for b, _ in vs:
            mode = MC.attn_mask_mode(c, b)
            if c["causal"] and 1 < c["q_len"] < c["kv_len"]:
                assert mode != "is_causal" or b == "flash_attn"     # bottom-right alignment
            if not c["causal"] or c["q_len"] == 1:
                assert mode == "none"


def test_graph_chain_ops_are_valid():
    for kind, n in MC.GRAPH_CHAINS + MC.GRAPH_CHAINS_TINY:
        (op,) = _parse_all([MC.chain_op(kind, n)], kind)
        assert op.repeat == n


def test_llama3_8b_decode_layer_by_hand():
    c = MC._layer_case("llama-3-8b", "gqa", "dense", "decode", 4, 1024)
    ops = {o["name"]: o for o in MC.layer_ops(c)}
    assert (ops["qkv_proj"]["m"], ops["qkv_proj"]["k"], ops["qkv_proj"]["n"]) == (4, 4096, 6144)
    a = ops["attention"]
    assert (a["batch"], a["q_len"], a["kv_len"], a["heads"], a["kv_heads"], a["head_dim"]) == (4, 1, 1025, 32, 8, 128)
    assert a["causal"] is False and "attn_out_transpose" not in ops
    assert (ops["gate_up_proj"]["n"], ops["down_proj"]["k"]) == (2 * 14336, 14336)
    assert ops["kv_write"]["bytes"] == 2 * 4 * 8 * 128 * 2
    p = MC._layer_case("llama-3-8b", "gqa", "dense", "prefill", 2, 512)
    ops = {o["name"]: o for o in MC.layer_ops(p)}
    assert ops["attention"]["causal"] is True and ops["attention"]["kv_len"] == 512
    assert ops["qkv_proj"]["m"] == 1024 and "attn_out_transpose" in ops
    # weights of one Llama-3-8B layer: 218 M parameters
    assert MC.layer_weight_bytes(MC.MODELS["llama-3-8b"], "dense") == pytest.approx(2 * 218.1e6, rel=0.01)


def test_moe_and_mla_layers_by_hand():
    c = MC._layer_case("mixtral-8x7b", "gqa", "moe_grouped", "decode", 16, 1024)
    ops = MC.layer_ops(c)
    gu = [o for o in ops if o["name"].endswith(".gate_up")]
    assert sum(o["m"] for o in gu) == 16 * 2 and {o["n"] for o in gu} == {2 * 14336}
    assert any(o["op"] == "topk" and o["k"] == 2 and o["n"] == 8 for o in ops)
    # measured routing replaces the uniform counts; idle experts have no GEMM
    ops = MC.layer_ops(c, expert_tokens=[32, 0, 0, 0, 0, 0, 0, 0])
    assert [o["m"] for o in ops if o["name"].endswith(".gate_up")] == [32]
    d = MC._layer_case("deepseek-v2-lite", "mla_absorbed", "moe_grouped", "decode", 8, 4096)
    ops = {o["name"]: o for o in MC.layer_ops(d)}
    s = ops["scores"]
    assert (s["batch"], s["m"], s["k"], s["n"]) == (8, 16, 512 + 64, 4097)
    assert (ops["q_absorb"]["batch"], ops["q_absorb"]["k"], ops["q_absorb"]["n"]) == (16, 128, 512)
    assert ops["kv_write_c"]["bytes"] == 8 * 512 * 2
    assert sum(o["m"] for n, o in ops.items() if n.endswith(".gate_up")) == 8 * 6
    assert ops["shared.gate_up_proj"]["n"] == 2 * 2 * 1408
    n = MC._layer_case("deepseek-v2-lite", "mla_naive", "moe_grouped", "decode", 8, 4096)
    ops = {o["name"]: o for o in MC.layer_ops(n)}
    assert ops["attention"]["head_dim"] == 192 and ops["attention"]["kv_heads"] == 16
    # cache per token per layer: latent 576 x 2 B (absorbed) vs K 192 + padded V 192 per head
    cfg = MC.MODELS["deepseek-v2-lite"]
    assert MC.kv_bytes_per_token(cfg, "mla_absorbed") == 1152
    assert MC.kv_bytes_per_token(cfg, "mla_naive") == 2 * 2 * 16 * 192
    with pytest.raises(ValueError):
        MC.layer_ops(MC._layer_case("deepseek-v2-lite", "mla_absorbed", "moe_grouped", "prefill", 1, 512))


def test_cases_fit_the_device_memory_limit():
    limit = 68 * 2**30          # measure_llm.py --mem-limit-gib default (an 80 GB H100)
    for c in MC.layer_cases("full") + MC.layer_cases("smoke"):
        assert MC.case_memory_bytes(c) < limit / 3, c
    for c in MC.step_cases("full"):
        assert MC.case_memory_bytes(c) < limit, c


def test_plans_fit_a_nine_minute_command():
    for run, sections in (("a", "calib,attn_impl,graph,power_clock,power_duty,workload,random"),
                          ("b", "llm_layer,llm_step,attn_impl,llm_profile")):
        rows = MC.plan_sections(sections.split(","), run, "full", "full", 15.0)
        total = sum(r["est_s"] + 8 for r in rows)
        assert 150 < total < 470, (run, total)


def test_smi_parsing_and_power_summary():
    fields = ["power.draw", "clocks.sm", "clocks.mem", "temperature.gpu", "clocks_event_reasons.active"]
    t, v = MC.parse_smi_line("2026/11/30 12:00:01.250, 699.51, 1440, 2619, 61, 0x0000000000000004", fields)
    assert t == pytest.approx(12 * 3600 + 1.25)
    assert v == {"power.draw": 699.51, "clocks.sm": 1440.0, "clocks.mem": 2619.0,
                 "temperature.gpu": 61.0, "clocks_event_reasons.active": 4}
    assert MC.parse_smi_line("garbage", fields) is None
    assert MC.parse_smi_line("2026/11/30 12:00:01.250, [N/A], 1440, 2619, 61, 0x0", fields)[1]["power.draw"] is None
    assert MC.decode_throttle(0x4 | 0x20) == ["sw_power_cap", "sw_thermal_slowdown"]
    assert MC.decode_throttle(0x1000) == ["other_0x1000"]
    samples = [{"t": 0.1 * i, "power_w": 300.0 if i < 10 else 700.0, "sm_mhz": 1980.0 if i < 10 else 1500.0,
                "energy_mj": 1000.0 * (0.1 * i) * (300 if i < 10 else 700), "reasons": 4 if i >= 10 else 0}
               for i in range(51)]
    s = MC.summarise_samples(samples, 0.0, 5.0, settle_s=2.0)
    assert s["mean_steady_power_w"] == pytest.approx(700.0)
    assert s["mean_steady_sm_mhz"] == pytest.approx(1500.0)
    assert s["throttle_reasons_steady"] == {"sw_power_cap": 1.0}
    assert s["energy_integrated_j"] == pytest.approx(0.9 * 300 + 0.1 * 500 + 4.0 * 700, rel=1e-6)
    assert MC.stats([3.0, 1.0, 2.0])["median"] == 2.0
    assert len(MC.downsample(list(range(1000)), 100)) == 100


def test_plan_runs_without_torch(tmp_path):
    """`measure_llm.py --plan` (and the driver) import no torch: a torch that refuses to import
    must not matter."""
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here')\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for run in ("a", "b"):
        r = subprocess.run([sys.executable, str(GPU_BENCH / "measure_llm.py"), "--plan", "--run", run,
                            "--verbose"], capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "total estimate" in r.stdout
    r = subprocess.run([sys.executable, str(GPU_BENCH / "measure_llm.py"), "--plan", "--sections", "nope"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2


def test_op_lists_are_json_round_trippable():
    c = MC._layer_case("deepseek-v2-lite", "mla_naive", "moe_grouped", "prefill", 1, 512)
    ops = MC.layer_ops(c)
    assert json.loads(json.dumps(ops)) == ops


def test_driver_restarts_a_poisoned_section_and_kills_an_overrun(tmp_path, monkeypatch):
    """The driver (no torch): a child that exits with the poisoned-context code is restarted at
    its next case until done; a child that hangs is killed at its deadline and the run goes on;
    the merged file holds every record."""
    spec = importlib.util.spec_from_file_location("measure_llm_t", GPU_BENCH / "measure_llm.py")
    L = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(L)
    child = tmp_path / "child.py"
    child.write_text(
        "import json, sys, time\n"
        "part, start, sec = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
        "if sec == 'graph':\n"
        "    json.dump({'meta': {}, 'results': [{'section': 'graph', 'i': 0}]}, open(part, 'w'))\n"
        "    time.sleep(300)\n"
        "json.dump({'meta': {'device': {'name': 'NVIDIA H100 80GB HBM3'}},\n"
        "           'results': [{'section': sec, 'i': start}], 'next_index': start + 1, 'n_cases': 3},\n"
        "          open(part, 'w'))\n"
        "sys.exit(3 if start < 2 else 0)\n")
    monkeypatch.setattr(L.Driver, "child_cmd", lambda self, sec, part, budget, start:
                        [sys.executable, str(child), str(part), str(start), sec])
    out = tmp_path / "m.json"
    args = L.parse_args(["--out", str(out), "--sections", "attn_impl,graph", "--budget-s", "14",
                         "--reserve-s", "1", "--grace-s", "1", "--min-section-s", "2", "--dry-run",
                         "--workdir", str(tmp_path / "w")])
    t0 = __import__("time").time()
    final = L.Driver(args).run(["attn_impl", "graph"])
    assert __import__("time").time() - t0 < 30
    recs = final["results"]
    assert [r["i"] for r in recs if r["section"] == "attn_impl"] == [0, 1, 2]
    assert [r["i"] for r in recs if r["section"] == "graph"] == [0]
    secs = final["meta"]["suite"]["sections"]
    assert [r["rc"] for r in secs[0]["runs"]] == [3, 3, 0]
    assert secs[1]["runs"][0]["killed"] is True
    assert final["meta"]["device"]["name"] == "NVIDIA H100 80GB HBM3"
    assert json.loads(out.read_text())["results"] == recs
