"""archsim's GPU model against a benchmarks/gpu/measure_llm.py file: whole layers and decode
steps (eager and CUDA graph), eager-vs-graph chains, attention implementations, the profiled
per-step kernel times of the layers, and the power-capped sustained loads.

    python benchmarks/gpu/compare_llm.py MEASURED.json [--preset arch_configs/gpu/h100-sxm.toml]
                                         [--json OUT.json] [--all]

Predicted layer time = the sum over the record's op list (archsim trace ops, repeats applied)
of the model's per-op latency: a device-time prediction, to be compared with `times_s` (device
time, dispatch hidden, L2 cold) of the graph-replayed record; the eager record's `stream_s`
shows what host dispatch adds (archsim's host floor: kernels x host_dispatch_us, the kernels
counted by the profiler where llm_profile measured the same case). Ratios are predicted /
measured. Nothing here is fitted.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from archsim.config.arch import load_arch                 # noqa: E402
from archsim.blocks.gpu.model import predict, predict_grouped_gemm   # noqa: E402
from archsim.workloads.ops import parse_op                 # noqa: E402


def predicted_ops_s(spec, ops, grouped: bool = False) -> tuple[float, dict]:
    """Sum of per-op latencies (x repeat) and the per-name split. `grouped` (moe_grouped
    records): the per-expert GEMMs of one projection (`expertN.gate_up`, `expertN.down`) are
    what one torch._grouped_mm kernel runs, so they are priced as that kernel (its prepare
    kernel + one grouped GEMM over the experts' rows, archsim.blocks.gpu.model.predict_grouped_gemm),
    not as one launch per expert."""
    tot, by = 0.0, {}
    groups: dict = {}
    for i, raw in enumerate(ops):
        op = parse_op(dict(raw), file="measured", key=f"ops[{i}]")
        if grouped and op.KIND == "gemm" and op.name.startswith("expert") and "." in op.name:
            groups.setdefault(op.name.split(".", 1)[1], []).append(op)
            continue
        t = predict(spec, op).latency_s * op.repeat
        tot += t
        by[op.name] = by.get(op.name, 0.0) + t
    for proj, gs in groups.items():
        t = predict_grouped_gemm(spec, [g.m for g in gs for _ in range(g.repeat)], gs[0].k, gs[0].n,
                                 gs[0].dtype).latency_s
        tot += t
        by[f"experts_{proj}"] = by.get(f"experts_{proj}", 0.0) + t
    return tot, by


def _case_key(case):
    return json.dumps({k: v for k, v in sorted(case.items()) if k != "modes"})


def scope_of_op(name: str, ffn: str) -> str:
    """The profiler scope an op's kernels ran under (measure_llm.py's record_function names):
    the op name, except the grouped-GEMM MoE where one kernel serves every expert."""
    if ffn == "moe_grouped" and name.startswith("expert") and "." in name:
        return "experts_" + name.split(".", 1)[1]
    return name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("measured")
    ap.add_argument("--preset", default=None, help="GPU preset TOML (default: by the measured device: "
                    "h100-sxm for an H100, h200 for an H200)")
    ap.add_argument("--json", help="write every row as JSON")
    ap.add_argument("--all", action="store_true", help="print every attention record too")
    args = ap.parse_args(argv)
    data = json.loads(Path(args.measured).read_text())
    meta = data.get("meta", {})
    dev = (meta.get("device") or {}).get("name", "")
    preset = args.preset or str(REPO / "arch_configs" / "gpu" / ("h100-sxm.toml" if "H100" in dev else "h200.toml"))
    spec = load_arch(preset).components["gpu"]
    print(f"measured on {dev or '?'} ({args.measured}); archsim preset {Path(preset).name} "
          f"(calibrated on {spec.calibration.device or 'priors'}); ratio = predicted / measured")
    results = data.get("results", [])
    rows = []
    kernels_by_case = {}
    for r in results:
        if r.get("section") == "llm_profile" and "profile" in r:
            kernels_by_case[_case_key(r["case"])] = r["profile"]

    # -- layers, steps, graph chains
    print(f"\n{'section':10s} {'mode':6s} {'case':58s} {'meas us':>10s} {'stream us':>10s} "
          f"{'pred us':>10s} {'ratio':>6s} {'eager floor us':>14s}")
    for r in results:
        if r.get("section") not in ("llm_layer", "llm_step", "graph") or "ops" not in r:
            continue
        if "times_s" not in r or not r["times_s"] or "error" in r:
            continue
        grouped = "moe_grouped" in str(r.get("impl", ""))
        pred, by = predicted_ops_s(spec, r["ops"], grouped)
        meas = r["times_s"]["median"]
        c = r.get("case")
        prof = kernels_by_case.get(_case_key(c)) if c else None
        n_k = prof["n_kernels"] if prof else sum(o.get("repeat", 1) for o in r["ops"])
        floor = n_k * spec.efficiency.host_dispatch_us * 1e-6
        label = (f"{c['model']} {c['attn']}+{c['ffn']} {c['phase']} b{c['batch']} "
                 f"{'s' + str(c['q_len']) if c['phase'] == 'prefill' else 'ctx' + str(c['context'])}"
                 f"{' x' + str(c['layers']) if 'layers' in c else ''}") if c else (
            f"{r.get('impl', '')} x{(r.get('extra') or {}).get('kernels_per_call', '?')} kernels")
        row = {"section": r["section"], "mode": r.get("variant"), "case": label, "measured_s": meas,
               "stream_s": r.get("stream_s"), "predicted_s": pred, "ratio": pred / meas,
               "eager_host_floor_s": floor, "n_kernels": n_k, "kernels_counted": bool(prof)}
        rows.append(row)
        print(f"{r['section']:10s} {str(r.get('variant')):6s} {label[:58]:58s} {meas * 1e6:10.1f} "
              f"{(r.get('stream_s') or 0) * 1e6:10.1f} {pred * 1e6:10.1f} {pred / meas:6.2f} {floor * 1e6:14.1f}")

    # -- per-step (profiled eager kernels) vs per-op prediction
    steps = {}
    for r in results:
        if r.get("section") != "llm_profile" or "profile" not in r or "ops" not in r:
            continue
        _, by = predicted_ops_s(spec, r["ops"], r["case"]["ffn"] == "moe_grouped")
        meas = r["profile"]["device_us_by_scope"]
        ffn = r["case"]["ffn"]
        pred_scope = {}
        for name, t in by.items():
            s = scope_of_op(name, ffn)
            pred_scope[s] = pred_scope.get(s, 0.0) + t
        for s, t in pred_scope.items():
            m = meas.get(s)
            if m:
                steps.setdefault(s.split(".")[-1] if s.startswith("expert") else s, []).append(t * 1e6 / m)
    if steps:
        print(f"\nper step of the layers (profiled eager kernels): median and range of predicted / measured")
        for s, v in sorted(steps.items()):
            print(f"  {s:24s} n={len(v):3d}  median {statistics.median(v):6.2f}  "
                  f"[{min(v):6.2f}, {max(v):6.2f}]")
            rows.append({"section": "llm_profile", "step": s, "n": len(v), "median_ratio": statistics.median(v)})

    # -- attention implementations
    groups = {}
    for r in results:
        if r.get("section") != "attn_impl" or "times_s" not in r or "error" in r or "skipped" in r:
            continue
        op = parse_op(dict(r["op"]), file="measured", key="op")
        pred = predict(spec, op).latency_s
        meas = r["times_s"]["median"]
        key = (r["impl"], r["variant"])
        groups.setdefault(key, []).append(pred / meas)
        rows.append({"section": "attn_impl", "impl": r["impl"], "variant": r["variant"],
                     "backend_ran": r.get("backend_ran"), "op": r["op"], "measured_s": meas,
                     "predicted_s": pred, "ratio": pred / meas,
                     "rel_err_vs_default": r.get("extra", {}).get("rel_err_vs_default")})
        if args.all:
            print(f"  {r['impl']:28s} {r['variant']:22s} {json.dumps({k: v for k, v in r['op'].items() if k not in ('op', 'name')})[:90]:90s} "
                  f"{meas * 1e6:9.1f} us  pred {pred / meas:5.2f}")
    if groups:
        errs = {}
        for r in results:
            if r.get("section") == "attn_impl" and "error" in r:
                k = (r["impl"], r["variant"])
                errs[k] = errs.get(k, 0) + 1
        print(f"\nattention implementations: predicted (archsim's one FlashAttention model) / measured")
        for key in sorted(set(groups) | set(errs)):
            v = groups.get(key, [])
            med = f"{statistics.median(v):6.2f}" if v else "     -"
            print(f"  {key[0]:28s} {key[1]:22s} n={len(v):3d}  median {med}  errors {errs.get(key, 0)}")

    # -- power-capped loads
    loads = (data.get("power") or {}).get("loads") or {}
    for name, rec in loads.items():
        if not name.startswith("capped_") or "op" not in rec or "steady_time_per_call_s" not in rec:
            continue
        op = parse_op(dict(rec["op"]), file="measured", key=name)
        p = predict(spec, op)
        e, _, capped = p.energy(spec)
        print(f"\n{name}: measured steady {rec['steady_time_per_call_s'] * 1e6:.1f} us/call at "
              f"{rec.get('mean_steady_power_w', float('nan')):.0f} W, SM {rec.get('mean_steady_sm_mhz', float('nan')):.0f} MHz "
              f"(first 0.5 s {rec['first_0p5s_time_per_call_s'] * 1e6:.1f} us); archsim {p.latency_s * 1e6:.1f} us at "
              f"{e / p.latency_s:.0f} W{' (capped)' if capped else ''}; energy/call measured "
              f"{rec.get('energy_per_call_j', float('nan')):.4f} J, archsim {e:.4f} J")
        rows.append({"section": "power_clock", "load": name, "measured_time_s": rec["steady_time_per_call_s"],
                     "burst_time_s": rec["first_0p5s_time_per_call_s"], "predicted_s": p.latency_s,
                     "measured_power_w": rec.get("mean_steady_power_w"), "predicted_power_w": e / p.latency_s,
                     "measured_energy_j": rec.get("energy_per_call_j"), "predicted_energy_j": e,
                     "sm_mhz": rec.get("mean_steady_sm_mhz"), "throttle": rec.get("throttle_reasons_steady")})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
