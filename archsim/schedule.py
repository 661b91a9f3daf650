"""The one scheduler: ops with dependencies on resources, with chunk pipelining -> a timeline.

Every command (`run`, `sweep`, `reproduce`) times a workload here, so the same design gets the
same latency whichever command asks.

Model (list scheduling in program order, the order of the workload's ops):
- an op occupies one resource (`Task.resource`, e.g. "sa", "ngpc.encoding", "gpu.sm",
  "host.pcie_rd") for `duration_s`; ops on one resource run one at a time, in program order;
- an op starts when its resource is free and every op it depends on (`after`) has ended (a
  pipelined dependency, below: has started);
- **chunk pipelining**: an op that streams its work in `chunks` equal pieces, after an
  unpipelined `prologue_s` (e.g. table loads), may overlap a predecessor that streams in the
  same number of chunks on another resource: its chunk j starts once its own chunk j-1 and the
  predecessor's chunk j are done (a pipelined flow shop). The completion time of chunk j of an
  op is kept in closed form, as the upper envelope max_k(c_k + j * s_k) of a few lines (one
  slope per distinct chunk time upstream), so a chain of N stages costs O(N) however many
  chunks it streams: for two stages of per-chunk times a and b over n chunks it is the familiar
  n * max(a, b) + min(a, b).

The timeline gives start and end per op, busy time per resource and the makespan (= the run's
latency), and the critical path: from the last op to end, each op's binding constraint (the
predecessor whose end or chunk it waited for, or the previous op on its resource).

`schedule_reference` is a chunk-by-chunk, event-stepped twin used by the tests.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import chain
from typing import Sequence

import attrs
import numpy as np
from archsim import jit
from archsim.jit import njit

from archsim.errors import ModelError

MAX_PIECES = 32          # lines in one completion envelope (distinct chunk times upstream)


@attrs.frozen(kw_only=True)
class Task:
    """One op as the scheduler sees it."""
    duration_s: float                     # prologue + all chunks
    resource: str
    after: tuple[int, ...] = ()           # indices of earlier tasks this one waits for
    chunks: int = 1                       # equal pieces it streams its work in
    prologue_s: float = 0.0               # unpipelined lead-in, part of duration_s


@attrs.frozen(kw_only=True)
class ResourceUse:
    name: str
    busy_s: float                         # sum of its ops' durations
    utilization: float                    # busy_s / makespan (0..1)
    ops: int


@attrs.frozen(kw_only=True, eq=False)
class Timeline:
    start_s: np.ndarray                   # per op, seconds from the run's start
    end_s: np.ndarray
    makespan_s: float
    resources: tuple[ResourceUse, ...]
    critical_path: tuple[int, ...]        # task indices, first to last

    def resource(self, name: str) -> ResourceUse | None:
        return next((r for r in self.resources if r.name == name), None)


# ----------------------------------------------------------------------------- kernel

@njit(cache=True)
def _add_piece(pc, ps, n, c, s):
    """Add line c + j*s to an envelope of n lines (same slope: keep the higher)."""
    for k in range(n):
        if ps[k] == s:
            if c > pc[k]:
                pc[k] = c
            return n
    pc[n] = c
    ps[n] = s
    return n + 1


@njit(cache=True)
def _prune(pc, ps, n, chunks, keep):
    """Drop every line that another single line bounds from above on all of j in [1, chunks]
    (lines are affine, so checking both ends is exact); ties keep the earlier line. `keep` is
    scratch space of at least n booleans."""
    for a in range(n):
        keep[a] = True
    for a in range(n):
        a1 = pc[a] + ps[a]
        an = pc[a] + chunks * ps[a]
        for b in range(n):
            if a != b and keep[b]:
                b1 = pc[b] + ps[b]
                bn = pc[b] + chunks * ps[b]
                if b1 >= a1 and bn >= an and (b1 > a1 or bn > an or b < a):
                    keep[a] = False
                    break
    m = 0
    for a in range(n):
        if keep[a]:
            pc[m] = pc[a]
            ps[m] = ps[a]
            m += 1
    return m


@njit(cache=True)
def _schedule_kernel(dur, prologue, chunks, res, dep_ptr, dep_idx, n_res):
    n = dur.shape[0]
    start = np.zeros(n)
    end = np.zeros(n)
    binding = -np.ones(n, dtype=np.int64)
    free = np.zeros(n_res)
    last_on = -np.ones(n_res, dtype=np.int64)
    row = -np.ones(n, dtype=np.int64)        # envelope rows, for chunked ops only
    n_rows = 0
    for i in range(n):
        if chunks[i] > 1:
            row[i] = n_rows
            n_rows += 1
    pc = np.empty((n_rows, MAX_PIECES))
    ps = np.empty((n_rows, MAX_PIECES))
    npc = np.zeros(n_rows, dtype=np.int64)
    keep = np.empty(MAX_PIECES, dtype=np.bool_)
    ok = True
    for i in range(n):
        r = res[i]
        s0 = free[r]
        bind = last_on[r]
        for q in range(dep_ptr[i], dep_ptr[i + 1]):
            d = dep_idx[q]
            piped = chunks[i] > 1 and chunks[d] == chunks[i] and res[d] != r
            t_d = start[d] if piped else end[d]      # a pipelined op starts no earlier than its producer
            if t_d > s0:
                s0 = t_d
                bind = d
        start[i] = s0
        nc = chunks[i]
        b = (dur[i] - prologue[i]) / nc
        base = s0 + prologue[i]
        if nc == 1:                       # nothing pipelines with a single-chunk op
            start[i] = s0
            end[i] = base + b
            binding[i] = bind
            free[r] = end[i]
            last_on[r] = i
            continue
        ri = row[i]
        m = 0
        m = _add_piece(pc[ri], ps[ri], m, base, b)
        for q in range(dep_ptr[i], dep_ptr[i + 1]):
            d = dep_idx[q]
            if nc > 1 and chunks[d] == nc and res[d] != r:
                rd = row[d]
                for k in range(npc[rd]):
                    c, s = pc[rd, k], ps[rd, k]
                    m = _add_piece(pc[ri], ps[ri], m, c + s, b)    # waits for its chunk 1
                    m = _add_piece(pc[ri], ps[ri], m, c + b, s)    # paced by the predecessor
                    if m >= MAX_PIECES - 2:
                        m = _prune(pc[ri], ps[ri], m, nc, keep)
                        if m >= MAX_PIECES - 2:
                            ok = False
        if m > 1:
            m = _prune(pc[ri], ps[ri], m, nc, keep)
        npc[ri] = m
        e = base + nc * b
        for k in range(m):
            v = pc[ri, k] + nc * ps[ri, k]
            if v > e:
                e = v
        end[i] = e
        # binding constraint: a pipelined predecessor whose envelope sets the end, else the start's
        if e > base + nc * b + 1e-15 * max(1.0, e):
            best = -1.0
            for q in range(dep_ptr[i], dep_ptr[i + 1]):
                d = dep_idx[q]
                if nc > 1 and chunks[d] == nc and res[d] != r and end[d] > best:
                    best = end[d]
                    bind = d
        binding[i] = bind
        free[r] = e
        last_on[r] = i
    # critical path: from the op that ends last, follow each op's binding constraint
    path = np.empty(n, dtype=np.int64)
    k = 0
    i = int(np.argmax(end)) if n else -1
    while i >= 0:
        path[k] = i
        k += 1
        i = binding[i]
    return start, end, path[:k][::-1].copy(), ok


# ----------------------------------------------------------------------------- API

def csr(after: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Dependency lists -> (ptr, idx) arrays; every dependency must be an earlier op."""
    n = len(after)
    lens = np.fromiter(map(len, after), dtype=np.int64, count=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = np.fromiter(chain.from_iterable(after), dtype=np.int64, count=int(ptr[-1]))
    owner = np.repeat(np.arange(n, dtype=np.int64), lens)
    bad = (idx < 0) | (idx >= owner)
    if bad.any():
        k = int(np.argmax(bad))
        raise ModelError(f"op {int(owner[k])} depends on op {int(idx[k])}: an op may only wait for earlier ops")
    return ptr, idx


def schedule(tasks: Sequence[Task]) -> Timeline:
    """List-schedule `tasks` (see the module docstring)."""
    return schedule_arrays([t.duration_s for t in tasks], [t.resource for t in tasks],
                           [t.after for t in tasks], chunks=[t.chunks for t in tasks],
                           prologue_s=[t.prologue_s for t in tasks])


def schedule_arrays(duration_s, resource, after, *, chunks=None, prologue_s=None) -> Timeline:
    """`schedule` on columns: durations, resource names and, per op, its dependency list — or
    all of them at once as the `(ptr, idx)` arrays of `csr` (a workload builds them once for
    every design point). Chunks default to 1, prologues to 0."""
    n = len(duration_s)
    if n == 0:
        return Timeline(start_s=np.zeros(0), end_s=np.zeros(0), makespan_s=0.0, resources=(),
                        critical_path=())
    names = {r: k for k, r in enumerate(dict.fromkeys(resource))}
    res = np.array([names[r] for r in resource], dtype=np.int64)
    dur = np.asarray(duration_s, dtype=np.float64)
    pro = np.zeros(n) if prologue_s is None else np.asarray(prologue_s, dtype=np.float64)
    chk = np.ones(n, dtype=np.int64) if chunks is None else np.asarray(chunks, dtype=np.int64)
    if not np.all(np.isfinite(dur)) or np.any(dur < 0) or np.any(pro < 0) or np.any(pro > dur * (1 + 1e-12) + 1e-300):
        bad = int(np.argmax(~np.isfinite(dur) | (dur < 0) | (pro < 0) | (pro > dur * (1 + 1e-12) + 1e-300)))
        raise ModelError(f"op {bad}: duration {dur[bad]!r} s with prologue {pro[bad]!r} s; need "
                         "0 <= prologue <= duration, finite")
    if np.any(chk < 1):
        raise ModelError(f"op {int(np.argmax(chk < 1))}: chunks must be >= 1")
    ptr, idx = after if isinstance(after, tuple) and len(after) == 2 and isinstance(after[0], np.ndarray) \
        else csr(after)
    if n <= 512 and not jit.ready():      # a short graph: cheaper as Python than numba's start-up
        with jit.interpreted():
            start, end, path, ok = _schedule_kernel(dur, pro, chk, res, ptr, idx, len(names))
    else:
        start, end, path, ok = _schedule_kernel(dur, pro, chk, res, ptr, idx, len(names))
    if not ok:
        raise ModelError(f"a pipelined chain has more than {MAX_PIECES} distinct chunk times; "
                         "give its ops fewer distinct chunk sizes")
    return _timeline(start, end, path, dur, res, names)


def _timeline(start, end, path, dur, res, names) -> Timeline:
    makespan = float(end.max())
    busy = np.bincount(res, weights=dur, minlength=len(names))
    count = np.bincount(res, minlength=len(names))
    uses = tuple(ResourceUse(name=nm, busy_s=float(busy[k]), ops=int(count[k]),
                             utilization=float(busy[k] / makespan) if makespan > 0 else 0.0)
                 for nm, k in names.items())
    return Timeline(start_s=start, end_s=end, makespan_s=makespan,
                    resources=uses, critical_path=tuple(path.tolist()))


def schedule_reference(tasks: Sequence[Task]) -> Timeline:
    """The same schedule, chunk by chunk (O(chunks) per op): the twin the closed form is tested
    against."""
    free: dict[str, float] = defaultdict(float)
    start, end, chunk_end = [], [], []
    for i, t in enumerate(tasks):
        piped = [d for d in t.after if t.chunks > 1 and tasks[d].chunks == t.chunks
                 and tasks[d].resource != t.resource]
        s = max([free[t.resource]] + [end[d] for d in t.after if d not in piped]
                + [start[d] for d in piped])
        b = (t.duration_s - t.prologue_s) / t.chunks
        f = s + t.prologue_s
        ends = []
        for j in range(t.chunks):
            f = max([f] + [chunk_end[d][j] for d in piped]) + b
            ends.append(f)
        start.append(s)
        end.append(ends[-1])
        chunk_end.append(ends)
        free[t.resource] = ends[-1]
    names: dict[str, int] = {}
    res = np.array([names.setdefault(t.resource, len(names)) for t in tasks], dtype=np.int64)
    dur = np.array([t.duration_s for t in tasks])
    return _timeline(np.array(start), np.array(end), np.zeros(0, dtype=np.int64), dur, res, names)
