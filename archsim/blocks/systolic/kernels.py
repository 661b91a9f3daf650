"""archsim's own systolic-array model: numba kernels (numpy + numba only, no config objects).

Fold / dataflow semantics follow SCALE-Sim (reference/scalesim.md §5): a layer is the im2col
GEMM ofmap[M, N] = ifmap[M, K] @ filter[K, N] (M = ofmap pixels, K = window size, N = filters);
the dataflow maps it onto an R x C array as

    dataflow   S_R (rows)   S_C (cols)   T (temporal)   stationary
    OS         M            N            K              ofmap (partial sums stay in the PEs)
    WS         K            N            M              filter
    IS         K            M            N              ifmap

and the spatial dimensions are cut into ceil(S_R/R) x ceil(S_C/C) folds, column fold outer, row
fold inner. Every fold fills and drains the whole array and folds do not overlap, so a fold
takes  L = T + R + C - 2  cycles (OS) or  L = 2R + C + T - 2  (WS, IS: R cycles to preload the
stationary operand, then the skewed stream).

Where it differs from SCALE-Sim (each a documented fix; docs/systolic.md says why):

1. Cycles are counted, not indexed: compute_cycles = folds * L (SCALE-Sim reports folds*L - 1).
2. Memory is modelled per fold, not per cycle: each operand SRAM of S words is double-buffered
   (two halves of S//2). Before fold g starts, the part of its stationary tile (WS filter, IS
   ifmap) that was not prefetched is loaded (the array waits); while it runs for
   D = max(L, mandatory DRAM time) cycles, its streamed words that were not prefetched come in.
   The channel's slack in that window drains finished ofmap tiles, then prefetches fold g+1's
   new words into the free halves (at most S//2 words per operand). Transfer time = words / B
   with B the real DRAM bandwidth in words per cycle; a deficit delays the fold once
   (SCALE-Sim adds a positive prefetch deficit twice).
3. Prefetch only fills slack, so it never lengthens a fold: the schedule is monotone, more
   bandwidth or larger SRAMs never make a layer slower. There is no circular prefetch window:
   what is resident is not fetched again.
4. Residency: an operand whose used data fits in its SRAM is fetched once (first touch). An
   operand tile reused by consecutive folds (OS filter across row folds, ...) stays resident if it
   fits in the SRAM. Everything else is re-fetched when the fold needs it.
5. DRAM reads count words actually needed: for convolutions the unique ifmap elements of the
   im2col tile (overlapping windows are fetched once per tile), no whole-line padding.
6. ofmap: OS writes M*N words to the ofmap SRAM (no +(R+C) per fold). WS / IS accumulate
   partial sums over row folds in the ofmap SRAM: M*N*row_folds writes and M*N*(row_folds-1)
   read-backs (SCALE-Sim never reads them back). When an accumulation tile (T x cols) does not
   fit in the ofmap SRAM the partial sums spill to DRAM and are read back.

Memory per layer: O(1) arrays, plus (convolutions with overlapping windows only) one int32 stamp
per ifmap element to count unique words; nothing grows with the cycle count.
"""
from __future__ import annotations

import numpy as np
from numba import njit

DF_OS, DF_WS, DF_IS = 0, 1, 2
DATAFLOW_CODES = {"os": DF_OS, "ws": DF_WS, "is": DF_IS}

# Result slots of simulate_layer (int64 array). Words, not bytes; cycles of the array clock.
(COMPUTE_CYCLES, STALL_CYCLES, FILL_CYCLES, DRAIN_CYCLES, TOTAL_CYCLES, MACS,
 SRAM_IFMAP_READS, SRAM_FILTER_READS, SRAM_OFMAP_WRITES, SRAM_OFMAP_READS,
 DRAM_IFMAP_READS, DRAM_FILTER_READS, DRAM_OFMAP_WRITES, DRAM_OFMAP_READS,
 ROW_FOLDS, COL_FOLDS, FOLD_CYCLES, S_R, S_C, T_LEN, OFMAP_SPILL, N_SLOTS) = range(22)

SLOT_NAMES = ("compute_cycles", "stall_cycles", "fill_cycles", "drain_cycles", "total_cycles",
              "macs", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
              "sram_ofmap_reads", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
              "dram_ofmap_reads", "row_folds", "col_folds", "fold_cycles", "s_r", "s_c", "t",
              "ofmap_spill")


