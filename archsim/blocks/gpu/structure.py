"""What the GPU baseline's area and static power are priced from: its own published figures
(die area, idle power), not the tech tables."""
from __future__ import annotations

from archsim.blocks.base import DramInterface, Structure
from archsim.blocks.gpu.spec import KIND, Spec


def structure(spec: Spec) -> Structure:
    return Structure(
        name="gpu", kind=KIND, clock_ghz=spec.boost_clock_ghz,
        dram=DramInterface(technology=spec.dram_technology, bandwidth_gb_s=spec.dram_bandwidth_gb_s,
                           capacity_gib=0.0),
        fixed_area_mm2=spec.die_area_mm2, fixed_leakage_power_w=spec.idle_power_w,
        fixed_full_activity_power_w=spec.tdp_w,
        notes=_provenance(spec))


def _provenance(spec: Spec) -> dict:
    """What the Report's provenance says about this GPU: every spec number's source and what
    the efficiencies were fitted to."""
    c = spec.calibration
    k, pc = spec.kernels, spec.power_cap
    notes = {"device_name": spec.device_name,
             "kernels": (f"attention: {k.attention} (SDPA default = what the calibration measured; rate x"
                         f"{k.attn_impl_rate.get(k.attention, 1.0):g} of it)" if k.attention != "math" else
                         "attention: SDPA math path (QK^T, softmax, PV kernels through DRAM)")
                        + f", GQA {k.gqa}; launch: {k.launch}"
                        + (" (host dispatch floor on multi-kernel ops)" if k.launch == "eager" else
                           f" ({k.graph_launch_overhead_us:g} us per replayed kernel)"),
             "power_cap": (f"{pc.mode}: " + ("each op at the SM clock the "
                           f"{spec.tdp_w:g} W cap allows for its activity (V(f) = {pc.voltage_floor_fraction:g} + "
                           f"{1 - pc.voltage_floor_fraction:g} f/f_boost), energy priced at that clock"
                           if pc.mode == "sustained" else "boost clock, energy capped at TDP x time")),
             "timing": "kernel times are device times (CUDA events, L2 flushed, dispatch hidden: "
                       "triton.testing.do_bench style) at the boost clock; sustained mode stretches them"}
    notes.update({f"source.{k}": v for k, v in spec.sources.items()})
    if c.device:
        def pct(x):
            return "-" if x is None else f"{100 * x:.1f} %"
        notes["calibration"] = (
            f"efficiencies fitted on {c.device} ({c.date}) to {c.data} by {c.method}; "
            f"{c.n_fit} kernels fitted, {c.n_heldout} held out ({c.split}); held-out |error| "
            f"median {pct(c.median_abs_error_heldout)}, p90 {pct(c.p90_abs_error_heldout)}"
            + ("" if c.device == spec.device_name else
               f"; carried over to {spec.device_name} by the rules in docs/gpu.md, error bands "
               f"x{spec.transfer_band_factor}"))
    else:
        notes["calibration"] = "uncalibrated: the model's priors"
    return notes
