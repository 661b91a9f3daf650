"""archsim: a cycle-approximate accelerator architecture simulator.

The public names are imported on first use (PEP 562), so `import archsim` -- and the CLI's
start-up, `archsim --help` -- loads neither numpy nor numba."""
import sys
import types

from archsim.errors import ConfigError, ModelError
from archsim.version import __version__

_LAZY = {
    "ArchSpec": "archsim.config.arch", "load_arch": "archsim.config.arch",
    "Report": "archsim.report.report", "simulate": "archsim.simulate",
    "Workload": "archsim.workloads.load", "load_workload": "archsim.workloads.load",
}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'archsim' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """`archsim.simulate` is the function, as when it was imported eagerly: importing the
    submodule archsim.simulate (which binds it on the package) binds its function instead."""

    def __setattr__(self, name, value):
        if name == "simulate" and isinstance(value, types.ModuleType):
            value = value.simulate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def sweep(sweep_spec, executor: str = "local", **kwargs):
    """Run a design sweep (see archsim.sweep)."""
    from archsim.sweep import run_sweep
    return run_sweep(sweep_spec, executor=executor, **kwargs)


__all__ = ["ArchSpec", "ConfigError", "ModelError", "Report", "Workload", "__version__",
           "load_arch", "load_workload", "simulate", "sweep"]
