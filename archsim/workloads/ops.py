"""The op vocabulary (DESIGN.md §3): one frozen attrs record per op kind.

Every op has `op` (its kind, the class's KIND), optional `name` and `repeat` (default 1).
Blocks add kinds in their own modules (listed in OP_MODULES, each exporting `OPS = {kind: cls}`),
documented there with their fields.
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field, structure
from archsim.config.registry import op_types
from archsim.errors import ConfigError
from archsim.units import DTYPE_BYTES

Dtype = Literal["int8", "fp8", "fp16", "bf16", "tf32", "fp32"]


def _nbytes(dtype: str) -> int:
    return DTYPE_BYTES[dtype]


@attrs.frozen(kw_only=True)
class Gemm:
    """C[m,n] = A[m,k] @ B[k,n], `batch` independent instances."""
    KIND = "gemm"
    m: int = field(ge=1, doc="rows of A and C")
    k: int = field(ge=1, doc="reduction dimension")
    n: int = field(ge=1, doc="columns of B and C")
    dtype: Dtype = field(doc="operand dtype")
    batch: int = field(1, ge=1, doc="independent GEMMs of this shape")
    name: str = ""
    repeat: int = field(1, ge=1)

    def macs(self) -> int:
        return self.batch * self.m * self.k * self.n

    def flops(self) -> float:
        return 2.0 * self.macs()

    def min_bytes(self) -> float:
        """Compulsory traffic: read A and B once, write C once."""
        return self.batch * (self.m * self.k + self.k * self.n + self.m * self.n) * _nbytes(self.dtype)


@attrs.frozen(kw_only=True)
class Conv2d:
    """SCALE-Sim topology columns; 'valid' convolution (pad the ifmap yourself), one stride
    for both directions. As a GEMM: M = ofmap pixels, K = filter_h*filter_w*channels, N = filters."""
    KIND = "conv2d"
    ifmap_h: int = field(ge=1)
    ifmap_w: int = field(ge=1)
    filter_h: int = field(ge=1)
    filter_w: int = field(ge=1)
    channels: int = field(ge=1)
    num_filters: int = field(ge=1)
    stride: int = field(1, ge=1)
    dtype: Dtype = field("int8", doc="SCALE-Sim uses 1-byte words; default int8")
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.filter_h > self.ifmap_h or self.filter_w > self.ifmap_w:
            raise ValueError("filter larger than ifmap: filter_h <= ifmap_h and filter_w <= ifmap_w required")

    @property
    def ofmap_h(self) -> int:
        return (self.ifmap_h - self.filter_h + self.stride) // self.stride

    @property
    def ofmap_w(self) -> int:
        return (self.ifmap_w - self.filter_w + self.stride) // self.stride

    def gemm_mnk(self) -> tuple[int, int, int]:
        """(M, N, K) of the im2col GEMM, SCALE-Sim notation."""
        return (self.ofmap_h * self.ofmap_w, self.num_filters,
                self.filter_h * self.filter_w * self.channels)

    def macs(self) -> int:
        m, n, k = self.gemm_mnk()
        return m * n * k

    def flops(self) -> float:
        return 2.0 * self.macs()

    def min_bytes(self) -> float:
        m, n, k = self.gemm_mnk()
        ifmap = self.ifmap_h * self.ifmap_w * self.channels
        return (ifmap + k * n + m * n) * _nbytes(self.dtype)


@attrs.frozen(kw_only=True)
class Mlp:
    """A small MLP: widths [d_in, h1, ..., d_out]; `fused` = all layers in one kernel with
    activations kept on chip."""
    KIND = "mlp"
    batch: int = field(ge=1, doc="input vectors")
    layers: tuple[int, ...] = field(doc="widths [d_in, h1, ..., d_out]")
    activation: str = field("relu", choices=("relu", "sigmoid", "tanh", "gelu", "silu", "none"))
    dtype: Dtype = field(doc="operand dtype")
    fused: bool = True
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if len(self.layers) < 2 or any((not isinstance(w, int)) or w < 1 for w in self.layers):
            raise ValueError("layers must list at least two widths, each an integer >= 1")

    def macs(self) -> int:
        return self.batch * sum(a * b for a, b in zip(self.layers[:-1], self.layers[1:]))

    def flops(self) -> float:
        return 2.0 * self.macs()

    def weight_bytes(self) -> int:
        return sum(a * b for a, b in zip(self.layers[:-1], self.layers[1:])) * _nbytes(self.dtype)

    def min_bytes(self) -> float:
        b = _nbytes(self.dtype)
        return self.batch * (self.layers[0] + self.layers[-1]) * b + self.weight_bytes()


@attrs.frozen(kw_only=True)
class HashEncode:
    """Multi-resolution grid encoding (instant-ngp): per point and level, 2^dims corner
    lookups of `features_per_level` features, interpolated. `grid = "hash"` hashes levels whose
    dense size exceeds 2^log2_table_size; `"dense"` indexes densely (no hashing)."""
    KIND = "hash_encode"
    n_points: int = field(ge=1)
    dims: int = field(ge=2, le=3, doc="2 (bilinear, 4 corners) or 3 (trilinear, 8 corners)")
    levels: int = field(ge=1, le=64)
    features_per_level: int = field(ge=1, le=64)
    log2_table_size: int = field(ge=1, le=32)
    base_resolution: int = field(ge=1)
    finest_resolution: int = field(ge=1)
    grid: Literal["hash", "dense"] = field("hash")
    dtype: Dtype = field("fp16")
    fused: bool = False
    sampler: str = field("", doc="input-point set for models that simulate real table addresses: "
                         "'' = uniform in the unit cube, else an app sampler spec such as "
                         "'nerf spp=24 width_px=1920 height_px=1080' (archsim.blocks.ngpc.generator)")
    name: str = ""
    repeat: int = field(1, ge=1)

    def corners(self) -> int:
        return 2 ** self.dims

    def lookups(self) -> int:
        return self.n_points * self.levels * self.corners()

    def flops(self) -> float:
        # interpolation: one multiply-add per corner and feature, plus weights (dims per corner)
        return float(self.lookups() * (2 * self.features_per_level + self.dims))

    def output_bytes(self) -> int:
        return self.n_points * self.levels * self.features_per_level * _nbytes(self.dtype)


def attended_pairs(q_len: int, kv_len: int, causal: bool) -> int:
    """(query, key) pairs one attention head scores: q_len x kv_len, or causal, query i sees
    kv positions up to kv_len - q_len + i (the upper triangle is not counted)."""
    if causal and q_len > 1:
        return q_len * (kv_len - q_len) + q_len * (q_len + 1) // 2
    return q_len * kv_len


@attrs.frozen(kw_only=True)
class Attention:
    """Scaled dot-product attention with GQA: `heads` query heads share `kv_heads` KV heads."""
    KIND = "attention"
    batch: int = field(ge=1)
    q_len: int = field(ge=1)
    kv_len: int = field(ge=1)
    heads: int = field(ge=1)
    kv_heads: int = field(ge=1)
    head_dim: int = field(ge=1)
    dtype: Dtype = field()
    causal: bool = False
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.heads % self.kv_heads:
            raise ValueError("heads must be a multiple of kv_heads (GQA)")

    def macs(self) -> int:
        # QK^T and PV; causal masking halves the work when q_len == kv_len (prefill)
        return 2 * self.batch * self.heads * attended_pairs(self.q_len, self.kv_len, self.causal) * self.head_dim

    def flops(self) -> float:
        return 2.0 * self.macs()

    def min_bytes(self) -> float:
        b = _nbytes(self.dtype)
        q_o = 2 * self.batch * self.heads * self.q_len * self.head_dim
        kv = 2 * self.batch * self.kv_heads * self.kv_len * self.head_dim
        return (q_o + kv) * b


@attrs.frozen(kw_only=True)
class KvRetrieve:
    """Select `selected` of `kv_len` cached tokens per KV head for `queries` queries and gather
    them: `topk` = exact token-level scoring + top-k; `resv` = V-Rex's cluster-level WiCSum."""
    KIND = "kv_retrieve"
    batch: int = field(ge=1)
    queries: int = field(ge=1)
    kv_len: int = field(ge=1)
    kv_heads: int = field(ge=1)
    head_dim: int = field(ge=1)
    selected: int = field(ge=0)
    dtype: Dtype = field()
    method: Literal["topk", "resv"] = field("topk")
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.selected > self.kv_len:
            raise ValueError("selected must be <= kv_len")


