"""Command-line fuzzing of `archsim` (issue 16): generated argv over every subcommand, with
generated files, output paths and numbers (huge, tiny, zero, negative, NaN, inf).

Shared by tests/test_fuzz_cli.py (CI size) and benchmarks/fuzz_cli.py (>= 10^4 cases).

* `cli_cases()` is a Hypothesis strategy of `Case`s: an argv template ("{D}" = the case's own
  folder), the files to create there, and what must hold (`must_fail`: the input is nonsense so
  exit 0 would be accepting it; `blame`: text the error must name, e.g. "--set").
* `FuzzPool` runs cases in-process (`archsim.cli.main(argv)`, stdout/stderr captured) in forked
  worker processes, one case at a time each, with a wall-time and a resident-memory bound per
  case enforced from the parent (a worker over either is killed and replaced).
* `classify` turns a result into one of the counted outcomes: ok, traceback (a Python
  traceback or an 'internal error' exit), hang, memory, wrong_exit (not 0/1/2), nonsense (exit
  0 on nonsense input, or a written Report with negative / non-finite numbers), blame (the error
  does not name its true source), escaped (a file written outside the case folder).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import multiprocessing
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import attrs
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]

OUTCOMES = ("ok", "traceback", "hang", "memory", "wrong_exit", "nonsense", "blame", "escaped")


@attrs.frozen
class Case:
    cmd: str
    argv: tuple                      # strings; "{D}" is replaced by the case folder
    files: tuple = ()                # (relpath, kind, payload)
    must_fail: bool = False
    blame: str = ""
    check_json: str = ""             # relpath (or "-") of a Report JSON to check after exit 0
    note: str = ""

    def render(self, d: str) -> list[str]:
        return [a.replace("{D}", d) for a in self.argv]


# ----------------------------------------------------------------------------- values

NAN, INF = float("nan"), float("inf")
NASTY_INTS = [0, -1, 1, 2, 3, 7, 64, 1000, 10 ** 6, 10 ** 9, 10 ** 12, 10 ** 15, 10 ** 18,
              2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 10 ** 30, -(2 ** 63)]
NASTY_FLOATS = [0.0, -0.0, -1.0, 1e-300, 1e-13, 1e-9, 0.5, 1.0, 1e6, 1e15, 1e30, 1e300, NAN, INF, -INF]
NASTY_OTHER = ["", "abc", True, [], {}, [1, 2], "1e3", "../../etc"]
#: names from inputs that end up in tables, plots and file names
NASTY_NAMES = st.one_of(
    st.sampled_from(["[/bold]", "[red]x[/red]", "$\\frac{$", "a$b$c", "\x1b[31mred\x1b[0m", "../../..",
                     "/etc/passwd", "a/b", "..", "", " ", "名前", "x" * 300, "<script>alert(1)</script>",
                     "a\nb", "con", "nul", "%s%n", "{0}"]),
    st.text(max_size=12))


def nasty_value():
    return st.one_of(st.sampled_from(NASTY_INTS), st.sampled_from(NASTY_FLOATS),
                     st.sampled_from(NASTY_OTHER),
                     st.integers(-10, 10 ** 7), st.floats(allow_nan=True, allow_infinity=True))


def definitely_bad_number(v) -> bool:
    """True for values no size / rate / count field accepts."""
    if isinstance(v, bool):
        return True
    if isinstance(v, float):
        return not math.isfinite(v) or v < 0
    if isinstance(v, int):
        return v < 0 or v >= 2 ** 63
    return True     # strings, lists, tables where a number is expected


import re as _re

#: config keys whose values must be > 0 (or >= 0) by their meaning: a negative value there is
#: nonsense every loader must refuse
POSITIVE_KEY = _re.compile(r"(^|\.)(rows|cols|lanes|cores|n_nfp|sub_engines|batch_points|"
                           r"[a-z_]*(_kib|_ghz|_gb_s|_bytes|_mm2|_nm|_per_cycle|_tflops|_gib|_mib))$")


def field_type(preset: str, key: str):
    """The declared type (int, float, ...) of an arch config key, from the specs; None if not
    a plain scalar field."""
    import typing
    from archsim.config.arch import BudgetSpec, TechSpec
    from archsim.config.registry import component_module
    parts = key.split(".")
    data = resolved(preset)
    if parts[0] == "tech":
        cls, rest = TechSpec, parts[1:]
    elif parts[0] == "budget":
        cls, rest = BudgetSpec, parts[1:]
    elif parts[0] == "components" and len(parts) > 2:
        kind = (data.get("components", {}).get(parts[1]) or {}).get("kind")
        try:
            cls = component_module(kind).Spec
        except Exception:
            return None
        rest = parts[2:]
    else:
        return None
    tp = cls
    for name in rest:
        if not attrs.has(tp):
            return None
        hints = typing.get_type_hints(tp)
        if name not in hints:
            return None
        tp = hints[name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
            tp = args[0] if len(args) == 1 else tp
    return tp if tp in (int, float) else None


def bad_for_key(key: str, v, old=0) -> bool:
    """Nonsense for config key `key` (whose valid value was `old`): not finite, not a number,
    an integer beyond int64 for an integer key (a float key takes any finite number), or
    negative where the key's meaning is positive."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return True
    if isinstance(v, float) and not math.isfinite(v):
        return True
    if isinstance(v, float) and isinstance(old, int):
        return True                  # a float for an integer key
    if isinstance(v, int) and isinstance(old, int) and not -(2 ** 63) <= v < 2 ** 63:
        return True
    return v < 0 and bool(POSITIVE_KEY.search(key))


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def toml_dumps(d: dict, prefix: str = "") -> str:
    """Tables as [a.b] headers, arrays of tables as [[a]]; leaves as inline values."""
    lines, subs, arrs = [], [], []
    for k, v in d.items():
        key = json.dumps(str(k))
        if isinstance(v, dict) and v and all(isinstance(x, (dict, list)) or True for x in v.values()) \
                and not _inline(v):
            subs.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrs.append((k, v))
        else:
            lines.append(f"{key} = {toml_value(v)}")
    out = []
    if prefix and (lines or not (subs or arrs)):
        out.append(f"[{prefix}]")
    out += lines
    for k, v in subs:
        out.append(toml_dumps(v, f"{prefix}.{json.dumps(str(k))}" if prefix else json.dumps(str(k))))
    for k, v in arrs:
        name = f"{prefix}.{json.dumps(str(k))}" if prefix else json.dumps(str(k))
        for item in v:
            out.append(f"[[{name}]]")
            out += [f"{json.dumps(str(a))} = {toml_value(b)}" for a, b in item.items()]
    return "\n".join(out) + "\n"


def _inline(v: dict) -> bool:
    return False


def json_value(v):
    return v


def parsed_set_value(text: str):
    """The value of a KEY=VALUE as archsim reads it (a TOML value, else the bare string)."""
    import tomllib
    value = text.partition("=")[2].strip()
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except Exception:
        return value


def render_set(key: str, v) -> str:
    if isinstance(v, str):
        return f"{key}={v}" if v and v.replace("_", "").isalnum() else f"{key}={json.dumps(v)}"
    return f"{key}={toml_value(v)}"


# ----------------------------------------------------------------------------- base material

SYSTOLIC = ["arch_configs/systolic/tpu-128x128.toml", "arch_configs/systolic/scalesim-32x32-os.toml",
            "arch_configs/systolic/eyeriss-like-12x14.toml", "arch_configs/systolic/scalesim-32x32-ws.toml"]
GPUS = ["arch_configs/gpu/h200.toml", "arch_configs/gpu/a100-80gb.toml",
        "arch_configs/gpu/jetson-agx-orin-32gb.toml", "arch_configs/gpu/rtx3090.toml"]
NGPC = ["arch_configs/ngpc/ngpc-8.toml", "arch_configs/ngpc/ngpc-16.toml"]
VREX = ["arch_configs/vrex/vrex8-edge.toml", "arch_configs/vrex/vrex48-server.toml"]
ARCHS = SYSTOLIC + GPUS + NGPC + VREX
SMALL_WORKLOADS = ["workloads/cnn/resnet18.csv", "workloads/cnn/transformer_gemms.csv",
                   "workloads/onnx/tiny_cnn.onnx", "workloads/llm/llama-3-8b-decode.toml",
                   "workloads/llm/gpt2.json",
                   "workloads/ng/nerf_densegrid_1080p.toml", "workloads/video_llm/frame-40k-vrex.toml",
                   "workloads/ng/nvr_lowres_densegrid_1080p.toml"]
ARCH_FOR_WORKLOAD = {"workloads/cnn/resnet18.csv": SYSTOLIC + GPUS,
                     "workloads/cnn/transformer_gemms.csv": SYSTOLIC + GPUS + VREX,
                     "workloads/ng/nerf_densegrid_1080p.toml": NGPC,
                     "workloads/ng/nvr_lowres_densegrid_1080p.toml": NGPC,
                     "workloads/video_llm/frame-40k-vrex.toml": VREX,
                     "workloads/onnx/tiny_cnn.onnx": SYSTOLIC + GPUS,
                     "workloads/llm/llama-3-8b-decode.toml": GPUS + VREX,
                     "workloads/llm/gpt2.json": GPUS + VREX}

