"""W8, a LeNet training step: conv 5x5 x20 -> max-pool 2 -> conv 5x5 x50 -> max-pool 2 ->
dense 500 tanh -> softmax 10, batch 128 of 28x28 float32 images, SGD.

The network of the classic Theano tutorial (``LeNetConvPoolLayer``: ``tanh(pool(conv(x, W))
+ b)``, then a tanh hidden layer and a softmax layer), on a seeded random batch (uniform
pixels, random labels; the same batch at every step): one call = forward, backward and the
update of the 8 parameters (learning rate 0.1 as a float32 constant), returning the mean
categorical cross-entropy as a host value.  float32 everywhere.

Theano's ``conv2d`` is a true convolution (flipped filters); PyTorch and JAX compute a
cross-correlation, so they start from the flipped initial filters, which gives the very
same training run.  "Compile + first step" covers building the graph (or jitted function),
compiling it and the first step.  The costs of the first three steps are checked against a
float64 NumPy computation of the same steps (:func:`lenet_step_numpy`, which is also the
"NumPy by hand" runner, in float32).  PyTensor 3 has neither ``conv2d`` nor ``pool_2d``
(nor ``T.nnet``): its columns say "error".
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.harness import Stopwatch
from benchmarks.workloads import Metric
from benchmarks.workloads._mlp import check, finish

NAME = "W8"
TITLE = ("W8: LeNet training step, conv 5x5x20 -> pool 2 -> conv 5x5x50 -> pool 2 -> "
         "500 tanh -> softmax 10, batch 128, float32 SGD")
METRICS = [
    Metric("compile_first_s", "compile + first step", "s", compile=True),
    Metric("step_s", "per step (median)", "ms", warm_twin=True),
    Metric("step_mean_s", "per step (mean)", "ms"),
    Metric("steady_s", "per step, steady state (theanine: once its background native "
           "compile is done)", "ms"),
    Metric("native_compile_s", "theanine: background native compile", "s", better=None),
    Metric("costs", "costs of steps 1-3", "text", better=None),
]

BATCH, SIDE, K, C1, C2, HIDDEN, N_OUT, SEED = 128, 28, 5, 20, 50, 500, 10, 2024
LR = np.float32(0.1)
N_CHECK = 3


def data():
    """Initial parameters (Theano's layout: true-convolution filters), images, labels."""
    rng = np.random.RandomState(SEED)

    def uniform(shape, fan_in, fan_out):
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=shape).astype(np.float32)

    flat = C2 * 4 * 4
    params = [uniform((C1, 1, K, K), K * K, C1 * K * K / 4), np.zeros(C1, np.float32),
              uniform((C2, C1, K, K), C1 * K * K, C2 * K * K / 4), np.zeros(C2, np.float32),
              uniform((flat, HIDDEN), flat, HIDDEN), np.zeros(HIDDEN, np.float32),
              uniform((HIDDEN, N_OUT), HIDDEN, N_OUT), np.zeros(N_OUT, np.float32)]
    X = rng.rand(BATCH, 1, SIDE, SIDE).astype(np.float32)
    y = rng.randint(0, N_OUT, size=BATCH).astype(np.int32)
    return params, X, y


def flipped(params):
    """The same parameters for a framework whose convolution is a cross-correlation."""
    return [p[:, :, ::-1, ::-1].copy() if p.ndim == 4 else p for p in params]


# -- NumPy: the float64 reference and the by-hand runner ---------------------------------------
def _conv(x, w_corr):
    win = sliding_window_view(x, w_corr.shape[2:], axis=(2, 3))
    return np.einsum("ncijab,fcab->nfij", win, w_corr, optimize=True)


def _conv_grads(x, w_corr, gz, need_x):
    win = sliding_window_view(x, w_corr.shape[2:], axis=(2, 3))
    gw = np.einsum("ncijab,nfij->fcab", win, gz, optimize=True)
    if not need_x:
        return gw, None
    k = w_corr.shape[2] - 1
    gzp = np.pad(gz, ((0, 0), (0, 0), (k, k), (k, k)))
    gwin = sliding_window_view(gzp, w_corr.shape[2:], axis=(2, 3))
    gx = np.einsum("nfpqab,fcab->ncpq", gwin, w_corr[:, :, ::-1, ::-1], optimize=True)
    return gw, gx


def _pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _pool_grad(x, out, gz):
    up = lambda a: a.repeat(2, axis=2).repeat(2, axis=3)  # noqa: E731
    return np.where(x == up(out), up(gz), 0).astype(x.dtype)


def lenet_step_numpy(params, X, y, lr):
    """One SGD step in place on ``params`` (Theano's layout); returns the cost."""
    W1, b1, W2, b2, W3, b3, W4, b4 = params
    W1c, W2c = W1[:, :, ::-1, ::-1], W2[:, :, ::-1, ::-1]
    a1 = _conv(X, W1c)
    p1 = _pool(a1)
    h1 = np.tanh(p1 + b1[:, None, None])
    a2 = _conv(h1, W2c)
    p2 = _pool(a2)
    h2 = np.tanh(p2 + b2[:, None, None])
    f = h2.reshape(len(X), -1)
    h3 = np.tanh(f @ W3 + b3)
    z = h3 @ W4 + b4
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(len(X))
    cost = -np.mean(np.log(p[rows, y]))
    d = p
    d[rows, y] -= 1
    d /= len(X)
    gW4, gb4 = h3.T @ d, d.sum(axis=0)
    da3 = (d @ W4.T) * (1 - h3 * h3)
    gW3, gb3 = f.T @ da3, da3.sum(axis=0)
    dp2 = (da3 @ W3.T).reshape(h2.shape) * (1 - h2 * h2)
    gb2 = dp2.sum(axis=(0, 2, 3))
    gW2c, dh1 = _conv_grads(h1, W2c, _pool_grad(a2, p2, dp2), need_x=True)
    dp1 = dh1 * (1 - h1 * h1)
    gb1 = dp1.sum(axis=(0, 2, 3))
    gW1c, _ = _conv_grads(X, W1c, _pool_grad(a1, p1, dp1), need_x=False)
    grads = [gW1c[:, :, ::-1, ::-1], gb1, gW2c[:, :, ::-1, ::-1], gb2, gW3, gb3, gW4, gb4]
    for q, g in zip(params, grads):
        q -= lr * g.astype(q.dtype, copy=False)
    return cost


