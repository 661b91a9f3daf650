"""Seeded synthetic KV streams for a streaming video LLM (stand-in for real activations).

Real VideoLLM-Online activations cannot be downloaded here, so ReSV runs on streams built as
follows (all knobs in `SynthKvParams`, each documented; docs/vrex.md has the same text):

1. **Video.** A scene latent z_f (dimension `latent_dim`) per frame follows an AR(1) process,
   z_f = rho z_{f-1} + sqrt(1 - rho^2) e_f with rho = `frame_similarity`, and with probability
   `scene_cut_prob` per frame a scene cut draws a fresh z_f. Earlier scenes come back with
   probability `scene_return_prob` (a procedure revisits a view), which is what makes old KV
   worth retrieving. The video is shared by all layers.
2. **Tokens.** Frame f has `tokens_per_frame` tokens (VideoLLM-Online: 1 CLS + 3x3 pooled
   grid); token j of frame f has content x = z_f + `slot_scale` u_j + `token_noise` n, with u_j
   a fixed per-slot offset (CLS vs grid cell) and n i.i.d. normal.
3. **Keys.** Per layer l and KV head g: k = x W_lg + `key_bias` mu_lg + `key_noise` m, W_lg a
   random latent_dim x head_dim map whose column norms rise towards the low-frequency RoPE
   pairs (real post-RoPE keys carry most of their norm in low-frequency dimensions, which is
   why adjacent-frame keys stay similar after RoPE, [Fig. 7a]), mu_lg a shared key direction.
   RoPE (Llama-3 theta = 500000) is applied at each token's position.
4. **Queries.** Frame-stage queries are the new frame's own token contents; text-stage queries
   (question / answer tokens) look for one earlier scene plus noise. Each query row is mapped
   with its KV head's W and RoPE'd, then scaled so that its logits over the stream's keys have
   standard deviation `beta_lh` — the attention sharpness of layer l, head h. beta_l is
   log-uniform in `logit_std_range` across layers (seeded, so some layers are broad and some
   sharp, [Fig. 20]) and varies across heads by a log-normal factor `head_sharpness_sigma`.

The retrieval ratios these streams give are reported by `archsim reproduce vrex` next to the
paper's [Tab. II] ratios; they are an output of the synthetic stream, not a fit.
"""
from __future__ import annotations

import math

import attrs
import numpy as np

from archsim.config.load import field


@attrs.frozen(kw_only=True)
class SynthKvParams:
    tokens_per_frame: int = field(10, ge=1, doc="LLM tokens per frame (VideoLLM-Online live1+: 1 CLS + 3x3)")
    kv_heads: int = field(8, ge=1, doc="KV heads (Llama-3-8B: 8)")
    q_per_kv: int = field(4, ge=1, doc="query heads per KV head (Llama-3-8B: 32 / 8)")
    head_dim: int = field(128, ge=2, doc="head dimension (even, for RoPE)")
    latent_dim: int = field(16, ge=1, doc="dimension of the scene latent")
    frame_similarity: float = field(0.95, ge=0.0, le=1.0, doc="AR(1) coefficient of the scene latent between frames")
    scene_cut_prob: float = field(0.02, ge=0.0, le=1.0, doc="per-frame probability of a scene cut")
    scene_return_prob: float = field(0.3, ge=0.0, le=1.0, doc="probability that a cut returns to an earlier scene")
    token_noise: float = field(0.3, ge=0.0, doc="per-token content noise (relative to the unit scene latent)")
    slot_scale: float = field(0.5, ge=0.0, doc="per-slot (CLS / grid cell) offset magnitude")
    key_bias: float = field(1.0, ge=0.0, doc="shared key-direction magnitude (relative to content)")
    key_noise: float = field(0.1, ge=0.0, doc="i.i.d. per-dimension key noise")
    logit_std_range: tuple[float, float] = field((1.0, 4.0), doc="attention-logit std across layers (log-uniform)")
    head_sharpness_sigma: float = field(0.25, ge=0.0, doc="log-normal spread of sharpness across heads")
    rope_theta: float = field(500000.0, gt=0.0, doc="RoPE base (Llama-3: 500000)")

    def __attrs_post_init__(self):
        lo, hi = self.logit_std_range
        if not (0.0 < lo <= hi):
            raise ValueError("logit_std_range must be (lo, hi) with 0 < lo <= hi")
        if self.head_dim % 2:
            raise ValueError("head_dim must be even (RoPE pairs)")


