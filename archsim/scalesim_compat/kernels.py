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
* CALC counting shortcut (`calc_all_new`): when an operand's reuse distance exceeds one 50-set
  group, every access is provably a new booking, so only per-row counts are needed (exact; a
  test compares it with per-address booking). This makes a 2048^3 GEMM on 128x128 O(rows).
* OFMAP write buffer: line counters plus a ring of the valid-word counts of undrained lines;
  the writes of a demand row are applied in bulk between events (drain start, stall).

SCALE-Sim quirks reproduced (each is named again where it is implemented):
  the -1 in "Total Cycles" (simulate_layer, end); the double-counted prefetch deficit and the
  forward-only circular window with its backward-access pathology (USER miss path); whole-line
  DRAM read counting (USER miss path; initial fill in scalesim_compat/model.py); the CALC
  bookkeeping (_calc_group_done, _calc_finish); the ofmap drain's padding over-count (_drain);
  the WS/IS "Compute Util" denominator (simulate_layer); the OS ofmap-write over-count and the
  rounded-up ofmap size with invalid (-1) im2col entries (scalesim_compat/model.py).

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
from archsim.jit import njit

DF_OS, DF_WS, DF_IS = 0, 1, 2

# operand cases of the prefetch (fetch-order) matrices (scalesim_compat.model._prefetch_matrix)
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


IFMAP, FILTER = 0, 1        # row of the 2-row state arrays (us, cs) and of the row buffer


# --------------------------------------------------------------------------------------------
# USER mode: the fetch stream and its sets (read_buffer.set_fetch_matrix/prepare_hashed_buffer)
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def fetch_sets(pf, diag, elems_per_set, space):
    """CSR address-index -> set ids of SCALE-Sim's USER-mode fetch stream.

    `pf` is SCALE-Sim's prefetch matrix as address indices (-1 = padding/invalid): one pass over
    the operand in consumption order, padded to whole folds. It is rolled out along
    anti-diagonals (`diag`, SCALE-Sim's fix for its issues #15/#16: OS ifmap/filter, WS ifmap,
    IS filter) or row-major (WS filter, IS ifmap); the valid entries are cut into sets of
    `elems_per_set` (= ceil(S/100)) entries, duplicates counted (a conv ifmap address sits in
    several sets). Returns (ptr, sets, n_valid); the sets of index a are sets[ptr[a]:ptr[a+1]],
    ascending.
    """
    mp, npc = pf.shape
    ptr = np.zeros(space + 1, dtype=np.int64)
    n_valid = 0
    for i in range(mp):
        for j in range(npc):
            a = pf[i, j]
            if a >= 0:
                ptr[a + 1] += 1
                n_valid += 1
    for a in range(space):
        ptr[a + 1] += ptr[a]
    fill = ptr[:-1].copy()
    sets = np.empty(n_valid, dtype=np.int64)
    v = 0
    if diag:
        for d in range(mp + npc):
            max_row = min(d, mp - 1)
            min_row = max(0, d - npc + 1)
            for row in range(max_row, min_row - 1, -1):
                a = pf[row, d - row]
                if a >= 0:
                    sets[fill[a]] = v // elems_per_set
                    fill[a] += 1
                    v += 1
    else:
        for row in range(mp):
            for col in range(npc):
                a = pf[row, col]
                if a >= 0:
                    sets[fill[a]] = v // elems_per_set
                    fill[a] += 1
                    v += 1
    return ptr, sets, n_valid


# --------------------------------------------------------------------------------------------
# CALC mode read buffer bookkeeping (read_buffer_estimate_bw.py); never stalls.
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _calc_trace(cs, op, last_start, last_end):
    # prefetch(): one trace row per cycle in [last_start, last_end], served 1 cycle later
    if last_end - last_start + 1 > 0:
        if cs[op, C_HASTRACE] == 0:
            cs[op, C_DSTART] = last_start + 1
            cs[op, C_HASTRACE] = 1
        cs[op, C_DSTOP] = last_end + 1


