"""Issue 16, wrong blame and missed checks: --set errors name --set; validate runs every check
run runs short of simulating; unknown tech-table entries, --restarts -1, a sweep whose points
all fail, --resume --retry-failed, and a UTF-8 byte-order mark."""
from __future__ import annotations

import json
import sys
import types

import attrs
import pytest

from hardening_util import NGPC8, OS32, REPO, RESNET18, TPU, cli, ops_toml


def test_bad_set_value_is_blamed_on_set_not_the_valid_file():
    r = cli("run", TPU, RESNET18, "--set", "components.sa.rows=abc", "--quiet")
    assert r.rc == 2
    assert r.err.startswith("archsim: error: --set: components.sa.rows:"), r.err
    # a cross-field check broken by the override: still the override's fault
    r = cli("run", TPU, RESNET18, "--set", "components.sa.dtype=fp32", "--quiet")
    assert r.rc == 2 and r.err.startswith("archsim: error: --set:"), r.err


def test_bad_workload_set_is_blamed_on_set_with_its_prefix():
    r = cli("run", NGPC8, REPO / "workloads/ng/nerf_densegrid_1080p.toml",
            "--set", "workload.params.frames=abc", "--quiet")
    assert r.rc == 2 and "--set: workload.params.frames" in r.err, r.err
    r = cli("run", TPU, RESNET18, "--set", "workload.params.x=1")
    assert r.rc == 2 and "--set: workload.params.x" in r.err and "TOML workloads only" in r.err


def test_a_broken_file_is_still_blamed_on_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "arch_configs/systolic/base.toml").read_text().replace('"ws"', '"xs"')
                   if '"ws"' in (REPO / "arch_configs/systolic/base.toml").read_text() else
                   'name = "b"\n[components.sa]\nkind = "systolic_array"\nrows = 0\ncols = 8\n'
                   'ifmap_sram_kib = 64\nfilter_sram_kib = 64\nofmap_sram_kib = 64\n'
                   'dram_bandwidth_words_per_cycle = 10\n')
    r = cli("run", bad, RESNET18, "--set", "tech.node_nm=7", "--quiet")
    assert r.rc == 2 and str(bad) in r.err and not r.err.startswith("archsim: error: --set")


def test_set_extends_is_refused_not_ignored():
    r = cli("run", TPU, RESNET18, "--set", "extends=../gpu/h200.toml", "--quiet")
    assert r.rc == 2 and "--set: extends" in r.err


def test_validate_resolves_the_tech_table(tmp_path):
    """validate passed files that run rejected (tech-table resolution)."""
    a = tmp_path / "a.toml"
    a.write_text((REPO / "arch_configs/systolic/tpu-128x128.toml").read_text()
                 .replace('extends = "base.toml"', f'extends = "{REPO}/arch_configs/systolic/base.toml"')
                 + '\n')
    text = a.read_text()
    a.write_text(text.replace("[tech]", '[tech]\ntable = "no-such-table"', 1) if "[tech]" in text
                 else text + '\n[tech]\ntable = "no-such-table"\n')
    r = cli("validate", a)
    assert r.rc == 2 and "tech.table" in r.err and "no-such-table" in r.err, r
    r = cli("run", a, RESNET18, "--quiet")
    assert r.rc == 2 and "tech.table" in r.err


def test_validate_arch_and_workload_together_checks_the_pair(tmp_path):
    w = ops_toml(tmp_path / "w.toml", dict(op="copy", bytes=64))
    r = cli("validate", TPU, w)
    assert r.rc == 2 and "copy" in r.err                 # no component of the TPU runs a copy
    big = ops_toml(tmp_path / "big.toml", dict(op="gemm", m=10 ** 9, k=64, n=10 ** 6, dtype="int8"))
    r = cli("validate", OS32, big)
    assert r.rc == 2 and "ARCHSIM_MAX_OP_SECONDS" in r.err
    assert cli("validate", TPU, RESNET18).rc == 0


def test_unknown_tech_table_entry_is_an_error(tmp_path):
    text = (REPO / "arch_configs/tech/default.toml").read_text()
    t = tmp_path / "t.toml"
    t.write_text(text + '\n[logic.mac.int4]\nenergy_pj = { value = 0.01, source = "made up" }\n'
                 'area_um2 = { value = 1.0, source = "made up" }\n')
    r = cli("validate", t)
    assert r.rc == 2 and "logic.mac.int4" in r.err and "unknown entry" in r.err


def test_restarts_must_be_positive(tmp_path):
    meas = REPO / "benchmarks/gpu/measurements/h200-2026-11-30-run6.json"
    for n in ("-1", "0"):
        r = cli("calibrate", "gpu", meas, "--preset", "h200", "--restarts", n, "--out", tmp_path / "o.part")
        assert r.rc == 2 and "--restarts" in r.err


