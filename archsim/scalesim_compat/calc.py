"""SCALE-Sim 3.0.0 CALC mode without a JIT: the same numbers as `kernels.simulate_layer`, from
numpy over whole folds plus a short Python loop over events.

Why: `archsim scalesim` on one layer should not pay numba's start-up (~0.45 s of import, target
initialisation and cache loads) for milliseconds of model. In CALC mode the read buffers never
stall and the only stalls come from the OFMAP write buffer, so the layer splits into three
independent passes, each cheap without a compiler:

1. **Demand rows as counts.** Per fold type (full/partial row and column fold) the number of
   valid ifmap, filter and ofmap entries of every demand row is a closed form of the row index
   (the skews of `systolic_compute_{os,ws,is}.py`); a layer's rows are those templates tiled.
2. **OFMAP write buffer** (`write_buffer.py`): its state changes only at events (a drain
   starts; a row waits for a drain). Between events the writes of many rows are one bulk store
   (storing a then b = storing a+b); the event row is found with a search over the cumulative
   write count and run through the kernel's own `_ofmap_writes`, interpreted. This yields the
   stall of every row, hence every row's cycle.
3. **CALC read bookkeeping** (`read_buffer_estimate_bw.py`): an access books a DRAM transfer iff
   its address was not booked in the current 50-set group. With the counting shortcut
   (`kernels.calc_all_new`) group completions sit where the cumulative count crosses a multiple
   of the group size; otherwise the access stream is generated fold by fold (im2col addresses,
   invalid entries dropped) and each group's completing access is found from first occurrences
   since the group began (a vectorised pass per window, O(accesses) overall). Completions are
   booked by the kernel's own `_calc_group_done` / `_calc_finish`, interpreted.

The kernel helpers run through `archsim.jit.interpreted` (plain Python, same integer
arithmetic), so the bookkeeping rules live in one place. tests/test_scalesim_calc.py checks this
path against `kernels.simulate_layer` on random layers, configs and buffer sizes.

Only numpy is used: importing this module loads no compiler.
"""
from __future__ import annotations

import numpy as np

from archsim import jit
from archsim.scalesim_compat import kernels as K_

_WINDOW_MIN = 1 << 14           # accesses examined at once when looking for a group's end


def _geometry(df, R, C, M, N, K):
    """(S_R, S_C, T, demand rows per fold, the Compute Util denominator's rows)."""
    if df == K_.DF_OS:
        return M, N, K, K + R + C - 2, K + R + C - 2
    s_r, s_c, t_len = (K, N, M) if df == K_.DF_WS else (K, M, N)
    fold_len = 2 * R + C + t_len - 2
    return s_r, s_c, t_len, fold_len, fold_len + C - 1     # the WS/IS Compute Util quirk


def _span(lo, hi):
    return np.maximum(hi - lo + 1, 0)


def _row_templates(df, R, C, t_len, fold_len, ru, cu):
    """Valid ifmap, filter and ofmap entries of each demand row of one fold (all addresses
    valid), as in `kernels.simulate_layer`."""
    t = np.arange(fold_len, dtype=np.int64)
    if df == K_.DF_OS:
        lo = np.maximum(0, t - t_len + 1)
        n0 = _span(lo, np.minimum(ru - 1, t))
        n1 = _span(lo, np.minimum(cu - 1, t))
        base = t - (t_len - 1)
        nw = _span(np.maximum(0, base - (R - 1)), np.minimum(cu - 1, base - (R - ru)))
    else:
        lo = np.maximum(0, t - R - t_len + 1)
        skew = _span(lo, np.minimum(ru - 1, t - R))
        stationary = np.where((t < R) & (R - 1 - t < ru), cu, 0)
        n0, n1 = (skew, stationary) if df == K_.DF_WS else (stationary, skew)
        base = t - (2 * R - 1)
        nw = _span(np.maximum(0, base - (t_len - 1)), np.minimum(cu - 1, base))
    return n0, n1, nw