@njit(cache=True)
def fold_shape(dataflow, m, n, k, rows, cols):
    """(s_r, s_c, t, row_folds, col_folds, fold_cycles) of an M x N x K layer.

    Hand example: 4x4 array, OS, M=N=K=4 -> one fold of 4 + 4 + 4 - 2 = 10 cycles
    (SCALE-Sim reports 9, the index of the last cycle; issue #125)."""
    if dataflow == DF_OS:
        s_r, s_c, t = m, n, k
        fold = t + rows + cols - 2
    elif dataflow == DF_WS:
        s_r, s_c, t = k, n, m
        fold = 2 * rows + cols + t - 2
    else:
        s_r, s_c, t = k, m, n
        fold = 2 * rows + cols + t - 2
    row_folds = (s_r + rows - 1) // rows
    col_folds = (s_c + cols - 1) // cols
    return s_r, s_c, t, row_folds, col_folds, fold


@njit(cache=True)
def sram_counts(dataflow, m, n, k, rows, cols):
    """(ifmap_reads, filter_reads, ofmap_writes, ofmap_reads) in words, array <-> SRAM.

    ifmap/filter reads equal SCALE-Sim's; ofmap writes are M*N for OS (SCALE-Sim adds R+C per
    fold) and M*N*row_folds for WS/IS; ofmap reads are the partial-sum read-backs of WS/IS."""
    s_r, s_c, t, rf, cf, fold = fold_shape(dataflow, m, n, k, rows, cols)
    mn = np.int64(m) * np.int64(n)
    if dataflow == DF_OS:
        return np.int64(m) * k * cf, np.int64(k) * n * rf, mn, np.int64(0)
    if dataflow == DF_WS:
        return np.int64(m) * k * cf, np.int64(k) * n, mn * rf, mn * (rf - 1)
    return np.int64(m) * k, np.int64(k) * n * cf, mn * rf, mn * (rf - 1)


@njit(cache=True)
def used_ifmap_words(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride):
    """Ifmap elements touched by at least one window ('valid' convolution)."""
    eh = (ifmap_h - filter_h + stride) // stride
    ew = (ifmap_w - filter_w + stride) // stride
    uh = (eh - 1) * stride + filter_h if filter_h >= stride else eh * filter_h
    uw = (ew - 1) * stride + filter_w if filter_w >= stride else ew * filter_w
    return np.int64(uh) * uw * channels


@njit(cache=True)
def ifmap_tile_new_words(p0, p1, k0, k1, ofmap_w, ifmap_w, channels, filter_w, stride,
                         stamp, gen):
    """Ifmap elements of the im2col tile pixels [p0,p1) x window positions [k0,k1) whose stamp
    is not `gen` (they are then stamped). Address order is SCALE-Sim's: window index
    k = (c_row * filter_w + c_col) * channels + ch, NHWC ifmap."""
    nk = k1 - k0
    offs = np.empty(nk, dtype=np.int64)        # address offset of each window position
    for q in range(nk):
        kk = k0 + q
        w = kk // channels
        ch = kk - w * channels
        cr = w // filter_w
        cc = w - cr * filter_w
        offs[q] = (cr * ifmap_w + cc) * channels + ch
    count = 0
    for p in range(p0, p1):
        orow = p // ofmap_w
        ocol = p - orow * ofmap_w
        base = (orow * stride * ifmap_w + ocol * stride) * channels
        for q in range(nk):
            a = base + offs[q]
            if stamp[a] != gen:
                stamp[a] = gen
                count += 1
    return count


# state slots of _fold_traffic
_ST_I_KEY, _ST_I_WORDS, _ST_F_KEY, _ST_F_WORDS, _ST_GEN = range(5)


