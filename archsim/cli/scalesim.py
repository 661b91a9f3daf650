"""archsim scalesim -c FILE.cfg -t TOPOLOGY.csv [--out DIR] [--gemm|--conv]

SCALE-Sim 3.0.0 compatibility mode: SCALE-Sim's own config and topology files in, its
COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv out (same columns,
same numbers, SCALE-Sim's quirks included; see archsim/scalesim_compat/kernels.py).
"""
from __future__ import annotations

import time
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("scalesim", help="SCALE-Sim 3.0.0 compatibility: .cfg + topology in, its reports out")
    p.add_argument("-c", "--config", required=True, metavar="FILE.cfg", help="SCALE-Sim config file")
    p.add_argument("-t", "--topology", required=True, metavar="TOPOLOGY.csv",
                   help="SCALE-Sim topology (conv rows, or GEMM rows 'name, M, N, K,')")
    p.add_argument("--out", metavar="DIR", help="output folder (default: results/scalesim-<run_name>)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--gemm", dest="gemm", action="store_const", const=True, default=None,
                     help="topology rows are GEMMs 'name, M, N, K' (default: from the header)")
    fmt.add_argument("--conv", dest="gemm", action="store_const", const=False,
                     help="topology rows are conv layers (default: from the header)")
    p.set_defaults(func=cmd_scalesim)


def cmd_scalesim(args) -> int:
    from archsim.io_safe import check_out_dir, safe_name
    from archsim.scalesim_compat import parse_config, run_scalesim, write_reports
    cfg = parse_config(args.config)
    # run_name comes from the .cfg file: it names a folder only after sanitising ('../..' and
    # path separators cannot leave results/)
    out = Path(args.out) if args.out else Path("results") / f"scalesim-{safe_name(cfg.run_name, default='run')}"
    check_out_dir(out, flag="--out")
    t0 = time.perf_counter()
    reports = run_scalesim(args.config, args.topology, gemm=args.gemm)
    wall_s = time.perf_counter() - t0
    write_reports(reports, out)
    from archsim.cli.text import plain
    print(f"{plain(cfg.run_name)}: {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()} {cfg.mode}, "
          f"{len(reports)} layer(s), {wall_s:.3f} s")
    print(f"{'layer':>5} {'name':<16} {'total cycles':>13} {'stall':>10} {'util %':>8} "
          f"{'map eff %':>9} {'DRAM ifmap':>11} {'DRAM filter':>11} {'DRAM ofmap':>11}")
    for r in reports:
        print(f"{r.layer_id:>5} {plain(r.name)[:16]:<16} {r.total_cycles:>13} {r.stall_cycles:>10} "
              f"{r.overall_util_pct:>8.2f} {r.mapping_efficiency_pct:>9.2f} {r.dram_ifmap_reads:>11} "
              f"{r.dram_filter_reads:>11} {r.dram_ofmap_writes:>11}")
    print(f"total cycles {sum(r.total_cycles for r in reports)}, stall {sum(r.stall_cycles for r in reports)}; "
          f"reports in {out}/")
    return 0
