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

Time per layer: one step per fold, except in steady state: a fold whose traffic and start
state (prefetched words, pending drains) equal the previous fold's, followed by a fold with the
same traffic, repeats the previous step exactly, so only the clock advances (`layer_into`; the
naive reference in tests/test_systolic_kernels.py checks long runs of such folds). Typically
half the folds of a layer take this path; it doubles the batched sweep's layer evaluations per
second.
"""
from __future__ import annotations

import numpy as np
from archsim.jit import njit

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


# ----------------------------------------------------------------------------- unique words
# The ifmap words an im2col region touches, in closed form (no per-element walk): a region is
# one or two rectangles [p0, p1) x [k0, k1) of (ofmap pixel, window index). Channels split into
# at most five classes whose window ranges agree; per class, pixel ranges and window ranges cut
# into at most three row rectangles each, and every (pixel rect, window rect) pair maps onto a
# product Y x X of input rows and columns, each {a * stride + b : a in [a0, a1], b in [b0, b1]}
# (an interval, or blocks of b1 - b0 + 1 every `stride` when the b range is shorter than the
# stride). The union of those products is counted by sweeping the segments between their
# bounds, one residue mod stride at a time. `ifmap_tile_new_words` (a stamp per element) is the
# naive twin the tests compare it with.

_MAXS = 40           # product sets per channel class (2 rects x 3 x 3 = 18 at most)


@njit(cache=True)
def _lin_rects(a, b, width, r0, r1, c0, c1, n):
    """Cut the row-major range [a, b] (inclusive) of a grid `width` wide into row rectangles
    (rows r0..r1, cols c0..c1), appended at n; returns the new count."""
    ra = a // width
    rb = b // width
    ca = a - ra * width
    cb = b - rb * width
    if ra == rb:
        r0[n], r1[n], c0[n], c1[n] = ra, ra, ca, cb
        return n + 1
    full0 = ra
    if ca != 0:
        r0[n], r1[n], c0[n], c1[n] = ra, ra, ca, width - 1
        n += 1
        full0 = ra + 1
    full1 = rb if cb == width - 1 else rb - 1
    if full0 <= full1:
        r0[n], r1[n], c0[n], c1[n] = full0, full1, 0, width - 1
        n += 1
    if cb != width - 1:
        r0[n], r1[n], c0[n], c1[n] = rb, rb, 0, cb
        n += 1
    return n


@njit(cache=True)
def _member(v, lo, hi, b0, b1, s, periodic):
    if v < lo or v > hi:
        return False
    if not periodic:
        return True
    return (v - b0) % s <= b1 - b0


@njit(cache=True)
def _union_1d(idx, n, xa0, xa1, xb0, xb1, s, pts):
    """Size of the union of the 1-D sets idx[:n] (X sets of the product sets)."""
    if n == 1:
        q = idx[0]
        if xb1[q] - xb0[q] + 1 >= s or xa0[q] == xa1[q]:
            return (xa1[q] * s + xb1[q]) - (xa0[q] * s + xb0[q]) + 1
        return (xa1[q] - xa0[q] + 1) * (xb1[q] - xb0[q] + 1)
    npt = 0
    anyper = False
    for u in range(n):
        q = idx[u]
        pts[npt] = xa0[q] * s + xb0[q]
        pts[npt + 1] = xa1[q] * s + xb1[q] + 1
        npt += 2
        if xb1[q] - xb0[q] + 1 < s and xa0[q] < xa1[q]:
            anyper = True
    srt = np.sort(pts[:npt])
    total = 0
    for e in range(npt - 1):
        u0 = srt[e]
        v0 = srt[e + 1]
        if v0 <= u0:
            continue
        reps = min(s, v0 - u0) if anyper else 1
        for r in range(reps):
            x = u0 + r
            cnt = (v0 - 1 - x) // s + 1 if anyper else v0 - u0
            for u in range(n):
                q = idx[u]
                per = xb1[q] - xb0[q] + 1 < s and xa0[q] < xa1[q]
                if _member(x, xa0[q] * s + xb0[q], xa1[q] * s + xb1[q], xb0[q], xb1[q], s, per):
                    total += cnt
                    break
    return total


@njit(cache=True)
def _union_2d(m, ya0, ya1, yb0, yb1, xa0, xa1, xb0, xb1, s):
    """Size of the union of the product sets Y_q x X_q, q < m."""
    pts = np.empty(2 * _MAXS, dtype=np.int64)
    pts1 = np.empty(2 * _MAXS, dtype=np.int64)
    idx = np.empty(_MAXS, dtype=np.int64)
    npt = 0
    anyper = False
    for q in range(m):
        pts[npt] = ya0[q] * s + yb0[q]
        pts[npt + 1] = ya1[q] * s + yb1[q] + 1
        npt += 2
        if yb1[q] - yb0[q] + 1 < s and ya0[q] < ya1[q]:
            anyper = True
    srt = np.sort(pts[:npt])
    total = np.int64(0)
    for e in range(npt - 1):
        u0 = srt[e]
        v0 = srt[e + 1]
        if v0 <= u0:
            continue
        reps = min(s, v0 - u0) if anyper else 1
        for r in range(reps):
            y = u0 + r
            cnt = (v0 - 1 - y) // s + 1 if anyper else v0 - u0
            n = 0
            for q in range(m):
                per = yb1[q] - yb0[q] + 1 < s and ya0[q] < ya1[q]
                if _member(y, ya0[q] * s + yb0[q], ya1[q] * s + yb1[q], yb0[q], yb1[q], s, per):
                    idx[n] = q
                    n += 1
            if n:
                total += cnt * _union_1d(idx, n, xa0, xa1, xb0, xb1, s, pts1)
    return total


@njit(cache=True)
def region_words(nrect, p0s, p1s, k0s, k1s, ofmap_w, channels, filter_w, stride):
    """Distinct ifmap elements touched by the im2col region: the union of the rectangles
    pixels [p0s[r], p1s[r]) x window indices [k0s[r], k1s[r]), r < nrect (window index
    k = (c_row * filter_w + c_col) * channels + ch, as `ifmap_tile_new_words`)."""
    cb = np.empty(4 * nrect + 2, dtype=np.int64)      # channel class bounds
    nb = 0
    cb[nb] = 0
    cb[nb + 1] = channels
    nb += 2
    for r in range(nrect):
        if p1s[r] > p0s[r] and k1s[r] > k0s[r]:
            cb[nb] = k0s[r] % channels
            cb[nb + 1] = (k1s[r] - 1) % channels + 1
            nb += 2
    cbs = np.sort(cb[:nb])
    ya0 = np.empty(_MAXS, dtype=np.int64)
    ya1 = np.empty(_MAXS, dtype=np.int64)
    yb0 = np.empty(_MAXS, dtype=np.int64)
    yb1 = np.empty(_MAXS, dtype=np.int64)
    xa0 = np.empty(_MAXS, dtype=np.int64)
    xa1 = np.empty(_MAXS, dtype=np.int64)
    xb0 = np.empty(_MAXS, dtype=np.int64)
    xb1 = np.empty(_MAXS, dtype=np.int64)
    pr0 = np.empty(3, dtype=np.int64)
    pr1 = np.empty(3, dtype=np.int64)
    pc0 = np.empty(3, dtype=np.int64)
    pc1 = np.empty(3, dtype=np.int64)
    wr0 = np.empty(3, dtype=np.int64)
    wr1 = np.empty(3, dtype=np.int64)
    wc0 = np.empty(3, dtype=np.int64)
    wc1 = np.empty(3, dtype=np.int64)
    total = np.int64(0)
    for e in range(nb - 1):
        c_lo = cbs[e]
        c_hi = cbs[e + 1]
        if c_hi <= c_lo:
            continue
        ch = c_lo
        m = 0
        for r in range(nrect):
            if p1s[r] <= p0s[r] or k1s[r] <= k0s[r]:
                continue
            wa = -((ch - k0s[r]) // channels)          # ceil((k0 - ch) / channels)
            wb = (k1s[r] - 1 - ch) // channels
            if wa > wb:
                continue
            npr = _lin_rects(p0s[r], p1s[r] - 1, ofmap_w, pr0, pr1, pc0, pc1, 0)
            nwr = _lin_rects(wa, wb, filter_w, wr0, wr1, wc0, wc1, 0)
            for a in range(npr):
                for b in range(nwr):
                    ya0[m], ya1[m], yb0[m], yb1[m] = pr0[a], pr1[a], wr0[b], wr1[b]
                    xa0[m], xa1[m], xb0[m], xb1[m] = pc0[a], pc1[a], wc0[b], wc1[b]
                    m += 1
        if m:
            total += (c_hi - c_lo) * _union_2d(m, ya0, ya1, yb0, yb1, xa0, xa1, xb0, xb1, stride)
    return total


# state slots of _fold_traffic
_ST_I_KEY, _ST_I_WORDS, _ST_F_KEY, _ST_F_WORDS = range(4)


@njit(cache=True)
def _region1(p0, p1, k0, k1, ew, channels, filter_w, stride, rg):
    rg[0, 0], rg[1, 0], rg[2, 0], rg[3, 0] = p0, p1, k0, k1
    return region_words(1, rg[0], rg[1], rg[2], rg[3], ew, channels, filter_w, stride)


@njit(cache=True)
def _first_touch_is(p0, p1, kk, k, ew, channels, filter_w, stride, rg):
    """Words of pixels [0, p0) x all windows  U  pixels [p0, p1) x windows [0, kk)."""
    rg[0, 0], rg[1, 0], rg[2, 0], rg[3, 0] = 0, p0, 0, k
    rg[0, 1], rg[1, 1], rg[2, 1], rg[3, 1] = p0, p1, 0, kk
    return region_words(2, rg[0], rg[1], rg[2], rg[3], ew, channels, filter_w, stride)


@njit(cache=True)
def _ifmap_new_words(dataflow, g, i, j, p0, p1, k0, k1, m, k, ew, channels, filter_w, stride,
                     fits_i, c_first, c_tile, rg):
    """Ifmap DRAM words of fold g's tile when windows overlap (closed form, cached in c_first /
    c_tile, -1 = not computed yet; the caches depend only on the layer, dataflow and array
    shape, so design points that share those share them).
    fits_i: first touch (words no earlier fold fetched); else the tile's distinct words."""
    if fits_i:
        if dataflow == DF_IS:
            if c_first[g] < 0:
                c_first[g] = (_first_touch_is(p0, p1, k1, k, ew, channels, filter_w, stride, rg)
                              - _first_touch_is(p0, p1, k0, k, ew, channels, filter_w, stride, rg))
            return c_first[g]
        if j > 0:                         # every word of the layer was touched in column fold 0
            return np.int64(0)
        if c_first[i] < 0:
            if dataflow == DF_OS:         # pixels [0, p) x all windows: a prefix of the ifmap
                c_first[i] = (_region1(0, p1, 0, k, ew, channels, filter_w, stride, rg)
                              - _region1(0, p0, 0, k, ew, channels, filter_w, stride, rg))
            else:                         # all pixels x windows [0, kk)
                c_first[i] = (_region1(0, m, 0, k1, ew, channels, filter_w, stride, rg)
                              - _region1(0, m, 0, k0, ew, channels, filter_w, stride, rg))
        return c_first[i]
    q = g if dataflow == DF_IS else i
    if c_tile[q] < 0:
        c_tile[q] = _region1(p0, p1, k0, k1, ew, channels, filter_w, stride, rg)
    return c_tile[q]


