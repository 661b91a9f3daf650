"""SCALE-Sim 3.0.0 .cfg files (configparser semantics, case-insensitive keys).

Reads exactly the keys `scalesim/scale_config.py::read_conf_file` reads, each required as there
(SCALE-Sim raises NoOptionError; archsim raises one ConfigError naming `section.Key`). Where
SCALE-Sim only prints a warning and carries on (unknown dataflow -> runs OS; unknown
InterfaceBandwidth -> returns half-parsed), archsim refuses the file instead. Features the
compatibility mode does not model (custom SRAM layouts, sparsity, Ramulator traces) are refused
with a ConfigError too, rather than silently ignored.
"""
from __future__ import annotations

import configparser
from pathlib import Path

import attrs

from archsim.errors import ConfigError
from archsim.config.load import read_text

DATAFLOWS = ("os", "ws", "is")


@attrs.frozen(kw_only=True)
class ScaleSimConfig:
    """The SCALE-Sim knobs compat mode uses. Word = 1 byte (SCALE-Sim's hard-coded word_size)."""
    run_name: str = "scale_run"
    rows: int = 32                   # ArrayHeight
    cols: int = 32                   # ArrayWidth
    ifmap_sram_kb: int = 64          # IfmapSramSzkB (x1024 words)
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    ifmap_offset: int = 0            # only move trace addresses; never change a report number
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    dataflow: str = "ws"
    user_bandwidth: bool = False     # InterfaceBandwidth USER (True) or CALC (False)
    bandwidths: tuple = (10,)        # Bandwidth list; USER: [0] = OFMAP drain words/cycle
    ifmap_dram_bw: int = 10          # [layout] IfmapSRAMBankBandwidth: USER ifmap DRAM->SRAM words/cycle
    filter_dram_bw: int = 10         # [layout] FilterSRAMBankBandwidth
    ifmap_bank_num: int = 10
    filter_bank_num: int = 10
    source: str = ""

    @property
    def mode(self) -> str:
        return "USER" if self.user_bandwidth else "CALC"


def _get(cp, file, section, key):
    if not cp.has_section(section):
        raise ConfigError(file, f"{section}.{key}", f"missing section [{section}]")
    if not cp.has_option(section, key):
        raise ConfigError(file, f"{section}.{key}", "required key is missing")
    try:
        return cp.get(section, key)
    except configparser.Error as exc:
        raise ConfigError(file, f"{section}.{key}", f"cannot read value: {exc}") from None


def _int(cp, file, section, key, *, ge=None):
    raw = _get(cp, file, section, key)
    try:
        val = int(raw.strip())
    except ValueError:
        raise ConfigError(file, f"{section}.{key}", f"expected an integer, got {raw!r}") from None
    if ge is not None and val < ge:
        raise ConfigError(file, f"{section}.{key}", f"must be >= {ge}, got {val}")
    if not -(2 ** 63) <= val < 2 ** 63:
        raise ConfigError(file, f"{section}.{key}", f"must fit in a signed 64-bit integer, got {val}")
    return val


def _bool(cp, file, section, key):
    raw = _get(cp, file, section, key)
    try:
        return cp.getboolean(section, key)
    except ValueError:
        raise ConfigError(file, f"{section}.{key}", f"expected True or False, got {raw!r}") from None


