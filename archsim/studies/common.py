"""Shared shape of a reproduction's output (DESIGN.md §3)."""
from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class StudyResult:
    rows: list = attrs.field(factory=list)     # {"study","quantity","unit","value","paper_value","params"}
    plots: list = attrs.field(factory=list)    # paths written
    notes: list = attrs.field(factory=list)    # calibrated parameters and what they were fitted to


def row(study: str, quantity: str, unit: str, value, paper_value=None, **params) -> dict:
    return {"study": study, "quantity": quantity, "unit": unit,
            "value": None if value is None else float(value),
            "paper_value": None if paper_value is None else float(paper_value),
            "params": params}
