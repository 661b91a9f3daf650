"""ReSV kernels (archsim/blocks/vrex/kernels.py) against slow pure-Python references, WiCSum and the
WTU worked by hand, and invariants."""
from __future__ import annotations

import math

import numpy as np
import pytest

from archsim.blocks.vrex.kernels import (cluster_means, cluster_scores, cluster_tokens, hash_bits, resv_layer,
                                  wicsum_rows, wtu_cycles)
from archsim.blocks.vrex.kv_synth import SynthKvParams, random_hyperplanes, synth_keys, synth_queries


# ----------------------------------------------------------------------------- naive references

def naive_hash(keys, hp):
    codes = []
    for t in range(keys.shape[0]):
        c = 0
        for h in range(hp.shape[1]):
            s = 0.0
            for d in range(keys.shape[1]):
                s += float(keys[t, d]) * float(hp[d, h])
            if s > 0.0:
                c |= 1 << h
        codes.append(c)
    return codes


def naive_cluster(codes, th, window):
    assign, ccode, last, counts = [], [], [], []
    for t, code in enumerate(codes):
        best, best_d = -1, None
        for c in range(len(ccode)):
            if last[c] < t - window:
                continue
            d = bin(code ^ ccode[c]).count("1")
            if best_d is None or d < best_d:
                best, best_d = c, d
        if best >= 0 and best_d < th:
            assign.append(best)
            counts[best] += 1
            last[best] = t
        else:
            ccode.append(code)
            last.append(t)
            counts.append(1)
            assign.append(len(ccode) - 1)
    return assign, counts


def naive_means(keys, assign, counts, col0, width):
    sums = [[0.0] * width for _ in counts]
    for t, c in enumerate(assign):
        for d in range(width):
            sums[c][d] += float(keys[t, col0 + d])
    return [[v / float(counts[c]) for v in row] for c, row in enumerate(sums)]


def naive_scores(queries, means, scale):
    out = []
    for q in queries:
        raw = []
        for m in means:
            s = 0.0
            for d in range(len(m)):
                s += float(q[d]) * m[d]
            raw.append(s * scale)
        mx = max(raw)
        out.append([math.exp(v - mx) for v in raw])
    return out


def naive_wicsum(row, counts, ratio):
    """Eqs. 1-3: returns (selected cluster ids, processed entries)."""
    total = 0.0
    for s, tc in zip(row, counts):
        total += s * float(tc)
    th = total * ratio
    order = sorted(range(len(row)), key=lambda j: (-row[j], j))
    acc, sel = 0.0, []
    for j in order:
        acc += row[j] * float(counts[j])
        sel.append(j)
        if acc > th:
            break
    return set(sel), len(sel)


# ----------------------------------------------------------------------------- identity with references

@pytest.mark.parametrize("seed", range(4))
def test_resv_kernels_match_naive_reference(seed):
    p = SynthKvParams(kv_heads=2, q_per_kv=2, head_dim=16, tokens_per_frame=5, latent_dim=4)
    keys = synth_keys(p, 160, layer=seed % 3, n_layers=3, seed=seed)
    hp = random_hyperplanes(keys.shape[1], 12, seed)
    codes = hash_bits(keys, hp)
    assert [int(c) for c in codes] == naive_hash(keys, hp)
    th, window = 4, 60
    assign, counts, n_c, comps, _ = cluster_tokens(codes, th, window)
    n_assign, n_counts = naive_cluster([int(c) for c in codes], th, window)
    assert list(assign) == n_assign and list(counts) == n_counts and n_c == len(n_counts)
    assert counts.sum() == keys.shape[0]
    q = synth_queries(p, keys, stage="frame", n_query_tokens=3, layer=seed % 3, n_layers=3, seed=seed)
    for g in range(p.kv_heads):
        means = cluster_means(keys, assign, counts, g * p.head_dim, p.head_dim)
        assert np.array_equal(means, np.array(naive_means(keys, n_assign, n_counts, g * p.head_dim, p.head_dim)))
        sc = cluster_scores(q[g], means, 0.5)
        nsc = naive_scores(q[g], means.tolist(), 0.5)
        assert np.array_equal(sc, np.array(nsc))
        for ratio in (0.1, 0.3, 0.8):
            sel, proc = wicsum_rows(sc, counts, ratio)
            for r in range(sc.shape[0]):
                ref_sel, ref_proc = naive_wicsum(nsc[r], n_counts, ratio)
                assert set(np.flatnonzero(sel[r])) == ref_sel
                assert proc[r] == ref_proc


def test_resv_layer_equals_its_parts():
    p = SynthKvParams(kv_heads=2, q_per_kv=2, head_dim=16, tokens_per_frame=5, latent_dim=4)
    keys = synth_keys(p, 120, layer=0, n_layers=2, seed=3)
    hp = random_hyperplanes(keys.shape[1], 16, 3)
    q = synth_queries(p, keys, stage="text", n_query_tokens=1, layer=0, n_layers=2, seed=3)
    assign, counts, n_c, _, _, sel, proc, sel_tok = resv_layer(keys, q, hp, 5, 1000, 0.3, 1.0)
    for g in range(2):
        means = cluster_means(keys, assign, counts, g * 16, 16)
        s, _ = wicsum_rows(cluster_scores(q[g], means, 1.0), counts, 0.3)
        u = s.max(axis=0)
        assert np.array_equal(sel[g], u)
        assert sel_tok[g] == counts[u == 1].sum()


# ----------------------------------------------------------------------------- by hand

