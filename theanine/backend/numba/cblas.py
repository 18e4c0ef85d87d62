"""NumPy's own CBLAS, located for native programs (this module does not import Numba).

NumPy's and SciPy's wheels bundle separate OpenBLAS builds, each with its own thread
pool; Numba's ``np.dot`` calls SciPy's. When a program's products run in one pool and the
NumPy VM's (or NumPy's own) in the other, each pool's threads spin while the other works:
on 2 cores two alternating 128x256x256 products took 35x longer than through one pool.
Native programs therefore call the routines NumPy itself uses, found here by name in the
libraries NumPy's extension module links (``scipy_cblas_<name>64_``: the ILP64 build of
NumPy >= 2's wheels). Where they are absent (another BLAS), programs use ``np.dot``.
"""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np

ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv", "sdot", "ddot")
THREAD_ROUTINES = ("set_num_threads", "get_num_threads")  # OpenBLAS's thread count
# names under which native programs link the routines (registered with LLVM at import)
SYMBOL_PREFIX = "theanine_cblas_"

# OpenBLAS's thread count per product (the rule of blas_kernels.py, also applied by the
# NumPy VM): matrix-vector and vector products, and matrix products of fewer than
# THREADED_GEMM multiply-adds or with an inner dimension under 32, run on one thread
THREADED_GEMM = 1 << 21
# sizes up to which OpenBLAS itself runs one thread (interface/{gemm,gemv,dot}.c): tiny
# products leave the count alone (setting it twice costs about 0.5 us a call)
OPENBLAS_SERIAL_GEMM, OPENBLAS_SERIAL_GEMV, OPENBLAS_SERIAL_DOT = 262144, 9216, 10000


def wants_one_thread(m: int, n: int, k: int) -> bool:
    """Whether an ``m x k`` by ``k x n`` product (``n == 1``: a matrix-vector product,
    ``m == n == 1``: a dot) should run on one BLAS thread where OpenBLAS would use more."""
    if n == 1:
        return k > OPENBLAS_SERIAL_DOT if m == 1 else m * k >= OPENBLAS_SERIAL_GEMV
    mnk = m * n * k
    return mnk > OPENBLAS_SERIAL_GEMM and (mnk < THREADED_GEMM or k < 32)


@cache
def _library() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(np._core._multiarray_umath.__file__)
    except (AttributeError, OSError):
        return None


@cache
def numpy_cblas() -> dict[str, int] | None:
    """Addresses of NumPy's ILP64 CBLAS routines by short name (``'sgemm'``...) and of
    its OpenBLAS's thread-count functions (``'set_num_threads'``...), or None when
    NumPy's BLAS is not such a build."""
    lib = _library()
    try:
        found = {r: ctypes.cast(getattr(lib, f"scipy_cblas_{r}64_"), ctypes.c_void_p).value
                 for r in ROUTINES}
        found.update({r: ctypes.cast(getattr(lib, f"scipy_openblas_{r}64_"),
                                     ctypes.c_void_p).value for r in THREAD_ROUTINES})
        return found
    except AttributeError:
        return None


def set_blas_threads(n: int) -> None:
    """Set the thread count of NumPy's OpenBLAS (where :func:`numpy_cblas` finds it)."""
    if numpy_cblas() is not None:
        _library().scipy_openblas_set_num_threads64_(ctypes.c_int(int(n)))


def blas_threads() -> int | None:
    """The thread count of NumPy's OpenBLAS, or None where :func:`numpy_cblas` finds none."""
    return _library().scipy_openblas_get_num_threads64_() if numpy_cblas() is not None \
        else None
