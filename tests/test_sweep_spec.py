"""Sweep files: axes, ranges, zip, random, derived expressions, constraints, objectives, and
one ConfigError (file, key, what is allowed) per bad input."""
from __future__ import annotations

import itertools
from pathlib import Path
import random
import textwrap

import pytest

from archsim.errors import ConfigError
from archsim.sweep.pareto import pareto_mask
from archsim.sweep.space import ExprError, compile_expr, range_values
from archsim.sweep.spec import load_sweep
from test_sweep_toy import write_toy_sweep

FULL = textwrap.dedent("""\
    [space]
    "components.t.lanes" = { start = 4, stop = 32, scale = "log2" }
    [[space.zip]]
    "components.t.clock_ghz" = [1.0, 2.0]
    "tech.node_nm" = [7, 16]
    [space.random]
    samples = 3
    seed = 11
    "components.t.fail_lanes" = { randint = [100, 200] }
    [derived]
    "components.t.buffer_kib" = "max(16, lanes * 2)"
    [constraints]
    area_mm2 = 5.0
    require = ["totals.latency_s < 1e-3", "lanes >= 8 or totals.cycles < 1e9"]
    [objectives]
    "totals.latency_s" = "min"
    "totals.cycles * lanes" = "min"
""")


def test_full_example_expands_in_order(tmp_path):
    spec = load_sweep(write_toy_sweep(tmp_path, FULL))
    assert spec.n_points == 4 * 2 * 3
    pts = list(spec.points())
    assert len(pts) == spec.n_points
    assert spec.param_keys == ("components.t.lanes", "components.t.clock_ghz", "tech.node_nm",
                               "components.t.fail_lanes", "components.t.buffer_kib")
    # last axis fastest: the random axis cycles first, then the zip, then lanes
    assert [p.params["components.t.lanes"] for p in pts[::6]] == [4, 8, 16, 32]
    assert [(p.params["components.t.clock_ghz"], p.params["tech.node_nm"]) for p in pts[:6:3]] == [(1.0, 7), (2.0, 16)]
    # derived: max(16, lanes * 2)
    assert [p.params["components.t.buffer_kib"] for p in pts[::6]] == [16, 16, 32, 64]
    # random: Python's Random(seed) sequence, drawn in parameter order per sample
    rng = random.Random(11)
    expect = [rng.randint(100, 200) for _ in range(3)]
    assert [p.params["components.t.fail_lanes"] for p in pts[:3]] == expect
    assert [c.text for c in spec.constraints][0] == "totals.area_mm2 <= 5.0"
    assert [(o.text, o.goal) for o in spec.objectives] == [("totals.latency_s", "min"), ("totals.cycles * lanes", "min")]
    # keys: a hash of the resolved config; all distinct here, stable across loads
    keys = [spec.point_key(p) for p in pts]
    assert len(set(keys)) == len(keys)
    assert keys == [load_sweep(spec.file).point_key(p) for p in load_sweep(spec.file).points()]


def test_nested_tables_equal_dotted_keys(tmp_path):
    a = load_sweep(write_toy_sweep(tmp_path / "a", '[space]\n"components.t.lanes" = [1, 2]\n'))
    b = load_sweep(write_toy_sweep(tmp_path / "b", "[space.components.t]\nlanes = [1, 2]\n"))
    assert [p.params for p in a.points()] == [p.params for p in b.points()]


@pytest.mark.parametrize("spec, expect", [
    ({"start": 32, "stop": 256, "scale": "log2"}, (32, 64, 128, 256)),
    ({"start": 32, "stop": 200, "scale": "log2"}, (32, 64, 128)),
    ({"start": 1, "stop": 10, "step": 3}, (1, 4, 7, 10)),
    ({"start": 0.5, "stop": 1.0, "step": 0.25}, (0.5, 0.75, 1.0)),
    ({"start": 0, "stop": 1, "num": 5}, (0.0, 0.25, 0.5, 0.75, 1.0)),
    ({"values": ["os", "ws"]}, ("os", "ws")),
])
def test_ranges(spec, expect):
    assert range_values(spec, file="f", key="k") == expect