def test_utf8_bom_is_not_content(tmp_path):
    """A UTF-8 BOM gave 'Invalid statement (at line 1, column 1)'."""
    bom = b"\xef\xbb\xbf"
    a = tmp_path / "a.toml"
    a.write_bytes(bom + (REPO / "arch_configs/systolic/scalesim-32x32-os.toml").read_bytes()
                  .replace(b'extends = "base.toml"', f'extends = "{REPO}/arch_configs/systolic/base.toml"'.encode()))
    w = tmp_path / "w.toml"
    w.write_bytes(bom + b'[[ops]]\nop = "gemm"\nm = 8\nk = 8\nn = 8\ndtype = "int8"\n')
    j = tmp_path / "w.jsonl"
    j.write_bytes(bom + json.dumps(dict(op="gemm", m=8, k=8, n=8, dtype="int8")).encode() + b"\n")
    c = tmp_path / "w.csv"
    c.write_bytes(bom + (REPO / "workloads/cnn/resnet18.csv").read_bytes())
    for wl in (w, j, c):
        r = cli("run", a, wl, "--quiet")
        assert r.rc == 0, (wl, r)
    assert cli("validate", a, w, j, c).rc == 0


# ----------------------------------------------------------------------------- sweeps

@pytest.fixture
def flaky(monkeypatch, tmp_path):
    """Component kind 'flaky': a point fails while the file `tmp_path/broken` exists."""
    from archsim.blocks.base import OpResult, Structure
    from archsim.config import registry
    from archsim.config.load import field
    mod = types.ModuleType("archsim_test_flaky")
    marker = tmp_path / "broken"

    @attrs.frozen(kw_only=True)
    class Spec:
        lanes: int = field(ge=1, le=1 << 20)
        fail_lanes: int = field(0, ge=0)

    def evaluate(spec, op, ctx):
        if spec.lanes in (spec.fail_lanes, -1) or (marker.exists() and spec.lanes % 2):
            raise RuntimeError(f"flaky at lanes={spec.lanes}")
        macs = op.macs()
        return OpResult(name=op.name, op=op.KIND, component=ctx.component_name, cycles=macs // spec.lanes + 1,
                        latency_s=(macs // spec.lanes + 1) * 1e-9, flops=2.0 * macs,
                        actions={"mac.int8": float(macs)})
    mod.KIND, mod.Spec, mod.evaluate = "flaky", Spec, evaluate
    mod.supports = lambda spec, op: op.KIND == "gemm"
    mod.structure = lambda spec: Structure(name="flaky", kind="flaky", clock_ghz=1.0,
                                           units={"mac.int8": spec.lanes})
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(registry.COMPONENT_MODULES, "flaky", mod.__name__)
    (tmp_path / "arch.toml").write_text('name = "f"\n[components.f]\nkind = "flaky"\nlanes = 1\n')
    ops_toml(tmp_path / "w.toml", dict(op="gemm", m=16, k=16, n=16, dtype="int8"))
    return tmp_path


def _sweep(folder, space):
    p = folder / "s.toml"
    p.write_text(f'[sweep]\nname = "fl"\narch = "arch.toml"\nworkload = "w.toml"\n[space]\n{space}\n')
    return p


def test_sweep_where_every_point_fails_exits_1(flaky):
    s = _sweep(flaky, '"components.f.lanes" = [1, 2, 3]\n"components.f.fail_lanes" = [0]')
    (flaky / "broken").write_text("")
    s.write_text(s.read_text().replace("[1, 2, 3]", "[1, 3, 5]"))
    r = cli("sweep", s, "--out", flaky / "out", "--jobs", "1", "--timed-points", "0")
    assert r.rc == 1 and "3 of 3 points failed" in r.err and "--retry-failed" in r.err, r


def test_resume_retry_failed_reruns_only_the_failures(flaky):
    from archsim.sweep.store import Store
    s = _sweep(flaky, '"components.f.lanes" = [1, 2, 3, 4]')
    out = flaky / "out"
    (flaky / "broken").write_text("")
    r = cli("sweep", s, "--out", out, "--jobs", "1", "--timed-points", "0")
    assert r.rc == 1 and "2 of 4 points failed" in r.err
    with Store.open_dir(out) as st:
        before = {row["key"]: row for row in st.rows()}
    # --resume alone never retries them
    r = cli("sweep", s, "--out", out, "--resume", "--jobs", "1", "--timed-points", "0")
    assert r.rc == 1 and "2 of 4 points failed" in r.err
    (flaky / "broken").unlink()                          # the cause is fixed
    r = cli("sweep", s, "--out", out, "--retry-failed", "--jobs", "1")
    assert r.rc == 2 and "--resume" in r.err
    r = cli("sweep", s, "--out", out, "--resume", "--retry-failed", "--jobs", "1", "--timed-points", "0")
    assert r.rc == 0, r
    with Store.open_dir(out) as st:
        after = {row["key"]: row for row in st.rows()}
    assert set(after) == set(before) and len(after) == 4
    for k, row in after.items():
        assert row["status"] == "ok"
        if before[k]["status"] == "ok":                   # successes are never replaced
            assert row["finished_unix"] == before[k]["finished_unix"]
