"""JSON Schemas generated from the specs (archsim/config/schema.py):

* every shipped arch, workload and sweep file validates against its schema (as written, and an
  arch also after its `extends` are merged, against the strict variant);
* mutated configs (a wrong type, a value out of range, a value not among the allowed ones, an
  unknown key, a missing required key) fail the schema exactly where the loader that
  `archsim validate` runs fails them;
* the shipped schemas/*.schema.json and docs/config-reference.md are what the code generates now.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import typing
from pathlib import Path

import attrs
import pytest

jsonschema = pytest.importorskip("jsonschema")

from archsim.config.load import read_toml, resolve_extends  # noqa: E402
from archsim.config.schema import component_specs, generator_params, op_classes  # noqa: E402
from archsim.sweep.schema import KINDS, reference_markdown, schema  # noqa: E402
from archsim.errors import ConfigError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REGEN = ("regenerate with: archsim schema --write-all  (writes schemas/*.schema.json and "
         "docs/config-reference.md)")


def _files(kind):
    if kind == "arch":
        return sorted(p for p in (REPO / "arch_configs").rglob("*.toml") if "tech" not in p.parts)
    if kind == "workload":
        return sorted((REPO / "workloads").rglob("*.toml"))
    return sorted((REPO / "sweeps").glob("*.toml"))


@pytest.fixture(scope="module")
def validators():
    out = {}
    for k in KINDS:
        s = schema(k)
        jsonschema.Draft7Validator.check_schema(s)
        out[k] = jsonschema.Draft7Validator(s)
    return out


def _errors(validator, data):
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
            for e in validator.iter_errors(data)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_shipped_file_validates(kind, validators):
    files = _files(kind)
    assert files, kind
    bad = {}
    for p in files:
        errs = _errors(validators[kind], read_toml(p))
        if errs:
            bad[str(p.relative_to(REPO))] = errs[:3]
    assert not bad, json.dumps(bad, indent=1)


def test_merged_arch_presets_validate_strictly(validators):
    """With its parents merged in, a preset is a complete arch: the strict variant (required
    keys, component kinds) applies."""
    v = validators["arch"]
    for p in _files("arch"):
        data = resolve_extends(p)
        data.pop("extends", None)
        assert not _errors(v, data), (p, _errors(v, data)[:3])


# ----------------------------------------------------------------------------- mutations

def _loader(kind, path: Path):
    """data -> None, or raise ConfigError: what `archsim validate` runs on the file's content."""
    if kind == "arch":
        from archsim.config.arch import arch_from_data
        return lambda data: arch_from_data(resolve_extends(path, data), file=path)
    if kind == "workload":
        from archsim.workloads.load import _from_toml_data
        return lambda data: _from_toml_data(copy.deepcopy(data), file=path, default_name=path.stem)
    from archsim.sweep.spec import sweep_from_data
    return lambda data: sweep_from_data(data, file=path)


def _hints(cls):
    try:
        return typing.get_type_hints(cls)
    except NameError:
        return {f.name: f.type for f in attrs.fields(cls)}


def _attrs_of(tp):
    """The attrs class inside an annotation (X, X | None), else None."""
    if isinstance(tp, type) and attrs.has(tp):
        return tp
    for a in typing.get_args(tp):
        if isinstance(a, type) and attrs.has(a):
            return a
    return None


def _bad_values(f, tp, value):
    """Values that break the field's own declaration (type, range, choices)."""
    meta = f.metadata or {}
    base = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    t = base[0] if len(base) == 1 else tp
    out = []
    if t in (int, float):
        out.append("not a number")
        if "ge" in meta:
            out.append(meta["ge"] - 1 if t is int else meta["ge"] - abs(meta["ge"]) * 0.5 - 1.0)
        if "gt" in meta:
            out.append(meta["gt"])
        if "le" in meta:
            out.append(meta["le"] * 2 + 1)
        if "lt" in meta:
            out.append(meta["lt"])
        if t is int:
            out.append(1.5)
    elif t is bool:
        out.append("yes")
    elif t is str or typing.get_origin(t) is typing.Literal:
        out.append(12345)
        if typing.get_origin(t) is typing.Literal or "choices" in meta:
            out.append("not-an-allowed-value")
    elif typing.get_origin(t) in (tuple, list):
        out.append("not an array")
    return out


