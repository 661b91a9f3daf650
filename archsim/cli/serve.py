"""archsim serve ARCH MODEL: throughput vs TTFT / TPOT over batch for every split of the
arch's devices (archsim.studies.serving), the best split for a latency target, plots."""
from __future__ import annotations

import json
import sys


def add_parser(sub):
    p = sub.add_parser("serve", help="serving view: throughput vs TTFT/TPOT per split (TP x PP x EP), "
                                     "best split for a latency target, energy per token")
    p.add_argument("arch", help="an arch TOML (a multi-device preset: arch_configs/multi/)")
    p.add_argument("model", help="a config.json or a name under workloads/llm/ (e.g. llama-3-70b)")
    p.add_argument("--devices", type=int, help="devices to split over (default: the arch's system.devices)")
    p.add_argument("--prompt", type=int, default=1024, help="prompt tokens (default 1024)")
    p.add_argument("--output", type=int, default=256, help="output tokens per request (default 256)")
    p.add_argument("--batches", default="1,4,16,64,256", help="decode batch sizes (comma-separated)")
    p.add_argument("--split", action="append", default=[], metavar="TP,PP,EP",
                   help="only these splits (repeatable); default: every TP x PP x EP (x replicas) of the devices")
    p.add_argument("--overlap", action="store_true", help="two micro-batches per decode step (all-reduce overlap)")
    p.add_argument("--tpot-ms", type=float, help="latency target: TPOT")
    p.add_argument("--ttft-ms", type=float, help="latency target: TTFT")
    p.add_argument("--hybrid-moe", action="store_true",
                   help="instead: the CPU-GPU hybrid MoE bound (MoE-Lens) on one device of the arch, per batch")
    p.add_argument("--host-memory-gb-s", type=float, default=307.2, help="--hybrid-moe: host memory bandwidth")
    p.add_argument("--cpu-tflops", type=float, default=4.0, help="--hybrid-moe: CPU bf16 TFLOP/s")
    p.add_argument("--pcie-gb-s", type=float, default=63.0, help="--hybrid-moe: PCIe per direction")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="arch overrides")
    p.add_argument("--json", metavar="FILE", help="write the rows as JSON ('-' for stdout)")
    p.add_argument("--plot", metavar="DIR", help="write the frontier, breakdown and memory plots here")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.errors import ConfigError
    from archsim.studies.serving import best_split, serve

    try:
        batches = tuple(int(x) for x in args.batches.split(",") if x.strip())
        splits = []
        for s in args.split:
            tp, pp, ep = (int(x) for x in s.split(","))
            splits.append((tp, pp, ep, 1))
    except ValueError:
        raise ConfigError("<command line>", "--batches/--split", "comma-separated integers, e.g. 1,4,16 and 2,1,1") from None
    if args.hybrid_moe:
        return _hybrid(args, batches)
    rows = serve(args.arch, args.model, devices=args.devices, prompt_tokens=args.prompt,
                 output_tokens=args.output, batches=batches, splits=splits or None, overlap=args.overlap,
                 overrides=args.overrides or None)
    if args.json:
        text = json.dumps(rows, indent=1)
        if args.json == "-":
            print(text)
            return 0
        with open(args.json, "w") as f:
            f.write(text + "\n")
    t = Table(title=f"serving {args.model} on {args.arch} (prompt {args.prompt}, output {args.output})")
    for c in ("split", "batch", "TTFT ms", "TPOT ms", "tokens/s", "J/token", "compute ms", "comm ms",
              "exposed ms", "mem/dev GB"):
        t.add_column(c, justify="right", no_wrap=True)
    for r in rows:
        t.add_row(r["split"], str(r["batch"]), f"{r['ttft_s'] * 1e3:.1f}", f"{r['tpot_s'] * 1e3:.2f}",
                  f"{r['tokens_per_s']:.0f}", f"{r['energy_per_token_j']:.3f}", f"{r['compute_s'] * 1e3:.2f}",
                  f"{r['communication_s'] * 1e3:.2f}", f"{r['exposed_communication_s'] * 1e3:.2f}",
                  f"{r['memory_per_device_bytes'] / 1e9:.1f}")
    console = Console(width=max(140, Console().width))
    console.print(t)
    best = best_split(rows, tpot_s=args.tpot_ms / 1e3 if args.tpot_ms else None,
                      ttft_s=args.ttft_ms / 1e3 if args.ttft_ms else None)
    if best is None:
        console.print("no split and batch meets the latency target")
    else:
        console.print(f"best: {best['split']} at batch {best['batch']}: {best['tokens_per_s']:.0f} tokens/s, "
                      f"TTFT {best['ttft_s'] * 1e3:.1f} ms, TPOT {best['tpot_s'] * 1e3:.2f} ms, "
                      f"{best['energy_per_token_j']:.3f} J/token")
    if args.plot:
        from archsim.report.serving_plots import plot_serving
        for p in plot_serving(rows, args.plot):
            print(p, file=sys.stderr)
    return 0


def _hybrid(args, batches) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.config.arch import load_arch
    from archsim.errors import ConfigError
    from archsim.studies.serving import HostSide, hybrid_moe_bound

    arch = load_arch(args.arch, args.overrides or None)
    dev = next((s for s in arch.components.values() if hasattr(s, "dram_bandwidth_gb_s")), None)
    if dev is None:
        raise ConfigError(args.arch, "components", "--hybrid-moe needs a GPU component (dram_bandwidth_gb_s)")
    host = HostSide(memory_bandwidth_gb_s=args.host_memory_gb_s, cpu_tflops=args.cpu_tflops, pcie_gb_s=args.pcie_gb_s)
    rows = [hybrid_moe_bound(args.model, gpu_capacity_bytes=dev.dram_capacity_gib * 2**30,
                             gpu_hbm_gb_s=dev.dram_bandwidth_gb_s, batch=b, context=args.prompt, host=host)
            for b in batches]
    if args.json:
        with open(args.json, "w") as f:
            f.write(json.dumps(rows, indent=1) + "\n")
    t = Table(title=f"CPU-GPU hybrid MoE bound: {args.model} on one device of {args.arch}")
    for c in ("batch", "resident experts", "GPU ms", "CPU ms", "PCIe ms", "step ms", "limit", "tokens/s bound"):
        t.add_column(c, justify="right", no_wrap=True)
    for r in rows:
        t.add_row(str(r["batch"]), f"{r['resident_expert_fraction']:.0%}", f"{r['gpu_s'] * 1e3:.2f}",
                  f"{r['cpu_s'] * 1e3:.2f}", f"{r['pcie_s'] * 1e3:.2f}", f"{r['step_s'] * 1e3:.2f}", r["limit"],
                  f"{r['tokens_per_s_bound']:.1f}")
    Console(width=140).print(t)
    return 0
