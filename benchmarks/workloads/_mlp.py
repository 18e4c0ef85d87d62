"""Shared pieces of W5 and W7 (tanh MLPs, softmax, mean categorical cross-entropy, SGD).

Not a workload itself (not in ``_MODULES``).  Every framework's program is written out
in the workload modules; this file holds the data, the initial weights, one NumPy
implementation (used by the NumPy-by-hand runners in float32 and as the float64
reference of the result check) and the check itself.
"""

from __future__ import annotations

import numpy as np

from benchmarks.frameworks import native_info
from benchmarks.harness import timed_calls_s, wait_native

N_CHECK = 3  # the costs of the first three steps are checked against the float64 reference


def mlp_step_numpy(params, X, y, lr, tanh_last):
    """One SGD step in place on ``params`` ([W1, b1, W2, b2, ...]); returns the cost.

    Hidden layers are ``tanh(h W + b)``; the last layer's ``h W + b`` goes through tanh
    too when ``tanh_last``; then softmax, mean categorical cross-entropy."""
    n_layers = len(params) // 2
    hs = [X]
    h = X
    for i in range(n_layers):
        a = h @ params[2 * i] + params[2 * i + 1]
        h = np.tanh(a) if (i < n_layers - 1 or tanh_last) else a
        hs.append(h)
    z = h - h.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = X.shape[0]
    rows = np.arange(n)
    cost = -np.mean(np.log(p[rows, y]))
    d = p
    d[rows, y] -= 1
    d /= n
    for i in reversed(range(n_layers)):
        if i < n_layers - 1 or tanh_last:
            d = d * (1 - hs[i + 1] * hs[i + 1])
        W, b = params[2 * i], params[2 * i + 1]
        gW = hs[i].T @ d
        gb = d.sum(axis=0)
        if i > 0:
            d = d @ W.T
        W -= lr * gW
        b -= lr * gb
    return cost


def reference_costs(params, X, y, lr, tanh_last, n=N_CHECK):
    """The first ``n`` step costs, computed in float64 by :func:`mlp_step_numpy`."""
    p64 = [np.array(p, dtype=np.float64) for p in params]
    X64 = np.asarray(X, dtype=np.float64)
    return [float(mlp_step_numpy(p64, X64, y, float(lr), tanh_last)) for _ in range(n)]


def check(costs, ref, rtol=2e-4):
    return len(costs) >= len(ref) and all(
        abs(float(a) - b) <= rtol * abs(b) for a, b in zip(costs, ref))


def finish(ctx, step, compile_s, first_cost, X, y, ref):
    """Check the first costs, time the steps (and the steady state) of a training step."""
    costs = [float(first_cost)] + [float(step(X, y)) for _ in range(N_CHECK - 1)]
    n, warmup = (5, 2) if ctx.quick else (50, 5)
    times = timed_calls_s(step, (X, y), max_n=n, warmup=warmup)
    res = {"step_s": float(np.median(times)), "step_mean_s": float(np.mean(times)),
           "step_max_s": float(np.max(times)), "n_steps": len(times),
           "costs": ", ".join(f"{c:.6f}" for c in costs), "reference": ref,
           "ok": check(costs, ref)}
    steady(res, step, (X, y), n, warmup)
    # the steps after the switch to native code are checked too: the training continues
    # (a finite cost, below the first; the float64 reference of hundreds of steps would
    # cost more than the benchmark)
    last = float(step(X, y))
    res["last_cost"] = last
    res["ok"] = res["ok"] and bool(np.isfinite(last)) and last < costs[0]
    if compile_s is not None:
        res["compile_first_s"] = compile_s
    return res


def steady(res, step, args, n, warmup):
    """theanine FAST_RUN: wait for the background native compile, then time again; for
    every other framework the steps timed above are already the steady state."""
    waited = wait_native(step)
    res["native"] = native_info(step)
    if waited is None:
        res["steady_s"] = res["step_s"]
        return
    res["native_wait_s"] = waited
    res["native_compile_s"] = (res["native"] or {}).get("numba_compile_s")
    res["steady_s"] = float(np.median(timed_calls_s(step, args, max_n=n, warmup=warmup)))