@njit(cache=True)
def _fold_traffic(g, i, j, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, channels,
                  filter_w, stride, overlap, fits_i, fits_f, si, sf, so, st, c_first, c_tile, rg,
                  row_outer):
    """DRAM traffic of fold g = j * rf + i (row fold i of column fold j; folds must be visited
    in the loop order: column folds outer, or with `row_outer` row folds outer; `st` carries
    residency state).

    Returns (new ifmap words, new filter words, partial-sum words read back, ofmap words
    drained after this fold, ofmap tile words, first fold of its ofmap tile)."""
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
        if overlap:                      # fits: fetch on first touch only; else the tile's words
            new_i = _ifmap_new_words(dataflow, g, i, j, p0, p1, k0, k1, m, k, ew, channels,
                                     filter_w, stride, fits_i, c_first, c_tile, rg)
        elif fits_i:
            new_i = np.int64(0) if seen else tile_i
        else:
            new_i = tile_i
        st[_ST_I_WORDS] = new_i
        st[_ST_I_KEY] = ikey
    # ---- filter tile
    if dataflow == DF_OS:      # row folds outer: tile j was seen in row fold 0
        tile_f, fkey, fseen = np.int64(k) * cols_j, j, row_outer & (i > 0)
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
        # partial sums held at once: one column fold's, or (row folds outer) every column's
        # (branch-free: a conditional on row_outer here costs numba ~25 % of the kernel's speed)
        live = np.int64(t) * (cols_j + (s_c - cols_j) * np.int64(row_outer))
        if rf == 1:
            out_w = tile_o
            first = True
        elif live > so:                         # partial sums spill to DRAM and come back
            out_w = tile_o
            rb = tile_o if i > 0 else np.int64(0)
            first = True
        else:
            out_w = tile_o if i == rf - 1 else np.int64(0)
            # row folds outer: every column's tile accumulates from the first fold on and
            # completes in the last pass, into SRAM no later tile needs: no drain is forced
            # (with one column fold this is the column-outer schedule)
            first = (i == 0) & ((j == 0) | (not row_outer))
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
def steady_fold_cycles(dataflow, rows, t, fold, fold_overlap):
    """Cycles of every fold after the first. Without overlap each fold fills and drains the
    array (SCALE-Sim's rule): L. With `fold_overlap` the skew fill/drain of consecutive folds
    overlaps (the next fold's operands enter as the last ones of this fold leave; outputs / the
    next stationary tile move through shadow registers): max(T, R), R cycles being what it takes
    to move an R-row tile in or out of the array."""
    if not fold_overlap:
        return fold
    return max(t, rows)


