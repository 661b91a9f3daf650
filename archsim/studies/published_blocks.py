"""The area and power model against published silicon: a calibration set of published blocks,
each built as an archsim Structure from what its paper says it contains, priced by the energy
layer with the default tech table at the chip's node, and compared with the published figure.

No knob is tuned to these figures: they are checks, and the ratios (archsim / published) are the
model's error. Each reference carries its source and tech.md's confidence mark; `independent` is
False where the tech table was itself derived from the same number (SRAM bit cells below 22 nm),
so agreement there proves nothing. Tolerances are stated per check (a factor of 2 on whole chips,
whose dies hold control, I/O and interconnect the structure does not list).

Wanted but not in the set (no figure in the shared references to check against): NVDLA (the
configurable nv_small / nv_full: published RTL, no published area or power per configuration in
our notes) and Gemmini (DAC'21 reports area breakdowns we cannot verify here). Add them with
their sources when the numbers are at hand.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import attrs
from archsim.resources import shipped_root

REPO = shipped_root()          # holds arch_configs/ and workloads/ (the checkout, or the wheel's copy)


@attrs.frozen(kw_only=True)
class Check:
    block: str
    quantity: str
    unit: str
    reference: float
    archsim: float
    tolerance: tuple[float, float]          # allowed archsim / reference
    source: str
    confidence: str                         # published | unverified | derived | low
    independent: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.archsim / self.reference

    @property
    def within(self) -> bool:
        lo, hi = self.tolerance
        return lo <= self.ratio <= hi

    def to_dict(self) -> dict:
        d = attrs.asdict(self)
        d.update(ratio=self.ratio, within=self.within, tolerance=list(self.tolerance))
        return d


CHIP_TOL = (0.5, 2.0)


def _tech(node_nm, vdd_v=None):
    from archsim.energy.model import resolve_tech
    from archsim.config.arch import TechSpec
    return resolve_tech(TechSpec(node_nm=node_nm, vdd_v=vdd_v))


# ----------------------------------------------------------------------------- TPU v1

TPU_V1_ARCH = {
    "name": "tpu-v1-structure",
    "tech": {"node_nm": 28},                       # ISCA'17: 28 nm
    "components": {"mxu": {
        "kind": "systolic_array",
        "rows": 256, "cols": 256,                  # ISCA'17: 256x256 8-bit MACs
        "dataflow": "ws",                          # weight stationary (ISCA'17)
        "ifmap_sram_kib": 24 * 1024,               # Unified Buffer 24 MiB
        "filter_sram_kib": 256,                    # weight FIFO: 4 x 64 KiB tiles
        "ofmap_sram_kib": 4 * 1024,                # accumulators 4 MiB
        "word_bytes": 1, "dtype": "int8",
        "clock_ghz": 0.7,                          # 700 MHz
        "dram_bandwidth_words_per_cycle": 34.0 / 0.7,   # DDR3 34 GB/s
        "dram_channels": "shared",
        "dram_technology": "ddr4",                 # closest entry of the table to DDR3
        "sram_banks": 16,                          # archsim choice (not published)
    }},
}
TPU_V1_SRC = ("Jouppi et al., 'In-Datacenter Performance Analysis of a Tensor Processing Unit', ISCA 2017: "
              "28 nm, 700 MHz, die < 331 mm^2; floor plan shares (Fig. 2) and per-die measured idle 28 W / "
              "busy 40 W (Table 2) as recalled")


def tpu_v1_checks() -> list[Check]:
    """TPU v1: the matrix unit, Unified Buffer, accumulators, weight FIFO and DDR3 PHY share (the
    systolic block's structure), plus what the paper lists beside them: the activation pipeline
    (256 lanes of requantise / activation / pool: an int32 multiplier, adder and comparator each)
    and the PCIe Gen3 x16 host interface (PHY area per lane from the tech table)."""
    from archsim.blocks.base import LinkInterface, Structure
    from archsim.config.arch import load_arch
    from archsim.simulate import simulate
    from archsim.workloads.load import load_workload
    from archsim.energy.model import area_breakdown, resolve_tech
    arch = load_arch(TPU_V1_ARCH)
    tech = resolve_tech(arch.tech)
    mxu = arch.component_module("mxu").structure(arch.components["mxu"])
    act = Structure(name="activation_pipeline", kind="act", clock_ghz=0.7,
                    units={"mul.int32": 256, "add.int32": 256, "cmp.int8": 256})
    host = Structure(name="host_if", kind="pcie", clock_ghz=0.7,
                     links=(LinkInterface(name="pcie", technology="pcie3", lanes=16),))
    chip = Structure(name="tpu_v1", kind="chip", clock_ghz=0.7, children=(mxu, act, host))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a_chip = area_breakdown(chip, tech)
        a_mxu = area_breakdown(mxu, tech)
        rep = simulate(arch, load_workload(REPO / "workloads/cnn/resnet50.csv"))
    over = tech.overhead_factor
    t = rep.totals()
    die = 331.0
    return [
        Check(block="tpu_v1", quantity="die_area_mm2", unit="mm2", reference=die, archsim=a_chip["total"],
              tolerance=CHIP_TOL, source=TPU_V1_SRC, confidence="published",
              note="die < 331 mm^2; archsim: MXU, UB, accumulators, weight FIFO, activation pipeline, DDR3 and "
                   "PCIe PHYs (no control, I/O ring, misc)"),
        Check(block="tpu_v1", quantity="matrix_unit_area_mm2", unit="mm2", reference=0.24 * die,
              archsim=a_mxu["mac.int8"] * over, tolerance=CHIP_TOL, source=TPU_V1_SRC + " (MMU 24 % of the die)",
              confidence="unverified", note="65,536 int8 MACs; archsim: MAC cells x the overhead factor"),
        Check(block="tpu_v1", quantity="unified_buffer_area_mm2", unit="mm2", reference=0.29 * die,
              archsim=a_mxu["sram.ifmap"] * over, tolerance=CHIP_TOL,
              source=TPU_V1_SRC + " (Unified Buffer 29 % of the die)", confidence="unverified",
              note="24 MiB, 2048-bit port, 16 banks (banks and ports not published)"),
        Check(block="tpu_v1", quantity="accumulators_area_mm2", unit="mm2", reference=0.06 * die,
              archsim=a_mxu["sram.ofmap"] * over, tolerance=CHIP_TOL,
              source=TPU_V1_SRC + " (accumulators 6 % of the die)", confidence="unverified", note="4 MiB"),
        Check(block="tpu_v1", quantity="dynamic_power_w", unit="W", reference=40.0 - 28.0,
              archsim=t["dynamic_energy_j"] / t["latency_s"], tolerance=CHIP_TOL,
              source=TPU_V1_SRC + " (busy - idle)", confidence="low",
              note="archsim: average dynamic power on ResNet-50 (the paper measured its six production apps)"),
    ]


# ----------------------------------------------------------------------------- Eyeriss

EYERISS_SRC = ("Chen, Krishna, Emer, Sze, 'Eyeriss: An Energy-Efficient Reconfigurable Accelerator for Deep "
               "Convolutional Neural Networks', IEEE JSSC 52(1) 2017: TSMC 65 nm, core 3.5 x 3.5 mm, 168 PEs, "
               "108 KB global buffer, 16-bit fixed point, 200 MHz at 1 V, 278 mW on AlexNet CONV layers at "
               "34.7 fps")


def eyeriss_structure():
    from archsim.blocks.base import SramInstance, Structure
    pe = Structure(name="pe", kind="eyeriss_pe", clock_ghz=0.2, count=168,
                   # 16-bit MAC; ifmap spad 12 x 16 b and psum spad 24 x 16 b are register files
                   units={"mac.int16": 1, "reg_bits": 12 * 16 + 24 * 16},
                   srams=(SramInstance(name="filter_spad", capacity_bytes=224 * 2, width_bits=16),))
    glb = Structure(name="glb", kind="eyeriss_glb", clock_ghz=0.2,
                    srams=(SramInstance(name="glb", capacity_bytes=108 * 1024, width_bits=64, banks=16),))
    return Structure(name="eyeriss", kind="chip", clock_ghz=0.2, children=(pe, glb))


def eyeriss_checks() -> list[Check]:
    from archsim.energy.activity import full_activity_power_w
    from archsim.energy.model import area_breakdown
    tech = _tech(65, 1.0)
    s = eyeriss_structure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = area_breakdown(s, tech)["total"]
        fa = full_activity_power_w(s, tech)
    # AlexNet CONV: 665.8 M MACs (with its two groups; derived) x 34.7 fps over 168 PEs x 200 MHz
    util = 665.8e6 * 34.7 / (168 * 0.2e9)
    power = fa["leakage"] + util * (fa["on_chip_dynamic"] + fa["operand_register_bound"])
    return [
        Check(block="eyeriss", quantity="core_area_mm2", unit="mm2", reference=12.25, archsim=area,
              tolerance=CHIP_TOL, source=EYERISS_SRC, confidence="published",
              note="archsim: 168 PEs (16-bit MAC, register spads, 448 B filter SRAM) + 108 KiB GLB x overhead; no "
                   "NoC, RLC codec, control"),
        Check(block="eyeriss", quantity="power_w", unit="W", reference=0.278, archsim=power,
              tolerance=CHIP_TOL, source=EYERISS_SRC, confidence="low",
              note=f"archsim: leakage + {util:.2f} (the measured MAC rate over peak, derived) x (full-activity "
                   "on-die dynamic power + the spads' operand traffic at register-file prices; every GLB bank port "
                   "each cycle: an upper bound)"),
    ]


# ----------------------------------------------------------------------------- DianNao

DIANNAO_SRC = ("Chen et al., 'DianNao: A Small-Footprint High-Throughput Accelerator for Ubiquitous "
               "Machine-Learning', ASPLOS 2014: 65 nm, 0.98 GHz, 3.02 mm^2, 485 mW; NFU of 16 x 16 16-bit "
               "multipliers, 16 adder trees, NBin 2 KB, NBout 2 KB, SB 32 KB (as recalled)")


def diannao_checks() -> list[Check]:
    from archsim.blocks.base import SramInstance, Structure
    from archsim.energy.activity import full_activity_power_w
    from archsim.energy.model import area_breakdown
    tech = _tech(65)
    s = Structure(name="diannao", kind="chip", clock_ghz=0.98,
                  units={"mul.int16": 256, "add.int32": 16 * 15 + 16,       # NFU-1, NFU-2 trees + accumulators
                         "mul.int32": 16, "add.int16": 16,                  # NFU-3 piecewise-linear activation
                         "reg_bits": 3 * 256 * 16},                          # NFU pipeline registers
                  srams=(SramInstance(name="nbin", capacity_bytes=2048, width_bits=16 * 16),
                         SramInstance(name="nbout", capacity_bytes=2048, width_bits=16 * 16),
                         SramInstance(name="sb", capacity_bytes=32768, width_bits=256 * 16)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = area_breakdown(s, tech)["total"]
        fa = full_activity_power_w(s, tech)
    return [
        Check(block="diannao", quantity="area_mm2", unit="mm2", reference=3.02, archsim=area, tolerance=CHIP_TOL,
              source=DIANNAO_SRC, confidence="unverified", note="archsim: NFU + the three buffers x overhead"),
        Check(block="diannao", quantity="power_w", unit="W", reference=0.485, archsim=fa["total"],
              tolerance=CHIP_TOL, source=DIANNAO_SRC, confidence="unverified",
              note="archsim: full activity (the NFU is busy every cycle at its quoted 452 GOP/s)"),
    ]


# ----------------------------------------------------------------------------- SRAM

#: Published 6T high-density bit-cell areas (um^2), widely reproduced (ISSCC/IEDM announcements).
BITCELLS = {65: (0.525, "TSMC 65 nm 6T cell 0.525 um^2"), 45: (0.346, "Intel 45 nm 6T cell 0.346 um^2"),
            28: (0.127, "TSMC 28 nm HD cell 0.127 um^2"), 16: (0.070, "TSMC 16FF HD cell 0.070 um^2"),
            7: (0.027, "TSMC N7 HD cell 0.027 um^2"), 5: (0.021, "TSMC N5 HD cell 0.021 um^2")}
#: Horowitz ISSCC'14, 45 nm, 64-bit reads (tech.md section 1).
HOROWITZ_SRAM = ((8 * 1024, 10.0, "published"), (32 * 1024, 20.0, "unverified"), (1 << 20, 100.0, "unverified"))


def sram_checks() -> list[Check]:
    from archsim.energy.sram import sram_cost
    out = []
    for node, (cell, src) in BITCELLS.items():
        t = _tech(node)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = sram_cost(capacity_bytes=1 << 20, width_bits=64, node_nm=node, vdd_v=t.vdd_v, table=t.table)
        per_bit = c.area_mm2 * 1e6 / (8 << 20)
        out.append(Check(block="sram", quantity=f"area_per_bit_um2_{node}nm", unit="um2", reference=cell,
                         archsim=per_bit, tolerance=(1.25, 2.0),
                         source=f"{src} (ISSCC / IEDM announcements, widely reproduced)", confidence="unverified",
                         independent=node > 22,
                         note="1 MiB macro, 64-bit port: the macro's area per bit over the bare cell = 1 / array "
                              "efficiency, expected 1.25-2 (50-80 % efficiency, an assumption)"
                              + ("" if node > 22 else "; not independent: the table's SRAM node rule below "
                                 "22 nm is built from this cell")))
    t = _tech(45)
    for cap, pj, conf in HOROWITZ_SRAM:
        c = sram_cost(capacity_bytes=cap, width_bits=64, node_nm=45, vdd_v=t.vdd_v, table=t.table)
        out.append(Check(block="sram", quantity=f"read_pj_64bit_{cap // 1024}kib_45nm", unit="pJ", reference=pj,
                         archsim=c.read_pj, tolerance=(1 / 3, 3.0),
                         source="Horowitz ISSCC 2014 keynote (tech.md section 1)", confidence=conf,
                         note="archsim: the CACTI 7 fit (itrs-lop); Horowitz's figures include more periphery"))
    return out


def checks() -> list[Check]:
    """Every check of the calibration set."""
    return tpu_v1_checks() + eyeriss_checks() + diannao_checks() + sram_checks()
