"""Multi-device LLM inference: archsim beside GenZ (genz-llm) and llm-analysis on split models.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install genz-llm llm-analysis
    .venv/bin/python benchmarks/bench_serving.py [--peers-python .venv-bench/bin/python] [--json OUT]

Cases: Llama-3-70B (TP 2 / 4 / 8; decode batch 16 and prefill batch 1, context 2048) on the
H100 and H200 x8 NVLink presets, Mixtral-8x7B and DeepSeek-V2-Lite (EP 2 / 4 / 8, decode batch
32, context 2048) on H100 x8. The peers run in their own environment (benchmarks/serving_peers.py)
with archsim's model shapes, each GPU's spec-sheet numbers and the preset's link bandwidth
(450 GB/s), their default efficiencies. archsim runs the generator's default kernel sequences
(`kernels = torch`: PyTorch eager as measured on the H100) and, in the `fused` column, a serving
stack's fused kernels (`kernels = fused`, not measured). `floor` is device 0's physical bound: the bytes its ops
must move / peak HBM bandwidth (decode) or max(FLOPs / peak, bytes / bandwidth) (prefill),
communication excluded. DeepSeek-V2-Lite's MLA reaches the peers as plain attention (their
model configs have no MLA). Nothing here is tuned to the peers; no device measured these cases
(multi-GPU machines were not lent).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import archsim  # noqa: E402
from archsim.errors import ConfigError, ModelError  # noqa: E402
from bench_llm import fmt_ms, gpu_numbers, model_shape, workload  # noqa: E402

CASES = (
    # model, gpu preset, phase, batch, context, tp, ep
    *[("llama-3-70b", g, "decode", 16, 2048, tp, 1) for g in ("h100-x8-nvlink", "h200-x8-nvlink") for tp in (2, 4, 8)],
    *[("llama-3-70b", g, "prefill", 1, 2048, tp, 1) for g in ("h100-x8-nvlink", "h200-x8-nvlink") for tp in (2, 4, 8)],
    *[("mixtral-8x7b", "h100-x8-nvlink", "decode", 32, 2048, 1, ep) for ep in (2, 4, 8)],
    *[("deepseek-v2-lite", "h100-x8-nvlink", "decode", 32, 2048, 1, ep) for ep in (2, 4, 8)],
)


def floor_s(w, arch):
    g = gpu_numbers(arch)
    ops = [o for i, o in enumerate(w.ops) if w.device_of(i) == 0 and o.KIND not in
           ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv")]
    nbytes = sum(o.min_bytes() * o.repeat for o in ops if hasattr(o, "min_bytes"))
    flops = sum(o.flops() * o.repeat for o in ops if hasattr(o, "flops"))
    return max(nbytes / (g["hbm_gb_s"] * 1e9), flops / (g["bf16_tflops"] * 1e12))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    rows, cases = [], []
    for model, gname, phase, batch, ctx, tp, ep in CASES:
        n = tp * ep
        arch = archsim.load_arch(ROOT / "arch_configs" / "multi" / f"{gname}.toml", {"system.devices": n})
        cid = f"{model}|{gname}|{phase}|b{batch}|tp{tp}|ep{ep}"
        w = workload(model, phase, batch, ctx, tensor_parallel=tp, expert_parallel=ep)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rep = archsim.simulate(arch, w)
                lat, note = rep.latency_s, ""
                comm = sum(o.latency_s for o in rep.ops if o.resource.endswith("link0"))
                fused = archsim.simulate(arch, workload(model, phase, batch, ctx, tensor_parallel=tp,
                                                        expert_parallel=ep, kernels="fused")).latency_s
            except (ModelError, ConfigError) as exc:
                lat, note, comm = None, "does not fit" if "does not fit" in str(exc) else str(exc)[:60], None
                fused = None
        rows.append({"id": cid, "model": model, "gpu": gname, "phase": phase, "batch": batch, "context": ctx,
                     "tp": tp, "ep": ep, "archsim_s": lat, "archsim_fused_s": fused, "archsim_comm_s": comm, "archsim_note": note,
                     "floor_s": floor_s(w, arch), "archsim_wall_s": time.perf_counter() - t0})
        gpu = gpu_numbers(arch)
        cases.append({"id": cid, "model_name": model, "model": model_shape(model), "gpu": gpu, "phase": phase,
                      "batch": batch, "context": ctx, "tp": tp, "ep": ep,
                      "icn_gb_s": arch.components[arch.system.interconnect].bandwidth_gb_s})
    got = {}
    if not args.no_peers and Path(args.peers_python).exists():
        p = subprocess.run([args.peers_python, str(ROOT / "benchmarks" / "serving_peers.py")], input=json.dumps(cases),
                           capture_output=True, text=True, timeout=1800)
        if p.returncode == 0:
            got = {r["id"]: r for r in json.loads(p.stdout)}
        else:
            print("peers failed:", p.stderr[-2000:], file=sys.stderr)
    print(f"{'model':17s} {'gpu':15s} {'phase':7s} {'b':>3s} {'TP':>2s} {'EP':>2s} | {'floor ms':>9s} | "
          f"{'archsim':>9s} {'(comm)':>9s} {'fused':>9s} {'GenZ':>9s} {'llm-an.':>9s} | notes")
    for r in rows:
        pr = got.get(r["id"], {})
        r.update({k: pr.get(k) for k in ("genz_s", "llm_analysis_s", "genz_error", "llm_analysis_error")})
        notes = [f"{lab}<floor" for k, lab in (("archsim_s", "archsim"), ("archsim_fused_s", "archsim fused"), ("genz_s", "GenZ"), ("llm_analysis_s", "llm-analysis"))
                 if r[k] is not None and r[k] < r["floor_s"] * (1 - 1e-9)]
        if r["archsim_note"]:
            notes.append(f"archsim: {r['archsim_note']}")
        for k, lab in (("genz_error", "GenZ"), ("llm_analysis_error", "llm-analysis")):
            if r[k]:
                notes.append(f"{lab} refused ({r[k][:50]})")
        print(f"{r['model']:17s} {r['gpu']:15s} {r['phase']:7s} {r['batch']:3d} {r['tp']:2d} {r['ep']:2d} | "
              f"{fmt_ms(r['floor_s'])} | {fmt_ms(r['archsim_s'])} {fmt_ms(r['archsim_comm_s'])} {fmt_ms(r['archsim_fused_s'])} {fmt_ms(r['genz_s'])} "
              f"{fmt_ms(r['llm_analysis_s'])} | {'; '.join(notes)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
