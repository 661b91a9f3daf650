"""V-Rex and its GPU baselines on the one engine: `archsim run` and `archsim reproduce vrex`
give the same numbers (they call the same simulate on the same workload), the scheduler
reproduces the list scheduler the study used to run privately, a session is the sum of its
phases, and PCIe / SSD / idle power are priced once, by the energy layer."""
from __future__ import annotations

import json
import warnings
from collections import defaultdict
from pathlib import Path

import attrs
import pytest

from archsim.blocks.vrex.generator import Params, phases, steps
from archsim.cli import main as cli_main
from archsim.config.arch import load_arch
from archsim.config.load import read_toml, structure
from archsim.errors import ModelError
from archsim.simulate import evaluate_ops, simulate
from archsim.studies import vrex as study
from archsim.workloads.load import Workload, load_workload

REPO = Path(__file__).resolve().parents[1]
EDGE = REPO / "arch_configs" / "vrex" / "vrex8-edge.toml"
SERVER = REPO / "arch_configs" / "vrex" / "vrex48-server.toml"
ORIN = REPO / "arch_configs" / "gpu" / "vrex-paper" / "jetson-agx-orin-32gb.toml"
A100 = REPO / "arch_configs" / "gpu" / "vrex-paper" / "a100-80gb-pcie.toml"
FRAME_VREX = REPO / "workloads" / "video_llm" / "frame-40k-vrex.toml"
FRAME_FLEXGEN = REPO / "workloads" / "video_llm" / "frame-40k-flexgen.toml"
SMALL = dict(n_layers=3, vision_layers=2, frames=3, question_tokens=5, answer_tokens=4, recent_kv_tokens=8192)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _params_of(toml: Path) -> Params:
    return structure(Params, read_toml(toml)["params"], file=toml, key="params")


def _cli_run(tmp_path, arch: Path, wl: Path) -> dict:
    out = tmp_path / f"{arch.stem}-{wl.stem}.json"
    assert cli_main(["run", str(arch), str(wl), "--json", str(out)]) == 0
    return json.loads(out.read_text())["totals"]


@pytest.mark.parametrize("arch, wl", [(EDGE, FRAME_VREX), (ORIN, FRAME_FLEXGEN)], ids=["vrex8", "orin-flexgen"])
def test_run_and_reproduce_agree(tmp_path, arch, wl):
    """`archsim run ARCH frame-40k-*.toml` and the study's step of the same [params] give the
    same latency and energy (within 0.1 %; they are the same simulate)."""
    t = _cli_run(tmp_path, arch, wl)
    r = study.step(load_arch(arch), _params_of(wl), "frame")
    assert r.latency_s == pytest.approx(t["latency_s"], rel=1e-3)
    assert r.energy_j == pytest.approx(t["energy_j"], rel=1e-3)


def _list_schedule(durations, resources, deps):
    """The list scheduler the V-Rex study ran privately before it joined the engine
    (archsim/studies/vrex_session.py: in program order, start = max(resource free, deps' ends))."""
    free: dict[str, float] = defaultdict(float)
    start, end = [], []
    for i, dur in enumerate(durations):
        s = free[resources[i]]
        for d in deps[i]:
            s = max(s, end[d])
        start.append(s)
        end.append(s + dur)
        free[resources[i]] = s + dur
    return start, end


@pytest.mark.parametrize("arch_path, policy, phase", [
    (EDGE, "vrex", "frame"), (EDGE, "vrex", "answer"), (SERVER, "vrex", "frame"),
    (ORIN, "flexgen", "frame"), (ORIN, "gpu_resv", "frame"), (A100, "infinigenp", "frame"), (A100, "rekv", "answer")])
def test_scheduler_reproduces_the_old_list_scheduler(arch_path, policy, phase):
    """One step: same start and end per task as the old step runner's list scheduler, run on the
    step's own task dependencies (Task.deps) and the resources the old runner used (compute,
    hcu, wtu, link / link_rd, link_wr — named <component>.<unit> now)."""
    arch = load_arch(arch_path)
    off = "ssd" if arch_path in (EDGE, ORIN) else "cpu_memory"
    p = Params(kv_history_tokens=20000, phase=phase, policy=policy, offload_source=off, recent_kv_tokens=8192)
    st = steps(p)[0]
    w = study.workload(p)
    rep = simulate(arch, w)
    res = evaluate_ops(arch, w)
    assert [o.name for o in rep.ops] == [f"{phase}.{t.name}" for t in st.tasks]
    old = {"vrex.lxe": "compute", "gpu.sm": "compute", "vrex.hcu": "hcu", "vrex.wtu": "wtu",
           "vrex.pcie": "link", "host.pcie_rd": "link_rd", "host.pcie_wr": "link_wr"}
    start, end = _list_schedule([r.latency_s for r in res], [old[r.resource] for r in res], [t.deps for t in st.tasks])
    assert list(rep.timeline.start_s) == pytest.approx(start, rel=1e-12, abs=1e-15)
    assert list(rep.timeline.end_s) == pytest.approx(end, rel=1e-12, abs=1e-15)
    assert rep.latency_s == pytest.approx(max(end), rel=1e-12)


