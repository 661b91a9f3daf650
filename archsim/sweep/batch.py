"""Batched evaluation of sweep points: many design points x many layers in a few numba calls.

Where it applies: an arch whose only component is a systolic array, on a workload of gemm /
conv2d ops that runs as a chain (no `after` other than "the previous op"), so its latency is the
sum of the layers'. There `simulate` = per layer `simulate_layer` -> chain schedule -> price each
op's actions -> static power over the makespan; this module does the same steps on arrays:

  1. `kernels.evaluate_points`: every point x layer (x candidate dataflow when the mapper
     searches) in one call, points sorted by array shape so that the per-layer ifmap word counts
     (which depend only on the layer, dataflow and shape) are computed once per shape;
  2. `_price_points`: per point, the mapper's choice, each op's action counts and energy (the
     energy layer's recipes, `archsim.energy.model.ACTION_RECIPES`, applied with the same
     arithmetic in the same order), the chain's end times, the power trace's peak, the sums;
  3. per distinct structure (cached): area, leakage and the recipes, from the energy layer's
     own functions.

Every stored field (totals, budget, components, energy breakdown) equals what `simulate` gives
for the point, bit for bit (tests/test_sweep_batch.py checks random spaces). Anything else -- an
arch with other components, a workload graph, an action without a recipe, a point whose chain
has a zero-length op -- goes through `simulate`, point by point.
"""
from __future__ import annotations

import os
import socket
import time
import traceback
import warnings
from pathlib import Path

import attrs
import numpy as np
from archsim.jit import njit

from archsim.blocks.systolic.kernels import (A_DRAM_RD, A_DRAM_WR, A_MAC, A_SRAM_FILTER_RD,
                                             A_SRAM_FILTER_WR, A_SRAM_IFMAP_RD, A_SRAM_IFMAP_WR,
                                             A_SRAM_OFMAP_RD, A_SRAM_OFMAP_WR, DRAM_FILTER_READS,
                                             DRAM_IFMAP_READS, DRAM_OFMAP_READS, DRAM_OFMAP_WRITES,
                                             MACS, N_ACTIONS, TOTAL_CYCLES, action_counts)
from archsim.errors import ConfigError

KIND = "systolic_array"
_OBJECTIVES = {"cycles": 0, "energy": 1, "edp": 2}
_MUL = 0


def batchable(arch, workload) -> str | None:
    """The component name if (arch, workload) can be evaluated in batch, else None."""
    from archsim.workloads.ops import Conv2d, Gemm
    if len(arch.component_kinds) != 1:
        return None
    (cname, kind), = arch.component_kinds.items()
    if kind != KIND:
        return None
    if any(v != cname for v in arch.mapping.values()):
        return None
    ops = workload.ops
    if not ops or not all(type(op) in (Gemm, Conv2d) for op in ops):
        return None
    if workload.after is not None:
        chain = ((),) + tuple((i,) for i in range(len(ops) - 1))
        if tuple(tuple(a) for a in workload.after) != chain:
            return None
    return cname


@attrs.frozen(kw_only=True, eq=False)
class _Static:
    """What pricing needs from one structure (area, leakage, action recipes), computed once."""
    areas: dict
    leaks: dict
    full_activity_w: float | None
    static_w: float
    area_total: float
    rec_op: np.ndarray          # [N_ACTIONS, 4] int (0 = *, 1 = /)
    rec_c: np.ndarray           # [N_ACTIONS, 4] float


_STATIC: dict = {}
_LEDGERS: dict = {}
_TECHS: dict = {}
_RECIPES: dict = {}