# a valid instance of every op kind (small: runs in milliseconds where a block runs it)
OP_BASE: dict[str, dict] = {
    "gemm": {"m": 64, "k": 64, "n": 64, "dtype": "int8"},
    "conv2d": {"ifmap_h": 16, "ifmap_w": 16, "filter_h": 3, "filter_w": 3, "channels": 8,
               "num_filters": 16, "stride": 1},
    "mlp": {"batch": 1024, "layers": [32, 64, 4], "dtype": "fp16"},
    "hash_encode": {"n_points": 4096, "dims": 3, "levels": 4, "features_per_level": 2,
                    "log2_table_size": 12, "base_resolution": 16, "finest_resolution": 256},
    "attention": {"batch": 1, "q_len": 16, "kv_len": 64, "heads": 4, "kv_heads": 2, "head_dim": 32,
                  "dtype": "fp16"},
    "kv_retrieve": {"batch": 1, "queries": 4, "kv_len": 256, "kv_heads": 2, "head_dim": 32,
                    "selected": 32, "dtype": "bf16"},
    "elementwise": {"n_elements": 4096, "dtype": "fp16"},
    "copy": {"bytes": 65536},
    "topk": {"rows": 8, "n": 256, "k": 8, "dtype": "fp16"},
    "gather": {"rows": 64, "row_bytes": 128, "table_bytes": 1 << 20},
    "ng_stage": {"stage": "ray_gen", "n_elements": 4096, "bytes_per_element": 16},
    "kv_fetch": {"batch": 1, "kv_len": 1024, "new_tokens": 16, "selected": 64, "kv_heads": 2,
                 "head_dim": 64},
    "hash_cluster": {"batch": 1, "new_tokens": 16, "clusters": 64, "key_dim": 64},
    "wicsum_select": {"rows": 8, "clusters": 64},
    "kv_transfer": {"bytes": 1 << 20, "chunk_bytes": 65536},
    "linear": {"tokens": 16, "in_features": 256, "out_features": 256},
    "moe_ffn": {"tokens": 16, "hidden": 256, "expert_ffn": 512, "experts": 8, "top_k": 2},
    "mla_attention": {"batch": 1, "q_len": 1, "kv_len": 256, "heads": 4, "qk_nope_dim": 64,
                      "qk_rope_dim": 32, "v_head_dim": 64, "kv_lora_rank": 128},
    "kv_write": {"batch": 1, "new_tokens": 16, "bytes_per_token": 1024},
    "embedding": {"tokens": 16, "vocab": 32000, "hidden": 256},
    "norm": {"tokens": 16, "hidden": 256},
    "rope": {"tokens": 16, "heads": 4, "rot_dim": 64},
}
ARCH_FOR_KIND = {"gemm": ARCHS, "conv2d": SYSTOLIC + GPUS, "mlp": NGPC + GPUS,
                 "hash_encode": NGPC + GPUS, "attention": GPUS + VREX, "kv_retrieve": GPUS,
                 "elementwise": GPUS + VREX, "copy": GPUS + VREX, "topk": GPUS, "gather": GPUS,
                 "ng_stage": NGPC + GPUS, "kv_fetch": VREX, "hash_cluster": VREX + GPUS,
                 "wicsum_select": VREX + GPUS, "kv_transfer": VREX,
                 "linear": GPUS + SYSTOLIC + VREX, "moe_ffn": GPUS + SYSTOLIC, "mla_attention": GPUS + VREX,
                 "kv_write": GPUS + VREX, "embedding": GPUS + VREX, "norm": GPUS + VREX, "rope": GPUS + VREX}

GEN_BASE = {
    "transformer": {"model": str(REPO / "workloads/llm/gpt2.json"), "phase": "decode", "batch": 2,
                    "context": 256, "layers": 2},
    "ngpc": {"app": "nerf", "encoding": "densegrid", "resolution": "1080p"},
    "video_llm": {"n_layers": 2, "frames": 2, "question_tokens": 8, "answer_tokens": 4,
                  "kv_history_tokens": 512, "phase": "session"},
}


def _mutate(d: dict, draw, n: int) -> tuple[dict, bool]:
    """Replace / drop / add leaves with nasty values; returns (data, definitely_bad), the
    verdict taken on the final data (a later mutation may undo an earlier one)."""
    orig = json.loads(json.dumps(d))
    d = json.loads(json.dumps(d))
    added = set()
    for _ in range(n):
        keys = list(d)
        if not keys:
            break
        action = draw(st.sampled_from(["value", "value", "value", "drop", "add", "scale"]))
        k = draw(st.sampled_from(keys))
        if action == "value":
            d[k] = draw(nasty_value())
        elif action == "drop":
            d.pop(k)
            added.discard(k)
        elif action == "add":
            name = draw(st.sampled_from(["bogus", "rows_", "m2", "dtypes", "unit"]))
            d[name] = draw(nasty_value())
            if name not in orig:
                added.add(name)
        elif action == "scale" and isinstance(d[k], int) and not isinstance(d[k], bool):
            d[k] = d[k] * draw(st.sampled_from([10 ** 3, 10 ** 6, 10 ** 9, 10 ** 12, 0, -1]))
    bad = bool(added) or any(
        k in d and isinstance(v, (int, float)) and not isinstance(v, bool) and definitely_bad_number(d[k])
        for k, v in orig.items())
    return d, bad


@st.composite
def ops_list(draw, kinds=None):
    """1-3 ops (each a dict with `op`), some mutated; returns (ops, definitely_bad, kinds)."""
    n = draw(st.integers(1, 3))
    ops, bad, used = [], False, []
    unknown = False
    for i in range(n):
        kind = draw(st.sampled_from(kinds or sorted(OP_BASE)))
        d = dict(OP_BASE[kind])
        how = draw(st.sampled_from(["extreme", "extreme", "mutate", "keep"]))
        if how == "mutate":
            d, b = _mutate(d, draw, draw(st.integers(1, 2)))
            bad |= b
        elif how == "extreme":
            unknown = True
            # valid but extreme: sizes up to and past the int64 range, the ones a model must
            # refuse (budget, overflow) or compute right
            ints = [k for k, v in d.items() if isinstance(v, int) and not isinstance(v, bool)]
            for k in draw(st.lists(st.sampled_from(ints), min_size=1, max_size=2, unique=True)) if ints else []:
                d[k] = draw(st.sampled_from([1, 2, 10 ** 4, 10 ** 6, 10 ** 8, 10 ** 9, 10 ** 12,
                                             10 ** 15, 10 ** 18, 2 ** 62, 2 ** 63 - 1]))
        if draw(st.integers(0, 9)) == 0:
            d["repeat"] = draw(st.sampled_from([0, -1, 2, 10 ** 6, 2 ** 63]))
            bad |= d["repeat"] < 1 or d["repeat"] >= 2 ** 63
        d = {"op": kind, **d}
        if draw(st.integers(0, 3)) == 0:
            d["name"] = draw(NASTY_NAMES)
        if draw(st.integers(0, 19)) == 0:
            d["op"] = draw(st.sampled_from(["gemmm", "", 5, "conv"]))
            bad = True
        ops.append(d)
        used.append(kind)
    if unknown and not bad:
        used = used + ["?"]          # valid by field, maybe not across fields: validity unknown
    return ops, bad, used


