"""The LLVM optimisation level of theanine's native programs (``config.numba_opt``).

Numba optimises every function at ``NUMBA_OPT`` (default 3) after a cheap pass at 0.
theanine compiles its programs at level 1 unless told otherwise: LLVM's loop vectoriser
still runs there, and on this project's benchmarks the native steps were as fast as at
level 3 (2026-12-04: W3 4.71 against 4.59 us, W5 2.07 against 2.19 ms, W6 5.96 against
6.16 ms, W7 3.44 against 3.67 ms, W4 0.56 against 0.56 ms), while W4's five programs
compiled in 16.3 instead of 19.7-21.3 s (its training program's LLVM time 4.3 against
6.2-6.6 s).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def opt_level(level: int | None) -> Iterator[None]:
    """Compile at Numba optimisation level ``level`` (0-3; None: Numba's own) inside the
    block. The level is swapped under Numba's global compiler lock, which every Numba
    compile takes: other code compiled meanwhile, in other threads, keeps its own."""
    if level is None:
        yield
        return
    from numba.core import config as numba_config
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        saved = numba_config.OPT
        numba_config.OPT = numba_config._OptLevel(level)
        try:
            yield
        finally:
            numba_config.OPT = saved
