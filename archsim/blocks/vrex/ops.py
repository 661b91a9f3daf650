"""Op kinds of V-Rex (papers/vrex.md): the KVMU's fetch, ReSV's hash-bit clustering and
WiCSum selection (plain KV transfers over the host link are `kv_transfer`, archsim.blocks.host_link.ops).

Each op documents its fields; all sizes are per op instance (multiply by `repeat`).

| op | fields |
|---|---|
| `kv_fetch` | `batch kv_len new_tokens selected kv_heads head_dim cluster_tokens run_tokens dtype n_layers weight_bytes other_resident_bytes` — V-Rex KVMU: fetch the selected offloaded KV of one layer, offload evicted KV; the device's recent-KV window and layout decide the bytes |
| `hash_cluster` | `batch new_tokens clusters n_hyperplanes key_dim dtype` — Hamming-distance clustering of new tokens' hash bits |
| `wicsum_select` | `rows clusters processed_fraction buckets dtype` — WiCSum thresholding of cluster-score rows with early exit |

`hash_cluster` and `wicsum_select` are what V-Rex's DRE (HCU, WTU) runs; on a GPU they are
evaluated through the generic flops/min_bytes fallback (the GPU policies in
`archsim.blocks.vrex.policies` express GPU-side ReSV with core ops instead).
"""
from __future__ import annotations

import math
from typing import Literal

import attrs

from archsim.config.load import field
from archsim.workloads.ops import Dtype, _nbytes


@attrs.frozen(kw_only=True)
class KvFetch:
    """One layer's KV traffic through V-Rex's KVMU for one step (frame, question or answer
    token): of `kv_len` history tokens per stream, `selected` (per stream and KV head, average)
    were chosen by ReSV; those lying outside the device's recent-KV window are fetched from the
    offload target, in pieces of `cluster_tokens` tokens when the KVMU keeps clusters
    contiguous, else one token at a time; `new_tokens` per stream are appended, and as many old
    ones are evicted to the offload target once the window is full. The device (its window,
    layout and link) turns this into bytes."""
    KIND = "kv_fetch"
    batch: int = field(ge=1)
    kv_len: int = field(ge=0, doc="history tokens per stream before this step")
    new_tokens: int = field(ge=0, doc="tokens appended per stream in this step")
    selected: float = field(ge=0.0, doc="selected history tokens per stream and KV head")
    kv_heads: int = field(ge=1)
    head_dim: int = field(ge=1)
    cluster_tokens: float = field(32.0, ge=1.0, doc="mean tokens per selected cluster (contiguous piece)")
    run_tokens: float = field(1.0, ge=1.0, doc="mean run of time-adjacent selected tokens (the piece without cluster layout)")
    dtype: Dtype = field("bf16")
    n_layers: int = field(0, ge=0, le=1 << 16, doc="decoder layers whose KV the device holds "
                          "(0 = unknown: the device uses its fixed-token window)")
    weight_bytes: float = field(0.0, ge=0.0, doc="model weights resident on the device (the "
                                "decoder's, embeddings and LM head included)")
    other_resident_bytes: float = field(0.0, ge=0.0, doc="other resident bytes of the step: "
                                        "vision tower and projector weights, activations")
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.selected > max(self.kv_len, 0):
            raise ValueError("selected must be <= kv_len")

    def token_head_bytes(self) -> int:
        """K + V bytes of one token in one KV head."""
        return 2 * self.head_dim * _nbytes(self.dtype)

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        return float(self.batch * self.kv_heads * self.token_head_bytes() * (self.selected + self.new_tokens))


@attrs.frozen(kw_only=True)
class HashCluster:
    """ReSV steps 1-2 for one layer: `batch * new_tokens` new keys, each a `n_hyperplanes`-bit
    hash (made by the LXE), compared by XOR + popcount with `clusters` on-device cluster hashes,
    joined to the nearest one under the Hamming threshold or opened as a new cluster; the
    cluster's mean key (`key_dim` wide) is updated."""
    KIND = "hash_cluster"
    batch: int = field(ge=1)
    new_tokens: int = field(ge=1, doc="new tokens per stream (one frame)")
    clusters: int = field(ge=0, doc="cluster hashes each new token is compared with")
    n_hyperplanes: int = field(32, ge=1, le=64, doc="hash bits per token (N_hp)")
    key_dim: int = field(ge=1, doc="width of the clustered key (mean-key update)")
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def comparisons(self) -> int:
        return self.batch * self.new_tokens * max(self.clusters, 1)

    def flops(self) -> float:
        # XOR+popcount counted as one op per bit, plus a mean-key update per token
        return float(self.comparisons() * self.n_hyperplanes + 2 * self.batch * self.new_tokens * self.key_dim)

    def min_bytes(self) -> float:
        hb = math.ceil(self.n_hyperplanes / 8)
        return float(self.batch * (self.clusters * hb + self.new_tokens * (hb + 2 * self.key_dim * _nbytes(self.dtype))))


@attrs.frozen(kw_only=True)
class WicsumSelect:
    """ReSV step 4: `rows` score rows over `clusters` clusters each; preprocess (weighted sum,
    min, max) then bucketed descending accumulation until the WiCSum threshold is passed.
    `processed_fraction` is the measured fraction of each row consumed before exit (ReSV kernel
    output; the paper reports ~0.16)."""
    KIND = "wicsum_select"
    rows: int = field(ge=1)
    clusters: int = field(ge=1)
    processed_fraction: float = field(0.16, ge=0.0, le=1.0)
    buckets_processed: float = field(0.0, ge=0.0, doc="mean buckets scanned per row (0 = derive from processed_fraction)")
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        # preprocess: multiply + add per entry; selection: multiply + add + compare per processed entry
        return float(self.rows * self.clusters * (2.0 + 3.0 * self.processed_fraction))

    def min_bytes(self) -> float:
        # score row in, token counts (4 B) in, selection bitmask out
        return float(self.rows * self.clusters * (_nbytes(self.dtype) + 4) + self.rows * math.ceil(self.clusters / 8))


OPS = {cls.KIND: cls for cls in (KvFetch, HashCluster, WicsumSelect)}
