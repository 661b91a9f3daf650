"""Workloads: the op vocabulary, trace readers and generators."""
from archsim.workloads.load import Workload, load_workload

__all__ = ["Workload", "load_workload"]
