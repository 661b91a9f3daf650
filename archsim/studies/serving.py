"""The serving view (`archsim serve ARCH MODEL`): throughput against TTFT / TPOT over batch
size with continuous batching, for every split (TP x PP x EP, data-parallel replicas over what
is left) of the arch's devices; the best split for a latency target; energy per token; and a
CPU-GPU hybrid MoE bound in the spirit of MoE-Lens.

Every number comes from `simulate` on the transformer generator (no private model):

- T_d(B): one decode step of B sequences at the mean context (prompt + output / 2);
- T_p: one prefill pass of a prompt (EP ranks each take one prompt);
- continuous batching, steady state (Orca / vLLM with chunked prefill interleaved, Sarathi-
  Serve): B sequences running, each emits a token per iteration, so B / output_tokens requests
  finish and as many start per iteration, whose prefill is interleaved (chunked) into it:
  iteration = T_d(B) + (B / output_tokens) x T_p. TPOT = the iteration, TTFT = T_p + one
  iteration (the prompt's prefill plus the iteration it joins), throughput = replicas x B /
  iteration output tokens/s, energy per token = (E_d + B / output_tokens x E_p) / B.
- time breakdown of the decode step on device 0: compute (its compute resources busy),
  communication (its link busy) and exposed communication (link busy while compute idles).

First order: queueing beyond one iteration, prefill/decode interference inside a fused kernel
and scheduling jitter are not modelled.
"""
from __future__ import annotations

import math
from pathlib import Path

import attrs

from archsim.config.arch import load_arch
from archsim.errors import ConfigError, ModelError
from archsim.simulate import simulate
from archsim.workloads.llm.config import load_config
from archsim.workloads.llm.ops import WEIGHT_BYTES, expected_active_experts
from archsim.workloads.llm import memory as M
from archsim.workloads.load import load_workload
from archsim.resources import shipped_root

REPO = shipped_root()          # holds arch_configs/ and workloads/ (the checkout, or the wheel's copy)


def model_path(model: str) -> Path:
    """A config.json path, or the name of one under workloads/llm/."""
    p = Path(model)
    if p.suffix == ".json" and p.is_file():
        return p.resolve()
    q = REPO / "workloads" / "llm" / (model if model.endswith(".json") else f"{model}.json")
    if q.is_file():
        return q
    raise ConfigError(model, "model", "expected a config.json path or one of: "
                      + ", ".join(sorted(x.stem for x in (REPO / "workloads" / "llm").glob("*.json"))))


