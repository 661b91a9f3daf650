"""SCALE-Sim 3.0.0 compatibility kernels: reproduce SCALE-Sim's per-layer numbers exactly.

This is a port of SCALE-Sim 3.0.0 (`compute/systolic_compute_{os,ws,is}.py`,
`memory/read_buffer.py`, `memory/read_buffer_estimate_bw.py`, `memory/write_buffer.py`,
`memory/double_buffered_scratchpad_mem.py::service_memory_requests`), quirks included, that does
NOT build SCALE-Sim's per-cycle demand matrices. Each demand row (one per stall-free cycle) is
generated on the fly from the fold geometry, only its valid entries are visited, and the three
buffers are simulated with O(1) state per request:

* USER read buffer: the set windows of `read_buffer.py` are integer intervals over set ids; an
  address hits if one of the fetch-stream positions holding it (CSR `ptr`/`sets`, operand-sized)
  falls in the circular active window. Refills are O(1) each (SCALE-Sim concatenates its DRAM
  trace per refill, which makes the backward-access pathology quadratic).
* CALC read buffer: an address is "new" iff the set id it was last booked in is older than the
  current 50-set group (the window of `read_buffer_estimate_bw.py` is exactly that group), so one
  int64 per operand address replaces SCALE-Sim's list of Python sets.
* OFMAP write buffer: line counters plus a ring of the valid-word counts of undrained lines.

Memory per layer is bounded by the operand sizes (address -> set bookkeeping) and the OFMAP
buffer size, never by the layer's cycle count.

Notation (SCALE-Sim's): M ofmap pixels, N filters, K window (R_f*S_f*C); OS: S_R=M, S_C=N, T=K;
WS: S_R=K, S_C=N, T=M; IS: S_R=K, S_C=M, T=N. Folds: column fold outer, row fold inner.

Hand-worked example (4x4 OS, GEMM M=N=K=4, CALC, no stalls): one fold of K+R+C-2 = 10 demand
rows; SCALE-Sim reports "Total Cycles" = 10 - 1 = 9 (the -1 quirk: it is the 0-based index of
the last demand row), SRAM IFMAP reads M*K = 16, SRAM OFMAP writes M*N + (R+C) = 24 (the OS
over-count quirk).

Kernels import only numpy and numba and take scalars/arrays only.
"""
from __future__ import annotations

import numpy as np
from numba import njit

DF_OS, DF_WS, DF_IS = 0, 1, 2

# operand cases of the prefetch (fetch-order) matrices, see build_fetch_sets
PF_OS_IFMAP, PF_OS_FILTER, PF_WS_IFMAP, PF_WS_FILTER, PF_IS_IFMAP, PF_IS_FILTER = range(6)

# slots of the int64 result vector of simulate_layer
(OUT_TOTAL_CYCLES, OUT_STALL, OUT_IF_SRAM_START, OUT_IF_SRAM_STOP, OUT_FL_SRAM_START,
 OUT_FL_SRAM_STOP, OUT_OF_SRAM_START, OUT_OF_SRAM_STOP, OUT_IF_DRAM_START, OUT_IF_DRAM_STOP,
 OUT_IF_DRAM_READS, OUT_FL_DRAM_START, OUT_FL_DRAM_STOP, OUT_FL_DRAM_READS, OUT_OF_DRAM_START,
 OUT_OF_DRAM_STOP, OUT_OF_DRAM_WRITES, OUT_ROWS, OUT_FOLDS, OUT_IF_REFILLS,
 OUT_FL_REFILLS) = range(21)
N_OUT = 21
# slots of the float64 result vector
FOUT_MAP_EFF_SUM, FOUT_COMP_UTIL_SUM = 0, 1

# USER read-buffer state (read_buffer.py)
U_NS, U_NA, U_NP, U_A0, U_A1, U_LPC, U_ACCESS, U_NREF, U_BW, U_ALLFIT, U_DSTART, U_REFILLS = range(12)
N_U = 12
# CALC read-buffer state (read_buffer_estimate_bw.py)
(C_E, C_RSTART, C_REND, C_CUR, C_ECUR, C_ADONE, C_LSTART, C_LEND, C_ACCESS, C_FSEEN, C_FREQ,
 C_PFSTART, C_DSTART, C_DSTOP, C_HASTRACE) = range(15)
