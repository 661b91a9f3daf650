"""Per-layer SCALE-Sim 3.0.0 numbers from the compat kernels, and the report records.

`compat_layer(layer, config)` is the one entry point; `compat_gemm` / `compat_conv` wrap it with
keyword arguments and return a flat dict of every report field, for callers (e.g. the agreement
test of archsim's own systolic model) that want "what would SCALE-Sim 3.0.0 say" without writing a .cfg file.
"""
from __future__ import annotations

import math

import attrs
import numpy as np

from archsim.errors import ConfigError, ModelError
from archsim.scalesim_compat import kernels as K_
from archsim.scalesim_compat.config import DATAFLOWS, ScaleSimConfig

_DF = {"os": K_.DF_OS, "ws": K_.DF_WS, "is": K_.DF_IS}
_PF_CASES = {"os": (K_.PF_OS_IFMAP, K_.PF_OS_FILTER), "ws": (K_.PF_WS_IFMAP, K_.PF_WS_FILTER),
             "is": (K_.PF_IS_IFMAP, K_.PF_IS_FILTER)}
_WORDS_PER_KB = 1024          # SCALE-Sim: bytes = 1024 * kB, word_size = 1 byte
_ACTIVE_FRAC = 0.5            # single_layer_sim: active_buf_frac, both read and write buffers


@attrs.frozen(kw_only=True)
class LayerDims:
    """One SCALE-Sim layer (conv topology columns; a GEMM is ifmap M x K, filter 1 x K)."""
    name: str = ""
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int = 1

    @classmethod
    def from_gemm(cls, m: int, n: int, k: int, name: str = "") -> "LayerDims":
        return cls(name=name, ifmap_h=m, ifmap_w=k, filter_h=1, filter_w=k, channels=1,
                   num_filters=n, stride=1)

    @property
    def ofmap_h(self) -> int:   # SCALE-Sim rounds up (topology_utils.topo_calc_hyperparams)
        return math.ceil((self.ifmap_h - self.filter_h + self.stride) / self.stride)

    @property
    def ofmap_w(self) -> int:
        return math.ceil((self.ifmap_w - self.filter_w + self.stride) / self.stride)

    @property
    def m(self) -> int:
        return self.ofmap_h * self.ofmap_w

    @property
    def k(self) -> int:
        return self.filter_h * self.filter_w * self.channels

    @property
    def n(self) -> int:
        return self.num_filters


@attrs.frozen(kw_only=True)
class LayerReport:
    """Everything SCALE-Sim 3.0.0 reports for one layer. Cycle stamps are ints here; the CSV
    writers print them as SCALE-Sim does (floats for start/stop cycles)."""
    layer_id: int
    name: str
    total_cycles_incl_prefetch: int
    total_cycles: int
    stall_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    avg_ifmap_sram_bw: float
    avg_filter_sram_bw: float
    avg_ofmap_sram_bw: float
    avg_ifmap_dram_bw: float
    avg_filter_dram_bw: float
    avg_ofmap_dram_bw: float
    sram_ifmap_start_cycle: int
    sram_ifmap_stop_cycle: int
    sram_ifmap_reads: int
    sram_filter_start_cycle: int
    sram_filter_stop_cycle: int
    sram_filter_reads: int
    sram_ofmap_start_cycle: int
    sram_ofmap_stop_cycle: int
    sram_ofmap_writes: int
    dram_ifmap_start_cycle: int
    dram_ifmap_stop_cycle: int
    dram_ifmap_reads: int
    dram_filter_start_cycle: int
    dram_filter_stop_cycle: int
    dram_filter_reads: int
    dram_ofmap_start_cycle: int
    dram_ofmap_stop_cycle: int
    dram_ofmap_writes: int
    # extras (not in SCALE-Sim's CSVs)
    macs: int
    demand_rows: int           # stall-free cycles = folds * cycles per fold
    folds: int
    ifmap_refills: int         # USER mode DRAM window refills
    filter_refills: int

    def to_dict(self) -> dict:
        return attrs.asdict(self)