@st.composite
def workload_source(draw, arch_hint=None):
    """(files, path_in_argv, definitely_bad, kinds or None)."""
    form = draw(st.sampled_from(["toml"] * 6 + ["jsonl"] * 2 + ["csv"] * 3 + ["gen"] * 3
                                + ["shipped"] * 2 + ["garbage", "missing", "dir", "bom", "empty"]))
    if form in ("toml", "jsonl", "bom"):
        ops, bad, kinds = draw(ops_list())
        if form == "jsonl":
            text = "".join(json.dumps(o) + "\n" for o in ops)
            if draw(st.integers(0, 9)) == 0:
                text += draw(st.sampled_from(["{", "[1,2]", "null", "\"x\"", "{\"op\": \"gemm\"}"])) + "\n"
                bad = True
            return [("w.jsonl", "text", text)], "{D}/w.jsonl", bad, kinds
        text = toml_dumps({"name": draw(st.one_of(st.just("fz"), NASTY_NAMES)), "ops": ops})
        if form == "bom":
            return [("w.toml", "bytes", b"\xef\xbb\xbf" + text.encode())], "{D}/w.toml", bad, kinds
        return [("w.toml", "text", text)], "{D}/w.toml", bad, kinds
    if form == "csv":
        gemm = draw(st.booleans())
        rows, bad, changed = [], False, False
        header = "Layer, M, N, K," if gemm else \
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
        for i in range(draw(st.integers(1, 3))):
            vals = [64, 64, 64] if gemm else [16, 16, 3, 3, 8, 16, 1]
            if draw(st.booleans()):
                j = draw(st.integers(0, len(vals) - 1))
                v = draw(st.one_of(st.sampled_from(NASTY_INTS), st.sampled_from(["x", "1.5", "", "nan"])))
                vals[j] = v
                changed = True
                bad |= not isinstance(v, int) or v < 1 or v >= 2 ** 63
            name = draw(st.sampled_from(["conv", "DPconv", "fc", "a,b", "../x", "CONV_DP", "[/b]",
                                         "$\\frac{$", "\x1b[2J"]))
            rows.append(", ".join([name] + [str(v) for v in vals]) + ",")
        text = header + "\n" + "\n".join(rows) + "\n"
        kinds = ["gemm" if gemm else "conv2d"] + (["?"] if changed else [])
        return [("t.csv", "text", text)], "{D}/t.csv", bad, kinds
    if form == "gen":
        gen = draw(st.sampled_from(sorted(GEN_BASE)))
        params, bad = dict(GEN_BASE[gen]), False
        if draw(st.booleans()):
            params, bad = _mutate(params, draw, draw(st.integers(1, 2)))
        if draw(st.booleans()):
            k = draw(st.sampled_from(["frames", "width_px", "height_px", "levels", "n_layers",
                                      "kv_history_tokens", "batch", "samples_per_pixel", "max_steps"]))
            v = draw(st.sampled_from([0, -1, 1, 10 ** 6, 10 ** 9, 10 ** 18, 2 ** 63, NAN, INF, 2.5]))
            params[k] = v
        text = toml_dumps({"name": "g", "generator": gen, "params": params})
        return [("g.toml", "text", text)], "{D}/g.toml", bad, None
    if form == "shipped":
        w = draw(st.sampled_from(SMALL_WORKLOADS))
        return [], str(REPO / w), False, w
    if form == "garbage":
        b = draw(st.binary(min_size=0, max_size=64))
        ext = draw(st.sampled_from([".toml", ".jsonl", ".csv", ".txt", ".onnx", ".json"]))
        return [(f"x{ext}", "bytes", b)], "{D}/x" + ext, ext == ".txt", None
    if form == "missing":
        return [], "{D}/nope.toml", True, None
    if form == "dir":
        return [("d.toml", "dir", None)], "{D}/d.toml", True, None
    if form == "empty":
        ext = draw(st.sampled_from([".toml", ".jsonl", ".csv"]))
        return [(f"e{ext}", "bytes", b"")], "{D}/e" + ext, True, None
    raise AssertionError(form)


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


_RESOLVED: dict[str, dict] = {}


def resolved(path: str) -> dict:
    if path not in _RESOLVED:
        from archsim.config.load import resolve_extends
        d = resolve_extends(REPO / path)
        d.pop("extends", None)
        _RESOLVED[path] = d
    return _RESOLVED[path]


@st.composite
def arch_source(draw, choices=None):
    """(files, path, definitely_bad, preset or None)."""
    form = draw(st.sampled_from(["shipped"] * 6 + ["mutated"] * 3 + ["garbage", "missing", "dir", "bom"]))
    preset = draw(st.sampled_from(choices or ARCHS))
    if form == "shipped":
        return [], str(REPO / preset), False, preset
    if form in ("mutated", "bom"):
        data = json.loads(json.dumps(resolved(preset)))
        flat = _flat(data)
        bad = False
        if form == "mutated":
            keys = sorted(k for k, v in flat.items() if not isinstance(v, (dict, list)))
            for _ in range(draw(st.integers(1, 2))):
                k = draw(st.sampled_from(keys))
                v = draw(nasty_value())
                parts = k.split(".")
                node = data
                for p in parts[:-1]:
                    node = node[p]
                old = node[parts[-1]]
                if isinstance(old, (int, float)) and not isinstance(old, bool) and bad_for_key(k, v):
                    bad = True
                node[parts[-1]] = v
        if form == "mutated":       # the verdict on the final values (keys may repeat)
            orig, now = _flat(resolved(preset)), _flat(data)
            bad = any(isinstance(v, (int, float)) and not isinstance(v, bool)
                      and field_type(preset, k) is not None
                      and bad_for_key(k, now[k], field_type(preset, k)())
                      for k, v in orig.items() if k in now and now[k] != v)
        text = toml_dumps(data)
        b = (b"\xef\xbb\xbf" if form == "bom" else b"") + text.encode()
        return [("a.toml", "bytes", b)], "{D}/a.toml", bad, preset
    if form == "garbage":
        return [("a.toml", "bytes", draw(st.binary(max_size=64)))], "{D}/a.toml", True, None
    if form == "missing":
        return [], "{D}/missing-arch.toml", True, None
    return [("ad.toml", "dir", None)], "{D}/ad.toml", True, None


@st.composite
def out_file(draw, *, allow_stdout=False):
    """(files, path or None, definitely_bad)."""
    form = draw(st.sampled_from(["fresh", "fresh", "nested", "dotdot", "dir", "file_parent",
                                 "proc", "proc_file", "empty", "long", "unicode", "devnull"]
                                + (["stdout"] if allow_stdout else [])))
    if form == "fresh":
        return [], "{D}/o.json", False
    if form == "nested":
        return [], "{D}/a/b/c/o.json", False
    if form == "dotdot":
        return [("sub", "dir", None)], "{D}/sub/../o2.json", False
    if form == "unicode":
        return [], "{D}/ö ü ß.json", False
    if form == "stdout":
        return [], "-", False
    if form == "dir":
        return [("odir", "dir", None)], "{D}/odir", True
    if form == "file_parent":
        return [("plain.txt", "text", "x")], "{D}/plain.txt/o.json", True
    if form == "proc":
        return [], "/proc/archsim-fuzz/o.json", True
    if form == "proc_file":
        return [], "/proc/version", True
    if form == "empty":
        return [], "", True
    if form == "long":
        return [], "{D}/" + "n" * 300 + ".json", True
    return [], "/dev/null", True


@st.composite
def out_dir(draw):
    form = draw(st.sampled_from(["fresh", "fresh", "nested", "existing", "file", "file_parent",
                                 "proc", "empty", "long", "dotdot"]))
    if form == "fresh":
        return [], "{D}/out", False
    if form == "nested":
        return [], "{D}/x/y/out", False
    if form == "existing":
        return [("exist", "dir", None)], "{D}/exist", False
    if form == "dotdot":
        return [("s", "dir", None)], "{D}/s/../out3", False
    if form == "file":
        return [("f.txt", "text", "x")], "{D}/f.txt", True
    if form == "file_parent":
        return [("f.txt", "text", "x")], "{D}/f.txt/out", True
    if form == "proc":
        return [], "/proc/archsim-fuzz-out", True
    if form == "empty":
        return [], "", True
    return [], "{D}/" + "d" * 300, True


# ----------------------------------------------------------------------------- subcommands

@st.composite
def case_run(draw):
    files: list = []
    wfiles, wpath, wbad, wkinds = draw(workload_source())
    files += wfiles
    if isinstance(wkinds, str):
        archs = ARCH_FOR_WORKLOAD.get(wkinds, ARCHS)
    elif wkinds:
        archs = ARCH_FOR_KIND.get(wkinds[0], ARCHS)
    else:
        archs = ARCHS
    afiles, apath, abad, preset = draw(arch_source(archs))
    files += afiles
    argv = ["run", apath, wpath]
    bad = wbad or abad
    set_bad = False
    sets = []
    if preset and draw(st.integers(0, 2)) == 0:
        keys = sorted(k for k, v in _flat(resolved(preset)).items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool))
        k = draw(st.sampled_from(keys + ["extends", "components.nope.rows", "tech.node_nm"]))
        v = draw(nasty_value())
        text = render_set(k, v)
        sets.append(text)
        v = parsed_set_value(text)          # what archsim reads: "1e3" is the number 1000.0
        tp = field_type(preset, k) if k in keys else None
        if k == "extends" or (tp is not None and bad_for_key(k, v, tp())):
            set_bad = True
    if draw(st.integers(0, 6)) == 0:
        k = draw(st.sampled_from(["workload.params.frames", "workload.name", "workload.ops",
                                  "workload.seed", "workload.bogus"]))
        sets.append(render_set(k, draw(nasty_value())))
    for s in sets:
        argv += ["--set", s]
    if sets and afiles and abad and not wbad:
        bad = False          # an override may repair the mutated key: validity unknown
    check = ""
    if draw(st.integers(0, 3)) == 0:
        jf, jp, jbad = draw(out_file(allow_stdout=True))
        files += jf
        argv += ["--json", jp]
        bad |= jbad
        check = jp if not jbad else ""
    else:
        argv += ["--json", "{D}/report.json"]
        check = "{D}/report.json"
    if draw(st.integers(0, 4)) == 0:
        of, op, obad = draw(out_dir())
        files += of
        argv += ["--out", op]
        bad |= obad
    if draw(st.integers(0, 9)) == 0:
        argv.append("--html")
        bad |= "--out" not in argv
    if draw(st.integers(0, 7)) == 0:
        bf, bp, bbad, _ = draw(arch_source(GPUS))
        files += [(f"base/{r}", k, x) for r, k, x in bf]      # its own folder: names may clash
        argv += ["--baseline", bp.replace("{D}/", "{D}/base/")]
        bad |= bbad
    argv.append("--quiet")
    # a bad --set on otherwise valid inputs: the error must name --set, not the (valid) file
    known_valid = not afiles and not wfiles or (wkinds is not None and "?" not in (wkinds or []))
    blame = "--set" if set_bad and not bad and not afiles and known_valid else ""
    bad |= set_bad
    return Case("run", tuple(argv), tuple(files), must_fail=bad, blame=blame,
                check_json=check.replace("{D}/", "") if check else "")


