"""SRAM model: reproduces its CACTI fit points, monotone, width/bank/port fits bounded."""
import csv
import warnings

import numpy as np
import pytest

from archsim.energy.scaling import ScalingWarning
from archsim.energy.sram import loglog_interp, sram_cost
from archsim.energy.tables import TECH_DIR, load_table

T = load_table()
Q = T.sram


def cost(c, w=64, b=1, p=1, node=45, vdd=0.9):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        return sram_cost(capacity_bytes=c, width_bits=w, banks=b, ports=p, node_nm=node, vdd_v=vdd, table=T)


def test_reproduces_fit_points():
    for i, c in enumerate(Q.fit_capacity_bytes):
        s = cost(c)
        assert s.read_pj == pytest.approx(Q.fit_read_pj[i], rel=1e-12)
        assert s.write_pj == pytest.approx(Q.fit_write_pj[i], rel=1e-12)
        assert s.leakage_w == pytest.approx(Q.fit_leakage_mw[i] * 1e-3, rel=1e-12)
        assert s.area_mm2 == pytest.approx(Q.fit_area_mm2[i], rel=1e-12)


def test_hand_interpolation_between_points():
    # halfway (in log2) between 8 KiB (3.16221 pJ) and 32 KiB (7.23311 pJ): 16 KiB ->
    # geometric mean sqrt(3.16221 * 7.23311) = 4.78256 pJ
    assert cost(16384).read_pj == pytest.approx((3.16221 * 7.23311) ** 0.5, rel=1e-9)


@pytest.mark.parametrize("w,b,p,node", [(64, 1, 1, 45), (256, 1, 1, 7), (32, 4, 2, 22), (1024, 16, 1, 5), (2048, 16, 1, 7)])
def test_monotone_in_capacity_bigger_never_cheaper(w, b, p, node):
    caps = np.geomspace(256, 512 * 2**20, 60)
    cs = [cost(float(c), w, b, p, node, 0.8) for c in caps]
    for f in ("read_pj", "write_pj", "leakage_w", "area_mm2"):
        vals = [getattr(c, f) for c in cs]
        assert all(y > x for x, y in zip(vals, vals[1:])), f


def test_per_byte_energy_and_ports():
    # more ports never cheaper; wider port costs more per access but not more per byte (read)
    assert cost(32768, p=2).read_pj > cost(32768).read_pj
    assert cost(32768, p=2).area_mm2 > cost(32768).area_mm2
    assert cost(32768, w=256).read_pj > cost(32768).read_pj
    assert cost(32768, w=256).read_pj / 256 < cost(32768).read_pj / 64


def test_smaller_node_smaller_area():
    nodes = (45, 32, 28, 22, 16, 14, 10, 7, 5)
    areas = [cost(2**20, node=n, vdd=0.8).area_mm2 for n in nodes]
    assert all(b < a for a, b in zip(areas, areas[1:]))


def test_width_bank_port_fits_against_cacti_runs():
    """The least-squares multipliers stay within a stated band of every CACTI run (45 nm).
    Measured: read 0.74-1.51x of CACTI (worst: 1024-bit port at 32 KiB, where CACTI's
    organisation search jumps), write 0.68-1.76x, area 0.82-1.26x, leakage 0.92-1.08x;
    median |log error| 5 % (read), 2 % (area)."""
    # ports wider than 1024 bits are composed of sub-arrays by the model, not fitted: CACTI's
    # single-array results there are 1.6-8x the composed ones (see the next test)
    rows = [r for r in csv.DictReader(open(TECH_DIR / "cacti7_sram_runs.csv"))
            if r["cell"] == "itrs-lop" and r["node_nm"] == "45" and int(r["width_bits"]) <= 1024]
    errs = {"read": [], "write": [], "area": []}
    for r in rows:
        c, w, b, p = (int(r[k]) for k in ("capacity_bytes", "width_bits", "banks", "ports"))
        m = cost(c, w, b, p)
        errs["read"].append(m.read_pj / (float(r["read_nj"]) * 1000))
        errs["write"].append(m.write_pj / (float(r["write_nj"]) * 1000))
        errs["area"].append(m.area_mm2 / float(r["area_mm2"]))
    for k, band in (("read", 1.6), ("write", 1.8), ("area", 1.3)):
        e = np.array(errs[k])
        assert np.all((e < band) & (e > 1 / band)), (k, e.min(), e.max())
        assert np.median(np.abs(np.log(e))) < np.log(1.1)


def test_extrapolation_beyond_fit_points_warns():
    rec = []
    with pytest.warns(ScalingWarning, match="outside the CACTI fit points"):
        s = sram_cost(capacity_bytes=64, width_bits=64, node_nm=45, vdd_v=0.9, table=T, record=rec)
    assert s.read_pj < Q.fit_read_pj[0] and rec


def test_loglog_interp_reference():
    xs, ys = (1.0, 10.0, 100.0), (2.0, 20.0, 40.0)
    assert loglog_interp(10.0, xs, ys) == pytest.approx(20.0)
    assert loglog_interp(1000.0, xs, ys) == pytest.approx(80.0)     # slope log2 continued


@pytest.mark.parametrize("kw,fragment", [({"width_bits": 16}, "width law"),
                                         ({"banks": 32}, "bank law"), ({"ports": 6}, "port law")])
def test_width_bank_port_extrapolation_warns(kw, fragment):
    args = dict(capacity_bytes=2**20, width_bits=64, banks=1, ports=1, node_nm=45, vdd_v=0.9, table=T)
    args.update(kw)
    rec = []
    with pytest.warns(ScalingWarning, match=fragment):
        sram_cost(**args, record=rec)
    assert rec


def test_wide_ports_are_composed_of_subarrays():
    # 2048-bit port on 1 MiB = 2 x (512 KiB, 1024-bit): read 2 x 27.7066 x 16^0.645 pJ
    c = cost(2**20, w=2048)
    assert c.read_pj == pytest.approx(2 * 27.7066 * 16 ** Q.width_exp_read, rel=1e-9)
    assert c.area_mm2 == pytest.approx(2 * 1.85611 * 16 ** Q.width_exp_area, rel=1e-9)
    # continuous at the 1024-bit edge; per byte never dearer than the 1024-bit port
    assert cost(2**20, w=1024).read_pj == pytest.approx(cost(2**20, w=1024.0001).read_pj, rel=1e-3)
    assert c.read_pj / 2048 <= cost(2**20, w=1024).read_pj / 1024
    # CACTI's single-array answers for such ports are higher (its organisation degenerates)
    rows = {(int(r["capacity_bytes"]), int(r["width_bits"])): r for r in
            csv.DictReader(open(TECH_DIR / "cacti7_sram_runs.csv"))
            if r["node_nm"] == "45" and r["cell"] == "itrs-lop" and int(r["width_bits"]) > 1024}
    ratios = [float(rows[(cap, w)]["read_nj"]) * 1000 / cost(cap, w=w).read_pj for cap, w in rows]
    assert len(ratios) == 4 and all(1.5 < r < 8.5 for r in ratios)
