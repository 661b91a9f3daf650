"""Calibrating the H100 on its own measurements (issue 11): the fragment of a preset's own GPU
(calibration/h100.part, never the H200's), a refusal to fit one GPU's preset on another GPU's
measurements, and measure_llm.py's non-kernel records kept out of the fit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsim.cli import main as cli_main
from archsim.config.arch import load_arch
from archsim.blocks.gpu import calibrate as C
from archsim.blocks.gpu.model import predict
from archsim.errors import ConfigError
from archsim.workloads.ops import Copy, Elementwise, op_to_dict

REPO = Path(__file__).resolve().parents[1]
GPU = REPO / "arch_configs" / "gpu"


def test_device_family():
    assert C.device_family("NVIDIA H100 80GB HBM3") == "h100"
    assert C.device_family("NVIDIA H100 SXM") == "h100"
    assert C.device_family("NVIDIA H200") == "h200"
    assert C.device_family("NVIDIA A100-SXM4-80GB") == "a100"
    assert C.device_family("NVIDIA GeForce RTX 3090") == "rtx3090"
    assert C.device_family("NVIDIA Jetson AGX Orin 32GB") == ""


def test_each_gpu_writes_its_own_fragment():
    h100 = GPU / "h100-sxm.toml"
    h200 = GPU / "h200.toml"
    ext = ["calibration/h200.part"]
    assert C.fragment_path(h100, ext, "NVIDIA H100 SXM") == (GPU / "calibration" / "h100.part").resolve()
    assert C.fragment_path(h200, ext, "NVIDIA H200") == (GPU / "calibration" / "h200.part").resolve()
    with pytest.raises(ConfigError):
        C.fragment_path(h100, [], "NVIDIA H100 SXM")


def _file(tmp_path, name, device, results, section="gemm"):
    meta = {"device": {"name": device}, "args": {"gemm_dtypes": "bf16"}} if device else {}
    f = tmp_path / name
    f.write_text(json.dumps({"meta": meta, "results": results}))
    return f


def _records(spec, ops, **kw):
    return [{"section": kw.get("section", "copy"), "op": op_to_dict(o), "impl": "synthetic",
             "variant": kw.get("variant", "cold"),
             "times_s": {"median": predict(spec, o).latency_s, "n": 1}} for o in ops]


def test_h100_preset_refuses_h200_measurements(tmp_path):
    spec = load_arch(GPU / "h100-sxm.toml").components["gpu"]
    f = _file(tmp_path, "h200.json", "NVIDIA H200", [])
    with pytest.raises(ConfigError, match="H200"):
        C.check_device(spec, [f])
    g = _file(tmp_path, "h100.json", "NVIDIA H100 80GB HBM3", [])
    assert C.check_device(spec, [g]) == ["NVIDIA H100 80GB HBM3"]
    assert C.check_device(spec, [_file(tmp_path, "anon.json", None, [])]) == []
    assert cli_main(["calibrate", "gpu", str(f), "--preset", "h100-sxm", "--out", str(tmp_path / "x.part")]) == 2


def test_non_kernel_sections_are_not_fitted(tmp_path):
    spec = load_arch(GPU / "h200.toml").components["gpu"]
    ops = [Copy(bytes=2**k) for k in range(12, 30, 2)] + [Elementwise(n_elements=2**k, dtype="fp16") for k in range(10, 26, 3)]
    res = _records(spec, ops)
    # attention-implementation / graph / layer records: never fitted, whatever their variant says
    res += _records(spec, [Copy(bytes=12345)], section="attn_impl")
    res += _records(spec, [Copy(bytes=54321)], section="graph", variant="eager")
    res.append({"section": "llm_layer", "variant": "cold", "times_s": {"median": 1e-3}, "ops": []})
    f = _file(tmp_path, "m.json", "NVIDIA H200", res)
    recs = C.load_records([f])
    assert len(recs) == len(ops)
    assert all(r.op.bytes not in (12345, 54321) for r in recs if r.kind == "copy")


def test_cli_h100_fit_goes_to_h100_fragment(tmp_path, capsys):
    """A fit of the H100 preset on (synthetic) H100 measurements writes its own fragment, notes
    that the preset still extends the H200's, and says the energy was not fitted."""
    spec = load_arch(GPU / "h100-sxm.toml").components["gpu"]
    ops = [Copy(bytes=2**k) for k in range(12, 32, 2)] + [Elementwise(n_elements=2**k, n_inputs=2, dtype="fp32") for k in range(10, 28, 3)]
    f = _file(tmp_path, "h100.json", "NVIDIA H100 80GB HBM3", _records(spec, ops))
    preset = tmp_path / "h100-sxm.toml"
    preset.write_text((GPU / "h100-sxm.toml").read_text().replace(
        'extends = "calibration/h100.part"', f'extends = "{(GPU / "calibration" / "h200.part").as_posix()}"'))
    out = tmp_path / "h100.part"
    assert cli_main(["calibrate", "gpu", str(f), "--preset", str(preset), "--out", str(out), "--restarts", "1"]) == 0
    err = capsys.readouterr().err
    assert "energy not fitted" in err
    text = out.read_text()
    assert "measured on: NVIDIA H100 80GB HBM3" in text and "energy NOT fitted" in text
    # the fragment loads as an H100 preset's calibration
    p2 = tmp_path / "h100-own.toml"
    p2.write_text(preset.read_text().replace(f'extends = "{(GPU / "calibration" / "h200.part").as_posix()}"',
                                             'extends = "h100.part"'))
    s2 = load_arch(p2).components["gpu"]
    assert s2.calibration.device == "NVIDIA H100 SXM" and s2.calibration.n_fit > 0
