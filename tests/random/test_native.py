"""The native back end draws the same numbers as the NumPy VM: bit-identical MRG31k3p
samples from the Numba kernel, and RandomState streams run as Python islands."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import config, function
from theanine.sandbox.rng_mrg import MRG_RandomStreams
from theanine.tensor.shared_randomstreams import RandomStreams

pytest.importorskip("numba", reason="numba is not installed (native back end)")


def _native(inputs, outputs, **kw):
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        return function(inputs, outputs, **kw)


def _vm(inputs, outputs, **kw):
    return function(inputs, outputs, mode=theanine.Mode(linker="vm"), **kw)


def _same(a, b):
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def test_mrg_kernel_is_bit_identical_to_the_vm():
    def graph():
        srng = MRG_RandomStreams(seed=(3, 1, 4, 1, 5, 9))
        n = T.lscalar("n")
        outs = [srng.uniform((n, 3), dtype="float32"), srng.uniform((1000,), dtype="float64"),
                srng.uniform((7, 5), low=-1.0, high=1.0, nstreams=3), srng.normal((n,)),
                srng.binomial((4, 4), p=0.25)]
        return [n], outs, srng

    ins, outs, nat_rng = graph()
    f = _native(ins, outs)
    ins2, outs2, vm_rng = graph()
    g = _vm(ins2, outs2)
    for n in (5, 5, 2):
        _same(f(n), g(n))
    assert f._run.state == "ready", f._run.error
    report = f.maker.fgraph.native_report
    assert report["native"] and not any("MRGUniform" in p for p in report["python_nodes"])
    for (a, *_), (b, *_) in zip(nat_rng.state_updates, vm_rng.state_updates):
        np.testing.assert_array_equal(a.get_value(), b.get_value())


def test_randomstate_streams_run_as_python_islands_with_the_same_numbers():
    def graph():
        srng = RandomStreams(seed=31)
        x = T.dvector("x")
        return [x], [srng.uniform((2, 3)), srng.normal(avg=x), srng.permutation(n=x.shape[0]),
                     srng.binomial((4,), n=3, p=0.5, dtype="int32")]

    f = _native(*graph())
    g = _vm(*graph())
    x = np.arange(4.0)
    for _ in range(3):
        _same(f(x), g(x))
    assert f._run.state == "ready", f._run.error
    assert any("RandomFunction" in p for p in f.maker.fgraph.native_report["python_nodes"])


@pytest.mark.parametrize("streams", [MRG_RandomStreams, RandomStreams])
def test_draws_in_a_native_scan(streams):
    def graph():
        srng = streams(seed=41)
        xs = T.dmatrix("xs")
        out, updates = theanine.scan(lambda row: row + srng.uniform((3,)), sequences=xs)
        return [xs], out, updates

    ins, out, upd = graph()
    f = _native(ins, out, updates=upd)
    ins2, out2, upd2 = graph()
    g = _vm(ins2, out2, updates=upd2)
    xs = np.zeros((4, 3))
    for _ in range(2):
        np.testing.assert_array_equal(f(xs), g(xs))
    assert f._run.state == "ready", f._run.error
    assert f.maker.fgraph.native_report["native"]


def test_native_errors_leave_the_state_unchanged():
    srng = MRG_RandomStreams(seed=5)
    n = T.lscalar("n")
    f = _native([n], srng.uniform((n, 2)))
    f(2)
    state = srng.state_updates[0][0]
    before = state.get_value()
    with pytest.raises(ValueError, match="negative"):
        f(-1)
    np.testing.assert_array_equal(state.get_value(), before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multinomial_and_choice_kernels_match_the_vm(dtype):
    def graph():
        srng = MRG_RandomStreams(seed=4)
        p, n = T.tensor(dtype, shape=(None, None), name="p"), T.lscalar("n")
        return [p, n], [srng.multinomial(pvals=p, n=n), srng.choice(size=n, p=p, replace=False),
                        srng.choice(size=n, p=p, replace=True),
                        srng.multinomial(pvals=p, dtype="float32")]

    f = _native(*graph())
    g = _vm(*graph())
    rng = np.random.default_rng(0)
    p = rng.random((40, 7)).astype(dtype)
    p /= p.sum(axis=1, keepdims=True)
    for n in (3, 7, 1):
        _same(f(p, n), g(p, n))
    assert f._run.state == "ready", f._run.error
    assert not f.maker.fgraph.native_report["python_nodes"]
    with pytest.raises(ValueError, match="without replacement"):
        f(p, 8)
