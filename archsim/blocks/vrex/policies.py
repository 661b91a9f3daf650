"""KV policies: how one step of a streaming video-LLM session (a frame, the question, or an
answer token) becomes ops, with the dependencies that decide what overlaps.

Every policy runs the same model ops (vision tower + projector for frames; per layer QKV,
attention, output projection, FFN, norms; the LM head for the stream's last token). They differ
in where the KV lives and what is predicted and moved (papers/vrex.md §6, "Baseline software
policies"):

- **vrex** (ReSV on V-Rex): recent KV in device DRAM, older KV offloaded; per layer the LXE
  makes hash bits of the new keys (GEMM with N_hp hyperplanes), the HCU clusters them
  (hash_cluster), the LXE scores the queries against the cluster mean keys (GEMM), the WTU runs
  WiCSum (wicsum_select) and the KVMU fetches the selected offloaded clusters (kv_fetch). With
  `predict_next_layer`, layer l's prediction serves layer l+1, so the fetch overlaps layer l's
  attention and FFN (layer 0 predicts up front). Attention runs over the selected tokens plus
  the step's own tokens.
- **gpu_resv** (ablation "AGX + ReSV"): the same algorithm in software on the GPU: hash GEMM,
  clustering as element-wise XOR/popcount over (new tokens x clusters), scoring GEMM, WiCSum as
  a full row sort (topk with k = n) plus an element-wise scan; all KV offloaded FlexGen-style
  and fetched in runs of time-adjacent tokens (`token_run_tokens`; a GPU cannot keep clusters
  contiguous without per-layer scatter, §V-C).
- **flexgen**: all KV offloaded; every layer streams its whole KV back over PCIe, prefetching
  layer l+1 while layer l computes (double-buffered); attention over all tokens; new KV
  written back.
- **infinigen**: FlexGen in frame / question prefill (no retrieval there, Tab. II 100 %); in
  generation a speculative partial-query x partial-key GEMM over all tokens (partial keys kept
  on the GPU), a top-k and a token-granular fetch of the selected KV (runs of
  `token_run_tokens` time-adjacent tokens).
- **infinigenp**: InfiniGen's token-level prediction in prefill too (Tab. II: 50.8 %).
- **rekv**: frame-level retrieval: per layer and KV head a mean key per frame (kept on the
  GPU), a score GEMM and top-k over frames, and a fetch of whole frames (contiguous blocks of
  one frame's tokens).
- **full**: no offload and no retrieval (all KV in device memory) — an upper bound on memory.

All baselines predict in the previous layer and prefetch (§VI-B). Ratios default to the Tab. II
averages per method and stage (frame ratio for frame and question prefill, text ratio for
answer tokens); `Params.retrieval_ratio_*` override them for what-if runs.
"""
from __future__ import annotations

import math

import attrs

from archsim.units import DTYPE_BYTES
from archsim.workloads.ops import Attention, Elementwise, Gemm, TopK
from archsim.blocks.host_link.ops import KvTransfer
from archsim.blocks.vrex.ops import HashCluster, KvFetch, WicsumSelect

GPU_POLICIES = ("gpu_resv", "flexgen", "infinigen", "infinigenp", "rekv", "full")
PREDICTION_STAGES = ("hash", "cluster", "score", "select", "select_sort")


@attrs.frozen(kw_only=True)
class Task:
    name: str                    # "<stage>.l<layer>"
    op: object
    stage: str                   # vision, projector, qkv, hash, cluster, score, select, fetch, writeback, attention, ffn, ...
    layer: int = -1
    deps: tuple[int, ...] = ()   # indices of earlier tasks of the same step

    @property
    def is_prediction(self) -> bool:
        return self.stage in PREDICTION_STAGES


@attrs.frozen(kw_only=True)
class Step:
    kind: str                    # frame | question | answer
    kv_len: int                  # history tokens per stream before the step
    q_len: int                   # new tokens per stream
    batch: int
    tasks: tuple[Task, ...]
    selected_tokens: float = 0.0  # mean selected history tokens per stream, KV head and layer


class _Builder:
    def __init__(self):
        self.tasks: list[Task] = []
        self.index: dict[str, int] = {}

    def add(self, op, stage: str, layer: int = -1, deps=()) -> int:
        name = f"{stage}.l{layer}" if layer >= 0 else stage
        i = len(self.tasks)
        self.tasks.append(Task(name=name, op=op, stage=stage, layer=layer,
                               deps=tuple(sorted({d for d in deps if d is not None}))))
        self.index[name] = i
        return i


