"""Multi-resolution grid encoding (instant-ngp / tiny-cuda-nn) and a cycle model of the NGPC
input-encoding sub-engine over the real table addresses of a batch.

Hashing follows tiny-cuda-nn's `grid_index` / `coherent_prime_hash` exactly
(include/tiny-cuda-nn/encodings/grid.h and common_device.h, 2022):

    scale(l)      = exp2f(l * log2(per_level_scale)) * base_resolution - 1      (float32)
    resolution(l) = ceil(scale(l)) + 1
    pos           = fmaf(scale, x, 0.5);  cell = floor(pos);  frac = pos - cell  (float32)
    index         = sum_d cell_d * resolution^d      while stride <= table size (dense)
    if hash grid and the dense grid does not fit:    index = XOR_d cell_d * PI_d  (uint32)
    index         = index mod table_size(l)
    PI            = (1, 2654435761, 805459861)

Per level the table holds `params_in_level` entries (tcnn): resolution^dims rounded up to a
multiple of 8, capped at 2^log2_table_size for hash grids (dense grids are never capped).
Corner c of a point has offset bit d of c in dimension d (tcnn's loop order).

The engine model (`engine_cycles`) is an in-order pipeline per sub-engine: corner requests are
issued in order, at most `issue_width` per cycle, each bank of the grid SRAM serves at most
`ports` lookups per cycle (a conflicting request waits for the next cycle, and so do the ones
behind it), requests whose level table does not fit in the SRAM go through a direct-mapped
cache (the lookup occupies the bank, hit or miss) whose misses use a FIFO miss channel
(`miss_line_cycles` per line, may be fractional; the data is usable at the next whole cycle
plus `miss_latency_cycles`) with at most `mshrs` lines outstanding; the interpolation stage consumes
corners in order (`interp_units` units, each busy `interp_occupancy` cycles per corner), and the FIFO between memory and interpolation holds
`fifo_depth` requests (back-pressure on issue). Total = last interpolation slot + occupancy +
`pipeline_depth` (pos_fract / grid_index front end and the accumulate / output back end).
"""
from __future__ import annotations

import math

import numpy as np
from archsim.jit import njit  # numba, loaded on the first kernel call

PRIMES = (1, 2654435761, 805459861)     # tcnn coherent_prime_hash factors (first three)
GRID_HASH, GRID_DENSE = 0, 1

# engine_cycles count slots
C_REQUESTS, C_HITS, C_MISSES, C_BANK_CONFLICTS, C_MSHR_STALLS, C_FIFO_STALLS, C_MISS_BYTES = range(7)
N_COUNTS = 7


def level_layout(dims: int, levels: int, log2_table_size: int, base_resolution: int,
                 per_level_scale: float, grid_type: int):
    """Per-level (scale float32, resolution, table entries, entry offset), tcnn's layout."""
    log2_pls = np.float32(math.log2(per_level_scale))
    scales = np.zeros(levels, dtype=np.float32)
    res = np.zeros(levels, dtype=np.int64)
    size = np.zeros(levels, dtype=np.int64)
    offset = np.zeros(levels, dtype=np.int64)
    off = 0
    max_params = np.iinfo(np.uint32).max // 2
    for lv in range(levels):
        s = np.float32(np.exp2(np.float32(lv) * log2_pls) * np.float32(base_resolution) - np.float32(1.0))
        r = int(math.ceil(float(s))) + 1
        dense = float(r) ** dims
        p = max_params if dense > max_params else r ** dims
        p = (p + 7) // 8 * 8
        if grid_type == GRID_HASH:
            p = min(p, 1 << log2_table_size)
        scales[lv], res[lv], size[lv], offset[lv] = s, r, p, off
        off += p
    return scales, res, size, offset


