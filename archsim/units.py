"""Conversion constants. Naming convention: a quantity's unit is the suffix of its name
(`clock_ghz`, `sram_kib`, `energy_pj`, `area_mm2`, `bandwidth_gb_s` = 1e9 bytes/s)."""

PJ_PER_J = 1e12
J_PER_PJ = 1e-12
NS_PER_S = 1e9
HZ_PER_GHZ = 1e9
BYTES_PER_KIB = 1024
BYTES_PER_MIB = 1024 * 1024
BYTES_PER_GB = 1e9          # decimal: bandwidths in GB/s are 1e9 bytes/s
UM2_PER_MM2 = 1e6
MW_PER_W = 1e3

DTYPE_BYTES = {"int8": 1, "fp8": 1, "fp16": 2, "bf16": 2, "tf32": 4, "fp32": 4}
DTYPES = tuple(DTYPE_BYTES)
