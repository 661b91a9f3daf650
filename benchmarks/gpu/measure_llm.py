"""GPU measurement suite for issues 11 and 12: runs measure.py's calibration sections and the
new sections below, each in its own process under one time budget, and merges everything into
one JSON file that `archsim calibrate gpu FILE --preset PRESET` reads like measure.py output.

New sections (torch-free case lists and op lists in measure_cases.py):
  attn_impl    attention implementations: PyTorch SDPA with each backend forced (flash,
               efficient, cudnn, math) or left to choose (default), GQA native (enable_gqa) vs
               K/V expanded once vs expanded every call, and flash_attn where importable; which
               backend ran (torch._fused_sdp_choice; kernel names from the profiler for the
               default backend) or why it failed; output error against the default backend.
  graph        eager vs CUDA graph: chains of small kernels and a few whole decoder layers.
  power_clock  sustained bf16 8192^3 GEMM, fp8 GEMM and a 2 GiB copy at the power cap: NVML
               (or nvidia-smi) samples of power, SM/memory clock, temperature and throttle
               reasons; achieved TFLOP/s and TB/s over time; energy = power x time.
  llm_layer    whole decoder layers, eager and CUDA graph: Llama-3-8B (GQA, dense SwiGLU),
               Mixtral-8x7B (GQA, MoE top-2: grouped GEMM and HF-style loop), DeepSeek-V2-Lite
               (MLA naive and weight-absorbed, MoE top-6 + 2 shared experts); prefill and decode.
  llm_step     whole decode steps (all layers + embedding + LM head + argmax; Mixtral: its
               first 8 layers), eager and CUDA graph.
  llm_profile  the llm_layer cases once more under the PyTorch profiler (eager): device time
               and kernels of every step of the layer (record_function scopes = op names).
measure.py sections (run by measure.py itself): calib (every grid: launch, gemm, conv2d, mlp,
hash_encode, attention, kv_retrieve, topk, gather, elementwise, copy), power_duty, workload,
random, mpower (measure.py's sustained-power section).

Timing of the new sections (say so wherever these numbers are used):
  times_s   device time of one call: a GPU sleep kernel is queued first, long enough for the
            host to enqueue the L2 flush (a write of max(4 x L2, 256 MiB)), a start event, the
            whole call and an end event behind it, so the events time the call's kernels back to
            back with the host's dispatch hidden and the L2 cold (triton.testing.do_bench's
            method, plus the sleep). Median / min / p10 / p90 over the repetitions.
  stream_s  mean time per call of n back-to-back calls between two events, no flush, no sleep
            (host-bound where the host is slower than the GPU: eager small kernels).
  wall_s    host wall clock of one call with a synchronize before and after (warm L2).
  host_s    host time to enqueue one call (no synchronize).
  Calls with a host sync inside (the MoE loop) cannot hide dispatch: `syncs: true`, no sleep.

Robustness: every case is wrapped (an error is recorded, the run goes on); an error that
poisons the CUDA context (illegal address, ...) ends the child with code 3 and the driver
restarts the section at the next case (up to 3 times); a child that overruns its share of the
budget is killed and the next section starts; the merged JSON is rewritten as results arrive.

Usage (on the GPU machine; see docs/gpu.md for the two standard runs):
    set -o pipefail; python3 benchmarks/gpu/measure_llm.py --run a --budget-s 540 --out $OUT/h100-a.json 2>&1 | tee $OUT/h100-a.log
    set -o pipefail; python3 benchmarks/gpu/measure_llm.py --run b --budget-s 540 --out $OUT/h100-b.json 2>&1 | tee $OUT/h100-b.log
    python benchmarks/gpu/measure_llm.py --plan --run a          # cases and estimates, no torch
    python benchmarks/gpu/measure_llm.py --dry-run --run a --out /tmp/dry.json   # CPU, tiny shapes
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import measure_cases as MC      # noqa: E402  (torch-free)

RUNS = {
    # run a: H100 calibration + attention implementations + eager/graph + power-capped clocks
    "a": dict(sections="calib,attn_impl,graph,power_clock,power_duty,workload,random",
              attn_set="a"),
    # run b: LLM layers and decode steps + attention implementations at other shapes
    "b": dict(sections="llm_layer,llm_step,attn_impl,llm_profile", attn_set="b"),
}
POISON_EXIT = 3
STICKY_ERRORS = ("illegal memory access", "unspecified launch failure", "misaligned address",
                 "device-side assert", "illegal instruction", "uncorrectable ECC",
                 "CUDA error: unknown error", "invalid program counter", "an illegal address",
                 "CUDA error: an illegal")


# ============================================================================== driver (no torch)

def _smi_snapshot(dry):
    if dry:
        return {}
    try:
        q = ("name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.limit,"
             "power.default_limit,power.max_limit,power.draw,temperature.gpu,pstate,memory.used")
        r = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader,nounits"],
                           capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            return {"error": r.stderr.strip()[:300]}
        return dict(zip(q.split(","), [v.strip() for v in r.stdout.strip().split(",")]))
    except Exception as exc:
        return {"error": str(exc)[:300]}


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except Exception:
        return None


class Driver:
    def __init__(self, args):
        self.args = args
        self.t0 = time.time()
        self.deadline = self.t0 + args.budget_s
        self.out = Path(args.out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="measure_llm_"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.parts: list[tuple[str, Path]] = []
        self.sections_meta: list[dict] = []
        self.smi_start = _smi_snapshot(args.dry_run)

    def child_cmd(self, sec, part, budget_s, start_index):
        a = self.args
        py = sys.executable
        if sec in MC.MEASURE_PY_SECTIONS:
            cmd = [py, str(HERE / "measure.py"), "--sections", MC.MEASURE_PY_SECTIONS[sec],
                   "--budget-s", f"{max(budget_s, 5.0):.0f}", "--out", str(part),
                   "--power-s", str(a.power_s), "--random-per-kind", str(a.random_per_kind),
                   "--gemm-dtypes", a.gemm_dtypes]
            if a.dry_run:
                cmd.append("--dry-run")
            return cmd
        cmd = [py, str(Path(__file__).resolve()), "--child", sec, "--part", str(part),
               "--deadline", f"{time.time() + budget_s:.3f}", "--start-index", str(start_index),
               "--attn-set", a.attn_set, "--layer-set", a.layer_set, "--step-set", a.step_set,
               "--reps", str(a.reps), "--mem-limit-gib", str(a.mem_limit_gib),
               "--power-load-s", str(a.power_load_s), "--budget-s", str(a.budget_s)]
        if a.dry_run:
            cmd.append("--dry-run")
        if a.no_profile:
            cmd.append("--no-profile")
        if a.moe_pad:
            cmd += ["--moe-pad", str(a.moe_pad)]
        return cmd

    def merge(self, final=False):
        parts = [(sec, part, _read_json(part)) for sec, part in self.parts]
        parts = [(sec, part, d) for sec, part, d in parts if d]
        # the file's meta: measure.py's (its args carry gemm_dtypes, which calibrate.py reads)
        # or else the first child's; every child's own notes go under suite.children
        base = next((d.get("meta") for sec, _, d in parts if sec in MC.MEASURE_PY_SECTIONS and d.get("meta")),
                    None) or next((d.get("meta") for _, _, d in parts if d.get("meta")), None)
        merged_meta = json.loads(json.dumps(base, default=str)) if base else None
        power, results, child_metas = {}, [], []
        for sec, part, d in parts:
            m = d.get("meta", {})
            child_metas.append({"section": sec, "part": part.name,
                                **{k: m.get(k) for k in ("section_time_s", "section_errors",
                                                         "op_validation", "stopped", "poisoned",
                                                         "child_errors", "flash_attn", "dispatch_hiding",
                                                         "elapsed_s")
                                   if m.get(k) is not None}})
            for k, v in (d.get("power") or {}).items():
                if isinstance(v, dict) and isinstance(power.get(k), dict):
                    power[k].update(v)
                else:
                    power[k] = v
            results.extend(d.get("results", []))
        meta = merged_meta or {"note": "no child wrote its device info"}
        meta["suite"] = {
            "script": "benchmarks/gpu/measure_llm.py", "argv": sys.argv[1:],
            "args": vars(self.args), "sections": self.sections_meta, "children": child_metas,
            "smi_start": self.smi_start, "elapsed_s": time.time() - self.t0, "final": final,
            "timing_new_sections": __doc__.split("Timing of the new sections")[1].split("Robustness")[0].strip(),
        }
        if final:
            meta["suite"]["smi_end"] = _smi_snapshot(self.args.dry_run)
        out = {"meta": meta, "power": power, "results": results, "elapsed_s": time.time() - self.t0}
        tmp = self.out.with_suffix(self.out.suffix + ".tmp")
        tmp.write_text(json.dumps(out, default=str))     # compact: $OUT files are size-limited
        os.replace(tmp, self.out)
        return out

    def run(self, sections):
        est = {r["section"]: r["est_s"] for r in MC.plan_sections(
            sections, self.args.attn_set, self.args.layer_set, self.args.step_set, self.args.power_load_s)}
        for i, sec in enumerate(sections):
            now = time.time()
            left = self.deadline - now - self.args.reserve_s
            rem = sum(est[s] for s in sections[i:])
            share = left * est[sec] / max(rem, 1e-9)
            sm = {"section": sec, "estimate_s": round(est[sec], 1), "start_s": round(now - self.t0, 1)}
            self.sections_meta.append(sm)
            if left < self.args.min_section_s:
                sm["skipped"] = f"budget: {left:.0f} s left"
                print(f"== {sec}: skipped, {left:.0f} s left", flush=True)
                continue
            budget = max(min(left, self.args.min_section_s), share)
            sm["budget_s"] = round(budget, 1)
            print(f"== {sec}: budget {budget:.0f} s (estimate {est[sec]:.0f} s, {left:.0f} s left)", flush=True)
            start_index, restarts = 0, 0
            sm["runs"] = []
            while True:
                part = self.work / f"{i:02d}-{sec}-{restarts}.json"
                sec_deadline = min(self.deadline, now + budget + self.args.grace_s)
                cmd = self.child_cmd(sec, part, max(5.0, now + budget - time.time()), start_index)
                self.parts.append((sec, part))
                t_start = time.time()
                proc = subprocess.Popen(cmd, cwd=str(REPO), env=dict(os.environ, PYTHONUNBUFFERED="1"))
                killed = False
                last_merge = time.time()
                while proc.poll() is None:
                    time.sleep(1.0)
                    if time.time() > sec_deadline:
                        print(f"== {sec}: over its deadline, killing child {proc.pid}", flush=True)
                        proc.kill()
                        killed = True
                        proc.wait()
                        break
                    if time.time() - last_merge > 20:
                        self.merge()
                        last_merge = time.time()
                rc = proc.returncode
                d = _read_json(part) or {}
                run = {"rc": rc, "killed": killed, "elapsed_s": round(time.time() - t_start, 1),
                       "start_index": start_index, "n_records": len(d.get("results", [])),
                       "n_errors": sum(1 for r in d.get("results", []) if "error" in r)}
                sm["runs"].append(run)
                self.merge()
                nxt, n = d.get("next_index"), d.get("n_cases")
                if (rc == POISON_EXIT and nxt is not None and n is not None and nxt < n
                        and restarts < 3 and self.deadline - time.time() > self.args.min_section_s):
                    restarts += 1
                    start_index = nxt
                    print(f"== {sec}: CUDA context poisoned; restarting at case {nxt}", flush=True)
                    continue
                break
        final = self.merge(final=True)
        self.summary(final)
        return final

    def summary(self, final):
        print("\n== summary (" + str(self.out) + ")")
        by = {}
        for r in final["results"]:
            s = by.setdefault(r.get("section", "?"), [0, 0, 0])
            if "error" in r:
                s[1] += 1
            elif "skipped" in r:
                s[2] += 1
            else:
                s[0] += 1
        for sm in self.sections_meta:
            runs = sm.get("runs", [])
            print(f"{sm['section']:12s} budget {sm.get('budget_s', 0):6.0f} s  "
                  f"took {sum(r['elapsed_s'] for r in runs):6.0f} s  runs {len(runs)} "
                  f"rc {[r['rc'] for r in runs]}{' KILLED' if any(r['killed'] for r in runs) else ''}"
                  f"{'  ' + sm['skipped'] if 'skipped' in sm else ''}")
        for sec, (ok, err, sk) in by.items():
            print(f"  records {sec:12s} ok {ok:5d}  errors {err:4d}  skipped {sk:4d}")
        pw = final.get("power", {}).get("loads", {})
        for name, rec in pw.items():
            if name.startswith("capped_") and "achieved_tflops" in rec:
                print(f"  {name:24s} {rec.get('mean_steady_power_w', float('nan')):6.1f} W  "
                      f"{rec['achieved_tflops']:7.1f} TFLOP/s  {rec['achieved_tb_s']:5.2f} TB/s  "
                      f"SM {rec.get('mean_steady_sm_mhz', float('nan')):6.0f} MHz")
        print(f"total {time.time() - self.t0:.0f} s; wrote {self.out}")


def print_plan(args, sections):
    rows = MC.plan_sections(sections, args.attn_set, args.layer_set, args.step_set, args.power_load_s)
    tot = 0.0
    print(f"{'section':12s} {'cases':>6s} {'timings':>8s} {'est s':>7s} {'max GiB':>8s}")
    for r in rows:
        tot += r["est_s"] + 8          # + child start (python, torch, CUDA context)
        print(f"{r['section']:12s} {str(r['cases'] or '-'):>6s} {str(r['timings'] or '-'):>8s} "
              f"{r['est_s']:7.0f} {r.get('max_mem_gib', 0):8.1f}")
    print(f"total estimate {tot:.0f} s (budget {args.budget_s:.0f} s; sections share it by these "
          "estimates, unused time passes on)")
    if args.verbose:
        for sec in sections:
            if sec == "attn_impl":
                for c in MC.attn_cases(args.attn_set):
                    print("  attn", json.dumps(c), len(MC.attn_variants(c)), "variants")
            if sec in ("llm_layer", "graph", "llm_profile"):
                for c in MC.layer_cases("smoke" if sec == "graph" else args.layer_set):
                    print(f"  {sec} {json.dumps(c)} {MC.case_memory_bytes(c) / 2**30:.2f} GiB "
                          f"{1e3 * MC.ops_estimate_s(MC.layer_ops(c)):.3f} ms")
            if sec == "llm_step":
                for c in MC.step_cases(args.step_set):
                    print(f"  step {json.dumps(c)} {MC.case_memory_bytes(c) / 2**30:.2f} GiB "
                          f"{1e3 * MC.ops_estimate_s(MC.step_ops(c)):.3f} ms")


# ============================================================================== child (torch)

torch = None
F = None
M = None        # measure.py, imported in the child


def _import_torch():
    global torch, F, M
    import torch as _t
    import torch.nn.functional as _F
    torch, F = _t, _F
    import measure as _m
    M = _m


class NullScope:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


NULL = NullScope()


class Child:
    """One section in one process: device, timing, records, incremental part file."""

    def __init__(self, args):
        self.args = args
        self.dry = args.dry_run
        self.dev = torch.device("cpu" if self.dry else "cuda")
        self.deadline = args.deadline or (time.time() + args.budget_s)
        self.t0 = time.time()
        self.part = Path(args.part)
        self.results: list[dict] = []
        self.power: dict = {}
        self.meta = M.device_info(types.SimpleNamespace(dry=self.dry, args=args))
        self.meta["script"] = "benchmarks/gpu/measure_llm.py"
        self.meta["section"] = args.child
        self.next_index = args.start_index
        self.n_cases = None
        self.done = False
        self._last_save = 0.0
        self.mem_limit = int(args.mem_limit_gib * 2**30)
        self.profile_scopes = False
        l2 = 0
        if not self.dry:
            p = torch.cuda.get_device_properties(0)
            l2 = int(getattr(p, "L2_cache_size", 0) or 0)
            self.clock_hz = float(getattr(p, "clock_rate", 0) or 1.98e6) * 1e3
        else:
            self.clock_hz = 2e9
        nb = max(4 * l2, 256 * 2**20) if not self.dry else 2**20
        self.flush_buf = torch.empty(nb // 4, dtype=torch.float32, device=self.dev)
        self.has_sleep = (not self.dry) and hasattr(torch.cuda, "_sleep")
        self.meta["timing_doc"] = __doc__.split("Timing of the new sections")[1].split("Robustness")[0].strip()
        self.meta["dispatch_hiding"] = ("torch.cuda._sleep" if self.has_sleep else
                                        "none (no torch.cuda._sleep, or CPU dry run)")

    # ---- bookkeeping
    def elapsed(self):
        return time.time() - self.t0

    def time_left(self):
        return self.deadline - time.time()

    def save(self, force=False):
        if not force and time.time() - self._last_save < 2.0:
            return
        out = {"meta": self.meta, "power": self.power, "results": self.results,
               "next_index": self.next_index, "n_cases": self.n_cases, "done": self.done,
               "elapsed_s": self.elapsed()}
        tmp = self.part.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1, default=_json_default))
        os.replace(tmp, self.part)
        self._last_save = time.time()

    def add(self, rec, label=""):
        self.results.append(rec)
        t = (rec.get("times_s") or {}).get("median")
        if "error" in rec:
            msg = "ERROR " + rec["error"][:110]
        elif "skipped" in rec:
            msg = "skipped: " + str(rec["skipped"])[:100]
        else:
            msg = f"{t * 1e6:11.1f} us" if t is not None else "-"
            if rec.get("stream_s") is not None:
                msg += f"  stream {rec['stream_s'] * 1e6:10.1f} us  wall {rec['wall_s']['median'] * 1e6:10.1f} us"
        print(f"[{self.elapsed():6.1f}s] {rec.get('section', ''):11s} {label[:70]:70s} {msg}", flush=True)
        self.save()

    def sync(self):
        if not self.dry:
            torch.cuda.synchronize()

    def flush(self):
        self.flush_buf.zero_()

    def gpu_sleep(self, seconds):
        if self.has_sleep and seconds > 0:
            torch.cuda._sleep(int(seconds * self.clock_hz))

    def empty(self):
        if not self.dry:
            torch.cuda.empty_cache()

    def is_poisoned(self, exc) -> bool:
        if self.dry:
            return False
        msg = f"{type(exc).__name__}: {exc}"
        if any(s in msg for s in STICKY_ERRORS):
            return True
        try:
            torch.cuda.synchronize()
            x = torch.ones(4, device=self.dev)
            float((x + 1).sum())
            torch.cuda.synchronize()
            return False
        except Exception:
            return True

    def fail(self, rec, exc, index, label=""):
        """Record an error; if the CUDA context is poisoned, save and exit for a restart at the
        next case."""
        rec["error"] = f"{type(exc).__name__}: {exc}"[:600]
        rec["traceback"] = traceback.format_exc()[-2000:]
        if not self.dry and "out of memory" in rec["error"].lower():
            rec["oom"] = True
        poisoned = self.is_poisoned(exc)
        if poisoned:
            rec["poisoned_context"] = True
        self.add(rec, label)
        if poisoned:
            self.next_index = index + 1
            self.meta["poisoned"] = {"index": index, "error": rec["error"]}
            self.save(force=True)
            print(f"CUDA context poisoned at case {index}: exiting for a restart", flush=True)
            sys.stdout.flush()
            os._exit(POISON_EXIT)
        self.empty()

    # ---- timing
    def time_call(self, fn, *, reps=None, warmup=2, syncs=False, flush=True, max_s=1.0,
                  n_stream=None, wall_reps=5):
        """Device / stream / wall / host times of `fn()` (see the module doc)."""
        reps = reps or self.args.reps
        for _ in range(warmup):
            fn()
        self.sync()
        perf = time.perf_counter
        t = perf()
        fn()
        h0 = perf() - t
        self.sync()
        hs = []
        for _ in range(3):
            if not syncs:
                self.gpu_sleep(min(0.2, 2 * h0 + 1e-3))
            t = perf()
            fn()
            hs.append(perf() - t)
            self.sync()
        host = sorted(hs)[1]
        sleep_s = 0.0 if (syncs or not self.has_sleep) else min(0.3, 1.5 * host + 50e-6)
        dev = []
        spent = 0.0
        for _ in range(reps):
            if self.dry:
                if flush:
                    self.flush()
                t = perf()
                fn()
                dt = perf() - t
            else:
                self.gpu_sleep(sleep_s)
                if flush:
                    self.flush()
                a = torch.cuda.Event(enable_timing=True)
                b = torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                b.synchronize()
                dt = a.elapsed_time(b) * 1e-3
            dev.append(dt)
            spent += dt + sleep_s
            if spent > max_s and len(dev) >= 3:
                break
        med = sorted(dev)[len(dev) // 2]
        n = n_stream or max(5, min(200, int(0.05 / max(med, host, 1e-6))))
        self.sync()
        if self.dry:
            t = perf()
            for _ in range(n):
                fn()
            stream = (perf() - t) / n
        else:
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(n):
                fn()
            b.record()
            b.synchronize()
            stream = a.elapsed_time(b) * 1e-3 / n
        walls = []
        for _ in range(wall_reps):
            self.sync()
            t = perf()
            fn()
            self.sync()
            walls.append(perf() - t)
        st = MC.stats(dev)
        return {"times_s": {k: st[k] for k in ("median", "min", "p10", "p90", "n")},
                "stream_s": stream, "stream_n": n, "wall_s": MC.stats(walls), "host_s": host,
                "sleep_s": sleep_s, "syncs": syncs, "flush": flush,
                "dispatch_hidden": bool(sleep_s > host) if not syncs else False}


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _randn(shape, dt, dev, scale=1.0):
    x = torch.randn(shape, device=dev, dtype=dt)
    if scale != 1.0:
        x.mul_(scale)
    return x


TDT = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def _tdt(name, dry):
    if dry:
        return torch.float32 if name != "bf16" else torch.bfloat16
    return getattr(torch, TDT[name])


# ------------------------------------------------------------------------- attention impls

def _backend_map():
    from torch.nn.attention import SDPBackend
    m = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
         "math": SDPBackend.MATH}
    if hasattr(SDPBackend, "CUDNN_ATTENTION"):
        m["cudnn"] = SDPBackend.CUDNN_ATTENTION
    names = {}
    for name, member in SDPBackend.__members__.items():
        try:
            names[int(member.value)] = name
        except Exception:
            pass
    return m, names


def _classify_kernels(names):
    s = " ".join(names).lower()
    if "cudnn" in s:
        return "cudnn"
    if "fmha" in s or "cutlassf" in s or "mem_eff" in s or "efficient" in s:
        return "efficient"
    if "flash" in s:
        return "flash"
    if "gemm" in s or "softmax" in s or "bmm" in s or "sm90_xmma" in s or "cutlass" in s:
        return "math"
    return "unknown"


def profile_call(C, fn, scopes=False):
    """Kernels of one call of `fn` under torch.profiler: [{name, us, scope}] in launch order,
    device time per record_function scope, CPU (host) time per scope."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([] if C.dry else [ProfilerActivity.CUDA])
    fn()
    C.sync()
    C.profile_scopes = scopes
    try:
        with profile(activities=acts) as prof:
            fn()
            C.sync()
    finally:
        C.profile_scopes = False
    evts = prof.events()
    kernels, scope_dev, scope_cpu = [], {}, {}

    def scope_of(e):
        p = e
        while p is not None:
            if p.name.startswith("scope:"):
                return p.name[6:]
            p = p.cpu_parent
        return None
    for e in evts:
        if getattr(e, "device_type", None) is not None and str(e.device_type).endswith("CPU"):
            sc = scope_of(e)
            if e.name.startswith("scope:") and sc is not None:
                scope_cpu[sc] = scope_cpu.get(sc, 0.0) + float(e.cpu_time_total)
            for k in getattr(e, "kernels", []) or []:
                if str(k.name).startswith("scope:"):      # the annotation's GPU-side span
                    continue
                kernels.append({"name": str(k.name)[:200], "us": float(k.duration), "scope": sc,
                                "t": float(e.time_range.start)})
                if sc is not None:
                    scope_dev[sc] = scope_dev.get(sc, 0.0) + float(k.duration)
    kernels.sort(key=lambda k: k["t"])
    for k in kernels:
        k.pop("t", None)
    return {"kernels": kernels, "n_kernels": len(kernels),
            "device_us_total": sum(k["us"] for k in kernels),
            "device_us_by_scope": scope_dev, "cpu_us_by_scope": scope_cpu}