@pytest.mark.parametrize("arch_path, policy", [(EDGE, "vrex"), (ORIN, "flexgen"), (A100, "rekv")])
def test_session_is_the_sum_of_its_phases(arch_path, policy):
    """Phases are separated by a barrier, so a session's makespan is the sum of its phases'
    makespans (each phase alone: one step at its mean history, ops repeated by its step count),
    and its energy the sum of theirs but for static power over the same time."""
    arch = load_arch(arch_path)
    off = "ssd" if arch_path in (EDGE, ORIN) else "cpu_memory"
    p = Params(kv_history_tokens=20000, policy=policy, offload_source=off, **SMALL)
    w = study.workload(p, "session")
    se = simulate(arch, w)
    total = dyn = 0.0
    for kind, kv_len, count in phases(p):
        # the phase alone: its slice of the session graph without the barrier edges
        idx = [i for i, o in enumerate(w.ops) if o.name.split(".")[0] == kind]
        lo = idx[0]
        after = tuple(tuple(d - lo for d in w.after[i] if d >= lo) for i in idx)
        ph = simulate(arch, Workload(name=kind, ops=tuple(w.ops[i] for i in idx), after=after))
        total += ph.latency_s
        dyn += ph.dynamic_energy_j
    assert [k for k, _, _ in phases(p)] == ["frame", "question", "answer"]
    assert se.latency_s == pytest.approx(total, rel=1e-9)
    assert se.dynamic_energy_j == pytest.approx(dyn, rel=1e-9)
    assert se.energy_j == pytest.approx(dyn + se.leakage_power_w * total, rel=1e-9)


@pytest.mark.parametrize("arch_path, policy", [(EDGE, "vrex"), (ORIN, "flexgen")])
def test_coin_session_is_count_times_steps(arch_path, policy):
    """The COIN average session (26 frames, question, 39 answers) at 40K equals
    sum(step count x one step's makespan): a phase's ops repeat by its step count, ops that do
    not stream stay single blocks (simulate.scale_result), and list scheduling is homogeneous,
    so scaling every duration by the count scales the phase's makespan by it."""
    arch = load_arch(arch_path)
    p = Params(kv_history_tokens=40000, policy=policy, offload_source="ssd", recent_kv_tokens=8192)
    se = simulate(arch, study.workload(p, "session"))
    steps_total = sum(count * study.step(arch, p, kind, kv_len).latency_s for kind, kv_len, count in phases(p))
    assert se.latency_s == pytest.approx(steps_total, rel=1e-9)


def test_phase_barrier_in_the_graph():
    """A phase's roots wait for every sink of the phase before it; nothing else crosses."""
    w = study.workload(Params(policy="vrex", **SMALL), "session")
    phase_of = [o.name.split(".")[0] for o in w.ops]
    first = {ph: phase_of.index(ph) for ph in ("frame", "question", "answer")}
    sinks_frame = [i for i in range(first["question"]) if not any(i in w.after[j] for j in range(first["question"]))]
    assert sinks_frame and w.ops[sinks_frame[-1]].name == "frame.lm_head"
    for j in range(first["question"], first["answer"]):
        d = w.after[j]
        assert all(i >= first["question"] for i in d) or tuple(d) == tuple(sinks_frame)
    roots = [j for j in range(first["question"], first["answer"]) if tuple(w.after[j]) == tuple(sinks_frame)]
    assert roots and all(w.after[j] for j in range(len(w.ops)) if j >= first["question"])


def test_gpu_baseline_prices_pcie_per_bit_and_idle_power_over_gaps(tmp_path):
    """AGX + FlexGen, one frame at 40K: its KV transfers run on the host link (host.pcie_rd /
    host.pcie_wr), priced per bit by the tech table (5 pJ/bit PCIe 3.0) and per SSD byte; the
    GPU's idle power and the SSD's idle power are static power over the whole makespan (gaps in
    which the GPU waits for PCIe included)."""
    arch = load_arch(ORIN)
    rep = simulate(arch, load_workload(FRAME_FLEXGEN))
    xfer = [o for o in rep.ops if o.op == "kv_transfer"]
    assert xfer and {o.resource for o in xfer} == {"host.pcie_rd", "host.pcie_wr"}
    for o in xfer:
        assert o.component == "host"
        assert o.energy_breakdown_j["link.pcie"] == pytest.approx(o.actions["link.pcie.bytes"] * 8 * 5e-12)
        assert o.energy_breakdown_j["ssd"] > 0
    gpu = arch.components["gpu"]
    assert rep.leakage_power_w == pytest.approx(gpu.idle_power_w + arch.components["host"].ssd.idle_power_w)
    busy = rep.timeline.resource("gpu.sm").busy_s
    assert rep.latency_s > 2 * busy                  # PCIe-bound: the GPU idles most of the frame
    assert rep.energy_j == pytest.approx(rep.dynamic_energy_j + rep.leakage_power_w * rep.latency_s)


