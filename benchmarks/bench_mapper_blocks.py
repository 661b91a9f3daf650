"""The mapper of the NGPC's MLP engine and of V-Rex's LXE (issue 14): fixed vs searched, per op
and in total, and the whole run.

    python benchmarks/bench_mapper_blocks.py

1. NGPC: the MLPs of the neural-graphics frames (NeRF / Instant-NGP's density and color
   networks, NSDF, NVR, GIA; workloads/ng/*.toml) on the NGPC-8 preset
   (arch_configs/ngpc/ngpc-8.toml): each op with `mlp.mapping = "fixed"` and `"search"`
   (objective cycles, then energy). Also the what-if NGPC-8 with `mlp.dataflow = "os"`.
2. V-Rex: the GEMMs of the video-LLM frame step (workloads/video_llm/frame-40k-vrex.toml:
   vision tower, projector, the LLM's projections and FFNs, lm_head) on the V-Rex8 edge and
   V-Rex48 server presets, each distinct shape once, weighted by how often the frame runs it.
3. The whole run (`simulate`, what `archsim run` prints) of nerf_hashgrid_1080p on NGPC-8 and
   frame-40k-vrex on both V-Rex presets, fixed vs `--set <...>.mapping=search`.

Energy per op = its dynamic energy as the energy layer prices the block's actions (what the
Report's op `energy_j` is); the mapper's energy objective adds the arch's static power over the
op's latency. Nothing is tuned: the presets as shipped, the mapper's default candidates.
"""
from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NGPC8 = REPO / "arch_configs/ngpc/ngpc-8.toml"
VREX = {"vrex8-edge": REPO / "arch_configs/vrex/vrex8-edge.toml",
        "vrex48-server": REPO / "arch_configs/vrex/vrex48-server.toml"}
NG = sorted((REPO / "workloads/ng").glob("*.toml"))
FRAME = REPO / "workloads/video_llm/frame-40k-vrex.toml"


def _eval(arch, cname, op):
    from archsim.blocks.base import EvalContext
    from archsim.energy.model import OpPricer
    pricer = OpPricer(arch, cname)
    r = arch.component_module(cname).evaluate(arch.components[cname], op,
                                              EvalContext(arch=arch, component_name=cname, pricer=pricer))
    return r, pricer(r.actions)


def _row(label, f, fe, s, se, chosen):
    print(f"  {label:<34} {f.cycles:>13,} {s.cycles:>13,} {s.cycles / f.cycles:>6.3f}  "
          f"{fe * 1e3:>10.4f} {se * 1e3:>10.4f} {se / fe:>6.3f}  {chosen}")


def _header(what):
    print(f"  {what:<34} {'fixed cyc':>13} {'search cyc':>13} {'ratio':>6}  "
          f"{'fixed mJ':>10} {'search mJ':>10} {'ratio':>6}  chosen mapping")


def ngpc_section(base_overrides=(), title="NGPC-8"):
    from archsim import load_arch, load_workload
    for objective in ("cycles", "energy"):
        fixed = load_arch(NGPC8, overrides=list(base_overrides))
        search = load_arch(NGPC8, overrides=[*base_overrides, "components.ngpc.mlp.mapping=search",
                                             f"components.ngpc.mlp.mapping_objective={objective}"])
        print(f"\n{title}, MLP engine, objective {objective}"
              + (f" ({', '.join(base_overrides)})" if base_overrides else ""))
        _header("workload / op (layers)")
        tot = [0, 0, 0.0, 0.0]
        t_search = 0.0
        for wl in NG:
            w = load_workload(wl)
            for op in (o for o in w.ops if o.KIND == "mlp"):
                f, fe = _eval(fixed, "ngpc", op)
                t0 = time.perf_counter()
                s, se = _eval(search, "ngpc", op)
                t_search += time.perf_counter() - t0
                d = s.details
                chosen = f"{d['dataflow']}{'-t' if d['transposed'] else ''} mb {d['micro_batch']}"
                _row(f"{wl.stem}:{op.name} {list(op.layers)}", f, fe, s, se, chosen)
                tot = [tot[0] + f.cycles, tot[1] + s.cycles, tot[2] + fe, tot[3] + se]
        print(f"  {'total':<34} {tot[0]:>13,} {tot[1]:>13,} {tot[1] / tot[0]:>6.3f}  "
              f"{tot[2] * 1e3:>10.4f} {tot[3] * 1e3:>10.4f} {tot[3] / tot[2]:>6.3f}  "
              f"(mapper {t_search * 1e3:.0f} ms in all)")