def _ifmap_index_arrays(layer: LayerDims):
    """Per-ofmap-pixel and per-window-position parts of SCALE-Sim's im2col address
    ((orow*S + c_row) * W + ocol*S + c_col) * Ch + ch (operand_matrix.calc_ifmap_elem_addr)."""
    e_h, e_w, s = layer.ofmap_h, layer.ofmap_w, layer.stride
    w, ch = layer.ifmap_w, layer.channels
    m = np.arange(e_h * e_w, dtype=np.int64)
    orow, ocol = np.divmod(m, e_w)
    m_irow, m_icol = orow * s, ocol * s
    m_base = (m_irow * w + m_icol) * ch
    k = np.arange(layer.k, dtype=np.int64)
    k_crow, rem = np.divmod(k, layer.filter_w * ch)
    k_ccol, k_ch = np.divmod(rem, ch)
    k_off = (k_crow * w + k_ccol) * ch + k_ch
    all_valid = ((e_h - 1) * s + layer.filter_h <= layer.ifmap_h
                 and (e_w - 1) * s + layer.filter_w <= layer.ifmap_w)
    return m_base, m_irow, m_icol, k_off, k_crow, k_ccol, bool(all_valid)


def _ifmap_grid(m, k, idx):
    m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid, ifm_h, ifm_w = idx
    a = m_base[m] + k_off[k]
    if not all_valid:
        ok = (m_irow[m] + k_crow[k] < ifm_h) & (m_icol[m] + k_ccol[k] < ifm_w)
        a = np.where(ok, a, -1)
    return a


def _prefetch_matrix(case, layer, R, C, idx):
    """SCALE-Sim's prefetch matrix (compute/systolic_compute_*.create_*_prefetch_mat) as
    operand address indices, before the anti-diagonal roll; -1 pads partial folds."""
    M, N, Kw = layer.m, layer.n, layer.k
    if case in (K_.PF_OS_FILTER, K_.PF_WS_FILTER):      # per col fold: filter[:, fold] (K x C)
        fc, k = np.divmod(np.arange(math.ceil(N / C) * Kw, dtype=np.int64), Kw)
        n = fc[:, None] * C + np.arange(C)[None, :]
        return np.where(n < N, n * Kw + k[:, None], -1)
    if case == K_.PF_IS_FILTER:                          # per row fold: filter[fold, :]^T (N x R)
        fr, n = np.divmod(np.arange(math.ceil(Kw / R) * N, dtype=np.int64), N)
        k = fr[:, None] * R + np.arange(R)[None, :]
        return np.where(k < Kw, n[:, None] * Kw + k, -1)
    if case == K_.PF_OS_IFMAP:                           # per row fold: ifmap^T[:, fold] (K x R)
        fr, k = np.divmod(np.arange(math.ceil(M / R) * Kw, dtype=np.int64), Kw)
        m = fr[:, None] * R + np.arange(R)[None, :]
        return np.where(m < M, _ifmap_grid(np.minimum(m, M - 1), k[:, None], idx), -1)
    if case == K_.PF_WS_IFMAP:                           # per row fold: ifmap[:, fold] (M x R)
        fr, m = np.divmod(np.arange(math.ceil(Kw / R) * M, dtype=np.int64), M)
        k = fr[:, None] * R + np.arange(R)[None, :]
        return np.where(k < Kw, _ifmap_grid(m[:, None], np.minimum(k, Kw - 1), idx), -1)
    # PF_IS_IFMAP: per col fold: ifmap^T[:, fold] (K x C)
    fc, k = np.divmod(np.arange(math.ceil(M / C) * Kw, dtype=np.int64), Kw)
    m = fc[:, None] * C + np.arange(C)[None, :]
    return np.where(m < M, _ifmap_grid(np.minimum(m, M - 1), k[:, None], idx), -1)


_DIAG = {K_.PF_OS_IFMAP: True, K_.PF_OS_FILTER: True, K_.PF_WS_IFMAP: True,
         K_.PF_WS_FILTER: False, K_.PF_IS_IFMAP: False, K_.PF_IS_FILTER: True}


def _prefetch_shape(case, layer, R, C):
    M, N, Kw = layer.m, layer.n, layer.k
    if case in (K_.PF_OS_FILTER, K_.PF_WS_FILTER):
        return math.ceil(N / C) * Kw, C
    if case == K_.PF_IS_FILTER:
        return math.ceil(Kw / R) * N, R
    if case == K_.PF_OS_IFMAP:
        return math.ceil(M / R) * Kw, R
    if case == K_.PF_WS_IFMAP:
        return math.ceil(Kw / R) * M, R
    return math.ceil(M / C) * Kw, C


