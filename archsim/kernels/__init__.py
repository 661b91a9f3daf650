"""@njit(cache=True) kernels. Imports only numpy and numba; never sees a config object."""
