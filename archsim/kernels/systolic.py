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
   (two halves of S//2). While fold f computes, the DRAM brings fold f+1's new operand words into
   the free halves ("prefix", at most S//2 words per operand) and drains finished ofmap tiles;
   operand words that do not fit in a half are streamed during the fold itself ("remainder").
   A fold starts when the previous one has ended and its stationary operand has arrived, and it
   cannot end before the last of its streamed words has arrived. Transfer time = words / B with B
   the real DRAM bandwidth in words per cycle; a deficit delays the fold once (SCALE-Sim adds a
   positive prefetch deficit twice).
3. The DRAM channel is served in a fixed order per fold (current fold's remainder, next fold's
   prefix, finished ofmap tile), so the schedule is a max-plus system: more bandwidth is never
   slower. There is no circular prefetch window: what is resident is not fetched again.
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
    count = 0
    for p in range(p0, p1):
        orow = p // ofmap_w
        ocol = p - orow * ofmap_w
        r0 = orow * stride
        c0 = ocol * stride
        for kk in range(k0, k1):
            w = kk // channels
            ch = kk - w * channels
            cr = w // filter_w
            cc = w - cr * filter_w
            a = ((r0 + cr) * ifmap_w + c0 + cc) * channels + ch
            if stamp[a] != gen:
                stamp[a] = gen
                count += 1
    return count


@njit(cache=True)
def _issue(free, ch, t, words, bw):
    """Put `words` on DRAM channel `ch` no earlier than time `t` (FIFO behind what is already
    queued on it); return the completion time. Zero words cost nothing and complete at `t`."""
    if words <= 0:
        return t
    start = free[ch] if free[ch] > t else t
    free[ch] = start + words / bw
    return free[ch]


# state slots of _fold_traffic
_ST_I_KEY, _ST_I_WORDS, _ST_F_KEY, _ST_F_WORDS, _ST_GEN = range(5)


@njit(cache=True)
def _fold_traffic(g, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels,
                  filter_w, stride, overlap, fits_i, fits_f, si, sf, so, stamp, st):
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
                st[_ST_GEN] += 1
                new_i = np.int64(ifmap_tile_new_words(p0, p1, k0, k1, ew, ifmap_w, channels,
                                                      filter_w, stride, stamp, st[_ST_GEN]))
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
def _split(dataflow, new_i, new_f, hi, hf):
    """(stationary, ifmap-streamed, filter-streamed) words of a fold, each split into the
    prefix that fits in the free SRAM half and the remainder streamed during the fold."""
    if dataflow == DF_WS:
        s_new, i_str, f_str, s_half = new_f, new_i, np.int64(0), hf
    elif dataflow == DF_IS:
        s_new, i_str, f_str, s_half = new_i, np.int64(0), new_f, hi
    else:
        s_new, i_str, f_str, s_half = np.int64(0), new_i, new_f, hi
    pre_s = min(s_new, s_half)
    pre_i = min(i_str, hi)
    pre_f = min(f_str, hf)
    return pre_s, pre_i, pre_f, s_new - pre_s, i_str - pre_i, f_str - pre_f


@njit(cache=True)
def simulate_layer(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                   num_filters, stride, ifmap_sram_words, filter_sram_words, ofmap_sram_words,
                   bandwidth_words_per_cycle, per_operand_channels):
    """One layer on one array. Returns an int64 array indexed by the slot constants above.

    A GEMM M x N x K is passed as SCALE-Sim maps it: ifmap M x K, filter 1 x K, 1 channel,
    N filters, stride 1. `per_operand_channels`: False = one DRAM channel of
    `bandwidth_words_per_cycle` shared by ifmap, filter and ofmap traffic; True = each of the
    three has its own channel of that bandwidth (SCALE-Sim USER mode with equal bandwidths).

    DRAM channel order per fold g (fixed, so the schedule is a max-plus system and monotone in
    every transfer time):
      remainder of fold g  issued when fold g-1 ends: stationary words that did not fit in the
                           free half, streamed words that did not, spilled partial sums
      prefix of fold g+1   issued when fold g-1 ends, into the halves fold g-1 used
      ofmap tile drain     issued when fold g ends, if fold g finished an ofmap tile
    Fold g starts at max(end of fold g-1, arrival of its stationary operand, drain of the
    ofmap tile that last used its ofmap half) and ends at max(start + L, arrival of all its
    words): streamed operands may arrive while the fold runs.

    Hand example (tests/test_systolic_kernels.py): 4x4 WS, GEMM M=N=K=4, SRAMs 64 words,
    B = 2 words/cycle, shared channel. One fold, L = 2*4+4+4-2 = 14. Filter 16 words
    (stationary, prefix 16 <= 32) and ifmap 16 words (prefix) are issued at 0: filter arrives
    at 8, ifmap at 16. Start = 8, end = max(8 + 14, 16) = 22; the 16 ofmap words drain
    22..30. fill = 22 - 14 = 8, stall 0, drain 8, total 30."""
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

    # windows share ifmap elements only if they overlap along a direction with > 1 window
    overlap = (eh > 1 and filter_h > stride) or (ew > 1 and filter_w > stride)
    fits_i = used_ifmap_words(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride) <= si
    fits_f = np.int64(k) * n <= sf
    if overlap:
        stamp = np.zeros(ifmap_h * ifmap_w * channels, dtype=np.int32)
    else:
        stamp = np.zeros(1, dtype=np.int32)
    st = np.array([-1, 0, -1, 0, 1], dtype=np.int64)

    if per_operand_channels:
        ch_i, ch_f, ch_o = 0, 1, 2
    else:
        ch_i, ch_f, ch_o = 0, 0, 0
    ch_s = ch_f if dataflow == DF_WS else ch_i
    free = np.zeros(3)

    dram_i = np.int64(0)
    dram_f = np.int64(0)
    dram_ow = np.int64(0)
    dram_or = np.int64(0)
    spill = 0

    # fold 0: traffic and prefix, issued at time 0
    new_i, new_f, c_rb, c_out, c_tile, c_first = _fold_traffic(
        0, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels, filter_w,
        stride, overlap, fits_i, fits_f, si, sf, so, stamp, st)
    dram_i += new_i
    dram_f += new_f
    pre_s, pre_i, pre_f, c_rem_s, c_rem_i, c_rem_f = _split(dataflow, new_i, new_f, hi, hf)
    c_stat = _issue(free, ch_s, 0.0, pre_s, bw)
    c_pre = max(c_stat, max(_issue(free, ch_i, 0.0, pre_i, bw), _issue(free, ch_f, 0.0, pre_f, bw)))

    t_end_m1 = 0.0       # end of fold g-1
    drain_last = 0.0     # drain completion of the last finished ofmap tile (u-1)
    drain_prev = 0.0     # ... and of the one before (u-2)
    drain_end = 0.0
    first_end = 0.0
    for g in range(n_folds):
        # remainder of fold g
        r_s = _issue(free, ch_s, t_end_m1, c_rem_s, bw)
        r_i = _issue(free, ch_i, t_end_m1, c_rem_i, bw)
        r_f = _issue(free, ch_f, t_end_m1, c_rem_f, bw)
        r_o = _issue(free, ch_o, t_end_m1, c_rb, bw)
        stat_ready = max(c_stat, r_s)
        all_ready = max(max(c_pre, stat_ready), max(max(r_i, r_f), r_o))
        t_start = max(t_end_m1, stat_ready)
        if c_first:
            gate = drain_prev if c_tile <= ho else drain_last
            t_start = max(t_start, gate)
        t_end = max(t_start + fold, all_ready)
        if g == 0:
            first_end = t_end
        dram_ow += c_out
        dram_or += c_rb
        if c_rb > 0:
            spill = 1
        d_out = c_out
        # prefix of fold g+1, into the halves fold g-1 used (free since t_end_m1)
        if g + 1 < n_folds:
            new_i, new_f, n_rb, n_out, n_tile, n_first = _fold_traffic(
                g + 1, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, ifmap_w, channels,
                filter_w, stride, overlap, fits_i, fits_f, si, sf, so, stamp, st)
            dram_i += new_i
            dram_f += new_f
            pre_s, pre_i, pre_f, c_rem_s, c_rem_i, c_rem_f = _split(dataflow, new_i, new_f, hi, hf)
            c_stat = _issue(free, ch_s, t_end_m1, pre_s, bw)
            a_i = _issue(free, ch_i, t_end_m1, pre_i, bw)
            a_f = _issue(free, ch_f, t_end_m1, pre_f, bw)
            c_pre = max(c_stat, max(a_i, a_f))
            c_rb, c_out, c_tile, c_first = n_rb, n_out, n_tile, n_first
        # drain of the ofmap tile fold g finished
        if d_out > 0:
            d = _issue(free, ch_o, t_end, d_out, bw)
            drain_prev = drain_last
            drain_last = d
            if d > drain_end:
                drain_end = d
        t_end_m1 = t_end

    compute = np.int64(n_folds) * fold
    busy_end = np.int64(np.ceil(t_end_m1 - 1e-9))
    total = np.int64(np.ceil(max(t_end_m1, drain_end) - 1e-9))
    fill = np.int64(np.ceil(first_end - 1e-9)) - fold
    out[COMPUTE_CYCLES] = compute
    out[FILL_CYCLES] = fill
    out[STALL_CYCLES] = busy_end - compute - fill
    out[DRAIN_CYCLES] = total - busy_end
    out[TOTAL_CYCLES] = total
    out[MACS] = np.int64(m) * n * k
    a, b, c, d2 = sram_counts(dataflow, m, n, k, rows, cols)
    out[SRAM_IFMAP_READS] = a
    out[SRAM_FILTER_READS] = b
    out[SRAM_OFMAP_WRITES] = c
    out[SRAM_OFMAP_READS] = d2
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