N_C = 15
# OFMAP write-buffer state (write_buffer.py)
(W_TOTAL, W_ACTIVE, W_DRAIN, W_BW, W_FREE, W_LINEIDX, W_DEND, W_ACCESS, W_DMIN, W_DMAX, W_HAS,
 W_NLINES, W_DLINES, W_CAP) = range(14)
N_W = 14

CALC_SETS_PER_HALF = 50     # read_buffer_estimate_bw: int(0.5 * 100) active sets, 100 - 50 prefetch
CALC_DEFAULT_BW = 10        # single_layer_sim: "The number 10 elems per cycle is arbitrary"


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------------------------
# ifmap address helper: index (address - IfmapOffset) of ifmap element (ofmap pixel m, window k)
# or -1 where SCALE-Sim's im2col marks it invalid (ofmap dims use ceil, so with a stride that
# does not divide (H - R_f) the last window runs off the ifmap; operand_matrix.py gives -1 there).
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _ifmap_idx(m, k, m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid):
    if all_valid:
        return m_base[m] + k_off[k]
    if m_irow[m] + k_crow[k] < ifm_h and m_icol[m] + k_ccol[k] < ifm_w:
        return m_base[m] + k_off[k]
    return -1


# --------------------------------------------------------------------------------------------
# USER mode: the fetch stream and its sets (read_buffer.set_fetch_matrix/prepare_hashed_buffer)
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _pf_elem(case, i, j, R, C, M, N, K, m_base, m_irow, m_icol, k_off, k_crow, k_ccol,
             ifm_h, ifm_w, all_valid):
    """Entry (i, j) of SCALE-Sim's prefetch matrix for `case` (before the anti-diagonal roll)."""
    if case == PF_OS_IFMAP:            # per row fold: ifmap^T[:, fold] (K x R)
        fr = i // K
        k = i - fr * K
        m = fr * R + j
        if m >= M:
            return -1
        return _ifmap_idx(m, k, m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid)
    if case == PF_OS_FILTER or case == PF_WS_FILTER:   # per col fold: filter[:, fold] (K x C)
        fc = i // K
        k = i - fc * K
        n = fc * C + j
        if n >= N:
            return -1
        return n * K + k
    if case == PF_WS_IFMAP:            # per row fold: ifmap[:, fold] (M x R)
        fr = i // M
        m = i - fr * M
        k = fr * R + j
        if k >= K:
            return -1
        return _ifmap_idx(m, k, m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid)
    if case == PF_IS_IFMAP:            # per col fold: ifmap^T[:, fold] (K x C)
        fc = i // K
        k = i - fc * K
        m = fc * C + j
        if m >= M:
            return -1
        return _ifmap_idx(m, k, m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid)
    # PF_IS_FILTER: per row fold: filter[fold, :]^T (N x R)
    fr = i // N
    n = i - fr * N
    k = fr * R + j
    if k >= K:
        return -1
    return n * K + k


