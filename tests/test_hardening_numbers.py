"""Issue 16, numbers in range that still break the model: overflow-safe counts, work estimates
before expensive loops, and results checked before they are reported."""
from __future__ import annotations

import math

import pytest

from hardening_util import H200, NGPC8, OS32, RESNET50, TPU, VREX8, cli, ops_toml

GEMM = dict(op="gemm", m=64, k=64, n=64, dtype="int8")


def test_tiny_dram_bandwidth_refused_with_its_key(tmp_path):
    """1e-13 words/cycle passed `> 0` and gave negative cycles, latency and energy (exit 0)."""
    r = cli("run", TPU, RESNET50, "--set", "components.sa.dram_bandwidth_words_per_cycle=1e-13", "--quiet")
    assert r.rc == 2
    assert "--set" in r.err and "dram_bandwidth_words_per_cycle" in r.err and "1e-12" in r.err


def test_small_dram_bandwidth_cycles_never_wrap(tmp_path):
    """At the bottom of the allowed range the cycle count must be exact or the op refused
    (ModelError naming the op and the parameter), never negative."""
    w = ops_toml(tmp_path / "w.toml", dict(op="conv2d", ifmap_h=230, ifmap_w=230, filter_h=7,
                                           filter_w=7, channels=3, num_filters=64, stride=2, name="conv1"))
    r = cli("run", TPU, w, "--set", "components.sa.dram_bandwidth_words_per_cycle=1e-12", "--quiet",
            "--json", tmp_path / "r.json")
    assert r.rc == 1
    assert "conv1" in r.err and "dram_bandwidth_words_per_cycle" in r.err
    r = cli("run", TPU, w, "--set", "components.sa.dram_bandwidth_words_per_cycle=1e-6", "--quiet",
            "--json", tmp_path / "r.json")
    assert r.rc == 0
    import json
    tot = json.loads((tmp_path / "r.json").read_text())["totals"]
    assert tot["cycles"] > 0 and tot["latency_s"] > 0 and tot["energy_j"] > 0


def test_gemm_batch_1e15_systolic_refused_gpu_exact(tmp_path):
    """batch 10^15 overflowed int64 in the systolic path and gave wrong flops silently."""
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, batch=10 ** 15, name="big"))
    r = cli("run", TPU, w, "--quiet")
    assert r.rc == 1 and "big" in r.err and "macs" in r.err and "2**62" in r.err
    r = cli("run", TPU, w, "--quiet", "--set", "components.sa.dataflow=os")
    assert r.rc == 2 and "ARCHSIM_MAX_OP_SECONDS" in r.err        # 5e14 folds: over the budget
    r = cli("run", H200, w, "--quiet", "--json", tmp_path / "g.json")
    assert r.rc == 0
    import json
    op = json.loads((tmp_path / "g.json").read_text())["ops"][0]
    assert op["flops"] == pytest.approx(2.0 * 10 ** 15 * 64 ** 3, rel=1e-12)


def test_systolic_flops_equal_the_ops_own_count(tmp_path):
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, batch=10 ** 6), dict(op="conv2d", ifmap_h=56, ifmap_w=56,
                 filter_h=3, filter_w=3, channels=64, num_filters=64, stride=1, repeat=3))
    r = cli("run", OS32, w, "--quiet", "--json", tmp_path / "r.json")
    assert r.rc == 0
    import json
    ops = json.loads((tmp_path / "r.json").read_text())["ops"]
    assert ops[0]["flops"] == 2.0 * 10 ** 6 * 64 ** 3
    assert ops[1]["flops"] == 3 * 2.0 * 54 * 54 * 64 * 9 * 64


