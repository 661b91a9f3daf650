"""archsim: a cycle-approximate accelerator architecture simulator."""
from archsim.config.arch import ArchSpec, load_arch
from archsim.errors import ConfigError, ModelError
from archsim.report.report import Report
from archsim.simulate import simulate
from archsim.version import __version__
from archsim.workloads.load import Workload, load_workload


def sweep(sweep_spec, executor: str = "local", **kwargs):
    """Run a design sweep (see archsim.sweep)."""
    from archsim.sweep import run_sweep
    return run_sweep(sweep_spec, executor=executor, **kwargs)


__all__ = ["ArchSpec", "ConfigError", "ModelError", "Report", "Workload", "__version__",
           "load_arch", "load_workload", "simulate", "sweep"]
