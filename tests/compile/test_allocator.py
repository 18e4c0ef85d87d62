"""``config.malloc_threshold``: arrays that calls allocate reuse warm memory (glibc only).

Each case runs in a fresh interpreter: the thresholds are the process's, and this test
process has set them already (at its first compiled function)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="the thresholds are glibc's (mallopt)")

# 50 rounds of twenty 128 KiB arrays, allocated, written and freed, as the layers of a
# training step: the page faults per round, after `function` has compiled a graph
_PROGRAM = """
import resource, sys
import numpy as np
import theanine, theanine.tensor as T
theanine.config.malloc_threshold = int(sys.argv[1])
x = T.vector('x')
f = theanine.function([x], 2 * x)
def rounds(n):
    for _ in range(n):
        arrays = [np.ones(128 * 256, np.float32) for _ in range(20)]
        del arrays
rounds(3)
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(50)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / 50)
"""


def _faults_per_round(threshold: int) -> float:
    out = subprocess.run([sys.executable, "-c", _PROGRAM, str(threshold)], check=True,
                         capture_output=True, text=True, timeout=120)
    return float(out.stdout.split()[-1])


def test_compiling_a_function_keeps_freed_arrays_for_reuse():
    # with glibc's own rules each round maps (and faults in) its 2.5 MiB again: 464 page
    # faults a round on the project's machine
    untuned = _faults_per_round(0)
    if untuned < 100:  # (e.g. a heap in transparent huge pages: nothing to compare)
        pytest.skip(f"glibc's own rules fault in only {untuned} pages a round here")
    assert _faults_per_round(1 << 25) < 5


def test_the_flag_at_zero_changes_nothing_and_is_reported():
    from theanine import config
    from theanine.compile.allocator import tune_malloc

    with config.change_flags(malloc_threshold=0):
        assert tune_malloc() is False
    assert tune_malloc() is True