def test_wicsum_worked_example_by_hand():
    """Paper Fig. 9 form (positive integer scores, Th_r-wics = 80 %); the figure's own numbers
    are not in the notes, so this is our example worked the same way.
    scores [5, 1, 3, 8, 2], token counts [2, 4, 1, 1, 3]
    Eq. 1: Sum = 5*2 + 1*4 + 3*1 + 8*1 + 2*3 = 10 + 4 + 3 + 8 + 6 = 31
    Eq. 2: Th = 0.8 * 31 = 24.8
    Eq. 3: descending: c3 (8, +8 -> 8), c0 (5, +10 -> 18), c2 (3, +3 -> 21), c4 (2, +6 -> 27 > 24.8)
           -> clusters {3, 0, 2, 4}, 4 of 5 entries processed, 1+2+1+3 = 7 of 11 tokens.
    With ratio 0.3: Th = 9.3; 8 -> 18 > 9.3 -> clusters {3, 0}, 2 entries, 3 tokens."""
    scores = np.array([[5.0, 1.0, 3.0, 8.0, 2.0]])
    counts = np.array([2, 4, 1, 1, 3], dtype=np.int64)
    sel, proc = wicsum_rows(scores, counts, 0.8)
    assert set(np.flatnonzero(sel[0])) == {3, 0, 2, 4} and proc[0] == 4
    assert counts[sel[0] == 1].sum() == 7
    sel, proc = wicsum_rows(scores, counts, 0.3)
    assert set(np.flatnonzero(sel[0])) == {3, 0} and proc[0] == 2


def test_wtu_cycle_loop_by_hand():
    """Same row, 4 buckets over [min 1, max 8], step 1.75:
    b0 [6.25, 8] = {c3}: acc 8; b1 [4.5, 6.25) = {c0}: 18; b2 [2.75, 4.5) = {c2}: 21;
    b3 (< 2.75) = {c1, c4} in index order.
    width 16: both in one group -> acc 31 > 24.8, all 5 selected; cycles = preprocess 1 +
      4 buckets x 1 + drain 8 = 13.
    width 1: c1 first -> 25 > 24.8 -> exit before c4: {3, 0, 2, 1}; cycles = 5 + 4 x 5 + 8 = 33."""
    scores = np.array([[5.0, 1.0, 3.0, 8.0, 2.0]])
    counts = np.array([2, 4, 1, 1, 3], dtype=np.int64)
    cyc, sel, proc, scanned, acts = wtu_cycles(scores, counts, 0.8, 16, 4, 8)
    assert cyc == 13 and scanned[0] == 4 and proc[0] == 5 and sel[0].sum() == 5
    cyc, sel, proc, scanned, _ = wtu_cycles(scores, counts, 0.8, 1, 4, 8)
    assert cyc == 33 and set(np.flatnonzero(sel[0])) == {3, 0, 2, 1} and proc[0] == 4


# ----------------------------------------------------------------------------- invariants

@pytest.mark.parametrize("seed", range(6))
def test_higher_ratio_never_selects_fewer(seed):
    rng = np.random.default_rng(seed)
    scores = rng.random((7, 40)) ** 3
    counts = rng.integers(1, 50, 40)
    prev = None
    for ratio in (0.0, 0.1, 0.3, 0.5, 0.9, 1.0):
        sel, proc = wicsum_rows(scores, counts, ratio)
        tokens = (sel * counts).sum(axis=1)
        if prev is not None:
            assert np.all(sel >= prev[0]) and np.all(tokens >= prev[1])
        prev = (sel, tokens)
    assert prev[0].all()          # ratio 1: the threshold is never passed, everything is selected


@pytest.mark.parametrize("seed", range(6))
def test_wtu_meets_threshold_and_takes_whole_higher_buckets(seed):
    rng = np.random.default_rng(seed)
    scores = rng.random((5, 64)) ** 2
    counts = rng.integers(1, 40, 64)
    for width, buckets in ((16, 16), (4, 8), (1, 32)):
        _, sel, proc, scanned, _ = wtu_cycles(scores, counts, 0.3, width, buckets, 0)
        for r in range(5):
            th = 0.3 * float((scores[r] * counts).sum())
            assert float((scores[r] * counts)[sel[r] == 1].sum()) > th
            assert proc[r] == sel[r].sum() and 1 <= scanned[r] <= buckets
            # every entry above the lowest selected score's bucket was taken
            lo = scores[r][sel[r] == 1].min()
            step = (scores[r].max() - scores[r].min()) / buckets
            assert np.all(sel[r][scores[r] > lo + step])


def test_clustering_bounds_and_window():
    codes = np.array([0, 1, 3, 0xFF, 0xFE, 0], dtype=np.uint64)
    assign, counts, n_c, comps, elig = cluster_tokens(codes, 3, 100)
    # 0,1,3 within distance < 3 of cluster 0's founder (0); 0xFF opens a cluster; 0xFE joins it; 0 joins c0
    assert list(assign) == [0, 0, 0, 1, 1, 0] and list(counts) == [4, 2]
    # window 1: only the cluster holding the previous token is on the device (eligible)
    assign, counts, _, _, _ = cluster_tokens(codes, 3, 1)
    assert list(assign) == [0, 0, 0, 1, 1, 2]
    # window 0: nothing is on the device, every token opens a cluster
    assign, counts, _, comps, _ = cluster_tokens(codes, 3, 0)
    assert list(assign) == [0, 1, 2, 3, 4, 5] and comps == 0
