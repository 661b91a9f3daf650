"""NGPC encoding kernel: instant-ngp hashing and the sub-engine cycle loop against naive
pure-Python references, plus invariants."""
from __future__ import annotations

import math

import numpy as np
import pytest

from archsim.blocks.ngpc import kernels as hg

MASK32 = 0xFFFFFFFF


# ----------------------------------------------------------------------------- naive references

def naive_grid_index(cell, resolution, table_size, hashed):
    """tiny-cuda-nn grid_index (grid.h), uint32 arithmetic written out with Python ints."""
    stride, index, d = 1, 0, 0
    while d < len(cell) and stride <= table_size:
        index = (index + cell[d] * stride) & MASK32
        stride = stride * resolution
        d += 1
    if hashed and table_size < stride:
        primes = (1, 2654435761, 805459861)
        index = 0
        for d, c in enumerate(cell):
            index ^= (c * primes[d]) & MASK32
    return index % table_size


def naive_corners(point, scale, resolution, table_size, hashed):
    dims = len(point)
    cell, frac = [], []
    for x in point:
        pos = np.float32(float(np.float32(x)) * float(np.float32(scale)) + 0.5)   # fmaf, one rounding
        fl = np.float32(math.floor(pos))
        cell.append(int(fl))
        frac.append(pos - fl)
    out = []
    for c in range(1 << dims):
        corner = [cell[d] + ((c >> d) & 1) for d in range(dims)]
        out.append(naive_grid_index(corner, resolution, table_size, hashed))
    return out


def naive_bank(ent, banks, xor):
    if not xor or banks == 1:
        return ent % banks
    bits = banks.bit_length() - 1
    h = 0
    while ent:
        h ^= ent & (banks - 1)
        ent >>= bits
    return h


def naive_engine(entries, W, banks, xor, ports, lat, fits, n_sets, line_entries, entry_bytes,
                 line_cycles, miss_lat, mshrs, iu, occ, fifo, depth):
    """Time-stepped twin of hg.engine_cycles: every cycle, issue requests in order until one
    cannot go (issue width, bank ports, MSHRs or FIFO space)."""
    r = len(entries)
    s = [0] * r
    tags, fill = {}, {}
    outstanding = []
    chan_free = 0.0
    hits = misses = 0
    conflicted, mshr_stalled, fifo_stalled = set(), set(), set()
    i, t = 0, 0
    while i < r:
        issued, used = 0, {}
        while i < r:
            ent = entries[i]
            bank = naive_bank(ent, banks, xor)
            if fits:
                hit, avail = True, 0
            else:
                line = ent // line_entries
                st = line % n_sets
                hit = tags.get(st) == line
                avail = fill.get(st, 0) if hit else 0
            if i >= fifo and s[i - fifo] > t:
                fifo_stalled.add(i)
                break
            if issued >= W:
                break
            if used.get(bank, 0) >= ports:
                conflicted.add(i)
                break
            if not hit:
                outstanding = [x for x in outstanding if x > t]
                if len(outstanding) >= mshrs:
                    mshr_stalled.add(i)
                    break
            issued += 1
            used[bank] = used.get(bank, 0) + 1
            if hit:
                ready = max(t + lat, avail)
                hits += 1
            else:
                start = max(float(t), chan_free)
                chan_free = start + line_cycles
                ready = math.ceil(chan_free) + miss_lat
                tags[st], fill[st] = line, ready
                outstanding.append(ready)
                misses += 1
            slot = ready
            if i > 0:
                slot = max(slot, s[i - 1])
            if i >= iu:
                slot = max(slot, s[i - iu] + occ)
            s[i] = slot
            i += 1
        t += 1
    counts = [r, hits, misses, len(conflicted), len(mshr_stalled), len(fifo_stalled),
              misses * line_entries * entry_bytes]
    return s[-1] + occ + depth, counts


# ----------------------------------------------------------------------------- hashing

