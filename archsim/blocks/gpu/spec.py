"""GPU baseline block (`kind = "gpu"`): a parametric, calibrated per-kernel latency and energy
model of a GPU running each archsim op the way PyTorch / cuBLAS / cuDNN / FlashAttention /
Triton kernels run it.

The spec holds spec-sheet numbers (each with its source in `sources`) plus the efficiency
parameters of the latency model (`efficiency`, fitted by `archsim calibrate gpu` on H200
measurements and carried to other GPUs by the rules in docs/gpu.md) and the calibration's
provenance and per-op-kind error bands (`calibration`). The model itself lives in
archsim/blocks/gpu/model.py (with the component protocol's `supports` and `evaluate`), what
area and leakage are priced from in structure.py.

The GPU prices its own energy (OpResult.energy_j is set): static (idle) power x latency plus
dynamic energy per FLOP (by dtype and unit), per DRAM byte and per L2 byte, with average power
capped at the TDP. Its Structure carries the die area and idle power as fixed figures.
"""
from __future__ import annotations

from typing import Literal, Mapping

import attrs

from archsim.config.load import field
from archsim.errors import ConfigError

KIND = "gpu"


@attrs.frozen(kw_only=True)
class DtypeRates:
    """Dense peak rate per operand dtype, TFLOP/s (TOP/s for int8); omitted = no such unit.
    For `tensor_tflops`, fp32 means FP32 on the tensor cores (none on NVIDIA parts: leave it
    out); plain FP32 runs on the vector units (`vector_fp32_tflops`)."""
    int8: float | None = field(None, gt=0.0)
    fp8: float | None = field(None, gt=0.0)
    fp16: float | None = field(None, gt=0.0)
    bf16: float | None = field(None, gt=0.0)
    tf32: float | None = field(None, gt=0.0)
    fp32: float | None = field(None, gt=0.0)


@attrs.frozen(kw_only=True)
class DtypeFractions:
    """Achieved fraction of the dtype's dense peak for large, aligned GEMMs (fitted)."""
    int8: float = field(0.75, gt=0.0, le=1.2)
    fp8: float = field(0.75, gt=0.0, le=1.2)
    fp16: float = field(0.8, gt=0.0, le=1.2)
    bf16: float = field(0.8, gt=0.0, le=1.2)
    tf32: float = field(0.8, gt=0.0, le=1.2)
    fp32: float = field(0.8, gt=0.0, le=1.2)


@attrs.frozen(kw_only=True)
class DtypeEnergies:
    """Dynamic energy per FLOP (pJ) on the unit that runs the dtype (tensor cores for
    int8/fp8/fp16/bf16/tf32 GEMM-like work, vector units for fp32 and element-wise work)."""
    int8: float = field(0.5, gt=0.0)
    fp8: float = field(0.55, gt=0.0)
    fp16: float = field(1.1, gt=0.0)
    bf16: float = field(1.1, gt=0.0)
    tf32: float = field(2.0, gt=0.0)
    fp32: float = field(10.0, gt=0.0)


@attrs.frozen(kw_only=True)
class GpuEnergy:
    """Dynamic energy coefficients (board level, above idle power)."""
    pj_per_flop: DtypeEnergies = DtypeEnergies()
    dram_pj_per_byte: float = field(70.0, ge=0.0, doc="extra energy of a byte that comes from or "
                                    "goes to DRAM, on top of its L2 pass")
    l2_pj_per_byte: float = field(55.0, ge=0.0, doc="energy of a byte moved between L2 and the SMs")
    l2_random_pj_per_byte: float = field(55.0, ge=0.0, doc="energy of a byte of sector-granular "
                                         "random lookups (hash grids, row gathers) through L2")
    onchip_scale: float = field(1.0, gt=0.0, le=10.0, doc="process scaling of pj_per_flop and "
                                "l2_pj_per_byte from the device they were fitted on to this one "
                                "(tech.md section 3 factors; docs/gpu.md)")


