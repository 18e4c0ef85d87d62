"""A monotonic clock for native programs, for per-node profiles (``profile=True``).

Imported by profiled programs only. The C library's ``clock_gettime`` is registered with
LLVM under a name of ours (like the BLAS routines of ``blas_kernels.py``), so cached
programs link it by name rather than by an address of this process.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np
from llvmlite import binding as _llvm
from numba import njit, types

_SYMBOL = "theanine_clock_gettime"
_llvm.add_symbol(_SYMBOL, ctypes.cast(ctypes.CDLL(None).clock_gettime, ctypes.c_void_p).value)
_clock_gettime = types.ExternalFunction(
    _SYMBOL, types.int32(types.int32, types.CPointer(types.int64)))
_MONOTONIC = time.CLOCK_MONOTONIC


@njit(cache=True)
def now_ns(buf):
    """Nanoseconds of the monotonic clock; ``buf`` is int64[2] scratch (a ``timespec``)."""
    _clock_gettime(np.int32(_MONOTONIC), buf.ctypes)
    return buf[0] * 1_000_000_000 + buf[1]
