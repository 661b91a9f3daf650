"""Helpers of the issue-16 regression tests (tests/test_hardening_*.py): the CLI run in-process
with its output captured, and small input files."""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TPU = str(REPO / "arch_configs/systolic/tpu-128x128.toml")
OS32 = str(REPO / "arch_configs/systolic/scalesim-32x32-os.toml")
H200 = str(REPO / "arch_configs/gpu/h200.toml")
VREX8 = str(REPO / "arch_configs/vrex/vrex8-edge.toml")
NGPC8 = str(REPO / "arch_configs/ngpc/ngpc-8.toml")
RESNET18 = str(REPO / "workloads/cnn/resnet18.csv")
RESNET50 = str(REPO / "workloads/cnn/resnet50.csv")


class Result:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def __repr__(self):
        return f"Result(rc={self.rc}, {self.seconds:.1f} s, err={self.err[-400:]!r})"


def cli(*argv) -> Result:
    """archsim.cli.main(argv) in this process; exit code, stdout, stderr, seconds."""
    from archsim.cli import main
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    r = Result(rc, out.getvalue(), err.getvalue(), time.perf_counter() - t0)
    assert "Traceback" not in r.err and "internal error" not in r.err, r
    assert rc in (0, 1, 2), r
    return r


def ops_toml(path: Path, *ops: dict, name: str = "w") -> Path:
    import json
    lines = [f"name = {json.dumps(name)}"]
    for op in ops:
        lines.append("[[ops]]")
        for k, v in op.items():
            lines.append(f"{k} = {json.dumps(v)}")
    path.write_text("\n".join(lines) + "\n")
    return path
