"""simulate() and the Report on a fake component: totals are sums, energy fields are absent
when nothing priced them, repeat scales, mapping is honoured, CLI exit codes."""
from __future__ import annotations

import json

import pytest

from archsim import load_arch, load_workload, simulate
from archsim.cli import main
from archsim.errors import ModelError
from archsim.simulate import evaluate_ops

ARCH = {"name": "fa", "components": {"a": {"kind": "fake", "lanes": 16, "clock_ghz": 2.0}}}
WL = {"name": "w", "ops": [
    {"op": "gemm", "m": 4, "k": 8, "n": 2, "dtype": "int8", "name": "g"},            # 64 MACs
    {"op": "elementwise", "n_elements": 100, "dtype": "fp16", "repeat": 3, "name": "e"},
]}


def test_evaluate_and_totals(fake_component):
    arch, wl = load_arch(ARCH), load_workload(WL)
    ops = evaluate_ops(arch, wl)
    # gemm: ceil(64/16) = 4 cycles; elementwise: ceil(100/16) = 7 cycles, x3 repeats = 21
    assert [o.cycles for o in ops] == [4, 21]
    assert ops[1].actions == {"mac.fp16": 300}
    assert ops[1].details["repeat"] == 3
    rep = simulate(arch, wl)
    assert rep.timeline.start_s.tolist() == [0.0, 4 / 2e9] and rep.timeline.critical_path == (0, 1)
    t = rep.totals()
    assert t["cycles"] == 25 and t["latency_s"] == pytest.approx(25 / 2e9)
    assert t["flops"] == 2 * 64 + 2 * 300


def test_report_json_contract_keys(fake_component):
    rep = simulate(load_arch(ARCH), load_workload(WL))
    d = json.loads(rep.to_json())
    for k in ("archsim_version", "arch", "workload", "totals", "ops", "components", "provenance"):
        assert k in d
    assert {"cycles", "latency_s"} <= set(d["totals"])
    op = d["ops"][0]
    for k in ("name", "op", "component", "cycles", "latency_s", "flops", "dram_bytes", "bound"):
        assert k in op
    assert "," in rep.ops_csv().splitlines()[0]


def test_baseline_gives_speedup(fake_component):
    fast = load_arch(ARCH)
    slow = load_arch(ARCH, ["components.a.lanes=4"])
    rep = simulate(fast, load_workload(WL), baseline=slow)
    # lanes 16 vs 4: gemm 4 vs 16 cycles, elementwise 3*7 vs 3*25 cycles
    assert rep.speedup == pytest.approx((16 + 75) / (4 + 21))
    d = rep.to_dict()
    assert d["ops"][0]["speedup"] == pytest.approx(4.0)
    assert "baseline" in d and d["speedup"] == pytest.approx(rep.speedup)


def test_unsupported_op_is_model_error(fake_component):
    wl = load_workload({"ops": [{"op": "copy", "bytes": 10}]})
    with pytest.raises(ModelError):
        simulate(load_arch(ARCH), wl)


def test_cli_exit_codes(tmp_path, fake_component, capsys):
    arch = tmp_path / "a.toml"
    arch.write_text('name = "x"\n[components.a]\nkind = "fake"\nlanes = 0\n')
    assert main(["validate", str(arch)]) == 2
    err = capsys.readouterr().err
    assert "components.a.lanes" in err and "must be >= 1" in err and "Traceback" not in err
    arch.write_text('name = "x"\n[components.a]\nkind = "fake"\nlanes = 8\n')
    assert main(["validate", str(arch)]) == 0
    wl = tmp_path / "w.toml"
    wl.write_text('[[ops]]\nop = "gemm"\nm = 2\nk = 2\nn = 2\ndtype = "int8"\n')
    out = tmp_path / "run"
    assert main(["run", str(arch), str(wl), "--out", str(out), "--set", "components.a.lanes=2"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["totals"]["cycles"] == 4                      # 8 MACs / 2 lanes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["overrides"] == ["components.a.lanes=2"] and len(manifest["inputs"]) == 2
    assert main(["run", str(arch), str(tmp_path / "missing.toml")]) == 2
