"""Technology tables: every entry sourced and unit-suffixed, derivations consistent, bad
tables are ConfigErrors naming the key."""
import copy
from pathlib import Path

import pytest

from archsim.config.load import read_toml
from archsim.energy.tables import CONFIDENCE, TECH_DIR, load_table, table_from_data, unit_of
from archsim.errors import ConfigError
from archsim.units import DTYPES

DEFAULT = TECH_DIR / "default.toml"


@pytest.fixture(scope="module")
def raw():
    return read_toml(DEFAULT)


def test_default_loads_and_every_entry_has_unit_and_source():
    t = load_table("default")
    assert t.name == "default"
    assert len(t.entries) > 130
    for key, e in t.entries.items():
        assert e.source.strip(), key
        assert e.unit, key
        assert e.confidence in CONFIDENCE, key
        assert unit_of(key.rsplit(".", 1)[1]) == e.unit


def test_every_tech_table_file_loads():
    for p in Path(TECH_DIR).glob("*.toml"):
        assert load_table(p.stem).entries


def test_all_dtypes_and_ops_present():
    t = load_table()
    for op in ("mac", "add", "mul", "cmp"):
        for dt in DTYPES:
            c = t.logic[op][dt]
            assert c.energy_pj > 0 and c.area_um2 > 0
    assert set(t.dram) == {"lpddr5", "hbm2e", "hbm3", "hbm3e", "gddr6x", "ddr4"}
    assert set(t.pcie) == {"pcie3", "pcie4", "pcie5", "pcie6"}


def test_derived_logic_entries_follow_their_stated_laws():
    t = load_table()
    L = t.logic
    # FP multiplier ~ significand^2 anchored at fp16 (11 bits): bf16 8, fp8 4, tf32 11.
    assert L["mul"]["bf16"].energy_pj == pytest.approx(1.1 * (8 / 11) ** 2, rel=1e-6)   # 0.58182
    assert L["mul"]["fp8"].area_um2 == pytest.approx(1640 * (4 / 11) ** 2, rel=1e-6)    # 216.86
    assert L["mul"]["tf32"].energy_pj == L["mul"]["fp16"].energy_pj
    # FP adder ~ width anchored at fp16 (16 bits)
    assert L["add"]["tf32"].energy_pj == pytest.approx(0.4 * 19 / 16)
    assert L["add"]["fp8"].area_um2 == pytest.approx(1360 * 8 / 16)
    # MAC = mul + accumulate add (int8 -> int32, floats -> fp32) ; area + PE registers
    reg = t.register_area_um2_per_bit                      # 5.98 um^2 per bit (Aladdin)
    acc = {"int8": "int32", "fp8": "fp32", "fp16": "fp32", "bf16": "fp32", "tf32": "fp32", "fp32": "fp32"}
    bits = {"int8": 8, "fp8": 8, "fp16": 16, "bf16": 16, "tf32": 19, "fp32": 32}
    for dt in DTYPES:
        mac = L["mac"][dt]
        assert mac.energy_pj == pytest.approx(L["mul"][dt].energy_pj + L["add"][acc[dt]].energy_pj, rel=1e-6)
        assert mac.area_um2 == pytest.approx(L["mul"][dt].area_um2 + L["add"][acc[dt]].area_um2
                                             + (2 * bits[dt] + 32) * reg, rel=1e-6)
    # hand check: int8 MAC = 0.2 + 0.1 = 0.3 pJ; 282 + 137 + 48 * 5.98 = 706.04 um^2
    assert L["mac"]["int8"].energy_pj == 0.3 and L["mac"]["int8"].area_um2 == pytest.approx(706.04)


def test_horowitz_values_verbatim():
    L = load_table().logic
    assert (L["add"]["int8"].energy_pj, L["mul"]["int8"].energy_pj) == (0.03, 0.2)
    assert (L["add"]["fp16"].energy_pj, L["mul"]["fp16"].energy_pj) == (0.4, 1.1)
    assert (L["add"]["fp32"].energy_pj, L["mul"]["fp32"].energy_pj) == (0.9, 3.7)


def _mutate(raw, path, value):
    d = copy.deepcopy(raw)
    node = d
    for p in path[:-1]:
        node = node[p]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize("path,value,key,fragment", [
    (("logic", "mac", "int8", "energy_pj", "source"), "", "logic.mac.int8.energy_pj.source", "source"),
    (("logic", "mac", "int8", "energy_pj", "source"), KeyError, "logic.mac.int8.energy_pj.source", "source"),
    (("logic", "mac", "int8", "energy_pj", "value"), -1.0, "logic.mac.int8.energy_pj.value", "> 0"),
    (("logic", "mac", "int8", "energy_pj", "value"), "big", "logic.mac.int8.energy_pj.value", "finite number"),
    (("logic", "mac", "int8", "energy_pj", "confidence"), "sure", "logic.mac.int8.energy_pj.confidence", "allowed"),
    (("logic", "mac", "int8", "energy"), {"value": 1.0, "source": "x"}, "logic.mac.int8.energy", "unit"),
    (("logic", "mac", "bf16"), KeyError, "logic.mac.bf16.energy_pj", "missing"),
    (("sram", "fit_read_pj", "value"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9], "sram.fit_read_pj.value", "increase"),
    (("sram", "fit_area_mm2", "value"), [1.0, 2.0], "sram.fit_area_mm2.value", "expected 11"),
    (("scaling", "area_factor", "value"), [6.4, 2.8, 1.5, 1.0, 0.46, 0.21, 0.19, 0.17, 0.2, 0.059],
     "scaling.area_factor.value", "decrease"),
    (("dram", "hbm3", "energy_pj_per_bit", "value"), 0, "dram.hbm3.energy_pj_per_bit.value", "> 0"),
    (("link", "pcie5", "energy_pj_per_bit", "unit"), "pJ", "link.pcie5.energy_pj_per_bit.unit", "unknown key"),
    (("logic", "overhead", "overhead_factor", "value"), 0.5, "logic.overhead.overhead_factor.value", ">= 1.0"),
    (("meta", "base_node_nm", "value"), 40, "meta.base_node_nm.value", "base node"),
])
def test_bad_tables_are_config_errors(raw, path, value, key, fragment):
    with pytest.raises(ConfigError) as ei:
        table_from_data(_mutate(raw, path, value), file="bad.toml")
    assert ei.value.file == "bad.toml"
    assert ei.value.key == key
    assert fragment in ei.value.message


