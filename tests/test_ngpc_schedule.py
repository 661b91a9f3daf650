"""The scheduler's opt-in interleaving (`Task.interleave`) and shared channels (`Task.channel`),
which the NGPC uses to run two MLPs (NeRF's density and color networks) batch by batch on one
MLP engine, the stages of the fused pre/post kernel batch by batch on the SMs, and its encoding
and MLP engines over one DRAM port: hand-worked cases and the chunk-by-chunk twin on random
graphs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.schedule import Task, schedule, schedule_reference


@pytest.mark.parametrize("e,m0,m1,n", [(3.0, 1.0, 1.5, 10), (1.0, 2.0, 3.0, 10), (2.0, 1.0, 1.0, 1),
                                       (0.5, 1.0, 4.0, 1000)])
def test_encode_then_two_interleaved_mlps_is_one_stage(e, m0, m1, n):
    """encode (e per chunk) -> mlp0 (m0) -> mlp1 (m1, interleaved with mlp0 on one engine):
    n * max(e, m0 + m1) + min(e, m0 + m1), the old NGPC frame formula with the two MLPs' batch
    cycles summed; mlp0's chunk j ends m1 before mlp1's."""
    ts = [Task(duration_s=n * e, resource="enc", chunks=n),
          Task(duration_s=n * m0, resource="mlp", chunks=n, after=(0,)),
          Task(duration_s=n * m1, resource="mlp", chunks=n, after=(1,), interleave=True)]
    m = m0 + m1
    tl = schedule(ts)
    want = n * max(e, m) + min(e, m) if n > 1 else e + m0 + m1
    assert tl.makespan_s == pytest.approx(want)
    assert tl.end_s[1] == pytest.approx(tl.end_s[2] - m1)
    assert schedule_reference(ts).makespan_s == pytest.approx(want)
    serial = schedule([Task(duration_s=t.duration_s, resource=t.resource, chunks=t.chunks,
                            after=t.after) for t in ts])
    if n > 1:   # without interleaving the second MLP waits for the whole first one
        assert serial.makespan_s == pytest.approx(n * max(e, m0) + min(e, m0) + n * m1)


def test_interleave_needs_the_previous_op_on_the_same_resource_with_the_same_chunks():
    a = Task(duration_s=4.0, resource="a", chunks=4)
    # different chunk counts, or the flag off: serial
    tl = schedule([a, Task(duration_s=4.0, resource="a", chunks=2, after=(0,), interleave=True)])
    assert list(tl.end_s) == [4.0, 8.0]
    tl = schedule([a, Task(duration_s=4.0, resource="a", chunks=4, after=(0,))])
    assert list(tl.end_s) == [4.0, 8.0]
    # not the op right before it in program order: serial
    tl = schedule([a, Task(duration_s=1.0, resource="b"),
                   Task(duration_s=4.0, resource="a", chunks=4, after=(0,), interleave=True)])
    assert tl.end_s[2] == 8.0
    # one stream, alone (nothing upstream): the same total; the first op's last chunk ends one
    # chunk of the second before the end (with or without a dependency)
    for after in ((0,), ()):
        tl = schedule([a, Task(duration_s=4.0, resource="a", chunks=4, after=after, interleave=True)])
        assert tl.makespan_s == 8.0 and list(tl.start_s) == [0.0, 0.0] and tl.end_s[0] == 7.0


def test_interleaved_producers_feed_their_consumers_chunk_by_chunk():
    """Two independent stages of one fused kernel on the SMs (1 and 2 per chunk) feed two
    consumers on other engines: chunk j of both is out after 3 j."""
    n = 5
    ts = [Task(duration_s=n * 1.0, resource="sm", chunks=n),
          Task(duration_s=n * 2.0, resource="sm", chunks=n, interleave=True),
          Task(duration_s=n * 0.5, resource="x", chunks=n, after=(0,)),
          Task(duration_s=n * 0.5, resource="y", chunks=n, after=(1,))]
    tl = schedule(ts)
    assert tl.end_s[0] == pytest.approx(3 * n - 2) and tl.end_s[1] == pytest.approx(3 * n)
    assert tl.end_s[2] == pytest.approx(3 * n - 2 + 0.5) and tl.end_s[3] == pytest.approx(3 * n + 0.5)
    np.testing.assert_allclose(schedule_reference(ts).end_s, tl.end_s)


def test_prologues_of_an_interleaved_pair_come_first():
    ts = [Task(duration_s=2.0 + 4 * 1.0, prologue_s=2.0, resource="m", chunks=4),
          Task(duration_s=1.0 + 4 * 0.5, prologue_s=1.0, resource="m", chunks=4, after=(0,), interleave=True)]
    tl = schedule(ts)
    assert tl.makespan_s == pytest.approx(3.0 + 4 * 1.5)
    assert schedule_reference(ts).makespan_s == pytest.approx(tl.makespan_s)


def test_a_pipeline_on_one_channel_moves_its_data_no_faster_than_the_channel():
    """encode (1 per chunk) -> mlp (1 per chunk), n = 10, each alone within its own traffic
    (channel 0.8 s per op), together 1.6 s of traffic: the pair ends at 1.6 x 10 = 16, not 11."""
    n = 10
    ts = [Task(duration_s=n * 1.0, resource="enc", chunks=n, channel="dram", channel_s=0.8 * n),
          Task(duration_s=n * 1.0, resource="mlp", chunks=n, after=(0,), channel="dram", channel_s=0.8 * n)]
    tl = schedule(ts)
    assert tl.makespan_s == pytest.approx(16.0)
    assert schedule_reference(ts).makespan_s == pytest.approx(16.0)
    # another channel, or none: the plain pipeline, n * 1 + 1
    for other in ("l2", ""):
        t2 = [ts[0], Task(duration_s=n * 1.0, resource="mlp", chunks=n, after=(0,), channel=other,
                          channel_s=0.8 * n)]
        assert schedule(t2).makespan_s == pytest.approx(11.0)
    # the bound counts from when the chain began (a prologue is traffic of its op too)
    t3 = [Task(duration_s=2.0 + n * 1.0, prologue_s=2.0, resource="enc", chunks=n, channel="dram",
               channel_s=2.0 + 0.5 * n),
          Task(duration_s=n * 1.0, resource="mlp", chunks=n, after=(0,), channel="dram", channel_s=0.9 * n)]
    assert schedule(t3).makespan_s == pytest.approx(max(2.0 + n * 1.0 + 1.0, 2.0 + 0.5 * n + 0.9 * n))


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 9))
    tasks = []
    for i in range(n):
        chunks = draw(st.sampled_from([1, 2, 3, 3, 6]))
        dur = draw(st.one_of(st.just(0.0), st.floats(0.01, 10.0)))
        pro = draw(st.floats(0.0, 1.0)) * dur
        after = set(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else set()
        if i and draw(st.booleans()):
            after.add(i - 1)
        tasks.append(Task(duration_s=dur, resource=draw(st.sampled_from("abb")), chunks=chunks,
                          prologue_s=pro, after=tuple(sorted(after)), interleave=draw(st.booleans()),
                          channel=draw(st.sampled_from(["", "x", "x", "y"])),
                          channel_s=draw(st.floats(0.0, 2.0)) * dur))
    return tasks


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_interleaving_and_channels_closed_form_equals_chunk_by_chunk_twin(tasks):
    fast, ref = schedule(tasks), schedule_reference(tasks)
    np.testing.assert_allclose(fast.end_s, ref.end_s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.start_s, ref.start_s, rtol=1e-12, atol=1e-12)
    for u in fast.resources:
        assert fast.makespan_s >= u.busy_s - 1e-9