def _static(arch, cname: str) -> _Static | None:
    from archsim.blocks.systolic import kernels as K
    from archsim.blocks.systolic.model import action_keys
    from archsim.energy import model as E
    spec = arch.components[cname]
    key = (spec, arch.tech, arch.source)
    st = _STATIC.get(key)
    if st is not None:
        return st
    tk = (arch.tech, arch.source)
    tech = _TECHS.get(tk)
    if tech is None:
        tech = _TECHS[tk] = E.resolve_tech(
            arch.tech, relative_to=arch.source if arch.source and Path(arch.source).exists() else None)
    led = _LEDGERS.get(tech)          # one per tech: its SRAM costs are shared by every point
    if led is None:
        led = _LEDGERS[tech] = E._Ledger(tech)
    struct = E._structure_of(arch, cname)
    keys = action_keys(spec)
    rk = (struct.srams, struct.dram.technology if struct.dram else None, keys, tech)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        areas = E.area_breakdown(struct, ledger=led)
        leaks = E.leakage_breakdown_w(struct, ledger=led)
        full_w = _full_activity_w(struct, led)
        if rk not in _RECIPES:
            _RECIPES[rk] = _recipe_arrays(E.action_recipes(struct, keys, ledger=led), keys, E.MUL, K.N_ACTIONS)
    rec = _RECIPES[rk]
    if rec is None:
        return None
    rec_op, rec_c = rec
    if len(_STATIC) > 4096:
        _STATIC.clear()
    areas, leaks = _clean_floats(areas), _clean_floats(leaks)
    st = _STATIC[key] = _Static(areas=areas, leaks=leaks, full_activity_w=full_w, static_w=float(sum([leaks["total"]])),
                                area_total=float(sum([areas["total"]])), rec_op=rec_op, rec_c=rec_c)
    return st


def _full_activity_w(struct, led):
    """The component's power at full activity, as price_run reports it (None where the energy
    layer has no such figure)."""
    try:
        from archsim.energy.activity import full_activity_power_w
    except ImportError:       # an energy layer without it: the summary has no such field
        return None
    return float(full_activity_power_w(struct, ledger=led)["total"])


def _recipe_arrays(recipes, keys, mul, n_actions):
    """Recipes as arrays for _price_points: ([n, 4] ops, 0 = * 1 = /, [n, 4] constants)."""
    if recipes is None:
        return None
    rec_op = np.zeros((n_actions, 4), dtype=np.int64)
    rec_c = np.ones((n_actions, 4))
    for a, k in enumerate(keys):
        steps = recipes[k]
        if len(steps) > 4:
            return None
        for s, (op, c) in enumerate(steps):
            rec_op[a, s] = 0 if op == mul else 1
            rec_c[a, s] = float(c)
    return rec_op, rec_c


def _clean_floats(d: dict) -> dict:
    """report._clean of a flat {str: number} dict (the common case: finite numbers, as floats)."""
    import math
    if all(isinstance(v, float) and math.isfinite(v) for v in d.values()):
        return {str(k): float(v) for k, v in d.items()}
    from archsim.report.report import _clean
    return _clean(d)


# ------------------------------------------------------------------------------ kernels

# per-point outputs of _price_points
(R_MAKESPAN, R_DYN, R_PEAK, R_FLOPS, R_DRAM, R_BUSY, R_MAC, R_SRAM_I, R_SRAM_F, R_SRAM_O, R_DRAM_E,
 R_BAD, N_R) = range(13)


@njit(cache=True)
def _recipe(x, ops, cs):
    for s in range(ops.shape[0]):
        if ops[s] == 0:
            x = x * cs[s]
        else:
            x = x / cs[s]
    return x


@njit(cache=True)
def _op_energy(counts, rec_op, rec_c, e):
    """Per-action joules of one op into e; returns their sum (as float(sum(per_key.values())))."""
    tot = 0.0
    for a in range(counts.shape[0]):
        c = counts[a]
        e[a] = 0.0 if c == 0.0 else _recipe(c, rec_op[a], rec_c[a])
        tot += e[a]
    return tot