@njit(cache=True)
def cache_size(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
               num_filters, stride):
    """Length of the per-layer count caches of `layer_into` (row folds, or folds for IS)."""
    eh = (ifmap_h - filter_h + stride) // stride
    ew = (ifmap_w - filter_w + stride) // stride
    s_r, s_c, t, rf, cf, fold = fold_shape(dataflow, eh * ew, num_filters,
                                           filter_h * filter_w * channels, rows, cols)
    return rf * cf if dataflow == DF_IS else rf


@njit(cache=True)
def layer_into(out, dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
               num_filters, stride, ifmap_sram_words, filter_sram_words, ofmap_sram_words,
               bandwidth_words_per_cycle, per_operand_channels, fold_overlap, c_first, c_tile,
               row_outer):
    """`simulate_layer` writing into `out` (N_SLOTS int64), with caller-owned count caches
    (`cache_size` long, filled with -1; reusable for another layer evaluation with the same
    geometry, dataflow, rows and cols, whatever the SRAMs and bandwidth). `row_outer` (a bool,
    no default: an omitted argument costs numba ~20 % of this kernel's speed): visit the
    folds row fold outer, column fold inner (the operand tile of a row fold stays resident
    across the column folds; WS/IS keep every column's partial sums at once). Not for IS with
    overlapping windows and a resident ifmap (first-touch counts assume column folds outer;
    `simulate_layer` refuses it, batched callers exclude it)."""
    out[:] = 0
    eh = (ifmap_h - filter_h + stride) // stride
    ew = (ifmap_w - filter_w + stride) // stride
    m = eh * ew
    k = filter_h * filter_w * channels
    n = num_filters
    s_r, s_c, t, rf, cf, fold = fold_shape(dataflow, m, n, k, rows, cols)
    steady = steady_fold_cycles(dataflow, rows, t, fold, fold_overlap)
    n_folds = rf * cf
    si, sf, so = ifmap_sram_words, filter_sram_words, ofmap_sram_words
    hi, hf, ho = si // 2, sf // 2, so // 2
    bw = bandwidth_words_per_cycle
    h_s = hf if dataflow == DF_WS else hi          # half of the stationary operand's SRAM

    # windows share ifmap elements only if they overlap along a direction with > 1 window
    overlap = (eh > 1 and filter_h > stride) or (ew > 1 and filter_w > stride)
    fits_i = used_ifmap_words(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride) <= si
    fits_f = np.int64(k) * n <= sf
    st = np.array([-1, 0, -1, 0], dtype=np.int64)
    rg = np.zeros((4, 2), dtype=np.int64)

    dram_i = np.int64(0)
    dram_f = np.int64(0)
    dram_ow = np.int64(0)
    dram_or = np.int64(0)
    spill = 0

    new_i, new_f, rb, out_w, tile_o, first = _fold_traffic(
        0, 0, 0, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, channels, filter_w,
        stride, overlap, fits_i, fits_f, si, sf, so, st, c_first, c_tile, rg, row_outer)
    pf_s = 0.0                # words of the current fold prefetched during the previous period
    pf_i = 0.0                # (a fluid amount: the channel may stop mid-word at a fold's end)
    pf_f = 0.0
    if per_operand_channels:
        ch_i, ch_f, ch_o = 0, 1, 2
    else:
        ch_i, ch_f, ch_o = 0, 0, 0
    ch_s = ch_f if dataflow == DF_WS else ch_i        # channel of the stationary operand
    pend_old = 0.0            # ofmap words to drain before the next tile starts
    pend_new = 0.0            # ... before the tile after next starts
    now = 0.0
    first_end = 0.0
    gap_use = np.zeros(3)     # per channel: cycles of the gap it needs
    mand = np.zeros(3)        # per channel: cycles of mandatory streaming in the fold
    slack = np.zeros(3)       # per channel: words it can still move in this fold's window
    shared = ch_i == ch_f and ch_f == ch_o
    ni = 0                    # (row fold, column fold) of fold g + 1
    nj = 0
    # steady state: a fold with the traffic and start state of the previous one, and a next
    # fold with that traffic too, repeats the previous step exactly (its outputs are its
    # inputs): only the clock advances. p_*: the previous full step's inputs and its length.
    p_ok = False
    p_i = np.int64(0)
    p_f = np.int64(0)
    p_rb = np.int64(0)
    p_out = np.int64(0)
    p_to = np.int64(0)
    p_first = False
    p_pfs = 0.0
    p_pfi = 0.0
    p_pff = 0.0
    p_po = 0.0
    p_pn = 0.0
    p_step = 0.0
    x_i = np.int64(0)         # the next fold's traffic
    x_f = np.int64(0)
    x_rb = np.int64(0)
    x_out = np.int64(0)
    x_to = np.int64(0)
    x_first = False
    for g in range(n_folds):                    # g: visit order; folds keep their ids j*rf+i
        if row_outer:
            nj += 1
            if nj == cf:
                nj = 0
                ni += 1
        else:
            ni += 1
            if ni == rf:
                ni = 0
                nj += 1
        dram_i += new_i
        dram_f += new_f
        dram_ow += out_w
        dram_or += rb
        if rb > 0:
            spill = 1
        has_next = g + 1 < n_folds
        if has_next:
            x_i, x_f, x_rb, x_out, x_to, x_first = _fold_traffic(
                nj * rf + ni, ni, nj, dataflow, rows, cols, s_r, s_c, t, rf, m, n, k, ew, channels,
                filter_w, stride, overlap, fits_i, fits_f, si, sf, so, st, c_first, c_tile, rg,
                row_outer)
            if (p_ok and new_i == p_i and new_f == p_f and rb == p_rb and out_w == p_out
                    and tile_o == p_to and first == p_first and pf_s == p_pfs and pf_i == p_pfi
                    and pf_f == p_pff and pend_old == p_po and pend_new == p_pn
                    and x_i == new_i and x_f == new_f and x_rb == rb and x_out == out_w
                    and x_to == tile_o and x_first == first):
                now += p_step
                continue
        if g > 0:
            p_ok = True
            p_i, p_f, p_rb, p_out, p_to, p_first = new_i, new_f, rb, out_w, tile_o, first
            p_pfs, p_pfi, p_pff, p_po, p_pn = pf_s, pf_i, pf_f, pend_old, pend_new
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
        period = float(fold if g == 0 else steady)
        if shared:
            # one channel: the three-channel arithmetic of the else branch on channel 0 only (the others
            # carry nothing), skipping the divisions of zero words (x / bw = 0 exactly)
            gu = rem_s / bw if rem_s != 0.0 else 0.0
            if forced != 0.0:
                gu += forced / bw
            md = rem_i / bw if rem_i != 0.0 else 0.0
            if rem_f != 0.0:
                md += rem_f / bw
            if rb != 0:
                md += rb / bw
            gap = max(gu, 0.0)
            need = gu + md - gap
            if need > period:
                period = need
            slack[0] = (gap + period - gu - md) * bw
        else:
            gap_use[0] = 0.0
            gap_use[1] = 0.0
            gap_use[2] = 0.0
            mand[0] = 0.0
            mand[1] = 0.0
            mand[2] = 0.0
            gap_use[ch_s] += rem_s / bw
            gap_use[ch_o] += forced / bw
            mand[ch_i] += rem_i / bw
            mand[ch_f] += rem_f / bw
            mand[ch_o] += rb / bw
            gap = max(gap_use[0], max(gap_use[1], gap_use[2]))
            # ---- period: each channel moves its mandatory words within gap + period
            for c in range(3):
                need = gap_use[c] + mand[c] - gap
                if need > period:
                    period = need
            for c in range(3):
                slack[c] = (gap + period - gap_use[c] - mand[c]) * bw
        p_step = gap + period
        now += p_step
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
        if has_next:
            new_i, new_f, rb, out_w, tile_o, first = x_i, x_f, x_rb, x_out, x_to, x_first
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
    compute = np.int64(fold) + np.int64(n_folds - 1) * steady
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


