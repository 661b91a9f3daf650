"""The GPU latency and energy model, one function per op kind (see docs/gpu.md).

Every op's time is built from the same pieces:

- `launch`: the fixed time of one kernel (`spec.launch_overhead_us`);
- compute time on the tensor cores or vector units, with wave quantisation over the SMs
  (`ceil(ctas / sm_count)` full waves) and, for GEMMs, tile quantisation on Tm x Tn
  tensor-core tiles and split-K;
- memory time: DRAM bytes over the sustained DRAM rate, L2 sector traffic over the L2 rate,
  with L2 hit rates from working-set size against the L2 capacity;
- compute and memory overlap as a smooth maximum (c^p + m^p)^(1/p);
- multi-kernel ops (layer-by-layer MLP, kv_retrieve) are sums of their kernels, floored by
  the host's issue rate (`host_dispatch_us` per kernel).

Efficiency parameters come from `spec.efficiency` (fitted by archsim calibrate gpu); time-like
ones are scaled from the calibration device to this GPU: whole-GPU issue rates by SM count x
clock (`time_scale`), per-SM times by clock (`clock_scale`).
"""
from __future__ import annotations

import math
from typing import Callable

import attrs

from archsim.blocks.base import EvalContext, OpResult, Placement
from archsim.blocks.gpu.spec import Spec
from archsim.units import DTYPE_BYTES

TENSOR_DTYPES = ("int8", "fp8", "fp16", "bf16", "tf32")
SECTOR_BYTES = 32                         # L2 / DRAM access granularity on NVIDIA GPUs
# cuBLAS-like CTA tiles (Tm, Tn); the narrow ones stand for its GEMV / small-M kernels
TILES = ((128, 256), (128, 128), (64, 128), (64, 64), (32, 128), (16, 128))
K_STEP = 64                               # depth of one main-loop stage (k-block) of a tile
SPLITS = (1, 2, 4, 8, 16)


@attrs.frozen(kw_only=True)
class Prediction:
    latency_s: float
    flops: float
    flops_by_dtype: dict                  # dtype -> FLOPs (unit: "t:" tensor or "v:" vector)
    dram_bytes: float
    dram_read_bytes: float
    l2_bytes: float
    l2_random_bytes: float                # of l2_bytes: sector-granular random lookups
    kernels: int
    bound: str
    kind: str
    details: dict

    def energy(self, spec) -> tuple[float, dict, bool]:
        """(joules, breakdown, power_capped): idle power x time + dynamic energy, capped at TDP."""
        e = spec.energy
        static = spec.idle_power_w * self.latency_s
        dyn_flop = 0.0
        for key, f in self.flops_by_dtype.items():
            unit, dt = key.split(":")
            pj = getattr(e.pj_per_flop, dt) if unit == "t" else _vector_pj(spec, dt)
            dyn_flop += f * pj * e.onchip_scale * 1e-12
        dyn_l2 = ((self.l2_bytes - self.l2_random_bytes) * e.l2_pj_per_byte
                  + self.l2_random_bytes * e.l2_random_pj_per_byte) * e.onchip_scale * 1e-12
        dyn_dram = self.dram_bytes * e.dram_pj_per_byte * 1e-12
        total = static + dyn_flop + dyn_l2 + dyn_dram
        breakdown = {"static": static, "compute": dyn_flop, "l2": dyn_l2, "dram": dyn_dram}
        cap = spec.tdp_w * self.latency_s
        if total > cap:
            scale = (cap - static) / (total - static)
            breakdown = {"static": static, "compute": dyn_flop * scale, "l2": dyn_l2 * scale,
                         "dram": dyn_dram * scale}
            return cap, breakdown, True
        return total, breakdown, False

    def dynamic_parts(self, spec) -> tuple[float, float]:
        """(on-chip dynamic J: FLOPs + L2 traffic, at the boost clock's voltage; DRAM dynamic J)."""
        e = spec.energy
        dyn_flop = 0.0
        for key, f in self.flops_by_dtype.items():
            unit, dt = key.split(":")
            pj = getattr(e.pj_per_flop, dt) if unit == "t" else _vector_pj(spec, dt)
            dyn_flop += f * pj * e.onchip_scale * 1e-12
        dyn_l2 = ((self.l2_bytes - self.l2_random_bytes) * e.l2_pj_per_byte
                  + self.l2_random_bytes * e.l2_random_pj_per_byte) * e.onchip_scale * 1e-12
        return dyn_flop + dyn_l2, self.dram_bytes * e.dram_pj_per_byte * 1e-12

    def error_band(self, spec) -> tuple[float, float]:
        """(lo, hi) relative band of latency_s from the calibration residuals of this op kind
        (p10 and p90 of measured/predicted - 1); widened on GPUs other than the calibration
        device; generic-fallback kinds get the widest band."""
        bands = spec.calibration.error_band
        b = bands.get(self.kind)
        if b is None:   # uncalibrated kind or generic fallback: the widest band, at least -50/+100 %
            b = (min([v[0] for v in bands.values()] + [-0.5]),
                 max([v[1] for v in bands.values()] + [1.0]))
        lo, hi = float(b[0]), float(b[1])
        if not spec.calibration.device or spec.calibration.device != spec.device_name:
            f = spec.transfer_band_factor
            lo, hi = max(-0.95, lo * f), hi * f
        return (lo, hi)


def _vector_pj(spec, dt):
    e = spec.energy.pj_per_flop
    return e.fp32 if dt in ("fp32", "tf32") else e.fp32 / 2.0


# ----------------------------------------------------------------------------- building blocks

def smax(a: float, b: float, p: float) -> float:
    """Smooth maximum (a^p + b^p)^(1/p): max(a, b) <= smax <= a + b."""
    if a <= 0.0:
        return b
    if b <= 0.0:
        return a
    m = max(a, b)
    return m * ((a / m) ** p + (b / m) ** p) ** (1.0 / p)


def time_scale(spec) -> float:
    """Time-like efficiency parameters were fitted on the calibration device: scale them by its
    SM-count x clock over this GPU's."""
    c = spec.calibration
    return (c.ref_sm_count * c.ref_boost_clock_ghz) / (spec.sm_count * spec.boost_clock_ghz)


def clock_scale(spec) -> float:
    """Per-SM time parameters (tile overheads, one-row latencies) scale with the clock only."""
    return spec.calibration.ref_boost_clock_ghz / spec.boost_clock_ghz


def launch_s(spec) -> float:
    """Fixed time of one kernel: as PyTorch eager launches it (the calibration's
    launch_overhead_us), or replayed from a CUDA graph (kernels.graph_launch_overhead_us)."""
    if spec.kernels.launch == "cuda_graph":
        return spec.kernels.graph_launch_overhead_us * 1e-6
    return spec.launch_overhead_us * 1e-6


def dram_rate(spec) -> float:
    """Sustained DRAM bytes/s."""
    return spec.dram_bandwidth_gb_s * 1e9 * spec.efficiency.dram_fraction


def dram_time(spec, nbytes: float, fraction: float = 1.0) -> float:
    """`nbytes` at `fraction` of the sustained DRAM rate (never above the peak) + the ramp."""
    if nbytes <= 0:
        return 0.0
    rate = min(dram_rate(spec) * fraction, spec.dram_bandwidth_gb_s * 1e9)
    return nbytes / rate + spec.efficiency.dram_latency_us * 1e-6


def l2_rate(spec) -> float:
    return spec.l2_bandwidth_gb_s * 1e9 * spec.efficiency.l2_fraction


def l2_capacity(spec) -> float:
    return spec.l2_size_mib * 2**20 * spec.efficiency.l2_effective_fraction


