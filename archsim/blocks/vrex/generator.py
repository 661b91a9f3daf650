"""Streaming video-LLM session generator (`generator = "video_llm"`), papers/vrex.md §2.

A session of one stream (x `batch` streams in lock-step) starts with `kv_history_tokens` of KV
already cached, then runs `frames` iterative frame prefills (vision tower + projector + a full
LLM prefill of the frame's tokens against the cached KV), one question prefill and
`answer_tokens` decode steps. Each step expands into per-layer ops for the KV policy chosen
(`policy`; the policies are documented in archsim/blocks/vrex/policies.py): ReSV on V-Rex (hash
generation, clustering, cluster scoring, WiCSum, KVMU fetch), ReSV in software on a GPU, or the
GPU baselines FlexGen / InfiniGen / InfiniGenP / ReKV with their PCIe KV transfers.

Defaults: VideoLLM-Online on Llama-3-8B (32 layers, d 4096, 32 query / 8 KV heads of 128,
FFN 14336, vocab 128256; Meta model card) with SigLIP-L/16-384 (24 layers, 1024 hidden,
4096 FFN, 16 heads, 576 patches; public model card) and 10 tokens per frame plus a ','
separator (showlab/videollm-online live1+), the COIN average case (26 frames, 25 question and
39 answer tokens, §III-A). Any decoder shape with GQA works.

`expand(params, seed=...)` returns the op graph (an OpGraph: ops + `after` dependencies) that
`archsim run`, `sweep` and `reproduce vrex` all simulate. One step (a frame, the question or an
answer token) keeps the dependencies its policy builds (archsim/blocks/vrex/policies.py): the
scheduler overlaps KV prediction on the DRE and PCIe fetches with compute exactly as they
allow. A whole session is expanded compactly: each phase (frames, question, answers) as ONE
step at the phase's mean history length with every op's `repeat` multiplied by the phase's step
count (the KV grows by ~11 tokens a frame, so this is exact to first order and keeps the graph
~1K ops long); phases are separated by a barrier (a phase's first ops wait for every sink of the
previous phase). `steps()` gives the exact step-by-step form.

Op names are `<phase>.<stage>[.l<layer>]` (`op_stage` parses them): the stage says what the op
is (qkv, hash, cluster, score, select, fetch, writeback, attention, ...), which the study reads
to split prediction, retrieval and compute time.
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field
from archsim.workloads.load import OpGraph

Policy = Literal["vrex", "gpu_resv", "flexgen", "infinigen", "infinigenp", "rekv", "full"]
Phase = Literal["session", "frame", "question", "answer"]

# Tab. II average retrieval ratios (frame processing, text generation) per method.
TAB2_RATIOS = {
    "vrex": (0.327, 0.025), "gpu_resv": (0.327, 0.025),
    "infinigen": (1.0, 0.068), "infinigenp": (0.508, 0.068), "rekv": (0.584, 0.312),
    "flexgen": (1.0, 1.0), "full": (1.0, 1.0),
}


@attrs.frozen(kw_only=True)
class Params:
    # --- decoder (Llama-3-8B defaults, Meta model card)
    n_layers: int = field(32, ge=1, le=1024)
    d_model: int = field(4096, ge=1, le=1 << 20)
    n_q_heads: int = field(32, ge=1, le=4096)
    n_kv_heads: int = field(8, ge=1, le=4096)
    head_dim: int = field(128, ge=1, le=65536)
    ffn_dim: int = field(14336, ge=1, le=1 << 22)
    vocab: int = field(128256, ge=1, le=1 << 24)
    dtype: Literal["bf16", "fp16"] = field("bf16")
    # --- vision tower + projector (SigLIP-L/16-384, VideoLLM-Online MLP projector)
    vision_layers: int = field(24, ge=0, le=1024)
    vision_hidden: int = field(1024, ge=1, le=1 << 20)
    vision_ffn: int = field(4096, ge=1, le=1 << 22)
    vision_heads: int = field(16, ge=1, le=4096)
    vision_patches: int = field(576, ge=1, le=1 << 20)
    vision_patch_pixels: int = field(768, ge=1, le=1 << 20, doc="3 x 16 x 16 inputs per patch embedding")
    projector_hidden: int = field(4096, ge=1, le=1 << 22)
    tokens_per_frame: int = field(10, ge=1, le=1 << 16, doc="LLM tokens per frame (1 CLS + 3x3 pooled)")
    frame_separator_tokens: int = field(1, ge=0, le=1 << 10, doc="',' token between frames (videollm-online code)")
    # --- session (COIN average case, §III-A)
    frames: int = field(26, ge=0, le=1 << 20)
    question_tokens: int = field(25, ge=1, le=1 << 20)
    answer_tokens: int = field(39, ge=0, le=1 << 20)
    kv_history_tokens: int = field(10000, ge=0, le=1 << 30, doc="KV already cached when the session starts")
    batch: int = field(1, ge=1, le=1 << 16, doc="streams processed together")
    phase: Phase = field("session", doc="expand the whole session or one step of it")
    # --- KV policy and retrieval
    policy: Policy = field("vrex")
    retrieval_ratio_frame: float = field(-1.0, le=1.0, doc="-1 = the policy's Tab. II average")
    retrieval_ratio_text: float = field(-1.0, le=1.0, doc="-1 = the policy's Tab. II average")
    layer_ratio_scale: tuple[float, ...] = field((), doc="per layer-group ratio multipliers in prefill (mean 1; from ReSV runs)")
    layer_ratio_scale_text: tuple[float, ...] = field((), doc="the same for answer tokens (() = layer_ratio_scale)")
    cluster_tokens: float = field(32.0, ge=1.0, doc="mean tokens per cluster (§VI-B: ~32)")
    token_run_tokens: float = field(1.0, ge=1.0, doc="mean run of time-adjacent tokens in a token-level selection (1 = scattered; ReSV runs measure it)")
    n_hyperplanes: int = field(32, ge=1, le=64)
    wicsum_processed_fraction: float = field(0.16, ge=0.0, le=1.0, doc="row fraction before exit (§V-B: ~16 %)")
    wtu_buckets_processed: float = field(0.0, ge=0.0, doc="mean WTU buckets per row (0 = from processed fraction)")
    predict_next_layer: bool = field(True, doc="layer l's prediction serves layer l+1 (prefetch); paper ambiguous")
    infinigen_partial_ratio: float = field(0.3, gt=0.0, le=1.0, doc="InfiniGen partial query/key width (OSDI'24 default; unverified)")
    offload_source: Literal["ssd", "cpu_memory"] = field("ssd", doc="GPU baselines' KV offload target (Tab. I)")
    recent_kv_tokens: int = field(0, ge=0, le=1 << 30, doc="tokens eligible for clustering = the device's recent-KV window (0 = all history)")

    def __attrs_post_init__(self):
        if self.n_q_heads % self.n_kv_heads:
            raise ValueError("n_q_heads must be a multiple of n_kv_heads (GQA)")
        for v in (*self.layer_ratio_scale, *self.layer_ratio_scale_text):
            if not v >= 0.0:
                raise ValueError("layer_ratio_scale entries must be >= 0")

    # ------------------------------------------------------------------ derived
    def frame_tokens(self) -> int:
        return self.tokens_per_frame + self.frame_separator_tokens

    def ratios(self) -> tuple[float, float]:
        f, t = TAB2_RATIOS[self.policy]
        return (self.retrieval_ratio_frame if self.retrieval_ratio_frame >= 0 else f,
                self.retrieval_ratio_text if self.retrieval_ratio_text >= 0 else t)

    def layer_ratio(self, base: float, layer: int, *, text: bool = False) -> float:
        scale = (self.layer_ratio_scale_text or self.layer_ratio_scale) if text else self.layer_ratio_scale
        if not scale:
            return base
        g = layer * len(scale) // self.n_layers
        return min(1.0, base * scale[g])

    def weight_bytes(self) -> int:
        from archsim.units import DTYPE_BYTES
        d, hd = self.d_model, self.head_dim
        per_layer = d * (self.n_q_heads + 2 * self.n_kv_heads) * hd + self.n_q_heads * hd * d + 3 * d * self.ffn_dim
        return (self.n_layers * per_layer + 2 * self.vocab * d) * DTYPE_BYTES[self.dtype]

    def kv_bytes_per_token(self) -> int:
        from archsim.units import DTYPE_BYTES
        return 2 * self.n_layers * self.n_kv_heads * self.head_dim * DTYPE_BYTES[self.dtype]

    def vision_weight_bytes(self) -> int:
        """SigLIP tower (patch embedding, per layer QKV + output + the two FFN matrices) and the
        two-layer projector."""
        from archsim.units import DTYPE_BYTES
        h = self.vision_hidden
        tower = self.vision_patch_pixels * h + self.vision_layers * (4 * h * h + 2 * h * self.vision_ffn)
        proj = h * self.projector_hidden + self.projector_hidden * self.d_model
        return (tower + proj) * DTYPE_BYTES[self.dtype]

    def activation_bytes(self) -> int:
        """Largest live activations of one step, all streams (input + output of the widest op,
        double-buffered): the vision tower on a frame's patches, or the decoder's widest GEMM
        (FFN gate/up, the LM head) on a step's tokens."""
        from archsim.units import DTYPE_BYTES
        q = max(self.frame_tokens(), self.question_tokens)
        vision = self.vision_patches * (self.vision_hidden + self.vision_ffn)
        dec = q * (self.d_model + max(2 * self.ffn_dim, self.vocab))
        return 2 * self.batch * max(vision, dec) * DTYPE_BYTES[self.dtype]