def _vision_ops(p, b: _Builder, batch: int) -> int:
    dt = p.dtype
    m = p.vision_patches * batch
    h = p.vision_hidden
    last = b.add(Gemm(m=m, k=p.vision_patch_pixels, n=h, dtype=dt), "vision_embed")
    if p.vision_layers:
        L = p.vision_layers
        last = b.add(Gemm(m=m, k=h, n=3 * h, dtype=dt, repeat=L), "vision_qkv", deps=(last,))
        last = b.add(Attention(batch=batch, q_len=p.vision_patches, kv_len=p.vision_patches, heads=p.vision_heads,
                               kv_heads=p.vision_heads, head_dim=h // p.vision_heads, dtype=dt, repeat=L),
                     "vision_attention", deps=(last,))
        last = b.add(Gemm(m=m, k=h, n=h, dtype=dt, repeat=L), "vision_out", deps=(last,))
        last = b.add(Gemm(m=m, k=h, n=p.vision_ffn, dtype=dt, repeat=L), "vision_fc1", deps=(last,))
        last = b.add(Gemm(m=m, k=p.vision_ffn, n=h, dtype=dt, repeat=L), "vision_fc2", deps=(last,))
        # two layer norms, GELU, two residual adds per layer (~20 ops per hidden element)
        last = b.add(Elementwise(n_elements=m * h, n_inputs=1, flops_per_element=20.0, dtype=dt, repeat=L),
                     "vision_norms", deps=(last,))
    mt = p.tokens_per_frame * batch
    last = b.add(Gemm(m=mt, k=h, n=p.projector_hidden, dtype=dt), "projector_fc1", deps=(last,))
    last = b.add(Gemm(m=mt, k=p.projector_hidden, n=p.d_model, dtype=dt), "projector_fc2", deps=(last,))
    return last


def build_step(p, kind: str, kv_len: int) -> Step:
    """One session step under `p.policy` (see the module docstring)."""
    pol = p.policy
    dt = p.dtype
    eb = DTYPE_BYTES[dt]
    B = p.batch
    q = {"frame": p.frame_tokens(), "question": p.question_tokens, "answer": 1}[kind]
    r_frame, r_text = p.ratios()
    base_ratio = r_text if kind == "answer" else r_frame
    hq, hkv, hd, d = p.n_q_heads, p.n_kv_heads, p.head_dim, p.d_model
    G = hq // hkv
    L = kv_len
    thb = 2 * hd * eb                         # K + V bytes of one token in one KV head
    layer_bytes = B * hkv * L * thb           # one layer's history KV, all streams
    prefill = kind != "answer"

    # what each policy does in this stage
    retrieves = {"vrex": True, "gpu_resv": True, "rekv": True, "infinigenp": True,
                 "infinigen": not prefill, "flexgen": False, "full": False}[pol]
    offloaded = pol != "full" and pol != "vrex"

    b = _Builder()
    prev = _vision_ops(p, b, B) if kind == "frame" else None

    def sel_tokens(layer: int) -> float:
        if not retrieves or L == 0:
            return float(L)
        return min(float(L), L * p.layer_ratio(base_ratio, layer, text=not prefill))

    def predict(layer: int, after) -> int | None:
        """Prediction (+ fetch) of `layer`'s KV, issued after task `after`; returns the fetch task."""
        if layer >= p.n_layers:
            return None
        sel = sel_tokens(layer)
        if pol in ("vrex", "gpu_resv"):
            clusters = max(1, math.ceil(L / p.cluster_tokens)) if L else 0
            if clusters == 0:
                return None
            s = b.add(Gemm(m=G * q, k=hd, n=clusters, batch=B * hkv, dtype=dt), "score", layer, deps=(after,))
            rows = B * hq * q
            if pol == "vrex":
                w = b.add(WicsumSelect(rows=rows, clusters=clusters, processed_fraction=p.wicsum_processed_fraction,
                                       buckets_processed=p.wtu_buckets_processed, dtype=dt), "select", layer, deps=(s,))
                return b.add(KvFetch(batch=B, kv_len=L, new_tokens=q, selected=sel, kv_heads=hkv, head_dim=hd,
                                     cluster_tokens=p.cluster_tokens, run_tokens=p.token_run_tokens, dtype=dt,
                                     n_layers=p.n_layers, weight_bytes=float(p.weight_bytes()),
                                     other_resident_bytes=float(p.vision_weight_bytes() + p.activation_bytes())),
                             "fetch", layer, deps=(w,))
            # software WiCSum: weighted sum / scan (elementwise) + a full descending sort per row
            e = b.add(Elementwise(n_elements=rows * clusters, n_inputs=2, flops_per_element=4.0, dtype=dt),
                      "select", layer, deps=(s,))
            srt = b.add(TopK(rows=rows, n=clusters, k=clusters, dtype=dt), "select_sort", layer, deps=(e,))
            return _fetch(b, p, layer, B * hkv * sel * thb, p.token_run_tokens * hd * eb, layer_bytes, deps=(srt,))
        if pol in ("infinigen", "infinigenp") and retrieves:
            pk = max(1, int(round(hd * p.infinigen_partial_ratio)))
            s = b.add(Gemm(m=G * q, k=pk, n=L, batch=B * hkv, dtype=dt), "score", layer, deps=(after,))
            k = max(1, int(round(sel)))
            t = b.add(TopK(rows=B * hq * q, n=L, k=k, dtype=dt), "select", layer, deps=(s,))
            return _fetch(b, p, layer, B * hkv * sel * thb, p.token_run_tokens * hd * eb, layer_bytes, deps=(t,))
        if pol == "rekv" and retrieves:
            n_fr = max(1, math.ceil(L / p.frame_tokens()))
            s = b.add(Gemm(m=G * q, k=hd, n=n_fr, batch=B * hkv, dtype=dt), "score", layer, deps=(after,))
            k = max(1, int(round(n_fr * sel / max(L, 1))))
            t = b.add(TopK(rows=B * hkv, n=n_fr, k=k, dtype=dt), "select", layer, deps=(s,))
            return _fetch(b, p, layer, B * hkv * sel * thb, p.frame_tokens() * hd * eb, layer_bytes, deps=(t,))
        if offloaded and L > 0:
            # FlexGen (and InfiniGen / ReKV stages without retrieval): the whole layer, K and V
            # of each stream and head contiguous
            return _fetch(b, p, layer, layer_bytes, L * hd * eb, 0, deps=(after,))
        return None

    # hash bits of the new keys for the DRE / software clustering need the layer's keys
    fetch_of: dict[int, int | None] = {}
    attn_of: dict[int, int] = {}
    # layer 0's prediction cannot be overlapped with a previous layer
    fetch_of[0] = predict(0, prev)
    last = prev
    for layer in range(p.n_layers):
        norm = b.add(Elementwise(n_elements=B * q * d, n_inputs=1, flops_per_element=12.0, dtype=dt),
                     "norms", layer, deps=(last,))
        qkv = b.add(Gemm(m=B * q, k=d, n=(hq + 2 * hkv) * hd, dtype=dt), "qkv", layer, deps=(norm,))
        if pol in ("vrex", "gpu_resv"):
            hsh = b.add(Gemm(m=B * q, k=hkv * hd, n=p.n_hyperplanes, dtype=dt), "hash", layer, deps=(qkv,))
            win = p.recent_kv_tokens if p.recent_kv_tokens > 0 else L
            rc = max(1, math.ceil(min(L, win) / p.cluster_tokens)) if L else 1
            if pol == "vrex":
                b.add(HashCluster(batch=B, new_tokens=q, clusters=rc, n_hyperplanes=p.n_hyperplanes,
                                  key_dim=hkv * hd, dtype=dt), "cluster", layer, deps=(hsh,))
            else:
                b.add(Elementwise(n_elements=B * q * rc, n_inputs=2, flops_per_element=3.0, dtype=dt),
                      "cluster", layer, deps=(hsh,))
        if pol != "full" and pol != "vrex":
            # new KV written back to the offload target (overlaps, link write direction)
            b.add(KvTransfer(bytes=B * hkv * q * thb, chunk_bytes=q * hd * eb, direction="to_host",
                             source=p.offload_source), "writeback", layer, deps=(qkv,))
        nxt = layer + 1
        if p.predict_next_layer:
            # prefetch depth one layer: the next fetch reuses the buffer of layer-1's attention
            fetch_of[nxt] = predict(nxt, qkv) if nxt < p.n_layers else None
            if fetch_of.get(nxt) is not None and layer - 1 in attn_of:
                t = b.tasks[fetch_of[nxt]]
                b.tasks[fetch_of[nxt]] = attrs.evolve(t, deps=tuple(sorted(set(t.deps) | {attn_of[layer - 1]})))
        elif layer > 0:
            fetch_of[layer] = predict(layer, qkv)
        sel = sel_tokens(layer)
        attn = b.add(Attention(batch=B, q_len=q, kv_len=max(1, int(round(sel))) + q, heads=hq, kv_heads=hkv,
                               head_dim=hd, dtype=dt, causal=True), "attention", layer,
                     deps=(qkv, fetch_of.get(layer)))
        attn_of[layer] = attn
        o = b.add(Gemm(m=B * q, k=hq * hd, n=d, dtype=dt), "o_proj", layer, deps=(attn,))
        gu = b.add(Gemm(m=B * q, k=d, n=2 * p.ffn_dim, dtype=dt), "ffn_gate_up", layer, deps=(o,))
        last = b.add(Gemm(m=B * q, k=p.ffn_dim, n=d, dtype=dt), "ffn_down", layer, deps=(gu,))
    b.add(Gemm(m=B, k=d, n=p.vocab, dtype=dt), "lm_head", deps=(last,))
    mean_sel = sum(sel_tokens(layer) for layer in range(p.n_layers)) / p.n_layers
    return Step(kind=kind, kv_len=L, q_len=q, batch=B, tasks=tuple(b.tasks), selected_tokens=mean_sel)


def _fetch(b: _Builder, p, layer: int, payload: float, chunk: int, region: float, deps) -> int | None:
    payload = int(round(payload))
    if payload <= 0:
        return None
    return b.add(KvTransfer(bytes=payload, chunk_bytes=max(1, min(int(chunk), payload)), direction="to_device",
                            source=p.offload_source, region_bytes=int(region)), "fetch", layer, deps=deps)