@njit(cache=True)
def _price_points(raw, rank, cand_ok, objective, repeat, word_bytes, hz, rec_op, rec_c, static_w):
    """raw[c, p, l, slot]: kernel results of canonical candidate c (a dataflow, on the GEMM or
    its transpose, in one of the fold loop orders); rank[p, c] its tie-break place in point p's
    candidate list (-1: not a candidate of p); cand_ok[c, l]: candidate c may run layer l (a
    transposed GEMM only without overlapping windows; row folds outer not for IS on overlapping
    windows). Returns (chosen [P, L],
    per-point results [P, N_R]) -- the same arithmetic, in the same order, as
    systolic.model.evaluate / choose_dataflow, simulate.scale_result, schedule (a chain) and
    energy.model.price_run."""
    n_c, n_p, n_l = raw.shape[0], raw.shape[1], raw.shape[2]
    chosen = np.zeros((n_p, n_l), dtype=np.int64)
    res = np.zeros((n_p, N_R))
    counts = np.zeros(N_ACTIONS)
    e = np.zeros(N_ACTIONS)
    end = np.zeros(n_l)
    start = np.zeros(n_l)
    energy = np.zeros(n_l)
    for p in range(n_p):
        # ---- the mapper's choice per layer (lowest score; ties: the earlier candidate)
        for li in range(n_l):
            n_ok = 0
            only = 0
            for c in range(n_c):
                if rank[p, c] >= 0 and cand_ok[c, li]:
                    n_ok += 1
                    only = c
            best = only
            if n_ok > 1:
                best_v = np.inf
                best_r = 1 << 30
                for c in range(n_c):
                    if rank[p, c] < 0 or not cand_ok[c, li]:
                        continue
                    cyc = raw[c, p, li, TOTAL_CYCLES]
                    lat = cyc / hz[p]
                    if objective[p] == 0:
                        v = float(cyc)
                    else:
                        action_counts(raw[c, p, li], word_bytes[p], counts)
                        en = _op_energy(counts, rec_op[p], rec_c[p], e) + static_w[p] * lat
                        v = en if objective[p] == 1 else en * lat
                    if v < best_v or (v == best_v and rank[p, c] < best_r):
                        best_v = v
                        best_r = rank[p, c]
                        best = c
            chosen[p, li] = best
        # ---- ops: latency, energy, chain schedule, sums
        t = 0.0
        dyn = 0.0
        flops = 0.0
        dram = 0.0
        busy = 0.0
        s_mac = 0.0
        s_i = 0.0
        s_f = 0.0
        s_o = 0.0
        s_d = 0.0
        bad = 0.0
        for li in range(n_l):
            r = raw[chosen[p, li], p, li]
            times = repeat[li]
            lat = r[TOTAL_CYCLES] / hz[p]
            fl = 2.0 * float(r[MACS])
            db = float((r[DRAM_IFMAP_READS] + r[DRAM_FILTER_READS] + r[DRAM_OFMAP_READS]
                        + r[DRAM_OFMAP_WRITES]) * np.int64(word_bytes[p]))
            action_counts(r, word_bytes[p], counts)
            if times != 1:
                lat = lat * times
                fl = fl * times
                db = db * times
                for a in range(N_ACTIONS):
                    counts[a] = counts[a] * times
            en = _op_energy(counts, rec_op[p], rec_c[p], e)
            energy[li] = en
            start[li] = t
            t = (t + 0.0) + lat
            end[li] = t
            if not end[li] > start[li]:
                bad = 1.0
            dyn += en
            flops += fl
            dram += db
            busy += lat
            s_mac += 0.0 + e[A_MAC]
            s_i += (0.0 + e[A_SRAM_IFMAP_RD]) + e[A_SRAM_IFMAP_WR]
            s_f += (0.0 + e[A_SRAM_FILTER_RD]) + e[A_SRAM_FILTER_WR]
            s_o += (0.0 + e[A_SRAM_OFMAP_WR]) + e[A_SRAM_OFMAP_RD]
            s_d += (0.0 + e[A_DRAM_RD]) + e[A_DRAM_WR]
        makespan = end[0]
        for li in range(n_l):
            if end[li] > makespan:
                makespan = end[li]
        # ---- power trace peak (energy.model.power_trace on a chain: np.add.at then cumsum)
        peak = 0.0
        cum = 0.0
        prev_p = 0.0
        for li in range(n_l):
            pw = energy[li] / (end[li] - start[li])
            d = 0.0 + pw
            if li > 0:
                d = d + (-prev_p)
            cum = cum + d if li > 0 else d
            v = cum if cum > 0.0 else 0.0
            if li == 0 or v > peak:
                peak = v
            prev_p = pw
        res[p, R_MAKESPAN] = makespan
        res[p, R_DYN] = dyn
        res[p, R_PEAK] = peak
        res[p, R_FLOPS] = flops
        res[p, R_DRAM] = dram
        res[p, R_BUSY] = busy
        res[p, R_MAC] = s_mac
        res[p, R_SRAM_I] = s_i
        res[p, R_SRAM_F] = s_f
        res[p, R_SRAM_O] = s_o
        res[p, R_DRAM_E] = s_d
        res[p, R_BAD] = bad
    return chosen, res