def test_unknown_table_name_is_config_error():
    with pytest.raises(ConfigError) as ei:
        load_table("no_such_table")
    assert ei.value.key == "tech.table" and "default" in ei.value.message


def test_broken_toml_file_is_config_error(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text("[meta\nname=1")
    with pytest.raises(ConfigError) as ei:
        load_table(str(p))
    assert ei.value.key == "<syntax>"


def test_cacti_runs_file_holds_the_fit_points(raw):
    """The SRAM fit points in the table are the CACTI runs shipped next to it."""
    import csv
    rows = list(csv.DictReader(open(TECH_DIR / "cacti7_sram_runs.csv")))
    base = {int(r["capacity_bytes"]): r for r in rows if r["cell"] == "itrs-lop" and r["node_nm"] == "45"
            and r["width_bits"] == "64" and r["banks"] == "1" and r["ports"] == "1"}
    caps = raw["sram"]["fit_capacity_bytes"]["value"]
    for i, c in enumerate(caps):
        assert float(base[c]["read_nj"]) * 1000 == pytest.approx(raw["sram"]["fit_read_pj"]["value"][i], rel=1e-5)
        assert float(base[c]["area_mm2"]) == pytest.approx(raw["sram"]["fit_area_mm2"]["value"][i], rel=1e-5)


def test_validate_cli_checks_tech_tables(tmp_path, capsys):
    from archsim.cli import main
    assert main(["validate", str(DEFAULT)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT.read_text().replace('confidence = "low"', 'confidence = "guess"', 1))
    assert main(["validate", str(bad)]) == 2
    assert "confidence" in capsys.readouterr().err


def test_custom_table_path_relative_to_arch(tmp_path, fake_component):
    """[tech] table = "mine.toml" is read next to the arch file; its numbers are used."""
    from archsim import load_arch, load_workload, simulate
    text = DEFAULT.read_text().replace(
        'energy_pj = { value = 0.3, source = "derived: int8 mult 0.2 + int32 accumulate add 0.1 pJ (Horowitz)"',
        'energy_pj = { value = 0.6, source = "test: doubled"')
    (tmp_path / "mine.toml").write_text(text)
    (tmp_path / "arch.toml").write_text(
        '[tech]\nnode_nm = 45\ntable = "mine.toml"\n[components.a]\nkind = "fake"\nlanes = 4\n')
    rep = simulate(load_arch(tmp_path / "arch.toml"),
                   load_workload({"ops": [{"op": "gemm", "m": 2, "k": 2, "n": 2, "dtype": "int8"}]}))
    assert rep.ops[0].energy_j == pytest.approx(8 * 0.6e-12)          # 8 MACs x 0.6 pJ
    assert rep.provenance["sources"]["logic.mac.int8.energy_pj"] == "test: doubled"


def test_sram_node_factors_are_the_cacti_ratios():
    """[sram.node] factors at the CACTI nodes = geometric mean over 2 KiB-8 MiB of the CACTI
    ratio to 45 nm (read energy, leakage, area), as the table's sources say."""
    import csv
    import math
    t = load_table()
    q = t.sram
    rows = [r for r in csv.DictReader(open(TECH_DIR / "cacti7_sram_runs.csv"))
            if r["cell"] == "itrs-lop" and r["width_bits"] == "64" and r["banks"] == "1" and r["ports"] == "1"]
    base = {(int(r["node_nm"]), int(r["capacity_bytes"])): r for r in rows}
    caps = (2048, 8192, 32768, 131072, 524288, 2097152, 8388608)
    for node in (90, 65, 32, 22):
        i = q.node_nodes_nm.index(node)
        for col, got in (("read_nj", q.node_energy_factor[i]), ("leak_mw_per_bank", q.node_leakage_factor[i]),
                         ("area_mm2", q.node_area_factor[i])):
            g = math.exp(sum(math.log(float(base[(node, c)][col]) / float(base[(45, c)][col])) for c in caps) / len(caps))
            assert got == pytest.approx(g, rel=2e-4), (node, col)
    # below 22 nm: the plug-in rule from the 22 nm factor
    i22, i7 = q.node_nodes_nm.index(22), q.node_nodes_nm.index(7)
    assert q.node_energy_factor[i7] == pytest.approx(q.node_energy_factor[i22] * (7 / 22) ** 0.5, rel=1e-4)
    assert q.node_leakage_factor[i7] == pytest.approx(q.node_leakage_factor[i22] * (7 / 22) ** 0.5 * 0.79, rel=1e-4)
    assert q.node_area_factor[i7] == pytest.approx(q.node_area_factor[i22] * 0.027 / 0.092, rel=1e-4)
