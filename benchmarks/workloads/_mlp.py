"""Shared pieces of W5 and W7 (tanh MLPs, softmax, mean categorical cross-entropy, SGD).

Not a workload itself (not in ``_MODULES``).  Every framework's program is written out
in the workload modules; this file holds the data, the initial weights, one NumPy
implementation (used by the NumPy-by-hand runners in float32 and as the float64
reference of the result check) and the check itself.
"""

from __future__ import annotations

import numpy as np

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