def _walk(cls, data, path, strict):
    """(path, mutated value or DELETE) pairs for one attrs table present in the data."""
    hints = _hints(cls)
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    yield path + ("zz_not_a_key",), 1
    for name, f in fields.items():
        tp = hints.get(name, f.type)
        if name not in data:
            continue
        sub = _attrs_of(tp)
        if sub is not None and isinstance(data[name], dict):
            yield from _walk(sub, data[name], path + (name,), strict)
            continue
        for bad in _bad_values(f, tp, data[name]):
            yield path + (name,), bad
        if strict and f.default is attrs.NOTHING:
            yield path + (name,), DELETE


DELETE = object()


def _mutations(kind, data, path):
    strict = "extends" not in data
    if kind == "arch":
        from archsim.config.arch import TechSpec
        yield ("zz_not_a_key",), 1
        if "tech" in data:
            yield from _walk(TechSpec, data["tech"], ("tech",), strict)
        specs = component_specs()
        merged = resolve_extends(path).get("components", {})
        for cname, table in (data.get("components") or {}).items():
            # a preset that extends another may leave the kind to its parent
            kind_ = table.get("kind") or merged.get(cname, {}).get("kind")
            yield ("components", cname, "kind"), "not_a_kind"
            body = {k: v for k, v in table.items() if k != "kind"}
            yield from _walk(specs[kind_], body, ("components", cname), strict)
        if data.get("mapping"):
            yield ("mapping", "not_an_op"), "x"
    elif kind == "workload":
        yield ("zz_not_a_key",), 1
        if "generator" in data:
            yield ("generator",), "not_a_generator"
            yield from _walk(generator_params()[data["generator"]], data.get("params", {}), ("params",), True)
        for i, op in enumerate(data.get("ops", [])):
            yield ("ops", i, "op"), "not_an_op"
            yield from _walk(op_classes()[op["op"]], {k: v for k, v in op.items() if k != "op"},
                             ("ops", i), True)
    else:
        yield ("zz_not_a_key",), 1
        yield ("sweep", "zz_not_a_key"), 1
        yield ("sweep", "arch"), 5
        yield ("sweep",), DELETE
        yield ("constraints", "area_mm2"), -1.0
        yield ("constraints", "budget"), "yes"
        yield ("constraints", "zz_not_a_key"), 1
        yield ("objectives", "totals.latency_s"), "smallest"
        space = data.get("space", {})
        if "random" in space:
            yield ("space", "random", "samples"), 0
            yield ("space", "random", "seed"), -1
        for k, v in space.items():
            if isinstance(v, list):
                yield ("space", k), []
                yield ("space", k), {"start": 1}
        if "zip" in space:
            yield ("space", "zip"), 5
        yield ("space", "not_a_root.rows"), [1, 2]


def _apply(data, path, value):
    d = copy.deepcopy(data)
    node = d
    for p in path[:-1]:
        node = node.setdefault(p, {}) if isinstance(node, dict) else node[p]
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_configs_fail_the_schema_where_validate_fails(kind, validators):
    v = validators[kind]
    n, disagree = 0, []
    files = _files(kind)
    if kind == "workload":     # the video-LLM generator expands long sessions: one of each family
        files = [p for p in files if p.name in ("nerf_hashgrid_1080p.toml", "frame-40k-vrex.toml")]
        files.append(REPO / "tests" / "data" / "schema" / "ops.toml")
    for p in files:
        raw = read_toml(p)
        load = _loader(kind, p)
        for path, value in _mutations(kind, raw, p):
            data = _apply(raw, path, value)
            try:
                load(data)
                loader_ok = True
            except ConfigError:
                loader_ok = False
            schema_ok = not _errors(v, data)
            n += 1
            if loader_ok != schema_ok:
                disagree.append(f"{p.relative_to(REPO)}: {'.'.join(map(str, path))} = "
                                f"{'<deleted>' if value is DELETE else repr(value)}: "
                                f"loader {'accepts' if loader_ok else 'rejects'}, schema "
                                f"{'accepts' if schema_ok else 'rejects'}")
    assert n > (30 if kind == "sweep" else 100), n
    assert not disagree, f"{len(disagree)} of {n} mutations:\n" + "\n".join(disagree[:30])