def reference_costs(params, X, y, lr, n=N_CHECK):
    p64 = [np.array(p, dtype=np.float64) for p in params]
    X64 = np.asarray(X, dtype=np.float64)
    return [float(lenet_step_numpy(p64, X64, y, float(lr))) for _ in range(n)]


# -- the runners -----------------------------------------------------------------------------
def _theano_conv_pool(ctx):
    """``conv2d`` and ``pool_2d`` under the Theano family's names."""
    if ctx.framework.startswith("theanine"):
        from theanine.tensor.nnet import conv2d
        from theanine.tensor.signal.pool import pool_2d

        return conv2d, pool_2d
    raise NotImplementedError("PyTensor has no conv2d / pool_2d (theano.tensor.nnet and "
                              "theano.tensor.signal.pool were removed)")


def theano(ctx):
    lib, T = ctx.lib, ctx.T
    conv2d, pool_2d = _theano_conv_pool(ctx)
    init, X, y = data()
    ref = reference_costs(init, X, y, LR)
    with Stopwatch() as sw:
        x = T.ftensor4("x")
        t = T.ivector("t")
        params = [lib.shared(v, n) for v, n in
                  zip(init, ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"])]
        W1, b1, W2, b2, W3, b3, W4, b4 = params

        def conv_pool(h, W, b, image_shape, filter_shape):
            out = conv2d(h, W, input_shape=image_shape, filter_shape=filter_shape)
            pooled = pool_2d(out, ws=(2, 2), ignore_border=True)
            return T.tanh(pooled + b.dimshuffle("x", 0, "x", "x"))

        h1 = conv_pool(x, W1, b1, (BATCH, 1, SIDE, SIDE), (C1, 1, K, K))
        h2 = conv_pool(h1, W2, b2, (BATCH, C1, 12, 12), (C2, C1, K, K))
        h3 = T.tanh(T.dot(h2.flatten(2), W3) + b3)
        p = ctx.softmax(T.dot(h3, W4) + b4)
        cost = ctx.categorical_crossentropy(p, t).mean()
        grads = lib.grad(cost, params)
        updates = [(q, q - LR * g) for q, g in zip(params, grads)]
        train = ctx.function([x, t], cost, updates=updates)
        first = train(X, y)
    return finish(ctx, train, sw.s, first, X, y, ref)


def torch(ctx):
    torch = ctx.torch
    F = torch.nn.functional
    init, X, y = data()
    ref = reference_costs(init, X, y, LR)
    with Stopwatch() as sw:
        params = [torch.tensor(v, requires_grad=True) for v in flipped(init)]
        lr = float(LR)

        def step(x, t):
            W1, b1, W2, b2, W3, b3, W4, b4 = params
            h = torch.tanh(F.max_pool2d(F.conv2d(torch.from_numpy(x), W1), 2)
                           + b1[None, :, None, None])
            h = torch.tanh(F.max_pool2d(F.conv2d(h, W2), 2) + b2[None, :, None, None])
            h = torch.tanh(h.flatten(1) @ W3 + b3)
            cost = F.cross_entropy(h @ W4 + b4, torch.from_numpy(t).long())
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for q, g in zip(params, grads):
                    q.sub_(lr * g)
            return cost.item()

        first = step(X, y)
    return finish(ctx, step, sw.s, first, X, y, ref)


def jax(ctx):
    jax, jnp = ctx.jax, ctx.jnp
    lax = jax.lax
    init, X, y = data()
    ref = reference_costs(init, X, y, LR)
    with Stopwatch() as sw:
        state = {"p": [jnp.asarray(v) for v in flipped(init)]}

        def conv_pool(h, W, b):
            out = lax.conv_general_dilated(h, W, (1, 1), "VALID")  # NCHW, OIHW
            pooled = lax.reduce_window(out, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                       "VALID")
            return jnp.tanh(pooled + b[None, :, None, None])

        def loss(params, x, t):
            W1, b1, W2, b2, W3, b3, W4, b4 = params
            h = conv_pool(conv_pool(x, W1, b1), W2, b2)
            h = jnp.tanh(h.reshape(h.shape[0], -1) @ W3 + b3)
            logp = jax.nn.log_softmax(h @ W4 + b4, axis=-1)
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


def numpy(ctx):
    init, X, y = data()
    ref = reference_costs(init, X, y, LR)
    params = [v.copy() for v in init]

    def step(x, t):
        return lenet_step_numpy(params, x, t, LR)

    return finish(ctx, step, None, step(X, y), X, y, ref)


__all__ = ["NAME", "TITLE", "METRICS", "data", "lenet_step_numpy", "reference_costs", "check"]
