"""`archsim roofline ARCH WORKLOAD`: simulate, then the roofline table of every op
(archsim.report.roofline); for `transformer` workloads also LLM-Viewer's per-layer table
(archsim.workloads.llm.viewer) at the device's peak rates."""
from __future__ import annotations

from archsim.errors import ConfigError
from archsim.memory_plan import plan_memory
from archsim.report.roofline import roofline_rows
from archsim.simulate import pick_component, simulate
from archsim.units import DTYPE_BYTES
from archsim.workloads.llm.config import load_config
from archsim.workloads.llm.ops import WEIGHT_BYTES, Linear
from archsim.workloads.llm.viewer import llm_viewer_table


def roofline(arch, workload):
    """(Report, rows)."""
    report = simulate(arch, workload)
    arch2, planned, _ = plan_memory(arch, workload, pick_component)
    return report, roofline_rows(arch2, planned.ops, report)


def llm_viewer(arch, workload, *, peak_ops_s: float | None = None, bandwidth_bytes_s: float | None = None) -> dict:
    """LLM-Viewer's table for the workload's model, batch and context (seqlen), at the arch's
    peak rates for the workload's dtype on the component that runs the projections (or the
    rates given)."""
    llm = workload.meta.get("llm")
    if not llm:
        raise ConfigError(workload.source, "generator", "--llm-viewer needs a transformer workload")
    cfg = load_config(llm["config_path"])
    probe = Linear(tokens=1, in_features=1, out_features=1, dtype=llm["dtype"])
    comp = pick_component(arch, probe)
    mod = arch.component_module(comp)
    peak, bw = mod.roofline_peaks(arch.components[comp], probe)
    peak = peak_ops_s or peak
    bw = bandwidth_bytes_s or bw
    table = llm_viewer_table(cfg, seqlen=llm["context"], batch=llm["batch"], bandwidth_bytes_s=bw, peak_ops_s=peak,
                             w_bit=int(WEIGHT_BYTES[llm["weight_dtype"]] * 8), a_bit=DTYPE_BYTES[llm["dtype"]] * 8,
                             kv_bit=DTYPE_BYTES[llm["kv_dtype"]] * 8)
    table["hardware"] = {"component": comp, "peak_ops_s": peak, "bandwidth_bytes_s": bw}
    table["model"] = cfg.name
    return table