def _time_attn_variant(C, T, c, impl, gqa, mask_mode, rec, bmap, bnames, flash_attn_func):
    """Build one attention variant on the shape's tensors T, check it against the default
    backend's output, time it (fills rec). Its locals (expanded K/V) die on return."""
    from torch.nn.attention import sdpa_kernel
    q, k, v = T["q"], T["k"], T["v"]
    rep = c["heads"] // c["kv_heads"]
    qn, kvn = c["q_len"], c["kv_len"]
    attn_mask, is_causal = None, False
    if mask_mode in ("is_causal", "aten_flash_causal"):
        is_causal = True
    elif mask_mode == "causal_lower_right":
        from torch.nn.attention.bias import causal_lower_right
        attn_mask = causal_lower_right(qn, kvn)
    elif mask_mode == "bool_mask":
        attn_mask = torch.ones(qn, kvn, dtype=torch.bool, device=C.dev).tril(kvn - qn)
    ctx = contextlib.nullcontext()
    if impl == "flash_attn":
        qf, kf, vf = (x.transpose(1, 2).contiguous() for x in (q, k, v))

        def fn():
            return flash_attn_func(qf, kf, vf, causal=is_causal)

        def out_bhsd():
            return fn().transpose(1, 2)
    else:
        if gqa == "expanded":
            kk, vv, en = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), False
        else:
            kk, vv, en = k, v, rep > 1

        if mask_mode == "aten_flash_causal":
            if gqa == "expand_per_call":
                raise ValueError("not a variant")

            def fn():
                return torch.ops.aten._scaled_dot_product_flash_attention(
                    q, kk, vv, 0.0, True, False)[0]
        elif gqa == "expand_per_call":
            def fn():
                return F.scaled_dot_product_attention(
                    q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1),
                    attn_mask=attn_mask, is_causal=is_causal)
        else:
            def fn():
                return F.scaled_dot_product_attention(q, kk, vv, attn_mask=attn_mask,
                                                      is_causal=is_causal, enable_gqa=en)
        out_bhsd = fn
        if impl != "default":
            ctx = sdpa_kernel([bmap[impl]])
    with ctx:
        if gqa == "expand_per_call":
            rec["extra"]["sdp_choice"] = "see the gqa_expanded record of this shape"
        elif impl != "flash_attn" and mask_mode not in ("causal_lower_right", "aten_flash_causal"):
            try:
                ch = torch._fused_sdp_choice(q, kk, vv, attn_mask=attn_mask, is_causal=is_causal,
                                             enable_gqa=en)
                rec["extra"]["sdp_choice"] = bnames.get(int(ch), str(ch))
            except Exception as exc:
                rec["extra"]["sdp_choice"] = f"? {type(exc).__name__}: {exc}"[:200]
        o = out_bhsd()
        C.sync()
        if T["ref"] is None and impl == "default" and gqa == "native":
            T["ref"] = o.float()
        elif T["ref"] is not None:
            ref = T["ref"]
            rec["extra"]["rel_err_vs_default"] = float((o.float() - ref).norm() / ref.norm().clamp_min(1e-30))
        o = None
        rec.update(C.time_call(fn, max_s=0.6))


