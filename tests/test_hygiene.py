"""Repo hygiene (STUMPY-style checks): library code never prints or exits; kernels import only
numpy and numba (every block's kernels.py); every numba kernel caches its compilation."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "archsim"


def _modules(sub=""):
    return sorted(p for p in (PKG / sub).rglob("*.py"))


def test_library_never_prints_or_exits():
    bad = []
    for p in _modules():
        if p.parent.name == "cli" or p.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else "")
                owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
                if name == "print" or (name == "exit" and owner in ("", "sys")):
                    bad.append(f"{p.relative_to(PKG)}:{node.lineno} {name}()")
    assert not bad, "library code must not print/exit: " + ", ".join(bad)


def test_kernels_import_only_numpy_and_numba():
    bad = []
    kernels = [p for p in _modules() if p.name == "kernels.py"]
    assert len(kernels) >= 4, kernels          # systolic, ngpc, vrex, scalesim_compat
    for p in kernels:
        for node in ast.walk(ast.parse(p.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for n in names:
                root = n.split(".")[0]
                if root not in ("numpy", "numba", "math", "__future__", "archsim"):
                    bad.append(f"{p.name}: {n}")
                if root == "archsim" and n != "archsim.jit":    # archsim.jit: numba's njit, lazily
                    bad.append(f"{p.name}: {n}")
    assert not bad, bad


def test_njit_kernels_are_cached():
    bad = []
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef):
                for d in node.decorator_list:
                    call = d if isinstance(d, ast.Call) else None
                    fn = call.func if call else d
                    name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", "")
                    if name in ("njit", "jit"):
                        cached = call is not None and any(
                            k.arg == "cache" and getattr(k.value, "value", False) is True for k in call.keywords)
                        if not cached:
                            bad.append(f"{p.relative_to(PKG)}:{node.name}")
    assert not bad, "numba kernels need cache=True: " + ", ".join(bad)
