"""Design-space exploration speed (issue 14): batched evaluation, whole sweeps, the mapper vs
ZigZag, and whole-process start-up times.

    python benchmarks/bench_dse.py                       # everything but ZigZag
    python benchmarks/bench_dse.py --zigzag-python /tmp/zz/bin/python   # + ZigZag on ResNet-18
    python benchmarks/bench_dse.py --base-checkout /tmp/archsim-base    # + the pre-issue per-point path

1. Layer evaluations per second on ResNet-50 over the 9,984-point systolic space of
   benchmarks/sweeps/dse-resnet50-10k.toml (16 array shapes x 3 dataflows x 4 x 4 SRAMs x 13
   bandwidths), one core, in this process: the batched path (archsim/sweep/batch.py: arch
   building, numba kernel, pricing, store rows), the kernel alone, and the per-point path
   (`simulate` per point, as before the batch path) on a sample. With --base-checkout (a
   checkout of the commit before issue 14), the old per-point path on the same sample.
2. The whole sweep (`run_sweep`, as `archsim sweep`) with 1 and 2 local workers: wall time,
   CPU time (this process and its workers), points and layer evaluations per second.
3. ResNet-18 on ZigZag's TPU-like 32x32 hardware (int8, 2 MB activation SRAM, 128 B weight
   register file per PE, 64-bit DRAM port): per layer, archsim's cycles with the fixed WS
   mapping, with the mapper (mapping = "search", cycles) and with fold overlap, against the
   mapping ZigZag's LOMA search finds (benchmarks/zigzag_resnet18.py, run in a separate venv
   with `pip install zigzag-dse six`), and the time each takes.
4. Start-up as whole processes (warm: numba's cache already written): `archsim --help`,
   `archsim scalesim` on one layer, `archsim run tpu-128x128 resnet50`; best of 5, wall and CPU.

The machine may be shared: the load average is printed, and CPU times are given next to wall
times (a loaded machine stretches wall time, not CPU time). Not a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "benchmarks" / "sweeps" / "dse-resnet50-10k.toml"
ARCHSIM = [sys.executable, "-m", "archsim"]


def _cpu_children() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _cpu_self() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------ 1. evaluations per second

def bench_layers(sample: int, base_checkout: str | None) -> dict:
    from archsim.sweep import load_sweep, plan_tasks
    from archsim.sweep.batch import evaluate_chunk
    from archsim.sweep.execute import evaluate_point, make_context
    spec = load_sweep(SPACE)
    tasks, _ = plan_tasks(spec)
    ctx = make_context(spec)
    n_layers = 54
    out: dict = {"points": len(tasks), "layers_per_point": n_layers}
    evaluate_chunk(ctx, tasks[:2], evaluate_point)          # numba loaded
    # batched, one core, chunks of 256 as a worker runs them; twice: cold and warm count caches
    for label in ("cold", "warm"):
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(0, len(tasks), 256):
            evaluate_chunk(ctx, tasks[i:i + 256], evaluate_point)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        out[f"batch_{label}"] = {"cpu_s": cpu, "wall_s": wall, "points_per_cpu_s": len(tasks) / cpu,
                                 "layer_evals_per_cpu_s": len(tasks) * n_layers / cpu}
    # the kernel alone (warm caches): arrays of every point, one call per 1,024 points
    out["kernel"] = _kernel_only(spec, tasks, ctx)
    # per point (simulate), on a sample spread over the space
    pick = tasks[:: max(1, len(tasks) // sample)][:sample]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0 = time.process_time()
        for t in pick:
            evaluate_point(ctx, t)
        cpu = time.process_time() - c0
    out["per_point"] = {"sample": len(pick), "cpu_s": cpu, "ms_per_point": 1e3 * cpu / len(pick),
                        "layer_evals_per_cpu_s": len(pick) * n_layers / cpu}
    if base_checkout:
        out["per_point_base"] = _base_per_point(base_checkout, [t[3] for t in pick])
    return out


def _kernel_only(spec, tasks, ctx) -> dict:
    import numpy as np

    from archsim.blocks.systolic import kernels as K
    from archsim.blocks.systolic.model import layer_geometry
    from archsim.config.arch import arch_from_data
    from archsim.config.load import apply_overrides
    from archsim.sweep.batch import _counts_for
    from archsim.sweep.execute import _state
    from archsim.sweep.spec import split_params
    wl = _state(ctx).workload(0, {})
    layers = np.array([layer_geometry(op) for op in wl.ops], dtype=np.int64)
    geoms = [tuple(int(x) for x in g) for g in layers]
    specs = [arch_from_data(apply_overrides(dict(ctx.arch_data), split_params(t[3])[0],
                                            file=ctx.arch_file), file=ctx.arch_file).components["sa"]
             for t in tasks]
    specs.sort(key=lambda s: (s.rows, s.cols))
    total_cpu, n = 0.0, 0
    for rep in range(2):
        total_cpu, n = 0.0, 0
        for i in range(0, len(specs), 1024):
            ss = specs[i:i + 1024]
            rows = np.array([s.rows for s in ss], dtype=np.int64)
            cols = np.array([s.cols for s in ss], dtype=np.int64)
            w = np.array([s.sram_words() for s in ss], dtype=np.int64)
            bw = np.array([float(s.dram_bandwidth_words_per_cycle) for s in ss])
            po = np.zeros(len(ss), dtype=np.bool_)
            fo = np.zeros(len(ss), dtype=np.bool_)
            dfl = np.repeat(np.array([K.DATAFLOW_CODES[s.dataflow] for s in ss])[:, None], len(layers), 1)
            off, ln, ff, ft, parts = _counts_for(dfl, rows, cols, geoms)
            c0 = time.process_time()
            K.evaluate_points_flat(dfl, rows, cols, w[:, 0].copy(), w[:, 1].copy(), w[:, 2].copy(),
                                   bw, po, fo, layers, off, ln, ff, ft)
            total_cpu += time.process_time() - c0
            for (cf, ct), a, b in parts:
                cf[:] = ff[a:b]
                ct[:] = ft[a:b]
            n += len(ss) * len(layers)
    return {"layer_evals": n, "cpu_s": total_cpu, "layer_evals_per_cpu_s": n / total_cpu}


def _base_per_point(checkout: str, params: list) -> dict:
    code = f"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from archsim.sweep import load_sweep
from archsim.sweep.execute import evaluate_point, make_context
spec = load_sweep({str(SPACE)!r})
ctx = make_context(spec)
params = json.loads(sys.stdin.read())
evaluate_point(ctx, ("k", 0, 0, params[0]))
c0 = time.process_time()
for p in params:
    evaluate_point(ctx, ("k", 0, 0, p))
print(json.dumps({{"cpu_s": time.process_time() - c0}}))
"""
    env = {**os.environ, "PYTHONPATH": checkout}
    res = subprocess.run([sys.executable, "-c", code], input=json.dumps(params), text=True,
                         capture_output=True, env=env, cwd=checkout, timeout=3600)
    if res.returncode:
        return {"error": res.stderr[-500:]}
    cpu = json.loads(res.stdout.strip().splitlines()[-1])["cpu_s"]
    return {"checkout": checkout, "sample": len(params), "cpu_s": cpu,
            "ms_per_point": 1e3 * cpu / len(params), "layer_evals_per_cpu_s": len(params) * 54 / cpu}