@pytest.mark.parametrize("arch,op", [
    (TPU, dict(op="conv2d", ifmap_h=100000, ifmap_w=100000, filter_h=3, filter_w=3, channels=1000,
               num_filters=64)),                                   # 74.5 GiB stamp array / hours
    (TPU, dict(GEMM, m=10 ** 9, k=10 ** 9, n=10 ** 9)),
    (TPU, dict(GEMM, m=2 ** 62, k=2, n=2)),
    (NGPC8, dict(op="hash_encode", n_points=10 ** 12, dims=3, levels=64, features_per_level=64,
                 log2_table_size=32, base_resolution=16, finest_resolution=10 ** 9)),
    (NGPC8, dict(op="mlp", batch=10 ** 15, layers=[10 ** 6, 10 ** 6, 4], dtype="fp16")),
    (VREX8, dict(op="elementwise", n_elements=2 ** 62, dtype="fp16")),
    (VREX8, dict(GEMM, m=10 ** 9, k=10 ** 9, n=10 ** 9, dtype="bf16")),
    (H200, dict(GEMM, m=10 ** 18, k=10 ** 18, n=10 ** 18)),
])
def test_huge_sizes_refused_or_computed_quickly(tmp_path, arch, op):
    """Sizes of 10^6..10^30 gave ZeroDivisionError, numba TypingError, MemoryError, a 74.5 GiB
    allocation or a hang: now exit 1 (a count beyond the exact range) or 2 (over the work
    budget, with the estimate and the knob), or 0 with finite results, in seconds."""
    w = ops_toml(tmp_path / "w.toml", dict(op, name="huge"))
    r = cli("run", arch, w, "--quiet", "--json", tmp_path / "r.json")
    assert r.seconds < 30, r
    if r.rc == 0:
        import json
        t = json.loads((tmp_path / "r.json").read_text())["totals"]
        assert all(v is None or (isinstance(v, list) or (math.isfinite(v) and v >= 0)) for v in t.values()), t
    else:
        assert "huge" in r.err, r
        if r.rc == 2:
            assert "ARCHSIM_MAX_OP" in r.err or "64-bit" in r.err or "1e+12" in r.err, r


def test_ints_beyond_int64_refused_at_load(tmp_path):
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, m=10 ** 30))
    r = cli("run", TPU, w, "--quiet")
    assert r.rc == 2 and "ops[0].m" in r.err and "64-bit" in r.err
    r = cli("run", TPU, RESNET50, "--set", f"components.sa.rows={2 ** 64}", "--quiet")
    assert r.rc == 2 and "--set" in r.err


def test_extreme_float_refused_with_key(tmp_path):
    """A clock of 1.8e308 GHz passed `> 0` and divided by zero inside the V-Rex model."""
    r = cli("run", VREX8, str(tmp_path / "x"), "--set", "components.vrex.clock_ghz=1.7976931348623157e+308")
    assert r.rc == 2 and "components.vrex.clock_ghz" in r.err


def test_depthwise_1e8_channels_refused_before_memory_grows(tmp_path):
    p = tmp_path / "dw.csv"
    p.write_text("name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride,\n"
                 "DPconv, 7, 7, 3, 3, 100000000, 1, 1,\n")
    r = cli("run", TPU, p, "--quiet")
    assert r.rc == 2 and "ARCHSIM_MAX_OPS" in r.err and "line 2" in r.err and r.seconds < 10


def test_work_budget_knob(monkeypatch, tmp_path):
    """The refusal gives the estimate and the knob; raising the knob lets the op through the
    check (not run here)."""
    from archsim import load_arch, load_workload
    from archsim.plausibility import WorkBudgetError, check_work
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, m=10 ** 9, k=64, n=10 ** 5, name="g"))
    arch = load_arch(TPU, {"components.sa.dataflow": "os"})
    wl = load_workload(w)
    with pytest.raises(WorkBudgetError) as e:
        check_work(arch, wl)
    assert "estimated" in str(e.value) and "ARCHSIM_MAX_OP_SECONDS" in str(e.value)
    monkeypatch.setenv("ARCHSIM_MAX_OP_SECONDS", "1e9")
    check_work(arch, wl)
    monkeypatch.setenv("ARCHSIM_MAX_OP_SECONDS", "-3")
    r = cli("run", TPU, w, "--quiet")
    assert r.rc == 2 and "ARCHSIM_MAX_OP_SECONDS" in r.err


