"""Random element-wise and reduction graphs (hypothesis): the native program and the
NumPy VM agree."""

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


@st.composite
def graphs(draw):
    ops = draw(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20), st.integers(0, 20),
                                  st.integers(0, 20)), min_size=1, max_size=8))
    reduce_axis = draw(st.sampled_from([None, 0, 1, "none"]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    return ops, reduce_axis, dtype


def _build(ops, reduce_axis, dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    r = T.tensor(dtype, shape=(1, None), name="r")
    pool = [x, r, x * 0.5]
    for kind, a, b, c in ops:
        if kind == 0:
            pool.append(UNARY[a % len(UNARY)](pool[b % len(pool)]))
        else:
            pool.append(BINARY[a % len(BINARY)](pool[b % len(pool)], pool[c % len(pool)]))
    out = pool[-1]
    if out.broadcastable != (False, False):
        out = out + x * 0
    if reduce_axis != "none":
        out = out.sum(axis=reduce_axis)
    return [x, r], out


# Each example compiles a program: a handful of examples, no deadline.
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs(), st.integers(1, 4), st.integers(1, 5))
def test_random_graphs_native_equals_vm(g, rows, cols):
    ops, axis, dtype = g
    inputs, out = _build(ops, axis, dtype)
    rng = np.random.default_rng(rows * 10 + cols)
    vals = [rng.normal(size=(rows, cols)).astype(dtype), rng.normal(size=(1, cols)).astype(dtype)]
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function(inputs, out, on_unused_input="ignore")
    ref = function(inputs, out, mode=theanine.Mode(linker="vm"), on_unused_input="ignore")
    got = f(*vals)
    assert f._run.state == "ready", f._run.error
    tol = 1e-4 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(got, ref(*vals), rtol=tol, atol=tol)
