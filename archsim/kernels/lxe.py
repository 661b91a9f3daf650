"""V-Rex LXE (LPU-style) MAC-tree engine timing, numpy + numba only.

The DPE is `trees` MAC trees of `inputs` inputs each: per cycle every tree reduces one
`inputs`-long slice of an activation vector against its own slice of a weight row, i.e. a
(trees x inputs) weight tile meets one activation vector per cycle. A GEMM C[m,n] = A[m,k] B[k,n]
(B = weights, or K / V in attention) is tiled into ceil(n/trees) x ceil(k/inputs) weight tiles;
each tile is held while the m activation vectors stream past (m cycles). B streams from DRAM in
k-order while the matching k-slices of A stream in beside it; the fp32 partial sums of C stay in
on-chip memory (`acc_budget_bytes`, half of it — the other half double-buffers B tiles). When C
does not fit, either m is split into passes (B streamed once per pass) or n into column blocks
(A re-read per block), whichever moves fewer bytes (`acc_budget_bytes` = 0: C is consumed on
the fly, as in flash-style attention, so one pass). Cycles = max(compute,
DRAM) + fill (the two overlap through double buffering).
"""
from __future__ import annotations

import numpy as np
from numba import njit

# action-count slots
LXE_MAC, LXE_SRAM_RD, LXE_SRAM_WR, LXE_DRAM_RD, LXE_DRAM_WR = range(5)


@njit(cache=True)
def mactree_gemm(m, k, n, batch, trees, inputs, acc_budget_bytes, dtype_bytes, dram_bytes_per_cycle,
                 fill_cycles, a_from_dram, c_to_dram):
    """One core's GEMM. Returns (cycles, compute_cycles, dram_cycles, passes, counts[5])."""
    tiles = ((n + trees - 1) // trees) * ((k + inputs - 1) // inputs)
    compute = batch * tiles * m
    a_bytes = m * k * dtype_bytes
    acc_bytes = m * n * 4
    passes = 1
    a_reads = 1
    if acc_budget_bytes > 0 and acc_bytes > acc_budget_bytes:
        # (a) split m: B streamed once per m-pass; (b) split n into column blocks whose
        # accumulators fit: B streamed once, A re-read per block. Take the cheaper one.
        passes_m = (acc_bytes + acc_budget_bytes - 1) // acc_budget_bytes
        nb = max(trees, (acc_budget_bytes // (m * 4)) // trees * trees)
        blocks_n = (n + nb - 1) // nb
        cost_a = passes_m * k * n + m * k
        cost_b = k * n + blocks_n * m * k
        if cost_a <= cost_b:
            passes = passes_m
        else:
            a_reads = blocks_n
    b_bytes = float(batch) * k * n * dtype_bytes * passes
    a_dram = float(batch) * a_bytes * a_reads if a_from_dram else 0.0
    c_dram = float(batch) * m * n * dtype_bytes if c_to_dram else 0.0
    dram = b_bytes + a_dram + c_dram
    dram_cycles = dram / dram_bytes_per_cycle
    cycles = max(float(compute), dram_cycles) + fill_cycles
    counts = np.zeros(5, dtype=np.float64)
    counts[LXE_MAC] = float(batch) * m * k * n
    # A: one `inputs`-wide activation slice read per cycle per tile row; B tiles written then read
    counts[LXE_SRAM_RD] = float(compute) * inputs * dtype_bytes + b_bytes
    counts[LXE_SRAM_WR] = b_bytes + float(batch) * (a_bytes + acc_bytes)
    counts[LXE_DRAM_RD] = b_bytes + a_dram
    counts[LXE_DRAM_WR] = c_dram
    return cycles, float(compute), dram_cycles, passes, counts


@njit(cache=True)
def vector_op(n_elements, ops_per_element, lanes, bytes_moved, dram_bytes_per_cycle, fill_cycles):
    """VPE elementwise work: `lanes` element-ops per cycle. Returns (cycles, compute_cycles)."""
    compute = (n_elements * ops_per_element + lanes - 1) // lanes
    dram_cycles = bytes_moved / dram_bytes_per_cycle
    return max(float(compute), dram_cycles) + fill_cycles, float(compute)
