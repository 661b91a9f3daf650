"""Device memory for LLM workloads: the Report's `memory` object, the fit check, the offload
plan, and the `llm` latency metrics (TTFT, TPOT, end to end).

A workload from the `transformer` generator carries `meta["memory_needs"]` (bytes:
weights, kv_cache, kv_per_token, activations, per_sequence; archsim.workloads.llm.memory).
The device is the component that runs the first weight-bearing op (linear / moe_ffn); its
capacity comes from the block (`memory_capacity_bytes(spec)`; None = not modelled, no check).

If weights + KV cache + activations exceed the capacity:
- without a `host_link` component: ModelError with the numbers (the CLI exits 1);
- with one: an offload plan (FlexGen-style, first order): the overflow stays on the offload
  target and is streamed over the link once per forward pass, prefetched concurrently with the
  compute (one `kv_transfer` op per phase on the link's own resource, which the phase's last
  op waits for). The transfers are priced like any op (time, link energy).
"""
from __future__ import annotations

import attrs

from archsim.blocks.host_link.ops import KvTransfer
from archsim.config.arch import ArchSpec
from archsim.errors import ModelError
from archsim.workloads.llm.memory import max_batch
from archsim.workloads.load import Workload

GB = 1e9
WEIGHT_KINDS = ("linear", "moe_ffn", "gemm")


def _device(arch: ArchSpec, workload: Workload, pick) -> str:
    for op in workload.ops:
        if op.KIND in WEIGHT_KINDS:
            return arch.device_component(pick(arch, op), 0)
    return arch.device_component(pick(arch, workload.ops[0]), 0)


def _gb(x: float) -> str:
    return f"{x / GB:,.2f} GB"