def test_hash_golden_numbers():
    # cell (1, 1, 1) at a level whose dense grid exceeds T = 2^19 (resolution 2049):
    # 1*1 ^ 1*2654435761 ^ 1*805459861 = 0x00000001 ^ 0x9E3779B1 ^ 0x30025795 = 0xAE352E25;
    # mod 2^19 keeps the low 19 bits: 0xAE352E25 & 0x7FFFF = 0x52E25 = 339493.
    cell = np.array([1, 1, 1], dtype=np.int64)
    assert hg.grid_index(cell, 3, 2049, 1 << 19, hg.GRID_HASH) == 0x52E25 == 339493
    # cell (3, 2, 0): 3 ^ (2 * 2654435761 mod 2^32 = 0x3C6EF362) = 0x3C6EF361 -> & 0x7FFFF = 0x6F361
    assert hg.grid_index(np.array([3, 2, 0]), 3, 2049, 1 << 19, hg.GRID_HASH) == 0x6F361
    # a level that fits densely (resolution 17, 17^3 = 4913 <= 2^19): linear index x + 17 y + 289 z
    assert hg.grid_index(np.array([3, 2, 1]), 3, 17, 4920, hg.GRID_HASH) == 3 + 17 * 2 + 289 * 1
    # a dense grid never hashes; mod table size wraps the corner at the upper boundary
    assert hg.grid_index(np.array([17, 0, 0]), 3, 17, 4913, hg.GRID_DENSE) == 17
    # 2D: cell (5, 7), T = 2^24, resolution 28360: 5 ^ (7 * 2654435761 mod 2^32) mod 2^24
    want = (5 ^ ((7 * 2654435761) & MASK32)) & ((1 << 24) - 1)
    assert hg.grid_index(np.array([5, 7]), 2, 28360, 1 << 24, hg.GRID_HASH) == want


def test_level_layout_matches_tcnn():
    # NeRF hashgrid: L=16, base 16, b = (2048/16)^(1/15); level 0 scale 15 -> resolution 16,
    # 16^3 = 4096 entries; coarse levels dense, finer ones capped at 2^19.
    b = math.exp(math.log(2048 / 16) / 15)
    scales, res, size, off = hg.level_layout(3, 16, 19, 16, b, hg.GRID_HASH)
    assert res[0] == 16 and size[0] == 4096 and off[0] == 0
    assert size[1] == (res[1] ** 3 + 7) // 8 * 8
    assert all(size[lv] == 1 << 19 for lv in range(6, 16))
    assert off[15] == sum(size[:15])
    assert res[15] == math.ceil(np.float32(np.exp2(np.float32(15) * np.float32(math.log2(b))) * 16 - 1)) + 1
    # dense grids are never capped
    _, res_d, size_d, _ = hg.level_layout(3, 8, 19, 16, (173 / 16) ** (1 / 7), hg.GRID_DENSE)
    assert size_d[-1] == (res_d[-1] ** 3 + 7) // 8 * 8 > 1 << 19


@pytest.mark.parametrize("dims,log2t,base,finest,levels,grid", [
    (3, 19, 16, 2048, 16, hg.GRID_HASH), (2, 24, 16, 28359, 16, hg.GRID_HASH),
    (3, 19, 16, 173, 8, hg.GRID_DENSE), (3, 12, 16, 512, 6, hg.GRID_HASH),
    (3, 19, 128, 128, 2, hg.GRID_DENSE)])