@njit(cache=True)
def simulate_layer(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                   num_filters, stride, ifmap_sram_words, filter_sram_words, ofmap_sram_words,
                   bandwidth_words_per_cycle, per_operand_channels, fold_overlap=False,
                   row_outer=False):
    """One layer on one array. Returns an int64 array indexed by the slot constants above.

    A GEMM M x N x K is passed as SCALE-Sim maps it: ifmap M x K, filter 1 x K, 1 channel,
    N filters, stride 1. `per_operand_channels`: False = one DRAM channel of
    `bandwidth_words_per_cycle` words/cycle shared by ifmap, filter and ofmap traffic; True =
    each of the three has its own channel of that bandwidth (SCALE-Sim USER mode).
    `fold_overlap`: consecutive folds overlap their fill and drain (`steady_fold_cycles`);
    False is SCALE-Sim's rule (every fold fills and drains the array).

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

    Ifmap words of a tile whose windows overlap are counted in closed form (`region_words`),
    not by walking the tile, so a layer costs O(folds), independent of its size.

    Hand example (tests/test_systolic_kernels.py): 4x4 WS, GEMM M=N=K=4, SRAMs 64 words,
    B = 2 words/cycle, shared channel. One fold, L = 2*4+4+4-2 = 14. Gap: 16 filter words
    (stationary) = 8 cycles. Period: 16 ifmap words = 8 cycles < 14 -> D = 14. Final drain of
    16 ofmap words: 8 cycles. fill = 8, stall 0, drain 8, total 30."""
    if row_outer and dataflow == DF_IS:
        eh = (ifmap_h - filter_h + stride) // stride
        ew = (ifmap_w - filter_w + stride) // stride
        if (((eh > 1 and filter_h > stride) or (ew > 1 and filter_w > stride))
                and used_ifmap_words(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride)
                <= ifmap_sram_words):
            raise ValueError("row_outer: not for IS with overlapping windows and a resident ifmap")
    n = cache_size(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                   num_filters, stride)
    c_first = np.full(n, -1, dtype=np.int64)
    c_tile = np.full(n, -1, dtype=np.int64)
    out = np.zeros(N_SLOTS, dtype=np.int64)
    return layer_into(out, dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                      num_filters, stride, ifmap_sram_words, filter_sram_words, ofmap_sram_words,
                      bandwidth_words_per_cycle, per_operand_channels, fold_overlap, c_first,
                      c_tile, bool(row_outer))