def test_validate_cli_and_schema_agree_on_a_file(tmp_path, validators):
    """The same verdict through the real command on a file: a fixed preset passes both, a
    mutated one fails both (archsim validate exits 2 and names the key)."""
    src = (REPO / "arch_configs" / "systolic" / "tpu-128x128.toml").read_text()
    base = (REPO / "arch_configs" / "systolic" / "base.toml")
    good = tmp_path / "base.toml"
    good.write_text(base.read_text())
    ok = tmp_path / "ok.toml"
    ok.write_text(src)
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace('dataflow = "ws"', 'dataflow = "xs"') if 'dataflow = "ws"' in src
                   else src + '\n[components.sa]\ndataflow = "xs"\n')
    run = lambda f: subprocess.run([sys.executable, "-m", "archsim", "validate", str(f)],  # noqa: E731
                                   capture_output=True, text=True)
    r_ok, r_bad = run(ok), run(bad)
    assert r_ok.returncode == 0, r_ok.stderr
    assert r_bad.returncode == 2 and "dataflow" in r_bad.stderr and "Traceback" not in r_bad.stderr
    import tomllib
    assert not _errors(validators["arch"], tomllib.loads(ok.read_text()))
    errs = _errors(validators["arch"], tomllib.loads(bad.read_text()))
    assert errs and any("dataflow" in e for e in errs), errs


# ----------------------------------------------------------------------------- shipped files

@pytest.fixture(scope="module")
def generated():
    """What the code generates now, in a fresh interpreter (tests may register toy blocks in
    this one): {kind: schema text} and the reference page."""
    code = ("import json; from archsim.sweep.schema import KINDS, schema_text, reference_markdown; "
            "print(json.dumps({'schemas': {k: schema_text(k) for k in KINDS}, 'reference': reference_markdown()}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schema_is_current(kind, generated):
    p = REPO / "schemas" / f"{kind}.schema.json"
    assert p.is_file(), f"{p} missing; {REGEN}"
    assert p.read_text() == generated["schemas"][kind], f"{p} is stale; {REGEN}"


def test_config_reference_is_current(generated):
    p = REPO / "docs" / "config-reference.md"
    assert p.is_file(), f"{p} missing; {REGEN}"
    assert p.read_text() == generated["reference"], f"{p} is stale; {REGEN}"


def test_reference_lists_units_ranges_and_choices():
    text = reference_markdown()
    # a systolic array's clock: unit from the key, range from field(gt=0, le=10)
    line = next(ln for ln in text.splitlines() if ln.startswith("| `clock_ghz`") and "array clock" in ln)
    assert "GHz" in line and "> 0.0" in line and "<= 10.0" in line
    line = next(ln for ln in text.splitlines() if ln.startswith("| `dataflow`"))
    assert "`os`" in line and "`ws`" in line and "`is`" in line
    for kind in component_specs():
        assert f"component.{kind}" in text
    for op in op_classes():
        assert f"### op.{op}" in text


def test_schema_cli(tmp_path):
    out = tmp_path / "arch.json"
    r = subprocess.run([sys.executable, "-m", "archsim", "schema", "--kind", "arch", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["title"] == "archsim arch"
    r = subprocess.run([sys.executable, "-m", "archsim", "schema", "--kind", "sweep"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["title"] == "archsim sweep"
    r = subprocess.run([sys.executable, "-m", "archsim", "schema", "--kind", "nope"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "arch" in r.stderr and "Traceback" not in r.stderr


def test_after_dependencies_agree_with_the_loader(validators):
    """`after = [names]` (an op graph): accepted by both as a list of names, rejected by both
    as anything else. (That a name refers to an earlier op is the loader's check.)"""
    v = validators["workload"]
    path = REPO / "tests" / "data" / "schema" / "ops.toml"
    raw = read_toml(path)
    assert any("after" in o for o in raw["ops"])
    load = _loader("workload", path)
    load(raw)
    assert not _errors(v, raw)
    for bad in ("src", 5, [1, 2], {"a": 1}):
        data = copy.deepcopy(raw)
        data["ops"][-1]["after"] = bad
        with pytest.raises(ConfigError):
            load(data)
        assert _errors(v, data), bad
