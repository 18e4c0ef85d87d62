"""W5, a batched MLP training step: 784 -> 500 tanh -> 10 softmax, batch 500, SGD.

float32 everywhere (data, weights, learning rate 0.01 as a float32 constant so that no
framework upcasts); mean categorical cross-entropy over the batch; one function call =
forward + backward + update of the four parameters, returning the cost as a host value.
The same seeded batch is fed at every step (inputs are NumPy arrays: float32 x, int32
labels, converted inside the timed call where a framework needs its own tensors).
"Compile + first step" covers building the graph (or jitted function), compiling it and
the first step.  The costs of the first three steps are checked against a float64 NumPy
computation of the same steps.
"""

from __future__ import annotations

import functools

import numpy as np

from benchmarks.harness import Stopwatch
from benchmarks.workloads import Metric
from benchmarks.workloads._mlp import finish, mlp_step_numpy, reference_costs

NAME = "W5"
TITLE = "W5: batched MLP step, 784 -> 500 tanh -> 10 softmax, batch 500, float32 SGD"
METRICS = [
    Metric("compile_first_s", "compile + first step", "s", compile=True),
    Metric("step_s", "per step (median)", "ms", warm_twin=True),
    Metric("step_mean_s", "per step (mean)", "ms"),
    Metric("steady_s", "per step, steady state (theanine: once its background native "
           "compile is done)", "ms"),
    Metric("native_compile_s", "theanine: background native compile", "s", better=None),
    Metric("costs", "costs of steps 1-3", "text", better=None),
]

N_IN, N_HID, N_OUT, BATCH, SEED = 784, 500, 10, 500, 1234
LR = np.float32(0.01)


def data():
    rng = np.random.RandomState(SEED)

    def glorot(n_in, n_out):
        a = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-a, a, size=(n_in, n_out)).astype(np.float32)

    params = [glorot(N_IN, N_HID), np.zeros(N_HID, np.float32),
              glorot(N_HID, N_OUT), np.zeros(N_OUT, np.float32)]
    X = rng.rand(BATCH, N_IN).astype(np.float32)
    y = rng.randint(0, N_OUT, size=BATCH).astype(np.int32)
    return params, X, y


def theano(ctx):
    lib, T = ctx.lib, ctx.T
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=False)
    with Stopwatch() as sw:
        x = T.fmatrix("x")
        t = T.ivector("t")
        W1, b1, W2, b2 = (lib.shared(v, n) for v, n in zip(init, ["W1", "b1", "W2", "b2"]))
        params = [W1, b1, W2, b2]
        hidden = T.tanh(T.dot(x, W1) + b1)
        p = ctx.softmax(T.dot(hidden, W2) + b2)
        cost = ctx.categorical_crossentropy(p, t).mean()
        grads = lib.grad(cost, params)
        updates = [(q, q - LR * g) for q, g in zip(params, grads)]
        train = ctx.function([x, t], cost, updates=updates)
        first = train(X, y)
    return finish(ctx, train, sw.s, first, X, y, ref)


def jax(ctx):
    jax, jnp = ctx.jax, ctx.jnp
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=False)
    with Stopwatch() as sw:
        state = {"p": [jnp.asarray(v) for v in init]}

        def loss(params, x, t):
            W1, b1, W2, b2 = params
            logits = jnp.tanh(x @ W1 + b1) @ W2 + b2
            logp = jax.nn.log_softmax(logits, axis=-1)
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
    ref = reference_costs(init, X, y, LR, tanh_last=False)
    with Stopwatch() as sw:
        params = [torch.tensor(v, requires_grad=True) for v in init]
        lr = float(LR)

        def step(x, t):
            W1, b1, W2, b2 = params
            logits = torch.tanh(torch.from_numpy(x) @ W1 + b1) @ W2 + b2
            cost = F.cross_entropy(logits, torch.from_numpy(t).long())
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for q, g in zip(params, grads):
                    q.sub_(lr * g)
            return cost.item()

        first = step(X, y)
    return finish(ctx, step, sw.s, first, X, y, ref)


def numpy(ctx):
    init, X, y = data()
    ref = reference_costs(init, X, y, LR, tanh_last=False)
    params = [v.copy() for v in init]

    def step(x, t):
        return mlp_step_numpy(params, x, t, LR, tanh_last=False)

    return finish(ctx, step, None, step(X, y), X, y, ref)
