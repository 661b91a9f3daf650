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
    notes = {"device_name": spec.device_name}
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