def test_memory_budget_knob(monkeypatch, tmp_path):
    from archsim import load_arch, load_workload
    from archsim.plausibility import WorkBudgetError, check_work
    w = ops_toml(tmp_path / "w.toml", dict(op="conv2d", ifmap_h=2000, ifmap_w=2000, filter_h=3,
                                           filter_w=3, channels=64, num_filters=8))
    arch, wl = load_arch(TPU), load_workload(w)
    monkeypatch.setenv("ARCHSIM_MAX_OP_MEMORY_GIB", "0.5")
    with pytest.raises(WorkBudgetError) as e:
        check_work(arch, wl)
    assert "GiB" in str(e.value) and "ARCHSIM_MAX_OP_MEMORY_GIB" in str(e.value)
    monkeypatch.setenv("ARCHSIM_MAX_OP_MEMORY_GIB", "4")
    check_work(arch, wl)


def test_report_checks_name_op_and_field():
    """check_report: negative / non-finite numbers and flops that are not the op's own count
    are a ModelError naming the op and the field."""
    import attrs

    from archsim import load_arch, load_workload, simulate
    from archsim.errors import ModelError
    from archsim.plausibility import check_report
    wl = load_workload({"name": "w", "ops": [dict(GEMM, name="g1"), dict(GEMM, name="g2")]})
    rep = simulate(load_arch(OS32), wl)
    check_report(rep, wl)
    for field, value in (("cycles", -5), ("latency_s", float("nan")), ("energy_j", -1.0),
                         ("flops", float("inf")), ("dram_bytes", -1.0)):
        bad = attrs.evolve(rep, ops=(rep.ops[0], attrs.evolve(rep.ops[1], **{field: value})))
        with pytest.raises(ModelError, match=f"'g2'.*{field}"):
            check_report(bad, wl)
    for factor in (0.5, 1e4):
        wrong = attrs.evolve(rep, ops=(attrs.evolve(rep.ops[0], flops=rep.ops[0].flops * factor), rep.ops[1]))
        with pytest.raises(ModelError, match="'g1'.*flops.*op itself counts"):
            check_report(wrong, wl)
    more = attrs.evolve(rep, ops=(attrs.evolve(rep.ops[0], flops=rep.ops[0].flops * 7 / 6), rep.ops[1]))
    check_report(more, wl)            # an implementation may execute extra FLOPs
    neg_action = attrs.evolve(rep, ops=(attrs.evolve(rep.ops[0], actions={"mac.int8": -1.0}), rep.ops[1]))
    with pytest.raises(ModelError, match="mac.int8"):
        check_report(neg_action, wl)


def test_simulate_checks_every_report_it_returns(monkeypatch):
    """A library call of simulate (not only the CLI) refuses a Report with impossible numbers:
    a block evaluator that returns a negative count is a ModelError naming the op and field,
    for the arch and for the baseline."""
    import attrs

    from archsim import load_arch, load_workload, simulate
    from archsim.config.registry import component_module
    from archsim.errors import ModelError
    wl = load_workload({"name": "w", "ops": [dict(GEMM, name="g1"), dict(GEMM, name="g2")]})
    arch = load_arch(OS32)
    simulate(arch, wl, baseline=arch)                 # sane as it stands
    mod = component_module(arch.component_kinds[arch.mapping.get("gemm") or next(iter(arch.components))])
    real = mod.evaluate
    for field, value, says in (("dram_bytes", -1.0, "negative"), ("cycles", -5, "negative"),
                               ("flops", 1.0, "op itself counts")):
        def broken(spec, op, ctx, field=field, value=value):
            r = real(spec, op, ctx)
            return attrs.evolve(r, **{field: value}) if op.name == "g2" else r
        monkeypatch.setattr(mod, "evaluate", broken)
        with pytest.raises(ModelError, match=f"'g2'.*{field}.*{says}"):
            simulate(arch, wl)
    monkeypatch.setattr(mod, "evaluate", real)
    calls = []

    def broken_baseline(spec, op, ctx):
        calls.append(op.name)
        r = real(spec, op, ctx)
        return attrs.evolve(r, dram_bytes=-1.0) if len(calls) > 2 and op.name == "g1" else r
    monkeypatch.setattr(mod, "evaluate", broken_baseline)
    with pytest.raises(ModelError, match="baseline: op 'g1'.*dram_bytes"):
        simulate(arch, wl, baseline=arch)


