"""K/V head expansion kernels on the GPU (issue 11 follow-up): what `repeat_interleave` along the
head dimension costs by itself, against a plain copy of the same output, so the GPU model's
`kernels.gqa = "expand_per_call"` can be modelled from these kernels and checked against the
attention records (h100-2026-12-07-run-*.json, section attn_impl) it was not fitted to.

Per shape [B, Hk, S, D] (bf16) and group g = H / Hk:
  repeat_interleave   k.repeat_interleave(g, 1)                 (what measure_llm's per-call path runs)
  index_select        torch.index_select(k, 1, idx)            (idx = arange(H) // g, prebuilt)
  expand_reshape      k[:, :, None].expand(B, Hk, g, S, D).reshape(B, H, S, D)   (HF repeat_kv)
  copy                out.copy_(src) with src, out of the expanded size (the bandwidth reference)
Device time by triton.testing.do_bench (L2 flushed between calls, median of its reps), and the
kernels each call launches (torch.profiler, one call).

    python3 benchmarks/gpu/measure_repeat_kv.py --out $OUT/repeat-kv.json
"""
from __future__ import annotations

import argparse
import json
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import torch
    import triton
    from triton.testing import do_bench
    dev = torch.device("cuda")
    p = torch.cuda.get_device_properties(0)
    meta = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "gpu": p.name,
            "torch": torch.__version__, "triton": triton.__version__,
            "timing": "triton.testing.do_bench (L2 flushed between calls), median ms -> s"}
    shapes = []
    for b, hk, h, s in [(1, 8, 32, 1024), (1, 8, 32, 4096), (1, 8, 32, 16384), (1, 8, 32, 32768),
                        (4, 8, 32, 4096), (4, 8, 32, 16384), (16, 8, 32, 4096), (16, 8, 32, 16384),
                        (1, 8, 64, 4096), (1, 8, 64, 32768), (4, 8, 64, 16384), (1, 4, 28, 8192),
                        (8, 4, 28, 4096), (1, 1, 8, 32768), (32, 1, 8, 4096)]:
        shapes.append((b, hk, h, s, 128))
    results = []
    for b, hk, h, s, d in shapes:
        g = h // hk
        k = torch.randn(b, hk, s, d, device=dev, dtype=torch.bfloat16)
        idx = torch.arange(h, device=dev) // g
        src = torch.randn(b, h, s, d, device=dev, dtype=torch.bfloat16)
        out = torch.empty_like(src)
        fns = {
            "repeat_interleave": lambda: k.repeat_interleave(g, 1),
            "index_select": lambda: torch.index_select(k, 1, idx),
            "expand_reshape": lambda: k[:, :, None].expand(b, hk, g, s, d).reshape(b, h, s, d),
            "copy": lambda: out.copy_(src),
        }
        for name, fn in fns.items():
            fn()
            torch.cuda.synchronize()
            ms = do_bench(fn, warmup=10, rep=50, return_mode="median")
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
            kernels = [e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            rec = {"op": name, "batch": b, "kv_heads": hk, "heads": h, "seq": s, "head_dim": d,
                   "dtype": "bf16", "in_bytes": b * hk * s * d * 2, "out_bytes": b * h * s * d * 2,
                   "time_s": ms * 1e-3, "kernels": kernels}
            results.append(rec)
            print(f"{name:18s} b{b} hk{hk} h{h} s{s}: {ms * 1e3:9.1f} us  "
                  f"{(rec['in_bytes'] + rec['out_bytes']) / (ms * 1e-3) / 1e12:5.2f} TB/s  {len(kernels)} kernels",
                  flush=True)
        k = src = out = None          # free before the next shape
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
