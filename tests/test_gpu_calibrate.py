"""GPU calibration (archsim/blocks/gpu/calibrate.py, archsim calibrate gpu): optimiser, the held-out
split, recovery of known parameters from synthetic measurements, the energy fit, the CLI
round trip, the TOML writer."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import attrs
import numpy as np
import pytest

from archsim.cli import main as cli_main
from archsim.config.arch import load_arch
from archsim.blocks.gpu import calibrate as C
from archsim.blocks.gpu.model import predict
from archsim.blocks.gpu.tomlw import dumps
from archsim.workloads.ops import Copy, Elementwise, Gemm, op_to_dict

REPO = Path(__file__).resolve().parents[1]
H200 = REPO / "arch_configs" / "gpu" / "h200.toml"


def test_nelder_mead_finds_quadratic_minimum():
    f = lambda x: float((x[0] - 1.5) ** 2 + 3 * (x[1] + 0.5) ** 2)   # noqa: E731
    x, fx = C.nelder_mead(f, np.array([0.0, 0.0]), max_iter=2000, tol=1e-14)
    assert x == pytest.approx([1.5, -0.5], abs=1e-4) and fx < 1e-8


def test_set_and_get_nested_params():
    spec = load_arch(H200).components["gpu"]
    s2 = C.set_params(spec, {"efficiency.gemm_fraction.bf16": 0.5, "launch_overhead_us": 7.0})
    assert C.get_param(s2, "efficiency.gemm_fraction.bf16") == 0.5
    assert s2.launch_overhead_us == 7.0
    assert C.get_param(s2, "efficiency.gemm_fraction.fp16") == spec.efficiency.gemm_fraction.fp16


def _measurements(spec, ops, *, section="grid", noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    res = []
    for op in ops:
        t = predict(spec, op).latency_s * float(np.exp(rng.normal(0.0, noise))) if noise else predict(spec, op).latency_s
        res.append({"section": section, "op": op_to_dict(op), "impl": "synthetic", "variant": "cold",
                    "times_s": {"median": t, "min": t, "p10": t, "p90": t, "n": 1}})
    return res


def _stream_ops():
    ops = [Copy(bytes=2**k) for k in range(12, 33, 2)]
    ops += [Elementwise(n_elements=2**k, n_inputs=n, dtype=d) for k in range(10, 29, 3)
            for n, d in ((1, "fp16"), (2, "fp32"))]
    return ops


def test_split_is_deterministic_every_fourth_grid_op(tmp_path):
    spec = load_arch(H200).components["gpu"]
    ops = [Copy(bytes=2**k) for k in range(10, 30)]
    data = {"meta": {}, "results": _measurements(spec, ops) + _measurements(spec, ops[:3])}   # dupes merge
    f = tmp_path / "m.json"
    f.write_text(json.dumps(data))
    recs = C.load_records([f])
    assert len(recs) == 20
    assert [r.heldout for r in recs[:8]] == [False, False, False, True] * 2
    assert C.load_records([f]) == recs


def test_int8_before_layout_fix_is_dropped(tmp_path):
    spec = load_arch(H200).components["gpu"]
    op = Gemm(m=512, k=512, n=512, dtype="int8")
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"meta": {"args": {}}, "results": _measurements(spec, [op])}))
    assert C.load_records([f]) == []
    f.write_text(json.dumps({"meta": {"args": {"gemm_dtypes": "int8"}}, "results": _measurements(spec, [op])}))
    assert len(C.load_records([f])) == 1


def test_calibration_recovers_known_parameters(tmp_path):
    """Synthetic 'measurements' made by the model itself with known launch / DRAM parameters
    (and 2 % noise); the fit, started from other values, must find them again."""
    truth = attrs.evolve(load_arch(H200).components["gpu"], launch_overhead_us=4.5)
    truth = C.set_params(truth, {"efficiency.dram_fraction": 0.72, "efficiency.dram_latency_us": 2.0,
                                 "efficiency.vector_fraction": 0.6})
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"meta": {}, "results": _measurements(truth, _stream_ops(), noise=0.02)}))
    recs = C.load_records([f])
    start = C.set_params(attrs.evolve(truth, launch_overhead_us=2.0),
                         {"efficiency.dram_fraction": 0.9, "efficiency.dram_latency_us": 0.5})
    stage = [s for s in C.STAGES if s[0] == "launch+dram"]
    res = C.fit(start, recs, stages=stage, restarts=2)
    got = res.spec
    # on streaming kernels launch and DRAM ramp are both constant terms: only their sum is
    # identifiable (4.5 + 2.0 us)
    assert got.launch_overhead_us + got.efficiency.dram_latency_us == pytest.approx(6.5, rel=0.05)
    assert got.efficiency.dram_fraction == pytest.approx(0.72, rel=0.03)
    rows = C.residuals(got, recs)
    assert C.summary(rows)["fit"]["median_abs_error"] < 0.03


def test_error_bands_are_p10_p90_of_ratio():
    rows = [{"kind": "copy", "measured_s": m, "predicted_s": 1.0, "heldout": False}
            for m in np.linspace(0.8, 1.2, 101)]
    lo, hi = C.error_bands(rows)["copy"]
    assert lo == pytest.approx(-0.16, abs=1e-6) and hi == pytest.approx(0.16, abs=1e-6)


def test_energy_fit_from_duty_loads(tmp_path):
    # dynamic energy per call: 16 MiB copy 2 x 2^24 B x 50 pJ; 1 GiB copy 2 x 2^30 B x (50 + 80)
    # pJ; bf16 GEMM 1e12 FLOP x 1 pJ + its bytes -> fitted 50, 80 and 1.0
    g = Gemm(m=8192, k=8192, n=8192, dtype="bf16")
    gb = 3 * 8192 * 8192 * 2
    duty = {
        "copy_16mib": {"op": op_to_dict(Copy(bytes=2**24)), "dynamic_energy_per_call_j": 2 * 2**24 * 50e-12,
                       "dram_bytes_per_call": 0.0, "flops_per_call": 0.0},
        "copy_1024mib": {"op": op_to_dict(Copy(bytes=2**30)), "dynamic_energy_per_call_j": 2 * 2**30 * 130e-12,
                         "dram_bytes_per_call": 2.0 * 2**30, "flops_per_call": 0.0},
        "gemm_bf16_8192": {"op": op_to_dict(g), "flops_per_call": 2.0 * 8192**3, "dram_bytes_per_call": gb,
                           "dynamic_energy_per_call_j": 2.0 * 8192**3 * 1e-12 + gb * 130e-12},
    }
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"meta": {}, "results": [], "power": {"duty": duty}}))
    spec, rep = C.fit_energy(load_arch(H200).components["gpu"], [f])
    assert spec.energy.l2_pj_per_byte == pytest.approx(50.0)
    assert spec.energy.dram_pj_per_byte == pytest.approx(80.0)
    assert spec.energy.pj_per_flop.bf16 == pytest.approx(1.0)


def test_toml_writer_round_trip():
    data = {"components": {"gpu": {"a_us": 1.5, "n": 3, "s": "x \"y\"", "flag": True,
                                   "efficiency": {"f": 0.123456789, "sub": {"bf16": 0.5}},
                                   "calibration": {"error_band": {"gemm": [-0.1, 0.2]}}}}}
    back = tomllib.loads(dumps(data))
    assert back["components"]["gpu"]["efficiency"]["sub"]["bf16"] == 0.5
    assert back["components"]["gpu"]["calibration"]["error_band"]["gemm"] == [-0.1, 0.2]
    assert back["components"]["gpu"]["s"] == 'x "y"'
    assert back["components"]["gpu"]["efficiency"]["f"] == pytest.approx(0.123457)


def test_cli_calibrate_writes_a_loadable_fragment(tmp_path, capsys):
    spec = load_arch(H200).components["gpu"]
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"meta": {}, "results": _measurements(spec, _stream_ops(), noise=0.01)}))
    out = tmp_path / "cal.part"
    rc = cli_main(["calibrate", "gpu", str(f), "--preset", "h200", "--out", str(out), "--restarts", "1"])
    assert rc == 0
    text = out.read_text()
    assert "[components.gpu.calibration]" in text
    preset = tmp_path / "p.toml"
    preset.write_text(H200.read_text().replace('extends = "calibration/h200.part"', 'extends = "cal.part"'))
    s2 = load_arch(preset).components["gpu"]
    assert s2.calibration.device == "NVIDIA H200" and s2.calibration.n_fit > 0
    assert "copy" in s2.calibration.error_band


def test_cli_calibrate_bad_input_exit_2(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    assert cli_main(["calibrate", "gpu", str(f), "--preset", "h200", "--out", str(tmp_path / "x")]) == 2
    assert cli_main(["calibrate", "gpu", str(f), "--preset", "no-such-gpu"]) == 2