def test_sweep_points_are_checked_too(tmp_path):
    """A sweep point over the work budget or with impossible numbers fails (status error) and
    the sweep goes on."""
    from archsim.sweep.execute import evaluate_point, make_context
    from archsim.sweep.spec import load_sweep
    ops_toml(tmp_path / "w.toml", dict(GEMM, m=10 ** 9, k=64, n=10 ** 6, name="big"))
    (tmp_path / "s.toml").write_text(f'[sweep]\narch = "{OS32}"\nworkload = "w.toml"\n'
                                     '[space]\n"components.sa.rows" = [32]\n')
    spec = load_sweep(tmp_path / "s.toml")
    p = next(iter(spec.points()))
    row = evaluate_point(make_context(spec), (spec.point_key(p), p.index, p.workload, dict(p.params)))
    assert row["status"] == "error" and "ARCHSIM_MAX_OP_SECONDS" in row["error"]


def test_roofline_options_and_work(tmp_path):
    for argv in (("--top", "-1"), ("--llm-viewer", "--peak-tflops", "0"),
                 ("--llm-viewer", "--bandwidth-gb-s", "-1"), ("--llm-viewer", "--peak-tflops", "1e300")):
        r = cli("roofline", H200, RESNET50, *argv)
        assert r.rc == 2 and argv[-2] in r.err, (argv, r)
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, m=10 ** 9, k=64, n=10 ** 6, name="big"))
    r = cli("roofline", OS32, w)
    assert r.rc == 2 and "ARCHSIM_MAX_OP_SECONDS" in r.err and r.seconds < 10


def test_moe_with_a_billion_experts_is_refused_not_allocated(tmp_path):
    """expected_active_experts built a list per expert (10^9 experts: 8 GB)."""
    w = ops_toml(tmp_path / "w.toml", dict(op="moe_ffn", tokens=16, hidden=256, expert_ffn=512,
                                           experts=10 ** 9, top_k=2))
    r = cli("run", H200, w, "--quiet")
    assert r.rc == 2 and "experts" in r.err and r.seconds < 10
    from archsim.workloads.llm.ops import expected_active_experts
    assert expected_active_experts(10 ** 6, 2 ** 24, 8, "uniform") == pytest.approx(
        2 ** 24 * (1 - (1 - 8 / 2 ** 24) ** 10 ** 6))
    assert 0 < expected_active_experts(10 ** 6, 2 ** 20, 8, "skewed", 1.0) < 2 ** 20


def test_vrex_core_count_does_not_hang(tmp_path):
    """The V-Rex GEMM partition search loops over every divisor candidate of `cores`."""
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, dtype="bf16", name="g"))
    r = cli("run", VREX8, w, "--quiet", "--set", f"components.vrex.cores={10 ** 9}")
    assert r.rc == 2 and "cores" in r.err and "ARCHSIM_MAX_OP_SECONDS" in r.err and r.seconds < 10


def test_vrex_structural_counts_beyond_int64_are_refused(tmp_path):
    """vpe_lanes x vpe_units x cores went into an int64 kernel argument ('int too big')."""
    w = ops_toml(tmp_path / "w.toml", dict(GEMM, dtype="bf16", name="g"))
    r = cli("run", VREX8, w, "--quiet", "--set", f"components.vrex.lxe.vpe_lanes={2 ** 63 - 1}",
            "--set", "components.vrex.lxe.vpe_units=1000")
    assert r.rc == 1 and "lanes" in r.err and "2**62" in r.err, r