@attrs.frozen(kw_only=True)
class Elementwise:
    KIND = "elementwise"
    n_elements: int = field(ge=1)
    n_inputs: int = field(1, ge=0)
    flops_per_element: float = field(1.0, ge=0.0)
    dtype: Dtype = field()
    access: Literal["contiguous", "strided", "broadcast", "atomic"] = field(
        "contiguous", doc="how the kernel reaches its operands: 'contiguous' (every operand dense: "
        "PyTorch's vectorised kernel, DRAM-bound), 'strided' (an operand is a strided view or "
        "broadcast - a half of a fused gate-up output, cos/sin over heads, a cache slice -: "
        "TensorIterator's non-vectorised kernel with per-element index arithmetic, "
        "elementwise_kernel<128, 4>), 'broadcast' (a copy or two-input kernel from a source "
        "broadcast along a dimension, or a dtype conversion: elementwise_kernel<128, 2> / "
        "unrolled_elementwise_kernel, e.g. K/V repeat_interleave, an fp32 upcast), 'atomic' "
        "(index_add / scatter_add into an output: one atomic read-modify-write per element)")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return self.n_elements * self.flops_per_element

    def min_bytes(self) -> float:
        return self.n_elements * (self.n_inputs + 1) * _nbytes(self.dtype)