class _Folds:
    """The layer's folds in order (column fold outer, row fold inner)."""

    def __init__(self, R, C, s_r, s_c, fold_len):
        self.row_folds = -(-s_r // R)
        self.col_folds = -(-s_c // C)
        self.n = self.row_folds * self.col_folds
        f = np.arange(self.n, dtype=np.int64)
        self.fc, self.fr = np.divmod(f, self.row_folds)
        self.ru = np.minimum(R, s_r - self.fr * R)
        self.cu = np.minimum(C, s_c - self.fc * C)
        self.fold_len = fold_len
        self.rows = self.n * fold_len


def _per_row(templates, folds):
    """Tile per-fold-type templates to the layer's demand rows: dict (ru, cu) -> array."""
    keys, code = np.unique(np.stack([folds.ru, folds.cu], axis=1), axis=0, return_inverse=True)
    stack = np.stack([templates[(int(ru), int(cu))] for ru, cu in keys])
    return stack[code.reshape(-1)].reshape(-1)


class _Stream:
    """Per-address request stream of one operand, fold by fold, in SCALE-Sim's order (demand
    row, then position in the row). A fold's stream is a per-fold-type template (coordinates
    of the valid grid entries, the parts of the address that do not depend on the fold
    precomputed) plus the fold's offsets; folds that see the same operand block (e.g. WS
    ifmap: every column fold of a row fold) reuse it."""

    _CACHE_ELEMS = 1 << 22

    def __init__(self, df, op, R, C, M, N, K, idx, folds, space):
        self.df, self.op, self.R, self.C, self.M, self.N, self.K = df, op, R, C, M, N, K
        self.idx = idx
        self.folds = folds
        self.stationary = ((df == K_.DF_WS and op == K_.FILTER) or (df == K_.DF_IS and op == K_.IFMAP))
        self.space = space                      # operand addresses are below this
        self.dtype = np.int32 if space < 2 ** 31 else np.int64
        self._templates = {}
        self._cache = {}
        self._cached = 0

    def _template(self, u, ru):
        """(row in the fold, b, a) of the valid grid entries, for `u` used positions per row
        (stationary blocks: `ru` used rows, a = R-1-t)."""
        key = (u, ru)
        tp = self._templates.get(key)
        if tp is not None:
            return tp
        R, K = self.R, self.K
        if self.stationary:
            t = np.arange(R - ru, R, dtype=np.int64)
            tt = np.repeat(t, u)
            b = np.tile(np.arange(u, dtype=np.int64), ru)
            a = R - 1 - tt
        else:
            adim = K if self.df == K_.DF_OS else (self.M if self.df == K_.DF_WS else self.N)
            t0 = 0 if self.df == K_.DF_OS else R
            d = np.arange(adim + u - 1, dtype=np.int64)[:, None]
            bb = np.arange(u, dtype=np.int64)[None, :]
            aa = d - bb
            ok = (aa >= 0) & (aa < adim)
            tt = np.broadcast_to(d + t0, ok.shape)[ok]
            b = np.broadcast_to(bb, ok.shape)[ok]
            a = aa[ok]
        tp = self._templates[key] = (tt, b, a, self._fixed_part(b, a))
        return tp

    def _fixed_part(self, b, a):
        """The fold-independent part of the address (or of the im2col coordinates)."""
        df, op, K = self.df, self.op, self.K
        m_base, m_irow, m_icol, k_off, k_crow, k_ccol = self.idx[:6]
        if op == K_.FILTER:
            if df == K_.DF_IS:
                return a * K + b                   # n = a, k = fr*R + b
            return b * K + a                       # OS: k = a; WS: k = fr*R + (R-1-t)
        if df == K_.DF_OS:                         # m = fr*R + b, k = a
            return k_off[a], k_crow[a], k_ccol[a]
        if df == K_.DF_WS:                         # m = a, k = fr*R + b
            return m_base[a], m_irow[a], m_icol[a]
        return None                                # IS ifmap: both parts depend on the fold

    def _key(self, f):
        fo = self.folds
        fr, fc = int(fo.fr[f]), int(fo.fc[f])
        if self.op == K_.FILTER:
            return (fr, fc) if self.df == K_.DF_WS else ((fc,) if self.df == K_.DF_OS else (fr,))
        return (fr, fc) if self.df == K_.DF_IS else (fr,)

    def fold(self, f):
        """(row within the fold, address) of fold f's valid requests, in order, and the
        requests per demand row."""
        key = self._key(f)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        trow, addr = self._build(f)
        res = (trow, addr, np.bincount(trow, minlength=self.folds.fold_len))
        if self._cached + res[1].size > self._CACHE_ELEMS:
            self._cache.clear()
            self._cached = 0
        self._cache[key] = res
        self._cached += res[1].size
        return res

    def _build(self, f):
        df, op, R, C, K = self.df, self.op, self.R, self.C, self.K
        fo = self.folds
        fr, fc, ru, cu = int(fo.fr[f]), int(fo.fc[f]), int(fo.ru[f]), int(fo.cu[f])
        if self.stationary:
            tt, b, a, fx = self._template(cu, ru)
        elif df == K_.DF_OS:
            tt, b, a, fx = self._template(ru if op == K_.IFMAP else cu, 0)
        else:
            tt, b, a, fx = self._template(ru, 0)
        if op == K_.FILTER:
            off = fr * R if df == K_.DF_IS else (fc * C * K + (fr * R if df == K_.DF_WS else 0))
            return tt, (fx + off).astype(self.dtype, copy=False)
        m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid, ifm_h, ifm_w = self.idx
        if df == K_.DF_OS:
            sl = slice(fr * R, fr * R + ru)
            kpart, kr, kc = fx
            addr = m_base[sl][b] + kpart
            ok = None if all_valid else ((m_irow[sl][b] + kr < ifm_h) & (m_icol[sl][b] + kc < ifm_w))
        elif df == K_.DF_WS:
            sl = slice(fr * R, fr * R + ru)
            mpart, mr, mc = fx
            addr = mpart + k_off[sl][b]
            ok = None if all_valid else ((mr + k_crow[sl][b] < ifm_h) & (mc + k_ccol[sl][b] < ifm_w))
        else:                                       # IS: m = fc*C + b, k = fr*R + a
            m = fc * C + b
            k = fr * R + a
            addr = m_base[m] + k_off[k]
            ok = None if all_valid else ((m_irow[m] + k_crow[k] < ifm_h) & (m_icol[m] + k_ccol[k] < ifm_w))
        if ok is not None:
            return tt[ok], addr[ok].astype(self.dtype, copy=False)
        return tt, addr.astype(self.dtype, copy=False)


def _book_per_address(stream, e):
    """Rows of the requests that complete a 50-set group, the number of bookings, and the
    valid requests per demand row (per-address bookkeeping)."""
    group = K_.CALC_SETS_PER_HALF * e if e > 0 else None
    dt = stream.dtype
    stamp = np.full(stream.space, -1, dtype=dt)     # group in which the address was last booked
    mark = np.empty(stream.space, dtype=dt)
    pos_all = np.arange(max(_WINDOW_MIN, 4 * group if group else 0) + 1, dtype=dt)
    g = 0
    in_group = 0
    booked = 0
    done_rows = []
    fo = stream.folds
    n_row = np.zeros(fo.rows, dtype=np.int64)
    per_booking = 4.0                       # requests per booking, as last seen: sizes windows
    for f in range(fo.n):
        trow, addrs, counts = stream.fold(f)
        base = f * fo.fold_len
        n_row[base:base + fo.fold_len] = counts
        p, n = 0, addrs.size
        while p < n:
            need = group - in_group if group else n + 1
            end = min(n, p + max(_WINDOW_MIN, int(need * per_booking * 1.125)))
            seg = addrs[p:end]
            if pos_all.size < seg.size:
                pos_all = np.arange(seg.size, dtype=dt)
            pos = pos_all[:seg.size]
            # first occurrence in the window: a repeated index keeps the last value assigned,
            # so assigning in reverse leaves each address's first position
            mark[seg[::-1]] = pos[::-1]
            new = mark[seg] == pos
            new &= stamp[seg] != g
            cum = np.cumsum(new, dtype=np.int64)
            got = int(cum[-1]) if cum.size else 0
            if got:
                per_booking = max(1.0, seg.size / got)
            if got < need:
                stamp[seg[new]] = g
                in_group += got
                booked += got
                p = end
                continue
            q = int(np.searchsorted(cum, need))             # the request that completes the group
            stamp[seg[:q + 1][new[:q + 1]]] = g
            booked += need
            done_rows.append(base + int(trow[p + q]))
            g += 1
            in_group = 0
            p += q + 1
    return done_rows, booked, n_row


def _book_counts(n_row, e):
    """Counting shortcut: every request books; groups end where the count crosses k * group."""
    cum = np.cumsum(n_row)
    booked = int(cum[-1]) if cum.size else 0
    if e <= 0:
        return [], booked
    group = K_.CALC_SETS_PER_HALF * e
    marks = np.arange(1, booked // group + 1, dtype=np.int64) * group
    return np.searchsorted(cum, marks).tolist(), booked


def simulate_layer_calc(df, R, C, M, N, K, m_base, m_irow, m_icol, k_off, k_crow, k_ccol,
                        ifm_h, ifm_w, all_valid, if_space, cs, calc_stream, wst, ring):
    """`kernels.simulate_layer` for CALC mode (user_mode False): same arguments (less the USER
    state), same (out int64[N_OUT], fout float64[2])."""
    s_r, s_c, t_len, fold_len, util_len = _geometry(df, R, C, M, N, K)
    folds = _Folds(R, C, s_r, s_c, fold_len)
    kinds = {(ru, cu): _row_templates(df, R, C, t_len, fold_len, ru, cu)
             for ru, cu in set(zip(folds.ru.tolist(), folds.cu.tolist()))}
    n_wr = _per_row({k: v[2] for k, v in kinds.items()}, folds)
    idx = (m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid, ifm_h, ifm_w)
    fl_space = K * N

    with jit.interpreted():
        # ---- OFMAP write buffer: events only
        ev_rows, ev_stall, ring = _write_buffer(wst, ring, n_wr)
        ev_rows = np.asarray(ev_rows, dtype=np.int64)
        ev_cum = np.cumsum(np.asarray(ev_stall, dtype=np.int64))
        total_stall = int(ev_cum[-1]) if ev_cum.size else 0

        def cycle(row):            # row + stalls of earlier rows
            i = int(np.searchsorted(ev_rows, row))
            return row + (int(ev_cum[i - 1]) if i else 0)

        def cur(row):              # the serviced cycle of a row: its own stall included
            i = int(np.searchsorted(ev_rows, row, side="right"))
            return row + (int(ev_cum[i - 1]) if i else 0)

        # ---- read buffers
        first = [-1, -1, -1]
        last = [-1, -1, -1]
        for op, space in ((K_.IFMAP, if_space), (K_.FILTER, fl_space)):
            e = int(cs[op, K_.C_E])
            fill = (not calc_stream[op]) or (op == K_.IFMAP and not all_valid)
            if fill:
                stream = _Stream(df, op, R, C, M, N, K, idx, folds, space)
                done_rows, booked, n_row = _book_per_address(stream, e)
            else:
                n_row = _per_row({k: v[op] for k, v in kinds.items()}, folds)
                done_rows, booked = _book_counts(n_row, e)
            nz = np.flatnonzero(n_row)
            if nz.size == 0:
                continue
            first[op] = cycle(int(nz[0])) + 1            # CALC reads are served 1 cycle later
            last[op] = cycle(int(nz[-1])) + 1
            cs[op, K_.C_FSEEN] = 1
            cs[op, K_.C_FREQ] = cycle(int(nz[0]))
            for row in done_rows:
                K_._calc_group_done(cs, op, cycle(row))
            if e > 0:
                cs[op, K_.C_CUR], cs[op, K_.C_ECUR] = divmod(booked, e)
            else:
                cs[op, K_.C_CUR], cs[op, K_.C_ECUR] = 0, booked
        nz = np.flatnonzero(n_wr)
        if nz.size:
            first[2], last[2] = cur(int(nz[0])), cur(int(nz[-1]))
        c_last = folds.rows - 1 + total_stall

        # ---- empty_all_buffers: flush the partial line, drain back to back
        if wst[K_.W_LINEIDX] != 0:
            ring = K_._push_full_lines(wst, ring, 1, wst[K_.W_LINEIDX])
            wst[K_.W_LINEIDX] = 0
        cyc = c_last
        while wst[K_.W_DLINES] < wst[K_.W_NLINES]:
            end = K_._drain(wst, ring, cyc)
            wst[K_.W_DEND] = end
            cyc = end + 1
        K_._calc_finish(cs, K_.IFMAP)
        K_._calc_finish(cs, K_.FILTER)

    out = np.zeros(K_.N_OUT, dtype=np.int64)
    out[K_.OUT_IF_DRAM_START] = cs[K_.IFMAP, K_.C_DSTART]
    out[K_.OUT_IF_DRAM_STOP] = cs[K_.IFMAP, K_.C_DSTOP]
    out[K_.OUT_IF_DRAM_READS] = cs[K_.IFMAP, K_.C_ACCESS]
    out[K_.OUT_FL_DRAM_START] = cs[K_.FILTER, K_.C_DSTART]
    out[K_.OUT_FL_DRAM_STOP] = cs[K_.FILTER, K_.C_DSTOP]
    out[K_.OUT_FL_DRAM_READS] = cs[K_.FILTER, K_.C_ACCESS]
    out[K_.OUT_TOTAL_CYCLES] = c_last
    out[K_.OUT_STALL] = total_stall
    out[K_.OUT_IF_SRAM_START], out[K_.OUT_IF_SRAM_STOP] = first[0], last[0]
    out[K_.OUT_FL_SRAM_START], out[K_.OUT_FL_SRAM_STOP] = first[1], last[1]
    out[K_.OUT_OF_SRAM_START], out[K_.OUT_OF_SRAM_STOP] = first[2], last[2]
    out[K_.OUT_OF_DRAM_START] = wst[K_.W_DMIN]
    out[K_.OUT_OF_DRAM_STOP] = wst[K_.W_DMAX]
    out[K_.OUT_OF_DRAM_WRITES] = wst[K_.W_ACCESS]
    out[K_.OUT_ROWS] = folds.rows
    out[K_.OUT_FOLDS] = folds.n
    # per-fold utilisation sums, accumulated left to right as the kernel does (bit-identical)
    used = folds.ru * folds.cu
    fout = np.zeros(2, dtype=np.float64)
    if folds.n:
        fout[K_.FOUT_MAP_EFF_SUM] = np.cumsum(used / (R * C))[-1]
        fout[K_.FOUT_COMP_UTIL_SUM] = np.cumsum((used * t_len) / (R * C * util_len))[-1]
    return out, fout


def _write_buffer(wst, ring, n_wr):
    """Run `write_buffer.service_writes` over the demand rows; returns the rows that stalled,
    their stalls, and the ring. Rows between events are one bulk `_store`."""
    cumw = np.cumsum(n_wr)
    nrows = n_wr.size
    ev_rows, ev_stall = [], []
    pos = 0
    stall = 0
    done_w = 0                         # writes of rows before `pos`
    while pos < nrows:
        if pos + stall < wst[K_.W_DEND]:                 # draining: wait when no slot is free
            lim = min(nrows, int(wst[K_.W_DEND]) - stall)
            j = max(1, int(wst[K_.W_FREE]))
        else:                                            # a drain starts when free < active
            lim = nrows
            j = max(1, int(wst[K_.W_FREE] - wst[K_.W_ACTIVE]) + 1)
        ev = pos + int(np.searchsorted(cumw[pos:lim], done_w + j))
        if ev >= lim:
            w = int(cumw[lim - 1]) - done_w
            if w:
                ring = K_._store(wst, ring, w)
            done_w += w
            pos = lim
            continue
        w = (int(cumw[ev - 1]) if ev > pos else done_w) - done_w
        if w:
            ring = K_._store(wst, ring, w)
        cyc = ev + stall
        c, ring = K_._ofmap_writes(wst, ring, int(n_wr[ev]), cyc)
        if c != cyc:
            ev_rows.append(ev)
            ev_stall.append(int(c) - cyc)
            stall += int(c) - cyc
        done_w = int(cumw[ev])
        pos = ev + 1
    return ev_rows, ev_stall, ring
