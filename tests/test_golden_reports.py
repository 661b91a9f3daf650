"""Golden Reports: every shipped preset x its example workload, compared field by field with the
committed tests/golden/reports/*.json (regenerate with tests/golden/make_goldens.py and say in
the commit which numbers moved and why)."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_goldens", HERE / "golden" / "make_goldens.py")
G = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(G)

REL = 1e-6          # float noise across numpy/numba builds; integers must match exactly


def _compare(got, want, path="") -> list[str]:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected a table, got {got!r}"]
        bad = [f"{path}.{k}: missing" for k in want if k not in got]
        bad += [f"{path}.{k}: new field" for k in got if k not in want]
        for k in want:
            if k in got:
                bad += _compare(got[k], want[k], f"{path}.{k}")
        return bad
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: length {len(got) if isinstance(got, list) else got!r} != {len(want)}"]
        return [m for i, (g, w) in enumerate(zip(got, want)) for m in _compare(g, w, f"{path}[{i}]")]
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return [] if got == want else [f"{path}: {got!r} != {want!r}"]
    if isinstance(want, int) and isinstance(got, int):
        return [] if got == want else [f"{path}: {got} != {want}"]
    if isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=REL, abs_tol=1e-15):
        return []
    return [f"{path}: {got!r} != {want!r}"]


CASES = [(a, w) for a, w in G.CASES.items()]


@pytest.mark.parametrize("arch,workload", CASES, ids=[G.case_id(a, w) for a, w in CASES])
def test_golden_report(arch, workload):
    f = G.OUT / f"{G.case_id(arch, workload)}.json"
    assert f.is_file(), f"no golden for {f.name}: run python tests/golden/make_goldens.py"
    want = json.loads(f.read_text())
    got = json.loads(json.dumps(G.golden_of(G.simulate_case(arch, workload))))
    bad = _compare(got, want)
    assert not bad, f"{len(bad)} field(s) moved (regenerate on purpose only):\n" + "\n".join(bad[:25])


def test_every_shipped_preset_has_a_golden():
    shipped = sorted(str(p.relative_to(G.REPO)) for p in (G.REPO / "arch_configs").rglob("*.toml")
                     if "tech" not in p.parts and p.name != "base.toml")
    assert sorted(G.CASES) == shipped