@njit(cache=True)
def _calc_group_done(cs, op, cycle):
    """A 50-set group of new addresses is complete: book its DRAM transfer.

    CALC bookkeeping quirk: the first group books an up-front fill at 10 words/cycle ending 2
    cycles before the operand's first request; later groups are booked over the interval between
    the two previous group completions (bandwidth ceil(words / interval)). The window then jumps
    to the next group, so nothing booked earlier ever hits again."""
    e = cs[op, C_E]
    half = CALC_SETS_PER_HALF
    if cs[op, C_ADONE] == 0:
        last_end = cs[op, C_FREQ] - 2
        cycles = (half * e + CALC_DEFAULT_BW - 1) // CALC_DEFAULT_BW
        _calc_trace(cs, op, last_end - cycles + 1, last_end)
        cs[op, C_PFSTART] = cs[op, C_REND] + 1
        cs[op, C_ADONE] = 1
    else:
        last_end = cs[op, C_LEND]
        _calc_trace(cs, op, cs[op, C_LSTART], last_end)
        cs[op, C_PFSTART] += half
    cs[op, C_ACCESS] += half * e
    cs[op, C_RSTART] += half
    cs[op, C_REND] += half
    cs[op, C_LSTART] = last_end + 1
    cs[op, C_LEND] = cycle


@njit(cache=True)
def _calc_finish(cs, op):
    """complete_all_prefetches(): book the last (partial) group."""
    e = cs[op, C_E]
    cur = cs[op, C_CUR]
    ecur = cs[op, C_ECUR]
    cur_eff = cur if ecur > 0 else cur - 1      # an empty current set is dropped
    if cs[op, C_ADONE] == 0:
        cycles = ((cur_eff + 1) * e + CALC_DEFAULT_BW - 1) // CALC_DEFAULT_BW
        last_end = -2
        _calc_trace(cs, op, last_end - cycles + 1, last_end)
        cs[op, C_ACCESS] += cur * e + ecur
    else:
        _calc_trace(cs, op, cs[op, C_LSTART], cs[op, C_LEND])
        cs[op, C_ACCESS] += (cur - cs[op, C_PFSTART]) * e + ecur


# --------------------------------------------------------------------------------------------
# OFMAP write buffer (write_buffer.py): ring of valid-word counts of undrained lines
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _grow_ring(ws, ring):
    cap = ws[W_CAP]
    new_cap = 2 * cap
    new = np.empty(new_cap, dtype=np.int64)
    for line in range(ws[W_DLINES], ws[W_NLINES]):
        new[line % new_cap] = ring[line % cap]
    ws[W_CAP] = new_cap
    return new


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
    ws[W_FREE] += data      # credited back when the drain is scheduled
    ws[W_DLINES] += n
    return end


@njit(cache=True)
def _push_full_lines(ws, ring, count, valid):
    """Append `count` lines of `valid` words (slice writes: O(1) Python steps when a kernel
    runs interpreted, see archsim.scalesim_compat.calc)."""
    if count <= 0:
        return ring
    while ws[W_NLINES] - ws[W_DLINES] + count > ws[W_CAP]:
        ring = _grow_ring(ws, ring)
    cap = ws[W_CAP]
    start = ws[W_NLINES] % cap
    first = min(count, cap - start)
    ring[start:start + first] = valid
    if count > first:
        ring[0:count - first] = valid
    ws[W_NLINES] += count
    return ring


