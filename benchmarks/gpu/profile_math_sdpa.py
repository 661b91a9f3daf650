"""The kernels PyTorch's math SDPA path launches, with their device times (torch.profiler), for
a decode and a prefill shape, GQA native (enable_gqa) and K/V expanded beforehand: the kernel
sequence archsim's `_math_attention` (archsim/blocks/gpu/model.py) models.

    python3 benchmarks/gpu/profile_math_sdpa.py --out $OUT/math-sdpa.json
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
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    dev = torch.device("cuda")
    cases = [  # batch, q_len, kv_len, heads, kv_heads, head_dim, causal
        (1, 1, 4096, 32, 8, 128, False), (4, 1, 16384, 32, 8, 128, False),
        (1, 2048, 2048, 32, 8, 128, True), (1, 4096, 4096, 32, 8, 128, True)]
    out = {"meta": {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "gpu": torch.cuda.get_device_properties(0).name, "torch": torch.__version__,
                    "timing": "torch.profiler CUDA kernel events of one call after 3 warm-up calls "
                              "(L2 warm; device time per kernel)"},
           "results": []}
    for b, q, s, h, hk, d, causal in cases:
        for variant in ("gqa_native", "gqa_expanded"):
            qq = torch.randn(b, h, q, d, device=dev, dtype=torch.bfloat16)
            k = torch.randn(b, hk, s, d, device=dev, dtype=torch.bfloat16)
            v = torch.randn(b, hk, s, d, device=dev, dtype=torch.bfloat16)
            if variant == "gqa_expanded":
                k, v = k.repeat_interleave(h // hk, 1), v.repeat_interleave(h // hk, 1)

            def fn():
                return F.scaled_dot_product_attention(qq, k, v, is_causal=causal,
                                                      enable_gqa=variant == "gqa_native")
            with sdpa_kernel([SDPBackend.MATH]):
                for _ in range(3):
                    fn()
                torch.cuda.synchronize()
                with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                    fn()
                    torch.cuda.synchronize()
            ks = [{"name": e.name, "device_time_us": e.device_time}
                  for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            rec = {"batch": b, "q_len": q, "kv_len": s, "heads": h, "kv_heads": hk, "head_dim": d,
                   "causal": causal, "variant": variant, "kernels": ks,
                   "total_us": sum(x["device_time_us"] for x in ks)}
            out["results"].append(rec)
            print(f"b{b} q{q} kv{s} h{h}/{hk} causal={causal} {variant}: {len(ks)} kernels, "
                  f"{rec['total_us']:.1f} us", flush=True)
            for x in ks:
                print(f"    {x['device_time_us']:10.1f} us  {x['name'][:110]}", flush=True)
            qq = k = v = None             # free before the next case
            torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