# ------------------------------------------------------------------------------ count caches

# Per worker process: (layer geometry, dataflow, rows, cols) -> the kernel's ifmap word count
# caches (they depend on nothing else), kept across chunks up to _COUNTS_MAX entries.
_COUNTS: dict = {}
_COUNTS_MAX = 16_000_000
_counts_size = 0


def _counts_for(dfl, rows, cols, geoms):
    """Flat cache buffers for evaluate_points_flat: (offsets [P, L], lengths [P, L], first,
    tile, [((cache_first, cache_tile), start, end)] to copy back)."""
    global _counts_size
    from archsim.blocks.systolic import kernels as K
    n_p, n_l = dfl.shape
    off = np.zeros((n_p, n_l), dtype=np.int64)
    ln = np.zeros((n_p, n_l), dtype=np.int64)
    parts = []
    pos = 0
    # points sharing (rows, cols, dataflow of layer l) share layer l's caches
    for li in range(n_l):
        code = (rows * 8192 + cols) * 4 + dfl[:, li]          # rows, cols <= 4096, dataflow < 3
        uniq, inv = np.unique(code, return_inverse=True)
        inv = inv.reshape(-1)
        o = np.empty(len(uniq), dtype=np.int64)
        n_ = np.empty(len(uniq), dtype=np.int64)
        for u, cd in enumerate(uniq.tolist()):
            r, c, d = cd // 4 // 8192, cd // 4 % 8192, cd % 4
            key = (geoms[li], d, r, c)
            arrs = _COUNTS.get(key)
            if arrs is None:
                n = int(K.cache_size.py_func(d, r, c, *geoms[li]))
                if _counts_size + n > _COUNTS_MAX:
                    _COUNTS.clear()
                    _counts_size = 0
                arrs = _COUNTS[key] = (np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))
                _counts_size += n
            n = arrs[0].shape[0]
            parts.append((arrs, pos, pos + n))
            o[u], n_[u] = pos, n
            pos += n
        off[:, li] = o[inv]
        ln[:, li] = n_[inv]
    flat_f = np.empty(pos, dtype=np.int64)
    flat_t = np.empty(pos, dtype=np.int64)
    for (cf, ct), a, b in parts:
        flat_f[a:b] = cf
        flat_t[a:b] = ct
    return off, ln, flat_f, flat_t, parts


# ------------------------------------------------------------------------------ driver

def _error_row(task, ctx, msg):
    key, idx, wi, params = task
    return {"key": key, "idx": idx, "workload": ctx.workload_names[wi], "params": params,
            "status": "error", "error": msg, "worker": f"{socket.gethostname()}:{os.getpid()}",
            "sim_s": None, "cpu_s": None, "eval_s": 0.0, "finished_unix": time.time()}


