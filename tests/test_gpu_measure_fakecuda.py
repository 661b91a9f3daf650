"""measure_llm.py's GPU-only branches (event timing with the dispatch-hiding sleep, CUDA-graph
replay, the NVML power sampler and the power-capped loads, the poisoned-context exit) driven on
a CPU with torch.cuda faked: catches Python-level mistakes before device time is spent. Needs
torch (skipped where it is not installed, as in CI)."""
from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks" / "gpu"))


class _Event:
    def __init__(self, enable_timing=False):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass

    def elapsed_time(self, other):
        return (other.t - self.t) * 1e3


class _Graph:
    def __init__(self, fn):
        self.fn = fn

    def replay(self):
        self.fn()

    def reset(self):
        pass


def _fake_nvml():
    nv = types.ModuleType("pynvml")
    t0 = time.time()
    nv.NVML_CLOCK_SM, nv.NVML_CLOCK_MEM, nv.NVML_TEMPERATURE_GPU = 0, 1, 0
    nv.nvmlInit = lambda: None
    nv.nvmlDeviceGetHandleByIndex = lambda i: "h"
    nv.nvmlDeviceGetPowerUsage = lambda h: 650000
    nv.nvmlDeviceGetTotalEnergyConsumption = lambda h: int((time.time() - t0) * 650 * 1000)
    nv.nvmlDeviceGetClockInfo = lambda h, c: 1500 if c == 0 else 2619
    nv.nvmlDeviceGetTemperature = lambda h, c: 60
    nv.nvmlDeviceGetCurrentClocksEventReasons = lambda h: 0x4
    return nv


@pytest.fixture
def L(monkeypatch, tmp_path):
    import measure_llm as L
    L._import_torch()
    monkeypatch.setattr(torch.cuda, "Event", _Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "_sleep", lambda n: None, raising=False)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: 0)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a: None)
    monkeypatch.setattr(L, "capture_graph", lambda fn: (fn(), _Graph(fn))[1])
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml())
    monkeypatch.setattr(L, "POWER_GEMM_N", 64)
    monkeypatch.setattr(L, "POWER_COPY_BYTES", 2**16)
    L.MOE_PAD["rows"] = None          # probed again in this process
    return L


def _child(L, tmp_path, section, **kw):
    argv = ["--child", section, "--part", str(tmp_path / f"{section}.json"), "--dry-run",
            "--deadline", str(time.time() + kw.pop("budget", 120)), "--reps", "3"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}"] + ([str(v)] if v != "" else [])
    args = L.parse_args(argv)
    C = L.Child(args)
    # dry for construction (CPU tensors), then the GPU branches
    C.dry = False
    C.has_sleep = True
    return C


def test_time_call_gpu_branch(L, tmp_path):
    C = _child(L, tmp_path, "graph")
    x = torch.randn(1000)
    r = C.time_call(lambda: x.mul(2.0))
    assert r["times_s"]["n"] >= 3 and r["stream_s"] > 0 and r["wall_s"]["n"] == 5
    assert r["dispatch_hidden"] is True and r["sleep_s"] > r["host_s"]
    r = C.time_call(lambda: x.mul(2.0), syncs=True)
    assert r["sleep_s"] == 0.0 and r["dispatch_hidden"] is False


def test_graph_section_gpu_branches(L, tmp_path, monkeypatch):
    monkeypatch.setattr(L.MC, "GRAPH_CHAINS", L.MC.GRAPH_CHAINS_TINY)
    monkeypatch.setattr(L.MC, "layer_cases", lambda s, f=L.MC.layer_cases: f("tiny"))
    monkeypatch.setattr(L.MC, "chain_op", lambda kind, n, tiny=False, f=L.MC.chain_op: f(kind, n, True))
    C = _child(L, tmp_path, "graph")
    L.sec_graph(C)
    C.save(force=True)
    recs = C.results
    graph = [r for r in recs if r["variant"] == "graph"]
    assert graph and all("error" not in r and "skipped" not in r for r in recs), \
        [r.get("error") for r in recs if "error" in r]
    assert all(r["times_s"]["median"] > 0 for r in graph)
    assert C.done and C.next_index == C.n_cases
    moe = [r for r in recs if "moe_grouped" in r["impl"]]
    assert moe and all("expert_tokens" in r for r in moe)
    assert C.meta["moe_grouped_mm_probe"]["pad_rows"] == 1


def test_power_clock_gpu_branch(L, tmp_path):
    C = _child(L, tmp_path, "power_clock", power_load_s=0.6)
    C.deadline = time.time() + 60
    L.sec_power_clock(C)
    C.save(force=True)
    loads = C.power["loads"]
    assert C.power["clock_backend"] == "nvml"
    g = loads["capped_gemm_bf16_8192"]
    assert "error" not in g, g.get("error")
    assert g["calls"] > 0 and g["achieved_tflops"] > 0 and g["op"]["m"] == 64
    assert g["mean_steady_power_w"] == pytest.approx(650.0)
    assert g["throttle_reasons_steady"] == {"sw_power_cap": 1.0}
    assert g["energy_per_call_j"] == pytest.approx(650.0 * g["steady_time_per_call_s"])
    assert g["energy_counter_power_w"] == pytest.approx(650.0, rel=0.1)
    assert loads["capped_copy_2gib"]["achieved_tb_s"] > 0
    assert "mean_steady_power_w" in loads["capped_idle_before"]
    json.dumps(C.power)


def test_poisoned_context_exits_for_a_restart(L, tmp_path, monkeypatch):
    C = _child(L, tmp_path, "attn_impl")
    exits = []

    def fake_exit(code):
        exits.append(code)
        raise SystemExit(code)
    monkeypatch.setattr(L.os, "_exit", fake_exit)
    rec = {"section": "attn_impl"}
    try:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    except RuntimeError as exc:
        with pytest.raises(SystemExit):
            C.fail(rec, exc, 7, "x")
    assert exits == [L.POISON_EXIT] and rec["poisoned_context"] is True
    d = json.loads((tmp_path / "attn_impl.json").read_text())
    assert d["next_index"] == 8 and d["meta"]["poisoned"]["index"] == 7


def test_step_and_attention_gpu_branches(L, tmp_path, monkeypatch):
    monkeypatch.setattr(L.MC, "step_cases", lambda s, f=L.MC.step_cases: f("tiny"))
    C = _child(L, tmp_path, "llm_step")
    L.sec_llm_step(C)
    graph = [r for r in C.results if r["variant"] == "graph"]
    assert graph and all("error" not in r and "skipped" not in r for r in C.results), \
        [r.get("error") for r in C.results if "error" in r]
    moe = [r for r in graph if "moe" in r["impl"]]
    assert moe and all(r["expert_tokens_per_layer"] for r in moe)
    assert all(len(r["ops"]) <= r["n_ops"] for r in graph)
    monkeypatch.setattr(L.MC, "attn_cases", lambda s, f=L.MC.attn_cases: f("tiny"))
    C = _child(L, tmp_path, "attn_impl", no_profile="")
    L.sec_attn_impl(C)
    ok = [r for r in C.results if "times_s" in r]
    assert any(r["impl"] == "sdpa:default" for r in ok) and any(r["impl"] == "sdpa:math" for r in ok)
    assert all(r["extra"].get("rel_err_vs_default", 0) < 0.05 for r in ok)
