"""Limits every model shares (archsim.plausibility explains the policy): the exact-count range,
the per-op work budgets and their knobs. Imports nothing from archsim but errors, so blocks and
the SCALE-Sim compatibility mode use it below the layers that price and schedule.

    ARCHSIM_MAX_OP_SECONDS      per-op simulation time budget, seconds   (default 300)
    ARCHSIM_MAX_OP_MEMORY_GIB   per-op memory budget, GiB                (default: half the RAM,
                                                                          at most 32)
"""
from __future__ import annotations

import math
import os
from typing import Mapping

import attrs

from archsim.errors import ConfigError, ModelError

SAFE_INT = 2 ** 62
INT64_MAX = 2 ** 63 - 1

ENV_SECONDS = "ARCHSIM_MAX_OP_SECONDS"
ENV_MEMORY = "ARCHSIM_MAX_OP_MEMORY_GIB"
DEFAULT_SECONDS = 300.0
MAX_DEFAULT_MEMORY_GIB = 32.0


class WorkBudgetError(ConfigError):
    """An op whose estimated simulation time or memory exceeds the budget (exit 2)."""


@attrs.frozen
class Work:
    """A block's estimate for one op: simulation seconds, peak bytes, and what drives them."""
    seconds: float = 0.0
    bytes: float = 0.0
    what: str = ""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        v = float(raw)
    except ValueError:
        raise ConfigError(name, "<environment>", f"expected a number > 0, got {raw!r}") from None
    if not v > 0 or math.isnan(v):
        raise ConfigError(name, "<environment>", f"expected a number > 0, got {raw!r}")
    return v


def _ram_bytes() -> float | None:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def max_op_seconds() -> float:
    return _env_float(ENV_SECONDS, DEFAULT_SECONDS)


def max_op_bytes() -> float:
    ram = _ram_bytes()
    default = MAX_DEFAULT_MEMORY_GIB if ram is None else min(MAX_DEFAULT_MEMORY_GIB, ram / 2 / 2 ** 30)
    return _env_float(ENV_MEMORY, default) * 2 ** 30


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 2 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} days"


def _fmt_b(b: float) -> str:
    return f"{b / 2 ** 30:.3g} GiB" if b >= 2 ** 28 else f"{b / 2 ** 20:.3g} MiB"


def check_budget(work: Work, *, op_label: str, component: str) -> None:
    """Refuse (WorkBudgetError, exit 2) an op whose estimate exceeds a budget."""
    limit_s = max_op_seconds()
    limit_b = max_op_bytes()
    if not math.isfinite(work.seconds) or work.seconds > limit_s:
        raise WorkBudgetError(
            op_label, component,
            f"refused before running: estimated {_fmt_s(work.seconds)} to simulate"
            + (f" ({work.what})" if work.what else "")
            + f", over the per-op budget of {_fmt_s(limit_s)}; shrink the op or raise "
              f"{ENV_SECONDS} (e.g. {ENV_SECONDS}={max(limit_s * 10, work.seconds * 1.5):.3g})")
    if not math.isfinite(work.bytes) or work.bytes > limit_b:
        raise WorkBudgetError(
            op_label, component,
            f"refused before running: needs about {_fmt_b(work.bytes)} of memory"
            + (f" ({work.what})" if work.what else "")
            + f", over the per-op budget of {_fmt_b(limit_b)}; shrink the op or raise "
              f"{ENV_MEMORY} (GiB)")


def check_counts(counts: Mapping[str, int], *, op_label: str, hint: str = "") -> None:
    """Refuse (ModelError) an op one of whose exact counts (Python ints) reaches SAFE_INT."""
    for name, v in counts.items():
        if v < 0 or v >= SAFE_INT:
            raise ModelError(f"{op_label}: {name} = {v:.3e} is outside the exact integer range "
                             f"of the model's counters (0 .. 2**62)"
                             + (f"; {hint}" if hint else ""))
