"""Structure-based estimates of published accelerators vs their reported figures: the
calibration set of archsim/studies/published_blocks.py (TPU v1, Eyeriss, DianNao, SRAM bit
cells, Horowitz SRAM reads), one line per check with its ratio, tolerance and confidence.

    python benchmarks/energy_published_blocks.py

No knob is tuned to these figures; docs/energy.md says what the errors mean.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from archsim.studies import published_blocks as P
    print(f"{'block':8s} {'quantity':34s} {'published':>10s} {'archsim':>10s} {'ratio':>7s}  tolerance  conf.")
    for c in P.checks():
        flag = "" if c.within else "  OUT"
        print(f"{c.block:8s} {c.quantity:34s} {c.reference:10.4g} {c.archsim:10.4g} {c.ratio:7.3f}  "
              f"{c.tolerance[0]:.2f}-{c.tolerance[1]:.2f}  {c.confidence}{'' if c.independent else ' (not independent)'}"
              f"{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
