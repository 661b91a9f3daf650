"""Speed benchmark: SCALE-Sim 3.0.0 (its Python API) vs archsim's SCALE-Sim compat mode.

Runs both on the same layers (ResNet-18 and ResNet-50 conv layers and transformer GEMMs from
workloads/cnn/, 32x32 and 128x128 arrays, OS/WS/IS, CALC mode plus one stalling USER memory
setting), checks that the reports are equal (integers exactly, floats within 1%), and prints
wall time, peak memory and the speed ratio per case and overall. Then a 2048x2048x2048 GEMM on
128x128 (archsim alone; SCALE-Sim under a time cap), archsim's cold start (first numba compile,
fresh NUMBA_CACHE_DIR) and warm latency.

Each side runs in its own child process; wall time is measured inside the child around the
simulation call (SCALE-Sim: scalesim(...) + run_scale(), archsim: run_scalesim() +
write_reports(), after a warm-up that loads the numba cache); peak memory is the child's max
RSS (os.wait4), which includes the interpreter (and, for archsim, numba/LLVM) baseline, and for
archsim also the tracemalloc peak of the simulation itself.

    python benchmarks/bench_scalesim.py            # full (SCALE-Sim needs ~5-15 min)
    python benchmarks/bench_scalesim.py --quick    # subset (~1-2 min)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ROOT / "workloads" / "cnn"
FALLBACK_RESNET50 = Path("/work/shared/scalesim-upstream/Resnet50.csv")

# Layer subsets (SCALE-Sim needs minutes per full network on one core).
FULL_LAYERS = {
    "resnet18": ["layer2.0.downsample", "layer3.0.conv1"],
    "resnet50": ["layer1.0.conv1", "layer3.0.conv3"],
    "transformer": ["bert_base_s128_attn_out"],
}
QUICK_LAYERS = {
    "resnet18": ["layer2.0.downsample"],
    "resnet50": ["layer1.0.conv1"],
    "transformer": ["bert_base_s128_attn_out"],
}
FILES = {"resnet18": "resnet18.csv", "resnet50": "resnet50.csv", "transformer": "transformer_gemms.csv"}


# ------------------------------------------------------------------------------------------
# child processes
# ------------------------------------------------------------------------------------------
def child_scalesim(cfg, topo, gemm, workdir):
    from archsim.scalesim_compat.reference import run_reference
    t0, c0 = time.perf_counter(), time.process_time()
    folder = run_reference(cfg, topo, gemm=gemm, workdir=workdir)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "reports": str(folder)}


def child_archsim(cfg, topo, gemm, workdir):
    import tracemalloc
    from archsim.scalesim_compat import compat_gemm, run_scalesim, write_reports
    t0 = time.perf_counter()
    # load (or, on the very first run, compile) every kernel outside the timed region
    compat_gemm(8, 8, 8, rows=4, cols=4, dataflow="os")
    compat_gemm(40, 40, 40, rows=4, cols=4, dataflow="os", mode="user", ifmap_sram_kb=1,
                filter_sram_kb=1, ofmap_sram_kb=1)
    warmup_s = time.perf_counter() - t0
    out = Path(workdir) / "archsim"
    t0, c0 = time.perf_counter(), time.process_time()
    reports = run_scalesim(cfg, topo, gemm=gemm)
    write_reports(reports, out)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    tracemalloc.start()
    run_scalesim(cfg, topo, gemm=gemm)
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"wall_s": wall_s, "cpu_s": cpu_s, "warmup_s": warmup_s, "heap_peak_mb": heap_peak / 2**20,
            "reports": str(out), "demand_rows": sum(r.demand_rows for r in reports),
            "total_cycles": sum(r.total_cycles for r in reports),
            "stall_cycles": sum(r.stall_cycles for r in reports)}


def run_child(kind, cfg, topo, gemm, workdir, timeout_s=None, env=None):
    """Run a child; returns (result dict or None on timeout, max RSS MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(cfg), str(topo),
           "1" if gemm else "0", str(workdir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(workdir))
    t0 = time.monotonic()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return None, usage.ru_maxrss / 1024
        time.sleep(0.02)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


# ------------------------------------------------------------------------------------------
# cases
# ------------------------------------------------------------------------------------------
def topology_lines(workload, names):
    path = WORKLOADS / FILES[workload]
    if not path.exists() and workload == "resnet50":
        path = FALLBACK_RESNET50
    lines = path.read_text().splitlines()
    header, rows = lines[0], [ln for ln in lines[1:] if ln.strip()]
    picked = [ln for ln in rows if ln.split(",")[0].strip() in names]
    if not picked:      # fallback topology with other layer names: take the first few
        picked = rows[: len(names)]
    return header, picked


def build_cases(quick):
    layers = QUICK_LAYERS if quick else FULL_LAYERS
    arrays = [32] if quick else [32, 128]
    cases = []
    for workload, names in layers.items():
        header, rows = topology_lines(workload, names)
        gemm = workload == "transformer"
        for size in arrays:
            for df in ("os", "ws", "is"):
                cases.append(dict(label=f"{workload} {size}x{size} {df.upper()} CALC",
                                  workload=workload, header=header, rows=rows, gemm=gemm,
                                  cfg=dict(rows=size, cols=size, kb=64, bw=10, df=df, mode="CALC")))
        # one stalling USER memory setting (SCALE-Sim's scale_user_*.cfg: 64 kB, 10 words/cycle);
        # SCALE-Sim needs minutes for the transformer layer under it, so OS only (none in --quick)
        if gemm and quick:
            continue
        for df in (("os",) if gemm else ("os", "ws", "is")):
            cases.append(dict(label=f"{workload} 32x32 {df.upper()} USER", workload=workload,
                              header=header, rows=rows, gemm=gemm,
                              cfg=dict(rows=32, cols=32, kb=64, bw=10, df=df, mode="USER")))
    return cases


def write_case(case, folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "case.cfg"
    from archsim.scalesim_compat.reference import make_cfg
    c = case["cfg"]
    cfg.write_text(make_cfg(run_name=name, rows=c["rows"], cols=c["cols"], dataflow=c["df"],
                            mode=c["mode"], ifmap_kb=c["kb"], filter_kb=c["kb"], ofmap_kb=c["kb"],
                            ifmap_bw=c["bw"], filter_bw=c["bw"], ofmap_bw=c["bw"]))
    topo = folder / "topology.csv"
    topo.write_text(case["header"] + "\n" + "\n".join(case["rows"]) + "\n")
    return cfg, topo


def compare(a_dir, b_dir):
    from archsim.scalesim_compat.reference import read_reports
    floats = {"Overall Util %", "Mapping Efficiency %", "Compute Util %", "Avg IFMAP SRAM BW",
              "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW", "Avg IFMAP DRAM BW",
              "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW"}
    ours, ref = read_reports(a_dir), read_reports(b_dir)
    bad = []
    if len(ours) != len(ref):
        return [f"{len(ours)} vs {len(ref)} layers"]
    for lid, (x, y) in enumerate(zip(ours, ref)):
        for col, want in y.items():
            got = x.get(col)
            if got is None:
                bad.append(f"layer {lid}: missing {col}")
            elif col in floats:
                if abs(float(got) - float(want)) > 0.01 * abs(float(want)):
                    bad.append(f"layer {lid} {col}: {got} vs {want}")
            elif float(got) != float(want):
                bad.append(f"layer {lid} {col}: {got} vs {want}")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small subset (32x32 only)")
    ap.add_argument("--cap-s", type=float, default=None,
                    help="SCALE-Sim time cap for the 2048^3 GEMM (default 120 s, quick 30 s)")
    ap.add_argument("--child", nargs=5, metavar=("KIND", "CFG", "TOPO", "GEMM", "DIR"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, cfg, topo, gemm, workdir = args.child
        fn = child_scalesim if kind == "scalesim" else child_archsim
        print(json.dumps(fn(cfg, topo, gemm == "1", workdir)))
        return 0

    cap_s = args.cap_s if args.cap_s is not None else (30.0 if args.quick else 120.0)
    tmp = Path(tempfile.mkdtemp(prefix="bench_scalesim_"))
    cases = build_cases(args.quick)
    print(f"bench_scalesim: {len(cases)} cases ({'quick' if args.quick else 'full'}), work dir {tmp}")
    hdr = (f"{'case':<34} {'layers':>6} {'cycles':>10} {'stalls':>9} {'SCALE-Sim s':>11} "
           f"{'archsim s':>9} {'ratio':>8} {'SS RSS MB':>9} {'AS RSS MB':>9} {'AS heap MB':>10} equal")
    print(hdr)
    tot_ss = tot_as = cpu_ss = cpu_as = 0.0
    n_equal = 0
    for i, case in enumerate(cases):
        folder = tmp / f"case{i:02d}"
        cfg, topo = write_case(case, folder, f"case{i:02d}")
        ss, ss_rss = run_child("scalesim", cfg, topo, case["gemm"], folder)
        ar, ar_rss = run_child("archsim", cfg, topo, case["gemm"], folder)
        bad = compare(ar["reports"], ss["reports"])
        n_equal += not bad
        tot_ss += ss["wall_s"]
        tot_as += ar["wall_s"]
        cpu_ss += ss["cpu_s"]
        cpu_as += ar["cpu_s"]
        print(f"{case['label']:<34} {len(case['rows']):>6} {ar['total_cycles']:>10} "
              f"{ar['stall_cycles']:>9} {ss['wall_s']:>11.2f} {ar['wall_s']:>9.4f} "
              f"{ss['wall_s'] / ar['wall_s']:>7.0f}x {ss_rss:>9.0f} {ar_rss:>9.0f} "
              f"{ar['heap_peak_mb']:>10.1f} {'yes' if not bad else 'NO'}", flush=True)
        for line in bad[:5]:
            print("    mismatch:", line)
    print(f"overall: SCALE-Sim {tot_ss:.1f} s, archsim {tot_as:.3f} s, speed ratio "
          f"{tot_ss / tot_as:.0f}x (CPU time: {cpu_ss:.1f} s vs {cpu_as:.3f} s, {cpu_ss / cpu_as:.0f}x); "
          f"reports equal in {n_equal}/{len(cases)} cases")

    # 2048^3 GEMM on 128x128 (CALC, 64 kB SRAMs: SCALE-Sim's scale.cfg sizes)
    big = dict(label="gemm 2048^3 128x128 OS CALC", header="Layer, M, N, K,",
               rows=["gemm2048, 2048, 2048, 2048,"], gemm=True,
               cfg=dict(rows=128, cols=128, kb=64, bw=10, df="os", mode="CALC"))
    folder = tmp / "gemm2048"
    cfg, topo = write_case(big, folder, "gemm2048")
    ar, ar_rss = run_child("archsim", cfg, topo, True, folder)
    print(f"2048x2048x2048 GEMM, 128x128 OS CALC: archsim {ar['wall_s']:.3f} s "
          f"({ar['total_cycles']} cycles, RSS {ar_rss:.0f} MB, heap {ar['heap_peak_mb']:.1f} MB)", flush=True)
    ss, ss_rss = run_child("scalesim", cfg, topo, True, folder, timeout_s=cap_s)
    if ss is None:
        print(f"  SCALE-Sim: > {cap_s:.0f} s (stopped at the cap, RSS {ss_rss:.0f} MB by then); "
              f"ratio > {cap_s / ar['wall_s']:.0f}x")
    else:
        bad = compare(ar["reports"], ss["reports"])
        print(f"  SCALE-Sim: {ss['wall_s']:.1f} s, RSS {ss_rss:.0f} MB; ratio "
              f"{ss['wall_s'] / ar['wall_s']:.0f}x; equal: {'yes' if not bad else 'NO'}")

    # cold start (empty numba cache) and warm latency of the CLI, plus in-process warm latency
    small_cfg = ROOT / "tests" / "data" / "scalesim" / "scale_user_os.cfg"
    small_topo = ROOT / "tests" / "data" / "scalesim" / "test_mnk_input.csv"
    cache = tmp / "numba_cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    cli = [sys.executable, "-m", "archsim", "scalesim", "-c", str(small_cfg), "-t", str(small_topo),
           "--out", str(tmp / "cli_out")]
    cold_s, cold_cpu = _timed(cli, env)
    warm = min((_timed(cli, env) for _ in range(3)), key=lambda x: x[0])
    print(f"archsim cold start (empty numba cache, compile + run, `archsim scalesim` on a 256x128x256 "
          f"GEMM USER): {cold_s:.1f} s wall ({cold_cpu:.1f} s CPU); warm CLI latency (same command, "
          f"cached): {warm[0]:.2f} s wall ({warm[1]:.2f} s CPU)")
    print(f"archsim warm in-process latency of that case: {_warm_inprocess(small_cfg, small_topo) * 1e3:.1f} ms")
    return 0


def _timed(cmd, env):
    """(wall s, CPU s of the child) for one command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(proc.stderr.read().decode()[-2000:])
    return wall, usage.ru_utime + usage.ru_stime


def _warm_inprocess(cfg, topo):
    from archsim.scalesim_compat import run_scalesim
    run_scalesim(cfg, topo)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        run_scalesim(cfg, topo)
        best = min(best, time.perf_counter() - t0)
    return best


if __name__ == "__main__":
    sys.exit(main())
