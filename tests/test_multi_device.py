"""Multi-device systems (issue 13): presets, the collective link model (hand-worked), the
transformer splits (TP / PP / EP) on the scheduler, per-device memory."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import archsim
from archsim.blocks.interconnect import collective_time
from archsim.blocks.interconnect.spec import Spec as LinkSpec
from archsim.errors import ConfigError, ModelError
from archsim.workloads.load import load_workload

ROOT = Path(__file__).resolve().parents[1]
NV8 = ROOT / "arch_configs/multi/h100-x8-nvlink.toml"


def _arch(n=8, path=NV8, **over):
    return archsim.load_arch(path, {"system.devices": n, **over})


class _Op:
    """An op of a Report with its span on the timeline."""
    def __init__(self, r, tl, i):
        self.__dict__.update({k: getattr(r, k) for k in ("name", "op", "component", "resource", "latency_s",
                                                          "flops", "energy_j", "details")})
        self.start_s, self.end_s = float(tl.start_s[i]), float(tl.end_s[i])


def _ops(rep):
    return [_Op(o, rep.timeline, i) for i, o in enumerate(rep.ops)]


def _wl(model="llama-3-8b", **kw):
    params = {"model": f"workloads/llm/{model}.json", "phase": "decode", "batch": 8, "context": 1024, **kw}
    return load_workload({"generator": "transformer", "params": params})


# ----------------------------------------------------------------------------- presets

def test_h100_x8_preset_replicates_the_device_and_set_devices():
    a = archsim.load_arch(NV8)
    assert a.devices == 8 and [c for c in a.components if c.startswith("gpu")] == [f"gpu{i}" for i in range(8)]
    assert a.component_kinds["nvswitch"] == "interconnect"
    assert a.components["nvswitch"].bandwidth_gb_s == 450.0 and a.components["nvswitch"].in_network_reduction
    two = _arch(2)
    assert [c for c in two.components if c.startswith("gpu")] == ["gpu0", "gpu1"]
    for p in sorted((ROOT / "arch_configs/multi").glob("*.toml")):
        assert archsim.load_arch(p).devices > 1, p


def test_system_errors_name_the_key():
    with pytest.raises(ConfigError, match="system.device"):
        archsim.load_arch(NV8, {"system.device": "nope"})
    with pytest.raises(ConfigError, match="system.devices"):
        archsim.load_arch(NV8, {"system.devices": 0})
    with pytest.raises(ConfigError, match="system.interconnect"):
        archsim.load_arch(NV8, {"system.interconnect": "gpu"})


# ----------------------------------------------------------------------------- link model

def test_ring_all_reduce_hand_worked():
    # 8 ranks, 1 GB each, 450 GB/s per direction at full efficiency, 1 us per step:
    # 2 (N-1)/N x S / B = 2 x 7/8 x 1e9 / 450e9 = 3.888889 ms, + 2 (N-1) = 14 steps x 1 us
    s = LinkSpec(bandwidth_gb_s=450.0, latency_us=1.0, bandwidth_efficiency=1.0)
    ct = collective_time(s, "all_reduce", 1e9, 8, "ring")
    assert ct.time_s == pytest.approx(3.888889e-3 + 14e-6, rel=1e-6) and ct.steps == 14
    assert ct.wire_bytes == pytest.approx(1.75e9)
    # at 80 % efficiency the bandwidth term grows by 1 / 0.8
    s8 = attrs.evolve(s, bandwidth_efficiency=0.8)
    assert collective_time(s8, "all_reduce", 1e9, 8, "ring").time_s == pytest.approx(3.888889e-3 / 0.8 + 14e-6, rel=1e-6)
    # double binary tree: 2 S / B + 2 ceil(log2 8) = 6 steps
    assert collective_time(s, "all_reduce", 1e9, 8, "tree").time_s == pytest.approx(2e9 / 450e9 + 6e-6, rel=1e-9)
    # switch reduction (NVLS): S / B + 2 steps
    sw = attrs.evolve(s, in_network_reduction=True)
    assert collective_time(sw, "all_reduce", 1e9, 8, "in_network").time_s == pytest.approx(1e9 / 450e9 + 2e-6, rel=1e-9)
    assert collective_time(sw, "all_reduce", 1e9, 8).algorithm == "in_network"         # auto: fastest
    assert collective_time(s, "all_reduce", 1e3, 8).algorithm == "tree"                 # latency-bound: tree
    with pytest.raises(ModelError, match="in_network"):
        collective_time(s, "all_reduce", 1e9, 8, "in_network")
    # all-gather / reduce-scatter: (N-1)/N S / B + (N-1) steps; send/recv: S / B + 1 step
    assert collective_time(s, "all_gather", 8e8, 8).time_s == pytest.approx(7e8 / 450e9 + 7e-6, rel=1e-9)
    assert collective_time(s, "reduce_scatter", 8e8, 8).time_s == pytest.approx(7e8 / 450e9 + 7e-6, rel=1e-9)
    assert collective_time(s, "send_recv", 9e8).time_s == pytest.approx(2e-3 + 1e-6, rel=1e-9)
    # all-to-all on a ring crosses N/4 hops on average
    ring = attrs.evolve(s, topology="ring")
    assert collective_time(ring, "all_to_all", 8e8, 8).time_s == pytest.approx(7e8 * 2 / 450e9 + 7e-6, rel=1e-9)


def test_collective_ops_in_a_trace_run_on_link_resources(tmp_path):
    f = tmp_path / "t.jsonl"
    recs = [{"op": "gemm", "name": "g0", "m": 2048, "k": 4096, "n": 4096, "dtype": "bf16", "device": 0},
            {"op": "gemm", "name": "g1", "m": 2048, "k": 4096, "n": 4096, "dtype": "bf16", "device": 1, "after": []},
            {"op": "all_reduce", "name": "ar0", "bytes": 1 << 24, "ranks": 2, "algorithm": "ring", "device": 0,
             "after": ["g0", "g1"]},
            {"op": "all_reduce", "name": "ar1", "bytes": 1 << 24, "ranks": 2, "algorithm": "ring", "device": 1,
             "after": ["g0", "g1"]},
            {"op": "gemm", "name": "h0", "m": 2048, "k": 4096, "n": 4096, "dtype": "bf16", "device": 0, "after": ["g0"]}]
    f.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    w = archsim.load_workload(f)
    assert w.devices == (0, 1, 0, 1, 0)
    r = archsim.simulate(_arch(2), w)
    ops = {o.name: o for o in _ops(r)}
    assert ops["g1"].resource == "gpu1.sm" and ops["ar1"].resource == "nvswitch.link1"
    sp = _arch(2).components["nvswitch"]
    assert ops["ar0"].latency_s == pytest.approx(collective_time(sp, "all_reduce", 1 << 24, 2, "ring").time_s)
    # the next GEMM on gpu0 runs while the all-reduce is on the link
    assert ops["h0"].start_s < ops["ar0"].end_s and ops["ar0"].start_s < ops["h0"].end_s
    assert ops["ar0"].energy_j > 0
    # the trace form keeps the devices
    assert [rec.get("device") for rec in w.trace_records()] == [0, 1, 0, 1, 0]
    with pytest.raises(ConfigError, match="needs 2 devices"):
        archsim.simulate(_arch(1), w)


# ----------------------------------------------------------------------------- splits

def test_tp2_layer_timeline_shows_the_overlap():
    """One Llama-3-8B decoder layer, TP = 2, two micro-batches: micro-batch 0's all-reduce after
    o_proj runs on the link while micro-batch 1's o_proj runs on the SMs."""
    a = _arch(2)
    w = _wl(layers=1, tensor_parallel=2, micro_batches=2, batch=16)
    r = archsim.simulate(a, w)
    kinds = {o.op for o in _ops(r)}
    assert {"all_reduce"} <= kinds
    ar = [o for o in _ops(r) if o.op == "all_reduce" and o.resource == "nvswitch.link0"]
    assert len(ar) == 4      # after attention and after the MLP, per micro-batch
    comp = [o for o in _ops(r) if o.resource == "gpu0.sm"]
    overlap = sum(max(0.0, min(a_.end_s, c.end_s) - max(a_.start_s, c.start_s)) for a_ in ar for c in comp)
    assert overlap > 0.5 * sum(o.latency_s for o in ar)
    busy = sum(o.latency_s for o in comp) + sum(o.latency_s for o in ar)
    assert r.latency_s < busy                     # communication partly hidden
    # without micro-batches the all-reduce is exposed (Megatron: on the critical path)
    r1 = archsim.simulate(a, _wl(layers=1, tensor_parallel=2, batch=16))
    ar1 = [o for o in _ops(r1) if o.op == "all_reduce" and o.resource == "nvswitch.link0"]
    comp1 = [o for o in _ops(r1) if o.resource == "gpu0.sm"]
    assert sum(max(0.0, min(x.end_s, c.end_s) - max(x.start_s, c.start_s)) for x in ar1 for c in comp1) == 0.0
    # each rank's projections are half the single-device ones
    one = archsim.simulate(archsim.load_arch(ROOT / "arch_configs/gpu/h100-sxm.toml"), _wl(layers=1, batch=16))
    f1 = {o.name: o.flops for o in _ops(one)}
    f2 = {o.name: o.flops for o in _ops(r1) if o.component == "gpu0"}
    assert f2["decode.qkv_proj"] == pytest.approx(f1["decode.qkv_proj"] / 2)
    assert f2["decode.down_proj"] == pytest.approx(f1["decode.down_proj"] / 2)


