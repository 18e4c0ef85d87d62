"""Timing helpers shared by the workloads (they run inside the child process).

Method: every timed call is bracketed by ``time.perf_counter_ns()``; the figure
reported is the *median* over all timed calls, after a warm-up.  The garbage
collector is disabled during timing loops (and re-enabled afterwards) so that a
collection pause does not land inside one call; the median makes the result
insensitive to the odd outlier anyway.  The timer's own overhead (one pair of
``perf_counter_ns`` calls, ~50 ns) is measured and reported, not subtracted.
"""

from __future__ import annotations

import gc
import statistics
import time
from contextlib import contextmanager

perf_ns = time.perf_counter_ns


@contextmanager
def gc_disabled():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def timer_overhead_ns(n: int = 20_000) -> float:
    pc = perf_ns
    d = [0] * n
    for i in range(n):
        t0 = pc()
        d[i] = pc() - t0
    return statistics.median(d)


def median_call_s(fn, args=(), n: int = 20_000, warmup: int = 200) -> float:
    """Median wall time (seconds) of ``fn(*args)`` over ``n`` individually timed calls."""
    for _ in range(warmup):
        fn(*args)
    pc = perf_ns
    times = [0] * n
    with gc_disabled():
        for i in range(n):
            t0 = pc()
            fn(*args)
            times[i] = pc() - t0
    return statistics.median(times) * 1e-9


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.s`` is the elapsed seconds."""

    def __enter__(self):
        self._t0 = perf_ns()
        return self

    def __exit__(self, *exc):
        self.s = (perf_ns() - self._t0) * 1e-9
        return False


def close(a, b, rtol=1e-6, atol=1e-9) -> bool:
    return abs(float(a) - float(b)) <= atol + rtol * abs(float(b))


def timed_calls_s(fn, args=(), max_n: int = 50, warmup: int = 5, budget_s: float | None = None,
                  min_n: int = 3, hard_s: float | None = None) -> list:
    """Wall times (seconds) of up to ``max_n`` individually timed calls of ``fn(*args)``
    after ``warmup`` untimed ones, garbage collector disabled.  With ``budget_s``, stop
    once ``budget_s`` seconds were spent timing and ``min_n`` calls are in; with
    ``hard_s``, stop after ``hard_s`` seconds whatever the count (at least one call)."""
    for _ in range(warmup):
        fn(*args)
    pc = perf_ns
    times = []
    with gc_disabled():
        t_start = pc()
        while len(times) < max_n:
            t0 = pc()
            fn(*args)
            t1 = pc()
            times.append((t1 - t0) * 1e-9)
            spent = (t1 - t_start) * 1e-9
            if budget_s is not None and spent >= budget_s and len(times) >= min_n:
                break
            if hard_s is not None and spent >= hard_s:
                break
    return times


def wait_native(f, timeout_s: float = 600.0):
    """For a theanine function whose native program is being compiled in the background,
    wait until it is ready (or failed), and until the compiles queued after it are done;
    returns the seconds waited, or None when ``f`` has no such program (any other
    framework, theanine's FAST_COMPILE)."""
    run = getattr(f, "_run", None)
    if run is None or not hasattr(run, "state"):
        return None
    t0 = time.perf_counter()
    while run.state in ("pending", "compiling") and time.perf_counter() - t0 < timeout_s:
        if run.state == "pending":
            break  # not hot yet: nothing compiles until it is called again
        time.sleep(0.02)
    # and the compiles queued after it (the workload's other functions, compiled ahead),
    # which would share the cores with the steady state
    from theanine.backend.numba.background import QUEUE

    while QUEUE.busy() and time.perf_counter() - t0 < timeout_s:
        time.sleep(0.02)
    return time.perf_counter() - t0


def steady_calls(res: dict, f, cases, n: int) -> None:
    """The per-call rows again once a theanine FAST_RUN function's background native
    compile is done: for each ``(key, args, trusted)`` of ``cases`` whose ``key`` was
    measured, ``res[key[:-2] + '_steady_s']`` is the median of ``n`` calls with
    ``f.trust_input = trusted``. For every other framework the calls timed above are
    already the steady state and are copied."""
    waited = wait_native(f)
    if waited is not None:
        res["native_wait_s"] = waited
    for key, args, trusted in cases:
        if key not in res:
            continue
        if waited is None:
            res[key[:-2] + "_steady_s"] = res[key]
            continue
        f.trust_input = trusted
        res[key[:-2] + "_steady_s"] = median_call_s(f, args, n)
