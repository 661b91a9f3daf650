"""The closed-form ifmap word counter and the batched kernel against their naive twins:
`region_words` vs the per-element stamp walk (`ifmap_tile_new_words`), `evaluate_points` vs
`simulate_layer` one layer at a time."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.blocks.systolic import kernels as K


def _stamp_count(rects, w, ch, fw, s, ew, h):
    stamp = np.zeros(h * w * ch, dtype=np.int32)
    return sum(K.ifmap_tile_new_words(p0, p1, k0, k1, ew, w, ch, fw, s, stamp, 1)
               for p0, p1, k0, k1 in rects)


@pytest.mark.parametrize("seed", range(4))
def test_region_words_equals_stamp_walk(seed):
    rng = np.random.default_rng(seed)
    for _ in range(400):
        s = int(rng.integers(1, 4))
        fh, fw = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        ch = int(rng.integers(1, 9))
        h, w = fh + int(rng.integers(0, 14)), fw + int(rng.integers(0, 14))
        eh, ew = (h - fh + s) // s, (w - fw + s) // s
        m, k = eh * ew, fh * fw * ch
        rects = []
        for _r in range(int(rng.integers(1, 3))):
            p0, p1 = sorted(int(x) for x in rng.integers(0, m + 1, 2))
            k0, k1 = sorted(int(x) for x in rng.integers(0, k + 1, 2))
            rects.append((p0, p1, k0, k1))
        arr = np.array(rects, dtype=np.int64).T.copy()
        got = K.region_words(len(rects), arr[0], arr[1], arr[2], arr[3], ew, ch, fw, s)
        assert got == _stamp_count(rects, w, ch, fw, s, ew, h), (s, fh, fw, ch, h, w, rects)


def test_region_words_whole_layer_is_used_words():
    for (h, w, fh, fw, ch, s) in [(230, 230, 7, 7, 3, 2), (58, 58, 3, 3, 64, 1), (15, 15, 3, 3, 5, 2)]:
        eh, ew = (h - fh + s) // s, (w - fw + s) // s
        got = K.region_words(1, np.array([0]), np.array([eh * ew]), np.array([0]),
                             np.array([fh * fw * ch]), ew, ch, fw, s)
        assert got == K.used_ifmap_words(h, w, fh, fw, ch, s)


@pytest.mark.parametrize("seed", range(3))
def test_evaluate_points_equals_simulate_layer(seed):
    rng = np.random.default_rng(100 + seed)
    layers = []
    for _ in range(6):
        s = int(rng.integers(1, 3))
        fh = fw = int(rng.choice([1, 3, 5]))
        h = w = fh + int(rng.integers(0, 20))
        layers.append((h, w, fh, fw, int(rng.integers(1, 12)), int(rng.integers(1, 40)), s))
    layers.append((37, 50, 1, 50, 1, 29, 1))            # a GEMM 37 x 50 x 29
    lay = np.array(layers, dtype=np.int64)
    n_p = 40
    rows = np.sort(rng.choice([2, 4, 7, 16], n_p)).astype(np.int64)
    cols = rng.choice([3, 4, 8], n_p).astype(np.int64)
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    df = rng.integers(0, 3, (n_p, len(layers))).astype(np.int64)
    si, sf, so = (rng.integers(2, 5000, n_p).astype(np.int64) for _ in range(3))
    bw = rng.choice([0.5, 2.0, 7.3, 1e3], n_p)
    po = rng.integers(0, 2, n_p).astype(np.bool_)
    fo = rng.integers(0, 2, n_p).astype(np.bool_)
    out = K.evaluate_points(df, rows, cols, si, sf, so, bw, po, fo, lay)
    for p in range(n_p):
        for li in range(len(layers)):
            ref = K.simulate_layer(df[p, li], rows[p], cols[p], *layers[li], si[p], sf[p], so[p],
                                   bw[p], po[p], fo[p])
            assert np.array_equal(out[p, li], ref), (p, li)
