"""LLM inference: archsim beside GenZ (genz-llm) and llm-analysis on the same models, GPUs and
phases, and (with --measured) archsim against device measurements.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install genz-llm llm-analysis
    .venv/bin/python benchmarks/bench_llm.py [--peers-python .venv-bench/bin/python] [--json OUT]
    .venv/bin/python benchmarks/bench_llm.py --measured measurements.json [--no-peers]

The peers run in their own environment (benchmarks/llm_peers.py, called as a subprocess); they
get archsim's model shapes (workloads/llm/*.json) and the GPU preset's spec-sheet numbers
(dense bf16 tensor TFLOP/s, HBM GB/s, memory), each with its default efficiencies. Latency is
one prefill pass (TTFT without queueing) or one decode step (TPOT) with `context` tokens cached.
`floor` is the physical bound: decode >= (weights touched + KV read) / peak HBM bandwidth;
prefill >= max(FLOPs / peak, bytes / bandwidth). A prediction below it is flagged `<floor`.

--measured FILE: a JSON object {"device": "...", "preset": "arch_configs/gpu/h100-sxm.toml"
(optional; else chosen from the device name), "records": [{"model": "llama-3-8b" (a
workloads/llm/<name>.json, or a path), "phase": "decode" | "prefill", "batch": 8, "context":
4096, "layers": 1 (decoder layers timed; 0 = whole model), "mode": "eager" | "cuda_graph",
"latency_s": 0.00123 (median of one forward over those layers), optional "dtype",
"weight_dtype", "kv_dtype", "mla_form", "first_layer", "latency_p10_s", "latency_p90_s"}]}; it prints archsim
vs measured per record and the error summary per mode and per model.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import archsim  # noqa: E402
from archsim.errors import ModelError  # noqa: E402
from archsim.workloads.llm.config import load_config  # noqa: E402

MODELS = ("llama-2-7b", "llama-3-8b", "qwen2-7b", "mixtral-8x7b")
GPUS = ("a100-80gb", "h100-sxm", "h200")
PHASES = (("prefill", 1, 2048), ("decode", 1, 2048), ("decode", 32, 2048))


def workload(model, phase, batch, context, layers=0, **extra):
    path = Path(model) if model.endswith(".json") else ROOT / "workloads" / "llm" / f"{model}.json"
    return archsim.load_workload({"generator": "transformer", "params": {
        "model": str(path), "phase": phase, "batch": batch, "context": context, "layers": layers, **extra}})


def gpu_numbers(arch):
    g = next(s for s in arch.components.values() if hasattr(s, "dram_bandwidth_gb_s"))
    return {"name": arch.name, "bf16_tflops": g.tensor_tflops.bf16, "hbm_gb_s": g.dram_bandwidth_gb_s,
            "memory_gb": g.dram_capacity_gib * 2**30 / 1e9}


def floor_s(w, arch):
    g = gpu_numbers(arch)
    bw = g["hbm_gb_s"] * 1e9
    nbytes = sum(o.min_bytes() * o.repeat for o in w.ops if hasattr(o, "min_bytes"))
    flops = sum(o.flops() * o.repeat for o in w.ops if hasattr(o, "flops"))
    return max(nbytes / bw, flops / (g["bf16_tflops"] * 1e12))


def run_archsim(arch, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return archsim.simulate(arch, w).latency_s, ""
        except ModelError as exc:
            return None, "does not fit" if "does not fit" in str(exc) else str(exc)[:60]


def model_shape(name):
    c = load_config(ROOT / "workloads" / "llm" / f"{name}.json")
    return {"hidden": c.hidden, "layers": c.layers, "heads": c.heads, "kv_heads": c.kv_heads, "head_dim": c.head_dim,
            "intermediate": c.moe_intermediate if c.moe else c.intermediate, "vocab": c.vocab,
            "experts": c.experts, "top_k": c.experts_per_token, "max_positions": c.max_positions}


def peers(cases, python):
    if not python or not Path(python).exists():
        return {}
    p = subprocess.run([python, str(ROOT / "benchmarks" / "llm_peers.py")], input=json.dumps(cases),
                       capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        print("peers failed:", p.stderr[-2000:], file=sys.stderr)
        return {}
    return {r["id"]: r for r in json.loads(p.stdout)}


def fmt_ms(v):
    return "-" if v is None else f"{v * 1e3:9.3f}"


def fmt_ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:6.2f}"


def compare_peers(args):
    rows, cases = [], []
    for gname in GPUS:
        arch = archsim.load_arch(ROOT / "arch_configs" / "gpu" / f"{gname}.toml")
        g = gpu_numbers(arch)
        for model in MODELS:
            for phase, batch, ctx in PHASES:
                cid = f"{model}|{gname}|{phase}|b{batch}|c{ctx}"
                w = workload(model, phase, batch, ctx)
                t0 = time.perf_counter()
                lat, note = run_archsim(arch, w)
                rows.append({"id": cid, "model": model, "gpu": gname, "phase": phase, "batch": batch, "context": ctx,
                             "archsim_s": lat, "archsim_note": note, "floor_s": floor_s(w, arch),
                             "archsim_wall_s": time.perf_counter() - t0})
                cases.append({"id": cid, "model_name": model, "model": model_shape(model), "gpu": g, "phase": phase,
                              "batch": batch, "context": ctx})
    t0 = time.perf_counter()
    got = {} if args.no_peers else peers(cases, args.peers_python)
    peer_wall = time.perf_counter() - t0
    print(f"{'model':14s} {'gpu':10s} {'phase':7s} {'b':>3s} {'ctx':>5s} | {'floor ms':>9s} | {'archsim':>9s} "
          f"{'GenZ':>9s} {'llm-an.':>9s} | {'GenZ/as':>7s} {'llmA/as':>7s} | notes")
    below = {"archsim": 0, "genz": 0, "llm_analysis": 0}
    for r in rows:
        p = got.get(r["id"], {})
        r["genz_s"], r["llm_analysis_s"] = p.get("genz_s"), p.get("llm_analysis_s")
        r["genz_error"], r["llm_analysis_error"] = p.get("genz_error"), p.get("llm_analysis_error")
        notes = []
        for key, label in (("archsim", "archsim"), ("genz", "GenZ"), ("llm_analysis", "llm-analysis")):
            v = r[f"{key}_s"]
            if v is not None and v < r["floor_s"] * (1 - 1e-9):
                notes.append(f"{label}<floor")
                below[key] += 1
        if r["archsim_note"]:
            notes.append(f"archsim: {r['archsim_note']}")
        for key, label in (("genz_error", "GenZ"), ("llm_analysis_error", "llm-analysis")):
            if r[key]:
                notes.append(f"{label} refused ({r[key].split(':')[0]})")
        print(f"{r['model']:14s} {r['gpu']:10s} {r['phase']:7s} {r['batch']:3d} {r['context']:5d} | "
              f"{fmt_ms(r['floor_s'])} | {fmt_ms(r['archsim_s'])} {fmt_ms(r['genz_s'])} {fmt_ms(r['llm_analysis_s'])} | "
              f"{fmt_ratio(r['genz_s'], r['archsim_s']):>7s} {fmt_ratio(r['llm_analysis_s'], r['archsim_s']):>7s} | "
              + ", ".join(notes))
    n = len(rows)
    print(f"\n{n} cases; predictions below the physical floor: archsim {below['archsim']}, GenZ {below['genz']}, "
          f"llm-analysis {below['llm_analysis']}")
    print(f"wall time: archsim {sum(r['archsim_wall_s'] for r in rows):.2f} s for {n} cases; peers {peer_wall:.1f} s "
          "(both peers, one subprocess, imports included)")
    return rows


PRESET_BY_NAME = (("H200", "h200"), ("H100", "h100-sxm"), ("A100", "a100-80gb"), ("RTX 3090", "rtx3090"))


GRAPH_SAVING_US = 1.0   # fitted: eager - graph per kernel on run a's chains (graph_launch.py: 0.996 us)


def compare_measured(path, graph_saving_us: float = GRAPH_SAVING_US):
    data = json.loads(Path(path).read_text())
    preset = data.get("preset")
    if not preset:
        dev = data.get("device", "")
        name = next((p for key, p in PRESET_BY_NAME if key in dev), None)
        if name is None:
            raise SystemExit(f"{path}: no 'preset' and device {dev!r} matches none of "
                             + ", ".join(k for k, _ in PRESET_BY_NAME))
        preset = f"arch_configs/gpu/{name}.toml"
    arch = archsim.load_arch(ROOT / preset)
    # CUDA-graph replay: every kernel's fixed launch time lowered by the per-kernel saving
    # measured on kernel chains (benchmarks/gpu/graph_launch.py; fitted on run a, not on these)
    gname, gspec = next((n, c) for n, c in arch.components.items() if hasattr(c, "launch_overhead_us"))
    graph_launch = max(0.0, gspec.launch_overhead_us - graph_saving_us)
    arch_graph = archsim.load_arch(ROOT / preset, {f"components.{gname}.launch_overhead_us": graph_launch})
    print(f"\narchsim ({arch.name}) vs measured ({data.get('device', '?')}), {len(data['records'])} records; "
          f"cuda_graph records at launch_overhead_us {gspec.launch_overhead_us:.2f} - {graph_saving_us:.2f} "
          f"= {graph_launch:.2f}")
    print(f"{'model':18s} {'phase':7s} {'b':>4s} {'ctx':>6s} {'L':>3s} {'mode':10s} | {'measured ms':>11s} "
          f"{'archsim ms':>11s} {'error':>8s}")
    errs: dict = {}
    out = []
    for rec in data["records"]:
        extra = {k: rec[k] for k in ("dtype", "weight_dtype", "kv_dtype", "mla_form", "first_layer") if k in rec}
        meas = rec["latency_s"] if "latency_s" in rec else rec["latency_ms"] / 1e3
        w = workload(rec["model"], rec["phase"], rec["batch"], rec["context"], rec.get("layers", 0), **extra)
        mode = rec.get("mode", "eager")
        lat, note = run_archsim(arch_graph if mode == "cuda_graph" else arch, w)
        err = None if lat is None else lat / meas - 1
        out.append({**rec, "archsim_s": lat, "error": err})
        if err is not None:
            for key in (f"mode={mode}", f"model={rec['model']}", f"phase={rec['phase']}", "all"):
                errs.setdefault(key, []).append(abs(err))
        print(f"{rec['model']:18s} {rec['phase']:7s} {rec['batch']:4d} {rec['context']:6d} {rec.get('layers', 0):3d} "
              f"{mode:10s} | {meas * 1e3:11.4f} {fmt_ms(lat):>11s} {'-' if err is None else f'{100 * err:+7.1f}%'} {note}")
    print(f"\n{'group':28s} {'n':>4s} {'median |err|':>13s} {'p90 |err|':>10s} {'max |err|':>10s}")
    for key in sorted(errs, key=lambda k: (k != "all", k)):
        v = sorted(errs[key])
        p90 = v[min(len(v) - 1, math.ceil(0.9 * len(v)) - 1)]
        print(f"{key:28s} {len(v):4d} {100 * statistics.median(v):12.1f}% {100 * p90:9.1f}% {100 * v[-1]:9.1f}%")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers-python", default=str(ROOT / ".venv-bench" / "bin" / "python"),
                    help="python of the environment with genz-llm and llm-analysis")
    ap.add_argument("--no-peers", action="store_true", help="skip the peer comparison")
    ap.add_argument("--graph-saving-us", type=float, default=GRAPH_SAVING_US,
                    help="per-kernel launch time CUDA-graph replay saves (cuda_graph records; 0 = price them as eager)")
    ap.add_argument("--measured", metavar="FILE", help="device measurements (format in the module docstring)")
    ap.add_argument("--json", metavar="FILE", help="write every row as JSON")
    args = ap.parse_args(argv)
    result = {}
    if not (args.measured and args.no_peers):
        result["peers"] = compare_peers(args)
    if args.measured:
        result["measured"] = compare_measured(args.measured, args.graph_saving_us)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
