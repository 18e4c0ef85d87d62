"""W7, compiling a larger graph: 20 tanh layers of width 256, batch 128, float32 SGD.

Each of the 20 layers is ``h <- tanh(h W_i + b_i)`` with ``W_i`` 256 x 256 and ``b_i``
of 256 (40 parameter tensors); the 20th layer's 256 outputs are the logits of a
softmax over 256 classes, with the mean categorical cross-entropy of the batch as the
cost (so the network is exactly "20 tanh layers of width 256", as the spec says).  One
training function computes the cost, the 40 gradients and the 40 SGD updates (learning
rate 0.01, a float32 constant).  "Build + compile + first step" is timed from the first
shared variable / tensor / jitted function created (the initial values are NumPy arrays
drawn beforehand) to the first cost in hand.  The costs of the first three steps are
checked against a float64 NumPy computation of the same steps.
"""

from __future__ import annotations

import functools

import numpy as np

from benchmarks.harness import Stopwatch
from benchmarks.workloads import Metric
from benchmarks.workloads._mlp import finish, mlp_step_numpy, reference_costs

NAME = "W7"
TITLE = "W7: compiling a larger graph, 20 tanh layers x 256 (40 parameters), batch 128"
METRICS = [
    Metric("compile_first_s", "build + compile + first step", "s", compile=True),
    Metric("step_s", "per step (median)", "ms", warm_twin=True),
    Metric("step_mean_s", "per step (mean)", "ms"),
    Metric("steady_s", "per step, steady state (theanine: once its background native "
           "compile is done)", "ms"),
    Metric("native_compile_s", "theanine: background native compile", "s", better=None),
    Metric("costs", "costs of steps 1-3", "text", better=None),
]

LAYERS, WIDTH, BATCH, SEED = 20, 256, 128, 4321
LR = np.float32(0.01)


def data():
    rng = np.random.RandomState(SEED)
    params = []
    for _ in range(LAYERS):
        params.append(rng.normal(0.0, 1.0 / np.sqrt(WIDTH), size=(WIDTH, WIDTH)).astype(np.float32))
        params.append(np.zeros(WIDTH, np.float32))
    X = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    y = rng.randint(0, WIDTH, size=BATCH).astype(np.int32)
    return params, X, y


def theano(ctx):
    lib, T = ctx.lib, ctx.T
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=True)
    with Stopwatch() as sw:
        x = T.fmatrix("x")
        t = T.ivector("t")
        params = [lib.shared(v, f"{'Wb'[k % 2]}{k // 2}") for k, v in enumerate(init)]
        h = x
        for i in range(LAYERS):
            h = T.tanh(T.dot(h, params[2 * i]) + params[2 * i + 1])
        cost = ctx.categorical_crossentropy(ctx.softmax(h), t).mean()
        grads = lib.grad(cost, params)
        updates = [(q, q - LR * g) for q, g in zip(params, grads)]
        train = ctx.function([x, t], cost, updates=updates)
        first = train(X, y)
    return finish(ctx, train, sw.s, first, X, y, ref)


def jax(ctx):
    jax, jnp = ctx.jax, ctx.jnp
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=True)
    with Stopwatch() as sw:
        state = {"p": [jnp.asarray(v) for v in init]}

        def loss(params, x, t):
            h = x
            for i in range(LAYERS):
                h = jnp.tanh(h @ params[2 * i] + params[2 * i + 1])
            logp = jax.nn.log_softmax(h, axis=-1)
            return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))

        # the parameters' buffers are donated: updated in place, as Theano's updates are
        @functools.partial(jax.jit, donate_argnums=0)
        def jstep(params, x, t):
            cost, g = jax.value_and_grad(loss)(params, x, t)
            return [q - LR * gq for q, gq in zip(params, g)], cost

        def step(x, t):
            state["p"], cost = jstep(state["p"], x, t)
            return np.asarray(cost)

        first = step(X, y)
    return finish(ctx, step, sw.s, first, X, y, ref)


def torch(ctx):
    torch = ctx.torch
    F = torch.nn.functional
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=True)
    with Stopwatch() as sw:
        params = [torch.tensor(v, requires_grad=True) for v in init]
        lr = float(LR)

        def step(x, t):
            h = torch.from_numpy(x)
            for i in range(LAYERS):
                h = torch.tanh(h @ params[2 * i] + params[2 * i + 1])
            cost = F.cross_entropy(h, torch.from_numpy(t).long())
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for q, g in zip(params, grads):
                    q.sub_(lr * g)
            return cost.item()

        first = step(X, y)
    return finish(ctx, step, sw.s, first, X, y, ref)


def numpy(ctx):
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=True)
    params = [v.copy() for v in init]

    def step(x, t):
        return mlp_step_numpy(params, x, t, LR, tanh_last=True)

    return finish(ctx, step, None, step(X, y), X, y, ref)