@njit(cache=True)
def evaluate_points(dataflow, rows, cols, ifmap_sram_words, filter_sram_words,
                    ofmap_sram_words, bandwidth_words_per_cycle, per_operand_channels,
                    fold_overlap, layers):
    """Many design points x many layers in one call: the batched twin of `simulate_layer`
    (same `layer_into`, so the same numbers).

    Per point p: rows[p], cols[p], SRAM words, bandwidth, flags; dataflow[p, l] per layer
    (a mapper may choose it per layer). layers: int64 [L, 7] rows of (ifmap_h, ifmap_w,
    filter_h, filter_w, channels, num_filters, stride). Returns int64 [P, L, N_SLOTS].
    Consecutive points with the same (rows, cols) share the per-layer count caches, so sort
    the points by array shape."""
    n_p = rows.shape[0]
    n_l = layers.shape[0]
    out = np.zeros((n_p, n_l, N_SLOTS), dtype=np.int64)
    caches_f = [np.full(1, -1, dtype=np.int64) for _ in range(3 * n_l)]
    caches_t = [np.full(1, -1, dtype=np.int64) for _ in range(3 * n_l)]
    have = np.zeros(3 * n_l, dtype=np.bool_)
    prev_r = -1
    prev_c = -1
    for p in range(n_p):
        if rows[p] != prev_r or cols[p] != prev_c:
            have[:] = False
            prev_r = rows[p]
            prev_c = cols[p]
        for li in range(n_l):
            df = dataflow[p, li]
            q = 3 * li + df
            h, w, fh, fw, ch, nf, s = (layers[li, 0], layers[li, 1], layers[li, 2], layers[li, 3],
                                       layers[li, 4], layers[li, 5], layers[li, 6])
            if not have[q]:
                nc = cache_size(df, rows[p], cols[p], h, w, fh, fw, ch, nf, s)
                caches_f[q] = np.full(nc, -1, dtype=np.int64)
                caches_t[q] = np.full(nc, -1, dtype=np.int64)
                have[q] = True
            layer_into(out[p, li], df, rows[p], cols[p], h, w, fh, fw, ch, nf, s,
                       ifmap_sram_words[p], filter_sram_words[p], ofmap_sram_words[p],
                       bandwidth_words_per_cycle[p], per_operand_channels[p], fold_overlap[p],
                       caches_f[q], caches_t[q], False)
    return out