@attrs.frozen(kw_only=True)
class GpuEfficiency:
    """Parameters of the latency model beyond the spec sheet. Defaults are priors (public
    rules of thumb, gpus.md pitfalls); `archsim calibrate gpu` fits them on measurements.
    Times (`_us`, `_ns`) are for the calibration device and are scaled to another GPU by
    SM count x clock (docs/gpu.md)."""
    smoothmax_p: float = field(4.0, ge=1.0, le=32.0, doc="overlap of compute and memory time: "
                               "t = (c^p + m^p)^(1/p); large p = perfect overlap (max)")
    dram_fraction: float = field(0.85, gt=0.0, le=1.0, doc="sustained fraction of peak DRAM bandwidth")
    dram_latency_us: float = field(1.0, ge=0.0, doc="ramp-up time of a DRAM-streaming kernel")
    l2_fraction: float = field(0.7, gt=0.0, le=3.0, doc="achieved fraction of l2_bandwidth_gb_s "
                               "for sector-granular random lookups")
    l2_effective_fraction: float = field(0.75, gt=0.0, le=1.0, doc="share of L2 capacity that "
                                         "holds a reused table (the rest: streaming data, ways)")
    vector_fraction: float = field(0.7, gt=0.0, le=1.2, doc="achieved fraction of vector peak")
    gemm_fraction: DtypeFractions = DtypeFractions()
    gemm_unaligned_fraction: DtypeFractions = field(
        DtypeFractions(int8=0.3, fp8=0.3, fp16=0.3, bf16=0.3, tf32=0.3, fp32=1.0),
        doc="tensor-core GEMM rate, relative to the aligned rate, when a leading dimension is "
            "not 16-byte aligned")
    gemm_unaligned_kstep_factor: float = field(2.0, ge=1.0, le=50.0, doc="main-loop stage "
                                               "latency of unaligned tensor-core GEMMs, relative")
    gemm_kstep_ns: float = field(100.0, ge=0.0, doc="latency floor of one 64-deep main-loop "
                                 "stage of a tile (bounds skinny, long-K GEMMs)")
    gemm_small_tile_exponent: float = field(0.3, ge=0.0, le=2.0, doc="per-SM efficiency of a "
                                            "tile Tm x Tn is ((Tm*Tn)/(128*256))^exponent")
    gemm_wave_overhead_us: float = field(0.3, ge=0.0, doc="time per wave of tiles beyond its "
                                         "MMA work (epilogue not hidden by the next tile)")
    gemm_streamk_overhead: float = field(0.3, ge=0.0, le=10.0, doc="stream-K GEMM schedule: "
                                         "relative overhead of spreading tiles over all SMs")
    gemm_fixed_us: float = field(1.0, ge=0.0, doc="once per GEMM kernel: pipeline fill and the "
                                 "last wave's epilogue")
    conv_fraction: float = field(0.7, gt=0.0, le=1.5, doc="conv (implicit GEMM, cuDNN) rate "
                                 "relative to the GEMM model")
    conv_fixed_us: float = field(2.0, ge=0.0, doc="extra fixed time of a cuDNN convolution")
    mlp_fused_fraction: float = field(0.6, gt=0.0, le=1.2, doc="fused-MLP tensor rate (as a "
                                      "fraction of the dtype's GEMM fraction) at infinite width")
    mlp_fused_fixed_us: float = field(1.0, ge=0.0, doc="fused MLP: prologue (weights to "
                                      "shared memory) per kernel")
    mlp_width_half: float = field(64.0, ge=0.0, doc="hidden width at which the fused MLP reaches "
                                  "half of mlp_fused_fraction")
    attn_fraction: float = field(0.6, gt=0.0, le=1.2, doc="FlashAttention tensor rate at head_dim 128")
    attn_head_dim_half: float = field(60.0, ge=0.0, doc="head_dim at which attention efficiency halves")
    attn_bw_fraction: float = field(0.85, gt=0.0, le=1.2, doc="decode attention: fraction of "
                                    "the DRAM rate reached streaming K/V")
    attn_chunked_fraction: float = field(0.7, gt=0.0, le=1.5, doc="chunked prefill (causal, "
                                         "1 < q_len < kv_len): rate relative to plain prefill")
    attn_fixed_us: float = field(5.0, ge=0.0, doc="extra fixed time of an SDPA call")
    hash_ns_per_lookup: float = field(0.002, ge=0.0, doc="issue time of one corner lookup, whole GPU")
    random_dram_fraction: float = field(0.5, gt=0.0, le=1.2, doc="DRAM rate for sector-granular "
                                        "random reads, as a fraction of the streaming rate")
    gather_ns_per_row: float = field(0.5, ge=0.0, doc="per-row issue cost of a row gather, whole GPU")
    broadcast_dram_fraction: float = field(
        0.656, gt=0.0, le=1.2, doc="DRAM rate of an elementwise kernel with access = 'broadcast' "
        "(a source broadcast along a dimension, e.g. repeat_interleave of K/V along heads, a mask "
        "add; or a dtype-converting copy such as bf16 -> fp32: elementwise_kernel<128, 2> / "
        "unrolled_elementwise_kernel), as a fraction of the streaming rate; such a kernel takes "
        "max(elements out x broadcast_ns_per_element, bytes / (rate x broadcast_dram_fraction)). Fitted: "
        "median of the 8 bf16 -> fp32 upcast kernels of >= 16 M elements in "
        "benchmarks/gpu/measurements/h100-2026-12-07-math-sdpa.json (H100, torch 2.11); held out: "
        "that file's fp32 repeat kernels and the attention records' expand_per_call and math rows. "
        "Every preset carries this H100 value (same kernels; not measured on another card)")
    broadcast_ns_per_element: float = field(
        0.00206, ge=0.0, doc="issue time per output element of an access = 'broadcast' elementwise "
        "kernel, whole GPU (see broadcast_dram_fraction). Fitted: median over the 12 repeat_interleave shapes of "
        ">= 32 M elements in benchmarks/gpu/measurements/h100-2026-12-07-repeat-kv.json (bf16 "
        "out: element-bound at 1.2 TB/s where a vectorised copy streams 3.0 TB/s)")
    strided_ns_per_element: float = field(
        0.00291, ge=0.0, doc="issue time per element of an elementwise kernel off the vectorised path "
        "(op access = 'strided': TensorIterator's elementwise_kernel<128, 4>, scalar loads and an "
        "offset calculation per element and operand), whole GPU; the kernel takes max(this x "
        "elements, its DRAM time). Fitted: 1 / median elements per second (344 G/s) of the 10 SiLU "
        "and multiply kernels of Llama-3-8B's prefill layers (bf16, gate and up halves of the fused "
        "gate_up output), benchmarks/gpu/measurements/h100-2026-12-07-run-b.json llm_profile; held "
        "out: the same kernel in Mixtral/DeepSeek experts' and shared SiLU/mul (335-347 G/s), RoPE's "
        "broadcast cos/sin multiplies (317) and neg (364), the MoE combine's broadcast weight "
        "multiply (382), run b2 (344); every preset carries this H100 value (same kernel)")
    atomic_ns_per_element: float = field(
        0.0080, ge=0.0, doc="issue time per element of an atomic-accumulate kernel (op access = "
        "'atomic': index_add with ReduceAdd, indexFuncLargeIndex, one scalar bf16 atomic "
        "read-modify-write in L2 per element), whole GPU; the kernel takes max(this x elements, "
        "its DRAM time). Fitted: 1 / median atomics per second (125 G/s) of the 3 MoE-combine "
        "index_add kernels of Mixtral-8x7B's prefill layers (top-2, 4096 wide), "
        "h100-2026-12-07-run-b.json llm_profile; held out: DeepSeek-V2-Lite's (top-6, 2048 wide; "
        "120-136 G/s, so contention of the top-k rows on one token row is not the limit) and run "
        "b2 (116-132); every preset carries this H100 value")
    topk_row_latency_us: float = field(2.0, ge=0.0, doc="top-k of one row of 1024: latency")
    topk_latency_exponent: float = field(0.3, ge=0.0, le=1.0, doc="top-k latency grows as (n/1024)^exponent")
    topk_bw_fraction: float = field(0.1, gt=0.0, le=1.2, doc="top-k streaming rate, fraction of DRAM")
    topk_row_us: float = field(0.5, ge=0.0, doc="per-row cost of top-k over many rows of 1024, per SM")
    topk_dtype_exponent: float = field(0.5, ge=0.0, le=2.0, doc="top-k latency scales as "
                                       "(dtype bytes / 4)^exponent (radix passes per key bit)")
    topk_sort_ns: float = field(0.05, ge=0.0, doc="sorting the k results: time per k log2 k "
                                "element of a row, per SM")
    topk_row_exponent: float = field(0.7, ge=0.0, le=1.5, doc="per-row cost grows as (n/1024)^exponent")
    kv_host_calls: float = field(11.0, ge=0.0, le=100.0, doc="framework calls of one exact "
                                 "kv_retrieve in PyTorch eager (kernels and views)")
    host_overlap: float = field(1.0, ge=0.0, le=1.0, doc="overlap of host issue and GPU work in "
                                "a multi-kernel op: 1 = max(host, gpu), 0 = host + gpu")
    host_dispatch_us: float = field(8.0, ge=0.0, doc="host time to issue one kernel in a "
                                    "multi-kernel op (PyTorch eager); 0 = CUDA graphs")