@pytest.mark.parametrize("text, env, expect", [
    ("rows * cols // 64", {"a.rows": 128, "a.cols": 64}, 128),
    ("max(64, a.rows) + min(1, 2) - abs(-3)", {"a.rows": 32, "a.cols": 1}, 62),
    ("round(a.rows / 3)", {"a.rows": 10, "a.cols": 1}, 3),
    ("int(log2(a.rows))", {"a.rows": 1024, "a.cols": 1}, 10),
    ("2 ** a.cols % 5", {"a.rows": 1, "a.cols": 3}, 3),
])
def test_expressions(text, env, expect):
    assert compile_expr(text, ["a.rows", "a.cols"], file="f", key="k")(env) == expect


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('true')", "not allowed"),
    ("rows.__class__", "unknown name"),
    ("(lambda: 1)()", "call not allowed"),
    ("'abc'", "only numbers"),
    ("[rows]", "List not allowed"),
    ("rows if 1 else 2", "IfExp not allowed"),
    ("open(1)", "call not allowed"),
    ("max(*[1])", "call not allowed"),
    ("nosuch + 1", "unknown name 'nosuch'"),
    ("x +", "cannot parse"),
])
def test_expressions_refuse_anything_else(text, fragment):
    with pytest.raises(ConfigError) as ei:
        compile_expr(text, ["a.rows"], file="s.toml", key="derived.x")
    assert ei.value.key == "derived.x" and fragment in ei.value.message


def test_expression_runtime_guards():
    names = ["a.x"]
    with pytest.raises(ExprError, match="division by zero"):
        compile_expr("1 / x", names, file="f", key="k")({"a.x": 0})
    with pytest.raises(ExprError, match="too large"):
        compile_expr("2 ** 10 ** 9", names, file="f", key="k")({"a.x": 0})
    with pytest.raises(ExprError, match="not a number"):
        compile_expr("x + 1", names, file="f", key="k")({"a.x": "os"})


BAD = [
    ('[space]\n"components.t.lanes" = [1]\n[bogus]\n', "bogus", "unknown key; allowed: sweep"),
    ('[space]\n"foo.bar" = [1, 2]\n', "space.foo.bar", "dotted key of the arch"),
    ('[space]\n"components.t.lanez" = [1, 2]\n', "space.components.t.lanez", "unknown key; allowed: lanes"),
    ('[space]\n"components.t.lanes" = [0, 1]\n', "space.components.t.lanes", "must be >= 1"),
    ('[space]\n"components.t.lanes" = 4\n', "space.components.t.lanes", "expected a list of values or a range"),
    ('[space]\n"components.t.lanes" = {start = 8, stop = 4, step = 1}\n', "space.components.t.lanes.stop", "must be >= start"),
    ('[space]\n"components.t.lanes" = {start = 1, stop = 4}\n', "space.components.t.lanes", "exactly one of step, num, scale"),
    ('[space]\n"components.t.lanes" = {start = 1, stop = 4, scale = "log10"}\n', "space.components.t.lanes.scale", "allowed values: log2"),
    ('[space]\n"components.t.lanes" = {start = 1, stop = 100000000, step = 1}\n', "space.components.t.lanes", "at most"),
    ('[[space.zip]]\n"components.t.lanes" = [1, 2]\n"components.t.clock_ghz" = [1.0]\n', "space.zip[0].components.t.clock_ghz", "equal lengths"),
    ('[space.random]\nsamples = 0\n"components.t.lanes" = {randint = [1, 4]}\n', "space.random.samples", "integer from 1"),
    ('[space.random]\nsamples = 2\n"components.t.lanes" = {normal = [1, 4]}\n', "space.random.components.t.lanes", "expected one of {uniform"),
    ('[space.random]\nsamples = 2\n"components.t.lanes" = {randint = [1.5, 4]}\n', "space.random.components.t.lanes.randint", "two integers"),
    ('[space]\n"components.t.lanes" = [1, 2]\n[derived]\n"components.t.buffer_kib" = "lanes / 2"\n', "derived.components.t.buffer_kib", "expected integer"),
    ('[space]\n"components.t.lanes" = [1, 2]\n[derived]\n"components.t.lanes" = "2"\n', "derived.components.t.lanes", "already a swept"),
    ('[space]\n"components.t.lanes" = [1, 2]\n[derived]\n"components.t.buffer_kib" = "eval(1)"\n', "derived.components.t.buffer_kib", "call not allowed"),
    ('[space]\n"workload.name" = ["a"]\n', "space.workload.name", "TOML workloads only"),
    ('[space]\n"components.t.lanes" = [1]\n[objectives]\n"totals.latency_s" = "smallest"\n', "objectives.totals.latency_s", "allowed values: min, max"),
    ('[space]\n"components.t.lanes" = [1]\n[objectives]\n"totals.speed" = "min"\n', "objectives.totals.speed", "unknown name"),
    ('[space]\n"components.t.lanes" = [1]\n[constraints]\nrequire = ["totals.latency_s"]\n', "constraints.require[0]", "expected a comparison"),
    ('[space]\n"components.t.lanes" = [1]\n[constraints]\npower_w = -1\n', "constraints.power_w", "number > 0"),
    ('[space]\n"components.t.lanes" = [1]\n[constraints]\nbudgets = true\n', "constraints.budgets", "allowed: budget"),
]