EXTREME_INTS = [1, 2, 3, 7, 64, 1000, 10 ** 4, 10 ** 6, 10 ** 8, 10 ** 9, 10 ** 12, 10 ** 15,
                10 ** 18, 2 ** 62, 2 ** 63 - 1]
EXTREME_FLOATS = [1e-12, 1e-9, 1e-6, 1e-3, 0.5, 1.0, 3.0, 1e3, 1e6, 1e9, 1e12]


@st.composite
def case_run_extreme(draw):
    """Valid inputs with extreme numbers: shipped archs with --set values at the edges of
    their ranges, ops with sizes up to int64. The models must compute finite, non-negative
    results, or refuse (exit 1 with the op and the count, exit 2 with the budget and knob)."""
    kind = draw(st.sampled_from(sorted(OP_BASE)))
    preset = draw(st.sampled_from(ARCH_FOR_KIND[kind]))
    ops = []
    for i in range(draw(st.integers(1, 2))):
        k = kind if i == 0 else draw(st.sampled_from(sorted(OP_BASE)))
        if preset not in ARCH_FOR_KIND[k]:
            k = kind
        d = dict(OP_BASE[k])
        ints = [f for f, v in d.items() if isinstance(v, int) and not isinstance(v, bool)]
        for f in draw(st.lists(st.sampled_from(ints), max_size=3, unique=True)) if ints else []:
            d[f] = draw(st.sampled_from(EXTREME_INTS))
        ops.append({"op": k, **d, "name": draw(st.one_of(st.just(f"op{i}"), NASTY_NAMES))})
    files = [("w.toml", "text", toml_dumps({"name": "x", "ops": ops}))]
    argv = ["run", str(REPO / preset), "{D}/w.toml", "--json", "{D}/r.json", "--quiet"]
    flat = _flat(resolved(preset))
    keys = sorted(k for k, v in flat.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and field_type(preset, k) is not None)
    for k in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)) if keys else []:
        tp = field_type(preset, k)
        v = draw(st.sampled_from(EXTREME_INTS if tp is int else EXTREME_FLOATS))
        argv += ["--set", f"{k}={v!r}"]
    return Case("run", tuple(argv), tuple(files), check_json="r.json")


@st.composite
def case_validate(draw):
    files, paths, bad = [], [], False
    for _ in range(draw(st.integers(1, 3))):
        which = draw(st.sampled_from(["arch", "workload", "sweep", "tech"]))
        if which == "arch":
            f, p, b, _ = draw(arch_source())
        elif which == "workload":
            f, p, b, _ = draw(workload_source())
        elif which == "sweep":
            f, p, b = draw(sweep_file())
        else:
            f, p, b = draw(tech_file())
        sub = f"v{len(paths)}"            # each source in its own folder (names may clash)
        files += [(f"{sub}/{r}", k, x) for r, k, x in f]
        paths.append(p.replace("{D}/", "{D}/" + sub + "/"))
        bad |= b
    return Case("validate", ("validate", *paths), tuple(files), must_fail=bad)


@st.composite
def tech_file(draw):
    from archsim.config.load import read_toml
    data = read_toml(REPO / "arch_configs/tech/default.toml")
    bad = False
    form = draw(st.sampled_from(["ok", "value", "unknown", "drop", "garbage"]))
    if form == "value":
        node = data["logic"]["mac"]["int8"]["energy_pj"]
        v = draw(nasty_value())
        node["value"] = v
        # entries are floats: any finite number > 0 is valid, whatever its size
        bad = isinstance(v, bool) or not isinstance(v, (int, float)) or \
            (isinstance(v, float) and not math.isfinite(v)) or v <= 0
    elif form == "unknown":
        data["logic"]["mac"]["int4"] = {"energy_pj": {"value": 0.1, "source": "made up"},
                                        "area_um2": {"value": 1.0, "source": "made up"}}
        bad = True
    elif form == "drop":
        del data["dram"]["hbm3"]
        bad = True
    elif form == "garbage":
        return [("tech.toml", "bytes", draw(st.binary(max_size=40)))], "{D}/tech.toml", True
    return [("tech.toml", "text", toml_dumps(data))], "{D}/tech.toml", bad


@st.composite
def sweep_file(draw):
    """A small sweep TOML (<= 4 points) over a systolic preset and a tiny workload."""
    arch = draw(st.sampled_from(SYSTOLIC))
    wl = {"name": "sw", "ops": [dict(op="gemm", m=64, k=64, n=64, dtype="int8")]}
    keys = ["components.sa.rows", "components.sa.cols", "components.sa.ifmap_sram_kib",
            "components.sa.dram_bandwidth_words_per_cycle", "components.sa.dataflow",
            "tech.node_nm", "workload.ops"]
    space, bad = {}, False
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.sampled_from(keys))
        vals = draw(st.lists(st.one_of(st.sampled_from([8, 16, 32, 64, 1e-13, 0, -1, 2 ** 63]),
                                       nasty_value()), min_size=1, max_size=2))
        space[k] = vals
    sw = {"name": draw(st.sampled_from(["fz", "../../evil", "a b", "fz"])),
          "arch": str(REPO / arch), "workload": "w.toml"}
    if draw(st.integers(0, 9)) == 0:
        sw["arch"] = "nope.toml"
        bad = True
    doc: dict[str, Any] = {"sweep": sw}
    if space:
        doc["space"] = space
    if draw(st.integers(0, 3)) == 0:
        doc["objectives"] = {draw(st.sampled_from(["totals.latency_s", "totals.energy_j",
                                                   "totals.bogus", "1/0"])): draw(
            st.sampled_from(["min", "max", "sideways"]))}
    if draw(st.integers(0, 4)) == 0:
        doc["constraints"] = {"area_mm2": draw(nasty_value())}
    if draw(st.integers(0, 4)) == 0:
        doc["derived"] = {"components.sa.filter_sram_kib": draw(st.sampled_from(
            ["max(64, components.sa.rows * 2)", "2 ** 100000", "1/0", "bogus", "components.sa.rows ** 0.5",
             "10 ** 300 * 10 ** 300", "-1", "float('nan')"]))}
    if draw(st.integers(0, 5)) == 0:
        doc.setdefault("space", {})["random"] = {
            "samples": draw(st.sampled_from([1, 2, 0, -1, 10 ** 9, 2.5])), "seed": 1,
            "components.sa.clock_ghz": {"uniform": draw(st.sampled_from([[0.5, 1.5], [1.5, 0.5], [0, 1e300], [NAN, 1]]))}}
    files = [("w.toml", "text", toml_dumps(wl)), ("s.toml", "text", toml_dumps(doc))]
    return files, "{D}/s.toml", bad


