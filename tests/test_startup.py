"""Start-up hygiene: the CLI imports no heavy library before a command needs it, kernels load
numba only when one runs, and a kernel run as Python (before numba is loaded) gives the numbers
the compiled kernel gives. No timed assertions: `benchmarks/bench_dse.py` measures the times."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from archsim.blocks.systolic import kernels as K
from conftest import REPO

HEAVY = ("matplotlib", "dask", "distributed", "rich", "numba", "numpy", "pandas", "scipy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cli_import_and_help_parser_pull_in_nothing_heavy():
    mods = _modules_after("import archsim.cli\narchsim.cli.build_parser()")
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))


def test_import_archsim_is_light_and_loading_an_arch_needs_no_numba():
    mods = _modules_after("import archsim")
    assert not mods & set(HEAVY)
    mods = _modules_after("import archsim\n"
                          "archsim.load_arch('arch_configs/systolic/tpu-128x128.toml')\n"
                          "archsim.load_workload('workloads/cnn/resnet50.csv')\n"
                          "import archsim.simulate, archsim.sweep, archsim.report.write, archsim.cli.run")
    assert not mods & {"numba", "matplotlib", "dask", "distributed", "rich"}, mods


_CASES = [(df, r, c, h, w, f, f, ch, nf, s, si, sf, so, bw, po, fo)
          for (df, r, c, h, w, f, ch, nf, s, si, sf, so, bw, po, fo) in [
              (0, 8, 4, 17, 13, 3, 5, 21, 1, 300, 800, 90, 2.5, False, False),
              (1, 5, 7, 30, 30, 5, 3, 40, 2, 4000, 100, 500, 1.0, True, True),
              (2, 4, 4, 11, 12, 3, 6, 9, 2, 60, 2000, 40, 0.7, False, True),
              (1, 16, 8, 64, 512, 1, 1, 300, 1, 20000, 3000, 6000, 13.3, False, False),
              (2, 3, 9, 20, 20, 3, 4, 33, 1, 100, 100, 100, 100.0, True, False)]]


def test_interpreted_kernels_equal_compiled():
    code = ("import json, numpy as np\nfrom archsim import jit\n"
            "from archsim.blocks.systolic import kernels as K\n"
            f"cases = {_CASES!r}\n"
            "with jit.interpreted():\n"
            "    out = [K.simulate_layer(*c).tolist() for c in cases]\n"
            "import sys\nassert 'numba' not in sys.modules\nprint(json.dumps(out))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    for case, g in zip(_CASES, got):
        assert np.array_equal(np.array(g), K.simulate_layer(*case)), case
