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
- **interleaving** (opt-in, `Task.interleave`): an op that streams in the same chunks as the op
  right before it in program order, on the same resource, shares that resource with it chunk
  by chunk: the resource runs the first op's chunk j, then this op's chunk j, as one stream of
  per-chunk time the sum (two small MLPs that one MLP engine runs batch by batch; the stages of
  one fused kernel). The pair (or a longer run of such ops) is scheduled as one op: it starts
  when the resource is free and the dependencies of all its members allow, its prologues come
  first, its chunk j waits for chunk j of every member's pipelined predecessors, and a
  member's chunk j ends when the later members' chunk-j work is left.
- **shared channel** (opt-in, `Task.channel` / `channel_s`): ops that move data over one
  channel (a DRAM port) declare the time their traffic needs on it at its full bandwidth. A
  chunked op and the chain of predecessors it pipelines against on the same channel stream at
  once, so its chunk j ends no earlier than t0 + j/n of their channel times summed (t0: when the
  first of them started): at the last chunk, all their traffic over the channel's bandwidth.
  A lower bound along pipelined chains (ops that overlap otherwise are not charged).

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
    interleave: bool = False              # may share its resource chunk by chunk with the op before it
    channel: str = ""                     # shared channel its traffic uses ("" = none)
    channel_s: float = 0.0                # its traffic's time on the channel at full bandwidth


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
def _schedule_kernel(dur, prologue, chunks, res, dep_ptr, dep_idx, n_res, interleave, chan, chs):
    n = dur.shape[0]
    start = np.zeros(n)
    end = np.zeros(n)
    binding = -np.ones(n, dtype=np.int64)
    free = np.zeros(n_res)
    last_on = -np.ones(n_res, dtype=np.int64)
    head = np.arange(n)                      # first op of the interleaved run an op belongs to
    free_at = np.zeros(n)                    # its resource's free time when a run began
    prev_on = -np.ones(n, dtype=np.int64)    # the op before it on its resource, when a run began
    cacc = np.zeros(n)                       # channel time of its pipelined chain on its channel
    ct0 = np.zeros(n)                        # when the first op of that chain started
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
        nc = chunks[i]
        h = i
        if interleave[i] and i > 0 and nc > 1 and res[i - 1] == r and chunks[i - 1] == nc:
            h = head[i - 1]               # joins the run of the op before it
        else:
            free_at[i] = free[r]
            prev_on[i] = last_on[r]
        head[i] = h
        # the run h..i starts when its resource is free and every outside dependency allows
        s0 = free_at[h]
        bind = prev_on[h]
        for g in range(h, i + 1):
            for q in range(dep_ptr[g], dep_ptr[g + 1]):
                d = dep_idx[q]
                if d >= h:
                    continue
                piped = nc > 1 and chunks[d] == nc and res[d] != r
                t_d = start[d] if piped else end[d]      # a pipelined op starts no earlier than its producer
                if t_d > s0:
                    s0 = t_d
                    bind = d
        pro = 0.0
        b = 0.0
        for g in range(h, i + 1):
            start[g] = s0
            pro += prologue[g]
            b += (dur[g] - prologue[g]) / nc
        base = s0 + pro
        if nc == 1:                       # nothing pipelines with a single-chunk op
            end[i] = base + b
            binding[i] = bind
            free[r] = end[i]
            last_on[r] = i
            continue
        ri = row[i]
        m = 0
        m = _add_piece(pc[ri], ps[ri], m, base, b)
        for g in range(h, i + 1):
            for q in range(dep_ptr[g], dep_ptr[g + 1]):
                d = dep_idx[q]
                if d < h and chunks[d] == nc and res[d] != r:
                    rd = row[d]
                    for k in range(npc[rd]):
                        c, s = pc[rd, k], ps[rd, k]
                        m = _add_piece(pc[ri], ps[ri], m, c + s, b)    # waits for its chunk 1
                        m = _add_piece(pc[ri], ps[ri], m, c + b, s)    # paced by the predecessor
                        if m >= MAX_PIECES - 2:
                            m = _prune(pc[ri], ps[ri], m, nc, keep)
                            if m >= MAX_PIECES - 2:
                                ok = False
        if chan[i] >= 0:                  # the run and its pipelined chain share a channel
            acc = 0.0
            for g in range(h, i + 1):
                if chan[g] == chan[i]:
                    acc += chs[g]
            best = 0.0
            t0 = s0
            for g in range(h, i + 1):
                for q in range(dep_ptr[g], dep_ptr[g + 1]):
                    d = dep_idx[q]
                    if d < h and chunks[d] == nc and res[d] != r and chan[d] == chan[i] and cacc[d] > best:
                        best = cacc[d]
                        t0 = min(s0, ct0[d])
            acc += best
            for g in range(h, i + 1):
                cacc[g] = acc
                ct0[g] = t0
            if acc > 0.0:                 # a virtual predecessor whose chunk j ends at t0 + j acc/n - b
                sl = acc / nc
                m = _add_piece(pc[ri], ps[ri], m, t0 - b + sl, b)
                m = _add_piece(pc[ri], ps[ri], m, t0, sl)
        else:                             # a run takes the channel of its last op
            for g in range(h, i + 1):
                cacc[g] = 0.0
        if m > 1:
            m = _prune(pc[ri], ps[ri], m, nc, keep)
            if m >= MAX_PIECES - 2:
                ok = False
        npc[ri] = m
        e = base + nc * b
        for k in range(m):
            v = pc[ri, k] + nc * ps[ri, k]
            if v > e:
                e = v
        # binding constraint: a pipelined predecessor whose envelope sets the end, else the start's
        if e > base + nc * b + 1e-15 * max(1.0, e):
            best = -1.0
            for g in range(h, i + 1):
                for q in range(dep_ptr[g], dep_ptr[g + 1]):
                    d = dep_idx[q]
                    if d < h and chunks[d] == nc and res[d] != r and end[d] > best:
                        best = end[d]
                        bind = d
        # members of a run: chunk j of op g ends when the later members' chunk-j work is left
        tail = 0.0
        for g in range(i, h - 1, -1):
            end[g] = e - tail
            if g != i:
                rg = row[g]
                for k in range(m):
                    pc[rg, k] = pc[ri, k] - tail
                    ps[rg, k] = ps[ri, k]
                npc[rg] = m
                binding[g + 1] = g
            tail += (dur[g] - prologue[g]) / nc
        binding[h] = bind
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
    if not tasks:
        return schedule_arrays([], [], [])
    cols = list(zip(*[(t.duration_s, t.resource, t.after, t.chunks, t.prologue_s, t.interleave, t.channel,
                       t.channel_s) for t in tasks]))
    return schedule_arrays(cols[0], cols[1], cols[2], chunks=cols[3], prologue_s=cols[4],
                           interleave=cols[5] if any(cols[5]) else None,
                           channel=cols[6] if any(cols[6]) else None, channel_s=cols[7])