def tensor_peak(spec, dtype: str) -> tuple[float, str, str]:
    """(FLOP/s, unit key prefix, dtype actually used). Missing tensor dtypes fall back:
    fp8 -> fp16 (upcast), int8 -> fp16, tf32 -> fp32 vector, fp32 -> vector FP32."""
    t = spec.tensor_tflops
    if dtype == "fp32":
        return spec.vector_fp32_tflops * 1e12, "v", "fp32"
    rate = getattr(t, dtype)
    if rate is not None:
        return rate * 1e12, "t", dtype
    if dtype in ("fp8", "int8"):
        for alt in ("fp16", "bf16"):
            if getattr(t, alt) is not None:
                return getattr(t, alt) * 1e12, "t", alt
    if dtype == "bf16" and t.fp16 is not None:
        return t.fp16 * 1e12, "t", "fp16"
    return spec.vector_fp32_tflops * 1e12, "v", "fp32"


def vector_peak(spec, dtype: str) -> float:
    if dtype in ("fp32", "tf32"):
        return spec.vector_fp32_tflops * 1e12
    v16 = spec.vector_fp16_tflops
    return (v16 if v16 is not None else 2.0 * spec.vector_fp32_tflops) * 1e12


def wave_factor(ctas: float, sms: int) -> float:
    """Full waves needed over the waves' worth of work: ceil(ctas/sms) / (ctas/sms) >= 1."""
    if ctas <= 0:
        return 1.0
    return math.ceil(ctas / sms) / (ctas / sms)


# ----------------------------------------------------------------------------- GEMM

def gemm_core(spec, m: int, k: int, n: int, batch: int, dtype: str, *, aligned: bool | None = None,
              scale: float = 1.0, out_bytes: float | None = None, split_k: bool = True) -> dict:
    """Time of one GEMM kernel (launch excluded): min over CTA tiles and split-K of
    waves x tile time, overlapped with the DRAM time of its compulsory traffic."""
    eff = spec.efficiency
    peak, unit, used = tensor_peak(spec, dtype)
    frac = getattr(eff.gemm_fraction, dtype)
    b = DTYPE_BYTES[dtype]
    if aligned is None:
        aligned = (k * b) % 16 == 0 and (n * b) % 16 == 0
    if unit == "t" and not aligned:
        frac *= getattr(eff.gemm_unaligned_fraction, dtype)
    rate_sm = peak * min(1.0, frac * scale) / spec.sm_count     # never above the dtype's peak
    if out_bytes is None:
        out_bytes = {"fp8": 2, "int8": 4}.get(dtype, b)
    in_bytes = batch * (m * k + k * n) * b
    c_bytes = batch * m * n * out_bytes
    wave_over = eff.gemm_wave_overhead_us * 1e-6 * clock_scale(spec)
    fixed = eff.gemm_fixed_us * 1e-6 * clock_scale(spec)
    kstep = eff.gemm_kstep_ns * 1e-9 * clock_scale(spec)
    if unit == "t" and not aligned:   # no 16-byte vector / TMA loads: a slower main loop
        kstep *= eff.gemm_unaligned_kstep_factor
    best = None
    for tm, tn in TILES:
        size_eff = ((tm * tn) / (128 * 256)) ** eff.gemm_small_tile_exponent
        tiles = batch * math.ceil(m / tm) * math.ceil(n / tn)
        for s in SPLITS:
            if s > 1 and (not split_k or tiles * s > 2 * spec.sm_count or k < 256 * s):
                continue
            kk = math.ceil(k / s)
            waves = math.ceil(tiles * s / spec.sm_count)
            # MMA work, or the main loop's latency floor when too few tiles hide it
            t_tile = max(2.0 * tm * tn * kk / (rate_sm * size_eff), math.ceil(kk / K_STEP) * kstep)
            t_c = waves * (t_tile + wave_over) + fixed
            extra = 2.0 * batch * m * n * 4 * s if s > 1 else 0.0     # fp32 partials, write+read
            t_m = dram_time(spec, in_bytes + c_bytes + extra)
            t = smax(t_c, t_m, eff.smoothmax_p)
            if best is None or t < best["t"]:
                best = {"t": t, "compute_s": t_c, "memory_s": t_m, "tile": f"{tm}x{tn}",
                        "split_k": s, "waves": waves, "ctas": tiles * s}
    # stream-K / persistent scheduling: the tiles' work spread evenly over all SMs (no partial
    # wave) at a fitted overhead for the cross-SM fix-up of split tiles
    tm, tn = TILES[0]
    tiles = batch * math.ceil(m / tm) * math.ceil(n / tn)
    t_tile = max(2.0 * tm * tn * k / rate_sm, math.ceil(k / K_STEP) * kstep)
    t_c = tiles * t_tile / spec.sm_count * (1.0 + eff.gemm_streamk_overhead) + wave_over + fixed
    t_m = dram_time(spec, in_bytes + c_bytes)
    t = smax(t_c, t_m, eff.smoothmax_p)
    if split_k and t < best["t"]:          # (cuDNN convolutions: no split-K, no stream-K)
        best = {"t": t, "compute_s": t_c, "memory_s": t_m, "tile": f"{tm}x{tn}/stream-k",
                "split_k": 0, "waves": tiles / spec.sm_count, "ctas": spec.sm_count}
    # matrix-vector shapes (m or n <= 16): a GEMV kernel on the vector units, no tile waste
    if split_k and min(m, n) <= 16:
        t_c = 2.0 * batch * m * k * n / (vector_peak(spec, dtype) * min(1.0, eff.vector_fraction)) + fixed
        t_m = dram_time(spec, in_bytes + c_bytes)
        t = smax(t_c, t_m, eff.smoothmax_p)
        if t < best["t"]:
            best = {"t": t, "compute_s": t_c, "memory_s": t_m, "tile": "gemv", "split_k": 0,
                    "waves": 1, "ctas": spec.sm_count}
    best.update(flops={f"{unit}:{used}": 2.0 * batch * m * k * n},
                dram_bytes=in_bytes + c_bytes, dram_read_bytes=in_bytes, aligned=aligned)
    return best


def _single(spec, kind, t_body, *, flops_by, dram, dram_read, l2=None, l2_random=0.0, compute_s=0.0,
            memory_s=0.0, details=None, kernels=1) -> Prediction:
    lat = launch_s(spec) * kernels + t_body
    if launch_s(spec) * kernels > 0.5 * lat:
        bound = "latency"
    else:
        bound = "compute" if compute_s >= memory_s else "memory"
    return Prediction(latency_s=lat, flops=sum(flops_by.values()), flops_by_dtype=flops_by,
                      dram_bytes=dram, dram_read_bytes=dram_read,
                      l2_bytes=dram if l2 is None else l2, l2_random_bytes=l2_random,
                      kernels=kernels, bound=bound, kind=kind,
                      details={"compute_s": compute_s, "memory_s": memory_s, **(details or {})})


def _seq(spec, kind, parts: list[Prediction], details=None, host_views: float = 0.0) -> Prediction:
    """Back-to-back kernels of one op: GPU time summed, floored by the host issue rate
    (`host_views`: framework calls that launch no kernel, e.g. transpose / expand views)."""
    gpu = sum(p.latency_s for p in parts)
    kernels = sum(p.kernels for p in parts)
    # eager: the host issues every framework call; a CUDA graph replays them (no host floor)
    host = 0.0 if spec.kernels.launch == "cuda_graph" else \
        (kernels + host_views) * spec.efficiency.host_dispatch_us * 1e-6
    # host issue and GPU execution overlap by host_overlap (1 = the slower one alone; 0 = serial)
    lat = gpu + host - spec.efficiency.host_overlap * min(gpu, host)
    flops: dict = {}
    for p in parts:
        for k, v in p.flops_by_dtype.items():
            flops[k] = flops.get(k, 0.0) + v
    comp = sum(p.details.get("compute_s", 0.0) for p in parts)
    mem = sum(p.details.get("memory_s", 0.0) for p in parts)
    bound = "host" if host > gpu else ("latency" if launch_s(spec) * kernels > 0.5 * lat else
                                       ("compute" if comp >= mem else "memory"))
    return Prediction(latency_s=lat, flops=sum(flops.values()), flops_by_dtype=flops,
                      dram_bytes=sum(p.dram_bytes for p in parts),
                      dram_read_bytes=sum(p.dram_read_bytes for p in parts),
                      l2_bytes=sum(p.l2_bytes for p in parts),
                      l2_random_bytes=sum(p.l2_random_bytes for p in parts), kernels=kernels, bound=bound,
                      kind=kind, details={"compute_s": comp, "memory_s": mem, "gpu_s": gpu,
                                          "host_s": host, **(details or {}),
                                          "parts": [p.details.get("part", p.kind) for p in parts]})


