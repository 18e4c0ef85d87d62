"""Random graphs of element-wise ops, whole-matrix ops (softmax, products, scans of
sums, indexing) and reductions, and random recurrences (scan), over inputs of mixed types
(hypothesis): the native program and the NumPy VM agree."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theanine
import theanine.tensor as T
from theanine import config, function

pytest.importorskip("numba", reason="numba is not installed (native back end)")

UNARY = [T.exp, T.tanh, T.sin, T.abs, T.sqr, T.nnet.sigmoid, T.nnet.softplus, T.neg,
         lambda v: T.log1p(abs(v)), lambda v: T.sqrt(abs(v) + 1)]
BINARY = [T.add, T.sub, T.mul, T.maximum, T.minimum,
          lambda a, b: a / (abs(b) + 1), lambda a, b: T.switch(T.gt(a, b), a, b * 2)]


# ops on whole matrices (kernels of their own, not loops of the element-wise generator):
# their outputs keep the shape of their first input
MATRIX = [T.nnet.softmax, T.nnet.logsoftmax,
          lambda v: T.addbroadcast(T.dot(v, v.T[:, :1]), 1) * v,
          lambda v: T.cumsum(v, axis=1), lambda v: v[::-1] + v.max(axis=0)]


@st.composite
def graphs(draw):
    ops = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20), st.integers(0, 20),
                                  st.integers(0, 20)), min_size=1, max_size=8))
    reduce_axis = draw(st.sampled_from([None, 0, 1, "none"]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    # the row's dtype: the same, the other float, or an integer (mixed-type expressions)
    r_dtype = draw(st.sampled_from([dtype, "float64", "float32", "int32"]))
    return ops, reduce_axis, dtype, r_dtype


def _build(ops, reduce_axis, dtype, r_dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    r = T.tensor(r_dtype, shape=(1, None), name="r")
    pool = [x, r, x * 0.5]
    for kind, a, b, c in ops:
        v = pool[b % len(pool)]
        if kind == 0:
            pool.append(UNARY[a % len(UNARY)](v))
        elif kind == 1:
            pool.append(BINARY[a % len(BINARY)](v, pool[c % len(pool)]))
        elif v.broadcastable == (False, False) and v.dtype.startswith("float"):
            pool.append(MATRIX[a % len(MATRIX)](v))
    out = pool[-1]
    if out.broadcastable != (False, False):
        out = out + x * 0
    if reduce_axis != "none":
        out = out.sum(axis=reduce_axis)
    return [x, r], out


# Each example compiles a program: a handful of examples by default (a search for bugs:
# THEANINE_DIFFERENTIAL_EXAMPLES=800, about 2.5 minutes), no deadline.
@settings(max_examples=int(os.environ.get("THEANINE_DIFFERENTIAL_EXAMPLES", 25)),
          deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs(), st.integers(1, 4), st.integers(1, 5))
def test_random_graphs_native_equals_vm(g, rows, cols):
    ops, axis, dtype, r_dtype = g
    inputs, out = _build(ops, axis, dtype, r_dtype)
    rng = np.random.default_rng(rows * 10 + cols)
    vals = [rng.normal(size=(rows, cols)).astype(dtype),
            (rng.normal(size=(1, cols)) * 3).astype(r_dtype)]
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function(inputs, out, on_unused_input="ignore")
    ref = function(inputs, out, mode=theanine.Mode(linker="vm"), on_unused_input="ignore")
    got = f(*vals)
    assert f._run.state == "ready", f._run.error
    tol = 1e-4 if "float32" in (dtype, r_dtype) else 1e-9  # (the least precise input)
    np.testing.assert_allclose(got, ref(*vals), rtol=tol, atol=tol)


SCAN_UNARY = [T.tanh, T.exp, T.nnet.sigmoid, lambda v: v * 0.5, T.sqr, T.abs]


# A recurrence compiles a larger program: fewer examples (150 found nothing in 3 minutes).
@settings(max_examples=max(1, int(os.environ.get("THEANINE_DIFFERENTIAL_EXAMPLES", 25)) // 4),
          deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["float32", "float64"]), st.sampled_from(["float32", "float64", "int32"]),
       st.integers(0, 5), st.integers(0, 5), st.booleans(), st.booleans(), st.integers(1, 5),
       st.booleans())
def test_random_recurrences_native_equal_vm(state_dtype, seq_dtype, u1, u2, two_taps, backwards,
                                            n, with_grad):
    """A scan over a sequence of another type (mixed-type steps), with one or two taps of
    its state, forwards or backwards, and its gradients."""
    X = T.tensor(seq_dtype, shape=(None, 3), name="X")
    W = T.tensor(state_dtype, shape=(3, 3), name="W")
    h0 = T.tensor(state_dtype, shape=(2, 3) if two_taps else (3,), name="h0")

    def step(x, *hs_and_w):
        *hs, w = hs_and_w
        out = SCAN_UNARY[u1](T.dot(hs[-1], w) + x) + (SCAN_UNARY[u2](hs[0]) if two_taps else 0)
        return T.cast(out * 0.5, state_dtype)
    hs, _ = theanine.scan(step, sequences=X, non_sequences=[W], go_backwards=backwards,
                          outputs_info=dict(initial=h0, taps=[-2, -1]) if two_taps else h0)
    outs = [hs, hs.sum()]
    if with_grad and seq_dtype != "int32":
        outs += theanine.grad(hs.sum(), [W, h0, X])
    rng = np.random.default_rng(n)
    vals = [(rng.normal(size=(n, 3)) * 2).astype(seq_dtype),
            (rng.normal(size=(3, 3)) * 0.5).astype(state_dtype),
            rng.normal(size=(2, 3) if two_taps else 3).astype(state_dtype)]
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function([X, W, h0], outs)
    ref = function([X, W, h0], outs, mode=theanine.Mode(linker="vm"))
    got = f(*vals)
    assert f._run.state == "ready", f._run.error
    tol = 1e-4 if "float32" in (state_dtype, seq_dtype) else 1e-9
    for g, e in zip(got, ref(*vals)):
        assert np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)