def steps(params: Params):
    """The session's steps (archsim.blocks.vrex.policies.Step) in order."""
    from archsim.blocks.vrex.policies import build_step
    p = params
    L = p.kv_history_tokens
    out = []
    if p.phase in ("session", "frame"):
        for f in range(p.frames if p.phase == "session" else 1):
            out.append(build_step(p, "frame", L))
            L += p.frame_tokens()
    if p.phase in ("session", "question"):
        out.append(build_step(p, "question", L))
        L += p.question_tokens
    if p.phase in ("session", "answer"):
        for _ in range(p.answer_tokens if p.phase == "session" else 1):
            out.append(build_step(p, "answer", L))
            L += 1
    return out


def phases(params: Params) -> list[tuple[str, int, int]]:
    """(kind, history tokens, step count) of each phase `expand` emits: a session's frames at
    their mean history, the question after the frames, the answers at their middle; one step
    for a single-phase workload."""
    p = params
    L = p.kv_history_tokens
    ft = p.frame_tokens()
    if p.phase != "session":
        return [(p.phase, L, 1)]
    out = []
    if p.frames:
        out.append(("frame", L + (p.frames * ft) // 2, p.frames))
    lq = L + p.frames * ft
    out.append(("question", lq, 1))
    if p.answer_tokens:
        out.append(("answer", lq + p.question_tokens + p.answer_tokens // 2, p.answer_tokens))
    return out


def expand(params: Params, *, seed: int = 0) -> OpGraph:
    """The op graph of `phases(params)`: each phase one step of its policy, ops repeated by the
    phase's step count, a phase's roots waiting for every sink of the previous phase (see the
    module docstring)."""
    from archsim.blocks.vrex.policies import build_step
    p = params
    ops: list = []
    after: list[tuple[int, ...]] = []
    sinks: tuple[int, ...] = ()
    for kind, kv_len, count in phases(p):
        st = build_step(p, kind, kv_len)
        base = len(ops)
        for t in st.tasks:
            ops.append(attrs.evolve(t.op, name=f"{kind}.{t.name}", repeat=t.op.repeat * count))
            after.append(tuple(base + d for d in t.deps) if t.deps else sinks)
        used = {d for t in st.tasks for d in t.deps}
        sinks = tuple(base + i for i in range(len(st.tasks)) if i not in used)
    return OpGraph(ops=tuple(ops), after=tuple(after))


def op_stage(name: str) -> tuple[str, str, int]:
    """(phase, stage, layer) of an op name `expand` gave (layer -1 for ops outside the layers)."""
    parts = name.split(".")
    layer = int(parts[2][1:]) if len(parts) > 2 and parts[2].startswith("l") else -1
    return parts[0], parts[1] if len(parts) > 1 else "", layer