@njit(cache=True)
def _fold_traffic(g, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels,
                  filter_w, stride, overlap, fits_i, fits_f, si, sf, so, stamp, st, uniq):
    """DRAM traffic of fold g (folds must be visited in order; `st` carries residency state).

    Returns (new ifmap words, new filter words, partial-sum words read back, ofmap words
    drained after this fold, ofmap tile words, first fold of its ofmap tile)."""
    j = g // rf
    i = g - j * rf
    rows_i = min(rows, s_r - i * rows)
    cols_j = min(cols, s_c - j * cols)
    # ---- ifmap tile: pixel range [p0, p1) x window range [k0, k1)
    if dataflow == DF_OS:
        p0, p1, k0, k1, ikey, seen = i * rows, i * rows + rows_i, 0, k, i, j > 0
    elif dataflow == DF_WS:
        p0, p1, k0, k1, ikey, seen = 0, m, i * rows, i * rows + rows_i, i, j > 0
    else:
        p0, p1, k0, k1, ikey, seen = j * cols, j * cols + cols_j, i * rows, i * rows + rows_i, g, False
    tile_i = np.int64(p1 - p0) * (k1 - k0)
    if ikey == st[_ST_I_KEY]:
        # same tile as the previous fold: still resident if it fits in the SRAM
        new_i = np.int64(0) if st[_ST_I_WORDS] <= si else st[_ST_I_WORDS]
    else:
        if fits_i:                       # whole ifmap fits: fetch on first touch only
            if overlap:
                new_i = np.int64(ifmap_tile_new_words(p0, p1, k0, k1, ew, ifmap_w, channels,
                                                      filter_w, stride, stamp, 1))
            else:
                new_i = np.int64(0) if seen else tile_i
            st[_ST_I_WORDS] = new_i
        else:                            # re-fetch the tile's unique words
            if overlap:
                if dataflow != DF_IS and uniq[ikey] >= 0:     # same tile as in an earlier
                    new_i = uniq[ikey]                        # column fold: same count
                else:
                    st[_ST_GEN] += 1
                    new_i = np.int64(ifmap_tile_new_words(p0, p1, k0, k1, ew, ifmap_w, channels,
                                                          filter_w, stride, stamp, st[_ST_GEN]))
                    if dataflow != DF_IS:
                        uniq[ikey] = new_i
            else:
                new_i = tile_i
            st[_ST_I_WORDS] = new_i
        st[_ST_I_KEY] = ikey
    # ---- filter tile
    if dataflow == DF_OS:
        tile_f, fkey, fseen = np.int64(k) * cols_j, j, False
    elif dataflow == DF_WS:
        tile_f, fkey, fseen = np.int64(rows_i) * cols_j, g, False
    else:
        tile_f, fkey, fseen = np.int64(rows_i) * n, i, j > 0
    if fkey == st[_ST_F_KEY]:
        new_f = np.int64(0) if st[_ST_F_WORDS] <= sf else st[_ST_F_WORDS]
    else:
        if fits_f:
            new_f = np.int64(0) if fseen else tile_f
        else:
            new_f = tile_f
        st[_ST_F_WORDS] = tile_f
        st[_ST_F_KEY] = fkey
    # ---- ofmap tile
    rb = np.int64(0)
    if dataflow == DF_OS:
        tile_o = np.int64(rows_i) * cols_j
        out_w = tile_o
        first = True
    else:
        tile_o = np.int64(t) * cols_j          # accumulation tile of column fold j
        if rf == 1:
            out_w = tile_o
            first = True
        elif tile_o > so:                       # partial sums spill to DRAM and come back
            out_w = tile_o
            rb = tile_o if i > 0 else np.int64(0)
            first = True
        else:
            out_w = tile_o if i == rf - 1 else np.int64(0)
            first = i == 0
    return new_i, new_f, rb, out_w, tile_o, first


@njit(cache=True)
def _stationary_split(dataflow, new_i, new_f):
    """(stationary words, ifmap streamed words, filter streamed words) of a fold."""
    if dataflow == DF_WS:
        return new_f, new_i, np.int64(0)
    if dataflow == DF_IS:
        return new_i, np.int64(0), new_f
    return np.int64(0), new_i, new_f