def schedule_arrays(duration_s, resource, after, *, chunks=None, prologue_s=None,
                    interleave=None, channel=None, channel_s=None) -> Timeline:
    """`schedule` on columns: durations, resource names and, per op, its dependency list — or
    all of them at once as the `(ptr, idx)` arrays of `csr` (a workload builds them once for
    every design point). Chunks default to 1, prologues to 0, interleave to False, channels to
    none ("")."""
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
    ilv = np.zeros(n, dtype=np.bool_) if interleave is None else np.asarray(interleave, dtype=np.bool_)
    if channel is None:
        chan, chs = -np.ones(n, dtype=np.int64), np.zeros(n)
    else:
        cids = {c: k for k, c in enumerate(dict.fromkeys(c for c in channel if c))}
        chan = np.array([cids[c] if c else -1 for c in channel], dtype=np.int64)
        chs = np.zeros(n) if channel_s is None else np.asarray(channel_s, dtype=np.float64)
        if not np.all(np.isfinite(chs)) or np.any(chs < 0):
            bad = int(np.argmax(~np.isfinite(chs) | (chs < 0)))
            raise ModelError(f"op {bad}: channel time {chs[bad]!r} s; need a finite value >= 0")
    if n <= 512 and not jit.ready():      # a short graph: cheaper as Python than numba's start-up
        with jit.interpreted():
            start, end, path, ok = _schedule_kernel(dur, pro, chk, res, ptr, idx, len(names), ilv,
                                                    chan, chs)
    else:
        start, end, path, ok = _schedule_kernel(dur, pro, chk, res, ptr, idx, len(names), ilv, chan, chs)
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
    head, free_at, cacc, ct0 = [], [], [], []
    for i, t in enumerate(tasks):
        h = i
        if t.interleave and i > 0 and t.chunks > 1 and tasks[i - 1].resource == t.resource \
                and tasks[i - 1].chunks == t.chunks:
            h = head[i - 1]
        head.append(h)
        free_at.append(free[t.resource] if h == i else free_at[h])
        run = tasks[h:i + 1]
        outside = [d for g in run for d in g.after if d < h]
        piped = [d for d in outside if t.chunks > 1 and tasks[d].chunks == t.chunks
                 and tasks[d].resource != t.resource]
        s = max([free_at[h]] + [end[d] for d in outside if d not in piped]
                + [start[d] for d in piped])
        b = [(g.duration_s - g.prologue_s) / t.chunks for g in run]
        acc, t0 = 0.0, s
        if t.channel and t.chunks > 1:
            acc = sum(g.channel_s for g in run if g.channel == t.channel)
            chain = [d for d in piped if tasks[d].channel == t.channel and cacc[d] > 0]
            if chain:
                d = max(chain, key=lambda d: cacc[d])     # the first of the largest, as the kernel
                acc, t0 = acc + cacc[d], min(s, ct0[d])
        f = s + sum(g.prologue_s for g in run)
        ends = []
        for j in range(t.chunks):
            chan_j = [t0 + (j + 1) * acc / t.chunks - sum(b)] if acc > 0 else []
            f = max([f] + [chunk_end[d][j] for d in piped] + chan_j) + sum(b)
            ends.append(f)
        cacc[h:] = [acc] * (i - h + 1)
        ct0[h:] = [t0] * (i - h + 1)
        start[h:] = [s] * (i - h)
        end, chunk_end = end[:h], chunk_end[:h]
        for k in range(len(run)):
            tail = sum(b[k + 1:])
            end.append(ends[-1] - tail)
            chunk_end.append([x - tail for x in ends])
        start.append(s)
        free[t.resource] = ends[-1]
    names: dict[str, int] = {}
    res = np.array([names.setdefault(t.resource, len(names)) for t in tasks], dtype=np.int64)
    dur = np.array([t.duration_s for t in tasks])
    return _timeline(np.array(start), np.array(end), np.zeros(0, dtype=np.int64), dur, res, names)
