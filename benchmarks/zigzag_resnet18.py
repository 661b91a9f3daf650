"""ZigZag (pip `zigzag-dse`, which needs `six`) on ResNet-18 with its own TPU-like 32x32
hardware and mapping files: per layer, the latency of the mapping its LOMA search finds.
Run with the Python of a separate venv that has zigzag-dse (benchmarks/bench_dse.py does):

    python -m venv /tmp/zz && /tmp/zz/bin/pip install zigzag-dse six
    /tmp/zz/bin/python benchmarks/zigzag_resnet18.py OUT.json

Prints nothing but writes OUT.json: {"wall_s", "cpu_s", "hardware", "layers": [{"name",
"dims", "cycles", "onloading", "computation", "offloading", "energy_pj"}]}.
"""
import json
import logging
import os
import sys
import tempfile
import time

logging.disable(logging.CRITICAL)

from zigzag.api import get_hardware_performance_zigzag  # noqa: E402
import zigzag  # noqa: E402

base = os.path.dirname(zigzag.__file__)
out = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    t0, c0 = time.perf_counter(), time.process_time()
    res = get_hardware_performance_zigzag(
        os.path.join(base, "inputs/workload/resnet18.onnx"),
        os.path.join(base, "inputs/hardware/tpu_like.yaml"),
        os.path.join(base, "inputs/mapping/tpu_like.yaml"),
        opt="latency", dump_folder=tmp, loma_show_progress_bar=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    layers = []
    for f in sorted(os.listdir(tmp)):
        if not f.endswith("_complete.json"):
            continue
        d = json.load(open(os.path.join(tmp, f)))
        lat = d["outputs"]["latency"]
        layers.append({"name": d["inputs"]["layer"]["name"], "type": d["inputs"]["layer"]["type"],
                       "dims": d["inputs"]["layer"]["loop_dimensions"],
                       "onloading": lat["data_onloading"], "computation": lat["computation"],
                       "offloading": lat["data_offloading"],
                       "cycles": lat["data_onloading"] + lat["computation"] + lat["data_offloading"],
                       "energy_pj": d["outputs"]["energy"]["energy_total"]})
json.dump({"wall_s": wall, "cpu_s": cpu, "zigzag": getattr(zigzag, "__version__", "?"),
           "hardware": "zigzag inputs/hardware/tpu_like.yaml + inputs/mapping/tpu_like.yaml",
           "total_cycles": res[1], "layers": layers}, open(out, "w"), indent=1)
