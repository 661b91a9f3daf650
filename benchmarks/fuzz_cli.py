"""CLI fuzzing at benchmark size (issue 16): >= 10^4 generated command lines over every
subcommand, with generated files, output paths and numbers, each run in-process in a forked
worker with a time and a memory bound. The generator, runner and verdicts are the CI test's
(tests/fuzzcli.py, tests/test_fuzz_cli.py); this script only runs more of them and prints the
counts, which must all be zero but `ok`:

    traceback   a Python traceback, or an 'internal error' exit (a bug caught by the CLI's
                last-resort handler)
    hang        no exit within --timeout seconds (the worker is killed)
    memory      resident memory over --rss-gib (the worker is killed)
    wrong_exit  an exit code other than 0, 1, 2, or exit 2 without a message
    nonsense    exit 0 on nonsense input (NaN, negative sizes, bad paths, garbage files...), or
                a written Report with a negative or non-finite number
    blame       a bad --set value not blamed on --set
    escaped     a file written outside the case's folder (or into the repository)

    python benchmarks/fuzz_cli.py                       # 12000 cases, 2 workers (~5 min)
    python benchmarks/fuzz_cli.py --cases 20000 --seed 7 --json results/fuzz.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import fuzzcli  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=12000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=16, help="Hypothesis seed (reproducible runs)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--rss-gib", type=float, default=4.0, help="resident memory per case before it counts")
    ap.add_argument("--json", help="also write the counts (and the failing cases) as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the case folders")
    args = ap.parse_args(argv)

    before = fuzzcli.repo_snapshot()
    t0 = time.perf_counter()
    last = [t0]

    def progress(pool):
        now = time.perf_counter()
        if now - last[0] > 30:
            last[0] = now
            print(f"  {pool.next_idx} cases submitted, {now - t0:.0f} s: {pool.summary()}", flush=True)

    with tempfile.TemporaryDirectory(prefix="archsim-fuzz-") as tmp:
        root = Path(tmp) / "cases"
        pool = fuzzcli.fuzz(args.cases, root, workers=args.workers, seed=args.seed,
                            case_timeout_s=args.timeout, rss_limit_gib=args.rss_gib,
                            on_progress=progress)
        wall = time.perf_counter() - t0
        repo_ok = fuzzcli.repo_snapshot() == before
        s = pool.summary()
        if not repo_ok:
            s["escaped"] += 1
        print(f"\n{s['cases']} generated command lines in {wall:.0f} s on {args.workers} workers "
              f"(seed {args.seed}; median case {sorted(pool.times)[len(pool.times) // 2] * 1e3:.0f} ms)")
        for k in fuzzcli.OUTCOMES:
            print(f"  {k:10s} {s[k]:6d}")
        print("\nexit codes by subcommand:")
        by_cmd: dict = {}
        for (cmd, code), n in pool.exits.items():
            by_cmd.setdefault(cmd, {})[str(code)] = n
        for cmd in sorted(by_cmd):
            print(f"  {cmd:12s} " + "  ".join(f"{c}: {n}" for c, n in sorted(by_cmd[cmd].items())))
        if pool.bad:
            print("\nfailing cases:\n" + fuzzcli.format_bad(pool, 50))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({
                "summary": s, "wall_s": wall, "seed": args.seed, "workers": args.workers,
                "exits": by_cmd, "repository_untouched": repo_ok,
                "failing": [{"outcome": o, "argv": list(c.argv) if c else None, "detail": d[-2000:]}
                            for o, c, d in pool.bad]}, indent=1))
        if args.keep:
            import shutil
            keep = REPO / "results" / "fuzz-cases"
            shutil.copytree(root, keep, dirs_exist_ok=True)
            print(f"case folders kept in {keep}")
    bad = sum(v for k, v in s.items() if k not in ("cases", "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