# Action slots of `action_counts`: the order of the systolic block's action keys (model.py).
(A_MAC, A_SRAM_IFMAP_RD, A_SRAM_IFMAP_WR, A_SRAM_FILTER_RD, A_SRAM_FILTER_WR, A_SRAM_OFMAP_WR,
 A_SRAM_OFMAP_RD, A_DRAM_RD, A_DRAM_WR, N_ACTIONS) = range(10)


@njit(cache=True)
def action_counts(r, word_bytes, out):
    """The op's action counts (MACs, bytes) from a `simulate_layer` result `r`, into `out`
    (N_ACTIONS floats). SRAM writes include DRAM fills; ofmap SRAM writes include spilled
    partial sums coming back, its reads the words read out to DRAM."""
    wb = np.int64(word_bytes)
    out[A_MAC] = float(r[MACS])
    out[A_SRAM_IFMAP_RD] = float(r[SRAM_IFMAP_READS] * wb)
    out[A_SRAM_IFMAP_WR] = float(r[DRAM_IFMAP_READS] * wb)
    out[A_SRAM_FILTER_RD] = float(r[SRAM_FILTER_READS] * wb)
    out[A_SRAM_FILTER_WR] = float(r[DRAM_FILTER_READS] * wb)
    out[A_SRAM_OFMAP_WR] = float((r[SRAM_OFMAP_WRITES] + r[DRAM_OFMAP_READS]) * wb)
    out[A_SRAM_OFMAP_RD] = float((r[SRAM_OFMAP_READS] + r[DRAM_OFMAP_WRITES]) * wb)
    out[A_DRAM_RD] = float((r[DRAM_IFMAP_READS] + r[DRAM_FILTER_READS] + r[DRAM_OFMAP_READS]) * wb)
    out[A_DRAM_WR] = float(r[DRAM_OFMAP_WRITES] * wb)
    return out