def sec_attn_impl(C: Child):
    bmap, bnames = _backend_map()
    try:
        from flash_attn import flash_attn_func
        C.meta["flash_attn"] = "importable"
    except Exception as exc:
        flash_attn_func = None
        C.meta["flash_attn"] = f"not importable: {type(exc).__name__}: {exc}"[:300]
    set_name = "tiny" if C.dry else C.args.attn_set
    cases = MC.attn_cases(set_name)
    pairs = [(ci, impl, gqa) for ci, c in enumerate(cases) for impl, gqa in MC.attn_variants(c)]
    C.n_cases = len(pairs)
    cur = {"ci": None}
    default_rec = {}

    def tensors(ci):
        if cur["ci"] == ci:
            return cur
        cur.clear()
        C.empty()
        c = cases[ci]
        dt = _tdt(c["dtype"], C.dry)
        cur.update(ci=ci, q=_randn((c["batch"], c["heads"], c["q_len"], c["head_dim"]), dt, C.dev),
                   k=_randn((c["batch"], c["kv_heads"], c["kv_len"], c["head_dim"]), dt, C.dev),
                   v=_randn((c["batch"], c["kv_heads"], c["kv_len"], c["head_dim"]), dt, C.dev),
                   ref=None)
        return cur

    for idx in range(C.args.start_index, len(pairs)):
        if C.time_left() < 3:
            C.meta["stopped"] = f"deadline at case {idx} of {len(pairs)}"
            break
        C.next_index = idx
        ci, impl, gqa = pairs[idx]
        c = cases[ci]
        mask_mode = MC.attn_mask_mode(c, impl)
        rec = {"section": "attn_impl", "op": MC.attn_op(c),
               "impl": "flash_attn.flash_attn_func" if impl == "flash_attn" else f"sdpa:{impl}",
               "variant": f"gqa_{gqa}",
               "extra": {"model": c["model"], "backend": impl, "gqa": gqa, "mask": mask_mode,
                         "case_index": ci}}
        label = (f"{impl}/{gqa} {c['model']} b{c['batch']} q{c['q_len']} kv{c['kv_len']} "
                 f"{c['dtype']}{' causal' if c['causal'] else ''}")
        skip = MC.attn_skip_reason(c, impl, gqa, C.mem_limit)
        if impl == "cudnn" and "cudnn" not in bmap:
            skip = "no CUDNN_ATTENTION backend in this torch"
        if impl == "flash_attn" and flash_attn_func is None:
            skip = C.meta["flash_attn"]
        if skip:
            rec["skipped"] = skip
            C.add(rec, label)
            C.next_index = idx + 1
            continue
        try:
            _time_attn_variant(C, tensors(ci), c, impl, gqa, mask_mode, rec, bmap, bnames,
                               flash_attn_func)
            rec["backend_ran"] = impl if impl not in ("default",) else rec["extra"].get("sdp_choice", "?")
            if impl == "default" and gqa == "native":
                default_rec[ci] = rec
        except Exception as exc:
            C.fail(rec, exc, idx, label)
            C.next_index = idx + 1
            continue
        C.add(rec, label)
        C.next_index = idx + 1
    C.done = C.next_index >= len(pairs)
    # kernel names of the default backend (last: the profiler is the riskiest tool here)
    if C.args.no_profile:
        return
    for ci, rec in default_rec.items():
        if C.time_left() < 5:
            break
        try:
            T = tensors(ci)
            c = cases[ci]
            mm = MC.attn_mask_mode(c, "default")
            am, ic = None, mm == "is_causal"
            if mm == "causal_lower_right":
                from torch.nn.attention.bias import causal_lower_right
                am = causal_lower_right(c["q_len"], c["kv_len"])
            en = c["heads"] != c["kv_heads"]
            prof = profile_call(C, lambda: F.scaled_dot_product_attention(
                T["q"], T["k"], T["v"], attn_mask=am, is_causal=ic, enable_gqa=en))
            names = sorted({k["name"] for k in prof["kernels"]})
            rec["kernels"] = names[:20]
            if names:
                rec["backend_ran"] = _classify_kernels(names)
            rec["extra"]["kernels_device_us"] = prof["device_us_total"]
        except Exception as exc:
            rec["profile_error"] = f"{type(exc).__name__}: {exc}"[:300]
            if C.is_poisoned(exc):
                break
    C.save(force=True)


