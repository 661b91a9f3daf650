"""Regenerate the CACTI 7 SRAM runs behind the default tech table's SRAM fit.

    python benchmarks/cacti_sram_points.py --cacti DIR [--out FILE.csv]

DIR holds a built CACTI 7 `cacti` executable (e.g. the sources shipped in the PyPI wheel
hwcomponents-cacti 1.0.40 under hwcomponents_cacti/cacti/, rebuilt with `make`; the wheel's
prebuilt binary needs glibc 2.38). The configuration is the hwcomponents-cacti default_cfg.cfg
(MIT) with itrs-lop cells and periphery; 'ram' type, 1-way, UCA. The output has the columns of
arch_configs/tech/cacti7_sram_runs.csv; the [sram] fit points of default.toml are its
45 nm, 64-bit, 1-bank, 1-port rows, the width/bank/port exponents least-squares fits of the
other 45 nm rows, and the node factors geometric means of the 90/65/32/22 nm to 45 nm ratios.
Not run by the tests (CACTI is not a dependency); tests check the table against the CSV.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

CFG = """-Array Power Gating - "false"
-WL Power Gating - "false"
-CL Power Gating - "false"
-Bitline floating - "false"
-Interconnect Power Gating - "false"
-Power Gating Performance Loss "default"
-exclusive read port 0
-exclusive write port 0
-single ended read ports 0
-page size (bits) 0
-burst length 8
-internal prefetch width 8
-Data array cell type - "{cell}"
-Data array peripheral type - "{cell}"
-Tag array cell type - "{cell}"
-Tag array peripheral type - "{cell}"
-operating temperature (K) 300
-access mode (normal, sequential, fast) - "fast"
-design objective (weight delay, dynamic power, leakage power, cycle time, area) 0:0:1000000:0:0
-deviate (delay, dynamic power, leakage power, cycle time, area) 20:10:100000:100:100
-NUCAdesign objective (weight delay, dynamic power, leakage power, cycle time, area) 100:100:0:0:100
-NUCAdeviate (delay, dynamic power, leakage power, cycle time, area) 10:10000:10000:10000:10000
-Optimize ED or ED^2 (ED, ED^2, NONE): "ED^2"
-Cache model (NUCA, UCA)  - "UCA"
-NUCA bank count 0
-Wire signaling (fullswing, lowswing, default) - "Global_30"
-Wire inside mat - "semi-global"
-Wire outside mat - "semi-global"
-Interconnect projection - "normal"
-Core count 1
-Add ECC - "false"
-Print level (DETAILED, CONCISE) - "DETAILED"
-Print input parameters - "true"
-Force cache config - "false"
-Ndwl 1
-Ndbl 1
-Nspd 0
-Ndcm 1
-Ndsam1 0
-Ndsam2 0
-dram_type "DDR3"
-io state "WRITE"
-addr_timing 1.0
-mem_density 4 Gb
-bus_freq 800 MHz
-duty_cycle 1.0
-activity_dq 1.0
-activity_ca 0.5
-num_dq 72
-num_dqs 18
-num_ca 25
-num_clk  2
-num_mem_dq 2
-mem_data_width 8
-rtt_value 10000
-ron_value 34
-tflight_value
-num_bobs 1
-capacity 80
-num_channels_per_bob 1
-first metric "Cost"
-second metric "Bandwidth"
-third metric "Energy"
-DIMM model "ALL"
-mirror_in_bob "F"
"""

COLUMNS = ["cell", "node_nm", "capacity_bytes", "width_bits", "banks", "ports", "access_ns",
           "cycle_ns", "read_nj", "write_nj", "leak_mw_per_bank", "area_mm2"]


def grid():
    """(cell, node_nm, capacity_bytes, width_bits, banks, ports) in the order of the CSV."""
    for node in (45, 32, 22):
        for c in (2048, 8192, 32768, 131072, 524288, 2097152, 8388608):
            yield "itrs-lop", node, c, 64, 1, 1
    for c in (32768, 1048576):
        for w in (32, 128, 256, 512, 1024):
            yield "itrs-lop", 45, c, w, 1, 1
    for b in (2, 4, 8, 16):
        yield "itrs-lop", 45, 1048576, 64, b, 1
        yield "itrs-lop", 45, 131072, 64, b, 1
    for p in (2, 3, 4):
        yield "itrs-lop", 45, 32768, 64, 1, p
        yield "itrs-lop", 45, 1048576, 64, 1, p
    for cell in ("itrs-hp", "itrs-lstp"):
        for c in (8192, 32768, 1048576):
            yield cell, 45, c, 64, 1, 1
    yield "itrs-lop", 45, 1048576, 64, 1, 1
    for c in (512, 33554432, 134217728):
        yield "itrs-lop", 45, c, 64, 1, 1
    for node in (65, 90):
        for c in (2048, 8192, 32768, 131072, 524288, 2097152, 8388608):
            yield "itrs-lop", node, c, 64, 1, 1
    for c in (32768, 1048576):          # single-array ports wider than the fit range
        for w in (2048, 4096):
            yield "itrs-lop", 45, c, w, 1, 1


def run_one(cacti_dir: Path, tmp: Path, cell, node_nm, capacity, width_bits, banks, ports) -> list:
    cfg = tmp / f"c_{cell}_{node_nm}_{capacity}_{width_bits}_{banks}_{ports}.cfg"
    cfg.write_text(CFG.format(cell=cell) + (
        f"\n-size (bytes) {capacity}\n-read-write port  {ports}\n-block size (bytes) {width_bits // 8}\n"
        f"-technology (u) {node_nm / 1000}\n-output/input bus width  {width_bits}\n-UCA bank {banks}\n"
        '-cache type "ram"\n-tag size (b) default\n-associativity 1\n'))
    subprocess.run(["./cacti", "-infile", str(cfg)], cwd=cacti_dir, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    last = Path(str(cfg) + ".out").read_text().strip().splitlines()[-1].split(",")
    f = [x.strip() for x in last]
    # columns of CACTI's .out: access ns, cycle ns, search nJ, read nJ, write nJ, leakage/bank mW, area
    return [cell, node_nm, capacity, width_bits, banks, ports, f[5], f[6], f[8], f[9], f[10], f[11]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cacti", required=True, type=Path, help="folder with the cacti executable")
    ap.add_argument("--out", type=Path, default=None, help="CSV to write (default: stdout)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        rows = [run_one(args.cacti.resolve(), Path(td), *g) for g in grid()]
    fh = open(args.out, "w", newline="") if args.out else sys.stdout
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    if args.out:
        fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