@attrs.frozen(kw_only=True)
class KernelChoice:
    """Which real kernels the model stands for, stated in every Report (the GPU Structure's
    notes -> provenance.structure_notes) and in each attention op's details."""
    attention: Literal["default", "flash", "efficient", "cudnn", "math", "flash_attn"] = field("default",
                           doc="attention implementation: 'default' = PyTorch SDPA's own choice (what the "
                               "calibration measured); 'flash' / 'efficient' / 'cudnn' = SDPA with that backend "
                               "forced; 'math' = SDPA's unfused reference path (scores materialised in DRAM); "
                               "'flash_attn' = the FlashAttention-2 library")
    gqa: Literal["native", "expanded", "expand_per_call"] = field("native",
                     doc="grouped-query attention: 'native' (enable_gqa: K/V read once per KV head), "
                         "'expanded' (K/V repeated to every query head beforehand), 'expand_per_call' "
                         "(repeat_interleave inside the call: an extra copy kernel)")
    math_fp32: bool = field(True, doc="attention = 'math' with fp16/bf16 inputs: the path upcasts Q, K, V "
                            "to fp32 and runs its GEMMs, mask and softmax in fp32 (PyTorch >= 2.5 default: "
                            "torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(False), "
                            "aten/src/ATen/native/transformers/attention.cpp "
                            "_scaled_dot_product_attention_math); false = computed in the input dtype")
    launch: Literal["eager", "cuda_graph"] = field("eager",
                        doc="'eager': PyTorch eager, a multi-kernel op is floored by the host's issue rate "
                            "(efficiency.host_dispatch_us per call); 'cuda_graph': replayed from a CUDA "
                            "graph, no host floor and graph_launch_overhead_us per kernel")
    graph_launch_overhead_us: float = field(1.2, ge=0.0, doc="fixed time of one kernel replayed from a CUDA "
                                            "graph (H100, benchmarks/gpu/measurements/h100-2026-12-07-run-a*: "
                                            "graph-replayed chains of 64-256 one-element kernels take 1.18-1.19 us "
                                            "per kernel back to back; eager ones 6.8-9.6 us, host-bound)")
    # tensor rate of each fused attention implementation relative to SDPA's default choice (the
    # kernel the calibrations measured). Fitted: median over the H100's 162 native-GQA shapes of
    # (default time / implementation time), h100-2026-12-07-run-a/b, section attn_impl: cuDNN
    # 1.0 (SDPA's default on Hopper), flash 0.875, memory-efficient 0.32; flash_attn (the
    # FlashAttention-2 library, not importable on the lent machine) taken as SDPA's flash.
    # 'math' is not a rate: it is modelled as its kernels.
    attn_impl_rate: Mapping[str, float] = attrs.field(
        factory=lambda: {"default": 1.0, "flash": 0.875, "flash_attn": 0.875, "efficient": 0.32, "cudnn": 1.0})
    # implementations whose decode kernel does not split the KV range over CTAs: one CTA per
    # (batch, head, query tile) streams its whole K/V at attn_cta_stream_gb_s. The memory-efficient
    # (cutlass) kernel, on the H100 records: its decode time per CTA is flat in the CTA count up
    # to ~132 CTAs (h100-2026-12-07-run-a*, section attn_impl, impl sdpa:efficient)
    attn_no_kv_split: tuple[str, ...] = field(("efficient",), doc="attention implementations that "
                                              "do not split the KV range in decode (one CTA streams "
                                              "a head's whole K/V)")
    attn_cta_stream_gb_s: float = field(15.0, gt=0.0, doc="K/V streaming rate of one CTA of a "
                                        "decode kernel without KV split, GB/s. Fitted: median over "
                                        "run a's 8 memory-efficient decode records with batch x "
                                        "heads <= 64 (h100-2026-12-07-run-a.json); held out: runs "
                                        "a2, a3, b, b2, b3 (11.7-16.4 GB/s at head_dim 128)")


