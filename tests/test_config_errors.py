"""Every bad-input path of the config loader ends in one ConfigError naming file, key and what
is allowed (STYLE.md 4.3); one parametrized case per path."""
from __future__ import annotations

import pytest

from archsim.config.arch import load_arch
from archsim.config.load import apply_overrides, parse_override, resolve_extends
from archsim.errors import ConfigError

GOOD = """
name = "t"
[tech]
node_nm = 7
[components.acc]
kind = "fake"
lanes = 64
"""


def write(tmp_path, text, name="arch.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_config_loads(tmp_path, fake_component):
    arch = load_arch(write(tmp_path, GOOD))
    spec = arch.components["acc"]
    assert spec.lanes == 64 and spec.clock_ghz == 1.0 and spec.inner.depth == 4
    assert arch.tech.node_nm == 7 and arch.component_kinds == {"acc": "fake"}


@pytest.mark.parametrize("edit, key, fragment", [
    ("lanes = 64", "components.acc.lanes", "required key is missing"),          # missing key
    ("lanes = 64\nlanez = 3", "components.acc.lanez", "unknown key; allowed: lanes"),  # unknown key
    ("lanes = \"many\"", "components.acc.lanes", "expected integer"),          # wrong type
    ("lanes = 0", "components.acc.lanes", "must be >= 1"),                      # out of range
    ("lanes = 99999", "components.acc.lanes", "must be <= 4096"),
    ("lanes = 64\nmode = \"turbo\"", "components.acc.mode", "allowed values: fast, slow"),
    ("lanes = 64\nclock_ghz = -1.0", "components.acc.clock_ghz", "must be > 0.0"),
    ("lanes = 64\nclock_ghz = nan", "components.acc.clock_ghz", "finite"),
    ("lanes = 64\ninner = {depth = 0}", "components.acc.inner.depth", "must be >= 1"),
    ("lanes = 64\ninner = 5", "components.acc.inner", "expected a table"),
    ("lanes = true", "components.acc.lanes", "expected integer"),              # bool is not int
])
def test_component_errors(tmp_path, fake_component, edit, key, fragment):
    text = GOOD.replace("lanes = 64", "" if edit == "lanes = 64" else edit)
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, text))
    assert ei.value.key == key
    assert fragment in ei.value.message
    assert str(tmp_path / "arch.toml") in str(ei.value)


def test_unknown_kind(tmp_path, fake_component):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD.replace('kind = "fake"', 'kind = "systolik"')))
    assert ei.value.key == "components.acc.kind"
    assert "allowed values" in ei.value.message and "systolic_array" in ei.value.message


def test_missing_kind_and_components(tmp_path, fake_component):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD.replace('kind = "fake"', "")))
    assert ei.value.key == "components.acc.kind"
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, 'name = "x"\n'))
    assert ei.value.key == "components"


def test_unknown_top_level_and_tech(tmp_path, fake_component):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD + "\n[techno]\nx = 1\n"))
    assert ei.value.key == "techno" and "allowed" in ei.value.message
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD.replace("node_nm = 7", "node_nm = 0")))
    assert ei.value.key == "tech.node_nm"


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, "name = \n[components.a]\n"))
    assert ei.value.key == "<syntax>" and "line 1" in ei.value.message


def test_unreadable_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_arch(tmp_path / "nope.toml")
    assert ei.value.key == "<file>" and "not found" in ei.value.message
    with pytest.raises(ConfigError) as ei:
        load_arch(tmp_path)
    assert "directory" in ei.value.message
    p = write(tmp_path, "x")
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as ei:
        load_arch(p)
    assert ei.value.key == "<syntax>"


def test_extends_merges_and_overrides(tmp_path, fake_component):
    write(tmp_path, GOOD, "base.toml")
    child = write(tmp_path, 'extends = "base.toml"\nname = "child"\n[components.acc]\nlanes = 128\n')
    arch = load_arch(child)
    assert arch.name == "child" and arch.components["acc"].lanes == 128
    assert arch.tech.node_nm == 7                      # inherited
    arch2 = load_arch(child, ["components.acc.lanes=32", "tech.node_nm=5"])
    assert arch2.components["acc"].lanes == 32 and arch2.tech.node_nm == 5
    arch3 = load_arch(child, {"components.acc.inner.depth": 9})
    assert arch3.components["acc"].inner.depth == 9


def test_extends_missing_and_cycle(tmp_path):
    p = write(tmp_path, 'extends = "missing.toml"\n')
    with pytest.raises(ConfigError) as ei:
        load_arch(p)
    assert ei.value.key == "extends" and "not found" in ei.value.message
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ConfigError) as ei:
        resolve_extends(tmp_path / "a.toml")
    assert "cycle" in ei.value.message
    p = write(tmp_path, "extends = 3\n", "c.toml")
    with pytest.raises(ConfigError) as ei:
        load_arch(p)
    assert ei.value.key == "extends"


def test_override_errors_and_parsing():
    assert parse_override("a.b=64") == ("a.b", 64)
    assert parse_override("a.b=ws") == ("a.b", "ws")          # bare string
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("a.b=2.5") == ("a.b", 2.5)
    with pytest.raises(ConfigError):
        parse_override("novalue")
    with pytest.raises(ConfigError):
        parse_override("a..b=1")
    with pytest.raises(ConfigError) as ei:
        apply_overrides({"a": 1}, ["a.b=2"])
    assert ei.value.key == "a"


def test_override_into_unknown_key_is_rejected(tmp_path, fake_component):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD), ["components.acc.lanse=8"])
    assert ei.value.key == "components.acc.lanse"


def test_mapping_validation(tmp_path, fake_component):
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD + '\n[mapping]\ngemm = "nope"\n'))
    assert ei.value.key == "mapping.gemm" and "acc" in ei.value.message
    with pytest.raises(ConfigError) as ei:
        load_arch(write(tmp_path, GOOD + '\n[mapping]\ngemmm = "acc"\n'))
    assert ei.value.key == "mapping.gemmm"


def test_load_from_mapping(fake_component):
    arch = load_arch({"name": "m", "components": {"a": {"kind": "fake", "lanes": 2}}})
    assert arch.components["a"].lanes == 2
    with pytest.raises(ConfigError) as ei:
        load_arch({"name": "m", "components": {"a": {"kind": "fake"}}})
    assert ei.value.file == "<mapping>" and ei.value.key == "components.a.lanes"
