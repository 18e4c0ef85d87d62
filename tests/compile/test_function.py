"""function(): inputs, outputs, updates, givens, In/Out, modes and input checking."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import In, Mode, Out, config, function, shared
from theanine.compile.errors import MissingInputError, UnusedInputError


def test_tutorial_minimal_example():
    x = T.fvector("x")
    W = shared(np.asarray([0.2, 0.7]), "W")
    y = (x * W).sum()
    f = function([x], y)
    out = f([1.0, 1.0])
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float64
    assert np.isclose(out, 0.9)
    assert str(x) == "x" and str(W) == "W"


def test_outputs_use_old_values_then_updates_apply_together():
    a = shared(np.float64(1.0), "a")
    b = shared(np.float64(10.0), "b")
    f = function([], [a, b], updates=[(a, b), (b, a)])  # swap
    assert [float(v) for v in f()] == [1.0, 10.0]
    assert float(a.get_value()) == 10.0 and float(b.get_value()) == 1.0
    assert [float(v) for v in f()] == [10.0, 1.0]


def test_training_example_values():
    x = T.fvector("x")
    target = T.fscalar("target")
    W = shared(np.asarray([0.2, 0.7]), "W")
    y = (x * W).sum()
    cost = T.sqr(target - y)
    (gW,) = theanine.grad(cost, [W])
    f = function([x, target], y, updates=[(W, W - 0.1 * gW)])
    got = [float(f([1.0, 1.0], 20.0)) for _ in range(10)]
    ref = [0.9, 8.54, 13.124, 15.8744, 17.52464, 18.514784, 19.1088704, 19.46532224,
           19.679193344, 19.8075160064]
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_updates_dict_and_shared_between_functions():
    c = shared(np.int64(0), "c")
    inc = function([], updates={c: c + 1})
    read = function([], c)
    assert inc() == []
    inc()
    assert int(read()) == 2


def test_failing_call_changes_no_shared_variable():
    W = shared(np.arange(3.0), "W")
    V = shared(np.ones(3), "V")
    idx = T.lscalar("idx")
    f = function([idx], W[idx], updates=[(V, V * 2), (W, W + 1)])
    f(0)
    w_before, v_before = W.get_value(), V.get_value()
    with pytest.raises(IndexError):
        f(7)
    np.testing.assert_array_equal(W.get_value(), w_before)
    np.testing.assert_array_equal(V.get_value(), v_before)


def test_update_type_mismatch_refused_with_cast_hint():
    W = shared(np.zeros(2, dtype="float32"), "W")
    lr = T.dscalar("lr")
    with pytest.raises(TypeError, match="cast"):
        function([lr], updates=[(W, W - lr)])


def test_update_of_non_shared_refused():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="shared"):
        function([x], updates=[(x, x + 1)])


def test_givens_replace_inputs_and_shared_slices():
    data = shared(np.arange(10.0), "data")
    i = T.lscalar("i")
    x = T.dvector("x")
    f = function([i], x.sum(), givens={x: data[i * 2: (i + 1) * 2]})
    assert float(f(0)) == 1.0 and float(f(2)) == 9.0


def test_givens_type_mismatch():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="givens"):
        function([], x.sum(), givens={x: T.constant(np.zeros((2, 2)))})


def test_in_default_value_and_keyword():
    x = T.dscalar("x")
    y = T.dscalar("y")
    f = function([x, In(y, value=2.0)], x * y)
    assert float(f(3.0)) == 6.0
    assert float(f(3.0, 4.0)) == 12.0
    assert float(f(x=1.0, y=5.0)) == 5.0


def test_out_borrow_and_output_is_not_alias_of_shared():
    W = shared(np.ones(3), "W")
    f = function([], W)
    out = f()
    out[0] = 100.0
    assert W.get_value()[0] == 1.0
    g = function([], Out(W * 2, borrow=True))
    np.testing.assert_array_equal(g(), [2.0, 2.0, 2.0])


def test_input_values_are_never_overwritten():
    x = T.dvector("x")
    f = function([x], x)
    a = np.ones(3)
    out = f(a)
    out[0] = 5.0
    assert a[0] == 1.0


def test_output_list_and_none():
    x = T.dscalar("x")
    assert function([x], None, on_unused_input="ignore")(1.0) == []
    outs = function([x], [x + 1, x * 2])(3.0)
    assert [float(o) for o in outs] == [4.0, 6.0]


def test_list_and_scalar_inputs_are_cast_like_theano():
    x = T.fvector("x")
    f = function([x], x * 2)
    assert f([1, 2]).dtype == np.float32
    with pytest.raises(TypeError, match="allow_input_downcast"):
        f(np.zeros(2))  # float64 array into a float32 input
    with pytest.raises(TypeError, match="exactly"):
        f([0.1])
    g = function([x], x * 2, allow_input_downcast=True)
    np.testing.assert_allclose(g(np.array([0.1, 0.2])), np.float32([0.2, 0.4]))


def test_scalar_and_strict_inputs_are_cast_like_theano():
    """The filters' fast paths keep Theano's rules: a Python float goes into a floatX scalar,
    into another float type only exactly or when downcasting is allowed; strict inputs take
    only their own dtype; downcasting never changes the rank rule."""

    s32, s64 = T.fscalar("s32"), T.dscalar("s64")
    with config.change_flags(floatX="float64"):
        f = function([s32, s64], s32 + s64)
        assert f(0.5, 0.1) == 0.6  # 0.5 is exact in float32
        with pytest.raises(TypeError, match="exactly"):
            f(0.1, 0.1)
        g = function([s32, s64], s32 + s64, allow_input_downcast=True)
        assert g(0.1, 0.1) == pytest.approx(0.2, rel=1e-7)
        h = function([s32, s64], s32 + s64, allow_input_downcast=False)
        with pytest.raises(TypeError):
            h(0.1, 0.1)
    with config.change_flags(floatX="float32"):
        f = function([s32], s32 * 2)
        assert f(0.1).dtype == np.float32
    x = T.fvector("x")
    strict = function([In(x, strict=True)], x * 2, allow_input_downcast=True)
    with pytest.raises(TypeError, match="'x'"):
        strict(np.zeros(2))
    down = function([x], x * 2, allow_input_downcast=True)
    assert down(np.arange(3)).dtype == np.float32
    with pytest.raises(TypeError, match="'x'"):
        down(np.zeros((2, 2)))
    # Python lists and ints: converted when exact, refused (naming the input) when not
    lists = function([x], x * 2)
    assert lists([1, 2]).dtype == np.float32 and lists([0.5, 1.5]).tolist() == [1.0, 3.0]
    with pytest.raises(TypeError, match="'x'"):
        lists([0.1, 1.0])
    with pytest.raises(TypeError, match="'x'"):
        lists([[1.0], [2.0]])
    b = T.bscalar("b")
    i8 = function([b], b + 1)
    assert i8(3) == 4 and i8(3).dtype == np.int8
    with pytest.raises(TypeError):
        i8(300)


def test_trust_input_fast_path():
    x = T.dvector("x")
    f = function([x], x + 1)
    f.trust_input = True
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])


def test_modes_give_same_results():
    x = T.dmatrix("x")
    y = T.tanh(x).sum(axis=1) * 2
    v = np.random.default_rng(0).normal(size=(3, 4))
    ref = function([x], y)(v)
    for mode in ("FAST_COMPILE", "FAST_RUN", Mode(linker="vm", optimizer=None)):
        np.testing.assert_allclose(function([x], y, mode=mode)(v), ref)
    with pytest.raises(ValueError, match="unknown mode"):
        function([x], y, mode="SLOW")


def test_eval_and_cache():
    x = T.dscalar("x")
    y = x * 2 + 1
    assert float(y.eval({x: 2.0})) == 5.0
    assert float(y.eval({x: 3.0})) == 7.0
    a = shared(np.array([[1.0, 2.0], [3.0, 4.0]]), "a")
    np.testing.assert_array_equal(a.eval(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal((a * 2).eval(), [[2, 4], [6, 8]])


def test_shared_get_set_value():
    W = shared(np.array([0.2, 0.7]), "W")
    v = W.get_value()
    v[0] = 9.0
    assert W.get_value()[0] == 0.2
    W.set_value([1.0, 2.0])
    np.testing.assert_array_equal(W.get_value(), [1.0, 2.0])
    with pytest.raises(TypeError, match="W"):
        W.set_value(np.zeros((2, 2)))
    assert W.get_value(borrow=True) is W.get_value(borrow=True)


def test_profile_collects_node_times(capsys):
    x = T.dvector("x")
    f = function([x], T.exp(x).sum(), profile=True)
    for _ in range(3):
        f(np.ones(4))
    assert f.profile.calls == 3
    f.profile.summary()
    out = capsys.readouterr().out
    assert "Elemwise" in out and "calls: 3" in out


def test_compile_times_are_recorded():
    x = T.dvector("x")
    f = function([x], x + 1)
    assert set(f.compile_times) == {"rewrite", "link", "total"}


def test_vm_runs_small_products_on_one_blas_thread_and_restores_the_count(monkeypatch):
    from theanine.backend.numba import cblas

    if cblas.numpy_cblas() is None:
        pytest.skip("NumPy's BLAS is not the OpenBLAS build whose thread count is set")
    seen = []
    real_set = cblas.set_blas_threads
    monkeypatch.setattr(cblas, "set_blas_threads", lambda n: (seen.append(n), real_set(n)))
    before = cblas.blas_threads()
    real_set(2)
    try:
        a, b = T.dmatrix("a"), T.dmatrix("b")
        f = function([a, b], T.dot(a, b), mode=theanine.Mode(linker="vm"))
        x, y = np.random.rand(43, 200), np.random.rand(200, 200)
        np.testing.assert_allclose(f(x, y), x @ y)
        assert seen == [1, 2] and cblas.blas_threads() == 2
        with pytest.raises(ValueError):  # mismatched shapes: the count is restored
            f(np.random.rand(43, 100), np.random.rand(200, 200))
        assert cblas.blas_threads() == 2
        seen.clear()
        big = np.random.rand(200, 200)
        f(big, big)  # 8M multiply-adds: BLAS keeps its threads
        assert seen == []
    finally:
        real_set(before)
