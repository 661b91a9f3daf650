"""archsim validate-model (the CI subset, `--quick`): every group runs, SCALE-Sim parity is exact,
the GPU's sustained-power checks hold, and no check regressed against the committed baseline
tests/data/fidelity_quick.json (regenerate it on purpose, with the reason in the commit:
`archsim validate-model --quick --write-baseline tests/data/fidelity_quick.json`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsim.studies import fidelity as F

BASELINE = Path(__file__).parent / "data" / "fidelity_quick.json"


@pytest.fixture(scope="module")
def checks():
    return F.run(quick=True)


def test_every_group_is_checked(checks):
    groups = {c.group.split(".")[0] for c in checks}
    assert groups == {"systolic", "gpu", "ngpc", "vrex", "published"}
    assert all(c.reference != 0 or c.archsim == 0 for c in checks)


def test_scalesim_parity_is_exact(checks):
    s = [c for c in checks if c.group == "systolic.scalesim"]
    assert len(s) > 100 and all(c.within for c in s)


def test_power_capped_gpu_matches_the_sustained_h200_loads(checks):
    s = [c for c in checks if c.group == "gpu.sustained"]
    assert len(s) == 20 and sum(c.within for c in s) >= 19
    by = {c.id: c for c in s}
    # the bf16 GEMM at the cap: 684 W, 1.44 GHz, 658 TFLOP/s measured
    assert by["gemm_bf16_8192/power_w"].ratio == pytest.approx(1.0, abs=0.05)
    assert by["gemm_bf16_8192/sm_clock_ghz"].ratio == pytest.approx(1.0, abs=0.06)
    assert by["gemm_bf16_8192/energy_per_call_j"].ratio == pytest.approx(1.0, abs=0.08)


def test_fitted_rows_are_not_counted_as_predictions(checks):
    fitted = [c for c in checks if c.basis == "fitted"]
    assert fitted and all(c.basis != "prediction" for c in fitted)
    nerf = [c for c in checks if c.group == "ngpc.paper" and c.quantity == "frame_time_s" and "resolution=1080p" in c.id]
    assert nerf and all(c.basis == "fitted" for c in nerf)
    o = F.overall(checks)
    assert o["predictions"] + o["fitted"] <= o["n"]


def test_no_regression_against_the_baseline(checks):
    base = json.loads(BASELINE.read_text())
    bad = F.regressions(checks, base)
    assert not bad, "\n".join(bad[:30])


def test_markdown_has_the_summary(checks):
    md = F.markdown(checks, title="t")
    assert "| group | checks |" in md and "systolic.scalesim" in md and "**All:" in md
