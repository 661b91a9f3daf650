"""Property-based fuzzing of every shipped config, workload and sweep file: drop keys, wrong
types, junk values, garbage bytes. Loading must succeed or raise ConfigError — never any other
exception (a traceback is a bug)."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.config.arch import arch_from_data, load_arch
from archsim.config.load import read_toml, resolve_extends
from archsim.errors import ConfigError
from archsim.workloads.load import _from_toml_data, load_workload

REPO = Path(__file__).resolve().parents[1]


def _arch_files():
    out = []
    for p in sorted((REPO / "arch_configs").rglob("*.toml")):
        if p.name.startswith("."):
            continue
        try:
            data = resolve_extends(p)
        except ConfigError:
            continue
        if "components" in data:
            out.append(p)
    return out


def _workload_files():
    out = []
    for p in sorted((REPO / "workloads").rglob("*")):
        if p.name.startswith("."):
            continue
        if p.suffix in (".jsonl", ".csv"):
            out.append(p)
        elif p.suffix == ".toml":
            data = read_toml(p)
            if "ops" in data or "generator" in data:
                out.append(p)
    return out


ARCHS = _arch_files()
WORKLOADS = _workload_files()

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=10**6), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(d, prefix=()):
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(d, list):
        for i, v in enumerate(d[:4]):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw, data):
    d = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(d)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["drop", "junk", "add", "scale"]))
        last = path[-1]
        if action == "drop":
            if isinstance(parent, dict):
                del parent[last]
            elif len(parent) > 1:
                parent.pop(last)
        elif action == "junk":
            parent[last] = draw(junk)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(junk)
        elif action == "scale" and isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
            factor = draw(st.sampled_from([0, -1, 1000, 10**9, 0.5]))
            v = parent[last] * factor
            parent[last] = int(v) if isinstance(parent[last], int) else v
    return d


FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _only_config_errors(fn):
    try:
        fn()
    except ConfigError:
        pass


@pytest.mark.skipif(not ARCHS, reason="no arch presets shipped yet")
@pytest.mark.parametrize("path", ARCHS, ids=lambda p: str(p.relative_to(REPO)))
def test_fuzz_arch_presets(path):
    base = resolve_extends(path)
    assert "components" in base
    load_arch(path)            # the shipped preset itself is valid

    @FUZZ
    @given(mutated(base))
    def check(d):
        _only_config_errors(lambda: arch_from_data(d, file=path))
    check()


@pytest.mark.skipif(not WORKLOADS, reason="no workloads shipped yet")
@pytest.mark.parametrize("path", [p for p in WORKLOADS if p.suffix == ".toml"] or [None],
                         ids=lambda p: str(p.relative_to(REPO)) if p else "none")
def test_fuzz_workload_toml(path):
    if path is None:
        pytest.skip("no TOML workloads")
    base = read_toml(path)
    load_workload(path)

    @FUZZ
    @given(mutated(base))
    def check(d):
        _only_config_errors(lambda: _from_toml_data(d, file=path, default_name="w"))
    check()


ALL_FILES = ARCHS + WORKLOADS + [p for p in sorted((REPO / "sweeps").glob("*.toml")) if not p.name.startswith(".")]


@pytest.mark.skipif(not ALL_FILES, reason="nothing shipped yet")
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_fuzz_garbage_bytes(path, tmp_path):
    """Flip, delete and insert bytes in the file itself, then load it from a copy placed beside
    the original's relative `extends` targets (so extends still resolve)."""
    raw = path.read_bytes()

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, max(len(raw) - 1, 0)), st.integers(0, 255),
                              st.sampled_from(["set", "del", "ins"])), min_size=1, max_size=6))
    def check(edits):
        b = bytearray(raw)
        for pos, val, kind in edits:
            pos = min(pos, len(b) - 1) if b else 0
            if kind == "set" and b:
                b[pos] = val
            elif kind == "del" and b:
                del b[pos]
            else:
                b.insert(pos, val)
        target = path.with_name(f".fuzz-{path.name}")
        target.write_bytes(bytes(b))
        try:
            if path in ARCHS:
                _only_config_errors(lambda: load_arch(target))
            elif path.parent.name == "sweeps" and path.parent.parent == REPO:
                from archsim.sweep.spec import load_sweep
                _only_config_errors(lambda: load_sweep(target))
            else:
                _only_config_errors(lambda: load_workload(target))
        finally:
            target.unlink(missing_ok=True)
    check()


def test_fuzz_generic_loader_with_fake_component(fake_component):
    """The generic loader on a synthetic arch, independent of what presets exist."""
    base = {"name": "f", "tech": {"node_nm": 7}, "budget": {"area_mm2": 10.0},
            "components": {"a": {"kind": "fake", "lanes": 8, "inner": {"depth": 2}}},
            "mapping": {"gemm": "a"}}

    @FUZZ
    @given(mutated(base))
    def check(d):
        _only_config_errors(lambda: arch_from_data(d, file="fuzz.toml"))
    check()