def test_corner_indices_match_naive(dims, log2t, base, finest, levels, grid):
    rng = np.random.default_rng(dims * 100 + log2t)
    pts = rng.random((40, dims)).astype(np.float32)
    pts[0] = 0.0
    pts[1] = 1.0
    b = 1.0 if levels == 1 else math.exp(math.log(finest / base) / (levels - 1))
    scales, res, size, _ = hg.level_layout(dims, levels, log2t, base, b, grid)
    for lv in range(levels):
        idx, w = hg.corner_indices(pts, float(scales[lv]), int(res[lv]), int(size[lv]), grid)
        for i in range(len(pts)):
            assert list(idx[i]) == naive_corners(pts[i], scales[lv], int(res[lv]), int(size[lv]),
                                                 grid == hg.GRID_HASH)
        assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5)   # interpolation weights sum to 1
        assert (idx >= 0).all() and (idx < size[lv]).all()


# ----------------------------------------------------------------------------- engine kernel

def _case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 160))
    span = int(rng.choice([16, 64, 1024, 1 << 16]))
    entries = rng.integers(0, span, n).astype(np.int64)
    if seed % 3 == 0:     # runs of nearby entries, like x-adjacent corners
        entries = (np.cumsum(rng.integers(0, 3, n)) % span).astype(np.int64)
    banks = int(rng.choice([1, 2, 4, 8, 16]))
    args = dict(W=int(rng.integers(1, 9)), banks=banks, xor=bool(rng.integers(2)),
                ports=int(rng.integers(1, 3)), lat=int(rng.integers(1, 4)),
                fits=bool(rng.integers(2)), n_sets=int(rng.choice([1, 4, 32])),
                line_entries=int(rng.choice([1, 2, 8])), entry_bytes=4,
                line_cycles=float(rng.choice([1, 2, 5, 0.25, 1.5, 2.7])), miss_lat=int(rng.integers(0, 40)),
                mshrs=int(rng.integers(1, 6)), iu=int(rng.integers(1, 9)),
                occ=int(rng.integers(1, 3)), fifo=int(rng.integers(1, 20)),
                depth=int(rng.integers(0, 7)))
    return entries, args


def _kernel(entries, a, mark=0):
    c, cnt, _mc, _mcnt = _kernel_marked(entries, a, mark)
    return c, cnt


def _kernel_marked(entries, a, mark):
    return hg.engine_cycles(entries, a["W"], a["banks"], a["xor"], a["ports"], a["lat"], a["fits"],
                            a["n_sets"], a["line_entries"], a["entry_bytes"], a["line_cycles"],
                            a["miss_lat"], a["mshrs"], a["iu"], a["occ"], a["fifo"], a["depth"], mark)


@pytest.mark.parametrize("seed", range(60))
def test_engine_matches_naive(seed):
    entries, a = _case(seed)
    cycles, counts = _kernel(entries, a)
    ref_cycles, ref_counts = naive_engine(list(entries), **a)
    assert cycles == ref_cycles
    assert list(counts) == ref_counts


