"""Run ReSV (archsim.blocks.vrex.kernels) on synthetic KV streams (archsim.blocks.vrex.kv_synth) and
summarise what the performance model needs: retrieval ratios per stage and layer group, cluster
sizes, the fraction of each WiCSum row processed before exit, WTU buckets and cycles per row
(from the WTU cycle loop on the real score rows), the HC-table size, and the Hamming-vs-cosine
correlation of the stream ([Fig. 7b]).

Scaling: the stream is generated at full length (up to 40K tokens) and full key width for
`sim_layers` layers spread over the model's depth (each stands for a contiguous group of
layers); hash bits are computed once per layer on the longest stream and sliced for shorter
histories (a token's hash does not depend on later tokens).
"""
from __future__ import annotations

import functools
import math

import attrs
import numpy as np

from archsim.blocks.vrex.kernels import (cluster_means, cluster_scores, cluster_tokens, hash_bits, popcount64,
                                  wicsum_rows, wtu_cycles)
from archsim.blocks.vrex.kv_synth import SynthKvParams, random_hyperplanes, synth_keys, synth_queries


@attrs.frozen(kw_only=True)
class ResvStats:
    kv_len: int
    frame_ratio: float                   # selected / history tokens, mean over layers and KV heads
    text_ratio: float
    layer_frame_ratios: tuple            # per simulated layer (group)
    layer_text_ratios: tuple
    head_frame_ratios: tuple             # per KV head, mean over layers
    mean_cluster_tokens: float
    clusters_per_layer: float
    processed_fraction_frame: float      # exact WiCSum: entries consumed before exit / row length
    processed_fraction_text: float
    wtu_buckets_frame: float             # WTU cycle loop: buckets scanned per row
    wtu_buckets_text: float
    wtu_cycles_per_row_frame: float
    wtu_processed_fraction_frame: float
    hc_table_fraction: float             # HC-table bytes / full KV bytes
    mean_run_tokens: float               # selected tokens per run of time-adjacent selected tokens (frame stage)
    max_eligible_clusters: int           # most cluster hashes one token was compared with
    hamming_cosine_corr: float           # corr(cosine, -Hamming distance) over token pairs


@attrs.frozen(kw_only=True)
class ResvConfig:
    kv_lens: tuple = (1000, 5000, 10000, 20000, 40000)
    synth: SynthKvParams = SynthKvParams()
    n_layers_model: int = 32
    sim_layers: int = 4
    n_hyperplanes: int = 32
    th_hd: int = 7
    wicsum_ratio: float = 0.3
    recent_window: int = 8192
    frame_query_tokens: int = 11
    text_draws: int = 4
    wtu_width: int = 16
    wtu_buckets: int = 16
    wtu_pipeline_cycles: int = 8
    hc_index_bytes: int = 4
    seed: int = 0


def sim_layer_indices(cfg: ResvConfig) -> list[int]:
    n = cfg.n_layers_model
    return [min(n - 1, int((i + 0.5) * n / cfg.sim_layers)) for i in range(cfg.sim_layers)]


