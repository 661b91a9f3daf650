"""V-Rex kernels, numpy + numba only: the LXE (LPU-style) MAC-tree engine timing, and ReSV
(functionally, on KV tensors) with the WTU cycle loop (second half of this file).

LXE. 
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

`lxe_gemm` is the same timing for an explicit mapping (what the LXE mapper searches,
archsim.blocks.vrex.model): the loop order (B-stationary: B tiles held in the trees while the m
rows of A stream, as above; A-stationary: tiles of A (m on the trees) held while the n columns of
B stream) and the output blocking (C cut into m_blocks x n_blocks blocks whose accumulators are
on chip together: B streamed once per m-block, A once per n-block). `mactree_gemm` is
`lxe_gemm` with today's rule (B-stationary, m-passes or n-blocks by DRAM bytes).
"""
from __future__ import annotations

import math

import numpy as np
from archsim.jit import njit  # numba, loaded on the first kernel call

# action-count slots
LXE_MAC, LXE_SRAM_RD, LXE_SRAM_WR, LXE_DRAM_RD, LXE_DRAM_WR = range(5)


@njit(cache=True)
def lxe_gemm(m, k, n, batch, trees, inputs, dtype_bytes, dram_bytes_per_cycle, fill_cycles,
             a_from_dram, c_to_dram, a_stationary, m_blocks, n_blocks):
    """One core's GEMM C[m,n] = A[m,k] B[k,n] (x batch) under an explicit mapping.

    B-stationary (`a_stationary` false): ceil(n/trees) x ceil(k/inputs) tiles of B, each held
    while the m rows of A stream (one cycle each); A-stationary: ceil(m/trees) x ceil(k/inputs)
    tiles of A, each held while the n columns of B stream. C is computed in m_blocks x n_blocks
    output blocks: B is read from DRAM once per m-block, A once per n-block (when `a_from_dram`).
    Returns (cycles, compute_cycles, dram_cycles, counts[5])."""
    if a_stationary:
        tiles = ((m + trees - 1) // trees) * ((k + inputs - 1) // inputs)
        compute = batch * tiles * n
    else:
        tiles = ((n + trees - 1) // trees) * ((k + inputs - 1) // inputs)
        compute = batch * tiles * m
    a_bytes = float(batch) * m * k * dtype_bytes * n_blocks      # A brought on chip
    b_bytes = float(batch) * k * n * dtype_bytes * m_blocks      # B brought on chip
    acc_bytes = float(batch) * m * n * 4
    a_dram = a_bytes if a_from_dram else 0.0
    c_dram = float(batch) * m * n * dtype_bytes if c_to_dram else 0.0
    dram = b_bytes + a_dram + c_dram
    dram_cycles = dram / dram_bytes_per_cycle
    cycles = max(float(compute), dram_cycles) + fill_cycles
    counts = np.zeros(5, dtype=np.float64)
    counts[LXE_MAC] = float(batch) * m * k * n
    # the streamed operand: one `inputs`-wide slice read per cycle; the held one: its tiles read
    # into the trees once per time they come on chip. SRAM writes: every operand block each
    # time it comes on chip from DRAM (B always; A when `a_from_dram`, else A is on chip already
    # and written once), and C's fp32 partial sums once
    a_writes = a_bytes if a_from_dram else float(batch) * m * k * dtype_bytes
    held = a_bytes if a_stationary else b_bytes
    counts[LXE_SRAM_RD] = float(compute) * inputs * dtype_bytes + held
    counts[LXE_SRAM_WR] = (a_bytes if a_stationary else a_writes) + b_bytes + acc_bytes
    counts[LXE_DRAM_RD] = b_bytes + a_dram
    counts[LXE_DRAM_WR] = c_dram
    return cycles, float(compute), dram_cycles, counts


@njit(cache=True)
def fixed_blocks(m, k, n, trees, acc_budget_bytes):
    """Today's output blocking of a B-stationary GEMM (m_blocks, n_blocks): one block if C's
    fp32 accumulators fit `acc_budget_bytes` (or it is 0: consumed on the fly); else (a) m split
    into ceil(acc / budget) passes, B streamed once per pass, or (b) n split into blocks of the
    largest multiple of `trees` columns whose accumulators for all m fit (at least `trees`), A
    re-read per block -- whichever moves fewer bytes (ties: (a))."""
    acc_bytes = m * n * 4
    if acc_budget_bytes > 0 and acc_bytes > acc_budget_bytes:
        passes_m = (acc_bytes + acc_budget_bytes - 1) // acc_budget_bytes
        nb = max(trees, (acc_budget_bytes // (m * 4)) // trees * trees)
        blocks_n = (n + nb - 1) // nb
        cost_a = passes_m * k * n + m * k
        cost_b = k * n + blocks_n * m * k
        if cost_a <= cost_b:
            return passes_m, 1
        return 1, blocks_n
    return 1, 1


@njit(cache=True)
def mactree_gemm(m, k, n, batch, trees, inputs, acc_budget_bytes, dtype_bytes, dram_bytes_per_cycle,
                 fill_cycles, a_from_dram, c_to_dram):
    """One core's GEMM, B-stationary with `fixed_blocks`' blocking. Returns (cycles,
    compute_cycles, dram_cycles, passes, counts[5])."""
    m_blocks, n_blocks = fixed_blocks(m, k, n, trees, acc_budget_bytes)
    cycles, compute, dram_cycles, counts = lxe_gemm(
        m, k, n, batch, trees, inputs, dtype_bytes, dram_bytes_per_cycle, fill_cycles,
        a_from_dram, c_to_dram, False, m_blocks, n_blocks)
    return cycles, compute, dram_cycles, m_blocks, counts


@njit(cache=True)
def vector_op(n_elements, ops_per_element, lanes, bytes_moved, dram_bytes_per_cycle, fill_cycles):
    """VPE elementwise work: `lanes` element-ops per cycle. Returns (cycles, compute_cycles)."""
    compute = (n_elements * ops_per_element + lanes - 1) // lanes
    dram_cycles = bytes_moved / dram_bytes_per_cycle
    return max(float(compute), dram_cycles) + fill_cycles, float(compute)


# ==============================================================================================
# ReSV
#
# ReSV (V-Rex, papers/vrex.md §4) functionally, on KV tensors, plus the WTU cycle loop.
#
# Arrays and scalars in, arrays out; numpy + numba only. Names follow the paper:
#
# - `hash_bits`: Step 1. code[t] bit h = 1 iff key[t] . hyperplane[:, h] > 0 (N_hp <= 64 bits).
# - `cluster_tokens`: Step 2. Tokens in order; each is compared (XOR + popcount) with the hash of
#   every cluster that is still on the device (its newest member within the last
#   `recent_window` tokens) — the previous clusters plus those opened by the current keys. It
#   joins the nearest one (lowest index on ties) if the Hamming distance is < `th_hd`, else it
#   opens a new cluster. A cluster's hash is its founding token's hash (the HC table keeps one
#   hash per cluster; the paper does not say how it is refreshed — founder hash is our choice).
# - `cluster_means`: Key_cluster = mean of member keys (one head's slice of the key).
# - `cluster_scores`: Step 3. Score = exp(q . Key_cluster * scale - rowmax): the paper leaves raw
#   logits vs exp-normalised open; the cumulative-mass rule needs non-negative scores, so we use
#   the softmax numerator.
# - `wicsum_rows`: Step 4 (Eqs. 1-3), exact: Sum_i = sum_j s_ij TC_j; Th_i = ratio * Sum_i; sort
#   the row descending (stable: ties by lower cluster index); accumulate s * TC; select clusters up
#   to and including the first t with Acc(t) > Th_i. `processed[i] = t + 1`.
# - `wtu_cycles`: the hardware WTU's early-exit bucket sort over real score rows (cycle loop).
# - `resv_layer`: all of it for one layer and its KV heads.
#
# Every float accumulation is done in float64 on float64-converted inputs in a fixed order, so the
# pure-Python reference in tests/test_vrex_resv.py reproduces the selections bit for bit.





@njit(cache=True)
def popcount64(x):
    """Number of set bits of a uint64 (SWAR)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    # sum the byte counts with shifts (no wrapping multiply, so pure-Python runs stay quiet)
    x = x + (x >> np.uint64(8))
    x = x + (x >> np.uint64(16))
    x = x + (x >> np.uint64(32))
    return int(x & np.uint64(0x7F))


@njit(cache=True)
def hash_bits(keys, hyperplanes):
    """codes[T] (uint64): bit h set iff sum_d keys[t, d] * hyperplanes[d, h] > 0."""
    n_tok, dim = keys.shape
    n_hp = hyperplanes.shape[1]
    hp_t = np.ascontiguousarray(hyperplanes.T).astype(np.float64)
    codes = np.zeros(n_tok, dtype=np.uint64)
    row = np.empty(dim, dtype=np.float64)
    for t in range(n_tok):
        for d in range(dim):
            row[d] = float(keys[t, d])
        code = np.uint64(0)
        for h in range(n_hp):
            s = 0.0
            for d in range(dim):
                s += row[d] * hp_t[h, d]
            if s > 0.0:
                code |= np.uint64(1) << np.uint64(h)
        codes[t] = code
    return codes


@njit(cache=True)
def cluster_tokens(codes, th_hd, recent_window):
    """Hamming clustering of a token stream (Step 2).

    Returns (assign[T] int64, counts[C] int64, n_clusters, comparisons, max_eligible):
    `comparisons` = XOR+popcount operations done (what the HCU does), `max_eligible` = most
    cluster hashes one token was compared with (sizes the HCU's hash memory)."""
    n_tok = codes.shape[0]
    assign = np.empty(n_tok, dtype=np.int64)
    ccode = np.empty(n_tok, dtype=np.uint64)
    last = np.empty(n_tok, dtype=np.int64)
    counts = np.zeros(n_tok, dtype=np.int64)
    n_c = 0
    comparisons = 0
    max_elig = 0
    for t in range(n_tok):
        best = -1
        best_d = 1 << 30
        elig = 0
        for c in range(n_c):
            if last[c] < t - recent_window:      # offloaded: never read back for clustering
                continue
            elig += 1
            d = popcount64(codes[t] ^ ccode[c])
            if d < best_d:
                best_d = d
                best = c
        comparisons += elig
        if elig > max_elig:
            max_elig = elig
        if best >= 0 and best_d < th_hd:
            assign[t] = best
            counts[best] += 1
            last[best] = t
        else:
            ccode[n_c] = codes[t]
            last[n_c] = t
            counts[n_c] = 1
            assign[t] = n_c
            n_c += 1
    return assign, counts[:n_c].copy(), n_c, comparisons, max_elig


@njit(cache=True)
def cluster_means(keys, assign, counts, col0, width):
    """means[C, width] (float64): mean of keys[:, col0:col0+width] over each cluster's members."""
    n_c = counts.shape[0]
    sums = np.zeros((n_c, width), dtype=np.float64)
    for t in range(keys.shape[0]):
        c = assign[t]
        for d in range(width):
            sums[c, d] += float(keys[t, col0 + d])
    for c in range(n_c):
        inv = float(counts[c])
        for d in range(width):
            sums[c, d] = sums[c, d] / inv
    return sums


@njit(cache=True)
def cluster_scores(queries, means, scale):
    """P[R, C] = exp(q_r . mean_c * scale - max_c(...)) (non-negative, row max = 1)."""
    n_r, width = queries.shape
    n_c = means.shape[0]
    out = np.empty((n_r, n_c), dtype=np.float64)
    for r in range(n_r):
        mx = -1e300
        for c in range(n_c):
            s = 0.0
            for d in range(width):
                s += float(queries[r, d]) * means[c, d]
            s *= scale
            out[r, c] = s
            if s > mx:
                mx = s
        for c in range(n_c):
            out[r, c] = math.exp(out[r, c] - mx)
    return out


@njit(cache=True)
def wicsum_rows(scores, counts, ratio):
    """Exact WiCSum (Eqs. 1-3) per row. Returns (sel[R, C] uint8, processed[R] int64)."""
    n_r, n_c = scores.shape
    sel = np.zeros((n_r, n_c), dtype=np.uint8)
    processed = np.zeros(n_r, dtype=np.int64)
    for r in range(n_r):
        total = 0.0
        for c in range(n_c):
            total += scores[r, c] * float(counts[c])
        th = total * ratio
        order = np.argsort(-scores[r], kind="mergesort")      # stable: ties by lower index
        acc = 0.0
        k = 0
        for i in range(n_c):
            c = order[i]
            acc += scores[r, c] * float(counts[c])
            sel[r, c] = 1
            k = i + 1
            if acc > th:
                break
        processed[r] = k
    return sel, processed


# action-count slots returned by wtu_cycles
WTU_CMP, WTU_MUL, WTU_ADD, WTU_SCORE_READ, WTU_COUNT_READ = range(5)


@njit(cache=True)
def wtu_cycles(scores, counts, ratio, width, buckets, pipeline_cycles):
    """The WTU's early-exit WiCSum on real score rows (papers/vrex.md §5.3, Fig. 11).

    Per row: a preprocess pass of ceil(C / width) cycles (weighted sum, min, max, Th). Then
    buckets from the top score range down: each bucket pass streams the score memory through
    the upper/lower-bound sorters, `width` entries a cycle (ceil(C / width) cycles, bitmask of
    members), while the members go, `width` a cycle in index order, through the multipliers
    and adder tree (pipelined with the scan); the unit exits as soon as the cumulative sum
    passes Th (the remaining members of that group of `width` are still taken), skipping the
    remaining buckets. Each row ends with `pipeline_cycles` of drain.

    Returns (cycles, sel[R, C] uint8, processed[R] int64 entries accumulated,
    buckets_scanned[R] int64, actions[5] float64 in the WTU_* slots)."""
    n_r, n_c = scores.shape
    sel = np.zeros((n_r, n_c), dtype=np.uint8)
    processed = np.zeros(n_r, dtype=np.int64)
    scanned = np.zeros(n_r, dtype=np.int64)
    actions = np.zeros(5, dtype=np.float64)
    per_pass = (n_c + width - 1) // width
    members = np.empty(n_c, dtype=np.int64)
    cycles = 0
    for r in range(n_r):
        total = 0.0
        lo_s = 1e300
        hi_s = -1e300
        for c in range(n_c):
            v = scores[r, c]
            total += v * float(counts[c])
            if v < lo_s:
                lo_s = v
            if v > hi_s:
                hi_s = v
        th = total * ratio
        cycles += per_pass
        actions[WTU_SCORE_READ] += n_c
        actions[WTU_COUNT_READ] += n_c
        actions[WTU_MUL] += n_c
        actions[WTU_ADD] += n_c
        actions[WTU_CMP] += 2 * n_c
        step = (hi_s - lo_s) / buckets
        acc = 0.0
        done = False
        b = 0
        while b < buckets and not done:
            top = hi_s - b * step
            bot = hi_s - (b + 1) * step
            m = 0
            for c in range(n_c):
                v = scores[r, c]
                upper_ok = (b == 0) or (v < top)
                lower_ok = (b == buckets - 1) or (v >= bot)
                if upper_ok and lower_ok:
                    members[m] = c
                    m += 1
            cycles += max(per_pass, (m + width - 1) // width)
            actions[WTU_SCORE_READ] += n_c
            actions[WTU_CMP] += 2 * n_c
            b += 1
            i = 0
            while i < m and not done:
                j_end = min(i + width, m)
                for j in range(i, j_end):
                    c = members[j]
                    acc += scores[r, c] * float(counts[c])
                    sel[r, c] = 1
                    processed[r] += 1
                actions[WTU_MUL] += j_end - i
                actions[WTU_ADD] += j_end - i
                actions[WTU_COUNT_READ] += j_end - i
                actions[WTU_CMP] += 1
                if acc > th:
                    done = True
                i = j_end
        scanned[r] = b
        cycles += pipeline_cycles
    return cycles, sel, processed, scanned, actions


@njit(cache=True)
def resv_layer(keys, queries, hyperplanes, th_hd, recent_window, ratio, scale):
    """ReSV for one layer. keys[T, G*Dh] (post-RoPE, all KV heads side by side; clustering is
    shared by the heads of the layer), queries[G, Rg, Dh] (rows of KV head g: its query heads x
    query tokens), hyperplanes[G*Dh, N_hp].

    Returns (assign[T], counts[C], n_clusters, comparisons, max_eligible,
    sel[G, C] uint8 (clusters selected by any row of head g), processed[G, Rg] int64,
    selected_tokens[G] int64)."""
    n_g, n_rows, dh = queries.shape
    codes = hash_bits(keys, hyperplanes)
    assign, counts, n_c, comparisons, max_elig = cluster_tokens(codes, th_hd, recent_window)
    sel = np.zeros((n_g, n_c), dtype=np.uint8)
    processed = np.zeros((n_g, n_rows), dtype=np.int64)
    sel_tok = np.zeros(n_g, dtype=np.int64)
    for g in range(n_g):
        means = cluster_means(keys, assign, counts, g * dh, dh)
        sc = cluster_scores(queries[g], means, scale)
        s, p = wicsum_rows(sc, counts, ratio)
        for r in range(n_rows):
            processed[g, r] = p[r]
            for c in range(n_c):
                if s[r, c]:
                    sel[g, c] = 1
        tot = 0
        for c in range(n_c):
            if sel[g, c]:
                tot += counts[c]
        sel_tok[g] = tot
    return assign, counts, n_c, comparisons, max_elig, sel, processed, sel_tok