@njit(cache=True)
def simulate_layer(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                   num_filters, stride, ifmap_sram_words, filter_sram_words, ofmap_sram_words,
                   bandwidth_words_per_cycle, per_operand_channels):
    """One layer on one array. Returns an int64 array indexed by the slot constants above.

    A GEMM M x N x K is passed as SCALE-Sim maps it: ifmap M x K, filter 1 x K, 1 channel,
    N filters, stride 1. `per_operand_channels`: False = one DRAM channel of
    `bandwidth_words_per_cycle` words/cycle shared by ifmap, filter and ofmap traffic; True =
    each of the three has its own channel of that bandwidth (SCALE-Sim USER mode).

    Timing, fold by fold (double buffering, one window = gap + period per fold):
      gap before fold g   the stationary words of fold g not prefetched (WS filter / IS ifmap
                          tile) and any ofmap tile whose drain deadline is fold g must be moved
                          before the fold starts: gap = the busiest channel's share of them.
      period of fold g    D = max(L, time each channel needs for its mandatory words beyond
                          the gap); mandatory = fold g's streamed words not prefetched +
                          spilled partial sums read back. Each channel's slack in the window
                          drains finished ofmap tiles (oldest first) and then prefetches fold
                          g+1's new words into the free SRAM halves (stationary, ifmap,
                          filter; at most S//2 words per operand).
    Prefetch only fills slack, so it never lengthens a period; a deficit is charged once. Every
    step is monotone: more bandwidth or larger SRAMs never make a layer slower.
    An ofmap tile (OS: a fold's R x C outputs; WS/IS: a column fold's T x cols accumulation
    tile) that fits in half the ofmap SRAM is drained in the background until the tile after
    next starts; a larger one must be drained before the next tile starts.

    Hand example (tests/test_systolic_kernels.py): 4x4 WS, GEMM M=N=K=4, SRAMs 64 words,
    B = 2 words/cycle, shared channel. One fold, L = 2*4+4+4-2 = 14. Gap: 16 filter words
    (stationary) = 8 cycles. Period: 16 ifmap words = 8 cycles < 14 -> D = 14. Final drain of
    16 ofmap words: 8 cycles. fill = 8, stall 0, drain 8, total 30."""
    out = np.zeros(N_SLOTS, dtype=np.int64)
    eh = (ifmap_h - filter_h + stride) // stride
    ew = (ifmap_w - filter_w + stride) // stride
    m = eh * ew
    k = filter_h * filter_w * channels
    n = num_filters
    s_r, s_c, t, rf, cf, fold = fold_shape(dataflow, m, n, k, rows, cols)
    n_folds = rf * cf
    si, sf, so = ifmap_sram_words, filter_sram_words, ofmap_sram_words
    hi, hf, ho = si // 2, sf // 2, so // 2
    bw = bandwidth_words_per_cycle
    h_s = hf if dataflow == DF_WS else hi          # half of the stationary operand's SRAM

    # windows share ifmap elements only if they overlap along a direction with > 1 window
    overlap = (eh > 1 and filter_h > stride) or (ew > 1 and filter_w > stride)
    fits_i = used_ifmap_words(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride) <= si
    fits_f = np.int64(k) * n <= sf
    if overlap:
        stamp = np.zeros(ifmap_h * ifmap_w * channels, dtype=np.int32)
    else:
        stamp = np.zeros(1, dtype=np.int32)
    st = np.array([-1, 0, -1, 0, 1], dtype=np.int64)
    uniq = np.full(rf if overlap else 1, -1, dtype=np.int64)   # unique words per ifmap tile key

    dram_i = np.int64(0)
    dram_f = np.int64(0)
    dram_ow = np.int64(0)
    dram_or = np.int64(0)
    spill = 0

    new_i, new_f, rb, out_w, tile_o, first = _fold_traffic(
        0, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels, filter_w,
        stride, overlap, fits_i, fits_f, si, sf, so, stamp, st, uniq)
    pf_s = 0.0                # words of the current fold prefetched during the previous period
    pf_i = 0.0                # (a fluid amount: the channel may stop mid-word at a fold's end)
    pf_f = 0.0
    if per_operand_channels:
        ch_i, ch_f, ch_o = 0, 1, 2
    else:
        ch_i, ch_f, ch_o = 0, 0, 0
    ch_s = ch_f if dataflow == DF_WS else ch_i        # channel of the stationary operand
    gap_use = np.zeros(3)     # per channel: cycles of the gap it needs
    mand = np.zeros(3)        # per channel: cycles of mandatory streaming in the fold
    slack = np.zeros(3)       # per channel: words it can still move in this fold's window
    pend_old = 0.0            # ofmap words to drain before the next tile starts
    pend_new = 0.0            # ... before the tile after next starts
    now = 0.0
    first_end = 0.0
    for g in range(n_folds):
        dram_i += new_i
        dram_f += new_f
        dram_ow += out_w
        dram_or += rb
        if rb > 0:
            spill = 1
        w_s, w_i, w_f = _stationary_split(dataflow, new_i, new_f)
        rem_s = w_s - pf_s
        rem_i = w_i - pf_i
        rem_f = w_f - pf_f
        # ---- gap: stationary remainder and drains due before this tile, per channel
        forced = 0.0
        if first:
            forced = pend_old
            pend_old = pend_new
            pend_new = 0.0
        gap_use[:] = 0.0
        mand[:] = 0.0
        gap_use[ch_s] += rem_s / bw
        gap_use[ch_o] += forced / bw
        mand[ch_i] += rem_i / bw
        mand[ch_f] += rem_f / bw
        mand[ch_o] += rb / bw
        gap = max(gap_use[0], max(gap_use[1], gap_use[2]))
        # ---- period: each channel moves its mandatory words within gap + period
        period = float(fold)
        for c in range(3):
            need = gap_use[c] + mand[c] - gap
            if need > period:
                period = need
        for c in range(3):
            slack[c] = (gap + period - gap_use[c] - mand[c]) * bw
        now += gap + period
        if g == 0:
            first_end = now
        # ---- slack: background drains first (oldest first), then prefetch of fold g+1
        d = min(pend_old, slack[ch_o])
        pend_old -= d
        slack[ch_o] -= d
        d = min(pend_new, slack[ch_o])
        pend_new -= d
        slack[ch_o] -= d
        # this fold's finished ofmap tile joins the queue
        if out_w > 0:
            if tile_o <= ho:
                pend_new += out_w
            else:
                pend_old += out_w
        pf_s = 0.0
        pf_i = 0.0
        pf_f = 0.0
        if g + 1 < n_folds:
            new_i, new_f, rb, out_w, tile_o, first = _fold_traffic(
                g + 1, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels,
                filter_w, stride, overlap, fits_i, fits_f, si, sf, so, stamp, st, uniq)
            w_s, w_i, w_f = _stationary_split(dataflow, new_i, new_f)
            x = min(float(w_s), min(float(h_s), max(slack[ch_s], 0.0)))
            slack[ch_s] -= x
            pf_s = x
            x = min(float(w_i), min(float(hi), max(slack[ch_i], 0.0)))
            slack[ch_i] -= x
            pf_i = x
            x = min(float(w_f), min(float(hf), max(slack[ch_f], 0.0)))
            slack[ch_f] -= x
            pf_f = x
    busy_end = now
    now += (pend_old + pend_new) / bw                # final drain
    compute = np.int64(n_folds) * fold
    e_busy = np.int64(np.ceil(busy_end - 1e-6))
    total = np.int64(np.ceil(now - 1e-6))
    fill = np.int64(np.ceil(first_end - 1e-6)) - fold
    out[COMPUTE_CYCLES] = compute
    out[FILL_CYCLES] = fill
    out[STALL_CYCLES] = e_busy - compute - fill
    out[DRAIN_CYCLES] = total - e_busy
    out[TOTAL_CYCLES] = total
    out[MACS] = np.int64(m) * n * k
    a, b, c, d3 = sram_counts(dataflow, m, n, k, rows, cols)
    out[SRAM_IFMAP_READS] = a
    out[SRAM_FILTER_READS] = b
    out[SRAM_OFMAP_WRITES] = c
    out[SRAM_OFMAP_READS] = d3
    out[DRAM_IFMAP_READS] = dram_i
    out[DRAM_FILTER_READS] = dram_f
    out[DRAM_OFMAP_WRITES] = dram_ow
    out[DRAM_OFMAP_READS] = dram_or
    out[ROW_FOLDS] = rf
    out[COL_FOLDS] = cf
    out[FOLD_CYCLES] = fold
    out[S_R] = s_r
    out[S_C] = s_c
    out[T_LEN] = t
    out[OFMAP_SPILL] = spill
    return out