@njit(cache=True)
def _store(ws, ring, j):
    """j valid writes into the active buffer: free slots -j, full lines appended to the trace."""
    bw = ws[W_BW]
    ws[W_FREE] -= j
    filled = ws[W_LINEIDX] + j
    ring = _push_full_lines(ws, ring, filled // bw, bw)
    ws[W_LINEIDX] = filled % bw
    return ring


@njit(cache=True)
def _ofmap_writes(ws, ring, n_wr, cur):
    """write_buffer.service_writes for one demand row of `n_wr` valid writes issued at `cur`;
    returns (serviced cycle, ring). Runs of writes between two events (a drain start, a stall)
    are applied in bulk; the per-write order of checks is SCALE-Sim's:
      store; if cur < drain_end: stall to drain_end when no slot is free
             elif free < active: flush the partial line, start a drain at cur."""
    left = n_wr
    while left > 0:
        if cur < ws[W_DEND]:
            j = max(1, ws[W_FREE])          # writes until free <= 0
            if left < j:
                ring = _store(ws, ring, left)
                return cur, ring
            ring = _store(ws, ring, j)
            left -= j
            cur = ws[W_DEND]                # no free slot while draining: wait for the drain
        else:
            j = max(1, ws[W_FREE] - ws[W_ACTIVE] + 1)   # writes until free < active
            if left < j:
                ring = _store(ws, ring, left)
                return cur, ring
            ring = _store(ws, ring, j)
            left -= j
            if ws[W_LINEIDX] != 0:          # append_to_trace_mat(force=True)
                ring = _push_full_lines(ws, ring, 1, ws[W_LINEIDX])
                ws[W_LINEIDX] = 0
            ws[W_DEND] = _drain(ws, ring, cur)
    return cur, ring


# --------------------------------------------------------------------------------------------
# The layer: folds x demand rows x valid entries
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def simulate_layer(df, R, C, M, N, K,
                   m_base, m_irow, m_icol, k_off, k_crow, k_ccol, ifm_h, ifm_w, all_valid,
                   user_mode, fl_base, us, ptr, sets, cs, last, calc_stream, wst, ring):
    """Run SCALE-Sim's service_memory_requests over the layer's demand rows.

    Operand address indices: ifmap = address - IfmapOffset (im2col from the per-pixel `m_*` and
    per-window-position `k_*` parts, -1 where SCALE-Sim marks the element invalid), filter =
    `fl_base` + n*K + k. `us` (USER) / `cs` (CALC) hold the ifmap (row 0) and filter (row 1)
    read-buffer states; `ptr`/`sets` (USER) and `last` (CALC, last set id per index, -1 =
    never) span both operands; `calc_stream[op]` says every CALC access of the operand is a
    first touch in its group (see `calc_all_new`), so only counts are needed. `wst`/`ring`:
    OFMAP write buffer. All are initialised by the
    caller and updated in place. Returns (out int64[N_OUT], fout float64[2]).
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
    buf = np.empty((2, max(R, C)), dtype=np.int64)
    bw_o = wst[W_BW]
    # per-address work only where the state depends on the addresses themselves
    if user_mode:
        fill_if = us[IFMAP, U_ALLFIT] == 0
        fill_fl = us[FILTER, U_ALLFIT] == 0
    else:
        fill_if = not calc_stream[IFMAP]
        fill_fl = not calc_stream[FILTER]
    fill_if = fill_if or not all_valid      # counting invalid im2col entries needs the addresses

    row = 0
    stall = 0
    c_last = 0
    first_cyc = np.full(3, -1, dtype=np.int64)
    last_cyc = np.full(3, -1, dtype=np.int64)
    have = np.zeros(3, dtype=np.bool_)
    for fc in range(col_folds):
        cu = min(C, s_c - fc * C)
        for fr in range(row_folds):
            ru = min(R, s_r - fr * R)
            used = ru * cu
            fout[FOUT_MAP_EFF_SUM] += used / rc
            fout[FOUT_COMP_UTIL_SUM] += (used * t_len) / (rc * util_len)
            for t in range(fold_len):
                cycle = row + stall
                # ---- this cycle's demand row: valid ifmap (buf[0]) and filter (buf[1]) indices
                n0 = 0
                n1 = 0
                if df == DF_OS:
                    # ifmap: row fold's R pixels x K window, skewed over the R array rows
                    lo = max(0, t - t_len + 1)
                    hi = min(ru - 1, t)
                    if fill_if:
                        for r in range(lo, hi + 1):
                            m = fr * R + r
                            k = t - r
                            if all_valid or (m_irow[m] + k_crow[k] < ifm_h and m_icol[m] + k_ccol[k] < ifm_w):
                                buf[0, n0] = m_base[m] + k_off[k]
                                n0 += 1
                    else:
                        n0 = max(0, hi - lo + 1)
                    # filter: K x C block, skewed over the C columns
                    lo = max(0, t - t_len + 1)
                    hi = min(cu - 1, t)
                    if fill_fl:
                        for c in range(lo, hi + 1):
                            buf[1, n1] = fl_base + (fc * C + c) * K + (t - c)
                            n1 += 1
                    else:
                        n1 = max(0, hi - lo + 1)
                elif df == DF_WS:
                    # ifmap: R empty rows (weight load), M rows, skewed over the R rows
                    lo = max(0, t - R - t_len + 1)
                    hi = min(ru - 1, t - R)
                    if fill_if:
                        for r in range(lo, hi + 1):
                            m = t - r - R
                            k = fr * R + r
                            if all_valid or (m_irow[m] + k_crow[k] < ifm_h and m_icol[m] + k_ccol[k] < ifm_w):
                                buf[0, n0] = m_base[m] + k_off[k]
                                n0 += 1
                    else:
                        n0 = max(0, hi - lo + 1)
                    # filter: stationary R x C block, bottom row first (reversed), not skewed
                    if t < R and R - 1 - t < ru:
                        if fill_fl:
                            k = fr * R + R - 1 - t
                            for c in range(cu):
                                buf[1, n1] = fl_base + (fc * C + c) * K + k
                                n1 += 1
                        else:
                            n1 = cu
                else:
                    # IS ifmap: stationary R x C block (window x pixels), bottom row first
                    if t < R and R - 1 - t < ru:
                        if fill_if:
                            k = fr * R + R - 1 - t
                            for c in range(cu):
                                m = fc * C + c
                                if all_valid or (m_irow[m] + k_crow[k] < ifm_h and m_icol[m] + k_ccol[k] < ifm_w):
                                    buf[0, n0] = m_base[m] + k_off[k]
                                    n0 += 1
                        else:
                            n0 = cu
                    # IS filter: R empty rows, N rows, skewed over the R rows
                    lo = max(0, t - R - t_len + 1)
                    hi = min(ru - 1, t - R)
                    if fill_fl:
                        for r in range(lo, hi + 1):
                            buf[1, n1] = fl_base + (t - r - R) * K + fr * R + r
                            n1 += 1
                    else:
                        n1 = max(0, hi - lo + 1)
                # ---- serve the two read buffers
                a_off = 1
                b_off = 1
                for op in range(2):
                    n = n0 if op == IFMAP else n1
                    if n == 0:
                        continue
                    off = 1
                    if user_mode:
                        if us[op, U_ALLFIT] == 0:
                            ns = us[op, U_NS]
                            a0 = us[op, U_A0]
                            a1 = us[op, U_A1]
                            for j in range(n):
                                idx = buf[op, j]
                                lo = ptr[idx]
                                hi = ptr[idx + 1]
                                if lo == hi:
                                    raise ValueError("address not in the operand's fetch stream")
                                while True:
                                    hit = False
                                    for q in range(lo, hi):
                                        s = sets[q]
                                        if a0 < a1:
                                            if s >= a0 and s < a1:
                                                hit = True
                                                break
                                        elif s >= a0 or s < a1:
                                            hit = True
                                            break
                                    if hit:
                                        break
                                    # Miss -> new_prefetch(): the window only moves forward
                                    # (circularly). Backward-access pathology (scalesim.md
                                    # 6.1.6): an address behind the window costs a full trip
                                    # round the circular buffer, one refill per step.
                                    a0 = (a0 + us[op, U_NP]) % ns
                                    a1 = (a0 + us[op, U_NA]) % ns
                                    # One DRAM queue running since the initial fill: ceil(P/B)
                                    # requests back to back after the previous refill, served
                                    # 1 cycle later, whatever the current cycle.
                                    us[op, U_LPC] += us[op, U_NREF] + 1
                                    # Whole-line DRAM counting quirk: B words per line.
                                    us[op, U_ACCESS] += us[op, U_NREF] * us[op, U_BW]
                                    us[op, U_REFILLS] += 1
                                    p = us[op, U_LPC] - (cycle + off)
                                    off += p
                                    # Double-counted prefetch deficit quirk (SCALE-Sim issue
                                    # #130): a positive deficit is added twice, a negative one
                                    # pulls the offset back.
                                    if p > 0:
                                        off += p
                            us[op, U_A0] = a0
                            us[op, U_A1] = a1
                    else:
                        if cs[op, C_FSEEN] == 0:
                            cs[op, C_FSEEN] = 1
                            cs[op, C_FREQ] = cycle
                        # Hit iff booked in the current 50-set group: right after a group
                        # completes SCALE-Sim's window [read_start, min(cur, read_end + 1)) is
                        # empty, so addresses of older groups are booked again.
                        e = cs[op, C_E]
                        cur_set = cs[op, C_CUR]
                        ecur = cs[op, C_ECUR]
                        rend = cs[op, C_REND]
                        if calc_stream[op]:
                            # Every access is a first touch in the current group (checked by the
                            # caller from the operand's reuse distance), so the row books n
                            # addresses; set/group completions happen exactly as in the
                            # per-address loop since all share this cycle.
                            ecur += n
                            if e > 0:
                                while ecur >= e:
                                    ecur -= e
                                    cur_set += 1
                                    if cur_set == rend + 1:
                                        cs[op, C_CUR] = cur_set
                                        _calc_group_done(cs, op, cycle)
                                        rend = cs[op, C_REND]
                        else:
                            rstart = cs[op, C_RSTART]
                            for j in range(n):
                                idx = buf[op, j]
                                if last[idx] >= rstart:
                                    continue
                                last[idx] = cur_set
                                ecur += 1
                                if ecur == e:
                                    cur_set += 1
                                    ecur = 0
                                    if cur_set == rend + 1:
                                        cs[op, C_CUR] = cur_set
                                        _calc_group_done(cs, op, cycle)
                                        rstart = cs[op, C_RSTART]
                                        rend = cs[op, C_REND]
                        cs[op, C_CUR] = cur_set
                        cs[op, C_ECUR] = ecur
                    if op == IFMAP:
                        a_off = off
                    else:
                        b_off = off
                # ---- ofmap demand row: only the number of writes matters
                if df == DF_OS:
                    # (K-1) empty rows, then the R x C outputs bottom row first, skewed over C
                    base = t - (t_len - 1)
                    lo = max(0, base - (R - 1))
                    hi = min(cu - 1, base - (R - ru))
                else:
                    # (2R-1) empty rows, then T rows, skewed over C
                    base = t - (2 * R - 1)
                    lo = max(0, base - (t_len - 1))
                    hi = min(cu - 1, base)
                n_wr = hi - lo + 1
                cur = cycle
                if n_wr > 0:
                    cur, ring = _ofmap_writes(wst, ring, n_wr, cur)
                # ---- stalls: the whole array waits for the latest operand
                s = cur - cycle
                if user_mode:
                    s = max(a_off - 1, b_off - 1, s)
                stall += s
                if n0 > 0:
                    if not have[0]:
                        have[0] = True
                        first_cyc[0] = cycle + a_off
                    last_cyc[0] = cycle + a_off
                if n1 > 0:
                    if not have[1]:
                        have[1] = True
                        first_cyc[1] = cycle + b_off
                    last_cyc[1] = cycle + b_off
                if n_wr > 0:
                    if not have[2]:
                        have[2] = True
                        first_cyc[2] = cur
                    last_cyc[2] = cur
                c_last = cur
                row += 1

    # empty_all_buffers(last serviced ofmap cycle): flush the partial line, drain back to back
    if wst[W_LINEIDX] != 0:
        if wst[W_NLINES] - wst[W_DLINES] == wst[W_CAP]:
            ring = _grow_ring(wst, ring)
        ring[wst[W_NLINES] % wst[W_CAP]] = wst[W_LINEIDX]
        wst[W_NLINES] += 1
        wst[W_LINEIDX] = 0
    cyc = c_last
    while wst[W_DLINES] < wst[W_NLINES]:
        e = _drain(wst, ring, cyc)
        wst[W_DEND] = e
        cyc = e + 1

    if user_mode:
        out[OUT_IF_DRAM_START] = us[IFMAP, U_DSTART]
        out[OUT_IF_DRAM_STOP] = us[IFMAP, U_LPC]
        out[OUT_IF_DRAM_READS] = us[IFMAP, U_ACCESS]
        out[OUT_FL_DRAM_START] = us[FILTER, U_DSTART]
        out[OUT_FL_DRAM_STOP] = us[FILTER, U_LPC]
        out[OUT_FL_DRAM_READS] = us[FILTER, U_ACCESS]
        out[OUT_IF_REFILLS] = us[IFMAP, U_REFILLS]
        out[OUT_FL_REFILLS] = us[FILTER, U_REFILLS]
    else:
        _calc_finish(cs, IFMAP)
        _calc_finish(cs, FILTER)
        out[OUT_IF_DRAM_START] = cs[IFMAP, C_DSTART]
        out[OUT_IF_DRAM_STOP] = cs[IFMAP, C_DSTOP]
        out[OUT_IF_DRAM_READS] = cs[IFMAP, C_ACCESS]
        out[OUT_FL_DRAM_START] = cs[FILTER, C_DSTART]
        out[OUT_FL_DRAM_STOP] = cs[FILTER, C_DSTOP]
        out[OUT_FL_DRAM_READS] = cs[FILTER, C_ACCESS]
    # "Total Cycles" quirk (the -1): the max serviced ofmap cycle, i.e. the 0-based index of
    # the last demand row (plus stalls)
    out[OUT_TOTAL_CYCLES] = c_last
    out[OUT_STALL] = stall
    out[OUT_IF_SRAM_START] = first_cyc[0]
    out[OUT_IF_SRAM_STOP] = last_cyc[0]
    out[OUT_FL_SRAM_START] = first_cyc[1]
    out[OUT_FL_SRAM_STOP] = last_cyc[1]
    out[OUT_OF_SRAM_START] = first_cyc[2]
    out[OUT_OF_SRAM_STOP] = last_cyc[2]
    out[OUT_OF_DRAM_START] = wst[W_DMIN]
    out[OUT_OF_DRAM_STOP] = wst[W_DMAX]
    out[OUT_OF_DRAM_WRITES] = wst[W_ACCESS]
    out[OUT_ROWS] = row
    out[OUT_FOLDS] = row_folds * col_folds
    return out, fout


def calc_all_new(df, operand, R, C, M, N, K, words, distinct):
    """True when, in CALC mode, every access of `operand` (IFMAP/FILTER) is a first touch in its
    50-set group, so the per-address bookkeeping reduces to counting (exact, not approximate).

    Argument: in every dataflow an operand address is accessed at most once per fold, and its
    accesses recur once per pass over the folds that touch it, at the same relative position;
    with `distinct` addresses (no im2col overlap) the accesses between two touches of one address
    number (operand accesses per pass) - 1. If that is >= one group (50 * floor(S/100)
    bookings), a group boundary always falls in between, so the address is booked again; by
    induction every access is a booking. Operands touched once (WS filter, IS ifmap, or a single
    pass) are trivially always new.
    """
    e = words // 100
    if e < 1 or not distinct:
        return False
    group = CALC_SETS_PER_HALF * e
    if df == DF_OS:
        if operand == IFMAP:
            reuse, dist = (N + C - 1) // C > 1, M * K
        else:
            cu_min = N - ((N + C - 1) // C - 1) * C
            reuse, dist = (M + R - 1) // R > 1, K * cu_min
    elif df == DF_WS:
        if operand == IFMAP:
            reuse, dist = (N + C - 1) // C > 1, M * K
        else:
            reuse, dist = False, 0
    else:
        if operand == IFMAP:
            reuse, dist = False, 0
        else:
            reuse, dist = (M + C - 1) // C > 1, K * N
    return (not reuse) or dist - 1 >= group
