"""The systolic mapper (`mapping = "search"`, archsim/blocks/systolic/model.py): the chosen
mapping is the best candidate on the objective (so never worse than any fixed dataflow it may
pick), the Report says what it chose, and the temporal tiling against the ofmap SRAM, worked by
hand on a WS GEMM whose partial sums spill."""
from pathlib import Path

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.blocks.systolic import kernels as K
from archsim.blocks.systolic.model import (candidates, evaluate, run_raw, temporal_split,
                                           temporal_tiles)
from archsim.blocks.systolic.spec import Spec
from archsim.workloads.ops import Conv2d, Gemm

REPO = Path(__file__).resolve().parents[1]


def _spec(**kw):
    base = dict(rows=32, cols=32, dataflow="ws", ifmap_sram_kib=1024, filter_sram_kib=1024,
                ofmap_sram_kib=8, dram_bandwidth_words_per_cycle=1.0, mapping="search",
                mapping_dataflows=("ws",), mapping_transpose=False)
    base.update(kw)
    return Spec(**base)


def test_tiling_hand_worked_ws_gemm():
    """C[1024, 32] = A[1024, 256] B[256, 32] on 32x32 WS with an 8 KiB ofmap SRAM (8192 one-byte
    words): the accumulation tile T x cols = 1024 x 32 = 32768 words spills. Four sub-layers of
    256 rows (256 x 32 = 8192 words) fit: 4 tiles."""
    spec = _spec()
    op = Gemm(m=1024, k=256, n=32, dtype="int8")
    geom = (1024, 256, 1, 256, 1, 32, 1)
    assert temporal_tiles(spec, geom, "ws") == 4
    assert temporal_split(geom, "ws", 4) == [(256, 256, 1, 256, 1, 32, 1)] * 4
    assert candidates(spec, op) == [("ws", False, 1, False), ("ws", False, 4, False)]
    whole = run_raw(spec, op, "ws", False, 1)
    tiled = run_raw(spec, op, "ws", False, 4)
    # 8 row folds x 1 column fold; a fold is 2R + C + T - 2 cycles
    assert whole[K.COMPUTE_CYCLES] == 8 * (64 + 32 + 1024 - 2)
    assert tiled[K.COMPUTE_CYCLES] == 4 * 8 * (64 + 32 + 256 - 2)
    # untiled: every fold writes its 32768 partial sums, every fold after the first reads them
    assert whole[K.DRAM_OFMAP_WRITES] == 8 * 32768 and whole[K.DRAM_OFMAP_READS] == 7 * 32768
    # tiled: each sub-layer accumulates in the SRAM and writes its 8192 outputs once
    assert tiled[K.DRAM_OFMAP_WRITES] == 4 * 8192 and tiled[K.DRAM_OFMAP_READS] == 0
    # ... at the price of the (stationary) filter once per sub-layer, and the same ifmap
    assert whole[K.DRAM_FILTER_READS] == 256 * 32 and tiled[K.DRAM_FILTER_READS] == 4 * 256 * 32
    assert whole[K.DRAM_IFMAP_READS] == tiled[K.DRAM_IFMAP_READS] == 1024 * 256
    assert tiled[K.OFMAP_SPILL] == 0 and whole[K.OFMAP_SPILL] == 1
    # at 1 word/cycle the traffic decides: the mapper tiles, and the Report says so
    r = evaluate(spec, op, None)
    assert r.details["temporal_tiles"] == 4 and r.details["dataflow"] == "ws"
    assert r.details["mapping_candidates"] == {"ws": float(whole[K.TOTAL_CYCLES]),
                                               "ws-x4": float(tiled[K.TOTAL_CYCLES])}
    assert r.cycles == tiled[K.TOTAL_CYCLES] < whole[K.TOTAL_CYCLES]
    assert r.details["folds"] == 32 and r.details["ofmap_spill"] is False
    # tiling off: the untiled candidate only
    off = attrs.evolve(spec, mapping_tiling=False)
    assert candidates(off, op) == [("ws", False, 1, False)]
    assert evaluate(off, op, None).cycles == whole[K.TOTAL_CYCLES]


def test_conv_tiles_are_output_row_bands_with_their_halo():
    # 3x3 stride-1 conv, 30 output rows of 30 pixels; at most 9 rows (9 x 30 x 32 words) per
    # band -> 4 bands, balanced: 8, 8, 8, 6 output rows
    geom = (32, 32, 3, 3, 8, 64, 1)
    spec = _spec(ofmap_sram_kib=9 * 30 * 32 / 1024)
    assert temporal_tiles(spec, geom, "ws") == 4
    bands = temporal_split(geom, "ws", 4)
    assert [b[0] for b in bands] == [10, 10, 10, 8]          # (rows - 1) * stride + filter_h
    assert sum((b[0] - 3) + 1 for b in bands) == 30


def test_no_tiling_without_a_spill_or_for_os():
    spec = _spec(ofmap_sram_kib=64)
    assert temporal_tiles(spec, (1024, 256, 1, 256, 1, 32, 1), "ws") == 1      # 32768 <= 65536
    assert temporal_tiles(_spec(), (1024, 256, 1, 256, 1, 32, 1), "os") == 1
    assert temporal_tiles(_spec(), (1024, 16, 1, 16, 1, 32, 1), "ws") == 1     # one row fold


layers = st.one_of(
    st.builds(lambda m, k, n: Gemm(m=m, k=k, n=n, dtype="int8"), st.integers(1, 600), st.integers(1, 600),
              st.integers(1, 200)),
    st.builds(lambda h, f, c, nf, s: Conv2d(ifmap_h=h, ifmap_w=h, filter_h=f, filter_w=f, channels=c,
                                            num_filters=nf, stride=s, dtype="int8"),
              st.integers(7, 40), st.sampled_from([1, 3, 5]), st.integers(1, 32), st.integers(1, 96),
              st.integers(1, 2)))


@settings(max_examples=80, deadline=None)
@given(layers, st.sampled_from([4, 8, 16, 32]), st.sampled_from([4, 16, 32]),
       st.sampled_from([1, 2, 8, 64]), st.sampled_from([0.5, 4.0, 64.0]), st.booleans())
def test_search_is_the_best_candidate_and_never_worse_than_fixed(op, rows, cols, of_kib, bw, overlap):
    spec = Spec(rows=rows, cols=cols, ifmap_sram_kib=16, filter_sram_kib=16, ofmap_sram_kib=of_kib,
                dram_bandwidth_words_per_cycle=bw, mapping="search", fold_overlap=overlap)
    r = evaluate(spec, op, None)
    scores = r.details["mapping_candidates"]
    assert r.cycles == min(scores.values())
    for df in ("os", "ws", "is"):
        fixed = evaluate(attrs.evolve(spec, mapping="fixed", dataflow=df), op, None)
        assert r.cycles <= fixed.cycles
        assert scores[df] == fixed.cycles
