"""The host link block: PCIe to an offload target (NVMe SSD or CPU memory). Spec (spec.py),
transfer model and the component protocol (model.py), what it is priced from (structure.py),
the `kv_transfer` op (ops.py)."""
from archsim.blocks.host_link.model import evaluate, supports
from archsim.blocks.host_link.spec import KIND, Spec
from archsim.blocks.host_link.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports"]
