"""W1, call latency of a tiny graph: y = sum(x * W), x float32 vector, W shared float64."""

from __future__ import annotations

import numpy as np

from benchmarks.frameworks import native_info
from benchmarks.harness import Stopwatch, close, median_call_s, steady_calls
from benchmarks.workloads import Metric

NAME = "W1"
TITLE = "W1: call latency of a tiny graph, y = sum(x * W)"
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
    Metric("result", "f([1, 1]) (expect 0.9)", "value", better=None),
]

W_INIT = [0.2, 0.7]
EXPECTED = 0.9


def _n(ctx):
    return 1_000 if ctx.quick else 20_000


def _finish(ctx, out, compile_s, f_list, f_array, f_trusted=None, to_float=float):
    xl = [1.0, 1.0]
    xa = np.array([1, 1], dtype=np.float32)
    res = {"compile_first_s": compile_s, "result": to_float(out)}
    res["ok"] = close(res["result"], EXPECTED)
    n = _n(ctx)
    res["call_list_s"] = median_call_s(f_list, (xl,), n)
    res["call_array_s"] = median_call_s(f_array, (xa,), n)
    if f_trusted is not None:
        res["call_trusted_s"] = median_call_s(f_trusted(), (xa,), n)
    steady_calls(res, f_list, [("call_list_s", (xl,), False), ("call_array_s", (xa,), False),
                               ("call_trusted_s", (xa,), True)], n)
    res["native"] = native_info(f_list)
    return res


def theano(ctx):
    """theanine and PyTensor: the classic Theano program."""
    lib, T = ctx.lib, ctx.T
    with Stopwatch() as sw:
        x = T.fvector("x")
        W = lib.shared(np.array(W_INIT), "W")
        y = (x * W).sum()
        f = ctx.function([x], y)
        out = f([1.0, 1.0])

    def trusted():
        f.trust_input = True
        return f

    return _finish(ctx, out, sw.s, f, f, trusted)


def jax(ctx):
    jax, jnp = ctx.jax, ctx.jnp
    with Stopwatch() as sw:
        W = jnp.asarray(np.array(W_INIT))  # float64 (x64 enabled)
        jf = jax.jit(lambda x: jnp.sum(x * W))

        def f(x):
            # a list must become an array before the jitted call; block for the result
            return jf(np.asarray(x, dtype=np.float32)).block_until_ready()

        out = f([1.0, 1.0])

    def f_array(x):
        return jf(x).block_until_ready()

    return _finish(ctx, out, sw.s, f, f_array)


def torch(ctx):
    torch = ctx.torch
    with Stopwatch() as sw:
        W = torch.tensor(W_INIT, dtype=torch.float64)

        def f(x):
            return (torch.as_tensor(x, dtype=torch.float32) * W).sum()

        out = f([1.0, 1.0])
    return _finish(ctx, out, sw.s, f, f, to_float=lambda t: t.item())


def numpy(ctx):
    W = np.array(W_INIT)

    def f(x):
        return (np.asarray(x, dtype=np.float32) * W).sum()

    res = _finish(ctx, f([1.0, 1.0]), None, f, f)
    del res["compile_first_s"]  # nothing to compile
    return res