def evaluate_points_batched(points, workload, cname):
    """[(arch, payload)] on one batchable workload -> [(payload, totals, budget, components,
    energy_breakdown) or (payload, None...) for points to run through simulate]."""
    from archsim.blocks.systolic import kernels as K
    from archsim.blocks.systolic.model import layer_geometry, transposable, transposed_geometry
    from archsim.energy.model import check_budget
    from archsim.units import HZ_PER_GHZ
    ops = workload.ops
    layers = np.array([layer_geometry(op) for op in ops], dtype=np.int64)
    repeat = np.array([op.repeat for op in ops], dtype=np.int64)
    good, fallback = [], []
    for arch, payload in points:
        sp = arch.components[cname]
        # the mapper's temporal tiling (sub-layers against the ofmap SRAM) runs per point
        tiled = sp.mapping == "search" and sp.mapping_tiling
        st = None if tiled else _static(arch, cname)
        (good if st is not None else fallback).append((arch, payload, st))
    out = [(payload, None, None, None, None) for _, payload, _ in fallback]
    if not good:
        return out
    specs = [a.components[cname] for a, _, _ in good]
    order = sorted(range(len(good)), key=lambda i: (specs[i].rows, specs[i].cols))
    good = [good[i] for i in order]
    specs = [specs[i] for i in order]
    n_p, n_l = len(good), len(ops)
    # canonical candidates (dataflow, transposed, row folds outer); a point ranks the ones its
    # mapper lists in its own tie-break order (systolic.model.candidates, untiled)
    canon = [(df, tr, ro) for df in ("os", "ws", "is") for tr in (False, True) for ro in (False, True)]
    rank = np.full((n_p, len(canon)), -1, dtype=np.int64)
    for p, sp in enumerate(specs):
        if sp.mapping == "search":
            order = [(df, tr, ro) for df in sp.mapping_dataflows
                     for tr in ((False, True) if sp.mapping_transpose else (False,))
                     for ro in ((False, True) if sp.mapping_loop_order else (False,))]
        else:
            order = [(sp.dataflow, False, False)]
        for r, cand in enumerate(order):
            rank[p, canon.index(cand)] = r
    trans_ok = np.array([transposable(op) for op in ops], dtype=np.bool_)
    layers_t = np.array([transposed_geometry(op) if ok else layer_geometry(op)
                         for op, ok in zip(ops, trans_ok)], dtype=np.int64)
    # row folds outer: not for IS on overlapping windows (a transposable GEMM never overlaps);
    # where a point has one row or one column fold the two orders give the same numbers and the
    # earlier (column-outer) candidate wins the tie, as the per-op mapper, which skips it
    cand_ok = np.array([[(not tr or trans_ok[li]) and not (ro and df == "is" and not trans_ok[li])
                         for li in range(n_l)] for df, tr, ro in canon], dtype=np.bool_)
    words = np.array([s.sram_words() for s in specs], dtype=np.int64)
    rows = np.array([s.rows for s in specs], dtype=np.int64)
    cols = np.array([s.cols for s in specs], dtype=np.int64)
    bw = np.array([float(s.dram_bandwidth_words_per_cycle) for s in specs])
    po = np.array([s.dram_channels == "per_operand" for s in specs], dtype=np.bool_)
    fo = np.array([bool(s.fold_overlap) for s in specs], dtype=np.bool_)
    raw = np.zeros((len(canon), n_p, n_l, K.N_SLOTS), dtype=np.int64)
    for c, (dfname, tr, ro) in enumerate(canon):
        sub = np.flatnonzero(rank[:, c] >= 0)
        if sub.size == 0:
            continue
        lay = layers_t if tr else layers
        geoms = [tuple(int(x) for x in g) for g in lay]
        dfl = np.full((sub.size, n_l), K.DATAFLOW_CODES[dfname], dtype=np.int64)
        off, ln, flat_f, flat_t, parts = _counts_for(dfl, rows[sub], cols[sub], geoms)
        raw[c, sub] = K.evaluate_points_flat(dfl, rows[sub], cols[sub], words[sub, 0].copy(),
                                             words[sub, 1].copy(), words[sub, 2].copy(), bw[sub],
                                             po[sub], fo[sub], lay, off, ln, flat_f, flat_t, ro)
        for (cf, ct), a, b in parts:          # keep what this call counted for the next one
            cf[:] = flat_f[a:b]
            ct[:] = flat_t[a:b]

    statics = [st for _, _, st in good]
    objective = np.array([_OBJECTIVES[s.mapping_objective] for s in specs], dtype=np.int64)
    wb = np.array([s.word_bytes for s in specs], dtype=np.int64)
    hz = np.array([s.clock_ghz * HZ_PER_GHZ for s in specs])
    rec_op = np.stack([st.rec_op for st in statics])
    rec_c = np.stack([st.rec_c for st in statics])
    static_w = np.array([st.static_w for st in statics])
    _, res = _price_points(raw, rank, cand_ok, objective, repeat, wb, hz, rec_op, rec_c, static_w)
    kind = KIND
    for i, (arch, payload, st) in enumerate(good):
        r = res[i]
        if r[R_BAD]:
            out.append((payload, None, None, None, None))
            continue
        makespan = float(r[R_MAKESPAN])
        static = st.static_w
        dyn = float(r[R_DYN])
        energy = dyn + static * makespan
        avg = energy / makespan if makespan > 0 else None
        peak = float(r[R_PEAK]) + static
        totals = {"cycles": int(round(makespan * (specs[i].clock_ghz * 1e9))), "latency_s": makespan,
                  "flops": float(r[R_FLOPS]), "dram_bytes": float(r[R_DRAM]), "energy_j": energy,
                  "dynamic_energy_j": dyn, "avg_power_w": avg, "peak_power_w": peak,
                  "leakage_power_w": static, "area_mm2": st.area_total}
        budget = check_budget(arch.budget, area_mm2_total=st.area_total, avg_power_w=avg,
                              peak_power_w=peak)
        breakdown = {"mac": float(r[R_MAC]), "sram.ifmap": float(r[R_SRAM_I]),
                     "sram.filter": float(r[R_SRAM_F]), "sram.ofmap": float(r[R_SRAM_O]),
                     "dram": float(r[R_DRAM_E])}
        leak_j = st.leaks["total"] * makespan
        comp = {"name": cname, "kind": kind, "area_mm2": st.areas["total"],
                "leakage_power_w": st.leaks["total"], "energy_j": dyn + leak_j,
                "utilization": float(r[R_BUSY] / makespan) if makespan > 0 else 0.0,
                "full_activity_power_w": st.full_activity_w,
                "avg_power_w": (dyn + leak_j) / makespan if makespan > 0 else None,
                "breakdown": {"area_mm2": {k: v for k, v in st.areas.items() if k != "total"},
                              "energy_j": {**breakdown, "leakage": leak_j},
                              "leakage_power_w": {k: v for k, v in st.leaks.items() if k != "total"}}}
        comp = {k: v for k, v in comp.items() if v is not None}    # as attrs.asdict, filtered
        out.append((payload, totals, budget, [comp], breakdown))
    return out


