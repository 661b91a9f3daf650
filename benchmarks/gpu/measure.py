"""GPU microbenchmark suite for calibrating archsim's GPU model (archsim/blocks/gpu/spec.py).

Measures every op kind of archsim/workloads/ops.py (gemm, conv2d, mlp, hash_encode, attention,
kv_retrieve, topk, gather, elementwise, copy) over a spread of shapes and dtypes with PyTorch
(and Triton kernels for the fused MLP and the hash-grid encoder), plus board power and energy
under sustained load and at idle. Writes one JSON file, rewritten after every section so a
killed run keeps what it measured.

Timing: CUDA events around each repetition, warm-up first, L2 flushed (a write over a buffer
several times the L2) before every timed repetition ("cold" variant: the op's inputs come from
DRAM), median / min / p10 / p90 over the repetitions. Inputs are random (never zeros).

Each record's `op` is the op in archsim's trace format (op_to_dict-compatible), so
`archsim calibrate gpu FILE.json --preset h200` can evaluate the model on exactly that op.

Usage (on the GPU machine):
    PYTHONUNBUFFERED=1 python3 benchmarks/gpu/measure.py --out $OUT/h200.json
Local logic check on CPU (tiny sizes, no timing fidelity):
    python benchmarks/gpu/measure.py --dry-run --out /tmp/dry.json
benchmarks/gpu/measure_llm.py runs these sections (each in its own process, under one budget)
together with the attention-implementation, eager/graph, power-capped and LLM-layer sections.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

try:
    import triton
    import triton.language as tl
    HAVE_TRITON = True
except Exception:  # pragma: no cover - depends on the machine
    triton = None
    tl = None
    HAVE_TRITON = False

REPO = Path(__file__).resolve().parents[2]
DTYPE_BYTES = {"int8": 1, "fp8": 1, "fp16": 2, "bf16": 2, "tf32": 4, "fp32": 4}
TORCH_DT = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32,
            "tf32": torch.float32}

# --------------------------------------------------------------------------------------------
# op dicts in archsim's trace format (field names as in archsim/workloads/ops.py)


def gemm_op(m, k, n, dtype, batch=1):
    return {"op": "gemm", "m": m, "k": k, "n": n, "dtype": dtype, "batch": batch}


def conv_op(ih, iw, fh, fw, c, nf, stride, dtype):
    return {"op": "conv2d", "ifmap_h": ih, "ifmap_w": iw, "filter_h": fh, "filter_w": fw,
            "channels": c, "num_filters": nf, "stride": stride, "dtype": dtype}


def mlp_op(batch, layers, dtype, fused, activation="relu"):
    return {"op": "mlp", "batch": batch, "layers": list(layers), "activation": activation,
            "dtype": dtype, "fused": fused}


def hash_op(n_points, dims, levels, feats, log2_t, base_res, finest_res, grid, dtype="fp16"):
    return {"op": "hash_encode", "n_points": n_points, "dims": dims, "levels": levels,
            "features_per_level": feats, "log2_table_size": log2_t,
            "base_resolution": base_res, "finest_resolution": finest_res, "grid": grid,
            "dtype": dtype, "fused": False}


def attn_op(batch, q_len, kv_len, heads, kv_heads, head_dim, dtype, causal):
    return {"op": "attention", "batch": batch, "q_len": q_len, "kv_len": kv_len, "heads": heads,
            "kv_heads": kv_heads, "head_dim": head_dim, "dtype": dtype, "causal": causal}


def kvr_op(batch, queries, kv_len, kv_heads, head_dim, selected, dtype):
    return {"op": "kv_retrieve", "batch": batch, "queries": queries, "kv_len": kv_len,
            "kv_heads": kv_heads, "head_dim": head_dim, "selected": selected, "dtype": dtype,
            "method": "topk"}


def ew_op(n, n_inputs, flops_per_element, dtype):
    return {"op": "elementwise", "n_elements": n, "n_inputs": n_inputs,
            "flops_per_element": float(flops_per_element), "dtype": dtype}


def copy_op(nbytes):
    return {"op": "copy", "bytes": nbytes}


def topk_op(rows, n, k, dtype):
    return {"op": "topk", "rows": rows, "n": n, "k": k, "dtype": dtype}


def gather_op(rows, row_bytes, table_bytes):
    return {"op": "gather", "rows": rows, "row_bytes": row_bytes, "table_bytes": table_bytes}


# --------------------------------------------------------------------------------------------
# timing


class Bench:
    """Holds the device, the L2-flush buffer, the results and the time budget."""

    def __init__(self, args):
        self.args = args
        self.dry = args.dry_run
        self.dev = torch.device("cpu" if self.dry else "cuda")
        self.t0 = time.monotonic()
        self.results: list[dict] = []
        self.meta: dict = {}
        self.power: dict = {}
        l2 = 0
        if not self.dry:
            l2 = int(getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0) or 0)
        flush_bytes = max(4 * l2, 256 * 2**20) if not self.dry else 2**20
        self.flush_buf = torch.empty(flush_bytes // 4, dtype=torch.float32, device=self.dev)
        self.reps = args.reps
        self.warmup = args.warmup
        self._last_save = time.monotonic()

    # -- bookkeeping
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def over(self, section_deadline_s: float) -> bool:
        return self.elapsed() > section_deadline_s or self.elapsed() > self.args.budget_s

    def sync(self):
        if not self.dry:
            torch.cuda.synchronize()

    def flush_l2(self):
        self.flush_buf.zero_()

    def save(self):
        out = {"meta": self.meta, "power": self.power, "results": self.results,
               "elapsed_s": self.elapsed()}
        path = Path(self.args.out)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        os.replace(tmp, path)
        self._last_save = time.monotonic()

    # -- timing one region
    def time_fn(self, fn, *, flush=True, reps=None, warmup=None, max_s=2.0):
        """Per-repetition times (s) of `fn()` with CUDA events; L2 flushed before each if `flush`.
        Repetitions stop early once `max_s` of measured time has passed (long kernels)."""
        reps = reps or self.reps
        warmup = self.warmup if warmup is None else warmup
        for _ in range(warmup):
            fn()
        self.sync()
        times = []
        spent = 0.0
        if self.dry:
            for _ in range(min(reps, 3)):
                if flush:
                    self.flush_l2()
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return times
        for _ in range(reps):
            if flush:
                self.flush_l2()
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            t = a.elapsed_time(b) * 1e-3
            times.append(t)
            spent += t
            if spent > max_s and len(times) >= 3:
                break
        return times

    def time_back_to_back(self, fn, n=200):
        """Mean time per call of `n` back-to-back calls (no flush): the launch-rate limit."""
        for _ in range(5):
            fn()
        self.sync()
        if self.dry:
            t = time.perf_counter()
            for _ in range(n):
                fn()
            return (time.perf_counter() - t) / n
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(n):
            fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b) * 1e-3 / n

    def record(self, section, op, fn_maker, *, impl, variant="cold", extra=None, flush=True,
               reps=None, check=None):
        """Build inputs via `fn_maker()` -> fn, time it, append one record (or an error record)."""
        rec = {"section": section, "op": op, "impl": impl, "variant": variant}
        if extra:
            rec["extra"] = dict(extra)
        try:
            fn = fn_maker()
            if check is not None:
                rec["check"] = check(fn)
            times = self.time_fn(fn, flush=flush, reps=reps)
            ts = sorted(times)
            rec["times_s"] = {
                "median": statistics.median(ts), "min": ts[0],
                "p10": _pct(ts, 10), "p90": _pct(ts, 90), "n": len(ts)}
        except Exception as exc:  # one failure must not lose the rest
            rec["error"] = f"{type(exc).__name__}: {exc}"[:500]
            rec["traceback"] = traceback.format_exc()[-1500:]
        finally:
            fn = None
            if not self.dry:
                torch.cuda.empty_cache()
        self.results.append(rec)
        if time.monotonic() - self._last_save > 10.0:
            # a process killed mid-section (measure_llm.py's driver stops overrunning children)
            # keeps all but the last few seconds
            self.save()
        t = rec.get("times_s", {}).get("median")
        msg = f"{t * 1e6:10.1f} us" if t is not None else "ERROR " + rec.get("error", "")[:120]
        print(f"[{self.elapsed():6.1f}s] {section:12s} {impl:22s} {_short_op(op):60s} {msg}")
        return rec


def _pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    idx = (len(sorted_vals) - 1) * p / 100.0
    lo, hi = math.floor(idx), math.ceil(idx)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (idx - lo)


def _short_op(op):
    return ",".join(f"{k}={v}" for k, v in op.items() if k != "op")[:60]


def randn(shape, dtype, dev):
    return torch.randn(shape, device=dev, dtype=torch.float32).to(dtype)


# --------------------------------------------------------------------------------------------
# sections


def sec_launch(B: Bench):
    """Launch overhead: a 1-element kernel, event-timed alone and back to back."""
    x = torch.randn(1, device=B.dev)
    y = torch.empty_like(x)
    op = ew_op(1, 1, 1, "fp32")
    B.record("launch", op, lambda: (lambda: torch.mul(x, 2.0, out=y)), impl="torch.mul",
             variant="cold")
    rec = {"section": "launch", "op": op, "impl": "torch.mul", "variant": "back_to_back"}
    try:
        t = B.time_back_to_back(lambda: torch.mul(x, 2.0, out=y), n=500)
        rec["times_s"] = {"median": t, "min": t, "p10": t, "p90": t, "n": 500}
    except Exception as exc:
        rec["error"] = str(exc)
    B.results.append(rec)


def _gemm_fn(m, k, n, dtype, batch, dev):
    """(fn, note) for one GEMM; inputs random; fp8 via torch._scaled_mm, int8 via torch._int_mm."""
    if dtype in ("fp16", "bf16", "fp32", "tf32"):
        dt = TORCH_DT[dtype]
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        shape_a = (batch, m, k) if batch > 1 else (m, k)
        shape_b = (batch, k, n) if batch > 1 else (k, n)
        a, b = randn(shape_a, dt, dev), randn(shape_b, dt, dev)
        if batch > 1:
            c = torch.empty((batch, m, n), device=dev, dtype=dt)
            return lambda: torch.bmm(a, b, out=c)
        c = torch.empty((m, n), device=dev, dtype=dt)
        return lambda: torch.mm(a, b, out=c)
    if dtype == "fp8":
        if batch != 1:
            raise ValueError("fp8 batched not measured")
        fp8 = torch.float8_e4m3fn
        a = randn((m, k), torch.float32, dev).to(fp8)
        b = randn((n, k), torch.float32, dev).to(fp8).t()   # column-major B as _scaled_mm needs
        one = torch.ones((), device=dev, dtype=torch.float32)
        return lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    if dtype == "int8":
        if batch != 1:
            raise ValueError("int8 batched not measured")
        a = torch.randint(-64, 64, (m, k), device=dev, dtype=torch.int8)
        # column-major B (cuBLASLt's "TN" int8 layout); run 1 used row-major B, which took a
        # slow non-IMMA path (about 125 TOPS at 8192^3)
        b = torch.randint(-64, 64, (n, k), device=dev, dtype=torch.int8).t()
        return lambda: torch._int_mm(a, b)
    raise ValueError(dtype)


def sec_gemm(B: Bench, deadline):
    squares = [256, 512, 1024, 2048, 4096, 8192]
    odd = [(1000, 1000, 1000), (3000, 3000, 3000), (4097, 4097, 4097), (1536, 5120, 1536),
           (2304, 768, 3072), (6144, 1024, 6144), (100, 4096, 100)]
    skinny = [(1, 4096, 4096), (8, 4096, 4096), (32, 4096, 11008), (64, 8192, 8192),
              (128, 4096, 4096), (256, 4096, 14336), (512, 8192, 1024), (16, 16384, 16384)]
    batched = [(8, 512, 512, 512), (64, 128, 128, 128), (32, 1024, 64, 1024),
               (16, 2048, 128, 2048), (256, 64, 64, 64)]
    if B.dry:
        squares, odd, skinny, batched = [64, 128], [(33, 40, 17)], [(1, 64, 64)], [(4, 16, 32, 16)]
    plan = []
    for dt in B.args.gemm_dtypes.split(","):
        for s in squares:
            plan.append((s, s, s, dt, 1))
        for m, k, n in odd:
            plan.append((m, k, n, dt, 1))
        for m, k, n in skinny:
            plan.append((m, k, n, dt, 1))
        if dt in ("bf16", "fp16", "fp32"):
            for bt, m, k, n in batched:
                plan.append((m, k, n, dt, bt))
    for m, k, n, dt, bt in plan:
        if B.over(deadline):
            print("gemm: section deadline reached")
            break
        if dt == "int8" and (m <= 16 or k % 8 or n % 8):
            continue            # torch._int_mm needs m > 16, k and n multiples of 8
        if dt == "fp8" and (k % 16 or n % 16):
            continue
        if B.dry and dt in ("fp8", "int8"):
            continue
        impl = {"fp8": "torch._scaled_mm", "int8": "torch._int_mm"}.get(dt, "torch.bmm" if bt > 1 else "torch.mm")
        B.record("gemm", gemm_op(m, k, n, dt, bt),
                 lambda m=m, k=k, n=n, dt=dt, bt=bt: _gemm_fn(m, k, n, dt, bt, B.dev), impl=impl)
    torch.backends.cuda.matmul.allow_tf32 = False


def sec_conv(B: Bench, deadline):
    # (ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride): ResNet-ish layers,
    # ifmap already padded ('valid' convolution as in SCALE-Sim topologies)
    layers = [(230, 230, 7, 7, 3, 64, 2), (58, 58, 3, 3, 64, 64, 1), (56, 56, 1, 1, 64, 256, 1),
              (30, 30, 3, 3, 128, 128, 1), (16, 16, 3, 3, 256, 256, 1), (9, 9, 3, 3, 512, 512, 1),
              (28, 28, 1, 1, 512, 128, 1), (114, 114, 3, 3, 32, 64, 1), (227, 227, 11, 11, 3, 96, 4)]
    batches = [1]           # the conv2d op has no batch field: one image per op
    if B.dry:
        layers = [(12, 12, 3, 3, 4, 8, 1)]
    for dt in ("fp16", "bf16", "tf32"):
        for (ih, iw, fh, fw, c, nf, s) in layers:
            for nb in batches:
                if B.over(deadline):
                    return

                def mk(ih=ih, iw=iw, fh=fh, fw=fw, c=c, nf=nf, s=s, dt=dt, nb=nb):
                    torch.backends.cudnn.allow_tf32 = dt == "tf32"
                    tdt = TORCH_DT[dt]
                    x = randn((nb, c, ih, iw), tdt, B.dev).contiguous(memory_format=torch.channels_last)
                    w = randn((nf, c, fh, fw), tdt, B.dev).contiguous(memory_format=torch.channels_last)
                    return lambda: F.conv2d(x, w, stride=s)
                op = conv_op(ih, iw, fh, fw, c, nf, s, dt)
                B.record("conv2d", op, mk, impl="F.conv2d(cudnn,channels_last)")
    torch.backends.cudnn.allow_tf32 = False


# ---- fused MLP (Triton): in -> H (relu) -> [H -> H (relu)] * n_hidden -> out (no act)

if HAVE_TRITON:
    @triton.jit
    def _mlp_fused_kernel(x_ptr, w_in_ptr, w_hid_ptr, w_out_ptr, y_ptr, M,
                          N_HIDDEN: tl.constexpr, D_IN: tl.constexpr, H: tl.constexpr, D_OUT: tl.constexpr,
                          BLOCK_M: tl.constexpr):
        pid = tl.program_id(0)
        rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
        rmask = rows < M
        ci = tl.arange(0, D_IN)
        ch = tl.arange(0, H)
        co = tl.arange(0, D_OUT)
        x = tl.load(x_ptr + rows[:, None] * D_IN + ci[None, :], mask=rmask[:, None], other=0.0)
        w = tl.load(w_in_ptr + ci[:, None] * H + ch[None, :])
        h = tl.maximum(tl.dot(x, w), 0.0).to(x_ptr.dtype.element_ty)
        for i in tl.static_range(N_HIDDEN):
            w = tl.load(w_hid_ptr + i * H * H + ch[:, None] * H + ch[None, :])
            h = tl.maximum(tl.dot(h, w), 0.0).to(x_ptr.dtype.element_ty)
        w = tl.load(w_out_ptr + ch[:, None] * D_OUT + co[None, :])
        y = tl.dot(h, w).to(y_ptr.dtype.element_ty)
        tl.store(y_ptr + rows[:, None] * D_OUT + co[None, :], y, mask=rmask[:, None])


def _mlp_fns(batch, layers, dtype, dev):
    """(fused_fn or None, layer_by_layer_fn). Widths: in, H, ..., H, out."""
    tdt = TORCH_DT[dtype]
    d_in, hs, d_out = layers[0], layers[1:-1], layers[-1]
    H = hs[0]
    assert all(h == H for h in hs)
    x = randn((batch, d_in), tdt, dev)
    w_in = randn((d_in, H), tdt, dev) * (1.0 / math.sqrt(d_in))
    w_hid = randn((max(len(hs) - 1, 1), H, H), tdt, dev) * (1.0 / math.sqrt(H))
    w_out = randn((H, d_out), tdt, dev) * (1.0 / math.sqrt(H))
    y = torch.empty((batch, d_out), device=dev, dtype=tdt)

    def lbl():
        h = torch.relu(x @ w_in)
        for i in range(len(hs) - 1):
            h = torch.relu(h @ w_hid[i])
        return h @ w_out

    fused = None
    if HAVE_TRITON and (dev.type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1"):
        block_m = 128

        def fused():
            grid = (triton.cdiv(batch, block_m),)
            _mlp_fused_kernel[grid](x, w_in, w_hid, w_out, y, batch, N_HIDDEN=len(hs) - 1,
                                    D_IN=d_in, H=H, D_OUT=d_out, BLOCK_M=block_m)
            return y
    return fused, lbl


def _mlp_check(batch, layers, dtype, dev):
    fused, lbl = _mlp_fns(min(batch, 512), layers, dtype, dev)
    if fused is None:
        return None
    a, b = fused().float(), lbl().float()
    return float((a - b).norm() / b.norm())


def sec_mlp(B: Bench, deadline):
    nets = [(32, 64, 64, 16), (64, 64, 64, 64, 64), (32, 64, 64, 64, 64, 16), (64, 128, 128, 128, 16)]
    batches = [2**12, 2**14, 2**16, 2**18, 2**20, 2**22]
    if B.dry:
        nets, batches = [(32, 64, 64, 16)], [256]
    for net in nets:
        chk = None
        try:
            chk = _mlp_check(256, net, "fp16", B.dev)
        except Exception as exc:
            chk = f"check failed: {exc}"[:300]
        for bt in batches:
            if B.over(deadline):
                return
            for fused in (True, False):
                if fused and not HAVE_TRITON:
                    continue
                if fused and B.dry and os.environ.get("TRITON_INTERPRET") != "1":
                    continue

                def mk(bt=bt, net=net, fused=fused):
                    f, l = _mlp_fns(bt, net, "fp16", B.dev)
                    return f if fused else l
                B.record("mlp", mlp_op(bt, net, "fp16", fused), mk,
                         impl="triton_fused" if fused else "torch_layer_by_layer",
                         extra={"rel_err_fused_vs_torch": chk} if fused else None)


# ---- multiresolution hash encoding (instant-ngp), one program per (point block, level)

if HAVE_TRITON:
    @triton.jit
    def _hash_enc_kernel(pos_ptr, table_ptr, res_ptr, dense_ptr, out_ptr, N, T,
                         L: tl.constexpr, F: tl.constexpr, DIMS: tl.constexpr,
                         BLOCK: tl.constexpr):
        pid = tl.program_id(0)
        lvl = tl.program_id(1)
        offs = pid * BLOCK + tl.arange(0, BLOCK)
        m = offs < N
        res = tl.load(res_ptr + lvl)
        dense = tl.load(dense_ptr + lvl)
        px = tl.load(pos_ptr + offs * DIMS + 0, mask=m, other=0.0) * res
        py = tl.load(pos_ptr + offs * DIMS + 1, mask=m, other=0.0) * res
        x0 = tl.floor(px)
        y0 = tl.floor(py)
        fx = px - x0
        fy = py - y0
        ix = x0.to(tl.int64)
        iy = y0.to(tl.int64)
        side = (res + 1.0).to(tl.int64)
        if DIMS == 3:
            pz = tl.load(pos_ptr + offs * DIMS + 2, mask=m, other=0.0) * res
            z0 = tl.floor(pz)
            fz = pz - z0
            iz = z0.to(tl.int64)
        fo = tl.arange(0, F)
        acc = tl.zeros((BLOCK, F), dtype=tl.float32)
        base = table_ptr + lvl.to(tl.int64) * T * F
        for c in tl.static_range(2 ** DIMS):
            cx = ix + (c & 1)
            cy = iy + ((c >> 1) & 1)
            bx = c & 1            # constexpr corner bits (static_range)
            by = (c >> 1) & 1
            wx = fx * bx + (1.0 - fx) * (1 - bx)
            wy = fy * by + (1.0 - fy) * (1 - by)
            wgt = wx * wy
            if DIMS == 3:
                bz = (c >> 2) & 1
                cz = iz + bz
                wz = fz * bz + (1.0 - fz) * (1 - bz)
                wgt = wgt * wz
                h = cx ^ (cy * 2654435761) ^ (cz * 805459861)
                d = cx + side * (cy + side * cz)
            else:
                h = cx ^ (cy * 2654435761)
                d = cx + side * cy
            idx = tl.where(dense != 0, d, h) % T   # T = 2^k: the low bits, as a uint32 hash
            v = tl.load(base + idx[:, None] * F + fo[None, :], mask=m[:, None], other=0.0)
            acc += wgt[:, None] * v.to(tl.float32)
        tl.store(out_ptr + offs[:, None] * (L * F) + lvl * F + fo[None, :],
                 acc.to(out_ptr.dtype.element_ty), mask=m[:, None])


def _level_params(op):
    """Per-level resolution and dense flag (instant-ngp growth factor b)."""
    L = op["levels"]
    b = math.exp((math.log(op["finest_resolution"]) - math.log(op["base_resolution"])) / max(L - 1, 1))
    T = 2 ** op["log2_table_size"]
    res, dense = [], []
    for l in range(L):
        r = math.floor(op["base_resolution"] * b ** l)
        res.append(float(r))
        dense.append(1 if (op["grid"] == "dense" or (r + 1) ** op["dims"] <= T) else 0)
    return res, dense


def _hash_fn(op, dev):
    N, D, L, Fd = op["n_points"], op["dims"], op["levels"], op["features_per_level"]
    T = 2 ** op["log2_table_size"]
    res, dense = _level_params(op)
    pos = torch.rand((N, D), device=dev, dtype=torch.float32)
    table = (torch.rand((L, T, Fd), device=dev, dtype=torch.float32) * 2e-4 - 1e-4).to(torch.float16)
    res_t = torch.tensor(res, device=dev, dtype=torch.float32)
    dense_t = torch.tensor(dense, device=dev, dtype=torch.int32)
    out = torch.empty((N, L * Fd), device=dev, dtype=torch.float16)
    block = 128

    def fn():
        _hash_enc_kernel[(triton.cdiv(N, block), L)](pos, table, res_t, dense_t, out, N, T,
                                                     L=L, F=Fd, DIMS=D, BLOCK=block)
        return out
    return fn, (pos, table, res, dense, out)


def _hash_reference(pos, table, res, dense, dims):
    """Plain torch reference of the encoder (float32) for the correctness check."""
    N = pos.shape[0]
    L, T, Fd = table.shape
    outs = []
    for l in range(L):
        p = pos.double() * res[l]
        p0 = torch.floor(p)
        f = p - p0
        i0 = p0.long()
        side = int(res[l]) + 1
        acc = torch.zeros((N, Fd), dtype=torch.float64, device=pos.device)
        for c in range(2 ** dims):
            bits = [(c >> d) & 1 for d in range(dims)]
            ci = [i0[:, d] + bits[d] for d in range(dims)]
            w = torch.ones(N, dtype=torch.float64, device=pos.device)
            for d in range(dims):
                w = w * (f[:, d] if bits[d] else 1 - f[:, d])
            if dense[l]:
                idx = ci[0] + side * ci[1] + (side * side * ci[2] if dims == 3 else 0)
            else:
                primes = [1, 2654435761, 805459861]
                idx = torch.zeros_like(ci[0])
                for d in range(dims):
                    idx = idx ^ ((ci[d] * primes[d]) & 0xFFFFFFFF)
            idx = (idx & 0xFFFFFFFF) % T
            acc += w[:, None] * table[l].double()[idx]
        outs.append(acc)
    return torch.cat(outs, dim=1)


def _hash_check(op, dev):
    small = dict(op, n_points=1000)
    fn, (pos, table, res, dense, out) = _hash_fn(small, dev)
    got = fn().double()
    ref = _hash_reference(pos, table, res, dense, op["dims"])
    return float((got - ref).norm() / ref.norm())


def sec_hash(B: Bench, deadline):
    if not HAVE_TRITON:
        print("hash_encode: no triton, skipped")
        return
    if B.dry and os.environ.get("TRITON_INTERPRET") != "1":
        return
    cases = []
    for n in (2**16, 2**18, 2**20, 2**21):
        for log2_t in (14, 16, 19, 22, 24):
            cases.append(hash_op(n, 3, 16, 2, log2_t, 16, 2048, "hash"))
    for n in (2**18, 2**20):
        cases.append(hash_op(n, 2, 16, 2, 19, 16, 4096, "hash"))
        cases.append(hash_op(n, 3, 8, 4, 19, 16, 512, "hash"))
        cases.append(hash_op(n, 3, 4, 2, 21, 8, 128, "dense"))   # 129^3 = 2.1 M entries/level
    if B.dry:
        cases = [hash_op(300, 3, 4, 2, 10, 4, 64, "hash"), hash_op(300, 2, 3, 2, 8, 4, 32, "hash")]
    checked = {}
    for op in cases:
        if B.over(deadline):
            return
        key = (op["dims"], op["grid"], op["log2_table_size"])
        if key not in checked:
            try:
                checked[key] = _hash_check(op, B.dev)
            except Exception as exc:
                checked[key] = f"check failed: {exc}"[:300]
        B.record("hash_encode", op, lambda op=op: _hash_fn(op, B.dev)[0], impl="triton_hashgrid",
                 extra={"rel_err_vs_reference": checked[key]})


def _attn_fn(batch, q_len, kv_len, heads, kv_heads, head_dim, dtype, causal, dev):
    tdt = TORCH_DT[dtype]
    q = randn((batch, heads, q_len, head_dim), tdt, dev)
    k = randn((batch, kv_heads, kv_len, head_dim), tdt, dev)
    v = randn((batch, kv_heads, kv_len, head_dim), tdt, dev)
    mask = None
    is_causal = False
    if causal:
        if q_len == 1:
            pass          # one query at the end sees every key: the causal mask is a no-op
        elif q_len == kv_len:
            is_causal = True
        else:  # archsim's causal = bottom-right aligned (query i sees kv up to kv_len-q_len+i)
            from torch.nn.attention.bias import causal_lower_right
            mask = causal_lower_right(q_len, kv_len)
    gqa = heads != kv_heads

    def fn():
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                              enable_gqa=gqa)
    try:
        fn()
        return fn
    except Exception:
        if not gqa:
            raise
    # this torch's SDPA refused GQA with this mask: expand K/V to all heads once, outside the timing
    ke = k.repeat_interleave(heads // kv_heads, dim=1)
    ve = v.repeat_interleave(heads // kv_heads, dim=1)
    return lambda: F.scaled_dot_product_attention(q, ke, ve, attn_mask=mask, is_causal=is_causal)


def sec_attention(B: Bench, deadline):
    cases = []
    # decode (q_len = 1), Llama-3-8B-like heads (32 q, 8 kv, 128) and MHA
    for bt in (1, 8, 32):
        for kv in (1024, 4096, 16384, 65536):
            cases.append(attn_op(bt, 1, kv, 32, 8, 128, "bf16", False))
    for kv in (2048, 32768):
        cases.append(attn_op(4, 1, kv, 32, 32, 128, "fp16", False))
        cases.append(attn_op(16, 1, kv, 28, 4, 128, "bf16", False))
    # prefill (causal, q_len = kv_len) and chunked prefill (q_len < kv_len)
    for s in (512, 2048, 8192):
        cases.append(attn_op(1, s, s, 32, 8, 128, "bf16", True))
        cases.append(attn_op(4, s, s, 32, 32, 64, "fp16", True))
    for q, kv in ((512, 4096), (1024, 16384), (2048, 32768), (256, 8192)):
        cases.append(attn_op(1, q, kv, 32, 8, 128, "bf16", True))
    cases.append(attn_op(8, 1024, 1024, 16, 16, 64, "fp16", False))
    if B.dry:
        cases = [attn_op(1, 1, 64, 4, 2, 16, "fp32", False), attn_op(1, 8, 32, 4, 2, 16, "fp32", True),
                 attn_op(1, 16, 16, 4, 4, 16, "fp32", True)]
    for op in cases:
        if B.over(deadline):
            return
        args = [op[k] for k in ("batch", "q_len", "kv_len", "heads", "kv_heads", "head_dim", "dtype", "causal")]
        B.record("attention", op, lambda args=args: _attn_fn(*args, B.dev), impl="F.sdpa")


def _kvr_fn(batch, queries, kv_len, kv_heads, head_dim, selected, dtype, dev):
    """Exact token-level retrieval: scores of the queries against every cached key, summed over
    the queries of a KV head, top-`selected`, gather those K and V rows."""
    tdt = TORCH_DT[dtype]
    q = randn((batch, kv_heads, queries, head_dim), tdt, dev)
    k = randn((batch, kv_heads, kv_len, head_dim), tdt, dev)
    v = randn((batch, kv_heads, kv_len, head_dim), tdt, dev)

    def fn():
        s = torch.matmul(q, k.transpose(-1, -2))                 # (B, Hkv, Q, L)
        s = s.float().sum(dim=2)                                 # (B, Hkv, L)
        idx = torch.topk(s, selected, dim=-1).indices            # (B, Hkv, S)
        gi = idx.unsqueeze(-1).expand(-1, -1, -1, head_dim)
        return torch.gather(k, 2, gi), torch.gather(v, 2, gi)
    return fn


def sec_kvr(B: Bench, deadline):
    cases = []
    for kv in (4096, 32768, 131072):
        for sel in (256, 2048):
            cases.append(kvr_op(1, 4, kv, 8, 128, sel, "bf16"))
    for bt, q, kv, sel in ((8, 1, 16384, 1024), (4, 32, 65536, 4096), (1, 128, 32768, 1024),
                           (16, 4, 8192, 512)):
        cases.append(kvr_op(bt, q, kv, 8, 128, sel, "fp16"))
    if B.dry:
        cases = [kvr_op(1, 2, 64, 2, 16, 8, "fp32")]
    for op in cases:
        if B.over(deadline):
            return
        args = [op[k] for k in ("batch", "queries", "kv_len", "kv_heads", "head_dim", "selected", "dtype")]
        B.record("kv_retrieve", op, lambda args=args: _kvr_fn(*args, B.dev),
                 impl="torch.matmul+sum+topk+gather")


def sec_topk(B: Bench, deadline):
    cases = []
    for rows, n in ((1, 4096), (1, 65536), (1, 1 << 20), (1, 1 << 24), (64, 4096), (64, 65536),
                    (1024, 4096), (256, 131072), (4096, 1024), (32, 1 << 20)):
        for k in (8, 256, 2048):
            if k <= n:
                cases.append(topk_op(rows, n, k, "fp32"))
    for rows, n, k in ((64, 65536, 256), (1024, 4096, 64), (1, 1 << 20, 1024)):
        cases.append(topk_op(rows, n, k, "fp16"))
    if B.dry:
        cases = [topk_op(4, 100, 5, "fp32"), topk_op(2, 64, 8, "fp16")]
    for op in cases:
        if B.over(deadline):
            return

        def mk(op=op):
            x = randn((op["rows"], op["n"]), TORCH_DT[op["dtype"]], B.dev)
            return lambda: torch.topk(x, op["k"], dim=-1)
        B.record("topk", op, mk, impl="torch.topk")


def sec_gather(B: Bench, deadline):
    cases = []
    for table_mib in (1, 16, 48, 256, 2048):
        for row_bytes in (64, 256, 2048):
            for rows in (4096, 65536, 1 << 20):
                if rows * row_bytes > (1 << 31):
                    continue
                cases.append(gather_op(rows, row_bytes, table_mib * 2**20))
    if B.dry:
        cases = [gather_op(100, 64, 1 << 16), gather_op(50, 256, 1 << 18)]
    for op in cases:
        if B.over(deadline):
            return

        def mk(op=op):
            rb = op["row_bytes"]
            n_rows = op["table_bytes"] // rb
            table = randn((n_rows, rb // 2), torch.float16, B.dev)
            idx = torch.randint(0, n_rows, (op["rows"],), device=B.dev)
            out = torch.empty((op["rows"], rb // 2), device=B.dev, dtype=torch.float16)
            return lambda: torch.index_select(table, 0, idx, out=out)
        B.record("gather", op, mk, impl="torch.index_select", extra={"index_bytes": op["rows"] * 8})


def sec_elementwise(B: Bench, deadline):
    sizes = [2**10, 2**14, 2**17, 2**20, 2**22, 2**24, 2**26, 2**28]
    if B.dry:
        sizes = [2**8, 2**12]
    cases = []
    for n in sizes:
        for dt in ("fp16", "fp32", "bf16"):
            cases.append((n, 1, 1, dt, "mul"))
            cases.append((n, 2, 1, dt, "add"))
        cases.append((n, 3, 2, "fp32", "addcmul"))
        cases.append((n, 1, 8, "fp16", "gelu"))
    for n, nin, fpe, dt, kind in cases:
        if B.over(deadline):
            return

        def mk(n=n, nin=nin, dt=dt, kind=kind):
            tdt = TORCH_DT[dt]
            xs = [randn((n,), tdt, B.dev) for _ in range(nin)]
            y = torch.empty((n,), device=B.dev, dtype=tdt)
            if kind == "mul":
                return lambda: torch.mul(xs[0], 1.5, out=y)
            if kind == "add":
                return lambda: torch.add(xs[0], xs[1], out=y)
            if kind == "addcmul":
                return lambda: torch.addcmul(xs[0], xs[1], xs[2], out=y)
            return lambda: torch.nn.functional.gelu(xs[0])
        B.record("elementwise", ew_op(n, nin, fpe, dt), mk, impl=f"torch.{kind}")


def sec_copy(B: Bench, deadline):
    sizes = [2**12, 2**16, 2**20, 2**22, 2**24, 2**25, 2**26, 2**27, 2**28, 2**30, 2**32]
    if B.dry:
        sizes = [2**12, 2**16]
    for nbytes in sizes:
        for flush, variant in ((True, "cold"), (False, "warm")):
            if not flush and nbytes > 2**28:
                continue
            if B.over(deadline):
                return

            def mk(nbytes=nbytes):
                x = torch.randint(0, 255, (nbytes,), dtype=torch.uint8, device=B.dev)
                y = torch.empty_like(x)
                return lambda: y.copy_(x)
            B.record("copy", copy_op(nbytes), mk, impl="Tensor.copy_", variant=variant, flush=flush)


# --------------------------------------------------------------------------------------------
# power


class PowerSampler:
    """Samples board power (W) and, where the driver has it, the total-energy counter (mJ)
    via NVML (pynvml / nvidia-ml-py); falls back to `nvidia-smi` polling."""

    def __init__(self, period_s=0.05):
        self.period_s = period_s
        self.samples: list[tuple[float, float, float | None, float | None, float | None]] = []
        self._stop = threading.Event()
        self._thread = None
        self.backend = None
        self.handle = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nv = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.backend = "nvml"
        except Exception:
            self.nv = None
            self.backend = "nvidia-smi"

    def read(self):
        """(t, power_w, energy_mj, sm_clock_mhz, temp_c)."""
        t = time.monotonic()
        if self.backend == "nvml":
            nv, h = self.nv, self.handle
            p = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
            try:
                e = float(nv.nvmlDeviceGetTotalEnergyConsumption(h))
            except Exception:
                e = None
            try:
                clk = float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))
            except Exception:
                clk = None
            try:
                temp = float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
            except Exception:
                temp = None
            return (t, p, e, clk, temp)
        out = subprocess.run(["nvidia-smi", "--query-gpu=power.draw,clocks.sm,temperature.gpu",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=5).stdout.strip().split(",")
        return (t, float(out[0]), None, float(out[1]), float(out[2]))

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self.read())
            except Exception:
                pass
            time.sleep(self.period_s)

    def start(self):
        self.samples = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        return list(self.samples)


def _summarise_power(samples, settle_s):
    """Mean power after the first `settle_s`, and counter-based mean power where available."""
    if not samples:
        return {"error": "no samples"}
    t_first = samples[0][0]
    steady = [s for s in samples if s[0] - t_first >= settle_s] or samples
    pw = sorted(s[1] for s in steady)
    out = {"n_samples": len(steady), "mean_power_w": sum(pw) / len(pw),
           "median_power_w": statistics.median(pw), "p10_power_w": _pct(pw, 10),
           "p90_power_w": _pct(pw, 90)}
    es = [s for s in steady if s[2] is not None]
    if len(es) >= 2 and es[-1][0] > es[0][0]:
        out["energy_counter_power_w"] = (es[-1][2] - es[0][2]) * 1e-3 / (es[-1][0] - es[0][0])
    clks = [s[3] for s in steady if s[3] is not None]
    if clks:
        out["median_sm_clock_mhz"] = statistics.median(clks)
    temps = [s[4] for s in steady if s[4] is not None]
    if temps:
        out["max_temp_c"] = max(temps)
    return out


def sec_power(B: Bench, duration_s: float):
    """Idle, a long bf16 GEMM, a long fp8 GEMM, a long copy and a long fp32 FMA stream, each
    `duration_s`; work done is counted so the energy per FLOP / per byte can be fitted."""
    if B.dry:
        B.power = {"skipped": "dry run"}
        return
    ps = PowerSampler()
    B.power = {"backend": ps.backend, "duration_s": duration_s, "loads": {}}

    def run_load(name, op, fn, flops_per_call, dram_bytes_per_call, settle_s=1.5):
        try:
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            # calls per 50 ms, so the host loop stays ahead without a huge queue
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record(); fn(); b.record(); b.synchronize()
            t_one = max(a.elapsed_time(b) * 1e-3, 1e-6)
            ps.start()
            t_start = time.monotonic()
            calls = 0
            ev_a = torch.cuda.Event(enable_timing=True)
            ev_b = torch.cuda.Event(enable_timing=True)
            ev_a.record()
            while time.monotonic() - t_start < duration_s:
                for _ in range(max(1, int(0.05 / t_one))):
                    fn()
                    calls += 1
                torch.cuda.synchronize()
            ev_b.record(); ev_b.synchronize()
            busy_s = ev_a.elapsed_time(ev_b) * 1e-3
            samples = ps.stop()
            s = _summarise_power(samples, settle_s)
            s.update({"op": op, "calls": calls, "busy_s": busy_s,
                      "time_per_call_s": busy_s / max(calls, 1),
                      "flops_per_call": flops_per_call, "dram_bytes_per_call": dram_bytes_per_call,
                      "achieved_tflops": flops_per_call * calls / busy_s / 1e12,
                      "achieved_tb_s": dram_bytes_per_call * calls / busy_s / 1e12})
            B.power["loads"][name] = s
            print(f"[{B.elapsed():6.1f}s] power {name:14s} {s.get('mean_power_w', 0):7.1f} W "
                  f"(counter {s.get('energy_counter_power_w', float('nan')):7.1f} W) "
                  f"{s['achieved_tflops']:8.1f} TFLOP/s {s['achieved_tb_s']:6.2f} TB/s")
        except Exception as exc:
            ps.stop()
            B.power["loads"][name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            print(f"power {name}: ERROR {exc}")
        torch.cuda.empty_cache()

    # idle
    try:
        torch.cuda.synchronize()
        time.sleep(2.0)
        ps.start()
        time.sleep(duration_s * 0.6)
        B.power["loads"]["idle"] = _summarise_power(ps.stop(), 0.5)
        print(f"[{B.elapsed():6.1f}s] power idle           {B.power['loads']['idle'].get('mean_power_w', 0):7.1f} W")
    except Exception as exc:
        B.power["loads"]["idle"] = {"error": str(exc)}
    n = 8192
    g = _gemm_fn(n, n, n, "bf16", 1, B.dev)
    run_load("gemm_bf16_8192", gemm_op(n, n, n, "bf16"), g, 2.0 * n**3, 3 * n * n * 2)
    g = None
    try:
        g = _gemm_fn(n, n, n, "fp8", 1, B.dev)
        run_load("gemm_fp8_8192", gemm_op(n, n, n, "fp8"), g, 2.0 * n**3, 2 * n * n + 2 * n * n)
    except Exception as exc:
        B.power["loads"]["gemm_fp8_8192"] = {"error": str(exc)}
    g = None
    nb = 2**31
    x = torch.randint(0, 255, (nb,), dtype=torch.uint8, device=B.dev)
    y = torch.empty_like(x)
    run_load("copy_2gib", copy_op(nb), lambda: y.copy_(x), 0.0, 2.0 * nb)
    x = y = None
    ne = 2**28
    a = randn((ne,), torch.float32, B.dev)
    b_ = randn((ne,), torch.float32, B.dev)
    c = randn((ne,), torch.float32, B.dev)
    o = torch.empty_like(a)
    run_load("addcmul_fp32_2e28", ew_op(ne, 3, 2, "fp32"), lambda: torch.addcmul(a, b_, c, out=o),
             2.0 * ne, 16.0 * ne)
    a = b_ = c = o = None
    torch.backends.cuda.matmul.allow_tf32 = False
    g = _gemm_fn(n, n, n, "fp32", 1, B.dev)
    run_load("gemm_fp32_8192", gemm_op(n, n, n, "fp32"), g, 2.0 * n**3, 3 * n * n * 4)
    g = None
    try:
        torch.cuda.synchronize()
        time.sleep(1.0)
        ps.start()
        time.sleep(duration_s * 0.4)
        B.power["loads"]["idle_after"] = _summarise_power(ps.stop(), 0.5)
    except Exception as exc:
        B.power["loads"]["idle_after"] = {"error": str(exc)}


def sec_power_duty(B: Bench, duration_s: float):
    """Dynamic energy per call below the power cap: each load runs in bursts of ~25 ms with
    ~50 ms idle gaps (about a third duty), so the board never sits at its power limit; the NVML
    energy counter over the whole load minus idle power x wall time, divided by the calls, is
    the dynamic energy of one call. Idle power is re-read before each load."""
    if B.dry:
        B.power["duty"] = {"skipped": "dry run"}
        return
    ps = PowerSampler()
    if ps.backend != "nvml":
        B.power["duty"] = {"skipped": "needs the NVML energy counter"}
        return
    nv, h = ps.nv, ps.handle
    out = B.power.setdefault("duty", {})

    def energy_mj():
        return float(nv.nvmlDeviceGetTotalEnergyConsumption(h))

    def run(name, op, fn, flops_per_call, dram_bytes_per_call, burst_s=0.025, gap_s=0.05):
        try:
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record(); fn(); b.record(); b.synchronize()
            t_one = max(a.elapsed_time(b) * 1e-3, 1e-6)
            n_burst = max(1, int(burst_s / t_one))
            # idle reference just before the load
            time.sleep(0.6)
            e0, t0 = energy_mj(), time.monotonic()
            time.sleep(1.2)
            e1, t1 = energy_mj(), time.monotonic()
            p_idle = (e1 - e0) * 1e-3 / (t1 - t0)
            calls, busy = 0, 0.0
            ps.start()
            e_start, t_start = energy_mj(), time.monotonic()
            while time.monotonic() - t_start < duration_s:
                a.record()
                for _ in range(n_burst):
                    fn()
                b.record()
                b.synchronize()
                busy += a.elapsed_time(b) * 1e-3
                calls += n_burst
                time.sleep(gap_s)
            e_end, t_end = energy_mj(), time.monotonic()
            samples = ps.stop()
            wall = t_end - t_start
            e_tot = (e_end - e_start) * 1e-3
            dyn = e_tot - p_idle * wall
            rec = {"op": op, "calls": calls, "wall_s": wall, "busy_s": busy,
                   "duty": busy / wall, "energy_total_j": e_tot, "idle_power_w": p_idle,
                   "dynamic_energy_j": dyn, "dynamic_energy_per_call_j": dyn / max(calls, 1),
                   "time_per_call_s": busy / max(calls, 1),
                   "busy_power_w": p_idle + dyn / max(busy, 1e-9),
                   "flops_per_call": flops_per_call, "dram_bytes_per_call": dram_bytes_per_call,
                   "max_sample_power_w": max((x[1] for x in samples), default=None),
                   "median_sm_clock_mhz": statistics.median([x[3] for x in samples if x[3] is not None] or [0])}
            out[name] = rec
            print(f"[{B.elapsed():6.1f}s] duty {name:18s} idle {p_idle:6.1f} W busy {rec['busy_power_w']:6.1f} W "
                  f"duty {rec['duty']:.2f} dyn/call {rec['dynamic_energy_per_call_j'] * 1e3:9.4f} mJ "
                  f"t/call {rec['time_per_call_s'] * 1e6:9.1f} us max {rec['max_sample_power_w']}")
        except Exception as exc:
            ps.stop()
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            print(f"duty {name}: ERROR {exc}")
        torch.cuda.empty_cache()

    n = 8192
    g = _gemm_fn(n, n, n, "bf16", 1, B.dev)
    run("gemm_bf16_8192", gemm_op(n, n, n, "bf16"), g, 2.0 * n**3, 3 * n * n * 2)
    g = _gemm_fn(4096, 4096, 4096, "fp16", 1, B.dev)
    run("gemm_fp16_4096", gemm_op(4096, 4096, 4096, "fp16"), g, 2.0 * 4096**3, 3 * 4096**2 * 2)
    g = _gemm_fn(n, n, n, "fp8", 1, B.dev)
    run("gemm_fp8_8192", gemm_op(n, n, n, "fp8"), g, 2.0 * n**3, 4 * n * n)
    g = _gemm_fn(n, n, n, "tf32", 1, B.dev)
    run("gemm_tf32_8192", gemm_op(n, n, n, "tf32"), g, 2.0 * n**3, 3 * n * n * 4)
    torch.backends.cuda.matmul.allow_tf32 = False
    g = _gemm_fn(4096, 4096, 4096, "fp32", 1, B.dev)
    run("gemm_fp32_4096", gemm_op(4096, 4096, 4096, "fp32"), g, 2.0 * 4096**3, 3 * 4096**2 * 4)
    g = None
    for nb in (2**30, 2**24):
        x = torch.randint(0, 255, (nb,), dtype=torch.uint8, device=B.dev)
        y = torch.empty_like(x)
        # 16 MiB in + out stays in the 60 MB L2 when repeated back to back (no DRAM traffic)
        run(f"copy_{nb >> 20}mib", copy_op(nb), lambda: y.copy_(x), 0.0,
            2.0 * nb if nb > 2**26 else 0.0)
    x = y = None
    ne = 2**28
    xa = randn((ne,), torch.float16, B.dev)
    ya = torch.empty_like(xa)
    run("mul_fp16_2e28", ew_op(ne, 1, 1, "fp16"), lambda: torch.mul(xa, 1.5, out=ya), float(ne), 4.0 * ne)
    xa = ya = None
    if HAVE_TRITON:
        op = hash_op(2**21, 3, 16, 2, 22, 16, 2048, "hash")
        try:
            f = _hash_fn(op, B.dev)[0]
            run("hash_encode_2m_t22", op, f, float(2**21 * 16 * 8 * 7), 0.0)
        except Exception as exc:
            out["hash_encode_2m_t22"] = {"error": str(exc)[:300]}


def sec_random(B: Bench, deadline, n_per_kind):
    """A seeded random-shape family over every op kind, disjoint from the grids above: the
    held-out validation set for archsim's calibrated GPU model (seed 12345)."""
    rng = random.Random(12345)

    def lu(lo, hi):   # log-uniform integer
        return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
    cases = []
    sc = 0.05 if B.dry else 1.0
    for _ in range(n_per_kind * 3):
        dt = rng.choice(["bf16", "fp16", "fp32", "tf32", "fp8", "int8"])
        m, k, n = lu(16, 12000 * sc + 16), lu(16, 12000 * sc + 16), lu(16, 12000 * sc + 16)
        if dt in ("fp8", "int8"):
            k, n = max(16, k // 16 * 16), max(16, n // 16 * 16)
            m = max(32, m)
        bt = 1
        if dt in ("bf16", "fp16", "fp32") and rng.random() < 0.25:
            bt = lu(2, 64)
            m, k, n = max(16, m // 8), max(16, k // 8), max(16, n // 8)
        if B.dry and dt in ("fp8", "int8"):
            continue
        cases.append(("gemm", gemm_op(m, k, n, dt, bt)))
    for _ in range(n_per_kind):
        c = rng.choice([3, 16, 32, 64, 128, 256, 512])
        nf = rng.choice([16, 32, 64, 128, 256, 512])
        fh = rng.choice([1, 3, 3, 5, 7])
        s = rng.choice([1, 1, 2])
        ih = max(fh, lu(7, 230 if not B.dry else 12))
        dt = rng.choice(["fp16", "bf16", "tf32"])
        if B.dry:
            c, nf = min(c, 8), min(nf, 8)
        cases.append(("conv2d", conv_op(ih, ih, fh, fh, c, nf, s, dt)))
    for _ in range(n_per_kind):
        hdim = rng.choice([32, 64, 64, 128])
        nl = rng.randint(1, 5)
        net = [rng.choice([16, 32, 64])] + [hdim] * nl + [rng.choice([16, 32, 64])]
        fused = rng.random() < 0.6 and HAVE_TRITON and not B.dry
        bt = lu(2**11, 2**21 if not B.dry else 2**9)
        if fused:
            # run 2 (2026-11-30) hit an illegal address in the fused kernel with batch 2213 and
            # d_in 16; the grid (batch multiple of 128, d_in >= 32) ran clean: keep to that
            bt = -(-bt // 128) * 128
            net[0] = max(net[0], 32)
        cases.append(("mlp", mlp_op(bt, net, "fp16", fused)))
    if HAVE_TRITON and not B.dry:
        for _ in range(n_per_kind):
            dims = rng.choice([2, 3, 3])
            levels = rng.randint(4, 16)
            cases.append(("hash_encode", hash_op(lu(2**14, 2**21), dims, levels, rng.choice([2, 2, 4]),
                                                 rng.randint(12, 24), rng.choice([8, 16]),
                                                 rng.choice([256, 1024, 2048, 4096]), "hash")))
    for _ in range(n_per_kind):
        hd = rng.choice([64, 128])
        kvh = rng.choice([1, 4, 8, 8])
        heads = kvh * rng.choice([1, 4, 8])
        if rng.random() < 0.5:
            op = attn_op(lu(1, 64), 1, lu(256, 131072 if not B.dry else 64), heads, kvh, hd,
                         rng.choice(["bf16", "fp16"]), False)
        else:
            kv = lu(256, 16384 if not B.dry else 64)
            q = kv if rng.random() < 0.5 else max(1, kv // rng.choice([2, 4, 8, 16]))
            op = attn_op(lu(1, 8), q, kv, heads, kvh, hd, rng.choice(["bf16", "fp16"]), True)
        if B.dry:
            op["dtype"] = "fp32"
        cases.append(("attention", op))
    for _ in range(n_per_kind):
        kv = lu(1024, 131072 if not B.dry else 64)
        cases.append(("kv_retrieve", kvr_op(lu(1, 16), lu(1, 64), kv, rng.choice([4, 8]), 128,
                                            min(kv, lu(64, 4096)), "fp32" if B.dry else rng.choice(["bf16", "fp16"]))))
    for _ in range(n_per_kind):
        n = lu(256, 1 << 22 if not B.dry else 256)
        cases.append(("topk", topk_op(lu(1, max(1, (1 << 24) // n)), n, min(n, lu(1, 2048)),
                                      rng.choice(["fp32", "fp16"]))))
    for _ in range(n_per_kind):
        rb = rng.choice([32, 64, 128, 256, 512, 1024, 4096])
        tb = lu(2**16, 2**31 if not B.dry else 2**18) // rb * rb
        cases.append(("gather", gather_op(lu(256, min(2**21, 2**31 // rb)), rb, max(tb, rb))))
    for _ in range(n_per_kind):
        cases.append(("elementwise", ew_op(lu(2**8, 2**28 if not B.dry else 2**12), rng.choice([1, 2, 3]),
                                           1, rng.choice(["fp16", "bf16", "fp32"]))))
    for _ in range(n_per_kind // 2):
        cases.append(("copy", copy_op(lu(2**10, 2**32 if not B.dry else 2**16))))
    makers = {
        "gemm": lambda op: _gemm_fn(op["m"], op["k"], op["n"], op["dtype"], op["batch"], B.dev),
        "attention": lambda op: _attn_fn(*[op[k] for k in ("batch", "q_len", "kv_len", "heads", "kv_heads", "head_dim", "dtype", "causal")], B.dev),
        "kv_retrieve": lambda op: _kvr_fn(*[op[k] for k in ("batch", "queries", "kv_len", "kv_heads", "head_dim", "selected", "dtype")], B.dev),
        "hash_encode": lambda op: _hash_fn(op, B.dev)[0],
    }

    def mk_conv(op):
        torch.backends.cudnn.allow_tf32 = op["dtype"] == "tf32"
        tdt = TORCH_DT[op["dtype"]]
        x = randn((1, op["channels"], op["ifmap_h"], op["ifmap_w"]), tdt, B.dev).contiguous(memory_format=torch.channels_last)
        w = randn((op["num_filters"], op["channels"], op["filter_h"], op["filter_w"]), tdt, B.dev).contiguous(memory_format=torch.channels_last)
        return lambda: F.conv2d(x, w, stride=op["stride"])

    def mk_mlp(op):
        f, l = _mlp_fns(op["batch"], op["layers"], "fp16", B.dev)
        return f if op["fused"] else l

    def mk_topk(op):
        x = randn((op["rows"], op["n"]), TORCH_DT[op["dtype"]], B.dev)
        return lambda: torch.topk(x, op["k"], dim=-1)

    def mk_gather(op):
        rb = op["row_bytes"]
        n_rows = op["table_bytes"] // rb
        table = randn((n_rows, rb // 2), torch.float16, B.dev)
        idx = torch.randint(0, n_rows, (op["rows"],), device=B.dev)
        out = torch.empty((op["rows"], rb // 2), device=B.dev, dtype=torch.float16)
        return lambda: torch.index_select(table, 0, idx, out=out)

    def mk_ew(op):
        tdt = TORCH_DT[op["dtype"]]
        xs = [randn((op["n_elements"],), tdt, B.dev) for _ in range(op["n_inputs"])]
        y = torch.empty((op["n_elements"],), device=B.dev, dtype=tdt)
        if op["n_inputs"] == 1:
            return lambda: torch.mul(xs[0], 1.5, out=y)
        if op["n_inputs"] == 2:
            return lambda: torch.add(xs[0], xs[1], out=y)
        return lambda: torch.addcmul(xs[0], xs[1], xs[2], out=y)

    def mk_copy(op):
        x = torch.randint(0, 255, (op["bytes"],), dtype=torch.uint8, device=B.dev)
        y = torch.empty_like(x)
        return lambda: y.copy_(x)
    makers.update({"conv2d": mk_conv, "mlp": mk_mlp, "topk": mk_topk, "gather": mk_gather,
                   "elementwise": mk_ew, "copy": mk_copy})
    # Triton kernels last: an illegal address poisons the CUDA context for everything after
    cases.sort(key=lambda c: 1 if (c[0] == "mlp" and c[1]["fused"]) or c[0] == "hash_encode" else 0)
    kinds = set(B.args.random_kinds.split(","))
    for kind, op in cases:
        if B.over(deadline):
            return
        if kind not in kinds and not (kind == "mlp" and not op["fused"] and "mlp_unfused" in kinds):
            continue
        if kind == "elementwise" and op["n_inputs"] == 3:
            op["flops_per_element"] = 2.0
        impl = "random:" + kind
        B.record("random", op, lambda op=op, kind=kind: makers[kind](op), impl=impl)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _make_fn(B: Bench, op: dict):
    """The timed callable for any core op dict (same kernels as the sections above)."""
    k = op["op"]
    if k == "gemm":
        return _gemm_fn(op["m"], op["k"], op["n"], op["dtype"], op.get("batch", 1), B.dev)
    if k == "attention":
        return _attn_fn(*[op[x] for x in ("batch", "q_len", "kv_len", "heads", "kv_heads", "head_dim",
                                          "dtype", "causal")], B.dev)
    if k == "kv_retrieve":
        return _kvr_fn(*[op[x] for x in ("batch", "queries", "kv_len", "kv_heads", "head_dim",
                                         "selected", "dtype")], B.dev)
    if k == "hash_encode":
        return _hash_fn(op, B.dev)[0]
    if k == "mlp":
        f, l = _mlp_fns(op["batch"], op["layers"], op["dtype"], B.dev)
        return f if op["fused"] else l
    if k == "elementwise":
        tdt = TORCH_DT[op["dtype"]]
        xs = [randn((op["n_elements"],), tdt, B.dev) for _ in range(max(1, op["n_inputs"]))]
        y = torch.empty((op["n_elements"],), device=B.dev, dtype=tdt)
        if op["n_inputs"] <= 1:
            return lambda: torch.mul(xs[0], 1.5, out=y)
        if op["n_inputs"] == 2:
            return lambda: torch.add(xs[0], xs[1], out=y)
        return lambda: torch.addcmul(xs[0], xs[1], xs[2], out=y)
    if k == "copy":
        x = torch.randint(0, 255, (op["bytes"],), dtype=torch.uint8, device=B.dev)
        y = torch.empty_like(x)
        return lambda: y.copy_(x)
    raise ValueError(f"no kernel for op kind {k}")


def sec_workload(B: Bench, deadline):
    """The distinct core ops of archsim's shipped workloads (benchmarks/gpu/workload_ops.jsonl,
    from `archsim trace`): never used in fitting, a workload-shaped check of the model. Fused
    MLP batches are rounded up to 128 rows (the Triton kernel ran clean only there); each MLP is
    also timed layer by layer. Triton kernels last."""
    path = Path(B.args.ops_file)
    ops = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cases = []
    for op in ops:
        op = {k: v for k, v in op.items() if k != "repeat"}
        if op["op"] == "mlp":
            op["batch"] = -(-op["batch"] // 128) * 128
            cases.append(dict(op, fused=False))
            cases.append(dict(op, fused=True))
        else:
            cases.append(op)
    if B.dry:
        cases = [dict(c, **{"m": 32, "k": 32, "n": 32}) if c["op"] == "gemm" else c for c in cases
                 if c["op"] in ("gemm",)][:3]
    cases.sort(key=lambda c: 1 if c["op"] == "hash_encode" or (c["op"] == "mlp" and c["fused"]) else 0)
    kinds = set(B.args.workload_kinds.split(","))
    for op in cases:
        if op["op"] not in kinds:
            continue
        if B.over(deadline):
            return
        impl = "workload:" + op["op"] + (":fused" if op.get("fused") and op["op"] == "mlp" else "")
        B.record("workload", op, lambda op=op: _make_fn(B, op), impl=impl, reps=7)


# --------------------------------------------------------------------------------------------
# device info


def _smi(query):
    try:
        r = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                           capture_output=True, text=True, timeout=10)
        vals = [v.strip() for v in r.stdout.strip().split(",")]
        return dict(zip(query.split(","), vals)) if r.returncode == 0 else {"error": r.stderr.strip()[:300]}
    except Exception as exc:
        return {"error": str(exc)}


# nvidia-smi fields beyond the basic set (names vary by driver: asked one by one if the batch fails)
SMI_EXTRA = ("enforced.power.limit", "power.min_limit", "clocks.applications.graphics",
             "clocks.applications.memory", "clocks.default_applications.graphics",
             "clocks.max.graphics", "clocks_throttle_reasons.active", "clocks_event_reasons.active",
             "persistence_mode", "compute_mode", "ecc.mode.current", "vbios_version",
             "pci.bus_id", "memory.total", "power.draw", "mig.mode.current")


def _smi_fields(fields) -> dict:
    """nvidia-smi values of `fields`, all at once or, where one is unknown to this driver, one by
    one (unknown fields are left out)."""
    got = _smi(",".join(fields))
    if "error" not in got:
        return got
    out = {}
    for f in fields:
        one = _smi(f)
        if "error" not in one:
            out.update(one)
    return out


def nvml_info() -> dict:
    """Power limits and clocks as NVML reports them (pynvml / nvidia-ml-py, when installed)."""
    try:
        import pynvml as nv
        nv.nvmlInit()
        h = nv.nvmlDeviceGetHandleByIndex(0)
    except Exception as exc:
        return {"error": f"NVML not available: {exc}"[:200]}
    out = {}
    calls = {
        "name": lambda: nv.nvmlDeviceGetName(h),
        "driver_version": lambda: nv.nvmlSystemGetDriverVersion(),
        "power_limit_w": lambda: nv.nvmlDeviceGetPowerManagementLimit(h) / 1000.0,
        "enforced_power_limit_w": lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0,
        "default_power_limit_w": lambda: nv.nvmlDeviceGetPowerManagementDefaultLimit(h) / 1000.0,
        "power_limit_range_w": lambda: [v / 1000.0 for v in nv.nvmlDeviceGetPowerManagementLimitConstraints(h)],
        "max_sm_clock_mhz": lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM),
        "max_mem_clock_mhz": lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_MEM),
        "sm_clock_mhz": lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM),
        "mem_clock_mhz": lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM),
        "app_sm_clock_mhz": lambda: nv.nvmlDeviceGetApplicationsClock(h, nv.NVML_CLOCK_SM),
        "power_w": lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0,
        "temperature_c": lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
        "persistence_mode": lambda: nv.nvmlDeviceGetPersistenceMode(h),
    }
    for k, f in calls.items():
        try:
            v = f()
            out[k] = v.decode() if isinstance(v, bytes) else v
        except Exception:
            pass
    return out


def device_info(B: Bench) -> dict:
    info = {"date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "python": sys.version.split()[0],
            "torch": torch.__version__, "triton": getattr(triton, "__version__", None),
            "cuda": torch.version.cuda, "dry_run": B.dry,
            "script": "benchmarks/gpu/measure.py", "args": vars(B.args),
            "timing": ("CUDA events per repetition; warm-up then reps; L2 flushed by writing a "
                       "buffer of max(4 x L2, 256 MiB) before every rep unless variant == 'warm'; "
                       "random inputs")}
    try:
        info["git_rev"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True, timeout=5).stdout.strip()
    except Exception:
        pass
    if not B.dry:
        p = torch.cuda.get_device_properties(0)
        info["device"] = {"name": p.name, "sm_count": p.multi_processor_count,
                          "total_memory_bytes": p.total_memory,
                          "l2_cache_bytes": int(getattr(p, "L2_cache_size", 0) or 0),
                          "capability": f"{p.major}.{p.minor}"}
        for attr in ("shared_memory_per_block_optin", "shared_memory_per_multiprocessor",
                     "max_threads_per_multi_processor", "regs_per_multiprocessor", "clock_rate",
                     "memory_clock_rate", "memory_bus_width"):
            if hasattr(p, attr):
                info["device"][attr] = getattr(p, attr)
        info["smi"] = _smi("name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,"
                           "power.limit,power.default_limit,power.max_limit,temperature.gpu,pstate")
        info["smi_extra"] = _smi_fields(SMI_EXTRA)
        info["nvml"] = nvml_info()
        info["fp8_available"] = hasattr(torch, "float8_e4m3fn")
    return info


def _validate_ops(results):
    """Check every record's op parses as an archsim op (when archsim is importable)."""
    try:
        sys.path.insert(0, str(REPO))
        from archsim.workloads.ops import op_to_dict, parse_op
    except Exception as exc:
        return f"archsim not importable here: {exc}"
    bad = 0
    for i, r in enumerate(results):
        try:
            op = parse_op(dict(r["op"]), file="measure", key=f"results[{i}].op")
            r["op"] = op_to_dict(op)
        except Exception as exc:
            bad += 1
            r["op_error"] = str(exc)[:300]
    return f"{len(results) - bad} ops valid, {bad} invalid"


SECTIONS = ["launch", "gemm", "conv2d", "mlp", "hash_encode", "attention", "kv_retrieve", "topk",
            "gather", "elementwise", "copy", "power", "power_duty", "random", "workload"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: checks the script's logic")
    ap.add_argument("--budget-s", type=float, default=390.0, help="stop starting new kernels after this")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--power-s", type=float, default=7.0, help="seconds per sustained-power load")
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--random-per-kind", type=int, default=20, help="random-shape ops per kind")
    ap.add_argument("--gemm-dtypes", default="bf16,fp16,fp8,int8,tf32,fp32")
    ap.add_argument("--ops-file", default=str(REPO / "benchmarks" / "gpu" / "workload_ops.jsonl"),
                    help="JSONL of core ops for the 'workload' section")
    ap.add_argument("--workload-kinds", default="gemm,conv2d,mlp,hash_encode,attention,kv_retrieve,"
                    "topk,gather,elementwise,copy", help="op kinds of the workload section to run")
    ap.add_argument("--random-kinds", default="gemm,conv2d,mlp,hash_encode,attention,kv_retrieve,"
                    "topk,gather,elementwise,copy", help="kinds of the random family to run "
                    "(mlp_unfused: only the layer-by-layer MLPs)")
    args = ap.parse_args(argv)
    random.seed(0)
    torch.manual_seed(0)
    B = Bench(args)
    B.meta = device_info(B)
    B.save()
    sections = args.sections.split(",")
    # section deadlines (s since start): a section that overruns cannot starve the others
    plan = {"launch": 5, "gemm": 110, "conv2d": 130, "mlp": 165, "hash_encode": 195,
            "attention": 225, "kv_retrieve": 240, "topk": 255, "gather": 280, "elementwise": 305,
            "copy": 320}
    funcs = {"gemm": sec_gemm, "conv2d": sec_conv, "mlp": sec_mlp, "hash_encode": sec_hash,
             "attention": sec_attention, "kv_retrieve": sec_kvr, "topk": sec_topk,
             "gather": sec_gather, "elementwise": sec_elementwise, "copy": sec_copy}
    scale = args.budget_s / 390.0
    for name in SECTIONS:
        if name not in sections:
            continue
        t = B.elapsed()
        try:
            if name == "launch":
                sec_launch(B)
            elif name == "power":
                sec_power(B, args.power_s)
            elif name == "power_duty":
                sec_power_duty(B, args.power_s * 0.6)
            elif name == "random":
                sec_random(B, 345 * scale, args.random_per_kind)
            elif name == "workload":
                sec_workload(B, args.budget_s)
            else:
                funcs[name](B, plan[name] * scale)
        except Exception as exc:
            print(f"section {name} failed: {exc}")
            B.meta.setdefault("section_errors", {})[name] = traceback.format_exc()[-2000:]
        B.meta.setdefault("section_time_s", {})[name] = B.elapsed() - t
        B.save()
    B.meta["op_validation"] = _validate_ops(B.results)
    B.meta["smi_end"] = _smi("clocks.sm,clocks.mem,temperature.gpu,power.draw") if not B.dry else {}
    B.save()
    ok = sum(1 for r in B.results if "times_s" in r)
    print(f"done: {ok} of {len(B.results)} kernels timed in {B.elapsed():.0f} s; "
          f"{B.meta['op_validation']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