@attrs.frozen(kw_only=True)
class PowerCap:
    """Board power cap (TDP): the clock the cap allows for an op's activity (archsim/blocks/gpu/
    model.py `capped_clock`). At the op's boost-clock dynamic power the board draws idle + SM-side
    dynamic (compute, L2; scales with f x V(f)^2) + DRAM dynamic (does not); above tdp_w the clock
    drops until it fits, the compute-bound part of the time stretches by f0 / f, and energy is
    priced at that clock (on-chip energy per op ~ V(f)^2)."""
    mode: Literal["sustained", "burst"] = field("sustained",
                      doc="'sustained': every op at the clock the cap allows for its activity (a GPU "
                          "running a workload; archsim run / sweep / reproduce); 'burst': boost clock "
                          "(the calibration's L2-cold single-kernel timings), energy capped at tdp_w x time")
    voltage_floor_fraction: float = field(0.5, ge=0.0, le=1.0,
                                          doc="V(f) / V(boost) = a + (1 - a) f / f_boost, a = this (prior: "
                                              "GPU DVFS tables run ~linear in f with an intercept near half the "
                                              "top voltage; low confidence; to be fitted on the power_clock "
                                              "series of benchmarks/gpu/measure_llm.py)")
    min_clock_fraction: float = field(0.3, gt=0.0, le=1.0, doc="lowest clock the limiter goes to, / boost")


