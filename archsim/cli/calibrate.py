"""archsim calibrate gpu MEASUREMENTS.json ... --preset h200: fit the GPU model's efficiency
and energy parameters to measured kernels and write them, with their provenance and error
bands, into the preset's calibration fragment (arch_configs/gpu/calibration/<preset>.part)."""
from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

from archsim.errors import ConfigError
from archsim.resources import shipped_root

REPO = shipped_root()          # holds arch_configs/ (the checkout, or the wheel's copy)
MAX_RESTARTS = 50


def add_parser(sub):
    p = sub.add_parser("calibrate", help="fit a block model to measurements (gpu)")
    p.add_argument("block", choices=["gpu"], help="which model to calibrate")
    p.add_argument("measurements", nargs="+", metavar="MEASUREMENTS.json",
                   help="benchmarks/gpu/measure.py output files")
    p.add_argument("--preset", required=True,
                   help="GPU preset name under arch_configs/gpu/ (h200) or a preset TOML path")
    p.add_argument("--out", metavar="FILE", help="calibration fragment to write (default: the "
                   "preset's extends target under calibration/)")
    p.add_argument("--restarts", type=int, default=3, help="Nelder-Mead restarts per stage")
    p.add_argument("--split", choices=["every4th", "family"], default="every4th",
                   help="held-out kernels: every 4th distinct op per kind (default), or the whole "
                        "random-shape family plus every 4th grid op (stricter)")
    p.add_argument("--json", metavar="FILE", help="also write the per-kernel residuals as JSON")
    p.set_defaults(func=cmd_calibrate)


def resolve_preset(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml" and p.is_file():
        return p
    q = REPO / "arch_configs" / "gpu" / f"{name}.toml"
    if q.is_file():
        return q
    raise ConfigError("--preset", "preset", f"no preset {name!r}: give a name under "
                      f"{REPO / 'arch_configs' / 'gpu'} or a path to a preset TOML")


def _extends(preset: Path) -> list[str]:
    from archsim.config.load import read_toml
    ext = read_toml(preset).get("extends")
    return [ext] if isinstance(ext, str) else list(ext or [])


def default_out(preset: Path, device_name: str = "") -> Path:
    """calibration/<gpu>.part beside the fragment the preset extends (h200.part for the H200,
    h100.part for the H100): calibrating one GPU never overwrites another GPU's fit."""
    from archsim.blocks.gpu.calibrate import fragment_path
    return fragment_path(preset, _extends(preset), device_name)


HEADER = """# A TOML fragment (not an arch on its own, hence not *.toml): the [components.gpu] tables
# that every GPU preset inherits through `extends`. Written by
#   archsim calibrate gpu {files} --preset {preset}
# on {date}; do not edit by hand (re-run the command). The efficiencies fitted on the measured
# {device} carry over to GPUs nobody here can measure by the rules in docs/gpu.md; other
# presets scale the on-chip energies by their energy.onchip_scale and set their own DRAM pJ/B.
"""


def cmd_calibrate(args) -> int:
    from archsim.config.arch import load_arch
    from archsim.blocks.gpu import calibrate as C
    from archsim.blocks.gpu.tomlw import dumps

    from archsim.io_safe import atomic_write_text, check_out_file, json_text
    if not 1 <= args.restarts <= MAX_RESTARTS:
        raise ConfigError("--restarts", "restarts", f"expected an integer from 1 to {MAX_RESTARTS} "
                          f"(each restart is a full Nelder-Mead run per stage), got {args.restarts}")
    preset = resolve_preset(args.preset)
    arch = load_arch(preset)
    gpus = [n for n, k in arch.component_kinds.items() if k == "gpu"]
    if len(gpus) != 1:
        raise ConfigError(preset, "components", "a GPU preset has exactly one component of kind gpu")
    # start from the model's priors, not from an earlier fit, so the result depends only on
    # the measurements (deterministic)
    import attrs as _attrs
    from archsim.blocks.gpu.spec import GpuEfficiency, Spec
    spec = _attrs.evolve(arch.components[gpus[0]], efficiency=GpuEfficiency(),
                         launch_overhead_us=_attrs.fields(Spec).launch_overhead_us.default)
    files = [Path(f) for f in args.measurements]
    measured_on = C.check_device(spec, files)
    # destinations before the fit (a fit takes tens of seconds; its result must not be lost)
    out = Path(args.out) if args.out else default_out(preset, spec.device_name)
    check_out_file(out, flag="--out")
    if args.json:
        check_out_file(args.json, flag="--json")
    records = C.load_records(files, args.split)
    if not records:
        raise ConfigError(files[0], "results", "no timed, L2-cold records to fit")
    print(f"archsim calibrate: {len(records)} kernels "
          f"({sum(not r.heldout for r in records)} fitted, {sum(r.heldout for r in records)} held out)",
          file=sys.stderr)
    res = C.fit(spec, records, restarts=args.restarts)
    fitted, energy_report = C.fit_energy(res.spec, files)
    rows = C.residuals(fitted, records)
    date = _dt.date.today().isoformat()
    rel = []
    for f in files:
        try:
            rel.append(str(f.resolve().relative_to(REPO)))
        except ValueError:
            rel.append(str(f))
    tables = C.calibration_tables(fitted, res, rows, energy_report, [Path(r) for r in rel], date,
                                  args.split, measured_on)
    tables["components"]["gpu"]["calibration"]["data"] = ", ".join(rel)
    try:
        body = dumps(tables)
    except (ValueError, TypeError) as exc:     # a NaN / inf parameter: the fit failed
        from archsim.errors import ModelError
        raise ModelError(f"the fit produced an unwritable value ({exc}); nothing was written. "
                         "Check the measurements (times, energies) for outliers") from None
    text = HEADER.format(files=" ".join(rel), preset=args.preset, date=date,
                         device=fitted.device_name) + "\n" + body
    atomic_write_text(out, text, flag="--out")
    s = C.summary(rows)
    for part in ("fit", "heldout", "workload"):
        st = s[part]
        if not st["n"]:
            continue
        print(f"{part:8s} n={st['n']:4d}  median |error| {100 * st['median_abs_error']:5.1f} %  "
              f"p90 |error| {100 * st['p90_abs_error']:5.1f} %")
    for kind, st in s["per_kind"].items():
        f, h = st["fit"], st["heldout"]
        fm = f"{100 * f['median_abs_error']:5.1f}" if f["n"] else "    -"
        hm = f"{100 * h['median_abs_error']:5.1f}" if h["n"] else "    -"
        print(f"  {kind:12s} fit n={f['n']:3d} median {fm} %   held-out n={h['n']:3d} median {hm} %")
    print(f"wrote {out}")
    extended = [(preset.parent / e).resolve() for e in _extends(preset) if str(e).endswith(".part")]
    if extended and out.resolve() not in extended:
        where = f"calibration/{out.name}" if out.resolve().parent == extended[0].parent else str(out)
        print(f"note: preset {args.preset} extends {extended[0].name}, not {out.name}: point its "
              f"`extends` at {where} to use this fit", file=sys.stderr)
    if "skipped" in energy_report:
        print(f"note: energy not fitted ({energy_report['skipped']}); the fragment keeps the "
              "preset's prior energy coefficients", file=sys.stderr)
    if args.json:
        atomic_write_text(args.json, json_text(
            [{**{k: v for k, v in r.items() if k != "op"}, "op": _op_dict(r["op"])} for r in rows],
            indent=1), flag="--json")
    return 0


def _op_dict(op):
    from archsim.workloads.ops import op_to_dict
    return op_to_dict(op)