def test_vrex_kvmu_prices_pcie_per_bit():
    # the fixed 8192-token window: a 40K history crosses PCIe (the memory-derived default keeps
    # all of it on the device at batch 1: test_memory_window_holds_the_history_at_batch_1)
    arch = load_arch(EDGE, {"components.vrex.kvmu.window": "tokens"})
    rep = simulate(arch, load_workload(FRAME_VREX))
    fetch = [o for o in rep.ops if o.op == "kv_fetch"]
    assert fetch and {o.resource for o in fetch} == {"vrex.pcie"}
    for o in fetch:
        assert o.energy_breakdown_j["link.pcie"] == pytest.approx(o.actions["link.pcie.bytes"] * 8 * 5e-12)
    assert {o.resource for o in rep.ops} == {"vrex.lxe", "vrex.hcu", "vrex.wtu", "vrex.pcie"}
    # SSD idle power is part of the system's static power
    ssd = arch.components["vrex"].ssd.idle_power_w
    no_ssd = load_arch(EDGE, {"components.vrex.kvmu.offload": "cpu_memory", "components.vrex.kvmu.window": "tokens"})
    assert simulate(arch, load_workload(FRAME_VREX)).leakage_power_w == pytest.approx(
        simulate(no_ssd, load_workload(FRAME_VREX)).leakage_power_w + ssd)


def test_block_energy_adds_up_to_the_report():
    """The study's per-block split reassigns the Report's priced op energies; it prices nothing."""
    arch = load_arch(EDGE, {"components.vrex.kvmu.window": "tokens"})    # so that PCIe carries KV
    rep = simulate(arch, load_workload(FRAME_VREX))
    parts = study.block_energy_j(rep, "vrex", "bf16")
    assert sum(parts.values()) == pytest.approx(rep.dynamic_energy_j, rel=1e-12)
    assert all(v >= 0 for v in parts.values()) and parts["dpe"] > parts["vpe"] > 0 and parts["pcie"] > 0


def test_gpu_presets_carry_the_paired_vrex_host_link():
    """Tab. I: each V-Rex system and its GPU use the same PCIe and offload target."""
    for vrex_path, gpu_path in ((EDGE, ORIN), (SERVER, A100)):
        v = load_arch(vrex_path).components["vrex"]
        g = load_arch(gpu_path)
        h = g.components["host"]
        assert g.mapping["kv_transfer"] == "host"
        assert h.offload == v.kvmu.offload and h.pcie == v.host_link
        assert (h.ssd == v.ssd) if h.offload == "ssd" else (h.host_memory == v.host_memory)


def test_host_link_checks_the_offload_target():
    w = study.workload(Params(kv_history_tokens=2000, phase="frame", policy="flexgen", offload_source="ssd",
                              n_layers=2))
    with pytest.raises(ModelError, match="cpu_memory"):
        simulate(load_arch(A100), w)


def test_memory_window_holds_the_history_at_batch_1():
    """The default recent-KV window is what the device memory holds after the weights, the
    vision tower, activations, HC table and two layers of fetch staging: at 40K and batch 1 the
    whole history stays on the edge device (nothing crosses PCIe); the window shrinks about
    as 1/batch; 'weights_only' (the paper preset) is larger; 'tokens' keeps the fixed form."""
    from archsim.blocks.vrex.model import recent_window
    p1 = Params(kv_history_tokens=40000, batch=1)
    spec = load_arch(EDGE).components["vrex"]

    def win(spec, p):
        return recent_window(spec, batch=p.batch, kv_len=p.kv_history_tokens, n_layers=p.n_layers,
                             kv_heads=p.n_kv_heads, head_dim=p.head_dim, dtype=p.dtype,
                             weight_bytes=p.weight_bytes(),
                             other_resident_bytes=p.vision_weight_bytes() + p.activation_bytes())["tokens"]
    w1 = win(spec, p1)
    # hand arithmetic: 32 GiB - weights - vision/projector - activations - 2 x 8 x 40000 x 512 B,
    # over 32 layers x (8 x 512 B of K+V + a 4 B HC index + 4/32 B of cluster hash)
    free = 32 * 2**30 - p1.weight_bytes() - p1.vision_weight_bytes() - p1.activation_bytes() - 2 * 8 * 40000 * 512
    assert w1 == int(free // (32 * (8 * 512 + 4 + 4 / 32)))
    assert w1 > 40000
    rep = simulate(load_arch(EDGE), load_workload(FRAME_VREX))
    fetch = [o for o in rep.ops if o.op == "kv_fetch"]
    assert all(o.actions.get("link.pcie.bytes", 0.0) == 0.0 for o in fetch)
    assert all(o.details["recent_window_tokens"] == w1 for o in fetch[:1])
    w4 = win(spec, attrs.evolve(p1, batch=4))
    assert 0.2 * w1 < w4 < 0.25 * w1
    paper = load_arch(EDGE, {"components.vrex.kvmu.window": "weights_only"}).components["vrex"]
    assert win(paper, p1) > w1
    fixed = load_arch(EDGE, {"components.vrex.kvmu.window": "tokens"}).components["vrex"]
    assert win(fixed, p1) == 8192
    bigger = load_arch(EDGE, {"components.vrex.memory.capacity_gib": 64.0}).components["vrex"]
    assert win(bigger, p1) > w1