# ------------------------------------------------------------------ 2. whole sweeps

def bench_sweeps(jobs_list) -> dict:
    from archsim.sweep import load_sweep, run_sweep
    out = {}
    spec = load_sweep(SPACE)
    for jobs in jobs_list:
        with tempfile.TemporaryDirectory() as tmp:
            c_self, c_kids = _cpu_self(), _cpu_children()
            t0 = time.perf_counter()
            res = run_sweep(spec, "local", out_dir=Path(tmp) / "sw", jobs=jobs)
            wall = time.perf_counter() - t0
            cpu = (_cpu_self() - c_self) + (_cpu_children() - c_kids)
        out[f"jobs{jobs}"] = {"points": res.n_ok, "wall_s": wall, "executor_wall_s": res.wall_s,
                              "cpu_s": cpu, "points_per_s": res.n_ok / wall,
                              "layer_evals_per_s": res.n_ok * 54 / wall, "load": _load()}
    return out


# ------------------------------------------------------------------ 3. mapper vs ZigZag

ZZ_ARCH = {
    "name": "zigzag-tpu-like-32x32",
    "tech": {"node_nm": 28},
    "components": {"sa": {
        "kind": "systolic_array", "rows": 32, "cols": 32, "dataflow": "ws",
        # ZigZag tpu_like: one 2 MB SRAM shared by activations and outputs, 128 B of weight
        # register file per PE (1024 PEs), a 64-bit DRAM port; int8 operands
        "ifmap_sram_kib": 1024, "ofmap_sram_kib": 1024, "filter_sram_kib": 128,
        "word_bytes": 1, "dtype": "int8", "dram_bandwidth_words_per_cycle": 8.0,
        "dram_channels": "shared", "clock_ghz": 1.0}},
}