def plan_memory(arch: ArchSpec, workload: Workload, pick) -> tuple[ArchSpec, Workload, dict | None]:
    """(the arch and workload to run — with offload transfers added, mapped to the host link,
    where the plan needs them — and the Report's `memory` object, or None for workloads
    without memory needs). `pick(arch, op)` is the simulator's op -> component choice."""
    needs = workload.meta.get("memory_needs")
    if not needs or not workload.ops:
        return arch, workload, None
    device = _device(arch, workload, pick)
    mod = arch.component_module(device)
    cap_fn = getattr(mod, "memory_capacity_bytes", None)
    capacity = cap_fn(arch.components[device]) if cap_fn is not None else None
    total = needs["weights"] + needs["kv_cache"] + needs["activations"]
    fixed = needs["weights"]
    mem = {"weights": needs["weights"], "kv_cache": needs["kv_cache"], "kv_per_token": needs["kv_per_token"],
           "kv_per_token_per_layer": needs["kv_per_token_per_layer"], "activations": needs["activations"],
           "total": total, "capacity": capacity, "fits": None if capacity is None else total <= capacity,
           "device": device, "batch": needs["batch"], "tokens_per_sequence": needs["tokens_per_sequence"],
           "max_batch": None if capacity is None else max_batch(capacity=capacity, fixed_bytes=fixed,
                                                                per_sequence_bytes=needs["per_sequence"])}
    per = needs.get("per_device")
    if per:
        # a split workload: each device holds its share (archsim/workloads/parallel.py); the fit
        # check and the largest batch are per device, the top-level keys stay the whole model's
        rows = []
        for d in per:
            row = {k: v for k, v in d.items() if k != "per_sequence"}
            row["capacity"] = capacity
            row["fits"] = None if capacity is None else d["total"] <= capacity
            row["max_batch"] = None if capacity is None else max_batch(
                capacity=capacity, fixed_bytes=d["weights"] + d["comm_buffers"],
                per_sequence_bytes=d["per_sequence"])
            rows.append(row)
        mem["per_device"] = rows
        worst = max(rows, key=lambda r: r["total"])
        if capacity is not None:
            mem["fits"] = all(r["fits"] for r in rows)
            mem["max_batch"] = min(r["max_batch"] for r in rows)
            if not mem["fits"]:
                raise ModelError(
                    f"{workload.name} does not fit per device on arch {arch.name}: device {worst['device']} "
                    f"holds weights {_gb(worst['weights'])} + KV cache {_gb(worst['kv_cache'])} + activations "
                    f"{_gb(worst['activations'])} + communication buffers {_gb(worst['comm_buffers'])} = "
                    f"{_gb(worst['total'])} > capacity {_gb(capacity)}; the largest batch that fits at this "
                    f"context is {mem['max_batch']} (the batch of one device's sequence group under the split). "
                    "Use a wider split (tensor_parallel / pipeline_parallel / expert_parallel), a smaller batch "
                    "or context, or quantised weights / KV")
        return arch, workload, mem
    if capacity is None or total <= capacity:
        return arch, workload, mem
    hosts = [n for n, k in arch.component_kinds.items() if k == "host_link"]
    if not hosts:
        raise ModelError(
            f"{workload.name} does not fit in {device}'s memory on arch {arch.name}: weights "
            f"{_gb(needs['weights'])} + KV cache {_gb(needs['kv_cache'])} (batch {needs['batch']} x "
            f"{needs['tokens_per_sequence']} tokens x {needs['kv_per_token']:,.0f} B/token) + activations "
            f"{_gb(needs['activations'])} = {_gb(total)} > capacity {_gb(capacity)}; the largest batch "
            f"that fits at this context is {mem['max_batch']}. Use a smaller batch or context, fewer "
            "layers, quantised weights (workload.params.weight_dtype) or KV (kv_dtype), or an arch "
            "with a host_link component to offload")
    host = hosts[0]
    hspec = arch.components[host]
    over = int(total - capacity) + 1
    llm = workload.meta.get("llm", {})
    passes = [("prefill", llm.get("prefill_passes", 0), llm.get("prefill_ops", 0)),
              ("decode", llm.get("decode_steps", 0) if llm.get("phase") != "prefill" else 0, len(workload.ops))]
    transfers, waits = [], []
    for tag, n, last in passes:
        if n > 0 and last > 0:
            transfers.append(KvTransfer(name=f"offload.{tag}_fetch", bytes=over, chunk_bytes=min(over, 1 << 26),
                                        direction="to_device", source=hspec.offload, repeat=n))
            waits.append(last - 1)
    k = len(transfers)
    deps = list(workload.deps())
    after = [tuple(range(j)) and (j - 1,) for j in range(k)]          # transfers in sequence
    for i, d in enumerate(deps):
        extra = tuple(j for j, w in enumerate(waits) if w == i)
        after.append(tuple(sorted({x + k for x in d} | set(extra))))
    new = attrs.evolve(workload, ops=tuple(transfers) + tuple(workload.ops), after=tuple(after),
                       meta={**workload.meta, "offload_ops": k})
    mem["offload"] = {"component": host, "source": hspec.offload, "bytes_per_pass": over,
                      "passes": sum(t.repeat for t in transfers),
                      "link_gb_s": hspec.pcie.payload_gb_s()}
    if arch.mapping.get(KvTransfer.KIND) != host:
        arch = attrs.evolve(arch, mapping={**arch.mapping, KvTransfer.KIND: host})
    return arch, new, mem


def llm_metrics(workload: Workload, timeline) -> dict | None:
    """TTFT, TPOT and end-to-end latency (s) from the timeline, for `transformer` workloads."""
    llm = workload.meta.get("llm")
    if not llm or timeline is None:
        return None
    k = workload.meta.get("offload_ops", 0)
    e2e = float(timeline.makespan_s)
    per = llm.get("tokens_per_decode_step", 1)
    out = {"phase": llm["phase"], "e2e_s": e2e, "ttft_s": None, "tpot_s": None, "tokens_per_s": None}
    if llm["phase"] == "prefill":
        out["ttft_s"] = e2e
        out["tokens_per_s"] = llm["batch"] * llm["context"] / e2e if e2e > 0 else None
    elif llm["phase"] == "decode":
        out["tpot_s"] = e2e / per
        out["tokens_per_s"] = llm["batch"] * per / e2e if e2e > 0 else None
    else:
        ttft = float(timeline.end_s[k + llm["prefill_ops"] - 1])
        out["ttft_s"] = ttft
        steps = llm.get("decode_steps", 0)
        if steps:
            out["tpot_s"] = (e2e - ttft) / (steps * per)
        out["tokens_per_s"] = llm["batch"] * llm["output_tokens"] / e2e if e2e > 0 else None
    return out
