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
# names under which native programs link the routines (registered with LLVM at import)
SYMBOL_PREFIX = "theanine_cblas_"


@cache
def numpy_cblas() -> dict[str, int] | None:
    """Addresses of NumPy's ILP64 CBLAS routines by short name (``'sgemm'``...), or None
    when NumPy's BLAS is not such a build."""
    try:
        lib = ctypes.CDLL(np._core._multiarray_umath.__file__)
        return {r: ctypes.cast(getattr(lib, f"scipy_cblas_{r}64_"), ctypes.c_void_p).value
                for r in ROUTINES}
    except (AttributeError, OSError):
        return None