@st.composite
def case_sweep(draw):
    files, path, bad = draw(sweep_file())
    files = list(files)
    argv = ["sweep", path]
    of, op, obad = draw(st.one_of(out_dir(), st.just(([], None, False))))
    if op is not None:
        files += of
        argv += ["--out", op]
        bad |= obad
    if draw(st.integers(0, 4)) == 0:
        # an earlier sweep folder, possibly damaged, to resume into
        dmg = draw(st.sampled_from(["none", "zero", "garbage", "truncated", "foreign"]))
        files.append(("prev", "fixture", f"sweep:{dmg}"))
        argv += ["--out", "{D}/prev", "--resume"]
        bad |= dmg != "none"
        if draw(st.booleans()):
            argv.append("--retry-failed")
    jobs = draw(st.sampled_from([None, None, 1, 2, 0, -3, 10 ** 6]))
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
        bad |= jobs < 1 or jobs > 10 ** 5
    if draw(st.integers(0, 5)) == 0:
        argv += ["--executor", "dask", "--scheduler",
                 draw(st.sampled_from(["tcp://127.0.0.1:1", "foo", "http://x:1", "tcp://[::1"]))]
        bad = True
    elif draw(st.integers(0, 9)) == 0:
        argv += ["--scheduler", "tcp://127.0.0.1:1"]       # without --executor dask
        bad = True
    if draw(st.integers(0, 5)) == 0:
        c = draw(st.sampled_from([0, -1, 1, 3]))
        argv += ["--chunk-size", str(c)]
        bad |= c < 1
    if draw(st.integers(0, 5)) == 0:
        t = draw(st.sampled_from([0, -1, 1, 10 ** 9]))
        argv += ["--timed-points", str(t)]
        bad |= t < 0
    if draw(st.integers(0, 9)) == 0 and "--retry-failed" not in argv:
        argv.append("--retry-failed")
        bad |= "--resume" not in argv
    if "--jobs" not in argv:
        argv += ["--jobs", "1"]
    return Case("sweep", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_report(draw):
    kind = draw(st.sampled_from(["run", "run", "sweep", "empty", "missing", "file", "proc"]))
    if kind == "run":
        dmg = draw(st.sampled_from(["list", "empty_obj", "binary", "truncated", "zero", "nan",
                                    "negative_ops", "ops_not_list", "totals_str", "bom", "none",
                                    "deep", "names", "names"]))
        return Case("report", ("report", "{D}/r"), (("r", "fixture", f"run:{dmg}"),),
                    must_fail=dmg not in ("none", "bom", "names"))
    if kind == "sweep":
        dmg = draw(st.sampled_from(["zero", "garbage", "truncated", "foreign", "meta", "empty_db",
                                    "points_only", "none"]))
        return Case("report", ("report", "{D}/s"), (("s", "fixture", f"sweep:{dmg}"),),
                    must_fail=dmg != "none")
    if kind == "empty":
        return Case("report", ("report", "{D}/e"), (("e", "dir", None),), must_fail=True)
    if kind == "file":
        return Case("report", ("report", "{D}/f"), (("f", "text", "x"),), must_fail=True)
    if kind == "proc":
        return Case("report", ("report", "/proc/self"), (), must_fail=True)
    return Case("report", ("report", "{D}/none"), (), must_fail=True)


@st.composite
def case_scalesim(draw):
    import re
    from archsim.scalesim_compat.reference import make_cfg
    cfg = make_cfg(run_name="fz", rows=8, cols=8, dataflow="ws", mode="CALC", ifmap_kb=64,
                   filter_kb=64, ofmap_kb=64, ifmap_bw=10, filter_bw=10, ofmap_bw=10)
    bad = False
    lines = cfg.splitlines()
    subs = {}
    if draw(st.booleans()):
        subs["run_name"] = draw(st.sampled_from(["../../..", "a/b/c", "..", "x y", "/abs", "ok", "",
                                                 "\x1b[31mred"]))
        bad |= subs["run_name"] == ""
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.sampled_from(["ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB",
                                  "OfmapSramSzkB", "Dataflow", "Bandwidth", "InterfaceBandwidth"]))
        v = draw(st.one_of(st.sampled_from([0, -1, 1, 3, 10 ** 6, 10 ** 12, 2 ** 63, "x", "1.5", "os", "USER"]),
                           st.integers(-5, 10 ** 5)))
        subs[k] = v
    bad |= any(k in ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB")
               and (not isinstance(v, int) or v < 1 or v >= 2 ** 63) for k, v in subs.items())
    out_lines = []
    for ln in lines:
        m = re.match(r"\s*([A-Za-z_]+)\s*[:=]", ln)
        key = m.group(1) if m else None
        if key in subs:
            out_lines.append(f"{key} = {subs[key]}")
        else:
            out_lines.append(ln)
    files = [("c.cfg", "text", "\n".join(out_lines) + "\n")]
    gemm = draw(st.booleans())
    if gemm:
        vals = [draw(st.sampled_from([1, 8, 64, 0, -1, 10 ** 5, 10 ** 9, 2 ** 63])) for _ in range(3)]
        topo = "Layer, M, N, K,\n" + f"l1, {vals[0]}, {vals[1]}, {vals[2]},\n"
        bad |= any(v < 1 or v >= 2 ** 63 for v in vals)
    else:
        h = draw(st.sampled_from([8, 16, 1, 0, 10 ** 6, 2 ** 63]))
        ch = draw(st.sampled_from([1, 3, 10 ** 4, 0]))
        topo = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                "Num Filter, Strides,\n" + f"c1, {h}, {h}, 3, 3, {ch}, 8, 1,\n")
        bad |= h < 3 or ch < 1 or h >= 2 ** 63
    files.append(("t.csv", "text", topo))
    argv = ["scalesim", "-c", "{D}/c.cfg", "-t", "{D}/t.csv"]
    if draw(st.booleans()):
        of, op, obad = draw(out_dir())
        files += of
        argv += ["--out", op]
        bad |= obad
    if draw(st.integers(0, 4)) == 0:
        flag = draw(st.sampled_from(["--gemm", "--conv"]))
        argv.append(flag)
        if (flag == "--gemm") != gemm:      # the rows are read the other way: validity unknown
            bad = bool(subs.get("run_name") == "")
    return Case("scalesim", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_trace(draw):
    wf, wp, wbad, _ = draw(workload_source())
    of, op, obad = draw(out_file())
    argv = ["trace", wp, "--out", op]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--set", render_set(draw(st.sampled_from(["params.frames", "params.n_layers",
                                                          "name", "bogus"])), draw(nasty_value()))]
        wbad = False          # the override may repair (or break) the file: validity unknown
    return Case("trace", tuple(argv), tuple(wf) + tuple(of), must_fail=wbad or obad)


@st.composite
def case_reproduce(draw):
    """Only cases that must fail before the study computes (a study takes tens of seconds)."""
    study = draw(st.sampled_from(["ngpc", "vrex", "bogus", ""]))
    files: list = []
    argv = ["reproduce", study]
    if study in ("ngpc", "vrex"):
        if draw(st.booleans()):
            jf, jp, _ = draw(out_file())
            files += jf
            argv += ["--json", "{D}/odir" if not jf else jp]
            files.append(("odir", "dir", None))
            argv += ["--out", draw(st.sampled_from(["{D}/plain.txt", "/proc/x", ""]))]
            files.append(("plain.txt", "text", "x"))
        else:
            bad_json = draw(st.sampled_from(["{D}/odir", "/proc/x.json", "{D}/plain.txt/x.json", "",
                                             "/dev/null"]))
            files += [("odir", "dir", None), ("plain.txt", "text", "x")]
            argv += ["--json", bad_json]
    return Case("reproduce", tuple(argv), tuple(files), must_fail=True)