def parse_config(path) -> ScaleSimConfig:
    """Parse a SCALE-Sim .cfg file; every problem is one ConfigError(file, 'section.Key', ...)."""
    p = Path(path)
    text = read_text(p)
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text, source=str(p))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise ConfigError(p, "<syntax>", f"not a valid .cfg file{where}: {exc.message if hasattr(exc, 'message') else exc}") from None

    run_name = _get(cp, p, "general", "run_name").strip()
    if not run_name:
        raise ConfigError(p, "general.run_name", "must not be empty (it names the run's report folder)")
    mode = _get(cp, p, "run_presets", "InterfaceBandwidth").strip()
    if mode not in ("USER", "CALC"):
        raise ConfigError(p, "run_presets.InterfaceBandwidth", f"got {mode!r}; allowed values: USER, CALC")
    if _get(cp, p, "run_presets", "UseRamulatorTrace").strip() == "True":
        raise ConfigError(p, "run_presets.UseRamulatorTrace",
                          "Ramulator DRAM traces are not modelled by archsim's compat mode; allowed: False")
    sec = "architecture_presets"
    rows = _int(cp, p, sec, "ArrayHeight", ge=1)
    cols = _int(cp, p, sec, "ArrayWidth", ge=1)
    ifmap_kb = _int(cp, p, sec, "IfmapSramSzkB", ge=1)
    filter_kb = _int(cp, p, sec, "FilterSramSzkB", ge=1)
    ofmap_kb = _int(cp, p, sec, "OfmapSramSzkB", ge=1)
    offs = [_int(cp, p, sec, k, ge=0) for k in ("IfmapOffset", "FilterOffset", "OfmapOffset")]
    dataflow = _get(cp, p, sec, "Dataflow").strip()
    if dataflow not in DATAFLOWS:
        raise ConfigError(p, f"{sec}.Dataflow", f"got {dataflow!r}; allowed values: {', '.join(DATAFLOWS)}")
    _int(cp, p, sec, "ReadRequestBuffer")       # read (and required) by SCALE-Sim, Ramulator only
    _int(cp, p, sec, "WriteRequestBuffer")
    lay = "layout"
    for key in ("IfmapCustomLayout", "FilterCustomLayout"):
        if _bool(cp, p, lay, key):
            raise ConfigError(p, f"{lay}.{key}", "custom SRAM layouts are not modelled by archsim's "
                              "compat mode; allowed: False")
    if_bw = _int(cp, p, lay, "IfmapSRAMBankBandwidth")
    if_banks = _int(cp, p, lay, "IfmapSRAMBankNum")
    _int(cp, p, lay, "IfmapSRAMBankPort")
    fl_bw = _int(cp, p, lay, "FilterSRAMBankBandwidth")
    fl_banks = _int(cp, p, lay, "FilterSRAMBankNum")
    _int(cp, p, lay, "FilterSRAMBankPort")
    bandwidths: tuple = ()
    if mode == "USER":
        raw = _get(cp, p, sec, "Bandwidth")
        try:
            bandwidths = tuple(int(x.strip()) for x in raw.strip().split(","))
            if any(abs(b) >= 2 ** 63 for b in bandwidths):
                raise ValueError("beyond int64")
        except ValueError:
            raise ConfigError(p, f"{sec}.Bandwidth", f"expected a comma list of integers, got {raw!r}") from None
        if not bandwidths or bandwidths[0] < 1:
            raise ConfigError(p, f"{sec}.Bandwidth", f"the first entry (OFMAP drain words/cycle) must be >= 1, got {raw!r}")
        for key, bw, banks in (("Ifmap", if_bw, if_banks), ("Filter", fl_bw, fl_banks)):
            if bw < 1:
                raise ConfigError(p, f"{lay}.{key}SRAMBankBandwidth",
                                  f"USER mode DRAM->SRAM words/cycle must be >= 1, got {bw}")
            if banks < 1 or bw % banks:
                raise ConfigError(p, f"{lay}.{key}SRAMBankNum",
                                  f"{key}SRAMBankBandwidth ({bw}) must be a multiple of the bank count ({banks})")
    if _get(cp, p, "sparsity", "SparsitySupport").strip().lower() == "true":
        raise ConfigError(p, "sparsity.SparsitySupport",
                          "sparsity is not modelled by archsim's compat mode; allowed: false")
    return ScaleSimConfig(run_name=run_name, rows=rows, cols=cols, ifmap_sram_kb=ifmap_kb,
                          filter_sram_kb=filter_kb, ofmap_sram_kb=ofmap_kb, ifmap_offset=offs[0],
                          filter_offset=offs[1], ofmap_offset=offs[2], dataflow=dataflow,
                          user_bandwidth=mode == "USER", bandwidths=bandwidths,
                          ifmap_dram_bw=if_bw, filter_dram_bw=fl_bw, ifmap_bank_num=if_banks,
                          filter_bank_num=fl_banks, source=str(p))