def _valid_count(case, layer, idx):
    """Valid (non -1) entries of the prefetch matrix: every operand element once."""
    if case in (K_.PF_OS_FILTER, K_.PF_WS_FILTER, K_.PF_IS_FILTER):
        return layer.k * layer.n
    m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid, ifm_h, ifm_w = idx
    if all_valid:
        return layer.m * layer.k
    ok = ((m_irow[:, None] + k_crow[None, :] < ifm_h) & (m_icol[:, None] + k_ccol[None, :] < ifm_w))
    return int(ok.sum())


def _user_state(st, case, layer, cfg, words, bw, idx, space):
    """Fill one row of the USER read-buffer state; returns the operand's (ptr, sets)."""
    e = math.ceil(words / 100)                  # elements per set (read_buffer.prepare_hashed_buffer)
    active = int(math.ceil(words * _ACTIVE_FRAC))
    prefetch = words - active
    n_valid = _valid_count(case, layer, idx)
    ns = n_valid // e + 1                       # the trailing (possibly empty) set counts too
    n_a = min(math.ceil(active / e), ns)
    n_p = min(math.ceil(prefetch / e), ns - n_a)
    if n_a >= ns:                               # the operand fits: every read hits, no sets needed
        ptr = sets = np.zeros(1, dtype=np.int64)
    else:
        pf = _prefetch_matrix(case, layer, cfg.rows, cfg.cols, idx)
        ptr, sets, n_built = K_.fetch_sets(pf, _DIAG[case], e, space)
        assert n_built == n_valid
    mp, npc = _prefetch_shape(case, layer, cfg.rows, cfg.cols)
    fetch_lines = math.ceil(mp * npc / bw)      # set_fetch_matrix: lines of B words incl. padding
    init_lines = min(math.ceil(active / bw), fetch_lines)
    st[K_.U_NS], st[K_.U_NA], st[K_.U_NP] = ns, n_a, n_p
    st[K_.U_A0], st[K_.U_A1] = 0, n_a
    st[K_.U_LPC] = -1                           # initial fill ends the cycle before row 0
    # whole-line DRAM counting quirk: the initial fill counts ceil(A/B) full lines
    st[K_.U_ACCESS] = init_lines * bw
    st[K_.U_NREF] = math.ceil(prefetch / bw)
    st[K_.U_BW] = bw
    st[K_.U_ALLFIT] = 1 if n_a >= ns else 0
    st[K_.U_DSTART] = -init_lines
    return ptr, sets


# Per demand-row costs of the compat kernel, measured (2-core x86, numba warm) and rounded up:
# ~100-250 ns per row with the CALC counting shortcut, plus a few ns per array edge PE when
# addresses are booked one by one, ~2-5 us per row for 32x32 in USER mode.
ROW_S, ROW_PER_PE_EDGE_CALC_S, ROW_PER_PE_EDGE_USER_S = 3e-7, 2e-8, 8e-8


# The numpy CALC path (archsim.scalesim_compat.calc) costs ~0.1-0.6 us per demand row (2-core
# x86, measured on AlexNet conv1 and ResNet-50 on 32x32), 1.5-3.4x the warm numba kernel; over
# this many demand rows in one run, loading numba (~0.45 s) pays for itself.
NUMPY_CALC_ROWS_MAX = 1_000_000