def _rope_tables(pos: np.ndarray, dim: int, theta: float):
    inv = theta ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    ang = pos[:, None].astype(np.float64) * inv[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def _rope(x: np.ndarray, tables) -> np.ndarray:
    """Rotate pairs (2i, 2i+1) of the last axis by pos * theta^(-2i/D) (tables from _rope_tables)."""
    c, s = tables
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def _video(p: SynthKvParams, n_frames: int, seed: int):
    """Scene latents per frame and the per-slot offsets (shared by all layers)."""
    rng = np.random.default_rng([seed, 0x51DE0])
    z = np.empty((n_frames, p.latent_dim), dtype=np.float64)
    z[0] = rng.standard_normal(p.latent_dim)
    rho = p.frame_similarity
    scenes = [z[0].copy()]
    for f in range(1, n_frames):
        if rng.random() < p.scene_cut_prob:
            if len(scenes) > 1 and rng.random() < p.scene_return_prob:
                z[f] = scenes[int(rng.integers(0, len(scenes) - 1))]
            else:
                z[f] = rng.standard_normal(p.latent_dim)
            scenes.append(z[f].copy())
        else:
            z[f] = rho * z[f - 1] + math.sqrt(max(1.0 - rho * rho, 0.0)) * rng.standard_normal(p.latent_dim)
    slots = rng.standard_normal((p.tokens_per_frame, p.latent_dim))
    return z, slots


def _layer_maps(p: SynthKvParams, layer: int, n_layers: int, seed: int):
    rng = np.random.default_rng([seed, 0x1A7E5, layer])
    pairs = p.head_dim // 2
    # column norm profile: low-frequency pairs (high index) carry more of the key norm
    prof = np.repeat(0.3 + 1.7 * (np.arange(pairs) / max(pairs - 1, 1)), 2)
    w = rng.standard_normal((p.kv_heads, p.latent_dim, p.head_dim)) / math.sqrt(p.latent_dim) * prof
    mu = rng.standard_normal((p.kv_heads, p.head_dim)) * prof
    mu *= p.key_bias * math.sqrt(p.head_dim) / np.linalg.norm(mu, axis=1, keepdims=True)
    lo, hi = p.logit_std_range
    # layer sharpness: a seeded permutation of evenly spaced log-values, so every run covers the range
    order = np.random.default_rng([seed, 0x5AA9]).permutation(n_layers)
    u = (order[layer] + 0.5) / n_layers
    beta_l = lo * (hi / lo) ** u
    beta = beta_l * np.exp(p.head_sharpness_sigma * rng.standard_normal((p.kv_heads, p.q_per_kv)))
    return w, mu, beta, rng


def synth_keys(p: SynthKvParams, n_tokens: int, *, layer: int, n_layers: int, seed: int) -> np.ndarray:
    """Post-RoPE keys [n_tokens, kv_heads * head_dim] (float32) of one layer's stream."""
    n_frames = math.ceil(n_tokens / p.tokens_per_frame)
    z, slots = _video(p, n_frames + 64, seed)
    w, mu, _, rng = _layer_maps(p, layer, n_layers, seed)
    t = np.arange(n_tokens)
    x = z[t // p.tokens_per_frame] + p.slot_scale * slots[t % p.tokens_per_frame]
    noise_rng = np.random.default_rng([seed, 0x70CE, 0])     # token noise shared by layers
    x = x + p.token_noise * noise_rng.standard_normal(x.shape)
    keys = np.empty((n_tokens, p.kv_heads * p.head_dim), dtype=np.float32)
    tables = _rope_tables(t, p.head_dim, p.rope_theta)
    x32 = x.astype(np.float32)
    for g in range(p.kv_heads):
        k = x32 @ w[g].astype(np.float32) + mu[g].astype(np.float32)
        k += np.float32(p.key_noise) * rng.standard_normal(k.shape, dtype=np.float32)
        keys[:, g * p.head_dim:(g + 1) * p.head_dim] = _rope(k, tables)
    return keys


def synth_queries(p: SynthKvParams, keys: np.ndarray, *, stage: str, n_query_tokens: int, layer: int,
                  n_layers: int, seed: int, draw: int = 0) -> np.ndarray:
    """Query rows [kv_heads, q_per_kv * n_query_tokens, head_dim] (float32) for tokens right
    after the stream in `keys`. stage = "frame" (a new frame's tokens) or "text" (question /
    answer tokens looking for one earlier scene); `draw` picks an independent query set."""
    if stage not in ("frame", "text"):
        raise ValueError("stage must be 'frame' or 'text'")
    n_tok = keys.shape[0]
    n_frames = math.ceil(n_tok / p.tokens_per_frame)
    z, slots = _video(p, n_frames + 64, seed)
    w, _, beta, rng = _layer_maps(p, layer, n_layers, seed)
    qrng = np.random.default_rng([seed, 0x9E7, n_tok, 1 if stage == "frame" else 2, draw])
    if stage == "frame":
        j = np.arange(n_query_tokens) % p.tokens_per_frame
        x = z[n_frames] + p.slot_scale * slots[j] + p.token_noise * qrng.standard_normal((n_query_tokens, p.latent_dim))
    else:
        target = z[int(qrng.integers(0, max(n_frames, 1)))]
        x = target + 0.5 * qrng.standard_normal((n_query_tokens, p.latent_dim))
    tables = _rope_tables(n_tok + np.arange(n_query_tokens), p.head_dim, p.rope_theta)
    sample = keys[:: max(1, n_tok // 2048)]
    out = np.empty((p.kv_heads, p.q_per_kv * n_query_tokens, p.head_dim), dtype=np.float32)
    for g in range(p.kv_heads):
        kg = sample[:, g * p.head_dim:(g + 1) * p.head_dim].astype(np.float64)
        for h in range(p.q_per_kv):
            mix = rng.standard_normal((p.latent_dim, p.latent_dim)) * 0.3 + np.eye(p.latent_dim)
            q = _rope(((x @ mix) @ w[g]).astype(np.float32), tables).astype(np.float64)
            logits = q @ kg.T
            sd = logits.std(axis=1, keepdims=True)
            q *= beta[g, h] / np.maximum(sd, 1e-12)
            out[g, h * n_query_tokens:(h + 1) * n_query_tokens] = q.astype(np.float32)
    return out


def random_hyperplanes(dim: int, n_hp: int, seed: int) -> np.ndarray:
    """[dim, n_hp] i.i.d. standard-normal hyperplane normals (the paper does not give the
    distribution; Gaussian is the standard random-hyperplane LSH choice)."""
    return np.random.default_rng([seed, 0x4A54]).standard_normal((dim, n_hp)).astype(np.float32)
