"""Analytic SRAM model (CACTI-style): energy per access, leakage and area of one SRAM as
functions of capacity, port width, banks, ports, node and supply.

The model is a fit to CACTI 7 runs whose points live in the technology table ([sram]; raw
runs in arch_configs/tech/cacti7_sram_runs.csv, generator benchmarks/cacti_sram_points.py):

  base(C)   = log-log interpolation through the 45 nm fit points (64-bit port, 1 bank,
              1 read-write port); beyond the first/last point the end segment's slope is
              continued (and a ScalingWarning says so);
  read(C,w,B,P)  = base_read(C)  (w/64)^a_r B^b_r (1 + s_r (P-1))
  write(C,w,B,P) = base_write(C) (w/64)^a_w B^b_w (1 + s_w (P-1))
  leak(C,B,P)    = base_leak(C)  B^b_l (1 + s_l (P-1))
  area(C,w,B,P)  = base_area(C)  (w/64)^a_a B^b_a (1 + s_a (P-1))
  then x the SRAM node factors (scaling.sram_factors).
A port wider than the widest fitted width (1024 bits) is k = w/1024 side-by-side sub-arrays
of C/k bytes and 1024 bits each: k x their energy per access, leakage and area.

Monotone in capacity by construction (the fit points strictly increase, the table loader
checks it, and the end slopes are positive), so a bigger SRAM is never cheaper per access.
"""
from __future__ import annotations

import math

import attrs

from archsim.energy.scaling import _warn, sram_factors
from archsim.errors import ConfigError


@attrs.frozen(kw_only=True)
class SramCost:
    """One SRAM (one copy) at a node: energy per access of `width_bits`, leakage, area."""
    read_pj: float
    write_pj: float
    leakage_w: float
    area_mm2: float
    width_bits: int


def loglog_interp(x: float, xs, ys) -> float:
    """Piecewise-linear interpolation in log(x)-log(y); end segments extended."""
    lx = math.log(x)
    lxs = [math.log(v) for v in xs]
    if lx <= lxs[0]:
        i = 0
    elif lx >= lxs[-1]:
        i = len(xs) - 2
    else:
        i = next(k for k in range(len(xs) - 1) if lxs[k] <= lx <= lxs[k + 1])
    slope = (math.log(ys[i + 1]) - math.log(ys[i])) / (lxs[i + 1] - lxs[i])
    return math.exp(math.log(ys[i]) + slope * (lx - lxs[i]))


def _check(name, value, *, minimum):
    if not (isinstance(value, (int, float)) and value >= minimum):
        raise ConfigError("<structure>", f"sram.{name}", f"must be >= {minimum}; got {value!r}")


def sram_cost(*, capacity_bytes: float, width_bits: int, banks: int = 1, ports: int = 1,
              node_nm: float, vdd_v: float, table, record: list | None = None) -> SramCost:
    """Read/write energy per `width_bits` access (pJ), leakage (W) and area (mm^2) of one SRAM."""
    _check("capacity_bytes", capacity_bytes, minimum=1e-9)
    _check("width_bits", width_bits, minimum=1)
    _check("banks", banks, minimum=1)
    _check("ports", ports, minimum=1)
    q = table.sram
    caps = q.fit_capacity_bytes
    if capacity_bytes < caps[0] or capacity_bytes > caps[-1]:
        _warn(f"SRAM of {capacity_bytes:g} bytes is outside the CACTI fit points "
              f"({caps[0]:g}-{caps[-1]:g} bytes): extrapolated along the end segment", record)
    if width_bits > q.fit_width_max_bits:
        # A port wider than the widest fitted one is built from k side-by-side sub-arrays of
        # capacity C/k and width w/k accessed together (how wide SRAM ports are made; CACTI's
        # own single-array answers for 2048/4096-bit ports degenerate, cacti7_sram_runs.csv).
        k = width_bits / q.fit_width_max_bits
        sub = sram_cost(capacity_bytes=capacity_bytes / k, width_bits=q.fit_width_max_bits,
                        banks=banks, ports=ports, node_nm=node_nm, vdd_v=vdd_v, table=table,
                        record=record)
        return SramCost(read_pj=k * sub.read_pj, write_pj=k * sub.write_pj,
                        leakage_w=k * sub.leakage_w, area_mm2=k * sub.area_mm2,
                        width_bits=int(width_bits))
    if width_bits < q.fit_width_min_bits:
        _warn(f"SRAM port of {width_bits:g} bits is narrower than the CACTI width runs "
              f"(>= {q.fit_width_min_bits:g} bits): width law extrapolated", record)
    if banks > q.fit_banks_max_count:
        _warn(f"SRAM with {banks:g} banks is beyond the CACTI bank runs (<= {q.fit_banks_max_count:g}): "
              "bank law extrapolated", record)
    if ports > q.fit_ports_max_count:
        _warn(f"SRAM with {ports:g} ports is beyond the CACTI port runs (<= {q.fit_ports_max_count:g}): "
              "port law extrapolated", record)
    wr = width_bits / 64.0
    read = loglog_interp(capacity_bytes, caps, q.fit_read_pj) * wr ** q.width_exp_read \
        * banks ** q.bank_exp_read * (1 + q.port_slope_read * (ports - 1))
    write = loglog_interp(capacity_bytes, caps, q.fit_write_pj) * wr ** q.width_exp_write \
        * banks ** q.bank_exp_write * (1 + q.port_slope_write * (ports - 1))
    leak_mw = loglog_interp(capacity_bytes, caps, q.fit_leakage_mw) \
        * banks ** q.bank_exp_leak * (1 + q.port_slope_leak * (ports - 1))
    area = loglog_interp(capacity_bytes, caps, q.fit_area_mm2) * wr ** q.width_exp_area \
        * banks ** q.bank_exp_area * (1 + q.port_slope_area * (ports - 1))
    f = sram_factors(node_nm=node_nm, vdd_v=vdd_v, table=table, record=record)
    return SramCost(read_pj=read * f["energy"], write_pj=write * f["energy"],
                    leakage_w=leak_mw * 1e-3 * f["leakage"], area_mm2=area * f["area"],
                    width_bits=int(width_bits))


SRAM_SOURCE_KEYS = ("sram.fit_capacity_bytes", "sram.fit_read_pj", "sram.fit_write_pj",
                    "sram.fit_leakage_mw", "sram.fit_area_mm2")
