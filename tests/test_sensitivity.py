"""archsim sensitivity: knob moves, rows, tornado plots, conclusions (a smoke subset: two knobs
per study, quick batches / quick ReSV runs)."""
from __future__ import annotations

import json

import pytest

from archsim.cli import main
from archsim.studies import sensitivity as S


def test_knob_values_round_to_what_the_key_allows():
    k = S.Knob(name="x", kind="open", doc="", integer=True, power_of_two=True)
    assert k.values(8.0) == [("-50%", 4.0), ("+50%", 16.0)]
    assert S.Knob(name="e", kind="open", doc="", hi=1.0).values(0.9) == [("-50%", 0.45), ("+50%", 1.0)]
    assert S.Knob(name="z", kind="open", doc="", integer=True, zero_step=64.0).values(0.0) == \
        [("-50%", 0.0), ("+50%", 64.0)]


@pytest.mark.parametrize("study,knobs", [("vrex", ["window", "components.vrex.memory.efficiency"]),
                                         ("ngpc", ["components.ngpc.clock_ghz"])])
def test_sensitivity_cli_rows_plots_and_conclusions(tmp_path, study, knobs):
    out = tmp_path / "rows.json"
    args = ["sensitivity", study, "--quick", "--out", str(tmp_path / "o"), "--json", str(out)]
    for k in knobs:
        args += ["--knob", k]
    assert main(args) == 0
    rows = json.loads(out.read_text())
    outputs = S.VREX_OUTPUTS if study == "vrex" else S.NGPC_OUTPUTS
    assert {r["quantity"] for r in rows} == {o.name for o in outputs}
    assert all(r["params"]["assumptions"] == "default" for r in rows)
    for k in knobs:
        steps = {r["params"]["step"] for r in rows if r["params"]["knob"] == k}
        assert steps == {"-50%", "+50%"}
    # a slower clock or a less efficient DRAM never speeds anything up
    for r in rows:
        p = r["params"]
        if p["step"] == "-50%" and p["knob"] in ("components.ngpc.clock_ghz", "components.vrex.memory.efficiency"):
            if r["quantity"].endswith("_s"):
                assert p["change_pct"] >= -1e-9, r
    assert len(list((tmp_path / "o").glob("tornado_*.png"))) == len(outputs)


def test_unknown_knob_is_bad_input(tmp_path, capsys):
    assert main(["sensitivity", "vrex", "--quick", "--knob", "nope", "--out", str(tmp_path)]) == 2
    assert "--knob" in capsys.readouterr().err