# ------------------------------------------------------------------------- layers (torch)

def rms_norm(x, w, eps):
    if hasattr(F, "rms_norm"):
        return F.rms_norm(x, (x.shape[-1],), w, eps)
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rope(x, cos, sin):
    """HF rotate_half RoPE on x (B, q, n, d) with cos/sin (1, q, 1, d)."""
    d = x.shape[-1] // 2
    rot = torch.cat((-x[..., d:], x[..., :d]), dim=-1)
    return x * cos + rot * sin


def rope_tables(positions, d, theta, dt, dev):
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, device=dev, dtype=torch.float32) / d))
    f = positions.float()[:, None] * inv[None, :]
    emb = torch.cat((f, f), dim=-1)
    return emb.cos().to(dt)[None, :, None, :], emb.sin().to(dt)[None, :, None, :]


def build_weights(cfg, attn_kind, ffn_kind, dt, dev):
    """Random bf16 weights of one layer (nn.Linear layout: out x in), scaled 1/sqrt(fan-in)."""
    H = cfg["hidden"]

    def lin(o, i):
        return _randn((o, i), dt, dev, i ** -0.5)
    W = {"ln1": torch.ones(H, device=dev, dtype=dt) + _randn((H,), dt, dev, 0.01),
         "ln2": torch.ones(H, device=dev, dtype=dt) + _randn((H,), dt, dev, 0.01)}
    if attn_kind == "gqa":
        nh, nkv, hd = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
        W["wqkv"] = lin((nh + 2 * nkv) * hd, H)
        W["wo"] = lin(H, nh * hd)
    else:
        nh, dn, dr, dv, r = (cfg["heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                             cfg["v_head_dim"], cfg["kv_lora_rank"])
        W["wq"] = lin(nh * (dn + dr), H)
        W["wkv_a"] = lin(r + dr, H)
        W["kv_norm"] = torch.ones(r, device=dev, dtype=dt)
        W["wkv_b"] = lin(nh * (dn + dv), r)
        W["wo"] = lin(H, nh * dv)
        wkv = W["wkv_b"].view(nh, dn + dv, r)
        W["w_uk"] = wkv[:, :dn, :].contiguous()                       # (nh, dn, r)
        W["w_uv_t"] = wkv[:, dn:, :].transpose(1, 2).contiguous()      # (nh, r, dv)
    if ffn_kind == "dense":
        I = cfg["intermediate"]
        W["wgu"] = lin(2 * I, H)
        W["wd"] = lin(H, I)
    else:
        E, I = cfg["experts"], cfg["moe_intermediate"]
        W["wr"] = lin(E, H)
        W["w_gu"] = _randn((E, 2 * I, H), dt, dev, H ** -0.5)
        W["w_d"] = _randn((E, H, I), dt, dev, I ** -0.5)
        W["w_gu_t"] = W["w_gu"].transpose(1, 2)                        # (E, H, 2I) column-major
        W["w_d_t"] = W["w_d"].transpose(1, 2)                          # (E, I, H) column-major
        if cfg.get("shared_experts"):
            Is = cfg["shared_experts"] * I
            W["sgu"] = lin(2 * Is, H)
            W["sd"] = lin(H, Is)
    return W


def build_state(C, cfg, case, dt):
    """Static inputs of a layer case: hidden states, the KV cache of context + q tokens (random
    contents), RoPE tables for the new positions."""
    B, q, ctx = case["batch"], case["q_len"], case["context"]
    S = ctx + q
    dev = C.dev
    st = {"B": B, "q": q, "ctx": ctx, "x": _randn((B * q, cfg["hidden"]), dt, dev)}
    pos = torch.arange(ctx, ctx + q, device=dev)
    if case["attn"] == "gqa":
        nkv, hd = cfg["kv_heads"], cfg["head_dim"]
        st["kc"] = _randn((B, nkv, S, hd), dt, dev)
        st["vc"] = _randn((B, nkv, S, hd), dt, dev)
        st["cos"], st["sin"] = rope_tables(pos, hd, cfg["rope_theta"], dt, dev)
    else:
        nh, dn, dr, dv, r = (cfg["heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                             cfg["v_head_dim"], cfg["kv_lora_rank"])
        st["cos"], st["sin"] = rope_tables(pos, dr, cfg["rope_theta"], dt, dev)
        if case["attn"] == "mla_naive":
            st["kc"] = _randn((B, nh, S, dn + dr), dt, dev)
            st["vc"] = torch.zeros((B, nh, S, dn + dr), device=dev, dtype=dt)
            st["vc"][..., :dv] = _randn((B, nh, S, dv), dt, dev)
        else:
            st["lat"] = _randn((B, S, r + dr), dt, dev)
    return st


def gqa_attention(C, W, cfg, st, x):
    R = _scope(C)
    B, q, ctx = st["B"], st["q"], st["ctx"]
    nh, nkv, hd = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    with R("attn_norm"):
        h = rms_norm(x, W["ln1"], cfg["eps"])
    with R("qkv_proj"):
        qkv = F.linear(h, W["wqkv"])
    qkv = qkv.view(B, q, nh + 2 * nkv, hd)
    qh, kh, vh = qkv.split([nh, nkv, nkv], dim=2)
    with R("rope"):
        qh = rope(qh, st["cos"], st["sin"])
        kh = rope(kh, st["cos"], st["sin"])
    kc, vc = st["kc"], st["vc"]
    with R("kv_write"):
        kc[:, :, ctx:ctx + q].copy_(kh.transpose(1, 2))
        vc[:, :, ctx:ctx + q].copy_(vh.transpose(1, 2))
    with R("attention"):
        o = F.scaled_dot_product_attention(qh.transpose(1, 2), kc, vc, is_causal=q > 1,
                                           enable_gqa=nh != nkv)
    with R("attn_out_transpose"):
        o = o.transpose(1, 2).reshape(B * q, nh * hd)
    with R("o_proj"):
        o = F.linear(o, W["wo"])
    with R("residual_attn"):
        return x + o


def mla_attention(C, W, cfg, st, x, form):
    R = _scope(C)
    B, q, ctx = st["B"], st["q"], st["ctx"]
    nh, dn, dr, dv, r = (cfg["heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                         cfg["v_head_dim"], cfg["kv_lora_rank"])
    dq = dn + dr
    with R("attn_norm"):
        h = rms_norm(x, W["ln1"], cfg["eps"])
    with R("q_proj"):
        qf = F.linear(h, W["wq"]).view(B, q, nh, dq)
    with R("kv_a_proj"):
        kva = F.linear(h, W["wkv_a"])
    c, kpe = kva.split([r, dr], dim=-1)
    with R("kv_norm"):
        c = rms_norm(c, W["kv_norm"], cfg["eps"])
    qn, qp = qf.split([dn, dr], dim=-1)
    with R("rope"):
        qp = rope(qp, st["cos"], st["sin"])                           # (B, q, nh, dr)
        kpe = rope(kpe.view(B, q, 1, dr), st["cos"], st["sin"])       # (B, q, 1, dr)
    if form == "naive":
        with R("kv_b_proj"):
            kv = F.linear(c, W["wkv_b"]).view(B, q, nh, dn + dv)
        kn, v = kv.split([dn, dv], dim=-1)
        kc, vc = st["kc"], st["vc"]
        with R("kv_write_k_nope"):
            kc[:, :, ctx:ctx + q, :dn].copy_(kn.transpose(1, 2))
        with R("kv_write_k_pe"):
            kc[:, :, ctx:ctx + q, dn:].copy_(kpe.transpose(1, 2).expand(B, nh, q, dr))
        with R("kv_write_v"):
            vc[:, :, ctx:ctx + q, :dv].copy_(v.transpose(1, 2))
        with R("q_cat"):
            qa = torch.cat([qn, qp], dim=-1).transpose(1, 2)            # (B, nh, q, dq)
        with R("attention"):
            o = F.scaled_dot_product_attention(qa, kc, vc, is_causal=q > 1)
        with R("attn_out_slice"):
            o = o[..., :dv].transpose(1, 2).reshape(B * q, nh * dv)
    else:
        lat = st["lat"]                                               # (B, L, r + dr)
        L = lat.shape[1]
        with R("kv_write_c"):
            lat[:, ctx, :r].copy_(c)
        with R("kv_write_pe"):
            lat[:, ctx, r:].copy_(kpe.view(B, dr))
        with R("q_absorb"):
            ql = torch.bmm(qn.view(B, nh, dn).transpose(0, 1), W["w_uk"])      # (nh, B, r)
        with R("q_cat"):
            qc = torch.cat([ql.transpose(0, 1), qp.view(B, nh, dr)], dim=-1)  # (B, nh, r + dr)
        with R("scores"):
            s = torch.baddbmm(torch.empty((B, nh, L), device=x.device, dtype=x.dtype), qc,
                              lat.transpose(1, 2), beta=0.0, alpha=dq ** -0.5)
        with R("softmax"):
            p = torch.softmax(s, dim=-1)
        with R("attn_v"):
            ol = torch.bmm(p, lat[:, :, :r])                                     # (B, nh, r)
        with R("v_absorb"):
            o = torch.bmm(ol.transpose(0, 1), W["w_uv_t"])                       # (nh, B, dv)
        with R("attn_out_transpose"):
            o = o.transpose(0, 1).reshape(B, nh * dv)
    with R("o_proj"):
        o = F.linear(o, W["wo"])
    with R("residual_attn"):
        return x + o


def dense_ffn(C, W, cfg, x, gu_key="wgu", d_key="wd", prefix="", norm=True, residual=True):
    R = _scope(C)
    h = x
    if norm:
        with R(prefix + "ffn_norm"):
            h = rms_norm(x, W["ln2"], cfg["eps"])
    with R(prefix + "gate_up_proj"):
        gu = F.linear(h, W[gu_key])
    with R(prefix + "silu_mul"):
        g, u = gu.chunk(2, dim=-1)
        a = F.silu(g) * u
    with R(prefix + "down_proj"):
        d = F.linear(a, W[d_key])
    if not residual:
        return d
    with R(prefix + "residual_ffn"):
        return x + d


MOE_PAD = {"rows": None}


def moe_probe(C) -> int:
    """Group-size padding torch._grouped_mm needs here (1 = none, 16 = each expert's rows padded
    to a multiple of 16), found once per process by checking it against per-group matmuls on
    odd group sizes (an empty group included). Run eagerly before any CUDA-graph capture."""
    if MOE_PAD["rows"] is not None:
        return MOE_PAD["rows"]
    if C.args.moe_pad:
        MOE_PAD["rows"] = C.args.moe_pad
        C.meta["moe_grouped_mm_probe"] = {"pad_rows": C.args.moe_pad, "notes": ["set by --moe-pad"]}
        return MOE_PAD["rows"]
    dt = _tdt("bf16", False)
    a = _randn((21, 64), dt, C.dev)
    w = _randn((4, 48, 64), dt, C.dev)          # (E, N, K) as nn.Linear weights
    sizes = [3, 0, 11, 7]
    notes = []
    for pad in (1, 16):
        try:
            ps = [-(-n // pad) * pad for n in sizes]
            buf = torch.zeros((sum(ps) + 16, 64), device=C.dev, dtype=dt)
            src, dst = 0, 0
            for n, pn in zip(sizes, ps):
                buf[dst:dst + n] = a[src:src + n]
                src, dst = src + n, dst + pn
            offs = torch.tensor(list(_cumsum(ps)), device=C.dev, dtype=torch.int32)
            y = torch._grouped_mm(buf, w.transpose(1, 2), offs=offs)
            src, dst, err = 0, 0, 0.0
            for e, (n, pn) in enumerate(zip(sizes, ps)):
                if n:
                    ref = (a[src:src + n].float() @ w[e].float().t())
                    err = max(err, float((y[dst:dst + n].float() - ref).norm() / ref.norm()))
                src, dst = src + n, dst + pn
            C.sync()
            notes.append(f"pad {pad}: rel_err {err:.3g}")
            if err < 0.05:
                MOE_PAD["rows"] = pad
                break
        except Exception as exc:
            notes.append(f"pad {pad}: {type(exc).__name__}: {exc}"[:300])
    if MOE_PAD["rows"] is None:
        MOE_PAD["rows"] = 16
        notes.append("no padding checked out: grouped cases will likely fail")
    C.meta["moe_grouped_mm_probe"] = {"pad_rows": MOE_PAD["rows"], "notes": notes}
    return MOE_PAD["rows"]


def _cumsum(xs):
    t = 0
    for x in xs:
        t += x
        yield t


def moe_ffn(C, W, cfg, x, impl, info):
    R = _scope(C)
    E, k = cfg["experts"], cfg["top_k"]
    pad = moe_probe(C) if impl == "grouped" else 1
    with R("ffn_norm"):
        h = rms_norm(x, W["ln2"], cfg["eps"])
    with R("router"):
        logits = F.linear(h, W["wr"])
    with R("router_softmax"):
        p = torch.softmax(logits, dim=-1, dtype=torch.float32)
    with R("router_topk"):
        w, ids = torch.topk(p, k, dim=-1)
    if cfg.get("norm_topk"):
        with R("router_renorm"):
            w = w / w.sum(dim=-1, keepdim=True)
    if impl == "grouped":
        A = ids.numel()
        with R("dispatch_index"):
            flat = ids.reshape(-1)
            order = torch.argsort(flat, stable=True)
            tok = torch.div(order, k, rounding_mode="floor")
            counts = torch.zeros(E, dtype=torch.int64, device=x.device).scatter_add_(0, flat, torch.ones_like(flat))
            if pad > 1:     # each expert's rows start at a multiple of `pad` (static buffer size)
                padded = torch.div(counts + (pad - 1), pad, rounding_mode="floor") * pad
                pstart = torch.cumsum(padded, 0) - padded
                start = torch.cumsum(counts, 0) - counts
                se = flat[order]
                dest = pstart[se] + (torch.arange(A, device=x.device) - start[se])
                offs = torch.cumsum(padded, 0).to(torch.int32)
            else:
                offs = torch.cumsum(counts, 0).to(torch.int32)
        with R("dispatch_gather"):
            xs = h.index_select(0, tok)
            if pad > 1:
                xs = torch.zeros((A + E * (pad - 1), h.shape[1]), device=x.device, dtype=h.dtype).index_copy_(0, dest, xs)
        with R("experts_gate_up"):
            gu = torch._grouped_mm(xs, W["w_gu_t"], offs=offs)
        with R("experts_silu_mul"):
            g, u = gu.chunk(2, dim=-1)
            a = F.silu(g) * u
        with R("experts_down"):
            y = torch._grouped_mm(a, W["w_d_t"], offs=offs)
            if pad > 1:
                y = y.index_select(0, dest)
        with R("combine_weight"):
            y = y * w.reshape(-1)[order].to(y.dtype).unsqueeze(1)
        with R("combine_scatter_add"):
            out = torch.zeros_like(h).index_add_(0, tok, y)
        info["counts"] = counts
        if pad > 1:
            info["padded_counts"] = padded
    else:   # HF-style loop: a host sync per expert (torch.where)
        out = torch.zeros_like(h)
        counts = []
        for e in range(E):
            with R("expert_select"):
                tok, slot = torch.where(ids == e)
            n = int(tok.numel())
            counts.append(n)
            if n == 0:
                continue
            with R(f"expert{e}.gather"):
                xe = h.index_select(0, tok)
            with R(f"expert{e}.gate_up"):
                gu = F.linear(xe, W["w_gu"][e])
            with R(f"expert{e}.silu_mul"):
                g, u = gu.chunk(2, dim=-1)
                a = F.silu(g) * u
            with R(f"expert{e}.down"):
                ye = F.linear(a, W["w_d"][e])
            with R(f"expert{e}.combine"):
                out.index_add_(0, tok, ye * w[tok, slot].to(ye.dtype).unsqueeze(1))
        info["counts"] = counts
    if cfg.get("shared_experts"):
        s = dense_ffn(C, W, cfg, h, "sgu", "sd", prefix="shared.", norm=False, residual=False)
        with R("shared_add"):
            out = out + s
    with R("residual_ffn"):
        return x + out


def _scope(C):
    if C.profile_scopes:
        return lambda name: torch.profiler.record_function("scope:" + name)
    return lambda name: NULL


def layer_forward(C, W, cfg, case, st, x, info):
    attn = case["attn"]
    if attn == "gqa":
        x = gqa_attention(C, W, cfg, st, x)
    else:
        x = mla_attention(C, W, cfg, st, x, attn.split("_")[1])
    if case["ffn"] == "dense":
        return dense_ffn(C, W, cfg, x)
    return moe_ffn(C, W, cfg, x, case["ffn"].split("_")[1], info)


def capture_graph(fn):
    """CUDA graph of fn (warm-up on a side stream first, as torch.cuda.graph's docs ask)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g


def _counts_list(c):
    if c is None:
        return None
    if hasattr(c, "tolist"):
        return [int(v) for v in c.tolist()]
    return [int(v) for v in c]


class WeightCache:
    """Layer weights by (model, attn kind, ffn kind); dropped when the model changes."""

    def __init__(self, C):
        self.C = C
        self.model = None
        self.w = {}

    def get(self, case, ffn_kind=None, layer=0):
        cfg = MC.MODELS[case["model"]]
        if case["model"] != self.model:
            self.w.clear()
            self.C.empty()
            self.model = case["model"]
        ak = "gqa" if case["attn"] == "gqa" else "mla"
        fk = ffn_kind or ("dense" if case["ffn"] == "dense" else "moe")
        key = (ak, fk, layer)
        if key not in self.w:
            self.w[key] = build_weights(cfg, ak, fk, _tdt("bf16", False), self.C.dev)
        return self.w[key]


def _time_layer_case(C, wc, cur, ci, case, mode, rec):
    """Build (or reuse) the case's weights and state, time it eagerly or as a CUDA graph; fills
    rec. Locals die on return, so the next case never holds two states at once."""
    cfg = MC.MODELS[case["model"]]
    W = wc.get(case)
    if cur.get("ci") != ci:
        cur.clear()
        C.empty()
        cur.update(ci=ci, st=build_state(C, cfg, case, _tdt("bf16", False)))
    st = cur["st"]
    info = {}
    syncs = case["ffn"] == "moe_loop"

    def fwd():
        return layer_forward(C, W, cfg, case, st, st["x"], info)
    y = fwd()
    C.sync()
    if not bool(torch.isfinite(y.float()).all()):
        rec["warning"] = "non-finite output"
    y = None
    g = None
    try:
        if mode == "graph":
            g = capture_graph(fwd)
            fn = g.replay
        else:
            fn = fwd
        rec.update(C.time_call(fn, syncs=syncs, max_s=1.5))
        counts = _counts_list(info.get("counts"))          # read before the graph is reset
        padded = _counts_list(info.get("padded_counts"))
    finally:
        if g is not None:
            try:
                g.reset()
            except Exception:
                pass
    if counts is not None:
        rec["expert_tokens"] = counts
    if padded is not None:
        rec["expert_rows_padded"] = padded     # the grouped GEMMs ran on these row counts
    rec["ops"] = MC.layer_ops(case, padded or counts)
    rec["logical_attention"] = MC.logical_attention(case)
    if not C.dry:
        rec["max_memory_allocated"] = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()


def run_layer_cases(C, cases, section, index_offset=0, total=None):
    """Time each (case, mode) of `cases`; flat index for restarts starts at index_offset."""
    pairs = [(ci, m) for ci, c in enumerate(cases) for m in c["modes"]]
    wc = WeightCache(C)
    cur = {"ci": None}
    for j in range(len(pairs)):
        idx = index_offset + j
        if idx < C.args.start_index:
            continue
        if C.time_left() < 4:
            C.meta["stopped"] = f"deadline at case {idx} of {total}"
            return False
        C.next_index = idx
        ci, mode = pairs[j]
        case = cases[ci]
        label = (f"{mode:5s} {case['model']} {case['attn']}+{case['ffn']} {case['phase']} "
                 f"b{case['batch']} {'s' if case['phase'] == 'prefill' else 'ctx'}"
                 f"{case['q_len'] if case['phase'] == 'prefill' else case['context']}")
        rec = {"section": section, "impl": f"{case['model']}:{case['attn']}+{case['ffn']}",
               "variant": mode, "case": dict(case), "dtype": "bf16"}
        _run_case(C, idx, label, case, mode, rec, _time_layer_case, (C, wc, cur, ci, case, mode, rec),
                  ops_on_fail=True)
    return True


def _run_case(C: Child, idx, label, case, mode, rec, time_it, args, ops_on_fail=False):
    """One layer or step case (run_layer_cases, sec_llm_step) into `rec`: skipped when its
    memory estimate is over the limit or it is a CUDA graph in a dry run, else `time_it(*args)`
    (on an exception: the case's ops into rec if `ops_on_fail`, then C.fail); recorded, and
    C.next_index moved past it afterwards (a resumed child restarts at a case not recorded)."""
    mem = MC.case_memory_bytes(case)
    rec["estimated_bytes"] = mem
    if mem > C.mem_limit:
        rec["skipped"] = f"memory: {mem / 2**30:.1f} GiB > limit {C.args.mem_limit_gib} GiB"
    elif mode == "graph" and C.dry:
        rec["skipped"] = "CUDA graphs need a GPU (dry run)"
    if "skipped" in rec:
        C.add(rec, label)
    else:
        try:
            time_it(*args)
        except Exception as exc:
            if ops_on_fail:
                rec.setdefault("ops", MC.layer_ops(case))
            C.fail(rec, exc, idx, label)
        else:
            C.add(rec, label)
    C.next_index = idx + 1


def selfchecks(C: Child):
    """Numerical cross-checks of the layer code on the real model shapes (small batch): the
    grouped-GEMM MoE against the HF-style loop, the weight-absorbed MLA against the naive form
    on the same latent cache. Relative errors are recorded (bf16: about 1e-2 is agreement)."""
    dt = _tdt("bf16", False)
    moe_model, mla_model = ("tiny-moe", "tiny-mla") if C.dry else ("mixtral-8x7b", "deepseek-v2-lite")
    for model in (moe_model, mla_model):
        rec = {"section": "llm_layer", "impl": f"selfcheck:{model}:moe_grouped_vs_loop", "variant": "check"}
        try:
            cfg = MC.MODELS[model]
            W = build_weights(cfg, "gqa" if cfg["attn"] == "gqa" else "mla", "moe", dt, C.dev)
            x = _randn((6, cfg["hidden"]), dt, C.dev)
            a = moe_ffn(C, W, cfg, x, "grouped", {}).float()
            b = moe_ffn(C, W, cfg, x, "loop", {}).float()
            rec["rel_err"] = float((a - b).norm() / (b - x.float()).norm())
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__}: {exc}"[:500]
            rec["traceback"] = traceback.format_exc()[-1500:]
        C.add(rec, rec["impl"] + f" rel_err {rec.get('rel_err', float('nan')):.3g}")
    rec = {"section": "llm_layer", "impl": f"selfcheck:{mla_model}:mla_absorbed_vs_naive", "variant": "check"}
    try:
        cfg = MC.MODELS[mla_model]
        nh, dn, dr, dv, r = (cfg["heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                             cfg["v_head_dim"], cfg["kv_lora_rank"])
        W = build_weights(cfg, "mla", "moe", dt, C.dev)
        case = MC._layer_case(mla_model, "mla_absorbed", "moe_grouped", "decode", 2, 64)
        sa = build_state(C, cfg, case, dt)
        sn = dict(sa)
        lat = sa["lat"].float()
        c_all, pe_all = lat[..., :r], lat[..., r:]
        wkv = W["wkv_b"].float().view(nh, dn + dv, r)
        S = lat.shape[1]
        kc = torch.empty((2, nh, S, dn + dr), device=C.dev, dtype=dt)
        kc[..., :dn] = torch.einsum("bsr,hdr->bhsd", c_all, wkv[:, :dn, :]).to(dt)
        kc[..., dn:] = pe_all[:, None, :, :].expand(2, nh, S, dr).to(dt)
        vc = torch.zeros((2, nh, S, dn + dr), device=C.dev, dtype=dt)
        vc[..., :dv] = torch.einsum("bsr,hvr->bhsv", c_all, wkv[:, dn:, :]).to(dt)
        sn.update(kc=kc, vc=vc)
        x = sa["x"]
        a = mla_attention(C, W, cfg, sa, x, "absorbed").float()
        b = mla_attention(C, W, cfg, sn, x, "naive").float()
        rec["rel_err"] = float((a - b).norm() / (b - x.float()).norm())
    except Exception as exc:
        rec["error"] = f"{type(exc).__name__}: {exc}"[:500]
        rec["traceback"] = traceback.format_exc()[-1500:]
    C.add(rec, rec["impl"] + f" rel_err {rec.get('rel_err', float('nan')):.3g}")
    C.empty()


def sec_llm_layer(C: Child):
    cases = MC.layer_cases("tiny" if C.dry else C.args.layer_set)
    C.n_cases = sum(len(c["modes"]) for c in cases)
    if C.args.start_index == 0:
        selfchecks(C)
    C.done = run_layer_cases(C, cases, "llm_layer", total=C.n_cases)


def sec_llm_profile(C: Child):
    """Eager layers under the profiler: kernels and device time of every step (scope)."""
    cases = MC.layer_cases("tiny" if C.dry else C.args.layer_set)
    C.n_cases = len(cases)
    wc = WeightCache(C)
    for idx in range(C.args.start_index, len(cases)):
        if C.time_left() < 4:
            C.meta["stopped"] = f"deadline at case {idx} of {len(cases)}"
            break
        C.next_index = idx
        case = cases[idx]
        cfg = MC.MODELS[case["model"]]
        label = f"profile {case['model']} {case['attn']}+{case['ffn']} {case['phase']} b{case['batch']} q{case['q_len']} ctx{case['context']}"
        rec = {"section": "llm_profile", "impl": f"{case['model']}:{case['attn']}+{case['ffn']}",
               "variant": "eager_profiled", "case": dict(case), "dtype": "bf16"}
        if MC.case_memory_bytes(case) > C.mem_limit:
            rec["skipped"] = "memory"
            C.add(rec, label)
            C.next_index = idx + 1
            continue
        try:
            W = wc.get(case)
            C.empty()
            st = build_state(C, cfg, case, _tdt("bf16", False))
            info = {}
            prof = profile_call(C, lambda: layer_forward(C, W, cfg, case, st, st["x"], info), scopes=True)
            counts = _counts_list(info.get("counts"))
            rec["expert_tokens"] = counts
            padded = _counts_list(info.get("padded_counts"))
            rec["ops"] = MC.layer_ops(case, padded or counts)
            rec["profile"] = prof
            rec["times_s"] = None
            st = None
        except Exception as exc:
            C.fail(rec, exc, idx, label)
            C.next_index = idx + 1
            continue
        n = rec["profile"]["n_kernels"]
        print(f"[{C.elapsed():6.1f}s] llm_profile {label[:70]:70s} {n:4d} kernels "
              f"{rec['profile']['device_us_total']:10.1f} us", flush=True)
        C.results.append(rec)
        C.save()
        C.next_index = idx + 1
    C.done = C.next_index >= len(cases)


def _time_step_case(C, ci, case, mode, model, cur, rec):
    """Build (or reuse) the model's layers and the case's caches, time one decode step."""
    cfg = MC.MODELS[case["model"]]
    dt = _tdt("bf16", False)
    kinds = MC.step_layer_kinds(case)
    key = (case["model"], "gqa" if case["attn"] == "gqa" else "mla", tuple(kinds))
    if model.get("key") != key:
        model.clear()
        cur.clear()
        C.empty()
        ak = key[1]
        model["layers"] = [build_weights(cfg, ak, "dense" if kd == "dense" else "moe", dt, C.dev)
                           for kd in kinds]
        model["emb"] = model["head"] = model["lnf"] = None
        if case["layers"] == cfg["layers"]:
            model["emb"] = _randn((cfg["vocab"], cfg["hidden"]), dt, C.dev)
            model["head"] = _randn((cfg["vocab"], cfg["hidden"]), dt, C.dev, cfg["hidden"] ** -0.5)
            model["lnf"] = torch.ones(cfg["hidden"], device=C.dev, dtype=dt)
        model["key"] = key
    if cur.get("ci") != ci:
        cur.clear()
        C.empty()
        lcases = [dict(case, ffn=kd) for kd in kinds]
        cur.update(ci=ci, lcases=lcases, sts=[build_state(C, cfg, lc, dt) for lc in lcases],
                   ids=torch.randint(0, cfg["vocab"], (case["batch"] * case["q_len"],), device=C.dev))
    Ws, lcases, sts, ids = model["layers"], cur["lcases"], cur["sts"], cur["ids"]
    infos = [{} for _ in lcases]
    emb, head, lnf = model["emb"], model["head"], model["lnf"]

    def step():
        x = emb.index_select(0, ids) if emb is not None else sts[0]["x"]
        for W, lc, st, inf in zip(Ws, lcases, sts, infos):
            x = layer_forward(C, W, cfg, lc, st, x, inf)
        if head is None:
            return x
        x = rms_norm(x, lnf, cfg["eps"])
        return torch.argmax(F.linear(x, head), dim=-1)
    step()
    C.sync()
    g = None
    try:
        if mode == "graph":
            g = capture_graph(step)
            fn = g.replay
        else:
            fn = step
        rec.update(C.time_call(fn, syncs=case["ffn"] == "moe_loop", max_s=2.0, warmup=1,
                               reps=max(5, C.args.reps // 2)))
        # read before the graph is reset
        per_layer = [(_counts_list(i.get("padded_counts") if i.get("padded_counts") is not None else i.get("counts"))
                      if k != "dense" else None) for i, k in zip(infos, kinds)]
    finally:
        if g is not None:
            try:
                g.reset()
            except Exception:
                pass
    if any(c is not None for c in per_layer):
        rec["expert_tokens_per_layer"] = per_layer
    ops = MC.step_ops(case, per_layer)
    rec["n_ops"] = len(ops)
    rec["ops"] = MC.aggregate_ops(ops)     # identical ops of different layers merged (repeat)
    if not C.dry:
        rec["max_memory_allocated"] = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()


def sec_llm_step(C: Child):
    """Whole decode steps: embedding, every layer with its own weights and cache, final norm,
    LM head, argmax (or the first `layers` layers alone)."""
    cases = MC.step_cases("tiny" if C.dry else C.args.step_set)
    pairs = [(ci, m) for ci, c in enumerate(cases) for m in c["modes"]]
    C.n_cases = len(pairs)
    model, cur = {}, {}
    for idx in range(C.args.start_index, len(pairs)):
        if C.time_left() < 6:
            C.meta["stopped"] = f"deadline at case {idx} of {len(pairs)}"
            break
        C.next_index = idx
        ci, mode = pairs[idx]
        case = cases[ci]
        label = (f"{mode:5s} step {case['model']} {case['attn']}+{case['ffn']} x{case['layers']} "
                 f"b{case['batch']} ctx{case['context']}")
        rec = {"section": "llm_step", "impl": f"{case['model']}:{case['attn']}+{case['ffn']}",
               "variant": mode, "case": dict(case), "dtype": "bf16"}
        _run_case(C, idx, label, case, mode, rec, _time_step_case, (C, ci, case, mode, model, cur, rec))
    C.done = C.next_index >= len(pairs)


# ------------------------------------------------------------------------- eager vs graph

def sec_graph(C: Child):
    """Chains of small kernels and a few whole layers, eager and CUDA-graph replayed."""
    chains = MC.GRAPH_CHAINS_TINY if C.dry else MC.GRAPH_CHAINS
    pairs = [(kind, n, m) for kind, n in chains for m in ("eager", "graph")]
    layers = MC.layer_cases("tiny" if C.dry else "smoke")
    n_layer_pairs = sum(len(c["modes"]) for c in layers)
    C.n_cases = len(pairs) + n_layer_pairs
    for idx in range(C.args.start_index, len(pairs)):
        if C.time_left() < 3:
            C.meta["stopped"] = f"deadline at case {idx}"
            return
        C.next_index = idx
        kind, n, mode = pairs[idx]
        op = MC.chain_op(kind, n, C.dry)
        label = f"{mode:5s} chain {kind} x{n}"
        rec = {"section": "graph", "impl": f"chain:{kind}", "variant": mode, "ops": [op],
               "extra": {"kernels_per_call": n}}
        if mode == "graph" and C.dry:
            rec["skipped"] = "CUDA graphs need a GPU (dry run)"
            C.add(rec, label)
            C.next_index = idx + 1
            continue
        g = None
        try:
            if kind == "mul1":
                x = torch.randn(1, device=C.dev)
                y = torch.empty_like(x)

                def fwd():
                    for _ in range(n):
                        torch.mul(x, 1.0001, out=y)
            elif kind == "add1m":
                ne = op["n_elements"]
                dt = _tdt("bf16", C.dry)
                a, b_, y = _randn((ne,), dt, C.dev), _randn((ne,), dt, C.dev), torch.empty(ne, device=C.dev, dtype=dt)

                def fwd():
                    for _ in range(n):
                        torch.add(a, b_, out=y)
            else:
                d = op["k"]
                dt = _tdt("bf16", C.dry)
                a, w, y = _randn((1, d), dt, C.dev), _randn((d, d), dt, C.dev, d ** -0.5), torch.empty((1, d), device=C.dev, dtype=dt)

                def fwd():
                    for _ in range(n):
                        torch.mm(a, w, out=y)
            if mode == "graph":
                g = capture_graph(fwd)
                fn = g.replay
            else:
                fn = fwd
            rec.update(C.time_call(fn, max_s=0.5, flush=kind != "mul1"))
            rec["per_kernel"] = {"device_s": rec["times_s"]["median"] / n, "stream_s": rec["stream_s"] / n,
                                 "wall_s": rec["wall_s"]["median"] / n, "host_s": rec["host_s"] / n}
        except Exception as exc:
            g = None
            C.fail(rec, exc, idx, label)
            C.next_index = idx + 1
            continue
        finally:
            if g is not None:
                try:
                    g.reset()
                except Exception:
                    pass
        C.add(rec, label)
        C.next_index = idx + 1
    C.done = run_layer_cases(C, layers, "graph", index_offset=len(pairs), total=C.n_cases)


# ------------------------------------------------------------------------- power-capped clocks

class Sampler:
    """Background sampling of power, SM / memory clock, temperature, throttle reasons and the
    energy counter: NVML (pynvml) every `period_s`, or `nvidia-smi -lms` when NVML is missing."""

    SMI_FIELDS = ["power.draw", "clocks.sm", "clocks.mem", "temperature.gpu"]

    def __init__(self, period_s=0.05):
        self.period_s = period_s
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = None
        self._proc = None
        self.backend = None
        self.reason_fn = None
        try:
            import pynvml as nv
            nv.nvmlInit()
            self.nv = nv
            self.h = nv.nvmlDeviceGetHandleByIndex(0)
            self.backend = "nvml"
            for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
                if hasattr(nv, name):
                    f = getattr(nv, name)
                    try:
                        f(self.h)
                        self.reason_fn = f
                        break
                    except Exception:
                        pass
        except Exception:
            self.nv = None
            self.backend = "nvidia-smi"
            self.smi_fields = list(self.SMI_FIELDS)
            for extra in ("clocks_event_reasons.active", "clocks_throttle_reasons.active"):
                r = subprocess.run(["nvidia-smi", f"--query-gpu={extra}", "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True, timeout=10)
                if r.returncode == 0:
                    self.smi_fields.append(extra)
                    break

    def _read_nvml(self):
        nv, h = self.nv, self.h
        s = {"t": time.time(), "power_w": nv.nvmlDeviceGetPowerUsage(h) / 1000.0}
        for key, f in (("energy_mj", lambda: float(nv.nvmlDeviceGetTotalEnergyConsumption(h))),
                       ("sm_mhz", lambda: float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))),
                       ("mem_mhz", lambda: float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM))),
                       ("temp_c", lambda: float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))),
                       ("reasons", lambda: int(self.reason_fn(h)) if self.reason_fn else None)):
            try:
                s[key] = f()
            except Exception:
                s[key] = None
        return s

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self._read_nvml())
            except Exception:
                pass
            time.sleep(self.period_s)

    def start(self):
        self.samples = []
        self._stop.clear()
        if self.backend == "nvml":
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        else:
            q = ",".join(["timestamp"] + self.smi_fields)
            self._t_wall0 = time.time()
            self._proc = subprocess.Popen(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader,nounits",
                                           "-lms", str(int(self.period_s * 1000))],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                out, _ = self._proc.communicate(timeout=5)
            except Exception:
                self._proc.kill()
                out, _ = self._proc.communicate()
            self._proc = None
            names = {"power.draw": "power_w", "clocks.sm": "sm_mhz", "clocks.mem": "mem_mhz",
                     "temperature.gpu": "temp_c", "clocks_event_reasons.active": "reasons",
                     "clocks_throttle_reasons.active": "reasons"}
            lt = time.localtime(self._t_wall0)
            day0 = self._t_wall0 - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (self._t_wall0 % 1))
            for line in out.splitlines():
                p = MC.parse_smi_line(line, self.smi_fields)
                if p is None:
                    continue
                t, vals = p
                s = {"t": day0 + t}
                if s["t"] < self._t_wall0 - 3600:
                    s["t"] += 86400
                for f, v in vals.items():
                    s[names[f]] = v
                self.samples.append(s)
        return list(self.samples)


POWER_GEMM_N = 8192          # sustained loads: an 8192^3 GEMM and a 2 GiB copy
POWER_COPY_BYTES = 2**31


def sec_power_clock(C: Child):
    """Sustained loads at the power cap (see the module doc)."""
    if C.dry:
        C.power = {"clock": {"skipped": "dry run"}}
        C.done = True
        return
    ps = Sampler()
    loads = C.power.setdefault("loads", {})
    C.power["clock_backend"] = ps.backend
    C.power["clock_method"] = (
        "each load is enqueued in batches of about 50 ms (events around each batch: achieved "
        "rate over time); power, SM/memory clock, temperature and throttle reasons sampled every "
        "50 ms (NVML thread, or nvidia-smi -lms 50); steady = after settle_s; energy = NVML "
        "energy counter and the integral of sampled power over the load; energy_per_call = "
        "steady mean power x time_per_call")
    budget = C.time_left() - 10
    load_s = min(C.args.power_load_s, max(4.0, (budget - 25) / 2.4))
    idle_s = max(0.5, min(4.0, load_s / 4))
    settle = min(3.0, load_s / 5)
    C.power["load_s"] = load_s

    def idle(name, secs):
        torch.cuda.synchronize()
        time.sleep(min(1.0, secs / 3))
        ps.start()
        t0 = time.time()
        time.sleep(secs)
        t1 = time.time()
        s = ps.stop()
        loads[name] = MC.summarise_samples(s, t0, t1, 0.5)
        loads[name]["series"] = MC.downsample([[round(x["t"] - t0, 3), x.get("power_w"), x.get("sm_mhz"),
                                                 x.get("mem_mhz"), x.get("temp_c"), x.get("reasons")] for x in s], 100)
        print(f"[{C.elapsed():6.1f}s] power_clock {name:24s} {loads[name].get('mean_steady_power_w', float('nan')):7.1f} W", flush=True)
        C.save(force=True)

    def load(name, op, fn, flops, nbytes, secs, settle_s=settle):
        rec = {"op": op, "flops_per_call": flops, "dram_bytes_per_call": nbytes, "duration_s": secs}
        try:
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            t_one = max(a.elapsed_time(b) * 1e-3, 1e-6)
            per_batch = max(1, int(0.05 / t_one))
            batches = []
            ps.start()
            t0 = time.time()
            calls = 0
            busy = 0.0
            while time.time() - t0 < secs:
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                for _ in range(per_batch):
                    fn()
                b.record()
                b.synchronize()
                dt = a.elapsed_time(b) * 1e-3
                batches.append((time.time() - t0, per_batch, dt))
                calls += per_batch
                busy += dt
            t1 = time.time()
            s = ps.stop()
            summ = MC.summarise_samples(s, t0, t1, settle_s)
            rec.update(summ)
            rec.update({"calls": calls, "busy_s": busy, "wall_s": t1 - t0,
                        "time_per_call_s": busy / calls,
                        "achieved_tflops": flops * calls / busy / 1e12,
                        "achieved_tb_s": nbytes * calls / busy / 1e12})
            steady = [x for x in batches if x[0] >= settle_s] or batches
            sc, sb = sum(x[1] for x in steady), sum(x[2] for x in steady)
            first = [x for x in batches if x[0] <= min(0.5, secs / 4)] or batches[:1]
            fc, fb = sum(x[1] for x in first), sum(x[2] for x in first)
            rec["steady_time_per_call_s"] = sb / sc
            rec["steady_tflops"] = flops * sc / sb / 1e12
            rec["steady_tb_s"] = nbytes * sc / sb / 1e12
            rec["first_0p5s_time_per_call_s"] = fb / fc
            rec["first_0p5s_tflops"] = flops * fc / fb / 1e12
            rec["first_0p5s_tb_s"] = nbytes * fc / fb / 1e12
            p = rec.get("mean_steady_power_w")
            if p is not None:
                rec["energy_per_call_j"] = p * rec["steady_time_per_call_s"]
                if flops:
                    rec["energy_pj_per_flop"] = rec["energy_per_call_j"] / flops * 1e12
                if nbytes:
                    rec["energy_pj_per_byte"] = rec["energy_per_call_j"] / nbytes * 1e12
            rec["rate_series"] = MC.downsample([[round(x[0], 3), x[1] * (flops or nbytes) / x[2] / 1e12]
                                                for x in batches], 300)
            rec["rate_series_unit"] = "TFLOP/s" if flops else "TB/s"
            rec["series"] = MC.downsample([[round(x["t"] - t0, 3), x.get("power_w"), x.get("sm_mhz"),
                                            x.get("mem_mhz"), x.get("temp_c"), x.get("reasons")] for x in s], 300)
            rec["series_columns"] = ["t_s", "power_w", "sm_mhz", "mem_mhz", "temp_c", "throttle_mask"]
            print(f"[{C.elapsed():6.1f}s] power_clock {name:24s} {rec.get('mean_steady_power_w', float('nan')):7.1f} W "
                  f"SM {rec.get('mean_steady_sm_mhz', float('nan')):6.0f} MHz  first {rec['first_0p5s_tflops'] if flops else rec['first_0p5s_tb_s']:8.2f} "
                  f"steady {rec['steady_tflops'] if flops else rec['steady_tb_s']:8.2f} {rec['rate_series_unit']}  "
                  f"throttle {rec.get('throttle_reasons_steady')}", flush=True)
        except Exception as exc:
            try:
                ps.stop()
            except Exception:
                pass
            rec["error"] = f"{type(exc).__name__}: {exc}"[:500]
            print(f"power_clock {name}: ERROR {exc}", flush=True)
        loads[name] = rec
        C.save(force=True)
        torch.cuda.empty_cache()

    n = POWER_GEMM_N
    idle("capped_idle_before", idle_s)
    g = M._gemm_fn(n, n, n, "bf16", 1, C.dev)
    load("capped_gemm_bf16_8192", M.gemm_op(n, n, n, "bf16"), g, 2.0 * n**3, 3 * n * n * 2, load_s)
    g = None
    idle("capped_idle_mid", 0.75 * idle_s)
    nb = POWER_COPY_BYTES
    x = torch.randint(0, 255, (nb,), dtype=torch.uint8, device=C.dev)
    y = torch.empty_like(x)
    load("capped_copy_2gib", M.copy_op(nb), lambda: y.copy_(x), 0.0, 2.0 * nb, load_s)
    x = y = None
    if C.time_left() > 0.5 * load_s + 8:
        try:
            g = M._gemm_fn(n, n, n, "fp8", 1, C.dev)
            load("capped_gemm_fp8_8192", M.gemm_op(n, n, n, "fp8"), g, 2.0 * n**3, 4 * n * n, 0.5 * load_s)
        except Exception as exc:
            loads["capped_gemm_fp8_8192"] = {"error": str(exc)[:300]}
        g = None
    if C.time_left() > 5:
        idle("capped_idle_after", 0.75 * idle_s)
    C.done = True


# ------------------------------------------------------------------------- child main

CHILD_SECTIONS = {"attn_impl": sec_attn_impl, "graph": sec_graph, "power_clock": sec_power_clock,
                  "llm_layer": sec_llm_layer, "llm_profile": sec_llm_profile, "llm_step": sec_llm_step}


def run_child(args) -> int:
    _import_torch()
    torch.manual_seed(0)
    C = Child(args)
    C.save(force=True)
    try:
        CHILD_SECTIONS[args.child](C)
    except Exception as exc:
        C.meta.setdefault("child_errors", []).append(traceback.format_exc()[-3000:])
        print(f"section {args.child} failed: {exc}", flush=True)
        if C.is_poisoned(exc):
            C.save(force=True)
            os._exit(POISON_EXIT)
    C.meta["elapsed_s"] = C.elapsed()
    C.save(force=True)
    return 0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="merged JSON (calibrate-compatible)")
    ap.add_argument("--run", choices=sorted(RUNS), help="a preset run: sections and attention set")
    ap.add_argument("--sections", help="comma list of: " + ",".join(MC.ALL_SECTIONS))
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="whole run, seconds (children are killed by then; leave ~50 s under the command limit)")
    ap.add_argument("--attn-set", default=None, help="attention shapes: a | b | tiny")
    ap.add_argument("--layer-set", default="full", help="llm_layer / llm_profile cases: full | smoke | tiny")
    ap.add_argument("--step-set", default="full", help="llm_step cases: full | tiny")
    ap.add_argument("--reps", type=int, default=10, help="timed repetitions per case (new sections)")
    ap.add_argument("--mem-limit-gib", type=float, default=68.0, help="skip cases estimated above this")
    ap.add_argument("--power-load-s", type=float, default=15.0, help="seconds per sustained power_clock load")
    ap.add_argument("--power-s", type=float, default=7.0, help="measure.py --power-s (power_duty, mpower)")
    ap.add_argument("--random-per-kind", type=int, default=20, help="measure.py --random-per-kind")
    ap.add_argument("--gemm-dtypes", default="bf16,fp16,fp8,int8,tf32,fp32", help="measure.py --gemm-dtypes")
    ap.add_argument("--reserve-s", type=float, default=8.0, help="kept back for the final merge")
    ap.add_argument("--grace-s", type=float, default=25.0, help="a child may overrun its share by this")
    ap.add_argument("--min-section-s", type=float, default=15.0)
    ap.add_argument("--no-profile", action="store_true", help="no torch.profiler anywhere")
    ap.add_argument("--moe-pad", type=int, default=0, help="rows per expert group padded to this "
                    "multiple for torch._grouped_mm (0 = probe once per process)")
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny shapes: checks the logic")
    ap.add_argument("--plan", action="store_true", help="print the cases and estimates (no torch) and exit")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--workdir", help="where children write their parts (default: a temp dir)")
    # child mode (internal)
    ap.add_argument("--child", choices=sorted(CHILD_SECTIONS), help=argparse.SUPPRESS)
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--start-index", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    preset = RUNS.get(args.run or "", {})
    if args.sections is None:
        args.sections = preset.get("sections", RUNS["a"]["sections"])
    if args.attn_set is None:
        args.attn_set = preset.get("attn_set", "a")
    if args.dry_run:
        args.attn_set, args.layer_set, args.step_set = "tiny", "tiny", "tiny"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    sections = [s for s in args.sections.split(",") if s]
    bad = [s for s in sections if s not in MC.ALL_SECTIONS]
    if bad:
        print(f"unknown sections {bad}; known: {', '.join(MC.ALL_SECTIONS)}", file=sys.stderr)
        return 2
    if args.plan:
        print_plan(args, sections)
        return 0
    if not args.out:
        print("--out is required", file=sys.stderr)
        return 2
    Driver(args).run(sections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
