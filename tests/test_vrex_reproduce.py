"""`archsim reproduce vrex` emits every required row (quick mode: small ReSV runs)."""
from __future__ import annotations

import itertools
import math

from archsim.studies import vrex as study

REQUIRED_PER_CASE = ("frame_latency_s", "fps", "tpot_s", "e2e_latency_s")
PER_BASELINE = ("speedup_frame", "speedup_tpot", "speedup_e2e", "energy_gain_frame", "energy_gain_text")


def test_reproduce_emits_all_required_rows(tmp_path):
    res = study.run(tmp_path, quick=True)
    rows = res.rows
    assert all(set(r) == {"study", "quantity", "unit", "value", "paper_value", "params"} for r in rows)
    assert all(r["value"] is not None and math.isfinite(r["value"]) for r in rows)
    have = {(r["quantity"], tuple(sorted(r["params"].items()))) for r in rows}

    def has(q, **p):
        return all((q, tuple(sorted({**p, "assumptions": a}.items()))) in have for a in study.ASSUMPTIONS)

    for system, cfg in study.SYSTEMS.items():
        for batch, L in itertools.product(cfg["batches"], study.KV_LENS):
            for q in REQUIRED_PER_CASE:
                assert has(q, system=system, batch=batch, kv_len=L), (q, system, batch, L)
            for b, q in itertools.product(study.BASELINES, PER_BASELINE):
                assert has(q, system=system, batch=batch, kv_len=L, baseline=b), (q, system, batch, L, b)
        assert has("system_power_w", system=system, kv_len=40000, batch=1)
        assert has("area_mm2", block="system", system=system)
    for v in ("gpu_resv", "kvpu", "all"):
        kw = dict(system="edge", batch=1, kv_len=40000, variant=v)
        assert has("ablation_speedup", baseline="flexgen", **kw) and has("ablation_energy_gain", baseline="flexgen", **kw)
        assert has("kv_prediction_share_pct", **kw)
    for b in ("dpe", "vpe", "lxe_sram", "hcu", "wtu", "kvmu", "core"):
        assert has("area_mm2", block=b) and has("power_w", block=b, system="edge", kv_len=40000, batch=1)
    assert has("dre_area_share_pct", block="core")
    assert has("dre_power_share_pct", block="core", system="edge", kv_len=40000, batch=1)
    assert has("roofline_utilization_pct", system="edge", batch=4, kv_len=40000)
    assert has("compute_busy_utilization_pct", system="edge", batch=4, kv_len=40000)
    for b in ("dpe", "vpe", "lxe_sram", "hcu", "wtu", "kvmu", "core"):
        assert has("full_activity_power_w", block=b)
    # a block's power at full activity is at least its average over the frame
    val = {(r["quantity"], r["params"].get("block"), r["params"]["assumptions"]): r["value"] for r in rows
           if r["params"].get("block")}
    for b in ("dpe", "vpe", "lxe_sram", "hcu", "wtu", "kvmu", "core"):
        assert val[("full_activity_power_w", b, "default")] >= val[("power_w", b, "default")]
    # paper anchors are paired
    anchors = [r for r in rows if r["quantity"] == "frame_latency_s" and r["paper_value"] is not None
               and r["params"]["assumptions"] == "default"]
    assert {r["params"]["kv_len"] for r in anchors} == set(study.KV_LENS)
    assert len(res.plots) == 4 and all((tmp_path / p.split("/")[-1]).is_file() for p in res.plots)
    # V-Rex is never slower than AGX + FlexGen at 40K (its whole point)
    sp = [r for r in rows if r["quantity"] == "speedup_frame" and r["params"]["kv_len"] == 40000]
    assert all(r["value"] > 1 for r in sp if r["params"]["baseline"] == "flexgen")
