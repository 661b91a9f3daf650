"""Shared test fixtures. Paths come from __file__, never the cwd."""
import sys
import types
from pathlib import Path

import attrs
import pytest

REPO = Path(__file__).resolve().parents[1]


def _make_fake_component():
    """A tiny component for testing the generic machinery without any real block."""
    from archsim.blocks.base import OpResult, SramInstance, Structure
    from archsim.config.load import field

    mod = types.ModuleType("archsim_test_fake_component")

    @attrs.frozen(kw_only=True)
    class Inner:
        depth: int = field(4, ge=1, doc="an inner knob")

    @attrs.frozen(kw_only=True)
    class Spec:
        lanes: int = field(ge=1, le=4096, doc="MAC lanes")
        clock_ghz: float = field(1.0, gt=0.0, doc="clock")
        mode: str = field("fast", choices=("fast", "slow"))
        inner: Inner = Inner()

    def supports(spec, op):
        return op.KIND in ("gemm", "elementwise")

    def evaluate(spec, op, ctx):
        macs = op.macs() if op.KIND == "gemm" else op.n_elements
        cycles = -(-macs // spec.lanes)
        return OpResult(name=op.name, op=op.KIND, component=ctx.component_name, cycles=cycles,
                        latency_s=cycles / (spec.clock_ghz * 1e9), flops=2.0 * macs,
                        actions={f"mac.{op.dtype}": macs})

    def structure(spec):
        return Structure(name="fake", kind="fake", clock_ghz=spec.clock_ghz,
                         units={"mac.int8": spec.lanes},
                         srams=(SramInstance(name="buf", capacity_bytes=1024),))

    mod.KIND, mod.Spec, mod.Inner = "fake", Spec, Inner
    mod.supports, mod.evaluate, mod.structure = supports, evaluate, structure
    return mod


@pytest.fixture
def fake_component(monkeypatch):
    """Registers kind 'fake' for the duration of a test."""
    from archsim.config import registry
    mod = _make_fake_component()
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(registry.COMPONENT_MODULES, "fake", mod.__name__)
    return mod