@attrs.frozen(kw_only=True)
class GpuCalibration:
    """Provenance of `efficiency` and the per-op-kind error bands (written by
    `archsim calibrate gpu`)."""
    device: str = field("", doc="device_name the efficiencies were fitted on; '' = priors only")
    split: str = field("every4th", choices=("every4th", "family"), doc="held-out split: every 4th "
                       "distinct op per kind (all families), or the random-shape family + every "
                       "4th grid op")
    data: str = field("", doc="measurement files used")
    date: str = ""
    method: str = ""
    ref_sm_count: int = field(132, ge=1, doc="SM count of the calibration device")
    ref_boost_clock_ghz: float = field(1.98, gt=0.0, doc="clock of the calibration device")
    n_fit: int = field(0, ge=0)
    n_heldout: int = field(0, ge=0)
    median_abs_error_fit: float | None = field(None, ge=0.0)
    p90_abs_error_fit: float | None = field(None, ge=0.0)
    median_abs_error_heldout: float | None = field(None, ge=0.0)
    p90_abs_error_heldout: float | None = field(None, ge=0.0)
    error_band: Mapping[str, tuple[float, ...]] = attrs.field(factory=dict)
    energy_fit: Mapping[str, float] = attrs.field(factory=dict)
    notes: str = ""


@attrs.frozen(kw_only=True)
class Spec:
    """A GPU. Every number's source is in `sources` (key = field name)."""
    device_name: str = field(doc="e.g. 'NVIDIA H200 SXM'")
    sm_count: int = field(ge=1)
    boost_clock_ghz: float = field(gt=0.0)
    tensor_tflops: DtypeRates = field(doc="dense tensor-core peak per dtype")
    tensor_sparse_tflops: DtypeRates = DtypeRates()
    fp16_accumulate_tflops: float | None = field(None, gt=0.0, doc="dense fp16 tensor rate with "
                                                 "fp16 accumulate, used by fused MLPs (tiny-cuda-nn "
                                                 "accumulates in fp16); None = tensor_tflops.fp16")
    vector_fp32_tflops: float = field(gt=0.0, doc="non-tensor FP32 peak")
    vector_fp16_tflops: float | None = field(None, gt=0.0, doc="non-tensor FP16/BF16 peak; None = 2x FP32")
    dram_technology: str = field("hbm3", doc="key into the tech table's DRAM list")
    dram_bandwidth_gb_s: float = field(gt=0.0)
    dram_capacity_gib: float = field(gt=0.0)
    l2_size_mib: float = field(gt=0.0)
    l2_bandwidth_gb_s: float = field(gt=0.0, doc="L2 -> SM bandwidth (estimate; see sources)")
    smem_per_sm_kib: float = field(gt=0.0)
    launch_overhead_us: float = field(3.0, ge=0.0, doc="fixed time of one kernel")
    tdp_w: float = field(gt=0.0)
    idle_power_w: float = field(gt=0.0)
    process: str = ""
    process_node_nm: float = field(7.0, gt=0.0)
    die_area_mm2: float | None = field(None, gt=0.0, doc="None = not published")
    energy: GpuEnergy = GpuEnergy()
    efficiency: GpuEfficiency = GpuEfficiency()
    kernels: KernelChoice = KernelChoice()
    power_cap: PowerCap = PowerCap()
    calibration: GpuCalibration = GpuCalibration()
    transfer_band_factor: float = field(2.0, ge=1.0, doc="error-band widening on a GPU other "
                                        "than the calibration device")
    sources: Mapping[str, str] = attrs.field(factory=dict)


def validate(spec: Spec, file, key: str) -> None:
    if spec.idle_power_w >= spec.tdp_w:
        raise ConfigError(file, f"{key}.idle_power_w", f"must be < tdp_w ({spec.tdp_w}); got {spec.idle_power_w}")
    if all(getattr(spec.tensor_tflops, d) is None for d in ("fp16", "bf16", "tf32", "int8", "fp8")):
        raise ConfigError(file, f"{key}.tensor_tflops", "give at least one tensor dtype rate (fp16, bf16, ...)")
