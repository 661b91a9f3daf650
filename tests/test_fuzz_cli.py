"""Fuzzing that reaches the CLI (issue 16): thousands of generated command lines over every
subcommand, with generated files, output paths and numbers (huge, tiny, zero, negative, NaN,
inf), run in-process in forked workers with a time and a memory bound per case.

Asserted for every case: exit 0, 1 or 2 only; no traceback (nor an 'internal error' exit); no
hang (60 s) and no runaway memory (4 GiB resident); exit 0 only on sensible input and only
with finite, non-negative results; a bad --set blamed on --set; nothing written outside the
case's folder (and the repository's files untouched).

Size: ARCHSIM_FUZZ_CASES (default 3000, about a minute on 2 cores). benchmarks/fuzz_cli.py runs the
same generator with >= 10^4 cases off CI.
"""
from __future__ import annotations

import os

import fuzzcli

N_CASES = int(os.environ.get("ARCHSIM_FUZZ_CASES", "3000"))


def test_fuzz_cli_every_subcommand(tmp_path):
    before = fuzzcli.repo_snapshot()
    pool = fuzzcli.fuzz(N_CASES, tmp_path / "fuzz", workers=2)
    s = pool.summary()
    assert s["cases"] >= N_CASES, s
    bad = {k: v for k, v in s.items() if k not in ("cases", "ok") and v}
    assert not bad, f"{s}\n{fuzzcli.format_bad(pool)}"
    # every subcommand was reached, and each one both accepted and refused something
    cmds = {c for c, _ in pool.exits}
    assert set(fuzzcli.KNOWN) <= cmds, cmds
    for c in ("run", "validate", "scalesim", "trace", "report", "compare", "roofline", "schema"):
        assert (c, 0) in pool.exits and (c, 2) in pool.exits, (c, pool.exits)
    assert fuzzcli.repo_snapshot() == before, "a fuzz case wrote into the repository"
