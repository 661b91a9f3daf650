"""The video_llm session generator and the KV policies: op counts and bytes by hand, config
errors, the shipped workload TOMLs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from archsim.errors import ConfigError
from archsim.workloads.load import load_workload
from archsim.blocks.vrex.generator import Params, expand, steps

REPO = Path(__file__).resolve().parents[1]
TINY = dict(n_layers=2, vision_layers=1, frames=1, question_tokens=3, answer_tokens=2, kv_history_tokens=100)


def test_flexgen_session_op_counts_by_hand():
    """Step by step: frame step = 9 vision/projector ops (embed, qkv, attention, out, fc1, fc2,
    norms, 2 projector) + per layer 7 (norms, qkv, writeback, attention, o_proj, gate_up, down)
    x 2 + 2 fetches (layer 0 up front, layer 1 during layer 0) + lm_head = 26; question and each
    answer step: 2 x 7 + 2 + 1 = 17; session = 26 + 17 + 2 x 17 = 77 ops.
    The compact trace has one step per phase: 26 + 17 + 17 = 60 ops, the answer ops repeated 2x:
    kv_transfer 4 x 3 = 12; attention 1 + 2 x 3 = 7; gemm (5 + 2 + 8 + 1) + 9 + 9 = 34;
    elementwise 1 + 2 x 3 = 7."""
    full = steps(Params(policy="flexgen", **TINY))
    assert [len(s.tasks) for s in full] == [26, 17, 17, 17]
    assert [s.kv_len for s in full] == [100, 111, 114, 115]
    ops = expand(Params(policy="flexgen", **TINY)).ops
    assert len(ops) == 60
    c = Counter(o.KIND for o in ops)
    assert c == {"kv_transfer": 12, "attention": 7, "gemm": 34, "elementwise": 7}
    assert sum(o.repeat for o in ops if o.name.startswith("answer.")) == 2 * 17
    # the answer phase sits at its mean history: 100 + 11 + 3 + 2 // 2 = 115
    lm = [o for o in ops if o.name == "answer.attention.l0"][0]
    assert lm.kv_len == 115 + 1
    first = steps(Params(policy="flexgen", phase="frame", **TINY))[0]
    fetch0 = next(t.op for t in first.tasks if t.name == "fetch.l0")
    # one layer's KV of 100 tokens: 1 stream x 8 KV heads x 100 x (K+V 2 x 128 x 2 B) = 409600 B,
    # contiguous per stream/head/(K or V): 100 x 128 x 2 = 25600 B
    assert fetch0.bytes == 409600 and fetch0.chunk_bytes == 25600 and fetch0.source == "ssd"
    attn = next(t.op for t in first.tasks if t.name == "attention.l0")
    assert attn.kv_len == 100 + 11 and attn.q_len == 11 and attn.causal


def test_vrex_frame_step_op_counts_and_ratios_by_hand():
    """vrex frame step: 9 vision ops + layer-0 prediction (score, select, fetch) + layer 0
    (norms, qkv, hash, cluster, score/select/fetch for layer 1, attention, o, gate_up, down = 11)
    + layer 1 (8) + lm_head = 32. Selected = 32.7 % of 100 history tokens (Tab. II)."""
    st = steps(Params(policy="vrex", phase="frame", **TINY))[0]
    assert len(st.tasks) == 32
    kinds = Counter(t.op.KIND for t in st.tasks)
    assert kinds["kv_fetch"] == 2 and kinds["wicsum_select"] == 2 and kinds["hash_cluster"] == 2
    fetch = next(t.op for t in st.tasks if t.name == "fetch.l1")
    assert fetch.selected == pytest.approx(32.7) and fetch.kv_len == 100 and fetch.new_tokens == 11
    sel = next(t.op for t in st.tasks if t.name == "select.l1")
    assert sel.rows == 32 * 11 and sel.clusters == 4          # ceil(100 / 32)
    attn = next(t.op for t in st.tasks if t.name == "attention.l1")
    assert attn.kv_len == 33 + 11                             # round(32.7) selected + own tokens
    # the fetch of layer 1 overlaps layer 0: it depends on layer 0's prediction, attention 1 on it
    t = {x.name: i for i, x in enumerate(st.tasks)}
    assert t["fetch.l1"] in st.tasks[t["attention.l1"]].deps
    assert t["attention.l0"] < t["fetch.l1"] < t["attention.l1"] or t["fetch.l1"] < t["attention.l0"]
    # answer step uses the text ratio
    an = steps(Params(policy="vrex", phase="answer", **TINY))[0]
    assert next(x.op for x in an.tasks if x.name == "fetch.l0").selected == pytest.approx(2.5)


def test_ratio_override_and_layer_scale():
    p = Params(policy="rekv", retrieval_ratio_frame=0.1, layer_ratio_scale=(0.5, 1.5), **TINY)
    assert p.ratios() == (0.1, 0.312)
    assert p.layer_ratio(0.1, 0) == pytest.approx(0.05) and p.layer_ratio(0.1, 1) == pytest.approx(0.15)


@pytest.mark.parametrize("params, key", [
    ({"n_q_heads": 30, "n_kv_heads": 8}, "params"),
    ({"policy": "magic"}, "params.policy"),
    ({"retrieval_ratio_frame": 1.5}, "params.retrieval_ratio_frame"),
    ({"batch": 0}, "params.batch"),
])
def test_bad_params_are_config_errors(params, key):
    with pytest.raises(ConfigError) as exc:
        load_workload({"generator": "video_llm", "params": params})
    assert exc.value.key == key


def test_shipped_workloads_load():
    files = sorted((REPO / "workloads" / "video_llm").glob("*.toml"))
    assert files
    for f in files:
        w = load_workload(f)
        assert w.ops and w.meta["generator"] == "video_llm"
