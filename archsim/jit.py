"""numba's `@njit`, compiled (or loaded from numba's on-disk cache) on the first call.

`archsim.jit.njit(cache=True)` marks a kernel like `numba.njit` does, but numba itself is
imported only when a kernel first runs: commands that run none (`--help`, `validate`, `report`,
`trace`, ...) never pay numba's start-up. On the first call every kernel marked so far becomes
a numba dispatcher, and every module that holds a lazy kernel (by `from ... import`) is rebound
to it, so kernels calling kernels compile as with plain numba. `py_func` is the Python
function, as on a numba dispatcher.

Only numpy and numba are used: kernel modules may import it.
"""
from __future__ import annotations

import functools
import sys

_PENDING: list = []
_READY = False
_INTERPRET = 0            # > 0 inside `interpreted()`: lazy kernels run as Python


class interpreted:
    """Within this block a kernel not compiled yet runs as plain Python (same IEEE arithmetic,
    same numbers; tests/test_systolic_batch.py checks it): for small work, cheaper than
    numba's start-up (~0.5 s: import, target initialisation, cache loads). Once numba is
    loaded the compiled kernels run anyway."""

    def __enter__(self):
        global _INTERPRET
        _INTERPRET += 1
        return self

    def __exit__(self, *exc):
        global _INTERPRET
        _INTERPRET -= 1


def ready() -> bool:
    """Whether numba is loaded (kernels compiled or loaded from the cache)."""
    return _READY


class LazyKernel:
    __slots__ = ("py_func", "_kwargs", "_disp", "__dict__")

    def __init__(self, fn, kwargs):
        self.py_func = fn
        self._kwargs = kwargs
        self._disp = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        d = self._disp
        if d is None:
            if _INTERPRET:
                return self.py_func(*args, **kwargs)
            compile_all()
            d = self._disp
        return d(*args, **kwargs)

    def __getattr__(self, name):          # dispatcher attributes (signatures, stats, ...)
        if name.startswith("__"):
            raise AttributeError(name)
        if self._disp is None:
            compile_all()
        return getattr(self._disp, name)


def compile_all() -> None:
    """Turn every lazy kernel into a numba dispatcher and rebind the modules that hold them."""
    global _READY
    import numba
    pending = list(_PENDING)
    _PENDING.clear()
    for lk in pending:
        lk._disp = numba.njit(**lk._kwargs)(lk.py_func)
    _READY = True
    for mod in list(sys.modules.values()):
        d = getattr(mod, "__dict__", None)
        if not d or not str(getattr(mod, "__name__", "")).startswith("archsim"):
            continue
        for name, v in list(d.items()):
            if isinstance(v, LazyKernel) and v._disp is not None:
                d[name] = v._disp


def njit(*args, **kwargs):
    """`@njit` / `@njit(cache=True, ...)`, lazily."""
    def wrap(fn):
        if _READY:                       # numba is loaded already: no reason to wait
            import numba
            return numba.njit(**kwargs)(fn)
        lk = LazyKernel(fn, kwargs)
        _PENDING.append(lk)
        return lk
    if args and callable(args[0]) and not kwargs:
        return wrap(args[0])
    return wrap
