"""The interconnect block: the link model of collectives between the devices of a multi-device
system (spec.py, model.py, structure.py; the op kinds are archsim/workloads/collective_ops.py)."""
from archsim.blocks.interconnect.model import collective_time, evaluate, supports
from archsim.blocks.interconnect.spec import KIND, Spec
from archsim.blocks.interconnect.structure import structure

__all__ = ["KIND", "Spec", "collective_time", "evaluate", "structure", "supports"]