def bench_mapper(zigzag_python: str | None, zigzag_json: str | None) -> dict:
    from archsim import load_arch, load_workload, simulate
    wl = load_workload(REPO / "workloads/cnn/resnet18.csv")
    out: dict = {"archsim": {}}
    variants = {"fixed_ws": {}, "mapper_cycles": {"components.sa.mapping": "search"},
                "mapper_cycles_fold_overlap": {"components.sa.mapping": "search",
                                               "components.sa.fold_overlap": True},
                "mapper_edp": {"components.sa.mapping": "search",
                               "components.sa.mapping_objective": "edp"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate(load_arch(ZZ_ARCH), wl)
        for name, over in variants.items():
            arch = load_arch({**ZZ_ARCH, "components": {"sa": {**ZZ_ARCH["components"]["sa"]}}}, over)
            t0, c0 = time.perf_counter(), time.process_time()
            rep = simulate(arch, wl)
            out["archsim"][name] = {
                "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                "total_cycles": rep.totals()["cycles"], "energy_j": rep.totals()["energy_j"],
                "layers": [{"name": o.name, "cycles": int(o.cycles),
                            "dataflow": o.details.get("dataflow")} for o in rep.ops]}
    zz = None
    if zigzag_json and Path(zigzag_json).is_file():
        zz = json.loads(Path(zigzag_json).read_text())
    elif zigzag_python:
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "zz.json"
            res = subprocess.run([zigzag_python, str(REPO / "benchmarks/zigzag_resnet18.py"), str(f)],
                                 capture_output=True, text=True, timeout=3600, cwd=tmp)
            if res.returncode == 0:
                zz = json.loads(f.read_text())
            else:
                out["zigzag_error"] = res.stderr[-1000:]
    if zz is not None:
        convs = [lay for lay in zz["layers"] if lay["type"] in ("Conv", "Gemm")]
        order = ["/conv1/Conv"] + [f"/layer{s}/layer{s}.{b}/{c}" for s in range(1, 5) for b in range(2)
                                   for c in ("conv1/Conv", "conv2/Conv", "downsample/downsample.0/Conv")] + ["/fc/Gemm"]
        rank = {n: i for i, n in enumerate(order)}
        convs.sort(key=lambda lay: rank.get(lay["name"], 999))
        out["zigzag"] = {"wall_s": zz["wall_s"], "cpu_s": zz["cpu_s"],
                         "total_cycles": sum(lay["cycles"] for lay in convs),
                         "layers": [{"name": lay["name"], "cycles": lay["cycles"]} for lay in convs]}
    return out


# ------------------------------------------------------------------ 4. start-up

def _time_cmd(cmd, n=5, cwd=None) -> dict:
    best_w = best_c = None
    for _ in range(n):
        c0 = _cpu_children()
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        w = time.perf_counter() - t0
        c = _cpu_children() - c0
        if res.returncode:
            return {"error": res.stderr[-500:]}
        best_w = w if best_w is None else min(best_w, w)
        best_c = c if best_c is None else min(best_c, c)
    return {"wall_s": best_w, "cpu_s": best_c}


def bench_startup() -> dict:
    exe = str(Path(sys.executable).parent / "archsim")
    base = [exe] if Path(exe).exists() else ARCHSIM
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one_layer.csv"
        lines = (REPO / "tests/data/scalesim/alexnet_part.csv").read_text().splitlines()
        one.write_text("\n".join(lines[:2]) + "\n")
        cmds = {
            "archsim --help (target < 0.15 s)": base + ["--help"],
            "archsim scalesim, one layer (target < 0.3 s)":
                base + ["scalesim", "-c", str(REPO / "tests/data/scalesim/scale.cfg"), "-t", str(one),
                        "--out", str(Path(tmp) / "ss")],
            "archsim scalesim, one layer, USER mode (numba kernel)":
                base + ["scalesim", "-c", str(REPO / "tests/data/scalesim/scale_user_ws.cfg"), "-t", str(one),
                        "--out", str(Path(tmp) / "ssu")],
            "archsim run tpu-128x128 resnet50 (target < 0.5 s)":
                base + ["run", "tpu-128x128", "resnet50"],
            "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
        }
        for c in cmds.values():              # warm: numba's cache written, files in the page cache
            subprocess.run(c, capture_output=True, cwd=tmp)
        return {name: _time_cmd(c, cwd=tmp) for name, c in cmds.items()}


# ------------------------------------------------------------------ main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=200, help="points for the per-point path")
    ap.add_argument("--base-checkout", help="a checkout of the commit before issue 14 (per-point path)")
    ap.add_argument("--zigzag-python", default=os.environ.get("ZIGZAG_PYTHON"),
                    help="python of a venv with zigzag-dse and six")
    ap.add_argument("--zigzag-json", help="a JSON written by benchmarks/zigzag_resnet18.py (skips running it)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["layers", "sweeps", "mapper", "startup"])
    ap.add_argument("--json", default=str(REPO / "results" / "bench_dse.json"))
    args = ap.parse_args(argv)
    res: dict = {"load_before": _load(), "cpus": os.cpu_count()}
    if "startup" not in args.skip:
        res["startup"] = bench_startup()
        for k, v in res["startup"].items():
            print(f"{k:55s} wall {v.get('wall_s', float('nan')):.3f} s  cpu {v.get('cpu_s', float('nan')):.3f} s")
    if "layers" not in args.skip:
        res["layers"] = r = bench_layers(args.sample, args.base_checkout)
        print(f"\n{r['points']} points x {r['layers_per_point']} layers, one core:")
        for k in ("batch_cold", "batch_warm"):
            print(f"  batched ({k[6:]} count caches): {r[k]['cpu_s']:.2f} s CPU, "
                  f"{r[k]['points_per_cpu_s']:.0f} points/s, {r[k]['layer_evals_per_cpu_s']:.0f} layer evals/s")
        print(f"  kernel alone: {r['kernel']['layer_evals_per_cpu_s']:.0f} layer evals/s")
        print(f"  per-point simulate: {r['per_point']['ms_per_point']:.1f} ms/point, "
              f"{r['per_point']['layer_evals_per_cpu_s']:.0f} layer evals/s (sample {r['per_point']['sample']})")
        if "per_point_base" in r:
            b = r["per_point_base"]
            print(f"  per-point, before issue 14: {b.get('ms_per_point', float('nan')):.1f} ms/point, "
                  f"{b.get('layer_evals_per_cpu_s', float('nan')):.0f} layer evals/s")
    if "sweeps" not in args.skip:
        res["sweeps"] = s = bench_sweeps((1, 2))
        for k, v in s.items():
            print(f"\nsweep, {k}: {v['points']} points in {v['wall_s']:.1f} s wall ({v['cpu_s']:.1f} s CPU), "
                  f"{v['points_per_s']:.0f} points/s, {v['layer_evals_per_s']:.0f} layer evals/s; {v['load']}")
    if "mapper" not in args.skip:
        res["mapper"] = m = bench_mapper(args.zigzag_python, args.zigzag_json)
        a = m["archsim"]
        zz = m.get("zigzag")
        print("\nResNet-18 on ZigZag's TPU-like 32x32: cycles per layer")
        print(f"{'layer':22s} {'fixed ws':>10s} {'mapper':>10s} {'df':>3s} {'+overlap':>10s}" + (f" {'zigzag':>10s}" if zz else ""))
        for i, lay in enumerate(a["fixed_ws"]["layers"]):
            row = (f"{lay['name'][:22]:22s} {lay['cycles']:>10,d} {a['mapper_cycles']['layers'][i]['cycles']:>10,d} "
                   f"{a['mapper_cycles']['layers'][i]['dataflow']:>3s} "
                   f"{a['mapper_cycles_fold_overlap']['layers'][i]['cycles']:>10,d}")
            if zz and i < len(zz["layers"]):
                row += f" {int(zz['layers'][i]['cycles']):>10,d}"
            print(row)
        tot = (f"{'total':22s} {a['fixed_ws']['total_cycles']:>10,d} {a['mapper_cycles']['total_cycles']:>10,d}     "
               f"{a['mapper_cycles_fold_overlap']['total_cycles']:>10,d}")
        if zz:
            tot += f" {int(zz['total_cycles']):>10,d}"
        print(tot)
        print("time: " + ", ".join(f"archsim {k} {v['cpu_s'] * 1e3:.0f} ms CPU" for k, v in a.items())
              + (f", ZigZag {zz['wall_s']:.1f} s wall / {zz['cpu_s']:.1f} s CPU" if zz else ""))
        if zz:
            # conv1 (3 input channels) leaves ZigZag's fixed K x C = 32 x 32 spatial unrolling
            # 3/32 used; the other layers compare like for like
            rest_zz = sum(lay["cycles"] for lay in zz["layers"][1:])
            for k in ("fixed_ws", "mapper_cycles", "mapper_cycles_fold_overlap"):
                rest = sum(lay["cycles"] for lay in a[k]["layers"][1:])
                m[f"ratio_{k}"] = {"all": a[k]["total_cycles"] / zz["total_cycles"],
                                   "without_conv1": rest / rest_zz}
                print(f"archsim {k} / ZigZag cycles: {m[f'ratio_{k}']['all']:.3f} "
                      f"(without conv1: {m[f'ratio_{k}']['without_conv1']:.3f})")
    res["load_after"] = _load()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(f"\n{res['load_before']} -> {res['load_after']}; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
