"""Node/Vdd scaling: hand-checked factors, monotone area, warnings outside validity."""
import math
import warnings

import pytest

from archsim.energy.scaling import (ScalingWarning, logic_area_factor, logic_energy_factor,
                                    nominal_vdd_v, sram_factors)
from archsim.energy.tables import load_table

T = load_table()
NODES = (45, 32, 28, 22, 16, 14, 10, 7, 5)


def _quiet(fn, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        return fn(**kw)


def test_area_factors_hand_checked():
    assert logic_area_factor(node_nm=45, table=T) == 1.0
    assert logic_area_factor(node_nm=7, table=T) == 0.059            # Stillmaker-Baas row
    # 28 nm: linear in nm between 32 (0.46) and 20 (0.21): 0.21 + 8/12 * 0.25 = 0.376667
    assert logic_area_factor(node_nm=28, table=T) == pytest.approx(0.21 + 8 / 12 * 0.25)


def test_energy_factor_same_vdd_matches_tech_md():
    # tech.md: at a common 0.8 V the 7 nm factor vs 45 nm is about 0.094.
    # E7(0.8) = 0.1776*0.64 - 0.09097*0.8 + 0.02447 = 0.065386
    # E45(0.8) = 1.103*0.64 - 0.362*0.8 + 0.2767 = 0.69302 -> 0.09435
    e7 = 0.1776 * 0.64 - 0.09097 * 0.8 + 0.02447
    e45 = 1.103 * 0.64 - 0.362 * 0.8 + 0.2767
    e45_base = 1.103 * 0.81 - 0.362 * 0.9 + 0.2767       # the table's base is 45 nm at 0.9 V
    f = logic_energy_factor(node_nm=7, vdd_v=0.8, table=T)
    assert f == pytest.approx(e7 / e45_base, rel=1e-9)
    assert e7 / e45 == pytest.approx(0.094, abs=0.001)


def test_voltage_aware_lower_vdd_lowers_energy():
    hi = logic_energy_factor(node_nm=7, vdd_v=0.9, table=T)
    lo = logic_energy_factor(node_nm=7, vdd_v=0.6, table=T)
    assert lo < hi


@pytest.mark.parametrize("vdd", [0.7, 0.8, 0.9])
def test_smaller_node_never_more_area_or_energy_at_fixed_vdd(vdd):
    areas = [_quiet(logic_area_factor, node_nm=n, table=T) for n in NODES]
    energies = [_quiet(logic_energy_factor, node_nm=n, vdd_v=vdd, table=T) for n in NODES]
    srams = [_quiet(sram_factors, node_nm=n, vdd_v=vdd, table=T)["area"] for n in NODES]
    assert all(b <= a for a, b in zip(areas, areas[1:]))
    assert all(b <= a for a, b in zip(energies, energies[1:]))
    assert all(b <= a for a, b in zip(srams, srams[1:]))


def test_below_validity_warns_and_extrapolates():
    rec = []
    with pytest.warns(ScalingWarning, match="outside Stillmaker-Baas"):
        a5 = logic_area_factor(node_nm=5, table=T, record=rec)
    assert a5 == pytest.approx(0.059 * 5 / 7)         # tech.md: 5 nm ~ 0.042
    assert a5 != logic_area_factor(node_nm=7, table=T)   # never the unscaled 7 nm number
    assert rec and "5 nm" in rec[0]
    with pytest.warns(ScalingWarning):
        e5 = logic_energy_factor(node_nm=5, vdd_v=0.8, table=T)
    assert e5 == pytest.approx(logic_energy_factor(node_nm=7, vdd_v=0.8, table=T) * math.sqrt(5 / 7))


def test_inside_validity_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScalingWarning)
        for n in (45, 32, 28, 22, 16, 14, 10, 7):
            logic_area_factor(node_nm=n, table=T)
            logic_energy_factor(node_nm=n, vdd_v=nominal_vdd_v(node_nm=n, table=T), table=T)


def test_sram_area_scales_slower_than_logic_at_7_and_5nm():
    # tech.md caution: SRAM bit cells shrink slower than logic below 7 nm
    for n in (7, 5):
        s = _quiet(sram_factors, node_nm=n, vdd_v=0.8, table=T)["area"]
        assert s > _quiet(logic_area_factor, node_nm=n, table=T)


def test_sram_below_rule_range_warns():
    with pytest.warns(ScalingWarning, match="SRAM|nominal Vdd"):
        sram_factors(node_nm=3, vdd_v=0.6, table=T, record=[])


def test_keyword_only():
    with pytest.raises(TypeError):
        logic_area_factor(7, T)   # noqa: positional use is refused
