"""W2, a tiny training step: W1 plus cost = (target - y)**2, W <- W - 0.1 * dcost/dW, returns y."""

from __future__ import annotations

import numpy as np

from benchmarks.frameworks import native_info
from benchmarks.harness import Stopwatch, close, median_call_s, steady_calls
from benchmarks.workloads import Metric

NAME = "W2"
TITLE = "W2: a tiny training step (W1 + squared error + SGD update)"
METRICS = [
    Metric("compile_first_s", "compile + first call", "s", compile=True),
    Metric("call_list_s", "per call, list input", "us"),
    Metric("call_array_s", "per call, float32 array input", "us"),
    Metric("call_trusted_s", "per call, array input, trust_input=True", "us"),
    Metric("call_list_steady_s", "per call, list input, steady state (theanine: once its "
           "background native compile is done)", "us"),
    Metric("call_array_steady_s", "per call, float32 array input, steady state", "us"),
    Metric("call_trusted_steady_s", "per call, array input, trust_input=True, steady state",
           "us"),
    Metric("first3", "first three outputs (expect 0.9, 8.54, 13.124)", "text", better=None),
]

W_INIT = [0.2, 0.7]
EXPECTED = [0.9, 8.54, 13.124]


def _finish(ctx, f, compile_s, first, f_trusted=None, reset=None, to_float=float):
    """``first`` is the output of the (timed) first call; two more calls give the check."""
    xl, tl = [1.0, 1.0], 20.0
    xa, ta = np.array([1, 1], dtype=np.float32), np.asarray(20.0, dtype=np.float32)
    outs = [to_float(first), to_float(f(xl, tl)), to_float(f(xl, tl))]
    res = {"first3": ", ".join(f"{v:.6g}" for v in outs),
           "ok": all(close(a, b) for a, b in zip(outs, EXPECTED))}
    if compile_s is not None:
        res["compile_first_s"] = compile_s
    n = 1_000 if ctx.quick else 20_000
    # W converges to the target after a few dozen calls, so the repeated calls stay finite.
    res["call_list_s"] = median_call_s(f, (xl, tl), n)
    res["call_array_s"] = median_call_s(f, (xa, ta), n)
    if f_trusted is not None:
        res["call_trusted_s"] = median_call_s(f_trusted(), (xa, ta), n)
    steady_calls(res, f, [("call_list_s", (xl, tl), False), ("call_array_s", (xa, ta), False),
                          ("call_trusted_s", (xa, ta), True)], n)
    res["native"] = native_info(f)
    return res


def theano(ctx):
    lib, T = ctx.lib, ctx.T
    with Stopwatch() as sw:
        x = T.fvector("x")
        target = T.fscalar("target")
        W = lib.shared(np.array(W_INIT), "W")
        y = (x * W).sum()
        cost = T.sqr(target - y)
        gradients = lib.grad(cost, [W])
        W_updated = W - (0.1 * gradients[0])
        updates = [(W, W_updated)]
        f = ctx.function([x, target], y, updates=updates)
        first = f([1.0, 1.0], 20.0)

    def trusted():
        f.trust_input = True
        return f

    return _finish(ctx, f, sw.s, first, trusted)


def jax(ctx):
    jax, jnp = ctx.jax, ctx.jnp
    with Stopwatch() as sw:
        state = {"W": jnp.asarray(np.array(W_INIT))}

        def step(W, x, t):
            def cost(W):
                y = jnp.sum(x * W)
                return (t - y) ** 2, y

            (_, y), g = jax.value_and_grad(cost, has_aux=True)(W)
            return W - 0.1 * g, y

        jstep = jax.jit(step)

        def f(x, t):
            W, y = jstep(state["W"], np.asarray(x, dtype=np.float32), np.float32(t))
            state["W"] = W
            return y.block_until_ready()

        first = f([1.0, 1.0], 20.0)
    return _finish(ctx, f, sw.s, first)


def torch(ctx):
    torch = ctx.torch
    with Stopwatch() as sw:
        W = torch.tensor(W_INIT, dtype=torch.float64, requires_grad=True)

        def f(x, t):
            y = (torch.as_tensor(x, dtype=torch.float32) * W).sum()
            cost = (torch.as_tensor(t, dtype=torch.float32) - y) ** 2
            (g,) = torch.autograd.grad(cost, W)
            with torch.no_grad():
                W.sub_(0.1 * g)
            return y.detach()

        first = f([1.0, 1.0], 20.0)
    return _finish(ctx, f, sw.s, first, to_float=lambda t: t.item())


def numpy(ctx):
    state = {"W": np.array(W_INIT)}

    def f(x, t):
        W = state["W"]
        x = np.asarray(x, dtype=np.float32)
        y = (x * W).sum()
        g = -2.0 * (np.float32(t) - y) * x  # dcost/dW
        state["W"] = W - 0.1 * g
        return y

    return _finish(ctx, f, None, f([1.0, 1.0], 20.0))
