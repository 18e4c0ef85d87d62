"""NumPy kernels that native programs call for large element-wise work.

Numba compiles transcendental functions to scalar libm calls, while NumPy's ufuncs are
vectorised (SIMD): on large arrays a fused element-wise node is faster evaluated by its
NumPy kernel, block by block in cache. A native program calls these through
``numba.objmode``; they are registered here, by a key written into the program's
source, whenever the program is generated (so cached programs find them again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTRY: dict[str, Callable[..., Any]] = {}


def call(key: str, *args: Any) -> Any:
    """Run the registered NumPy kernel ``key``."""
    return REGISTRY[key](*args)


def parallel_sum(kernel: Callable[..., float], size: int, align: int, elements: int,
                 *args: Any) -> float:
    """The sum of ``kernel(*args, lo, hi)`` over shares of ``range(size)``, one per core in
    threads (``fusion.parallel_blocks``): ``kernel`` is a native ``nogil`` function. The
    shares' totals are added in their order, whichever thread finishes first."""
    from theanine.rewrite.rules.fusion import parallel_blocks

    parts: dict[int, float] = {}

    def run(lo: int, hi: int) -> None:
        parts[lo] = kernel(*args, lo, hi)
    parallel_blocks(run, size, True, align, elements)
    return float(sum(parts[lo] for lo in sorted(parts)))