def vrex_section():
    from archsim import load_arch, load_workload
    w = load_workload(FRAME)
    shapes = Counter()
    first = {}
    for op in w.ops:
        if op.KIND == "gemm":
            key = (op.batch, op.m, op.k, op.n)
            shapes[key] += op.repeat
            first.setdefault(key, op)
    for name, path in VREX.items():
        for objective in ("cycles", "energy"):
            fixed = load_arch(path)
            search = load_arch(path, overrides=["components.vrex.lxe.mapping=search",
                                                f"components.vrex.lxe.mapping_objective={objective}"])
            print(f"\n{name}, LXE GEMMs of {FRAME.stem} (count = times per frame), objective {objective}")
            _header("stage x count (batch, m, k, n)")
            tot = [0, 0, 0.0, 0.0]
            t_search = 0.0
            overflow = 0
            for key, count in shapes.items():
                op = first[key]
                f, fe = _eval(fixed, "vrex", op)
                t0 = time.perf_counter()
                s, se = _eval(search, "vrex", op)
                t_search += time.perf_counter() - t0
                d = s.details
                overflow += count * (not f.details["fits_sram"])
                chosen = (f"{'A' if d['loop_order'] == 'a_stationary' else 'B'}-stat {d['core_split']} "
                          f"C {d['m_blocks']}x{d['n_blocks']}"
                          + ("" if d["fixed_fits_sram"] else " (fixed overflows)"))
                stage = op.name.split(".")[1] if "." in op.name else op.name
                _row(f"{stage} x{count} {key}", f, fe, s, se, chosen)
                tot = [tot[0] + count * f.cycles, tot[1] + count * s.cycles, tot[2] + count * fe,
                       tot[3] + count * se]
            print(f"  {'total (x count)':<34} {tot[0]:>13,} {tot[1]:>13,} {tot[1] / tot[0]:>6.3f}  "
                  f"{tot[2] * 1e3:>10.4f} {tot[3] * 1e3:>10.4f} {tot[3] / tot[2]:>6.3f}  "
                  f"(mapper {t_search * 1e3:.0f} ms; fixed mapping overflows the accumulators "
                  f"in {overflow} GEMMs)")


def whole_runs():
    from archsim import load_arch, load_workload, simulate
    nerf = REPO / "workloads/ng/nerf_hashgrid_1080p.toml"
    cases = [("ngpc-8", NGPC8, nerf, "components.ngpc.mlp", []),
             ("ngpc-8 mlp.dataflow=os", NGPC8, nerf, "components.ngpc.mlp", ["components.ngpc.mlp.dataflow=os"]),
             *((n, p, FRAME, "components.vrex.lxe", []) for n, p in VREX.items())]
    print("\nWhole runs (simulate, as `archsim run`): latency (makespan) and energy")
    print(f"  {'arch / workload':<48} {'mapping':<16} {'latency s':>12} {'energy J':>12}")
    for name, arch_path, wl_path, key, base in cases:
        w = load_workload(wl_path)
        for label, over in (("fixed", []), ("search cycles", [f"{key}.mapping=search"]),
                            ("search energy", [f"{key}.mapping=search", f"{key}.mapping_objective=energy"])):
            rep = simulate(load_arch(arch_path, overrides=[*base, *over]), w)
            print(f"  {name + ' / ' + wl_path.stem:<48} {label:<16} {rep.latency_s:>12.6g} {rep.energy_j:>12.6g}")


def main() -> int:
    warnings.simplefilter("ignore")
    ngpc_section()
    ngpc_section(("components.ngpc.mlp.dataflow=os",), title="NGPC-8 what-if")
    vrex_section()
    whole_runs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
