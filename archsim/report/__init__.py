"""The Report record and its writers. Reads results; never runs models."""
from archsim.report.report import Report

__all__ = ["Report"]