@functools.lru_cache(maxsize=8)
def measure(cfg: ResvConfig) -> dict[int, ResvStats]:
    """ReSV statistics per KV-history length (cached per config)."""
    p = cfg.synth
    Lmax = max(cfg.kv_lens)
    G, dh = p.kv_heads, p.head_dim
    per_len: dict[int, dict] = {L: {"fr": [], "tr": [], "heads": np.zeros(G), "csize": [], "ncl": [],
                                    "pf": [], "pt": [], "bf": [], "bt": [], "cyc": [], "wpf": [],
                                    "hc": [], "runs": [], "elig": 0} for L in cfg.kv_lens}
    corr = []
    for li, layer in enumerate(sim_layer_indices(cfg)):
        keys_all = synth_keys(p, Lmax, layer=layer, n_layers=cfg.n_layers_model, seed=cfg.seed)
        hp = random_hyperplanes(keys_all.shape[1], cfg.n_hyperplanes, cfg.seed)
        codes_all = hash_bits(keys_all, hp)
        if li == 0:
            corr.append(_hamming_cosine_corr(keys_all, codes_all, cfg.seed))
        for L in cfg.kv_lens:
            keys = keys_all[:L]
            assign, counts, n_c, _, elig = cluster_tokens(codes_all[:L], cfg.th_hd, cfg.recent_window)
            acc = per_len[L]
            acc["csize"].append(L / n_c)
            acc["ncl"].append(n_c)
            acc["elig"] = max(acc["elig"], int(elig))
            kd = keys.shape[1]
            hc = n_c * (kd * 2 + math.ceil(cfg.n_hyperplanes / 8) + 2 * cfg.hc_index_bytes) + L * cfg.hc_index_bytes
            acc["hc"].append(hc / (L * kd * 2 * 2))
            qf = synth_queries(p, keys, stage="frame", n_query_tokens=cfg.frame_query_tokens, layer=layer,
                               n_layers=cfg.n_layers_model, seed=cfg.seed)
            qts = [synth_queries(p, keys, stage="text", n_query_tokens=1, layer=layer, n_layers=cfg.n_layers_model,
                                 seed=cfg.seed, draw=d) for d in range(cfg.text_draws)]
            sel_f, sel_t = 0, 0
            for g in range(G):
                means = cluster_means(keys, assign, counts, g * dh, dh)
                sc = cluster_scores(qf[g], means, 1.0)
                s, pr = wicsum_rows(sc, counts, cfg.wicsum_ratio)
                u = s.max(axis=0).astype(bool)
                tok = int(counts[u].sum())
                mask = u[assign]
                n_runs = int(mask[0]) + int(np.count_nonzero(mask[1:] & ~mask[:-1]))
                if n_runs:
                    acc["runs"].append(tok / n_runs)
                sel_f += tok
                acc["heads"][g] += tok / L / cfg.sim_layers
                acc["pf"].append(float(pr.mean()) / n_c)
                cyc, _, wproc, scanned, _ = wtu_cycles(sc, counts, cfg.wicsum_ratio, cfg.wtu_width, cfg.wtu_buckets,
                                                       cfg.wtu_pipeline_cycles)
                acc["bf"].append(float(scanned.mean()))
                acc["cyc"].append(cyc / sc.shape[0])
                acc["wpf"].append(float(wproc.mean()) / n_c)
                for qt in qts:
                    sct = cluster_scores(qt[g], means, 1.0)
                    st, prt = wicsum_rows(sct, counts, cfg.wicsum_ratio)
                    sel_t += int(counts[st.max(axis=0).astype(bool)].sum()) / len(qts)
                    acc["pt"].append(float(prt.mean()) / n_c)
                    _, _, _, sc_t, _ = wtu_cycles(sct, counts, cfg.wicsum_ratio, cfg.wtu_width, cfg.wtu_buckets,
                                                  cfg.wtu_pipeline_cycles)
                    acc["bt"].append(float(sc_t.mean()))
            acc["fr"].append(sel_f / (G * L))
            acc["tr"].append(sel_t / (G * L))
    out = {}
    for L, a in per_len.items():
        out[L] = ResvStats(
            kv_len=L, frame_ratio=float(np.mean(a["fr"])), text_ratio=float(np.mean(a["tr"])),
            layer_frame_ratios=tuple(float(x) for x in a["fr"]), layer_text_ratios=tuple(float(x) for x in a["tr"]),
            head_frame_ratios=tuple(float(x) for x in a["heads"]),
            mean_cluster_tokens=float(np.mean(a["csize"])), clusters_per_layer=float(np.mean(a["ncl"])),
            processed_fraction_frame=float(np.mean(a["pf"])), processed_fraction_text=float(np.mean(a["pt"])),
            wtu_buckets_frame=float(np.mean(a["bf"])), wtu_buckets_text=float(np.mean(a["bt"])),
            wtu_cycles_per_row_frame=float(np.mean(a["cyc"])), wtu_processed_fraction_frame=float(np.mean(a["wpf"])),
            hc_table_fraction=float(np.mean(a["hc"])), max_eligible_clusters=int(a["elig"]),
            mean_run_tokens=float(np.mean(a["runs"])) if a["runs"] else 1.0,
            hamming_cosine_corr=float(np.mean(corr)))
    return out


def layer_scale(ratios) -> tuple:
    """Per-group multipliers with mean 1 (for Params.layer_ratio_scale)."""
    m = float(np.mean(ratios))
    return tuple(float(r) / m for r in ratios) if m > 0 else ()


def _hamming_cosine_corr(keys, codes, seed: int, n_pairs: int = 4000) -> float:
    rng = np.random.default_rng([seed, 0xC0])
    n = keys.shape[0]
    i = rng.integers(0, n, n_pairs)
    # half the pairs near each other in time (adjacent frames), half anywhere
    j = np.where(rng.random(n_pairs) < 0.5, np.clip(i + rng.integers(-30, 31, n_pairs), 0, n - 1),
                 rng.integers(0, n, n_pairs))
    a = keys[i].astype(np.float64)
    b = keys[j].astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    ham = np.array([popcount64(codes[x] ^ codes[y]) for x, y in zip(i, j)], dtype=np.float64)
    return float(np.corrcoef(cos, -ham)[0, 1])