@njit(cache=True)
def grid_index_xyz(c0, c1, c2, dims, resolution, table_size, grid_type):
    """tcnn grid_index for one corner given as scalars (c1, c2 ignored beyond `dims`): dense
    linear index while the grid fits (uint32 arithmetic), else the coherent prime hash; then
    mod table_size."""
    mask = np.uint64(0xFFFFFFFF)
    ts = np.uint64(table_size)
    res = np.uint64(resolution)
    stride = np.uint64(1)
    index = np.uint64(0)
    if stride <= ts:
        index = (index + np.uint64(c0) * stride) & mask
        stride = stride * res
    if dims > 1 and stride <= ts:
        index = (index + np.uint64(c1) * stride) & mask
        stride = stride * res
    if dims > 2 and stride <= ts:
        index = (index + np.uint64(c2) * stride) & mask
        stride = stride * res
    if grid_type == GRID_HASH and ts < stride:
        index = np.uint64(c0) & mask
        if dims > 1:
            index ^= (np.uint64(c1) * np.uint64(2654435761)) & mask
        if dims > 2:
            index ^= (np.uint64(c2) * np.uint64(805459861)) & mask
    return np.int64(index % ts)


@njit(cache=True)
def grid_index(cell, dims, resolution, table_size, grid_type):
    """`grid_index_xyz` for an int64 array `cell` of length dims."""
    c1 = cell[1] if dims > 1 else 0
    c2 = cell[2] if dims > 2 else 0
    return grid_index_xyz(cell[0], c1, c2, dims, resolution, table_size, grid_type)


@njit(cache=True)
def corner_indices(points, scale, resolution, table_size, grid_type):
    """(n, 2^dims) int64 table indices and float32 interpolation weights of every corner of
    every point at one level. `points` is (n, dims) float32 in [0, 1]."""
    n, dims = points.shape
    nc = 1 << dims
    idx = np.empty((n, nc), dtype=np.int64)
    w = np.empty((n, nc), dtype=np.float32)
    cell = np.zeros(3, dtype=np.int64)
    frac = np.zeros(3, dtype=np.float32)
    sc = np.float64(np.float32(scale))
    for i in range(n):
        for d in range(dims):
            # tcnn: pos = fmaf(scale, x, 0.5f) (one rounding); x * scale is exact in float64
            # and so is + 0.5 wherever the floor can change, so this is the fmaf result
            pos = np.float32(np.float64(points[i, d]) * sc + 0.5)
            fl = np.float32(math.floor(pos))
            cell[d] = np.int64(fl)
            frac[d] = pos - fl
        for c in range(nc):
            wt = np.float32(1.0)
            c0 = cell[0] + (c & 1)
            wt *= frac[0] if c & 1 else np.float32(1.0) - frac[0]
            c1 = 0
            c2 = 0
            if dims > 1:
                c1 = cell[1] + ((c >> 1) & 1)
                wt *= frac[1] if (c >> 1) & 1 else np.float32(1.0) - frac[1]
            if dims > 2:
                c2 = cell[2] + ((c >> 2) & 1)
                wt *= frac[2] if (c >> 2) & 1 else np.float32(1.0) - frac[2]
            idx[i, c] = grid_index_xyz(c0, c1, c2, dims, resolution, table_size, grid_type)
            w[i, c] = wt
    return idx, w


@njit(cache=True)
def bank_of(ent, banks, bank_xor):
    """Bank of table entry `ent`: low bits (entry mod banks), or with `bank_xor` the XOR of all
    log2(banks)-bit chunks of the entry index (banks a power of two), which spreads the
    power-of-two strides of dense grids over the banks."""
    if not bank_xor or banks == 1:
        return ent % banks
    bits = 0
    while (1 << bits) < banks:
        bits += 1
    h = 0
    x = ent
    while x > 0:
        h ^= x & (banks - 1)
        x >>= bits
    return h