def splits_of(devices: int, *, moe: bool) -> list[tuple[int, int, int, int]]:
    """(tp, pp, ep, replicas) with tp x pp x ep x replicas = devices."""
    out = []
    for group in [d for d in range(1, devices + 1) if devices % d == 0]:
        for tp in [d for d in range(1, group + 1) if group % d == 0]:
            for pp in [d for d in range(1, group // tp + 1) if (group // tp) % d == 0]:
                ep = group // (tp * pp)
                if ep > 1 and not moe:
                    continue
                out.append((tp, pp, ep, devices // group))
    return out


def _union(iv):
    iv = sorted(iv)
    out = []
    for a, b in iv:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def _measure(iv) -> float:
    return sum(b - a for a, b in _union(iv))


def _intersect(a, b) -> float:
    a, b = _union(a), _union(b)
    i = j = 0
    tot = 0.0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            tot += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tot


COMM_KINDS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv")


def time_breakdown(report, device_component: str) -> dict:
    """Device `device_component`'s compute time, communication time and the part of the
    communication not hidden behind its compute (seconds)."""
    tl = report.timeline
    comp, comm = [], []
    idx = device_component[len(device_component.rstrip("0123456789")):]
    for i, o in enumerate(report.ops):
        span = (float(tl.start_s[i]), float(tl.end_s[i]))
        if o.op in COMM_KINDS:
            if o.resource.endswith(f"link{idx}"):
                comm.append(span)
        elif o.component == device_component:
            comp.append(span)
    c, m = _measure(comp), _measure(comm)
    return {"compute_s": c, "communication_s": m, "exposed_communication_s": m - _intersect(comm, comp)}


def _workload(path: Path, **params):
    return load_workload({"generator": "transformer", "params": {"model": str(path), **params}})


def serve(arch_path, model: str, *, devices: int | None = None, prompt_tokens: int = 1024,
          output_tokens: int = 256, batches=(1, 4, 16, 64, 256), splits=None, overlap: bool = False,
          overrides=None, workload_params=None) -> list[dict]:
    """One row per (split, batch) that fits (see the module docstring); rows that do not fit
    or that the split cannot take are left out."""
    path = model_path(model)
    cfg = load_config(path)
    moe = bool(cfg.experts)
    base = load_arch(arch_path, overrides)
    n = devices or base.devices
    rows = []
    for tp, pp, ep, reps in (splits or splits_of(n, moe=moe)):
        group = tp * pp * ep
        over = dict(overrides or {})
        if base.system is not None:
            over["system.devices"] = group
        elif group > 1:
            continue
        arch = load_arch(arch_path, over)
        par = dict(tensor_parallel=tp, pipeline_parallel=pp, expert_parallel=ep, **(workload_params or {}))
        try:
            pre = simulate(arch, _workload(path, phase="prefill", batch=ep, context=prompt_tokens,
                                           micro_batches=1, **par))
        except (ConfigError, ModelError):
            continue
        t_p, e_p = pre.latency_s, pre.energy_j
        ctx = prompt_tokens + output_tokens // 2
        for b in batches:
            m = min(pp, max(1, b // ep)) if pp > 1 else (2 if overlap and b >= 2 * ep else 1)
            try:
                dec = simulate(arch, _workload(path, phase="decode", batch=b, context=ctx, micro_batches=m, **par))
            except (ConfigError, ModelError):
                continue
            it = dec.latency_s + b / output_tokens * t_p
            dev0 = arch.device_component(arch.system.device, 0) if arch.system is not None else \
                next(iter(arch.components))
            mem = dec.memory or {}
            per = mem.get("per_device") or [mem]
            rows.append({
                "split": f"tp{tp} pp{pp} ep{ep}" + (f" x{reps}" if reps > 1 else ""),
                "tensor_parallel": tp, "pipeline_parallel": pp, "expert_parallel": ep, "replicas": reps,
                "devices": group * reps, "batch": b, "micro_batches": m,
                "ttft_s": t_p + it, "tpot_s": it, "decode_step_s": dec.latency_s, "prefill_s": t_p,
                "tokens_per_s": reps * b / it, "tokens_per_s_per_device": b / it / group,
                "energy_per_token_j": (dec.energy_j + b / output_tokens * e_p) / b,
                **time_breakdown(dec, dev0),
                "memory_per_device_bytes": max(d.get("total", 0.0) for d in per),
                "max_batch": mem.get("max_batch"),
            })
    return rows


def best_split(rows, *, tpot_s: float | None = None, ttft_s: float | None = None) -> dict | None:
    """The row of highest throughput that meets the latency targets (None if none does)."""
    ok = [r for r in rows if (tpot_s is None or r["tpot_s"] <= tpot_s) and (ttft_s is None or r["ttft_s"] <= ttft_s)]
    return max(ok, key=lambda r: r["tokens_per_s"]) if ok else None


@attrs.frozen(kw_only=True)
class HostSide:
    """The host of a CPU-GPU hybrid MoE run (MoE-Lens): where the experts that do not fit live."""
    memory_bandwidth_gb_s: float = 307.2     # 8 x DDR5-4800 channels (one socket); assumption
    cpu_tflops: float = 4.0                  # bf16 AMX-class server CPU, one socket; assumption (unverified)
    pcie_gb_s: float = 63.0                  # PCIe 5.0 x16 per direction (PCI-SIG)


def hybrid_moe_bound(model: str, *, gpu_capacity_bytes: float, gpu_hbm_gb_s: float, batch: int,
                     context: int, host: HostSide = HostSide(), weight_dtype: str = "bf16",
                     kv_dtype: str = "bf16") -> dict:
    """MoE-Lens-style throughput bound of one decode step with the routed experts that do not
    fit the GPU resident in host memory: each step the host-resident active experts are either
    computed on the CPU (host memory bandwidth, CPU compute) or fetched over PCIe to the GPU,
    whichever is faster, overlapped with the GPU's part (its HBM traffic for the resident
    weights and the KV cache). Returns the times of each limit and the tokens/s bound."""
    cfg = load_config(model_path(model))
    if not cfg.experts:
        raise ConfigError(model, "model", "the hybrid MoE bound needs a MoE model (experts > 0)")
    wb = WEIGHT_BYTES[weight_dtype]
    pc = M.param_counts(cfg)
    moe_layers = sum(cfg.is_moe_layer(i) for i in range(cfg.layers))
    expert_bytes = M.expert_params(cfg) * wb
    routed = pc["routed_experts"] * wb
    rest = (pc["total"] - pc["routed_experts"]) * wb
    kv = batch * (context + 1) * M.kv_bytes_per_token(cfg, kv_dtype)
    room = gpu_capacity_bytes - rest - kv
    if room < 0:
        raise ModelError(f"{cfg.name}: the non-expert weights ({rest / 1e9:.2f} GB) and KV cache "
                         f"({kv / 1e9:.2f} GB) alone exceed the GPU's {gpu_capacity_bytes / 1e9:.2f} GB")
    resident = min(1.0, room / routed)
    active = expected_active_experts(batch, cfg.experts, cfg.experts_per_token)
    host_bytes = (1.0 - resident) * active * expert_bytes * moe_layers
    host_flops = (1.0 - resident) * 2.0 * batch * cfg.experts_per_token * M.expert_params(cfg) * moe_layers
    t_cpu = max(host_bytes / (host.memory_bandwidth_gb_s * 1e9), host_flops / (host.cpu_tflops * 1e12))
    t_pcie = host_bytes / (host.pcie_gb_s * 1e9)
    gpu_bytes = rest + resident * active * expert_bytes * moe_layers + kv
    t_gpu = gpu_bytes / (gpu_hbm_gb_s * 1e9)
    t_host = min(t_cpu, t_pcie)
    step = max(t_gpu, t_host)
    limit = "gpu_hbm" if t_gpu >= t_host else ("cpu" if t_cpu <= t_pcie else "pcie")
    if limit == "cpu":
        limit = "host_memory" if host_bytes / (host.memory_bandwidth_gb_s * 1e9) >= host_flops / (host.cpu_tflops * 1e12) \
            else "cpu_compute"
    return {"model": cfg.name, "batch": batch, "context": context, "resident_expert_fraction": resident,
            "active_experts_per_layer": active, "host_bytes_per_step": host_bytes,
            "gpu_s": t_gpu, "cpu_s": t_cpu, "pcie_s": t_pcie, "step_s": step, "limit": limit,
            "tokens_per_s_bound": batch / step if step > 0 else math.inf}
