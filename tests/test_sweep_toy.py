"""A toy component for the sweep tests, importable by worker processes (pool and Dask workers
import the module named in the registry, and importing this file registers kind "sweep_toy").

Model (hand-checkable): a `lanes`-wide MAC array at `clock_ghz`; a gemm of m*k*n MACs takes
ceil(macs / lanes) cycles. `fail_lanes` makes points with that many lanes raise (a failing
point); `delay_s` sleeps per op so kill tests can land mid-sweep.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import attrs

from archsim.config import registry
from archsim.blocks.base import OpResult, Structure
from archsim.config.load import field

KIND = "sweep_toy"
HERE = Path(__file__).resolve().parent


@attrs.frozen(kw_only=True)
class Spec:
    lanes: int = field(ge=1, le=1 << 20, doc="MAC lanes")
    clock_ghz: float = field(1.0, gt=0.0, doc="clock")
    buffer_kib: int = field(64, ge=1, doc="a buffer (only stored, to test derived keys)")
    fail_lanes: int = field(0, ge=0, doc="raise on points with this many lanes (0 = never)")
    delay_s: float = field(0.0, ge=0.0, le=1.0, doc="sleep per op (kill tests)")


def supports(spec, op):
    return op.KIND == "gemm"


def evaluate(spec, op, ctx):
    if spec.lanes == spec.fail_lanes:
        raise RuntimeError(f"toy failure at lanes={spec.lanes}")
    if spec.delay_s:
        time.sleep(spec.delay_s)
    macs = op.macs()
    cycles = -(-macs // spec.lanes)
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name, cycles=cycles,
                    latency_s=cycles / (spec.clock_ghz * 1e9), flops=2.0 * macs,
                    actions={f"mac.{op.dtype}": float(macs)})


def structure(spec):
    return Structure(name="toy", kind=KIND, clock_ghz=spec.clock_ghz, units={"mac.int8": spec.lanes})


registry.COMPONENT_MODULES[KIND] = __name__


def register():
    """Make the module importable by name in this process (and in workers via sys.path)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    registry.COMPONENT_MODULES[KIND] = __name__


def test_toy_model_hand_example():
    from archsim.blocks.base import EvalContext
    from archsim.workloads.ops import Gemm
    r = evaluate(Spec(lanes=8, clock_ghz=2.0), Gemm(m=3, k=5, n=7, dtype="int8"),
                 EvalContext(arch=None, component_name="t"))
    assert r.cycles == 14            # ceil(105 / 8)
    assert r.latency_s == 7e-9       # 14 cycles at 2 GHz


TOY_ARCH = """\
name = "toy"
[components.t]
kind = "sweep_toy"
lanes = 8
"""
# SCALE-Sim GEMM topology: g1 = 64*64*64 = 262144 MACs, g2 = 128*32*16 = 65536 MACs
TOY_WORKLOAD = """\
Layer, M, N, K,
g1, 64, 64, 64,
g2, 128, 32, 16,
"""
TOY_MACS = 64 * 64 * 64 + 128 * 32 * 16


def write_toy_sweep(folder: Path, body: str, *, name: str = "toy") -> Path:
    """arch.toml, wl.csv and NAME.toml (a sweep over the toy arch with `body` after [sweep])."""
    register()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arch.toml").write_text(TOY_ARCH)
    (folder / "wl.csv").write_text(TOY_WORKLOAD)
    path = folder / f"{name}.toml"
    path.write_text(f'[sweep]\nname = "{name}"\narch = "arch.toml"\nworkload = "wl.csv"\n{body}')
    return path