@pytest.mark.parametrize("body, key, fragment", BAD, ids=[b[1] for b in BAD])
def test_bad_sweep_files(tmp_path, body, key, fragment):
    path = write_toy_sweep(tmp_path, body)
    with pytest.raises(ConfigError) as ei:
        load_sweep(path)
    assert ei.value.file == str(path)
    assert ei.value.key == key
    assert fragment in ei.value.message, ei.value.message


def test_bad_sweep_table(tmp_path):
    (tmp_path / "s.toml").write_text('[sweep]\narch = "missing.toml"\nworkload = "w.csv"\n')
    with pytest.raises(ConfigError) as ei:
        load_sweep(tmp_path / "s.toml")
    assert ei.value.key == "sweep.arch" and "not found" in ei.value.message
    (tmp_path / "s.toml").write_text("[space]\n")
    with pytest.raises(ConfigError) as ei:
        load_sweep(tmp_path / "s.toml")
    assert ei.value.key == "sweep"


def test_validate_cli_reads_sweeps(tmp_path, capsys):
    from archsim.cli import main
    good = write_toy_sweep(tmp_path, '[space]\n"components.t.lanes" = [1, 2]\n')
    assert main(["validate", str(good)]) == 0
    bad = write_toy_sweep(tmp_path, '[space]\n"components.t.lanes" = [0]\n', name="bad")
    assert main(["validate", str(bad)]) == 2
    assert "components.t.lanes" in capsys.readouterr().err


def _naive_front(vals, goals):
    s = [1 if g == "min" else -1 for g in goals]
    v = [[a * b for a, b in zip(s, x)] for x in vals]
    return [not any(all(q <= p for q, p in zip(o, x)) and o != x for o in v) for x in v]


def test_pareto_hand_example_and_naive():
    # (latency, energy): (1,5) (2,2) (3,1) on the front; (2,6) dominated by (1,5); (4,4) by (2,2)
    vals = [(1, 5), (2, 6), (2, 2), (4, 4), (3, 1)]
    assert pareto_mask(vals, ["min", "min"]) == [True, False, True, False, True]
    # maximise the second: (2,6) now beats (1,5)? no: 1 < 2 in latency; both on the front
    assert pareto_mask(vals, ["min", "max"]) == [True, True, False, False, False]
    rng = random.Random(3)
    for _ in range(30):
        vals = [tuple(rng.randint(0, 6) for _ in range(3)) for _ in range(rng.randint(1, 40))]
        for goals in itertools.product(["min", "max"], repeat=3):
            assert pareto_mask(vals, goals) == _naive_front(vals, goals)


SHIPPED = sorted((Path(__file__).resolve().parents[1] / "sweeps").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_fuzz_shipped_sweeps(path):
    """Dropped keys, junk values, added keys: a ConfigError or a valid spec, never a traceback."""
    from hypothesis import given
    from test_fuzz_inputs import FUZZ, mutated

    from archsim.config.load import read_toml
    from archsim.sweep.spec import sweep_from_data
    base = read_toml(path)
    assert load_sweep(path).n_points > 0

    @FUZZ
    @given(mutated(base))
    def check(d):
        try:
            sweep_from_data(d, file=path)
        except ConfigError:
            pass
    check()
