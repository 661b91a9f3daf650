"""The compat kernels' shortcuts against naive pure-Python references (no scalesim needed):
bulk OFMAP writes vs a literal per-write port of write_buffer.py, the CSR fetch-set builder vs a
plain list walk, and the CALC counting shortcut vs per-address booking."""
import math
import random

import numpy as np
import pytest

from archsim.scalesim_compat import kernels as K
from archsim.scalesim_compat import LayerDims, ScaleSimConfig, compat_layer


class NaiveWriteBuffer:
    """Literal per-write port of scalesim/memory/write_buffer.py (counts only, no addresses)."""

    def __init__(self, words, bw):
        self.total, self.bw = words, bw
        self.active = int(math.ceil(words * 0.5))
        self.drain = words - self.active
        self.free, self.line_idx, self.lines, self.start = words, 0, [], 0
        self.drain_end, self.access, self.cycles = 0, 0, []

    def _drain(self, start):
        n = min(math.ceil(self.drain / self.bw), len(self.lines) - self.start)
        chunk = self.lines[self.start:self.start + n]
        data = n * self.bw - (self.bw - chunk[-1])
        self.access += data
        self.free += data
        self.start += n
        self.cycles += [start + i for i in range(n)]
        return start + n - 1

    def service_row(self, n_writes, cycle):
        cur = cycle
        for _ in range(n_writes):
            self.line_idx += 1
            self.free -= 1
            if self.line_idx == self.bw:
                self.lines.append(self.bw)
                self.line_idx = 0
            if cur < self.drain_end:
                if not self.free > 0:
                    cur = self.drain_end
            elif self.free < self.active:
                if self.line_idx:
                    self.lines.append(self.line_idx)
                    self.line_idx = 0
                self.drain_end = self._drain(cur)
        return cur


@pytest.mark.parametrize("seed", range(20))
def test_bulk_ofmap_writes_match_per_write_port(seed):
    rng = random.Random(seed)
    words, bw = rng.choice([8, 16, 33, 64, 1024]), rng.choice([1, 2, 3, 7, 16])
    naive = NaiveWriteBuffer(words, bw)
    ws = np.zeros(K.N_W, dtype=np.int64)
    ws[K.W_TOTAL], ws[K.W_ACTIVE], ws[K.W_DRAIN] = words, naive.active, naive.drain
    ws[K.W_BW], ws[K.W_FREE], ws[K.W_CAP] = bw, words, 4      # tiny ring: exercises growth
    ring = np.zeros(4, dtype=np.int64)
    cycle = 0
    for _ in range(300):
        n = rng.choice([0, 0, 1, 2, 5, 17, 40])
        want = naive.service_row(n, cycle)
        got, ring = K._ofmap_writes(ws, ring, n, cycle) if n else (cycle, ring)
        assert got == want
        cycle = want + 1 + rng.choice([0, 0, 3])
    assert ws[K.W_ACCESS] == naive.access and ws[K.W_FREE] == naive.free
    assert ws[K.W_NLINES] == len(naive.lines) and ws[K.W_DLINES] == naive.start
    if naive.cycles:
        assert (ws[K.W_DMIN], ws[K.W_DMAX]) == (min(naive.cycles), max(naive.cycles))


def naive_fetch_sets(pf, diag, e):
    """Walk SCALE-Sim's prefetch matrix as create_*_prefetch_mat + prepare_hashed_buffer do."""
    mp, npc = pf.shape
    if diag:
        order = [pf[r][d - r] for d in range(mp + npc)
                 for r in range(min(d, mp - 1), max(0, d - npc + 1) - 1, -1)]
    else:
        order = [pf[r][c] for r in range(mp) for c in range(npc)]
    sets, count = {}, 0
    for a in order:
        if a != -1:
            sets.setdefault(int(a), []).append(count // e)
            count += 1
    return sets, count


@pytest.mark.parametrize("seed", range(10))
def test_fetch_sets_match_naive_walk(seed):
    rng = np.random.default_rng(seed)
    mp, npc, space = int(rng.integers(1, 30)), int(rng.integers(1, 9)), 40
    pf = rng.integers(-1, space, size=(mp, npc))
    for diag in (True, False):
        e = int(rng.integers(1, 7))
        ptr, sets, n_valid = K.fetch_sets(pf, diag, e, space)
        want, count = naive_fetch_sets(pf, diag, e)
        assert n_valid == count
        for a in range(space):
            assert list(sets[ptr[a]:ptr[a + 1]]) == want.get(a, [])


@pytest.mark.parametrize("seed", range(16))
def test_calc_counting_shortcut_is_exact(seed):
    rng = random.Random(seed)
    df = "os ws is".split()[seed % 3]
    layer = LayerDims.from_gemm(rng.randint(1, 120), rng.randint(1, 120), rng.randint(1, 120))
    if seed % 4 == 3:       # strided conv without window overlap is streamable too
        layer = LayerDims(ifmap_h=17, ifmap_w=15, filter_h=2, filter_w=2, channels=3,
                          num_filters=rng.randint(1, 40), stride=2)
    cfg = ScaleSimConfig(rows=rng.choice([2, 4, 8]), cols=rng.choice([2, 3, 8]), dataflow=df,
                         ifmap_sram_kb=1, filter_sram_kb=1, ofmap_sram_kb=1)
    fast = compat_layer(layer, cfg).to_dict()
    slow = compat_layer(layer, cfg, per_address=True).to_dict()
    assert fast == slow


def test_calc_shortcut_applies_to_large_gemms():
    d = K.DF_OS
    # 2048^3 on 128x128 with 64 kB: both operands are re-booked on every touch
    assert K.calc_all_new(d, K.IFMAP, 128, 128, 2048, 2048, 2048, 65536, True)
    assert K.calc_all_new(d, K.FILTER, 128, 128, 2048, 2048, 2048, 65536, True)
    # a tiny filter that stays in one group is reused: no shortcut
    assert not K.calc_all_new(d, K.FILTER, 8, 8, 64, 8, 8, 65536, True)
    assert not K.calc_all_new(d, K.IFMAP, 8, 8, 64, 64, 64, 65536, False)