@pytest.mark.parametrize("seed", range(10))
def test_mark_equals_a_prefix_run(seed):
    entries, a = _case(seed + 500)
    mark = max(1, len(entries) // 3)
    _c, _cnt, mc, mcnt = _kernel_marked(entries, a, mark)
    pc, pcnt = _kernel(entries[:mark].copy(), a)
    assert mc == pc and list(mcnt) == list(pcnt)


def test_engine_hand_example():
    # 2 points x 4 corners (2D), one sub-engine issuing 4 corners per cycle, 4 banks with low-bit
    # mapping, 1 port, SRAM latency 1, all resident, 4 interpolation units (1 cycle each),
    # depth 3. Point 0 = entries 0 1 2 3 (banks 0 1 2 3, no conflict) issues at cycle 0, ready
    # at 1, interpolation slots 1 1 1 1. Point 1 = entries 4 5 8 9 (banks 0 1 0 1): 4 and 5 go
    # at cycle 1; 8 conflicts with 4 on bank 0 -> cycle 2 (with 9). Ready 2 2 3 3; slots:
    # max(ready, previous slot, slot 4 back + 1) = 2 2 3 3. Cycles = 3 + 1 + 3 = 7.
    e = np.array([0, 1, 2, 3, 4, 5, 8, 9], dtype=np.int64)
    cycles, counts, _, _ = hg.engine_cycles(e, 4, 4, False, 1, 1, True, 1, 1, 4, 1.0, 0, 1, 4, 1, 64, 3)
    assert cycles == 7
    assert counts[hg.C_BANK_CONFLICTS] == 1 and counts[hg.C_HITS] == 8


def test_xor_bank_mapping_spreads_dense_strides():
    # dense 16^3 level: corners differ by 1, 16 and 256 -> low bits put 4 corners on each of 2 banks
    corners = np.array([0, 1, 16, 17, 256, 257, 272, 273], dtype=np.int64)
    low = {hg.bank_of(c, 8, False) for c in corners}
    xor = {hg.bank_of(c, 8, True) for c in corners}
    assert len(low) == 2 and len(xor) > len(low)


@pytest.mark.parametrize("seed", range(25))
def test_more_lanes_or_banks_never_slower(seed):
    entries, a = _case(seed + 1000)
    a["xor"] = False
    base, _ = _kernel(entries, a)
    more_lanes, _ = _kernel(entries, {**a, "W": a["W"] + 1})
    more_banks, _ = _kernel(entries, {**a, "banks": a["banks"] * 2})
    more_ports, _ = _kernel(entries, {**a, "ports": a["ports"] + 1})
    assert more_lanes <= base and more_banks <= base and more_ports <= base


@pytest.mark.parametrize("seed", range(25))
def test_fitting_table_never_slower_than_spilling(seed):
    entries, a = _case(seed + 2000)
    fit, cf = _kernel(entries, {**a, "fits": True})
    spill, cs = _kernel(entries, {**a, "fits": False})
    assert fit <= spill
    assert cf[hg.C_MISSES] == 0 and cf[hg.C_HITS] == len(entries)
    assert cs[hg.C_HITS] + cs[hg.C_MISSES] == len(entries)


def test_throughput_bound():
    # never faster than the issue width or the interpolation units allow
    rng = np.random.default_rng(7)
    e = rng.integers(0, 1 << 19, 4096).astype(np.int64)
    cycles, _, _, _ = hg.engine_cycles(e, 8, 8, True, 1, 2, True, 1, 1, 4, 1.0, 0, 1, 4, 2, 64, 6)
    assert cycles >= len(e) / 8 and cycles >= len(e) * 2 / 4


@pytest.mark.parametrize("app,level", [("nerf", 3), ("nerf", 14), ("nvr", 15), ("gia", 12)])
def test_engine_matches_naive_on_real_hashed_addresses(app, level):
    """Real instant-ngp addresses of an app-shaped batch (48 points), engine vs naive, with a
    small cache so that the level spills."""
    from archsim.blocks.ngpc.generator import Params, expand, sample_batch
    he = [o for o in expand(Params(app=app, width_px=64, height_px=48)).ops if o.KIND == "hash_encode"][0]
    pts = sample_batch(he.sampler, 48, dims=he.dims, seed=1)
    b = math.exp(math.log(he.finest_resolution / he.base_resolution) / (he.levels - 1))
    scales, res, size, _ = hg.level_layout(he.dims, he.levels, he.log2_table_size, he.base_resolution,
                                           b, hg.GRID_HASH)
    idx, _ = hg.corner_indices(pts, float(scales[level]), int(res[level]), int(size[level]), hg.GRID_HASH)
    entries = idx.ravel()
    a = dict(W=8, banks=8, xor=True, ports=1, lat=2, fits=False, n_sets=64, line_entries=8,
             entry_bytes=4, line_cycles=2.3, miss_lat=45, mshrs=16, iu=8, occ=1, fifo=64, depth=6)
    cycles, counts = _kernel(entries, a)
    ref_cycles, ref_counts = naive_engine(list(entries), **a)
    assert cycles == ref_cycles and list(counts) == ref_counts
    assert counts[hg.C_BANK_CONFLICTS] > 0
