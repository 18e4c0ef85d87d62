"""The C allocator's thresholds, set once for the arrays that compiled functions make.

glibc's ``malloc`` maps every block above its mmap threshold (128 KiB at first, then
raised to the largest mapped block freed, up to 32 MiB) straight from the system, and gives
the top of its heap back above its trim threshold. An array of that size that a call
allocates and frees therefore comes back, at the next call, as fresh pages that the kernel
maps and zeroes one page fault at a time. W7's training step (20 layers of 128 x 256 float32
activations, 128 KiB each) took about 1,700 page faults a step that way: 4.8 ms a step,
against 3.15 ms and no page faults with both thresholds fixed (timed by hand, 200 native
steps; ``benchmarks/run.py``'s W7 steady state: 8.33 ms against 3.25 ms). NumPy's arrays and
native programs' arrays both come from ``malloc``, so both gain.

``config.malloc_threshold`` (bytes) sets the mmap threshold to that value and the trim
threshold to twice it, when the first function is compiled (and again when a function is
compiled after the flag changed to another positive value); 0 before that first compile
leaves the C library's own rules, which are not restored once changed. A fixed threshold
also turns off glibc's dynamic one. The cost: freed blocks below the threshold stay in the
process's heap for the next allocation instead of going back to the system. Elsewhere
than glibc (macOS, musl) nothing is changed.
"""

from __future__ import annotations

import ctypes
import platform
from functools import cache

from theanine.config import config

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>


def tune_malloc() -> bool:
    """Apply ``config.malloc_threshold`` to the C allocator (once per value).

    Returns
    -------
    bool
        Whether glibc's thresholds are now the configured ones (False where the flag is 0,
        or the C library is not glibc).
    """
    value = int(config.malloc_threshold)
    return value > 0 and platform.libc_ver()[0] == "glibc" and _mallopt(value)


@cache
def _mallopt(value: int) -> bool:
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # the thresholds are C ints
    return mallopt(_M_MMAP_THRESHOLD, min(value, 2**31 - 1)) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, min(2 * value, 2**31 - 1)) == 1