@attrs.frozen(kw_only=True)
class Copy:
    """A device memory copy of `bytes` (read `bytes`, write `bytes`)."""
    KIND = "copy"
    bytes: int = field(ge=1)
    name: str = ""
    repeat: int = field(1, ge=1)

    def min_bytes(self) -> float:
        return 2.0 * self.bytes


@attrs.frozen(kw_only=True)
class TopK:
    KIND = "topk"
    rows: int = field(ge=1)
    n: int = field(ge=1)
    k: int = field(ge=1)
    dtype: Dtype = field()
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.k > self.n:
            raise ValueError("k must be <= n")

    def min_bytes(self) -> float:
        return self.rows * (self.n + self.k) * _nbytes(self.dtype) + self.rows * self.k * 8


@attrs.frozen(kw_only=True)
class Gather:
    """Gather `rows` rows of `row_bytes` each from a table of `table_bytes`."""
    KIND = "gather"
    rows: int = field(ge=1)
    row_bytes: int = field(ge=1)
    table_bytes: int = field(ge=1)
    name: str = ""
    repeat: int = field(1, ge=1)

    def min_bytes(self) -> float:
        return 2.0 * self.rows * self.row_bytes


OPS = {cls.KIND: cls for cls in (Gemm, Conv2d, Mlp, HashEncode, Attention, KvRetrieve,
                                 Elementwise, Copy, TopK, Gather)}
CORE_OPS = OPS


def parse_op(raw, *, file, key: str):
    """One op from a mapping with an `op` field; ConfigError names file and key."""
    if not isinstance(raw, dict):
        raise ConfigError(file, key, f"expected a table with an 'op' field, got {type(raw).__name__}")
    kinds = op_types()
    kind = raw.get("op")
    if kind is None:
        raise ConfigError(file, f"{key}.op", "required key is missing; allowed: " + ", ".join(kinds))
    if not isinstance(kind, str) or kind not in kinds:
        raise ConfigError(file, f"{key}.op", f"got {kind!r}; allowed values: " + ", ".join(kinds))
    body = {k: v for k, v in raw.items() if k != "op"}
    return structure(kinds[kind], body, file=file, key=key)


def op_to_dict(op) -> dict:
    """The trace form of an op (inverse of parse_op)."""
    d = {"op": op.KIND}
    for f in attrs.fields(type(op)):
        v = getattr(op, f.name)
        d[f.name] = list(v) if isinstance(v, tuple) else v
    return d