@njit(cache=True)
def build_fetch_sets(case, R, C, M, N, K, m_base, m_irow, m_icol, k_off, k_crow, k_ccol,
                     ifm_h, ifm_w, all_valid, elems_per_set, space):
    """CSR address-index -> set ids of SCALE-Sim's USER-mode fetch stream.

    The prefetch matrix (one pass over the operand in consumption order, -1 padded to whole
    folds) is rolled out along anti-diagonals (OS ifmap/filter, WS ifmap, IS filter: SCALE-Sim's
    fix for its issues #15/#16) or row-major (WS filter, IS ifmap); its valid entries are cut
    into sets of `elems_per_set` (= ceil(S/100)) entries, duplicates counted (a conv ifmap
    address appears in several sets). Returns (ptr, sets, n_valid, n_total) with n_total the
    prefetch-matrix size including padding (SCALE-Sim's fetch lines = ceil(n_total / B)).
    """
    if case == PF_OS_IFMAP:
        mp, np_ = ((M + R - 1) // R) * K, R
    elif case == PF_OS_FILTER or case == PF_WS_FILTER:
        mp, np_ = ((N + C - 1) // C) * K, C
    elif case == PF_WS_IFMAP:
        mp, np_ = ((K + R - 1) // R) * M, R
    elif case == PF_IS_IFMAP:
        mp, np_ = ((M + C - 1) // C) * K, C
    else:
        mp, np_ = ((K + R - 1) // R) * N, R
    diag = case == PF_OS_IFMAP or case == PF_OS_FILTER or case == PF_WS_IFMAP or case == PF_IS_FILTER
    n_total = mp * np_
    stream = np.empty(n_total, dtype=np.int64)
    pos = 0
    if diag:
        for d in range(mp + np_):
            max_row = min(d, mp - 1)
            min_row = max(0, d - np_ + 1)
            for row in range(max_row, min_row - 1, -1):
                stream[pos] = _pf_elem(case, row, d - row, R, C, M, N, K, m_base, m_irow, m_icol,
                                       k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid)
                pos += 1
    else:
        for row in range(mp):
            for col in range(np_):
                stream[pos] = _pf_elem(case, row, col, R, C, M, N, K, m_base, m_irow, m_icol,
                                       k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid)
                pos += 1
    ptr = np.zeros(space + 1, dtype=np.int64)
    n_valid = 0
    for p in range(n_total):
        a = stream[p]
        if a >= 0:
            ptr[a + 1] += 1
            n_valid += 1
    for a in range(space):
        ptr[a + 1] += ptr[a]
    fill = ptr[:-1].copy()
    sets = np.empty(n_valid, dtype=np.int64)
    v = 0
    for p in range(n_total):
        a = stream[p]
        if a >= 0:
            sets[fill[a]] = v // elems_per_set
            fill[a] += 1
            v += 1
    return ptr, sets, n_valid, n_total


@njit(cache=True)
def _user_read(us, ptr, sets, idx, cycle, offset):
    """read_buffer.service_reads for one address; returns the row's updated offset."""
    lo = ptr[idx]
    hi = ptr[idx + 1]
    if lo == hi:
        raise ValueError("address not in the operand's fetch stream")
    ns = us[U_NS]
    while True:
        a0 = us[U_A0]
        a1 = us[U_A1]
        for q in range(lo, hi):
            s = sets[q]
            if a0 < a1:
                if s >= a0 and s < a1:
                    return offset
            elif s >= a0 or s < a1:
                return offset
        # Miss -> new_prefetch(): the window only moves forward (circularly). Backward-access
        # pathology (scalesim.md 6.1.6): an address behind the window forces a full trip round
        # the circular buffer, one refill per step.
        a0 = (a0 + us[U_NP]) % ns
        us[U_A0] = a0
        us[U_A1] = (a0 + us[U_NA]) % ns
        # The DRAM channel is one queue running since the initial fill: ceil(P/B) requests issued
        # back to back after the previous refill, served 1 cycle later, regardless of `cycle`.
        us[U_LPC] += us[U_NREF] + 1
        # Whole-line DRAM counting quirk: every requested line counts B words, chomped or not.
        us[U_ACCESS] += us[U_NREF] * us[U_BW]
        us[U_REFILLS] += 1
        p = us[U_LPC] - (cycle + offset)
        offset += p
        # Double-counted prefetch deficit quirk (SCALE-Sim issue #130): a positive deficit is
        # added twice; a negative one pulls the offset back.
        if p > 0:
            offset += p


# --------------------------------------------------------------------------------------------
# CALC mode read buffer bookkeeping (read_buffer_estimate_bw.py); never stalls.
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _calc_trace(cs, last_start, last_end):
    # prefetch(): one trace row per cycle in [last_start, last_end], served 1 cycle later
    if last_end - last_start + 1 > 0:
        if cs[C_HASTRACE] == 0:
            cs[C_DSTART] = last_start + 1
            cs[C_HASTRACE] = 1
        cs[C_DSTOP] = last_end + 1


@njit(cache=True)
def _calc_read(cs, last_set, idx, cycle):
    # Hit iff booked in the current 50-set group: right after a group completes, SCALE-Sim's
    # window [read_start, min(cur, read_end + 1)) is empty, so older groups never hit again.
    if last_set[idx] >= cs[C_RSTART]:
        return
    e = cs[C_E]
    last_set[idx] = cs[C_CUR]
    cs[C_ECUR] += 1
    if cs[C_ECUR] != e:
        return
    cs[C_CUR] += 1
    cs[C_ECUR] = 0
    if cs[C_CUR] != cs[C_REND] + 1:
        return
    # CALC bookkeeping quirk: the first full group books an up-front fill at 10 words/cycle
    # ending 2 cycles before the first request; later groups are booked over the interval
    # between the two previous group completions (bandwidth = ceil(words / interval)).
    half = CALC_SETS_PER_HALF
    if cs[C_ADONE] == 0:
        last_end = cs[C_FREQ] - 2
        cycles = (half * e + CALC_DEFAULT_BW - 1) // CALC_DEFAULT_BW
        _calc_trace(cs, last_end - cycles + 1, last_end)
        cs[C_ACCESS] += half * e
        cs[C_PFSTART] = cs[C_REND] + 1
        cs[C_ADONE] = 1
    else:
        last_end = cs[C_LEND]
        _calc_trace(cs, cs[C_LSTART], last_end)
        cs[C_ACCESS] += half * e
        cs[C_PFSTART] += half
    cs[C_RSTART] += half
    cs[C_REND] += half
    cs[C_LSTART] = last_end + 1
    cs[C_LEND] = cycle


@njit(cache=True)
def _calc_finish(cs):
    """complete_all_prefetches(): book the last (partial) group."""
    e = cs[C_E]
    cur = cs[C_CUR]
    ecur = cs[C_ECUR]
    cur_eff = cur if ecur > 0 else cur - 1
    if cs[C_ADONE] == 0:
        num_sets = cur_eff + 1
        cycles = (num_sets * e + CALC_DEFAULT_BW - 1) // CALC_DEFAULT_BW
        last_end = -2
        _calc_trace(cs, last_end - cycles + 1, last_end)
        cs[C_ACCESS] += cur * e + ecur
    else:
        _calc_trace(cs, cs[C_LSTART], cs[C_LEND])
        cs[C_ACCESS] += (cur - cs[C_PFSTART]) * e + ecur


# --------------------------------------------------------------------------------------------
# OFMAP write buffer (write_buffer.py)
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _push_line(ws, ring, valid):
    cap = ws[W_CAP]
    if ws[W_NLINES] - ws[W_DLINES] == cap:
        new_cap = 2 * cap
        new = np.empty(new_cap, dtype=np.int64)
        for line in range(ws[W_DLINES], ws[W_NLINES]):
            new[line % new_cap] = ring[line % cap]
        ring = new
        ws[W_CAP] = new_cap
        cap = new_cap
    ring[ws[W_NLINES] % cap] = valid
    ws[W_NLINES] += 1
    return ring


@njit(cache=True)
def _drain(ws, ring, start):
    """empty_drain_buf(): up to ceil(D/B) lines, one per cycle from `start`; returns end cycle."""
    bw = ws[W_BW]
    n = min((ws[W_DRAIN] + bw - 1) // bw, ws[W_NLINES] - ws[W_DLINES])
    last_valid = ring[(ws[W_DLINES] + n - 1) % ws[W_CAP]]
    # Padding quirk: only the -1 padding of the chunk's LAST line is subtracted; forced partial
    # lines inside a chunk count as full lines (DRAM OFMAP writes over-count).
    data = n * bw - (bw - last_valid)
    ws[W_ACCESS] += data
    end = start + n - 1
    if ws[W_HAS] == 0:
        ws[W_DMIN] = start
        ws[W_DMAX] = end
        ws[W_HAS] = 1
    else:
        ws[W_DMIN] = min(ws[W_DMIN], start)
        ws[W_DMAX] = max(ws[W_DMAX], end)
    ws[W_FREE] += data      # credited back at scheduling time
    ws[W_DLINES] += n
    return end


@njit(cache=True)
def _ofmap_write(ws, ring, cur):
    """service_writes() for one valid ofmap element at current cycle `cur`."""
    ws[W_LINEIDX] += 1
    ws[W_FREE] -= 1
    if ws[W_LINEIDX] == ws[W_BW]:
        ring = _push_line(ws, ring, ws[W_BW])
        ws[W_LINEIDX] = 0
    if cur < ws[W_DEND]:
        if ws[W_FREE] <= 0:
            cur = ws[W_DEND]        # no free slot while draining: wait for the drain to end
    elif ws[W_FREE] < ws[W_ACTIVE]:
        if ws[W_LINEIDX] != 0:      # append_to_trace_mat(force=True): flush the partial line
            ring = _push_line(ws, ring, ws[W_LINEIDX])
            ws[W_LINEIDX] = 0
        ws[W_DEND] = _drain(ws, ring, cur)
    return cur, ring


# --------------------------------------------------------------------------------------------
# The layer: folds x demand rows x valid entries
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def simulate_layer(df, R, C, M, N, K,
                   m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid,
                   user_mode,
                   us_if, if_ptr, if_sets, us_fl, fl_ptr, fl_sets,
                   cs_if, if_last, cs_fl, fl_last,
                   wst, ring):
    """Run SCALE-Sim's service_memory_requests over the layer's demand rows.

    Buffer states (`us_*` USER, `cs_*` CALC, `wst` OFMAP) are initialised by the caller and
    updated in place. Returns (out int64[N_OUT], fout float64[2]).
    """
    out = np.zeros(N_OUT, dtype=np.int64)
    fout = np.zeros(2, dtype=np.float64)
    if df == DF_OS:
        s_r, s_c, t_len = M, N, K
        fold_len = K + R + C - 2
        util_len = fold_len
    elif df == DF_WS:
        s_r, s_c, t_len = K, N, M
        fold_len = 2 * R + C + M - 2
        util_len = fold_len + C - 1     # Compute Util quirk: shape[0] + shape[1] - 1 of the block
    else:
        s_r, s_c, t_len = K, M, N
        fold_len = 2 * R + C + N - 2
        util_len = fold_len + C - 1
    row_folds = (s_r + R - 1) // R
    col_folds = (s_c + C - 1) // C
    rc = R * C

    if_allfit = us_if[U_ALLFIT] != 0
    fl_allfit = us_fl[U_ALLFIT] != 0
    row = 0
    stall = 0
    c_last = 0
    if_first = -1
    if_last_row = -1
    fl_first = -1
    fl_last_row = -1
    of_first = -1
    of_last_row = -1
    have_if = False
    have_fl = False
    have_of = False
    for fc in range(col_folds):
        cu = min(C, s_c - fc * C)
        for fr in range(row_folds):
            ru = min(R, s_r - fr * R)
            used = ru * cu
            fout[FOUT_MAP_EFF_SUM] += used / rc
            fout[FOUT_COMP_UTIL_SUM] += (used * t_len) / (rc * util_len)
            for t in range(fold_len):
                cycle = row + stall
                # ---------------- ifmap demand row
                a_off = 1
                a_any = False
                if df == DF_OS:
                    lo = max(0, t - t_len + 1)
                    hi = min(ru - 1, t)
                    for r in range(lo, hi + 1):
                        idx = _ifmap_idx(fr * R + r, t - r, m_base, m_irow, m_icol, k_off,
                                         k_crow, k_ccol, ifm_h, ifm_w, all_valid)
                        if idx < 0:
                            continue
                        if user_mode:
                            a_any = True
                            if not if_allfit:
                                a_off = _user_read(us_if, if_ptr, if_sets, idx, cycle, a_off)
                        else:
                            if not a_any:
                                a_any = True
                                if cs_if[C_FSEEN] == 0:
                                    cs_if[C_FSEEN] = 1
                                    cs_if[C_FREQ] = cycle
                            _calc_read(cs_if, if_last, idx, cycle)
                elif df == DF_WS:
                    lo = max(0, t - R - t_len + 1)
                    hi = min(ru - 1, t - R)
                    for r in range(lo, hi + 1):
                        idx = _ifmap_idx(t - r - R, fr * R + r, m_base, m_irow, m_icol, k_off,
                                         k_crow, k_ccol, ifm_h, ifm_w, all_valid)
                        if idx < 0:
                            continue
                        if user_mode:
                            a_any = True
                            if not if_allfit:
                                a_off = _user_read(us_if, if_ptr, if_sets, idx, cycle, a_off)
                        else:
                            if not a_any:
                                a_any = True
                                if cs_if[C_FSEEN] == 0:
                                    cs_if[C_FSEEN] = 1
                                    cs_if[C_FREQ] = cycle
                            _calc_read(cs_if, if_last, idx, cycle)
                else:
                    # IS: stationary ifmap block written bottom row first (reversed)
                    if t < R and R - 1 - t < ru:
                        k = fr * R + R - 1 - t
                        for c in range(cu):
                            idx = _ifmap_idx(fc * C + c, k, m_base, m_irow, m_icol, k_off,
                                             k_crow, k_ccol, ifm_h, ifm_w, all_valid)
                            if idx < 0:
                                continue
                            if user_mode:
                                a_any = True
                                if not if_allfit:
                                    a_off = _user_read(us_if, if_ptr, if_sets, idx, cycle, a_off)
                            else:
                                if not a_any:
                                    a_any = True
                                    if cs_if[C_FSEEN] == 0:
                                        cs_if[C_FSEEN] = 1
                                        cs_if[C_FREQ] = cycle
                                _calc_read(cs_if, if_last, idx, cycle)
                # ---------------- filter demand row
                b_off = 1
                b_any = False
                if df == DF_OS:
                    lo = max(0, t - t_len + 1)
                    hi = min(cu - 1, t)
                    for c in range(lo, hi + 1):
                        idx = (fc * C + c) * K + (t - c)
                        if user_mode:
                            b_any = True
                            if not fl_allfit:
                                b_off = _user_read(us_fl, fl_ptr, fl_sets, idx, cycle, b_off)
                        else:
                            if not b_any:
                                b_any = True
                                if cs_fl[C_FSEEN] == 0:
                                    cs_fl[C_FSEEN] = 1
                                    cs_fl[C_FREQ] = cycle
                            _calc_read(cs_fl, fl_last, idx, cycle)
                elif df == DF_WS:
                    # WS: stationary filter block written bottom row first (reversed)
                    if t < R and R - 1 - t < ru:
                        k = fr * R + R - 1 - t
                        for c in range(cu):
                            idx = (fc * C + c) * K + k
                            if user_mode:
                                b_any = True
                                if not fl_allfit:
                                    b_off = _user_read(us_fl, fl_ptr, fl_sets, idx, cycle, b_off)
                            else:
                                if not b_any:
                                    b_any = True
                                    if cs_fl[C_FSEEN] == 0:
                                        cs_fl[C_FSEEN] = 1
                                        cs_fl[C_FREQ] = cycle
                                _calc_read(cs_fl, fl_last, idx, cycle)
                else:
                    lo = max(0, t - R - t_len + 1)
                    hi = min(ru - 1, t - R)
                    for r in range(lo, hi + 1):
                        idx = (t - r - R) * K + fr * R + r
                        if user_mode:
                            b_any = True
                            if not fl_allfit:
                                b_off = _user_read(us_fl, fl_ptr, fl_sets, idx, cycle, b_off)
                        else:
                            if not b_any:
                                b_any = True
                                if cs_fl[C_FSEEN] == 0:
                                    cs_fl[C_FSEEN] = 1
                                    cs_fl[C_FREQ] = cycle
                            _calc_read(cs_fl, fl_last, idx, cycle)
                # ---------------- ofmap demand row (only the count of writes matters)
                if df == DF_OS:
                    base = t - (t_len - 1)
                    lo = max(0, base - (R - 1))
                    hi = min(cu - 1, base - (R - ru))
                else:
                    base = t - (2 * R - 1)
                    lo = max(0, base - (t_len - 1))
                    hi = min(cu - 1, base)
                cur = cycle
                n_wr = hi - lo + 1
                for _ in range(n_wr):
                    cur, ring = _ofmap_write(wst, ring, cur)
                # ---------------- stalls: the whole array waits for the latest operand
                s = cur - cycle
                if user_mode:
                    s = max(a_off - 1, b_off - 1, s)
                stall += s
                a_cyc = cycle + a_off
                b_cyc = cycle + b_off
                if a_any:
                    if not have_if:
                        if_first = a_cyc
                        have_if = True
                    if_last_row = a_cyc
                if b_any:
                    if not have_fl:
                        fl_first = b_cyc
                        have_fl = True
                    fl_last_row = b_cyc
                if n_wr > 0:
                    if not have_of:
                        of_first = cur
                        have_of = True
                    of_last_row = cur
                c_last = cur
                row += 1

    # empty_all_buffers(last serviced ofmap cycle): flush the partial line, drain back to back
    if wst[W_LINEIDX] != 0:
        ring = _push_line(wst, ring, wst[W_LINEIDX])
        wst[W_LINEIDX] = 0
    cyc = c_last
    while wst[W_DLINES] < wst[W_NLINES]:
        e = _drain(wst, ring, cyc)
        wst[W_DEND] = e
        cyc = e + 1

    if user_mode:
        out[OUT_IF_DRAM_START] = us_if[U_DSTART]
        out[OUT_IF_DRAM_STOP] = us_if[U_LPC]
        out[OUT_IF_DRAM_READS] = us_if[U_ACCESS]
        out[OUT_FL_DRAM_START] = us_fl[U_DSTART]
        out[OUT_FL_DRAM_STOP] = us_fl[U_LPC]
        out[OUT_FL_DRAM_READS] = us_fl[U_ACCESS]
        out[OUT_IF_REFILLS] = us_if[U_REFILLS]
        out[OUT_FL_REFILLS] = us_fl[U_REFILLS]
    else:
        _calc_finish(cs_if)
        _calc_finish(cs_fl)
        out[OUT_IF_DRAM_START] = cs_if[C_DSTART]
        out[OUT_IF_DRAM_STOP] = cs_if[C_DSTOP]
        out[OUT_IF_DRAM_READS] = cs_if[C_ACCESS]
        out[OUT_FL_DRAM_START] = cs_fl[C_DSTART]
        out[OUT_FL_DRAM_STOP] = cs_fl[C_DSTOP]
        out[OUT_FL_DRAM_READS] = cs_fl[C_ACCESS]
    # "Total Cycles" quirk (the -1): max serviced ofmap cycle = 0-based index of the last row
    out[OUT_TOTAL_CYCLES] = c_last
    out[OUT_STALL] = stall
    out[OUT_IF_SRAM_START] = if_first
    out[OUT_IF_SRAM_STOP] = if_last_row
    out[OUT_FL_SRAM_START] = fl_first
    out[OUT_FL_SRAM_STOP] = fl_last_row
    out[OUT_OF_SRAM_START] = of_first
    out[OUT_OF_SRAM_STOP] = of_last_row
    out[OUT_OF_DRAM_START] = wst[W_DMIN]
    out[OUT_OF_DRAM_STOP] = wst[W_DMAX]
    out[OUT_OF_DRAM_WRITES] = wst[W_ACCESS]
    out[OUT_ROWS] = row
    out[OUT_FOLDS] = row_folds * col_folds
    return out, fout