@st.composite
def case_calibrate(draw):
    files: list = []
    bad = False
    meas = draw(st.sampled_from(["ok", "ok", "list", "nan", "garbage", "missing", "empty",
                                 "bad_op", "zero_time", "no_results", "dir"]))
    files.append(("m.json", "fixture", f"meas:{meas}"))
    bad |= meas != "ok"
    argv = ["calibrate", draw(st.sampled_from(["gpu", "gpu", "gpu", "tpu"])), "{D}/m.json"]
    bad |= argv[1] != "gpu"
    preset = draw(st.sampled_from(["h200", "h200", "a100-80gb", "bogus", "{D}/m.json"]))
    bad |= preset in ("bogus", "{D}/m.json")
    argv += ["--preset", preset]
    r = draw(st.sampled_from([None, 1, 1, 0, -1, 10 ** 9]))
    if r is None:
        r = 1
    argv += ["--restarts", str(r)]
    bad |= r < 1 or r > 50
    # never the default --out: it is a file inside the repository
    of, op, obad = draw(out_file())
    files += of
    argv += ["--out", op if op != "-" else "{D}/o.part"]
    bad |= obad
    if draw(st.booleans()):
        jf, jp, jbad = draw(out_file())
        files += jf
        argv += ["--json", jp if jp != "-" else "{D}/r.json"]
        bad |= jbad
    if draw(st.integers(0, 5)) == 0:
        argv += ["--split", draw(st.sampled_from(["family", "every4th", "bogus"]))]
        bad |= argv[-1] == "bogus"
    return Case("calibrate", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_generic(draw, commands=()):
    tokens = ["run", "validate", "sweep", "report", "scalesim", "trace", "reproduce", "calibrate",
              "--help", "-h", "--version", "-v", "--bogus", "", "-", "--", "{D}", "/proc", "nan",
              "--set", "x=1", "--out", "--json", *commands]
    argv = draw(st.lists(st.sampled_from(tokens), min_size=0, max_size=5))
    # a generic command line is accepted only if argparse takes it; we only require no crash
    return Case("generic", tuple(argv), (), must_fail=False)


@st.composite
def case_other(draw, command: str):
    """A subcommand this harness does not know (added by another issue; it may run for minutes
    on valid input): its --help, an unknown option, or argv of missing files and bad numbers
    plus an unknown option, which must all end quickly without a traceback."""
    pool = ["{D}/missing", "{D}", "/proc/x", "nan", "-1", "1e30", "--out", "{D}/o", "--json",
            "{D}/o.json", "--html", str(REPO / SYSTOLIC[0])]
    form = draw(st.sampled_from(["help", "bogus", "args"]))
    if form == "help":
        return Case(command, (command, "--help"), ())
    argv = [command] + draw(st.lists(st.sampled_from(pool), max_size=4)) + ["--no-such-option-xyz"]
    return Case(command, tuple(argv), (), must_fail=True)


@st.composite
def case_serve(draw):
    files: list = []
    arch = draw(st.sampled_from([str(REPO / "arch_configs/multi/h100-x8-nvlink.toml"),
                                 str(REPO / "arch_configs/multi/tpu-v4-llm-x4-ici.toml"), "{D}/missing.toml",
                                 str(REPO / GPUS[0])]))
    model = draw(st.sampled_from(["gpt2", "llama-3-8b", "no-such-model", "{D}/garbage.json",
                                  str(REPO / "workloads/llm/gpt2.json")]))
    if model == "{D}/garbage.json":
        files.append(("garbage.json", "bytes", draw(st.binary(max_size=40))))
    argv = ["serve", arch, model]
    bad = "missing" in arch or model in ("no-such-model", "{D}/garbage.json")
    for flag, choices in (("--prompt", [1, 64, 0, -5, 10 ** 9]), ("--output", [1, 16, 0, -1, 10 ** 9]),
                          ("--devices", [1, 2, 8, 0, -1, 10 ** 6]), ("--batches", ["1", "1,4", "0", "x", "", "1," * 100]),
                          ("--tpot-ms", [10.0, 0.0, -1.0, float("nan")]), ("--split", ["8,1,1", "0,1,1", "a"])):
        if draw(st.integers(0, 2)) == 0:
            v = draw(st.sampled_from(choices))
            argv += [flag, str(v)]
            if flag in ("--prompt", "--output"):
                bad |= not 1 <= v <= 1 << 24
            elif flag == "--devices":
                bad |= not 1 <= v <= 1 << 16
            elif flag == "--batches":
                bad |= v not in ("1", "1,4")
            elif flag == "--tpot-ms":
                bad |= not v > 0
            else:
                bad |= v != "8,1,1"
    if draw(st.integers(0, 3)) == 0:
        jf, jp, jbad = draw(out_file(allow_stdout=True))
        files += jf
        argv += ["--json", jp]
        bad |= jbad
    if draw(st.integers(0, 5)) == 0:
        argv.append("--hybrid-moe")
    if not bad:
        # a valid serving sweep over every split of 8 devices is many simulations: keep it small
        argv += ["--batches", "1", "--split", "1,1,1"] if "--batches" not in argv else ["--split", "1,1,1"]
    return Case("serve", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_long_study(draw):
    """sensitivity / validate-model (minutes on valid input): only command lines that must fail
    before the work starts."""
    cmd = draw(st.sampled_from(["sensitivity", "validate-model"]))
    files = [("odir", "dir", None), ("plain.txt", "text", "x"), ("rows.json", "text", draw(st.sampled_from(
        ["[1, 2]", "{", "", '{"rows": [{"value": "x"}]}']))), ("base.json", "text", draw(st.sampled_from(["[1]", "{", ""])))]
    if cmd == "sensitivity":
        argv = ["sensitivity", draw(st.sampled_from(["ngpc", "vrex"]))]
        argv += draw(st.sampled_from([["--json", "{D}/odir"], ["--out", "{D}/plain.txt"], ["--json", "/proc/x/y.json"],
                                      ["--json", ""], ["--out", "/proc/x"]]))
    else:
        argv = ["validate-model"] + draw(st.sampled_from([
            ["--json", "{D}/odir"], ["--markdown", "{D}/plain.txt/x.md"], ["--write-baseline", "/proc/version"],
            ["--rows", "ngpc={D}/rows.json"], ["--rows", "bogus={D}/rows.json"], ["--baseline", "{D}/base.json"],
            ["--rows", "vrex={D}/missing.json"], ["--markdown", ""]]))
    return Case(cmd, tuple(argv), tuple(files), must_fail=True)


@st.composite
def case_compare(draw):
    files, dirs, bad = [], [], False
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["run", "run", "run2", "damaged", "missing", "file"]))
        name = f"d{i}"
        if kind in ("run", "run2"):
            files.append((name, "fixture", f"{kind}:none"))
        elif kind == "damaged":
            files.append((name, "fixture", "run:" + draw(st.sampled_from(
                ["list", "empty_obj", "binary", "truncated", "zero", "nan", "ops_not_list", "names"]))))
            bad |= files[-1][2] != "run:names"
        elif kind == "file":
            files.append((name, "text", "x"))
            bad = True
        else:
            bad = True
        dirs.append("{D}/" + name)
    bad |= len(dirs) < 2
    argv = ["compare", *dirs]
    if draw(st.booleans()):
        of, op, obad = draw(out_file())
        files += of
        argv += ["--html", op if op != "-" else "{D}/c.html"]
        bad |= obad
    if draw(st.integers(0, 4)) == 0:
        n = draw(st.sampled_from([0, 1, -1, 10 ** 9]))
        argv += ["--ops", str(n)]
        bad |= n < 0
    return Case("compare", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_schema(draw):
    files, bad = [], False
    form = draw(st.sampled_from(["kind", "kind", "reference", "write-all", "bogus", "none"]))
    if form == "kind":
        k = draw(st.sampled_from(["arch", "workload", "sweep", "ARCH", ""]))
        argv = ["schema", "--kind", k]
        bad = k not in ("arch", "workload", "sweep")
    elif form == "reference":
        argv = ["schema", "--reference"]
    elif form == "write-all":
        argv = ["schema", "--write-all"]           # into the case folder (the cwd)
    elif form == "bogus":
        argv, bad = ["schema", "--kind", "arch", "--reference"], True
    else:
        argv, bad = ["schema"], True
    if form != "write-all" and draw(st.booleans()):
        of, op, obad = draw(out_file())
        files += of
        argv += ["--out", op if op != "-" else "{D}/s.json"]
        bad |= obad
    elif form == "write-all" and draw(st.integers(0, 3)) == 0:
        argv += ["--out", "{D}/x.json"]
        bad = True
    return Case("schema", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_roofline(draw):
    files: list = []
    if draw(st.booleans()):
        wfiles, wpath, wbad, wkinds = draw(workload_source())
    else:
        wfiles, wpath, wbad, wkinds = [], str(REPO / draw(st.sampled_from(
            ["workloads/llm/llama-3-8b-decode.toml", "workloads/cnn/resnet18.csv",
             "workloads/llm/gpt2.json"]))), False, None
    files += wfiles
    afiles, apath, abad, _ = draw(arch_source(GPUS + SYSTOLIC))
    files += afiles
    argv = ["roofline", apath, wpath]
    bad = abad or wbad
    if draw(st.integers(0, 2)) == 0:
        argv.append("--llm-viewer")
        for flag in ("--peak-tflops", "--bandwidth-gb-s"):
            if draw(st.integers(0, 2)) == 0:
                v = draw(st.sampled_from([1.0, 1e3, 0.0, -1.0, 1e-300, 1e300]))
                argv += [flag, repr(v)]
                bad |= v <= 0
    if draw(st.booleans()):
        jf, jp, jbad = draw(out_file(allow_stdout=True))
        files += jf
        argv += ["--json", jp]
        bad |= jbad
    if draw(st.integers(0, 3)) == 0:
        pf, pp, pbad = draw(out_file())
        files += pf
        argv += ["--plot", pp.replace(".json", ".png") if pp != "-" else "{D}/p.png"]
        bad |= pbad
    if draw(st.integers(0, 4)) == 0:
        t = draw(st.sampled_from([0, 1, -5, 10 ** 9]))
        argv += ["--top", str(t)]
        bad |= t < 0
    return Case("roofline", tuple(argv), tuple(files), must_fail=bad)


@st.composite
def case_report_html(draw):
    kind = draw(st.sampled_from(["run", "run", "sweep", "run:names", "run:nan", "run:list", "sweep:zero",
                                 "repro:list", "repro:garbage", "repro:rows", "repro:empty"]))
    what, _, dmg = kind.partition(":")
    if what == "repro":
        text = {"list": "[1, 2]", "garbage": "\x00\x01{", "empty": "",
                "rows": json.dumps({"study": "x", "rows": [{"quantity": "[/b]$\\frac{$", "value": "x",
                                                            "params": 5}], "notes": 3, "plots": "p"})}[dmg]
        return Case("report", ("report", "{D}/r", "--html"),
                    (("r", "dir", None), ("r/reproduce.json", "text", text)), must_fail=dmg != "rows")
    return Case("report", ("report", "{D}/r", "--html"), (("r", "fixture", f"{what}:{dmg or 'none'}"),),
                must_fail=dmg not in ("", "names"))


KNOWN = ("run", "validate", "sweep", "report", "scalesim", "trace", "reproduce", "calibrate",
         "compare", "schema", "roofline", "serve", "sensitivity", "validate-model")


def subcommands() -> list[str]:
    from archsim.cli import SUBCOMMANDS
    return list(SUBCOMMANDS)


def cli_cases(weights: dict | None = None):
    """Every subcommand: the known ones with their own generators, others generically.
    `weights` (relative) choose how often each is drawn."""
    w = {"run": 30, "run_extreme": 25, "validate": 10, "sweep": 6, "report": 8, "scalesim": 10,
         "trace": 8, "reproduce": 2, "calibrate": 4, "generic": 4, "compare": 5, "schema": 3,
         "roofline": 8, "report_html": 2, "serve": 4, "long_study": 2, **(weights or {})}
    gens = {"run": case_run, "run_extreme": case_run_extreme, "validate": case_validate,
            "compare": case_compare, "schema": case_schema, "roofline": case_roofline,
            "report_html": case_report_html, "serve": case_serve, "long_study": case_long_study, "sweep": case_sweep, "report": case_report,
            "scalesim": case_scalesim, "trace": case_trace, "reproduce": case_reproduce,
            "calibrate": case_calibrate}
    others = [c for c in subcommands() if c not in KNOWN]
    names = [n for n in gens for _ in range(w.get(n, 1))] + ["generic"] * w["generic"] \
        + [f"other:{c}" for c in others for _ in range(3)]

    def pick(name):
        if name == "generic":
            return case_generic(tuple(others))
        if name.startswith("other:"):
            return case_other(name[6:])
        return gens[name]()
    return st.sampled_from(names).flatmap(pick)


# ----------------------------------------------------------------------------- fixtures

def make_fixtures(root: Path) -> dict[str, Path]:
    """Real archsim outputs (a run folder, a sweep folder, a measurements file) that cases copy
    and damage. Made once, in the parent, before the workers fork."""
    root.mkdir(parents=True, exist_ok=True)
    fx = {}
    run_dir = root / "run"
    rc, out, err = run_inprocess(["run", str(REPO / SYSTOLIC[1]), str(REPO / "workloads/cnn/resnet18.csv"),
                                  "--out", str(run_dir), "--quiet"])
    assert rc == 0, err
    fx["run"] = run_dir
    run2 = root / "run2"
    rc, out, err = run_inprocess(["run", str(REPO / SYSTOLIC[0]), str(REPO / "workloads/cnn/resnet18.csv"),
                                  "--out", str(run2), "--quiet", "--set", "components.sa.rows=64"])
    assert rc == 0, err
    fx["run2"] = run2
    sw = root / "sweep-src"
    sw.mkdir(exist_ok=True)
    (sw / "w.toml").write_text(toml_dumps({"name": "sw", "ops": [dict(op="gemm", m=64, k=64, n=64, dtype="int8")]}))
    (sw / "s.toml").write_text(toml_dumps({"sweep": {"name": "fx", "arch": str(REPO / SYSTOLIC[1]),
                                                     "workload": "w.toml"},
                                           "space": {"components.sa.rows": [8, 16]}}))
    rc, out, err = run_inprocess(["sweep", str(sw / "s.toml"), "--out", str(root / "sweep"),
                                  "--jobs", "1", "--timed-points", "0"])
    assert rc == 0, err
    fx["sweep"] = root / "sweep"
    meas = json.loads((REPO / "benchmarks/gpu/measurements/h200-2026-11-30-run1.json").read_text())
    small = {"meta": meas["meta"], "results": meas["results"][:24]}
    (root / "meas.json").write_text(json.dumps(small))
    fx["meas"] = root / "meas.json"
    return fx


def _damage_run(dest: Path, how: str) -> None:
    p = dest / "report.json"
    text = p.read_text()
    d = json.loads(text)
    if how == "list":
        p.write_text("[1, 2]")
    elif how == "empty_obj":
        p.write_text("{}")
    elif how == "binary":
        p.write_bytes(bytes(range(256)))
    elif how == "truncated":
        p.write_text(text[: len(text) // 2])
    elif how == "zero":
        p.write_text("")
    elif how == "nan":
        d["totals"]["latency_s"] = "NaN"
        p.write_text(json.dumps(d))
    elif how == "negative_ops":
        d["ops"][0] = "op"
        p.write_text(json.dumps(d))
    elif how == "ops_not_list":
        d["ops"] = {"a": 1}
        p.write_text(json.dumps(d))
    elif how == "totals_str":
        d["totals"] = "fast"
        p.write_text(json.dumps(d))
    elif how == "bom":
        p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    elif how == "deep":
        p.write_text("[" * 100000 + "]" * 100000)
    elif how == "names":             # valid, with hostile names (markup, mathtext, escapes)
        for i, o in enumerate(d["ops"]):
            o["name"] = ["[/bold]", "$\\frac{$", "\x1b[31m", "../../x", "<b>"][i % 5]
        d["arch"], d["workload"] = "$\\frac{$[/b]", "<script>x</script>"
        for c in d.get("components", []):
            c["name"] = "[/i]$x$"
        p.write_text(json.dumps(d))


def _damage_sweep(dest: Path, how: str) -> None:
    import sqlite3
    db = dest / "sweep.sqlite"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    if how == "zero":
        db.write_bytes(b"")
    elif how == "garbage":
        db.write_bytes(os.urandom(4096))
    elif how == "truncated":
        b = db.read_bytes()
        db.write_bytes(b[: max(100, len(b) // 3)])
    elif how == "foreign":
        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    elif how == "meta":
        con = sqlite3.connect(db)
        con.execute("UPDATE meta SET value = '[1' WHERE key = 'objectives'")
        con.execute("UPDATE meta SET value = '5' WHERE key = 'param_keys'")
        con.commit()
        con.close()
    elif how == "empty_db":
        con = sqlite3.connect(db)
        con.execute("DELETE FROM points")
        con.commit()
        con.close()
    elif how == "points_only":
        db.unlink()


def _damage_meas(src: Path, dest: Path, how: str) -> None:
    d = json.loads(src.read_text())
    if how == "ok":
        dest.write_text(json.dumps(d))
    elif how == "list":
        dest.write_text("[]")
    elif how == "nan":
        d["results"][0]["times_s"]["median"] = float("nan")
        dest.write_text(json.dumps(d))
    elif how == "garbage":
        dest.write_bytes(os.urandom(100))
    elif how == "empty":
        dest.write_text("")
    elif how == "bad_op":
        d["results"][0]["op"] = {"op": "gemm", "m": -1}
        dest.write_text(json.dumps(d))
    elif how == "zero_time":
        for r in d["results"]:
            if "times_s" in r:
                r["times_s"]["median"] = 0
        dest.write_text(json.dumps(d))
    elif how == "no_results":
        dest.write_text(json.dumps({"meta": {}}))
    elif how == "dir":
        dest.mkdir()


def materialize(case: Case, d: Path, fixtures: dict[str, Path]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for rel, kind, payload in case.files:
        p = d / rel
        if kind == "dir":
            p.mkdir(parents=True, exist_ok=True)
        elif kind == "text":
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.is_dir():
                p.write_text(payload)
        elif kind == "bytes":
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.is_dir():
                p.write_bytes(payload)
        elif kind == "fixture":
            what, _, how = payload.partition(":")
            if what in ("run", "run2"):
                shutil.copytree(fixtures[what], p, dirs_exist_ok=True)
                _damage_run(p, how)
            elif what == "sweep":
                shutil.copytree(fixtures["sweep"], p, dirs_exist_ok=True)
                _damage_sweep(p, how)
            elif what == "meas":
                _damage_meas(fixtures["meas"], p, how)


# ----------------------------------------------------------------------------- running

def run_inprocess(argv: list[str]) -> tuple[Any, str, str]:
    """archsim.cli.main(argv) with stdout/stderr captured; (exit code or 'EXC ...', out, err)."""
    from archsim.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:   # escaped main(): always a bug
            rc = f"EXC {type(exc).__name__}"
            err.write("Traceback (most recent call last):\n" + traceback.format_exc())
    return rc, out.getvalue(), err.getvalue()


def _report_problems(data) -> str:
    """A written Report (or Report-like JSON) with a negative or non-finite number."""
    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                r = walk(v, f"{path}.{k}")
                if r:
                    return r
        elif isinstance(x, list):
            for i, v in enumerate(x[:5000]):
                r = walk(v, f"{path}[{i}]")
                if r:
                    return r
        elif isinstance(x, float) and not math.isfinite(x):
            return f"{path} = {x}"
        return ""
    if not isinstance(data, dict):
        return "not an object"
    bad = walk({k: data.get(k) for k in ("totals", "ops", "components")}, "")
    if bad:
        return bad
    for k, v in (data.get("totals") or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
            return f"totals.{k} = {v}"
        if v is None and k in ("cycles", "latency_s", "flops"):
            return f"totals.{k} is null"
    for o in data.get("ops") or []:
        for k in ("cycles", "latency_s", "flops", "dram_bytes", "energy_j"):
            v = o.get(k)
            if isinstance(v, (int, float)) and v < 0:
                return f"op {o.get('name')}: {k} = {v}"
    return ""


def classify(case: Case, rc, out: str, err: str, d: Path) -> tuple[str, str]:
    """(outcome, detail) of one finished case (hang / memory are decided by the pool)."""
    if "Traceback (most recent call last)" in err or "internal error" in err or \
            (isinstance(rc, str) and rc.startswith("EXC")):
        return "traceback", err[-1500:]
    if rc not in (0, 1, 2):
        return "wrong_exit", f"exit {rc!r}: {err[-500:]}"
    if rc == 0 and case.must_fail:
        return "nonsense", f"exit 0 on nonsense input: {out[-300:]} {err[-300:]}"
    if rc == 2 and case.blame and case.blame not in err:
        return "blame", err[-500:]
    if rc == 0 and case.check_json:
        try:
            text = out if case.check_json == "-" else (d / case.check_json).read_text()
            data = json.loads(text)
        except (OSError, ValueError) as exc:
            return "nonsense", f"exit 0 but the Report JSON does not read: {exc}"
        bad = _report_problems(data)
        if bad:
            return "nonsense", f"exit 0 with an impossible result: {bad}"
    if rc == 2 and "error" not in err and "usage" not in err:
        return "wrong_exit", f"exit 2 without a message: {err[-300:]}"
    return "ok", ""


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _worker(conn, fixtures, root, env):
    os.environ.update(env)
    os.setsid() if hasattr(os, "setsid") else None
    import warnings
    warnings.simplefilter("ignore")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if msg is None:
            os._exit(0)
        idx, case = msg
        d = Path(root) / f"c{idx}"
        try:
            materialize(case, d, fixtures)
            before = set(os.listdir(root))
            os.chdir(d)
            t0 = time.perf_counter()
            rc, out, err = run_inprocess(case.render(str(d)))
            dt = time.perf_counter() - t0
            os.chdir(root)
            outcome, detail = classify(case, rc, out, err, d)
            after = set(os.listdir(root))
            extra = sorted(n for n in after - before if not n.startswith("c"))
            if extra and outcome == "ok":
                outcome, detail = "escaped", f"wrote outside its folder: {extra}"
        except Exception:   # the harness itself
            outcome, detail, dt, rc = "traceback", "harness: " + traceback.format_exc()[-1500:], 0.0, None
        if outcome == "ok":
            shutil.rmtree(d, ignore_errors=True)
        conn.send((idx, outcome, detail, dt, rc))


class FuzzPool:
    """Forked workers that run cases one at a time; the parent enforces time and memory."""

    def __init__(self, root: Path, *, workers: int = 2, case_timeout_s: float = 60.0,
                 rss_limit_gib: float = 4.0, env: dict | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fixtures = make_fixtures(self.root / "_fixtures")
        self.timeout = case_timeout_s
        self.rss_limit = rss_limit_gib * 2 ** 30
        self.env = {"ARCHSIM_MAX_OP_SECONDS": "20", "ARCHSIM_MAX_OP_MEMORY_GIB": "1",
                    "MPLBACKEND": "Agg", **(env or {})}
        self.ctx = multiprocessing.get_context("fork")
        self.n_workers = workers
        self.slots: list[dict] = []
        self.results: list[tuple] = []
        self.counts = {k: 0 for k in OUTCOMES}
        self.bad: list[tuple] = []
        self.cases: dict[int, Case] = {}
        self.next_idx = 0
        self.times: list[float] = []
        self.exits: dict = {}       # (command, exit code or outcome) -> cases

    def _spawn(self) -> dict:
        a, b = self.ctx.Pipe()
        # not a daemon: a sweep case starts its own process pool inside the worker
        p = self.ctx.Process(target=_worker, args=(b, self.fixtures, str(self.root), self.env), daemon=False)
        p.start()
        b.close()
        return {"proc": p, "conn": a, "busy": None, "t0": 0.0, "peak": 0}

    def __enter__(self):
        self.slots = [self._spawn() for _ in range(self.n_workers)]
        return self

    def __exit__(self, *exc):
        for s in self.slots:
            try:
                s["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
        for s in self.slots:
            s["proc"].join(timeout=5)
            if s["proc"].is_alive():
                s["proc"].kill()
        return False

    def _record(self, idx, outcome, detail, dt, rc=None):
        c = self.cases.get(idx)
        key = (c.cmd if c else "?", rc if rc in (0, 1, 2) else outcome)
        self.exits[key] = self.exits.get(key, 0) + 1
        self.counts[outcome] += 1
        self.times.append(dt)
        if outcome != "ok":
            c = self.cases.get(idx)
            self.bad.append((outcome, c, f"[{self.root / f'c{idx}'}] {detail}"))
        self.cases.pop(idx, None)

    def _poll(self, block: bool) -> None:
        from multiprocessing.connection import wait
        conns = [s["conn"] for s in self.slots if s["busy"] is not None]
        if not conns:
            return
        ready = wait(conns, timeout=0.05 if block else 0)
        for s in self.slots:
            if s["busy"] is None:
                continue
            if s["conn"] in ready:
                try:
                    idx, outcome, detail, dt, rc = s["conn"].recv()
                except (EOFError, OSError):
                    self._replace(s, "traceback", "worker died (crashed)")
                    continue
                self._record(idx, outcome, detail, dt, rc)
                s["busy"] = None
                continue
            now = time.monotonic()
            rss = _rss_bytes(s["proc"].pid)
            if not s["proc"].is_alive():
                self._replace(s, "traceback", f"worker died (exit {s['proc'].exitcode})")
            elif rss > self.rss_limit:
                self._replace(s, "memory", f"resident memory {rss / 2 ** 30:.2f} GiB")
            elif now - s["t0"] > self.timeout:
                self._replace(s, "hang", f"no exit after {self.timeout:.0f} s")

    def _replace(self, s, outcome, detail):
        idx = s["busy"]
        try:
            os.killpg(s["proc"].pid, signal.SIGKILL)
        except OSError:
            pass
        s["proc"].kill()
        s["proc"].join(timeout=5)
        self._record(idx, outcome, detail, time.monotonic() - s["t0"])
        new = self._spawn()
        s.update(new)

    def submit(self, case: Case) -> None:
        while True:
            free = [s for s in self.slots if s["busy"] is None]
            if free:
                break
            self._poll(block=True)
        s = free[0]
        idx = self.next_idx
        self.next_idx += 1
        self.cases[idx] = case
        s["busy"] = idx
        s["t0"] = time.monotonic()
        s["conn"].send((idx, case))

    def drain(self) -> None:
        while any(s["busy"] is not None for s in self.slots):
            self._poll(block=True)

    def summary(self) -> dict:
        return {"cases": sum(self.counts.values()), **self.counts}


# ----------------------------------------------------------------------------- whole runs

def repo_snapshot() -> dict:
    """(size, mtime) of every file in the repository's input folders, and the top-level
    entries: a fuzz run must leave them as they were (nothing written outside case folders)."""
    snap = {"<top>": tuple(sorted(p.name for p in REPO.iterdir()))}
    for sub in ("arch_configs", "workloads", "sweeps", "tests/data", "benchmarks", "results", "docs"):
        base = REPO / sub
        if not base.exists():
            continue
        for p in base.rglob("*"):
            if "__pycache__" in p.parts or not p.is_file():
                continue
            st_ = p.stat()
            snap[str(p.relative_to(REPO))] = (st_.st_size, st_.st_mtime_ns)
    return snap


def warm_up() -> None:
    """Load every block's numba kernels in this process before the workers fork."""
    for arch, wl in ((SYSTOLIC[1], "workloads/cnn/resnet18.csv"), (NGPC[0], "workloads/ng/nerf_densegrid_1080p.toml"),
                     (VREX[0], "workloads/video_llm/frame-40k-vrex.toml"), (GPUS[0], "workloads/cnn/transformer_gemms.csv")):
        run_inprocess(["run", str(REPO / arch), str(REPO / wl), "--quiet"])


def fuzz(n_cases: int, root: Path, *, workers: int = 2, seed: int | None = None,
         case_timeout_s: float = 60.0, rss_limit_gib: float = 4.0, weights: dict | None = None,
         on_progress=None) -> "FuzzPool":
    """Run `n_cases` generated command lines; returns the finished pool (counts, bad cases)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    warm_up()
    with FuzzPool(root, workers=workers, case_timeout_s=case_timeout_s,
                  rss_limit_gib=rss_limit_gib) as pool:
        from hypothesis import Phase
        @settings(max_examples=n_cases, deadline=None, database=None, derandomize=seed is None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(cli_cases(weights))
        def feed(case):
            pool.submit(case)
            if on_progress is not None:
                on_progress(pool)
        if seed is not None:
            feed = hseed(seed)(feed)
        feed()
        pool.drain()
    return pool


def format_bad(pool: "FuzzPool", limit: int = 20) -> str:
    lines = []
    for outcome, case, detail in pool.bad[:limit]:
        lines.append(f"[{outcome}] archsim {' '.join(case.argv) if case else '?'}\n    {detail[-800:]}")
    return "\n".join(lines)
