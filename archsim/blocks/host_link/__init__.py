"""The host link block: PCIe + offload target transfer model (model.py), its op kind
(ops.py: kv_transfer) and the component protocol (component.py)."""
from archsim.blocks.host_link.component import KIND, Spec, evaluate, roofline_peaks, structure, supports

__all__ = ["KIND", "Spec", "evaluate", "roofline_peaks", "structure", "supports"]