def _gemm_pred(spec, kind, m, k, n, batch, dtype, **kw) -> Prediction:
    g = gemm_core(spec, m, k, n, batch, dtype, **kw)
    return _single(spec, kind, g["t"], flops_by=g["flops"], dram=g["dram_bytes"],
                   dram_read=g["dram_read_bytes"], compute_s=g["compute_s"], memory_s=g["memory_s"],
                   details={k_: g[k_] for k_ in ("tile", "split_k", "waves", "ctas", "aligned")})


def predict_gemm(spec, op) -> Prediction:
    return _gemm_pred(spec, "gemm", op.m, op.k, op.n, op.batch, op.dtype)


def predict_conv2d(spec, op) -> Prediction:
    """Implicit GEMM (cuDNN): M = ofmap pixels, N = filters, K = fh*fw*c, at conv_fraction of
    the GEMM model's rate; DRAM traffic = ifmap + filters + ofmap."""
    m, n, k = op.gemm_mnk()
    b = DTYPE_BYTES[op.dtype]
    k_run = k
    if tensor_peak(spec, op.dtype)[1] == "t":
        # tensor-core NHWC convolution pads the channels to a multiple of 8 (cuDNN)
        k_run = op.filter_h * op.filter_w * (-(-op.channels // 8) * 8)
    g = gemm_core(spec, m, k_run, n, 1, op.dtype, aligned=True, scale=spec.efficiency.conv_fraction,
                  split_k=False)
    g["flops"] = {key: 2.0 * m * n * k for key in g["flops"]}
    ifmap = op.ifmap_h * op.ifmap_w * op.channels * b
    dram = ifmap + k * n * b + m * n * b
    t_m = dram_time(spec, dram)
    t = smax(g["compute_s"], t_m, spec.efficiency.smoothmax_p) + spec.efficiency.conv_fixed_us * 1e-6 * clock_scale(spec)
    return _single(spec, "conv2d", t, flops_by=g["flops"], dram=dram, dram_read=ifmap + k * n * b,
                   compute_s=g["compute_s"], memory_s=t_m,
                   details={"gemm_mnk": [m, n, k], "tile": g["tile"], "waves": g["waves"]})


# ----------------------------------------------------------------------------- element-wise, copy

def _stream(spec, kind, nbytes, read_bytes, flops, dtype) -> Prediction:
    t_m = dram_time(spec, nbytes)
    t_c = flops / (vector_peak(spec, dtype) * min(1.0, spec.efficiency.vector_fraction)) if flops else 0.0
    return _single(spec, kind, smax(t_c, t_m, spec.efficiency.smoothmax_p),
                   flops_by={f"v:{dtype}": flops} if flops else {}, dram=nbytes, dram_read=read_bytes,
                   compute_s=t_c, memory_s=t_m)


def _elementwise(spec, kind, n_elements, nbytes, read_bytes, flops, dtype, access="contiguous") -> Prediction:
    """One elementwise kernel. contiguous: streamed (`_stream`). Off the vectorised path, the
    memory side takes max(DRAM time, elements x the path's per-element issue time, whole GPU,
    scaled by SM count x clock), overlapped with the FLOPs as the streamed kernel is:
    strided (an operand is a strided view: elementwise_kernel<128, 4>, `strided_ns_per_element`),
    broadcast (a broadcast source or a dtype conversion: elementwise_kernel<128, 2> /
    unrolled_elementwise_kernel, `broadcast_ns_per_element` per output element and the DRAM at
    `broadcast_dram_fraction`), atomic (index_add: a scalar atomic read-modify-write per element,
    `atomic_ns_per_element`)."""
    if access == "contiguous":
        return _stream(spec, kind, nbytes, read_bytes, flops, dtype)
    eff = spec.efficiency
    per_el = {"strided": eff.strided_ns_per_element, "broadcast": eff.broadcast_ns_per_element,
              "atomic": eff.atomic_ns_per_element}[access]
    t_issue = n_elements * per_el * 1e-9 * time_scale(spec)
    t_dram = dram_time(spec, nbytes, eff.broadcast_dram_fraction if access == "broadcast" else 1.0)
    t_m = max(t_issue, t_dram)
    t_c = flops / (vector_peak(spec, dtype) * min(1.0, eff.vector_fraction)) if flops else 0.0
    return _single(spec, kind, smax(t_c, t_m, eff.smoothmax_p),
                   flops_by={f"v:{dtype}": flops} if flops else {}, dram=nbytes, dram_read=read_bytes,
                   compute_s=t_c, memory_s=t_m, details={"access": access, "issue_s": t_issue})


def predict_elementwise(spec, op) -> Prediction:
    b = DTYPE_BYTES[op.dtype]
    return _elementwise(spec, "elementwise", op.n_elements, op.n_elements * (op.n_inputs + 1) * b,
                        op.n_elements * op.n_inputs * b, op.flops(), op.dtype, op.access)


def predict_copy(spec, op) -> Prediction:
    return _stream(spec, "copy", 2.0 * op.bytes, float(op.bytes), 0.0, "fp32")


# ----------------------------------------------------------------------------- gathers

def l2_hit_rate(spec, table_bytes: float) -> float:
    """Uniform random lookups into a table: the fraction resident in the usable L2."""
    if table_bytes <= 0:
        return 1.0
    return min(1.0, l2_capacity(spec) / table_bytes)


def predict_gather(spec, op) -> Prediction:
    """Row gather (index_select): per-row issue cost, L2 sector traffic, DRAM misses at the
    random-access rate, streaming writes of the output."""
    eff = spec.efficiency
    sectors = math.ceil(op.row_bytes / SECTOR_BYTES) * SECTOR_BYTES
    hit = l2_hit_rate(spec, op.table_bytes)
    touched = op.rows * sectors
    miss = max(min(float(op.table_bytes), touched) if hit >= 1.0 else 0.0, touched * (1.0 - hit))
    t_rows = op.rows * eff.gather_ns_per_row * 1e-9 * time_scale(spec)
    t_l2 = touched / l2_rate(spec)
    t_dram = dram_time(spec, miss, eff.random_dram_fraction) + op.rows * (op.row_bytes + 8) / dram_rate(spec)
    t_m = max(t_l2, t_dram)
    dram = miss + op.rows * (op.row_bytes + 8)
    return _single(spec, "gather", smax(t_rows, t_m, eff.smoothmax_p), flops_by={}, dram=dram,
                   dram_read=miss + op.rows * 8, l2=touched + op.rows * op.row_bytes, l2_random=touched,
                   compute_s=t_rows, memory_s=t_m, details={"l2_hit_rate": hit})


def hash_levels(op) -> list[tuple[int, int]]:
    """(resolution, table entries) per level: instant-ngp growth b = exp(ln(Nmax/Nmin)/(L-1));
    a level is dense when (res+1)^dims <= 2^log2_table_size or grid == 'dense'."""
    L = op.levels
    t = 2 ** op.log2_table_size
    b = math.exp((math.log(op.finest_resolution) - math.log(op.base_resolution)) / max(L - 1, 1))
    out = []
    for lvl in range(L):
        res = math.floor(op.base_resolution * b ** lvl)
        dense = (res + 1) ** op.dims
        out.append((res, dense if (op.grid == "dense" or dense <= t) else t))
    return out


def predict_hash_encode(spec, op) -> Prediction:
    """Multi-resolution grid encoding as a random gather: per level, n_points x 2^dims corner
    lookups of features_per_level x dtype bytes, each at least one 32 B sector; the level's
    table hits in L2 by capacity ratio; misses go to DRAM at the random-access rate."""
    eff = spec.efficiency
    b = DTYPE_BYTES[op.dtype]
    corners = 2 ** op.dims
    sec = math.ceil(op.features_per_level * b / SECTOR_BYTES) * SECTOR_BYTES
    l2_traffic = dram_miss = 0.0
    hits = []
    for res, entries in hash_levels(op):
        lookups = op.n_points * corners
        level_bytes = entries * op.features_per_level * b
        hit = l2_hit_rate(spec, level_bytes)
        touched = lookups * sec
        if entries == (res + 1) ** op.dims and 2 * op.features_per_level * b <= SECTOR_BYTES:
            touched *= 0.5      # dense level: the x-neighbour corners share a sector
        dram_miss += max(min(float(level_bytes), touched), touched * (1.0 - hit))
        l2_traffic += touched
        hits.append(round(hit, 4))
    stream = op.n_points * op.dims * 4 + op.output_bytes()
    lookups_total = op.lookups()
    t_issue = lookups_total * eff.hash_ns_per_lookup * 1e-9 * time_scale(spec)
    t_l2 = l2_traffic / l2_rate(spec)
    t_dram = dram_time(spec, dram_miss, eff.random_dram_fraction) + stream / dram_rate(spec)
    t_m = max(t_l2, t_dram)
    t_c = t_issue + op.flops() / (vector_peak(spec, "fp32") * min(1.0, eff.vector_fraction))
    return _single(spec, "hash_encode", smax(t_c, t_m, eff.smoothmax_p),
                   flops_by={"v:fp32": op.flops()}, dram=dram_miss + stream,
                   dram_read=dram_miss + op.n_points * op.dims * 4, l2=l2_traffic + stream,
                   l2_random=l2_traffic,
                   compute_s=t_c, memory_s=t_m,
                   details={"l2_hit_rate_per_level": hits, "lookups": lookups_total})


# ----------------------------------------------------------------------------- MLP

def predict_mlp(spec, op) -> Prediction:
    """fused: one kernel, activations on chip, tensor rate = gemm fraction x mlp_fused_fraction
    x w/(w + mlp_width_half) (w = mean layer width) of the fp16-accumulate rate where the GPU
    has a faster one (GeForce), 128-row CTAs in waves; I/O streamed.
    Layer-by-layer: one GEMM per layer plus one activation kernel after every layer but the
    last (PyTorch eager), each input and output through DRAM."""
    eff = spec.efficiency
    b = DTYPE_BYTES[op.dtype]
    if op.fused:
        peak, unit, used = tensor_peak(spec, op.dtype)
        if op.dtype == "fp16" and spec.fp16_accumulate_tflops is not None:
            peak = spec.fp16_accumulate_tflops * 1e12
        widths = op.layers
        w = sum(widths[1:]) / (len(widths) - 1)
        frac = min(1.0, getattr(eff.gemm_fraction, op.dtype) * eff.mlp_fused_fraction * w / (w + eff.mlp_width_half))
        ctas = math.ceil(op.batch / 128)
        # every CTA first loads all weights (L2 -> shared memory): a fixed prologue
        t_c = (op.flops() / (peak * frac) * wave_factor(ctas, spec.sm_count)
               + eff.mlp_fused_fixed_us * 1e-6 * clock_scale(spec))
        io = op.batch * (widths[0] + widths[-1]) * b + op.weight_bytes()
        t_m = dram_time(spec, io)
        return _single(spec, "mlp", smax(t_c, t_m, eff.smoothmax_p), flops_by={f"{unit}:{used}": op.flops()},
                       dram=io, dram_read=op.batch * widths[0] * b + op.weight_bytes(),
                       compute_s=t_c, memory_s=t_m, details={"fused": True, "ctas": ctas})
    parts = []
    layers = list(zip(op.layers[:-1], op.layers[1:]))
    for i, (din, dout) in enumerate(layers):
        g = _gemm_pred(spec, "mlp", op.batch, din, dout, 1, op.dtype)
        parts.append(attrs.evolve(g, details={**g.details, "part": f"layer{i}.gemm"}))
        if op.activation != "none" and i < len(layers) - 1:
            a = _stream(spec, "mlp", 2.0 * op.batch * dout * b, op.batch * dout * b,
                        float(op.batch * dout), op.dtype)
            parts.append(attrs.evolve(a, details={**a.details, "part": f"layer{i}.{op.activation}"}))
    return _seq(spec, "mlp", parts, {"fused": False})


# ----------------------------------------------------------------------------- attention

def predict_attention(spec, op) -> Prediction:
    """Attention as the implementation `spec.kernels.attention` runs it: the fused kernels
    (SDPA's default choice - what the calibration measured -, flash, memory-efficient, cuDNN,
    the FlashAttention-2 library) by `_fused_attention` at `kernels.attn_impl_rate[impl]` of the
    calibrated rate; SDPA's 'math' path as its kernels (`_math_attention`). GQA per
    `kernels.gqa`: native, K/V expanded beforehand (K/V read per query head), or expanded in
    the call (plus a copy kernel)."""
    k = spec.kernels
    if k.attention == "math":
        p = _math_attention(spec, op)
    else:
        p = _fused_attention(spec, op, rate=k.attn_impl_rate.get(k.attention, 1.0),
                             expanded=op.heads != op.kv_heads and k.gqa != "native")
    if op.heads != op.kv_heads and k.gqa == "expand_per_call":
        b = DTYPE_BYTES[op.dtype]
        g = op.heads // op.kv_heads
        kv = 2.0 * op.batch * op.kv_len * op.head_dim * b
        # repeat_interleave along heads: a copy from a broadcast (expanded) source, per tensor
        n_out = 2.0 * op.batch * op.heads * op.kv_len * op.head_dim
        cp = _elementwise(spec, "attention", n_out, kv * (op.kv_heads + op.heads), kv * op.kv_heads, 0.0,
                          "fp32", "broadcast")
        p = _sum_parts(spec, "attention", [p, attrs.evolve(cp, details={**cp.details, "part": f"repeat_kv x{g}"})],
                       {**p.details})
    return attrs.evolve(p, details={**p.details, "attention_impl": k.attention, "gqa": k.gqa})


def _math_attention(spec, op) -> Prediction:
    """SDPA's math path as ATen runs it (`_scaled_dot_product_attention_math`, PyTorch 2.5+):
    with `kernels.math_fp32` fp16/bf16 Q, K, V are upcast to fp32 (one copy kernel each); with
    native GQA, K and V are repeat_interleave'd to every query head; Q and K^T are each scaled by
    sqrt(scale) (an elementwise kernel each, K^T at the expanded size); S = Q K^T (batched GEMM
    per query head, in the accumulation dtype); a causal call builds its L x S mask (ones, tril,
    logical_not, where: four small kernels) and adds it to S; `_safe_softmax` reads and writes S
    and zeroes fully masked rows (isneginf over S, an all() per row, a where over S); O = P V;
    O and P are both cast back to the input dtype (ATen returns P too). S and P go through DRAM.
    Kernel list checked on the H100 (benchmarks/gpu/measurements/h100-2026-12-07-math-sdpa.*,
    torch 2.11: 14 kernels expanded / 16 native decode, 20 / 22 causal prefill)."""
    b = DTYPE_BYTES[op.dtype]
    up = spec.kernels.math_fp32 and op.dtype in ("fp16", "bf16")
    acc_dt = "fp32" if up else op.dtype
    a = 4 if up else b
    bh = op.batch * op.heads
    expand = op.heads != op.kv_heads and spec.kernels.gqa == "native"
    kv_heads_in = op.kv_heads if expand else op.heads
    q_el = float(bh) * op.q_len * op.head_dim
    kv_el = float(op.batch) * kv_heads_in * op.kv_len * op.head_dim     # K (or V) as passed in
    kx_el = float(bh) * op.kv_len * op.head_dim                           # ... at every query head
    s_el = float(bh) * op.q_len * op.kv_len
    ls_el = float(op.q_len) * op.kv_len

    def ew(part, n_el, rd_b, wr_b, flops=0.0, access="contiguous"):
        args = ("attention", n_el * (rd_b + wr_b), n_el * rd_b, flops, acc_dt)
        p = _elementwise(spec, args[0], n_el, *args[1:], access)
        return attrs.evolve(p, details={**p.details, "part": part})

    # non-vectorised kernels (dtype conversions, broadcast sources): the upcasts, the repeats,
    # the mask add and the softmax's where (H100 profile: elementwise_kernel<128, 2> /
    # unrolled_elementwise_kernel); the scales, isneginf and the casts back are vectorised
    parts = []
    if up:
        parts += [ew("q_to_fp32", q_el, b, a, access="broadcast"), ew("k_to_fp32", kv_el, b, a, access="broadcast"),
                  ew("v_to_fp32", kv_el, b, a, access="broadcast")]
    if expand:
        parts += [ew("k_repeat", kx_el, a * kv_el / kx_el, a, access="broadcast"),
                  ew("v_repeat", kx_el, a * kv_el / kx_el, a, access="broadcast")]
    parts += [ew("q_scale", q_el, a, a, q_el), ew("kt_scale", kx_el, a, a, kx_el)]
    qk = _gemm_pred(spec, "attention", op.q_len, op.head_dim, op.kv_len, bh, acc_dt)
    parts.append(attrs.evolve(qk, details={**qk.details, "part": "qk"}))
    if op.causal:
        parts += [ew("mask_ones", ls_el, 0, 1), ew("mask_tril", ls_el, 1, 1), ew("mask_not", ls_el, 1, 1),
                  ew("mask_where", ls_el, 1, b)]
        parts.append(ew("mask_add", s_el, a + b * ls_el / s_el, a, s_el, access="broadcast"))
    # _safe_softmax (ATen): softmax, then rows that were all -inf are zeroed: isneginf over S
    # (bool out), an all-reduce per row, a fill and a where over S
    rows = float(bh) * op.q_len
    parts += [ew("softmax", s_el, a, a, 5.0 * s_el), ew("isneginf", s_el, a, 1),
              ew("row_all", s_el, 1, rows / s_el), ew("where_rows", s_el, a + rows / s_el, a, access="broadcast")]
    pv = _gemm_pred(spec, "attention", op.q_len, op.kv_len, op.head_dim, bh, acc_dt)
    parts.append(attrs.evolve(pv, details={**pv.details, "part": "pv"}))
    if up:
        parts += [ew("o_to_input_dtype", q_el, a, b), ew("p_to_input_dtype", s_el, a, b)]
    return _sum_parts(spec, "attention", parts, {"phase": "math", "math_dtype": acc_dt})


def _fused_attention(spec, op, *, rate: float = 1.0, expanded: bool = False) -> Prediction:
    """FlashAttention-style SDPA: one kernel; tensor rate = attn_fraction x head-dim factor
    hd(128 + h)/(128 (hd + h)) (1 at hd = 128); 128-query CTAs per (batch, head) in waves;
    DRAM traffic = Q, O once per query head and K, V once per KV head (GQA: the query heads of
    a group share the K/V stream through L2; chunked prefill: once per query head); decode is
    K/V streaming at attn_bw_fraction."""
    eff = spec.efficiency
    b = DTYPE_BYTES[op.dtype]
    peak, unit, used = tensor_peak(spec, op.dtype)
    h = eff.attn_head_dim_half
    hd_factor = op.head_dim * (128.0 + h) / (128.0 * (op.head_dim + h))
    frac = eff.attn_fraction * hd_factor * rate
    chunked = op.causal and 1 < op.q_len < op.kv_len
    if chunked:       # bottom-right causal mask: an explicit mask, not the flash kernel's causal path
        frac *= eff.attn_chunked_fraction
    frac = min(1.0, frac)
    q_tiles = math.ceil(op.q_len / 128)
    ctas = op.batch * op.heads * q_tiles
    k = spec.kernels
    # (decode only: in prefill these kernels' smaller query tiles give about as many CTAs as the
    # split model assumes; measured on the H100 for decode)
    no_split = k.attention in k.attn_no_kv_split and op.q_len == 1
    # too few (batch, head, query-tile) CTAs to fill the GPU: the KV range is split over more
    # CTAs (flash-decoding style), at most one split per 1024 keys, unless the kernel cannot
    splits = 1 if no_split else max(1, min(math.ceil(op.kv_len / 1024), spec.sm_count // max(ctas, 1)))
    ctas *= splits
    t_c = op.flops() / (peak * frac) * wave_factor(ctas, spec.sm_count)
    q_o = 2.0 * op.batch * op.heads * op.q_len * op.head_dim * b
    # chunked prefill goes through SDPA's masked (memory-efficient) path, which streams K/V per
    # query head: no GQA sharing (measured on the H200: 4x the K/V traffic at 32/8 heads)
    kv_streams = op.heads if (chunked or expanded) else op.kv_heads
    kv = 2.0 * op.batch * kv_streams * op.kv_len * op.head_dim * b
    t_m = dram_time(spec, q_o + kv, eff.attn_bw_fraction)
    if no_split:
        # one CTA streams a (batch, head)'s whole K/V; the CTAs run side by side
        t_m = max(t_m, 2.0 * op.kv_len * op.head_dim * b / (k.attn_cta_stream_gb_s * 1e9))
    t = smax(t_c, t_m, eff.smoothmax_p) + eff.attn_fixed_us * 1e-6 * clock_scale(spec)
    return _single(spec, "attention", t, flops_by={f"{unit}:{used}": op.flops()}, dram=q_o + kv,
                   dram_read=q_o / 2 + kv, compute_s=t_c, memory_s=t_m,
                   details={"ctas": ctas, "phase": "decode" if op.q_len == 1 else
                            ("chunked_prefill" if chunked else "prefill")})


# ----------------------------------------------------------------------------- top-k, retrieval

def _topk_pred(spec, rows: int, n: int, k: int, dtype: str) -> Prediction:
    """Radix-select top-k (torch.topk): single-row latency grows as (n/1024)^exponent; many rows
    cost topk_row_us per row per SM; the data streams at topk_bw_fraction of DRAM."""
    eff = spec.efficiency
    b = DTYPE_BYTES[dtype]
    ts = clock_scale(spec)
    # radix select makes one pass per digit: 16-bit keys need half the passes of 32-bit ones
    t_lat = (eff.topk_row_latency_us * 1e-6 * (n / 1024.0) ** eff.topk_latency_exponent * ts
             * (b / 4.0) ** eff.topk_dtype_exponent)
    nbytes = rows * n * b
    t_bw = nbytes / min(dram_rate(spec) * eff.topk_bw_fraction, spec.dram_bandwidth_gb_s * 1e9)
    t_rows = rows * eff.topk_row_us * 1e-6 * (n / 1024.0) ** eff.topk_row_exponent / spec.sm_count * ts
    out = rows * k * (b + 8)
    # the k results are returned sorted: a k log2 k sort per row, rows spread over the SMs
    t_sort = math.ceil(rows / spec.sm_count) * k * math.log2(max(k, 2)) * eff.topk_sort_ns * 1e-9 * ts
    t = smax(t_lat, t_bw, eff.smoothmax_p) + t_rows + t_sort + dram_time(spec, out)
    return _single(spec, "topk", t, flops_by={}, dram=nbytes + out, dram_read=nbytes,
                   compute_s=t_lat + t_rows, memory_s=t_bw,
                   details={"part": "topk"})


def predict_topk(spec, op) -> Prediction:
    return _topk_pred(spec, op.rows, op.n, op.k, op.dtype)


def predict_kv_retrieve(spec, op) -> Prediction:
    """Exact token-level retrieval as the GPU runs it: (1) scores Q K^T per KV head
    (batched GEMM, m = queries, k = head_dim, n = kv_len), (2) sum over the queries in fp32
    (cast + reduce kernels), (3) top-`selected` per KV head, (4) gather the selected K and V
    rows. `method = "resv"` is modelled the same way (the op carries no cluster parameters)."""
    b = DTYPE_BYTES[op.dtype]
    rows = op.batch * op.kv_heads
    parts = [_gemm_pred(spec, "kv_retrieve", op.queries, op.head_dim, op.kv_len, rows, op.dtype)]
    ql = rows * op.queries * op.kv_len
    parts.append(_stream(spec, "kv_retrieve", ql * (b + 4), ql * b, 0.0, "fp32"))          # .float()
    parts.append(_stream(spec, "kv_retrieve", ql * 4 + rows * op.kv_len * 4, ql * 4, float(ql), "fp32"))
    if op.selected > 0:
        parts.append(_topk_pred(spec, rows, op.kv_len, op.selected, "fp32"))
        table = rows * op.kv_len * op.head_dim * b
        for _ in range(2):                      # K and V
            g = predict_gather(spec, _GatherShape(rows=rows * op.selected, row_bytes=op.head_dim * b,
                                                  table_bytes=table))
            parts.append(g)
    # PyTorch also makes framework calls that launch no kernel (k.transpose, matmul's reshapes,
    # indices.unsqueeze, .expand, ...): kv_host_calls in all, kernels included
    kernels = sum(p.kernels for p in parts)
    return _seq(spec, "kv_retrieve", parts, {"method": op.method},
                host_views=max(0.0, spec.efficiency.kv_host_calls - kernels))


@attrs.frozen
class _GatherShape:
    rows: int
    row_bytes: int
    table_bytes: int


# ----------------------------------------------------------------------------- generic fallback

def predict_generic(spec, op) -> Prediction:
    """Op kinds this model does not know: roofline + launch. FLOPs from op.flops() (tensor
    rate of op.dtype if it has one, else vector FP32), bytes from op.min_bytes(). An op with
    `launches` = L > 1 runs as L equal kernels back to back (each 1/L of the work, each with
    its own launch and DRAM ramp)."""
    eff = spec.efficiency
    launches = max(1, int(getattr(op, "launches", 1)))
    flops = (float(op.flops()) if hasattr(op, "flops") else 0.0) / launches
    nbytes = (float(op.min_bytes()) if hasattr(op, "min_bytes") else 0.0) / launches
    dtype = getattr(op, "dtype", "fp32")
    if dtype not in DTYPE_BYTES:
        dtype = "fp32"
    peak, unit, used = tensor_peak(spec, dtype)
    frac = min(1.0, getattr(eff.gemm_fraction, used) if unit == "t" else eff.vector_fraction)
    t_c = flops / (peak * frac) if flops else 0.0
    t_m = dram_time(spec, nbytes)
    p = _single(spec, op.KIND, smax(t_c, t_m, eff.smoothmax_p),
                flops_by={f"{unit}:{used}": flops} if flops else {}, dram=nbytes,
                dram_read=nbytes, compute_s=t_c, memory_s=t_m,
                details={"model": "generic roofline + launch"})
    if launches == 1:
        return p
    return attrs.evolve(p, latency_s=p.latency_s * launches, flops=p.flops * launches,
                        flops_by_dtype={k: v * launches for k, v in p.flops_by_dtype.items()},
                        dram_bytes=p.dram_bytes * launches, dram_read_bytes=p.dram_read_bytes * launches,
                        l2_bytes=p.l2_bytes * launches, l2_random_bytes=p.l2_random_bytes * launches,
                        kernels=p.kernels * launches,
                        details={**p.details, "compute_s": t_c * launches, "memory_s": t_m * launches,
                                 "launches": launches})


# ----------------------------------------------------------------------------- LLM ops
# (archsim.workloads.llm.ops; docs/llm.md "What each block does with the LLM ops")

def _sum_parts(spec, kind, parts: list[Prediction], details=None) -> Prediction:
    """Kernels of one op launched back to back (no host issue floor: serving stacks replay
    them from CUDA graphs); times, FLOPs and bytes add up."""
    lat = sum(p.latency_s for p in parts)
    flops: dict = {}
    for p in parts:
        for k, v in p.flops_by_dtype.items():
            flops[k] = flops.get(k, 0.0) + v
    comp = sum(p.details.get("compute_s", 0.0) for p in parts)
    mem = sum(p.details.get("memory_s", 0.0) for p in parts)
    kernels = sum(p.kernels for p in parts)
    bound = "latency" if launch_s(spec) * kernels > 0.5 * lat else ("compute" if comp >= mem else "memory")
    return Prediction(latency_s=lat, flops=sum(flops.values()), flops_by_dtype=flops,
                      dram_bytes=sum(p.dram_bytes for p in parts),
                      dram_read_bytes=sum(p.dram_read_bytes for p in parts),
                      l2_bytes=sum(p.l2_bytes for p in parts),
                      l2_random_bytes=sum(p.l2_random_bytes for p in parts), kernels=kernels, bound=bound,
                      kind=kind, details={"compute_s": comp, "memory_s": mem, **(details or {}),
                                          "parts": [p.details.get("part", p.kind) for p in parts]})


def _weight_gemm(spec, kind, m, k, n, batch, dtype, w_bytes, part="", rows: float | None = None) -> Prediction:
    """A GEMM whose B operand (the weights, `batch` instances) is stored in `w_bytes` bytes in
    all (quantised: fewer than k x n x dtype bytes): the GEMM model's compute time at the
    activation dtype, DRAM time of activations + stored weights + output. Weight-only formats
    are dequantised in the main loop at no extra cost (Marlin-style kernels). `rows`: the
    useful rows in all when the `batch` x `m` tiles are padding (grouped GEMMs): FLOPs count
    those, the time the padded tiles."""
    g = gemm_core(spec, m, k, n, batch, dtype)
    if rows is not None:
        g["flops"] = {key: 2.0 * rows * k * n for key in g["flops"]}
    b = DTYPE_BYTES[dtype]
    useful = batch * m if rows is None else rows
    act_in = useful * k * b
    out = useful * n * {"fp8": 2, "int8": 4}.get(dtype, b)
    dram = act_in + w_bytes + out
    t_m = dram_time(spec, dram)
    t = smax(g["compute_s"], t_m, spec.efficiency.smoothmax_p)
    p = _single(spec, kind, t, flops_by=g["flops"], dram=dram, dram_read=act_in + w_bytes,
                compute_s=g["compute_s"], memory_s=t_m,
                details={"tile": g["tile"], "split_k": g["split_k"], "waves": g["waves"], "weight_bytes": w_bytes})
    return attrs.evolve(p, details={**p.details, "part": part or kind})


def predict_linear(spec, op) -> Prediction:
    """`linear`: unquantised = the `gemm` model exactly; quantised weights = the same compute
    with the stored weight bytes (+ scales) on the DRAM side."""
    if op.weight_dtype == op.dtype:
        return _gemm_pred(spec, "linear", op.tokens, op.in_features, op.out_features, 1, op.dtype)
    return _weight_gemm(spec, "linear", op.tokens, op.in_features, op.out_features, 1, op.dtype, op.weight_bytes())


def _kernel(spec, sub) -> Prediction:
    """One kernel of an LLM op's kernel sequence, by the core op's own model."""
    p = MODELS[sub.KIND](spec, sub)
    return attrs.evolve(p, details={**p.details, "part": sub.name.rsplit(".", 1)[-1] if "." in sub.name else sub.name})


def predict_grouped_gemm(spec, rows: list[int], k: int, n: int, dtype: str) -> Prediction:
    """One grouped GEMM kernel (torch._grouped_mm / CUTLASS grouped) over len(rows) groups of
    rows x k @ k x n, each group with its own weights, preceded by its prepare kernel: the
    groups' tiles as one batched GEMM at the mean group height (padded tiles timed, useful
    FLOPs counted), all groups' weights read once."""
    rows = [r for r in rows if r > 0]
    if not rows:
        return _stream(spec, "gemm", 64.0, 32.0, 0.0, "fp32")
    m = math.ceil(sum(rows) / len(rows))
    g = _weight_gemm(spec, "gemm", m, k, n, len(rows), dtype, float(len(rows)) * k * n * DTYPE_BYTES[dtype],
                     part="grouped_gemm", rows=sum(rows))
    prep = _stream(spec, "gemm", 64.0 * len(rows), 32.0 * len(rows), 0.0, "fp32")
    return _sum_parts(spec, "gemm", [attrs.evolve(prep, details={**prep.details, "part": "prepare"}), g])


def predict_moe_ffn(spec, op) -> Prediction:
    """`moe_ffn` as grouped GEMMs (one kernel per GEMM over all active experts), up(+gate) over
    the active experts' tokens, the activation, down. Weight bytes: the expected active experts
    only; each active expert's rows padded to whole GEMM tiles (per-group tile quantisation).
    impl torch (the torch._grouped_mm sequence measured on the H100): the routing kernels
    (softmax, top-k, renormalisation, the sort / scan dispatch index, the row gather), a
    prepare kernel before each grouped GEMM, SiLU and multiply as two kernels, the combine
    (weights gathered, cast, multiplied, index_add into a zeroed output) and the shared experts
    as one dense FFN + add. impl fused: the grouped GEMMs and one activation kernel per group
    (routed, shared)."""
    torch_impl = op.impl == "torch"
    b = DTYPE_BYTES[op.dtype]
    ffn_in = (2 if op.gated else 1) * op.expert_ffn
    w_up = op.hidden * ffn_in / op.expert_params()
    per_expert = op.weight_bytes() / max(op.active_experts() + op.shared_experts, 1e-9)
    parts = [_kernel(spec, k) for k in op.route_kernels()]
    n_act = op.active_experts()
    routed = op.tokens * op.top_k
    groups = [("routed", n_act, routed)]
    if not torch_impl:
        groups.append(("shared", float(op.shared_experts), op.tokens * op.shared_experts))
    for tag, n, total_rows in groups:
        if n <= 0:
            continue
        nb = max(1, min(total_rows, round(n)))
        m = math.ceil(total_rows / nb)            # rows per expert tile (padded)
        prep = (_stream(spec, "moe_ffn", 64.0 * op.experts, 32.0 * op.experts, 0.0, "fp32")
                if torch_impl else None)
        if prep is not None:
            parts.append(attrs.evolve(prep, details={**prep.details, "part": f"{tag}.up_prepare"}))
        parts.append(_weight_gemm(spec, "moe_ffn", m, op.hidden, ffn_in, nb, op.dtype,
                                  n * per_expert * w_up, part=f"{tag}.up", rows=total_rows))
        act_kernels = 2 if (torch_impl and op.gated) else 1
        for i in range(act_kernels):
            if act_kernels == 1:
                nbytes, rd = (total_rows * op.expert_ffn * b * (3 if op.gated else 2),
                              total_rows * op.expert_ffn * b * (2 if op.gated else 1))
                fl = float(total_rows * op.expert_ffn) * (5.0 if op.gated else 8.0)
            else:       # silu(gate), then * up
                nbytes, rd = total_rows * op.expert_ffn * b * (2 + i), total_rows * op.expert_ffn * b * (1 + i)
                fl = float(total_rows * op.expert_ffn) * (4.0 if i == 0 else 1.0)
            # torch: the kernels read the gate and up halves of the grouped GEMM's fused output
            # (strided views): the non-vectorised elementwise path
            a = _elementwise(spec, "moe_ffn", total_rows * op.expert_ffn, nbytes, rd, fl, op.dtype,
                             "strided" if torch_impl and op.gated else "contiguous")
            parts.append(attrs.evolve(a, details={**a.details, "part": f"{tag}.act{i if act_kernels > 1 else ''}"}))
        if prep is not None:
            parts.append(attrs.evolve(prep, details={**prep.details, "part": f"{tag}.down_prepare"}))
        parts.append(_weight_gemm(spec, "moe_ffn", m, op.expert_ffn, op.hidden, nb, op.dtype,
                                  n * per_expert * (1 - w_up), part=f"{tag}.down", rows=total_rows))
    parts += [_kernel(spec, k) for k in op.combine_kernels()]
    for k in op.shared_kernels():
        if k.KIND == "gemm":        # the shared experts' weights at their stored bytes
            wb = per_expert * op.shared_experts * (w_up if k.name.endswith("gate_up") else 1 - w_up)
            g = (_gemm_pred(spec, "moe_ffn", k.m, k.k, k.n, 1, op.dtype) if op.weight_dtype == op.dtype else
                 _weight_gemm(spec, "moe_ffn", k.m, k.k, k.n, 1, op.dtype, wb))
            parts.append(attrs.evolve(g, details={**g.details, "part": k.name.rsplit(".", 1)[-1]}))
        else:
            parts.append(_kernel(spec, k))
    return _sum_parts(spec, "moe_ffn", parts, {"active_experts": n_act, "impl": op.impl,
                                               "tokens_per_active_expert": op.tokens_per_active_expert()})


def predict_mla_attention(spec, op) -> Prediction:
    """`mla_attention`. naive: the decompression GEMM (latent -> per-head K_nope and V for every
    cached token) + FlashAttention over heads x (nope + rope) / v_head_dim. absorbed (FlashMLA
    style): q_nope @ W_UK^T per head, one attention kernel of all heads against the latent
    (its compute from the attention model at the latent widths; its DRAM traffic the queries,
    outputs and the latent read once), then @ W_UV per head."""
    from archsim.workloads.ops import Attention
    dqk, dv = op._attn_dims()
    att_dtype = op.kv_dtype if op.kv_dtype == "fp8" else op.dtype
    if op.impl == "torch":
        # PyTorch's kernels (naive: per-head cache + SDPA; absorbed: batched GEMMs), each by its
        # core model
        parts = []
        for sub, count in op.torch_kernels():
            if sub.KIND == "gemm":
                g = _gemm_pred(spec, "mla_attention", sub.m, sub.k, sub.n, count, sub.dtype)
                parts.append(attrs.evolve(g, details={**g.details, "part": sub.name.rsplit(".", 1)[-1]}))
            else:
                parts.append(_kernel(spec, sub))
        return _sum_parts(spec, "mla_attention", parts, {"form": op.form, "impl": "torch"})
    if op.form == "naive":
        up = _gemm_pred(spec, "mla_attention", op.batch * op.kv_len, op.kv_lora_rank,
                        op.heads * (op.qk_nope_dim + op.v_head_dim), 1, op.dtype)
        att = predict_attention(spec, Attention(batch=op.batch, q_len=op.q_len, kv_len=op.kv_len, heads=op.heads,
                                                kv_heads=op.heads, head_dim=max(1, (dqk + dv) // 2),
                                                dtype=att_dtype, causal=op.causal))
        return _sum_parts(spec, "mla_attention", [attrs.evolve(up, details={**up.details, "part": "kv_up"}),
                                                  attrs.evolve(att, details={**att.details, "part": "attention"})],
                          {"form": "naive"})
    tok = op.batch * op.q_len
    q_abs = _gemm_pred(spec, "mla_attention", tok, op.qk_nope_dim, op.kv_lora_rank, op.heads, op.dtype)
    core = predict_attention(spec, Attention(batch=op.batch, q_len=op.q_len, kv_len=op.kv_len, heads=op.heads,
                                             kv_heads=1, head_dim=max(1, (dqk + dv) // 2), dtype=att_dtype,
                                             causal=op.causal))
    q_o = float(tok) * op.heads * (dqk + dv) * DTYPE_BYTES[att_dtype]
    traffic = q_o + op.latent_bytes()
    t_m = dram_time(spec, traffic, spec.efficiency.attn_bw_fraction)
    t_c = core.details["compute_s"]
    t = smax(t_c, t_m, spec.efficiency.smoothmax_p) + spec.efficiency.attn_fixed_us * 1e-6 * clock_scale(spec)
    core = _single(spec, "mla_attention", t, flops_by=core.flops_by_dtype, dram=traffic,
                   dram_read=q_o / 2 + op.latent_bytes(), compute_s=t_c, memory_s=t_m,
                   details={"part": "latent_attention"})
    v_abs = _gemm_pred(spec, "mla_attention", tok, op.kv_lora_rank, op.v_head_dim, op.heads, op.dtype)
    return _sum_parts(spec, "mla_attention", [attrs.evolve(q_abs, details={**q_abs.details, "part": "q_absorb"}),
                                              core, attrs.evolve(v_abs, details={**v_abs.details, "part": "v_absorb"})],
                      {"form": "absorbed"})


def predict_kv_write(spec, op) -> Prediction:
    return _stream(spec, "kv_write", 2.0 * op.bytes(), float(op.bytes()), 0.0, "fp32")


def predict_embedding(spec, op) -> Prediction:
    b = DTYPE_BYTES[op.dtype]
    return predict_gather(spec, _GatherShape(rows=op.tokens, row_bytes=op.hidden * b,
                                             table_bytes=op.vocab * op.hidden * b))


def predict_norm_like(spec, op) -> Prediction:
    """`norm`: one streaming kernel (read, write) at the vector rate. `rope`: its kernel
    sequence (impl torch: rotate_half, 5 streaming kernels per tensor; fused: one)."""
    if op.KIND == "rope" and op.impl == "torch":
        return _sum_parts(spec, "rope", [_kernel(spec, k) for k in op.kernels()], {"impl": "torch"})
    return _stream(spec, op.KIND, op.min_bytes(), op.min_bytes() / 2, op.flops(), op.dtype)


MODELS: dict[str, Callable] = {
    "gemm": predict_gemm, "conv2d": predict_conv2d, "mlp": predict_mlp,
    "hash_encode": predict_hash_encode, "attention": predict_attention,
    "kv_retrieve": predict_kv_retrieve, "elementwise": predict_elementwise, "copy": predict_copy,
    "topk": predict_topk, "gather": predict_gather,
    "linear": predict_linear, "moe_ffn": predict_moe_ffn, "mla_attention": predict_mla_attention,
    "kv_write": predict_kv_write, "embedding": predict_embedding, "norm": predict_norm_like,
    "rope": predict_norm_like,
}


def predict(spec, op) -> Prediction:
    """The prediction for one execution of `op` (repeat is applied by the simulator)."""
    fn = MODELS.get(op.KIND, predict_generic)
    return fn(spec, op)


# ----------------------------------------------------------------------------- power cap

def time_at_clock(spec, p: Prediction, x: float) -> float:
    """The op's time with the SM clock at x times the boost clock: its compute part stretches by
    1/x, its memory part does not (the HBM clock is its own), overlapped as the model overlaps them."""
    if x >= 1.0:
        return p.latency_s
    t_c, t_m = p.details.get("compute_s", 0.0), p.details.get("memory_s", 0.0)
    if t_c <= 0.0:
        return p.latency_s
    q = spec.efficiency.smoothmax_p
    return p.latency_s - smax(t_c, t_m, q) + smax(t_c / x, t_m, q)


def capped_clock(spec, p: Prediction) -> dict:
    """The clock the power cap allows for this op's activity, and the op at that clock.

    At clock fraction x of the boost clock (voltage V(x) = a + (1 - a) x, a =
    power_cap.voltage_floor_fraction): time t(x) (time_at_clock), on-chip dynamic energy (FLOPs,
    L2) x V(x)^2, DRAM dynamic energy unchanged, board power P(x) = idle + dynamic / t(x). If
    P(1) <= tdp_w the op runs at boost; else x solves P(x) = tdp_w (bisection; P falls with x),
    not below power_cap.min_clock_fraction. Returns {x, clock_ghz, latency_s, energy_j,
    breakdown, power_w, capped}."""
    pc = spec.power_cap
    onchip, dram = p.dynamic_parts(spec)
    a = pc.voltage_floor_fraction

    def at(x):
        t = time_at_clock(spec, p, x)
        v2 = (a + (1.0 - a) * x) ** 2
        br = {"static": spec.idle_power_w * t, "compute": 0.0, "l2": 0.0, "dram": dram}
        tot_on = onchip * v2
        return t, br, tot_on

    def power(x):
        t, br, on = at(x)
        return (br["static"] + br["dram"] + on) / t
    x = 1.0
    capped = power(1.0) > spec.tdp_w
    if capped:
        lo, hi = pc.min_clock_fraction, 1.0
        if power(lo) >= spec.tdp_w:
            x = lo
        else:
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if power(mid) > spec.tdp_w:
                    hi = mid
                else:
                    lo = mid
            x = lo
    t, br, on = at(x)
    # split the on-chip energy between FLOPs and L2 as at the boost clock
    full_on = onchip
    flop_share = 1.0
    if full_on > 0:
        e = spec.energy
        l2 = ((p.l2_bytes - p.l2_random_bytes) * e.l2_pj_per_byte
              + p.l2_random_bytes * e.l2_random_pj_per_byte) * e.onchip_scale * 1e-12
        flop_share = 1.0 - l2 / full_on
    br["compute"] = on * flop_share
    br["l2"] = on * (1.0 - flop_share)
    energy = sum(br.values())
    return {"x": x, "clock_ghz": x * spec.boost_clock_ghz, "latency_s": t, "energy_j": energy,
            "breakdown": br, "power_w": energy / t if t > 0 else 0.0, "capped": capped}


# ----------------------------------------------------------------------------- protocol

VECTOR_KINDS = ("elementwise", "copy", "gather", "topk", "norm", "rope", "kv_write", "embedding",
                "hash_encode", "kv_retrieve")


def memory_capacity_bytes(spec: Spec) -> float:
    """Device memory for the LLM fit check."""
    return spec.dram_capacity_gib * 2**30


def roofline_peaks(spec: Spec, op) -> tuple[float, float]:
    """(peak FLOP/s for this op's work, peak DRAM bytes/s): the tensor-core dense peak of the
    op's dtype for matrix work, the vector peak for element-wise work."""
    dtype = getattr(op, "dtype", "fp32")
    if dtype not in DTYPE_BYTES:
        dtype = "fp32"
    peak = vector_peak(spec, dtype) if op.KIND in VECTOR_KINDS else tensor_peak(spec, dtype)[0]
    return peak, spec.dram_bandwidth_gb_s * 1e9


def supports(spec: Spec, op) -> bool:
    return op.KIND in MODELS or hasattr(op, "flops") or hasattr(op, "min_bytes")


def evaluate(spec: Spec, op, ctx: EvalContext | None = None) -> OpResult:
    name = ctx.component_name if ctx is not None else "gpu"
    p = predict(spec, op)
    clock = spec.boost_clock_ghz
    if spec.power_cap.mode == "sustained":
        c = capped_clock(spec, p)
        energy, breakdown, capped, clock = c["energy_j"], c["breakdown"], c["capped"], c["clock_ghz"]
        if capped:
            p = attrs.evolve(p, latency_s=c["latency_s"])
    else:
        energy, breakdown, capped = p.energy(spec)
    actions = {f"mac.{d}": f / 2.0 for d, f in p.flops_by_dtype.items() if f > 0}
    if p.dram_bytes:
        actions["dram.read_bytes"] = p.dram_read_bytes
        actions["dram.write_bytes"] = p.dram_bytes - p.dram_read_bytes
    band = p.error_band(spec)
    return OpResult(
        name=op.name or op.KIND, op=op.KIND, component=name,
        cycles=int(round(p.latency_s * spec.boost_clock_ghz * 1e9)),
        latency_s=p.latency_s, flops=p.flops, dram_bytes=p.dram_bytes, bound=p.bound,
        actions=actions,
        details={**p.details, "l2_bytes": p.l2_bytes, "kernels": p.kernels,
                 "power_capped": capped, "avg_power_w": energy / p.latency_s,
                 "sm_clock_ghz": clock, "power_cap_mode": spec.power_cap.mode,
                 "calibration_device": spec.calibration.device or "uncalibrated priors"},
        energy_j=energy, energy_breakdown_j=breakdown, latency_error_band=band,
        placement=Placement(resource=f"{name}.sm"))