_BASE_ARCH: dict = {}


def _fast_arch(ctx, arch_over):
    """The point's arch built from the sweep's base arch by replacing only the overridden
    component fields -- each converted by the config loader's own `convert`, the spec rebuilt
    with its validators and the block's `validate` run, as `arch_from_data` would -- or None
    (anything else: the caller builds it the full way, which also words any error)."""
    from archsim.config.arch import arch_from_data
    from archsim.config.load import _type_hints, convert
    base = _BASE_ARCH.get(ctx.digest)
    if base is None:
        _BASE_ARCH.clear()
        base = _BASE_ARCH[ctx.digest] = arch_from_data(dict(ctx.arch_data), file=ctx.arch_file)
    fields: dict = {}
    for k, v in arch_over.items():
        parts = k.split(".")
        if len(parts) != 3 or parts[0] != "components" or parts[1] not in base.components:
            return None
        fields.setdefault(parts[1], {})[parts[2]] = v
    comps = dict(base.components)
    try:
        for cname, vals in fields.items():
            spec = base.components[cname]
            hints = _type_hints(type(spec))
            names = {f.name for f in attrs.fields(type(spec)) if f.init}
            if not set(vals) <= names:
                return None
            key = f"components.{cname}"
            conv = {f: convert(hints[f], v, file=ctx.arch_file, key=f"{key}.{f}") for f, v in vals.items()}
            new = attrs.evolve(spec, **conv)
            mod = base.component_module(cname)
            if hasattr(mod, "validate"):
                mod.validate(new, file=ctx.arch_file, key=key)
            comps[cname] = new
    except Exception:
        return None
    return attrs.evolve(base, components=comps)