def test_split_the_devices_cannot_hold_is_exit_2(tmp_path):
    with pytest.raises(ConfigError, match=r"tensor_parallel 4.*needs 4 devices.*has 2"):
        archsim.simulate(_arch(2), _wl(layers=1, tensor_parallel=4))
    with pytest.raises(ConfigError, match="not divisible by tensor_parallel 3"):
        _wl(tensor_parallel=3)
    with pytest.raises(ConfigError, match="expert_parallel"):
        _wl(expert_parallel=2)                                     # a dense model
    f = tmp_path / "w.toml"
    f.write_text('generator = "transformer"\n[params]\nmodel = "workloads/llm/llama-3-8b.json"\n'
                 'layers = 1\ntensor_parallel = 8\n')
    p = subprocess.run([sys.executable, "-m", "archsim", "run", str(NV8), str(f), "--set", "system.devices=2"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "needs 8 devices" in p.stderr and "has 2" in p.stderr


def test_pipeline_parallel_gpipe_and_memory_per_device():
    a = _arch(4)
    w = _wl("llama-3-70b", pipeline_parallel=4, batch=8)
    r = archsim.simulate(a, w)
    sends = [o for o in _ops(r) if o.op == "send_recv"]
    assert len(sends) == 4 * 3                          # 4 micro-batches x 3 stage boundaries
    assert {o.component for o in _ops(r) if o.op == "linear"} == {"gpu0", "gpu1", "gpu2", "gpu3"}
    # GPipe: the last stage starts micro-batch 0 before the first stage has finished micro-batch 3
    first_end = max(o.end_s for o in _ops(r) if o.component == "gpu0")
    last_start = min(o.start_s for o in _ops(r) if o.component == "gpu3")
    assert last_start < first_end
    mem = r.memory
    per = mem["per_device"]
    assert len(per) == 4 and all(d["fits"] for d in per)
    assert sum(d["weights"] for d in per) == pytest.approx(mem["weights"], rel=1e-9)
    assert sum(d["kv_cache"] for d in per) == pytest.approx(mem["kv_cache"], rel=1e-9)
    # per-device totals sum to the single-device total + buffers + each stage's activations
    extra = sum(d["comm_buffers"] for d in per) + 3 * mem["activations"]
    assert sum(d["total"] for d in per) == pytest.approx(mem["total"] + extra, rel=1e-9)
    assert mem["max_batch"] == min(d["max_batch"] for d in per)
    # the same model does not fit one H100
    with pytest.raises(ModelError, match="does not fit"):
        archsim.simulate(archsim.load_arch(ROOT / "arch_configs/gpu/h100-sxm.toml"), _wl("llama-3-70b"))


def test_tensor_parallel_memory_shards_and_replicas():
    r = archsim.simulate(_arch(4), _wl("llama-3-70b", tensor_parallel=4, batch=8))
    mem, per = r.memory, r.memory["per_device"]
    w = sum(d["weights"] for d in per)
    assert mem["weights"] < w < mem["weights"] * 1.1        # norms / embedding replicated
    assert sum(d["kv_cache"] for d in per) == pytest.approx(mem["kv_cache"], rel=1e-9)   # 8 KV heads / 4
    assert per[0]["total"] < 80e9 < mem["total"]


def test_expert_parallel_all_to_all_mixtral():
    r = archsim.simulate(_arch(8), _wl("mixtral-8x7b", expert_parallel=8, batch=64))
    a2a = [o for o in _ops(r) if o.op == "all_to_all"]
    assert len(a2a) == 2 * 8                 # dispatch + combine per rank
    moe = [o for o in _ops(r) if o.op == "moe_ffn"]
    assert len(moe) == 8 and all(o.details.get("repeat", 1) == 32 for o in moe)
    per = r.memory["per_device"]
    assert all(d["fits"] for d in per) and per[0]["weights"] < r.memory["weights"] / 4


# ----------------------------------------------------------------------------- serving view

def test_serve_rows_best_split_and_breakdown():
    from archsim.studies.serving import best_split, serve, splits_of
    assert sorted(splits_of(4, moe=False)) == sorted([(1, 1, 1, 4), (1, 2, 1, 2), (2, 1, 1, 2), (1, 4, 1, 1),
                                                      (2, 2, 1, 1), (4, 1, 1, 1)])
    rows = serve(NV8, "llama-3-8b", devices=2, batches=(1, 8), prompt_tokens=256, output_tokens=64,
                 workload_params={"layers": 2})
    by = {(r["split"], r["batch"]): r for r in rows}
    tp2 = by[("tp2 pp1 ep1", 8)]
    assert tp2["communication_s"] > 0 and tp2["exposed_communication_s"] <= tp2["communication_s"] + 1e-15
    assert tp2["tpot_s"] == pytest.approx(tp2["decode_step_s"] + 8 / 64 * tp2["prefill_s"])
    assert tp2["ttft_s"] == pytest.approx(tp2["prefill_s"] + tp2["tpot_s"])
    rep = by[("tp1 pp1 ep1 x2", 8)]
    assert rep["tokens_per_s"] == pytest.approx(2 * 8 / rep["tpot_s"]) and rep["communication_s"] == 0
    # throughput grows with batch, and the best split under a loose target is the fastest row
    assert by[("tp2 pp1 ep1", 8)]["tokens_per_s"] > by[("tp2 pp1 ep1", 1)]["tokens_per_s"]
    assert best_split(rows)["tokens_per_s"] == max(r["tokens_per_s"] for r in rows)
    assert best_split(rows, tpot_s=1e-9) is None


def test_hybrid_moe_bound_limits():
    from archsim.studies.serving import HostSide, hybrid_moe_bound
    b1 = hybrid_moe_bound("mixtral-8x7b", gpu_capacity_bytes=24e9, gpu_hbm_gb_s=1008.0, batch=1, context=512)
    assert 0 < b1["resident_expert_fraction"] < 1 and b1["active_experts_per_layer"] == pytest.approx(2.0)
    # batch 1: two experts per layer from host memory, read at the host bandwidth (CPU computes them)
    assert b1["limit"] == "host_memory"
    assert b1["cpu_s"] == pytest.approx(b1["host_bytes_per_step"] / 307.2e9)
    # a slow host memory and a fast PCIe: fetching the experts to the GPU wins
    fast = hybrid_moe_bound("mixtral-8x7b", gpu_capacity_bytes=24e9, gpu_hbm_gb_s=1008.0, batch=1, context=512,
                            host=HostSide(memory_bandwidth_gb_s=20.0, pcie_gb_s=63.0))
    assert fast["limit"] == "pcie" and fast["step_s"] == pytest.approx(fast["pcie_s"])
    big = hybrid_moe_bound("mixtral-8x7b", gpu_capacity_bytes=200e9, gpu_hbm_gb_s=1008.0, batch=1, context=512)
    assert big["resident_expert_fraction"] == 1.0 and big["limit"] == "gpu_hbm"


def test_serve_cli_json_plots_and_hybrid(tmp_path):
    out = tmp_path / "s.json"
    p = subprocess.run([sys.executable, "-m", "archsim", "serve", str(NV8), "llama-3-8b", "--split", "2,1,1",
                        "--batches", "1,4", "--prompt", "256", "--output", "64", "--tpot-ms", "1000",
                        "--json", str(out), "--plot", str(tmp_path / "plots")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())
    assert [r["batch"] for r in rows] == [1, 4] and rows[0]["split"] == "tp2 pp1 ep1"
    assert "best: tp2 pp1 ep1 at batch 4" in p.stdout
    assert {f.name for f in (tmp_path / "plots").iterdir()} >= {"serving_frontier.png", "serving_breakdown.png",
                                                               "serving_memory.png"}
    h = subprocess.run([sys.executable, "-m", "archsim", "serve", str(ROOT / "arch_configs/gpu/rtx3090.toml"),
                        "mixtral-8x7b", "--hybrid-moe", "--batches", "1", "--prompt", "256", "--json",
                        str(tmp_path / "h.json")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert h.returncode == 0, h.stderr
    assert json.loads((tmp_path / "h.json").read_text())[0]["limit"] == "host_memory"


def test_relabel_moves_resources_and_channels_per_device():
    from archsim.blocks.base import OpResult, Placement
    from archsim.simulate import _relabel
    a = _arch(4)
    r = OpResult(name="x", op="gemm", component="gpu0", cycles=1, latency_s=1e-6,
                 placement=Placement(resource="gpu0.sm", chunks=4, channel="gpu0.dram", channel_s=1e-7))
    m = _relabel(r, a, 3)
    assert (m.component, m.resource, m.placement.channel, m.placement.chunks) == ("gpu3", "gpu3.sm", "gpu3.dram", 4)
    link = OpResult(name="y", op="all_reduce", component="nvswitch", cycles=1, latency_s=1e-6,
                    placement=Placement(resource="nvswitch.link"))
    assert _relabel(link, a, 2).resource == "nvswitch.link2"
    assert _relabel(r, a, 0).resource == "gpu0.sm"


def test_sequence_parallel_uses_reduce_scatter_and_all_gather():
    a = _arch(4, **{"components.nvswitch.in_network_reduction": False})
    kw = dict(phase="prefill", batch=1, context=512, layers=2, tensor_parallel=4)
    plain = archsim.simulate(a, _wl(**kw))
    sp = archsim.simulate(a, _wl(sequence_parallel=True, **kw))
    kinds = {o.op for o in sp.ops}
    assert {"reduce_scatter", "all_gather"} <= kinds and "all_reduce" not in kinds
    # on a ring, reduce-scatter + all-gather move what the all-reduce moved, in as many steps
    link = [sum(o.latency_s for o in r.ops if o.resource == "nvswitch.link0") for r in (plain, sp)]
    assert link[1] == pytest.approx(link[0], rel=1e-9)
    norms = {o.name: o for o in sp.ops if o.component == "gpu0" and o.op == "norm"}
    assert norms["prefill.attn_norm"].flops == pytest.approx(
        next(o.flops for o in plain.ops if o.component == "gpu0" and o.name == "prefill.attn_norm") / 4)


def test_split_request_reports_ttft_at_the_end_of_the_prefill():
    r = archsim.simulate(_arch(2), _wl(phase="request", context=256, output_tokens=8, layers=2, tensor_parallel=2))
    ops = _ops(r)
    last_pre = max(o.end_s for o in ops if o.name.startswith("prefill."))
    assert r.llm["ttft_s"] == pytest.approx(last_pre)
    assert r.llm["tpot_s"] == pytest.approx((r.latency_s - last_pre) / 7)
