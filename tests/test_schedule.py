"""The one scheduler (archsim.schedule): hand-worked cases and the chunk-by-chunk twin."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.errors import ModelError
from archsim.schedule import Task, schedule, schedule_arrays, schedule_reference


def test_chain_on_one_resource_adds_up():
    ts = [Task(duration_s=d, resource="a", after=(i - 1,) if i else ()) for i, d in enumerate([1.0, 2.0, 3.0])]
    tl = schedule(ts)
    assert list(tl.start_s) == [0.0, 1.0, 3.0] and list(tl.end_s) == [1.0, 3.0, 6.0]
    assert tl.makespan_s == 6.0 and tl.critical_path == (0, 1, 2)
    assert tl.resource("a").busy_s == 6.0 and tl.resource("a").utilization == 1.0


def test_independent_ops_on_two_resources_overlap():
    tl = schedule([Task(duration_s=2.0, resource="a"), Task(duration_s=3.0, resource="b")])
    assert tl.makespan_s == 3.0 and list(tl.start_s) == [0.0, 0.0]
    assert tl.resource("a").utilization == pytest.approx(2 / 3)


def test_diamond():
    #      0 (a, 1)
    #     /        \
    #  1 (b, 4)   2 (c, 2)
    #     \        /
    #      3 (a, 1)
    ts = [Task(duration_s=1.0, resource="a"),
          Task(duration_s=4.0, resource="b", after=(0,)),
          Task(duration_s=2.0, resource="c", after=(0,)),
          Task(duration_s=1.0, resource="a", after=(1, 2))]
    tl = schedule(ts)
    assert list(tl.start_s) == [0.0, 1.0, 1.0, 5.0] and tl.makespan_s == 6.0
    assert tl.critical_path == (0, 1, 3)


def test_same_resource_serialises_in_program_order():
    # op 1 does not depend on op 0 but shares its resource: it waits
    tl = schedule([Task(duration_s=2.0, resource="a"), Task(duration_s=1.0, resource="a")])
    assert list(tl.start_s) == [0.0, 2.0] and tl.critical_path == (0, 1)


@pytest.mark.parametrize("a,b,n", [(1.0, 3.0, 10), (3.0, 1.0, 10), (2.0, 2.0, 7), (0.5, 4.0, 1000)])
def test_two_stage_chunk_pipeline_closed_form(a, b, n):
    """n chunks through two stages: n * max(a, b) + min(a, b) (the NGPC frame formula)."""
    ts = [Task(duration_s=n * a, resource="enc", chunks=n),
          Task(duration_s=n * b, resource="mlp", chunks=n, after=(0,))]
    tl = schedule(ts)
    assert tl.makespan_s == pytest.approx(n * max(a, b) + min(a, b))
    assert tl.start_s[1] == 0.0          # the consumer is placed at once and waits per chunk


def test_three_stage_pipeline_and_prologue():
    """Stages of per-chunk 1, 3, 2 over n = 4 chunks: 1 + 3 + 2 + (n - 1) * 3 = 15; a prologue
    of 5 on the middle stage (table loads) is paid before its first chunk: + 4 (it overlaps the
    first stage's first chunk)."""
    n = 4
    ts = [Task(duration_s=n * 1.0, resource="x", chunks=n),
          Task(duration_s=n * 3.0, resource="y", chunks=n, after=(0,)),
          Task(duration_s=n * 2.0, resource="z", chunks=n, after=(1,))]
    assert schedule(ts).makespan_s == pytest.approx(15.0)
    ts[1] = Task(duration_s=n * 3.0 + 5.0, resource="y", chunks=n, after=(0,), prologue_s=5.0)
    # y's chunk 1 starts at max(5, 1) = 5, ends 8; chunk 4 ends 17; z's last chunk ends 19
    assert schedule(ts).makespan_s == pytest.approx(19.0)
    assert schedule_reference(ts).makespan_s == pytest.approx(19.0)


def test_unequal_chunks_do_not_pipeline():
    ts = [Task(duration_s=4.0, resource="x", chunks=4), Task(duration_s=4.0, resource="y", chunks=2, after=(0,))]
    assert schedule(ts).makespan_s == 8.0


def test_same_resource_does_not_pipeline_with_itself():
    ts = [Task(duration_s=4.0, resource="x", chunks=4), Task(duration_s=4.0, resource="x", chunks=4, after=(0,))]
    assert schedule(ts).makespan_s == 8.0


def test_bad_graphs_are_model_errors():
    with pytest.raises(ModelError, match="earlier"):
        schedule([Task(duration_s=1.0, resource="a", after=(0,))])
    with pytest.raises(ModelError, match="duration"):
        schedule([Task(duration_s=-1.0, resource="a")])
    with pytest.raises(ModelError, match="prologue"):
        schedule([Task(duration_s=1.0, resource="a", prologue_s=2.0)])


def test_empty_graph():
    tl = schedule([])
    assert tl.makespan_s == 0.0 and tl.resources == () and tl.critical_path == ()


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 9))
    tasks = []
    for i in range(n):
        chunks = draw(st.sampled_from([1, 1, 2, 3, 6]))
        dur = draw(st.one_of(st.just(0.0), st.floats(0.01, 10.0)))
        pro = draw(st.floats(0.0, 1.0)) * dur
        after = tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)))) if i else ()
        tasks.append(Task(duration_s=dur, resource=draw(st.sampled_from("abc")), chunks=chunks,
                          prologue_s=pro, after=after))
    return tasks


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_closed_form_equals_chunk_by_chunk_twin(tasks):
    fast, ref = schedule(tasks), schedule_reference(tasks)
    np.testing.assert_allclose(fast.end_s, ref.end_s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.start_s, ref.start_s, rtol=1e-12, atol=1e-12)
    # invariants: utilisation <= 100 %, no op before its deps, makespan >= busiest resource
    for u in fast.resources:
        assert u.utilization <= 1.0 + 1e-12
        assert fast.makespan_s >= u.busy_s - 1e-9
    for i, t in enumerate(tasks):
        for d in t.after:
            assert fast.start_s[i] >= fast.start_s[d] - 1e-12
            assert fast.end_s[i] >= fast.end_s[d] - 1e-12 or t.chunks > 1


def test_time_stepped_twin_on_a_non_chunked_graph():
    """A brute-force event simulation (advance time; start any op whose resource is free, whose
    deps are done and which is next on its resource) agrees with the list schedule."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 30))
        durs = rng.integers(1, 6, n).astype(float)
        res = rng.choice(["a", "b", "c"], n)
        after = [tuple(sorted(set(rng.choice(i, min(i, 2), replace=False).tolist()))) if i else () for i in range(n)]
        tl = schedule_arrays(durs, list(res), after)
        # time-stepped twin, unit steps
        done, end, start = set(), {}, {}
        running: dict[str, int] = {}
        queue = {r: [i for i in range(n) if res[i] == r] for r in "abc"}
        t = 0
        while len(done) < n:
            for r in "abc":
                if r in running and end[running[r]] <= t:
                    done.add(running.pop(r))
            for r in "abc":
                while r not in running and queue[r] and all(d in done for d in after[queue[r][0]]):
                    i = queue[r].pop(0)
                    start[i], end[i] = t, t + durs[i]
                    if durs[i] == 0:
                        done.add(i)
                    else:
                        running[r] = i
            t += 1
        assert [start[i] for i in range(n)] == pytest.approx(list(tl.start_s))
        assert max(end.values()) == pytest.approx(tl.makespan_s)