def evaluate_chunk(ctx, tasks, evaluate_point) -> list[dict]:
    """A chunk of sweep tasks: the batchable points in batch, the rest through
    `evaluate_point` (simulate). Rows as `evaluate_point` writes them."""
    from archsim.config.arch import arch_from_data
    from archsim.config.load import apply_overrides
    from archsim.report.report import _clean
    from archsim.sweep.execute import _state
    from archsim.sweep.spec import split_params
    st = _state(ctx)
    groups: dict = {}
    rows: dict[int, dict] = {}
    singles = []
    t0, c0 = time.perf_counter(), time.process_time()
    for n, task in enumerate(tasks):
        key, idx, wi, params = task
        arch_over, wl_over = split_params(params)
        try:
            arch = _fast_arch(ctx, arch_over)
            if arch is None:
                arch = arch_from_data(apply_overrides(dict(ctx.arch_data), arch_over, file=ctx.arch_file),
                                      file=ctx.arch_file)
            wl = st.workload(wi, wl_over)
        except ConfigError as exc:
            rows[n] = _error_row(task, ctx, f"ConfigError: {exc}")
            continue
        except Exception as exc:     # as evaluate_point: recorded, the sweep goes on
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb else ""
            rows[n] = _error_row(task, ctx, f"{type(exc).__name__}: {exc}{where}")
            continue
        cname = batchable(arch, wl)
        if cname is None:
            singles.append(n)
            continue
        groups.setdefault((id(wl), cname), (wl, cname, []))[2].append((arch, n))
    done = []
    for wl, cname, pts in groups.values():
        try:
            results = evaluate_points_batched(pts, wl, cname)
        except Exception:            # anything unexpected: the reference path decides
            singles.extend(n for _, n in pts)
            continue
        for n, totals, budget, comps, breakdown in results:
            if totals is None:
                singles.append(n)
                continue
            key, idx, wi, params = tasks[n]
            rows[n] = {"key": key, "idx": idx, "workload": ctx.workload_names[wi], "params": params,
                       "status": "ok", "error": None,
                       "worker": f"{socket.gethostname()}:{os.getpid()}",
                       "totals": _clean(totals), "budget": _clean(dict(budget)) if budget is not None else None,
                       "components": comps, "energy_breakdown": breakdown}
            done.append(n)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    now = time.time()
    for n in done:                   # the batch's time, shared out evenly
        rows[n].update(sim_s=wall / len(done), cpu_s=cpu / len(done), eval_s=wall / len(done),
                       finished_unix=now)
    for n in singles:
        rows[n] = evaluate_point(ctx, tasks[n])
    return [rows[n] for n in range(len(tasks))]