@njit(cache=True)
def evaluate_points_flat(dataflow, rows, cols, ifmap_sram_words, filter_sram_words,
                         ofmap_sram_words, bandwidth_words_per_cycle, per_operand_channels,
                         fold_overlap, layers, cache_off, cache_len, cache_first, cache_tile,
                         row_outer=False):
    """`evaluate_points` with caller-owned count caches: the caches of (point p, layer l) are
    cache_first / cache_tile[cache_off[p, l] : + cache_len[p, l]] (-1 = not computed yet), so a
    caller can keep them across calls (archsim.sweep.batch keeps them per worker process; the
    counts do not depend on the loop order, so `row_outer` calls share them)."""
    n_p = rows.shape[0]
    n_l = layers.shape[0]
    out = np.zeros((n_p, n_l, N_SLOTS), dtype=np.int64)
    for p in range(n_p):
        for li in range(n_l):
            a = cache_off[p, li]
            b = a + cache_len[p, li]
            layer_into(out[p, li], dataflow[p, li], rows[p], cols[p], layers[li, 0], layers[li, 1],
                       layers[li, 2], layers[li, 3], layers[li, 4], layers[li, 5], layers[li, 6],
                       ifmap_sram_words[p], filter_sram_words[p], ofmap_sram_words[p],
                       bandwidth_words_per_cycle[p], per_operand_channels[p], fold_overlap[p],
                       cache_first[a:b], cache_tile[a:b], bool(row_outer))
    return out