def demand_rows(layer: LayerDims, cfg: ScaleSimConfig) -> int:
    """SCALE-Sim's stall-free cycles of the layer: folds x demand rows per fold."""
    R, C = cfg.rows, cfg.cols
    M, N, Kw = layer.m, layer.n, layer.k
    if cfg.dataflow == "os":
        s_r, s_c, fold = M, N, Kw + R + C - 2
    elif cfg.dataflow == "ws":
        s_r, s_c, fold = Kw, N, 2 * R + C + M - 2
    else:
        s_r, s_c, fold = Kw, M, 2 * R + C + N - 2
    return -(-s_r // R) * -(-s_c // C) * fold


def work_estimate(layer: LayerDims, cfg: ScaleSimConfig):
    """Simulation time and peak memory of `compat_layer` (archsim.plausibility.Work)."""
    from archsim.limits import Work
    R, C = cfg.rows, cfg.cols
    M, N, Kw = layer.m, layer.n, layer.k
    rows = demand_rows(layer, cfg)
    if_space = layer.ifmap_h * layer.ifmap_w * layer.channels
    fl_space = Kw * N
    if cfg.user_bandwidth:
        per_row = ROW_S + ROW_PER_PE_EDGE_USER_S * (R + C)
        # fetch-order matrices and their CSR index, operand-sized, a few temporaries each
        mem = 8 * 4 * (M * Kw + Kw * N) + 8 * (if_space + fl_space)
    else:
        shortcut = False
        if max(M, N, Kw, R, C) < 2 ** 62:
            df = _DF[cfg.dataflow]
            words_if = cfg.ifmap_sram_kb * _WORDS_PER_KB
            words_fl = cfg.filter_sram_kb * _WORDS_PER_KB
            distinct = ((layer.filter_h <= layer.stride or layer.ofmap_h == 1)
                        and (layer.filter_w <= layer.stride or layer.ofmap_w == 1))
            shortcut = bool(K_.calc_all_new(df, K_.IFMAP, R, C, M, N, Kw, words_if, distinct)
                            and K_.calc_all_new(df, K_.FILTER, R, C, M, N, Kw, words_fl, True))
        per_row = ROW_S if shortcut else ROW_S + ROW_PER_PE_EDGE_CALC_S * (R + C)
        mem = 0 if shortcut else 8 * (if_space + fl_space)
        if rows <= NUMPY_CALC_ROWS_MAX:     # the numpy path: per-row counts, cached streams
            mem += 48 * rows + (0 if shortcut else 16 * min(M * Kw + Kw * N, 1 << 22))
    of_words = cfg.ofmap_sram_kb * _WORDS_PER_KB
    of_bw = cfg.bandwidths[0] if cfg.user_bandwidth and cfg.bandwidths else C
    mem += 8 * 6 * (M + Kw) + 8 * (of_words // max(of_bw, 1) + 64)
    return Work(float(rows) * per_row, float(mem), f"{rows:.3g} demand rows on {R}x{C}")


def check_layer(layer: LayerDims, cfg: ScaleSimConfig, layer_id: int = 0) -> None:
    """Refuse a layer before computing it: counts beyond the int64 range (ModelError) or work
    over the per-op budget (WorkBudgetError, exit 2); see archsim.plausibility."""
    from archsim.limits import check_budget, check_counts
    M, N, Kw = layer.m, layer.n, layer.k
    label = f"layer {layer_id} {layer.name!r}"
    R, C = cfg.rows, cfg.cols
    check_counts({"M*N*K": M * N * Kw, "ifmap elements": layer.ifmap_h * layer.ifmap_w * layer.channels,
                  "demand rows": (-(-max(M, Kw) // R)) * (-(-max(M, N) // C)) * (M + N + Kw + 2 * R + C),
                  "ofmap SRAM words": cfg.ofmap_sram_kb * _WORDS_PER_KB},
                 op_label=label, hint="SCALE-Sim's counters would overflow; use a smaller layer or array")
    check_budget(work_estimate(layer, cfg), op_label=label, component=f"SCALE-Sim compat {R}x{C} "
                 f"{cfg.dataflow} {cfg.mode}")


def compat_layer(layer: LayerDims, cfg: ScaleSimConfig, layer_id: int = 0, *,
                 per_address: bool = False, engine: str = "auto") -> LayerReport:
    """SCALE-Sim 3.0.0's report rows for one layer under `cfg` (exact integers and floats).

    `per_address=True` disables the CALC-mode counting shortcut (`calc_all_new`) and books every
    address one by one; the results are identical (a test checks it), only slower.
    `engine`: "numpy" runs CALC mode through the compiler-free path
    (`archsim.scalesim_compat.calc`: no numba start-up, 1.5-3.4x slower per layer once numba
    is warm); "kernel" runs the numba kernel (the reference the numpy path is tested against);
    "auto" takes numpy for CALC-mode layers up to NUMPY_CALC_ROWS_MAX demand rows until numba
    is loaded, the kernel otherwise (USER mode always runs the kernel)."""
    if engine not in ("auto", "numpy", "kernel"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'kernel', got {engine!r}")
    if engine == "auto":
        from archsim import jit
        big = demand_rows(layer, cfg) > NUMPY_CALC_ROWS_MAX     # numpy holds per-row arrays
        engine = "kernel" if jit.ready() or big else "numpy"
    if cfg.dataflow not in DATAFLOWS:
        raise ConfigError(cfg.source or None, "architecture_presets.Dataflow",
                          f"got {cfg.dataflow!r}; allowed values: {', '.join(DATAFLOWS)}")
    if layer.filter_h > layer.ifmap_h or layer.filter_w > layer.ifmap_w:
        raise ConfigError(cfg.source or None, f"layer {layer_id}", "filter larger than ifmap")
    R, C = cfg.rows, cfg.cols
    M, N, Kw = layer.m, layer.n, layer.k
    m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid = _ifmap_index_arrays(layer)
    idx = (m_base, m_irow, m_icol, k_off, k_crow, k_ccol, all_valid, layer.ifmap_h, layer.ifmap_w)
    if_space = layer.ifmap_h * layer.ifmap_w * layer.channels
    fl_space = Kw * N
    if_words = cfg.ifmap_sram_kb * _WORDS_PER_KB
    fl_words = cfg.filter_sram_kb * _WORDS_PER_KB
    of_words = cfg.ofmap_sram_kb * _WORDS_PER_KB
    us = np.zeros((2, K_.N_U), dtype=np.int64)
    cs = np.zeros((2, K_.N_C), dtype=np.int64)
    dummy = np.zeros(1, dtype=np.int64)
    calc_stream = np.zeros(2, dtype=np.bool_)
    if cfg.user_bandwidth:
        case_if, case_fl = _PF_CASES[cfg.dataflow]
        ptr_if, sets_if = _user_state(us[K_.IFMAP], case_if, layer, cfg, if_words,
                                      cfg.ifmap_dram_bw, idx, if_space)
        ptr_fl, sets_fl = _user_state(us[K_.FILTER], case_fl, layer, cfg, fl_words,
                                      cfg.filter_dram_bw, idx, fl_space)
        if ptr_if.size == 1:            # ifmap fits: give the filter indices an offset
            ptr_if = np.zeros(if_space + 1, dtype=np.int64) if ptr_fl.size > 1 else ptr_if
        ptr = np.concatenate((ptr_if[:-1], ptr_fl + sets_if.size))
        sets = np.concatenate((sets_if, sets_fl))
        last = dummy
        of_bw = cfg.bandwidths[0]
    else:
        ptr = sets = dummy
        for op, words in ((K_.IFMAP, if_words), (K_.FILTER, fl_words)):
            cs[op, K_.C_E] = words // 100       # math.floor(total / 100) distinct addresses per set
            cs[op, K_.C_REND] = K_.CALC_SETS_PER_HALF - 1
            cs[op, K_.C_LSTART], cs[op, K_.C_LEND] = -2, -1
        distinct_if = all_valid and ((layer.filter_h <= layer.stride or layer.ofmap_h == 1)
                                     and (layer.filter_w <= layer.stride or layer.ofmap_w == 1))
        df = _DF[cfg.dataflow]
        if not per_address:
            calc_stream[K_.IFMAP] = K_.calc_all_new(df, K_.IFMAP, R, C, M, N, Kw, if_words, distinct_if)
            calc_stream[K_.FILTER] = K_.calc_all_new(df, K_.FILTER, R, C, M, N, Kw, fl_words, True)
        last = (dummy if calc_stream.all() or engine == "numpy"
                else np.full(if_space + fl_space, -1, dtype=np.int64))
        of_bw = C                                # CALC: ofmap drain bandwidth = ArrayWidth
    wst = np.zeros(K_.N_W, dtype=np.int64)
    active = int(math.ceil(of_words * _ACTIVE_FRAC))
    wst[K_.W_TOTAL], wst[K_.W_ACTIVE], wst[K_.W_DRAIN] = of_words, active, of_words - active
    wst[K_.W_BW], wst[K_.W_FREE] = of_bw, of_words
    cap = max(64, of_words // of_bw + 64)
    wst[K_.W_CAP] = cap
    ring = np.zeros(cap, dtype=np.int64)
    if engine == "numpy" and not cfg.user_bandwidth:
        from archsim.scalesim_compat.calc import simulate_layer_calc
        out, fout = simulate_layer_calc(
            _DF[cfg.dataflow], R, C, M, N, Kw, m_base, m_irow, m_icol, k_off, k_crow, k_ccol,
            layer.ifmap_h, layer.ifmap_w, all_valid, if_space, cs, calc_stream, wst, ring)
    else:
        out, fout = K_.simulate_layer(
            _DF[cfg.dataflow], R, C, M, N, Kw, m_base, m_irow, m_icol, k_off, k_crow, k_ccol,
            layer.ifmap_h, layer.ifmap_w, all_valid, cfg.user_bandwidth, if_space,
            us, ptr, sets, cs, last, calc_stream, wst, ring)
    return _report(layer, cfg, layer_id, [int(x) for x in out], fout)


def _sram_counts(df, R, C, M, N, Kw):
    """SRAM request counts as the compute classes count them (scalesim.md section 5)."""
    if df == "os":
        folds = math.ceil(M / R) * math.ceil(N / C)
        # OS ofmap over-count quirk: `ofmap_writes += shape[0] + shape[1]` (= R + C) per fold
        return M * Kw * math.ceil(N / C), Kw * N * math.ceil(M / R), M * N + folds * (R + C)
    if df == "ws":
        return M * Kw * math.ceil(N / C), Kw * N, M * N * math.ceil(Kw / R)
    return M * Kw, Kw * N * math.ceil(M / C), M * N * math.ceil(Kw / R)


def _report(layer, cfg, layer_id, o, fout) -> LayerReport:
    R, C = cfg.rows, cfg.cols
    M, N, Kw = layer.m, layer.n, layer.k
    total = o[K_.OUT_TOTAL_CYCLES]
    folds = o[K_.OUT_FOLDS]
    if total == 0:      # e.g. a 1x1x1 GEMM on a 1x1 array: one demand row, index 0
        raise ModelError(f"layer {layer_id}: SCALE-Sim's 'Total Cycles' is 0 (a single demand "
                         "row) and its report divides by it; scalesim 3.0.0 fails here too")
    if_rd, fl_rd, of_wr = _sram_counts(cfg.dataflow, R, C, M, N, Kw)
    macs = M * N * Kw
    if_ds, if_de, if_dr = o[K_.OUT_IF_DRAM_START], o[K_.OUT_IF_DRAM_STOP], o[K_.OUT_IF_DRAM_READS]
    fl_ds, fl_de, fl_dr = o[K_.OUT_FL_DRAM_START], o[K_.OUT_FL_DRAM_STOP], o[K_.OUT_FL_DRAM_READS]
    of_ds, of_de, of_dw = o[K_.OUT_OF_DRAM_START], o[K_.OUT_OF_DRAM_STOP], o[K_.OUT_OF_DRAM_WRITES]
    # Same operand types and order of operations as single_layer_sim.calc_report_data, so the
    # floats are bit-identical (cycle stamps are numpy float64 there, reads Python ints).
    return LayerReport(
        layer_id=layer_id, name=layer.name,
        total_cycles_incl_prefetch=int(of_de - min(if_ds, fl_ds)),
        total_cycles=total, stall_cycles=o[K_.OUT_STALL],
        overall_util_pct=(macs * 100) / (total * R * C),
        mapping_efficiency_pct=fout[K_.FOUT_MAP_EFF_SUM].item() / folds * 100,
        compute_util_pct=fout[K_.FOUT_COMP_UTIL_SUM].item() / folds * 100,
        avg_ifmap_sram_bw=if_rd / total, avg_filter_sram_bw=fl_rd / total,
        avg_ofmap_sram_bw=of_wr / total,
        avg_ifmap_dram_bw=if_dr / float(if_de - if_ds + 1),
        avg_filter_dram_bw=fl_dr / float(fl_de - fl_ds + 1),
        avg_ofmap_dram_bw=of_dw / float(of_de - of_ds + 1),
        sram_ifmap_start_cycle=o[K_.OUT_IF_SRAM_START], sram_ifmap_stop_cycle=o[K_.OUT_IF_SRAM_STOP],
        sram_ifmap_reads=if_rd,
        sram_filter_start_cycle=o[K_.OUT_FL_SRAM_START], sram_filter_stop_cycle=o[K_.OUT_FL_SRAM_STOP],
        sram_filter_reads=fl_rd,
        sram_ofmap_start_cycle=o[K_.OUT_OF_SRAM_START], sram_ofmap_stop_cycle=o[K_.OUT_OF_SRAM_STOP],
        sram_ofmap_writes=of_wr,
        dram_ifmap_start_cycle=if_ds, dram_ifmap_stop_cycle=if_de, dram_ifmap_reads=if_dr,
        dram_filter_start_cycle=fl_ds, dram_filter_stop_cycle=fl_de, dram_filter_reads=fl_dr,
        dram_ofmap_start_cycle=of_ds, dram_ofmap_stop_cycle=of_de, dram_ofmap_writes=of_dw,
        macs=macs, demand_rows=o[K_.OUT_ROWS], folds=folds,
        ifmap_refills=o[K_.OUT_IF_REFILLS], filter_refills=o[K_.OUT_FL_REFILLS])


def _config_from_kwargs(rows, cols, dataflow, mode, ifmap_sram_kb, filter_sram_kb,
                        ofmap_sram_kb, ifmap_dram_bw, filter_dram_bw, ofmap_dram_bw):
    if mode not in ("calc", "user"):
        raise ConfigError(None, "mode", f"got {mode!r}; allowed values: calc, user")
    return ScaleSimConfig(rows=rows, cols=cols, dataflow=dataflow, user_bandwidth=mode == "user",
                          ifmap_sram_kb=ifmap_sram_kb, filter_sram_kb=filter_sram_kb,
                          ofmap_sram_kb=ofmap_sram_kb, bandwidths=(ofmap_dram_bw,),
                          ifmap_dram_bw=ifmap_dram_bw, filter_dram_bw=filter_dram_bw,
                          ifmap_bank_num=1, filter_bank_num=1, source="<compat_gemm>")


def compat_gemm(m: int, n: int, k: int, *, rows: int, cols: int, dataflow: str,
                mode: str = "calc", ifmap_sram_kb: int = 64, filter_sram_kb: int = 64,
                ofmap_sram_kb: int = 64, ifmap_dram_bw: int = 10, filter_dram_bw: int = 10,
                ofmap_dram_bw: int = 10) -> dict:
    """What SCALE-Sim 3.0.0 reports for C[m,n] = A[m,k] @ B[k,n] (its `-i gemm` row
    `name, m, n, k`) on a rows x cols array, as a flat dict of LayerReport fields.

    mode "calc": SCALE-Sim's estimate-bandwidth mode (ifmap/filter never stall; ofmap drains at
    `cols` words/cycle). mode "user": DRAM->SRAM words/cycle `ifmap_dram_bw`, `filter_dram_bw`
    (SCALE-Sim's [layout] *SRAMBankBandwidth) and ofmap drain `ofmap_dram_bw` (Bandwidth[0]).
    SRAM sizes in SCALE-Sim kB (x1024 one-byte words).

    Quirk-free quantities, for comparing with another model where no quirk applies:
    `demand_rows` (= folds * cycles per fold, SCALE-Sim's stall-free cycle count; its
    "Total Cycles" is demand_rows - 1 + stall_cycles), `stall_cycles` (0 in CALC mode unless the
    ofmap buffer overflows), `mapping_efficiency_pct`, `sram_ifmap_reads`, `sram_filter_reads`
    and, for WS/IS, `sram_ofmap_writes`.
    """
    cfg = _config_from_kwargs(rows, cols, dataflow, mode, ifmap_sram_kb, filter_sram_kb,
                              ofmap_sram_kb, ifmap_dram_bw, filter_dram_bw, ofmap_dram_bw)
    return compat_layer(LayerDims.from_gemm(m, n, k), cfg).to_dict()


def compat_conv(ifmap_h: int, ifmap_w: int, filter_h: int, filter_w: int, channels: int,
                num_filters: int, stride: int = 1, **arch) -> dict:
    """compat_gemm for a conv layer given by SCALE-Sim's topology columns (same keywords)."""
    cfg = _config_from_kwargs(arch.pop("rows"), arch.pop("cols"), arch.pop("dataflow"),
                              arch.pop("mode", "calc"), arch.pop("ifmap_sram_kb", 64),
                              arch.pop("filter_sram_kb", 64), arch.pop("ofmap_sram_kb", 64),
                              arch.pop("ifmap_dram_bw", 10), arch.pop("filter_dram_bw", 10),
                              arch.pop("ofmap_dram_bw", 10))
    if arch:
        raise TypeError(f"unknown keyword(s): {', '.join(arch)}")
    layer = LayerDims(ifmap_h=ifmap_h, ifmap_w=ifmap_w, filter_h=filter_h, filter_w=filter_w,
                      channels=channels, num_filters=num_filters, stride=stride)
    return compat_layer(layer, cfg).to_dict()