@njit(cache=True)
def engine_cycles(entries, issue_width, banks, bank_xor, ports, sram_latency, fits, n_sets, line_entries,
                  entry_bytes, miss_line_cycles, miss_latency, mshrs, interp_units, interp_occupancy,
                  fifo_depth, pipeline_depth, mark=0):
    """Cycles for one encoding sub-engine to serve the corner requests `entries` (int64 table
    indices of one level, point-major, corner-minor) and the count vector (slots C_*).

    `fits` = the level's table is resident in the grid SRAM (every request hits); otherwise
    the SRAM is a direct-mapped cache of `n_sets` lines of `line_entries` entries. Bank of a
    request: `bank_of` (low bits, or XOR-folded with `bank_xor`). Each of the `interp_units` interpolation units is busy
    `interp_occupancy` cycles per corner (ceil(features / MACs per unit)). Times are integer
    cycles.

    Returns (cycles, counts, mark_cycles, mark_counts): the last two are what a run over only
    the first `mark` requests would return (later requests never change earlier ones), so one
    run gives the cost of a warm-up prefix and of what follows it."""
    r = entries.shape[0]
    counts = np.zeros(N_COUNTS, dtype=np.int64)
    mark_counts = np.zeros(N_COUNTS, dtype=np.int64)
    if r == 0:
        return 0, counts, 0, mark_counts
    s = np.zeros(r, dtype=np.int64)                   # interpolation slot of each request
    tags = np.full(max(n_sets, 1), -1, dtype=np.int64)
    fill_ready = np.zeros(max(n_sets, 1), dtype=np.int64)
    ring = np.zeros(max(mshrs, 1), dtype=np.int64)    # ready times of outstanding misses (FIFO)
    ring_head = 0
    ring_len = 0
    bank_used = np.zeros(banks, dtype=np.int64)      # lookups of bank b in cycle bank_cycle[b]
    bank_cycle = np.full(banks, -1, dtype=np.int64)
    t = 0
    issued = 0
    chan_free = 0.0                                   # the miss channel (fractional cycles)
    for i in range(r):
        ent = entries[i]
        bank = bank_of(ent, banks, bank_xor)
        hit = True
        data_avail = 0
        line = 0
        st = 0
        if not fits:
            line = ent // line_entries
            st = line % n_sets
            if tags[st] == line:
                data_avail = fill_ready[st]
            else:
                hit = False
        earliest = t
        if i >= fifo_depth and s[i - fifo_depth] > earliest:
            earliest = s[i - fifo_depth]
            counts[C_FIFO_STALLS] += 1
        if earliest > t:
            t = earliest
            issued = 0
        while True:
            if issued >= issue_width:
                t += 1
                issued = 0
                continue
            if bank_cycle[bank] == t and bank_used[bank] >= ports:   # hits and misses look up the bank
                counts[C_BANK_CONFLICTS] += 1
                t += 1
                issued = 0
                continue
            if not hit:
                while ring_len > 0 and ring[ring_head] <= t:
                    ring_head = (ring_head + 1) % mshrs
                    ring_len -= 1
                if ring_len >= mshrs:
                    counts[C_MSHR_STALLS] += 1
                    t = ring[ring_head]
                    issued = 0
                    continue
            break
        issued += 1
        if bank_cycle[bank] != t:
            bank_cycle[bank] = t
            bank_used[bank] = 0
        bank_used[bank] += 1
        if hit:
            ready = t + sram_latency
            if data_avail > ready:
                ready = data_avail
            counts[C_HITS] += 1
        else:
            start = float(t) if t > chan_free else chan_free
            chan_free = start + miss_line_cycles
            ready = np.int64(math.ceil(chan_free)) + miss_latency
            tags[st] = line
            fill_ready[st] = ready
            ring[(ring_head + ring_len) % mshrs] = ready
            ring_len += 1
            counts[C_MISSES] += 1
            counts[C_MISS_BYTES] += line_entries * entry_bytes
        slot = ready
        if i > 0 and s[i - 1] > slot:
            slot = s[i - 1]
        if i >= interp_units and s[i - interp_units] + interp_occupancy > slot:
            slot = s[i - interp_units] + interp_occupancy
        s[i] = slot
        if i + 1 == mark:
            mark_counts[:] = counts
            mark_counts[C_REQUESTS] = mark
    counts[C_REQUESTS] = r
    mark_cycles = s[mark - 1] + interp_occupancy + pipeline_depth if mark > 0 else 0
    return s[r - 1] + interp_occupancy + pipeline_depth, counts, mark_cycles, mark_counts
