"""Table-driven tests of ``T.nnet``: activations, softmax and cross-entropies against
NumPy/SciPy in float32 and float64, with gradients."""

import numpy as np
import pytest
import scipy.special as sps

import theanine
import theanine.tensor as T
from theanine.tensor import nnet
from tests.ops.harness import FLOATS, check_grad, check_op, rand


def _softplus(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x)).astype(x.dtype)


def _leaky(x, alpha):
    return np.where(x > 0, x, alpha * x).astype(x.dtype)


# (name, theanine fn, numpy ref, domain, has_grad)
ACTIVATIONS = [
    ("sigmoid", nnet.sigmoid, sps.expit, (-4, 4), True),
    ("softplus", nnet.softplus, _softplus, (-4, 4), True),
    ("relu", nnet.relu, lambda x: np.maximum(x, 0), (-2, 2), True),
    ("relu_leaky", lambda x: nnet.relu(x, 0.1), lambda x: _leaky(x, 0.1), (-2, 2), True),
    ("elu", nnet.elu, _elu, (-2, 2), True),
    ("elu_alpha", lambda x: nnet.elu(x, 0.5), lambda x: _elu(x, 0.5), (-2, 2), True),
    ("hard_sigmoid", nnet.hard_sigmoid,
     lambda x: np.clip(0.2 * x + 0.5, 0, 1).astype(x.dtype), (-4, 4), True),
]

def _sp(fn, axis=-1):
    """SciPy's (log-)softmax; an empty input gives an empty output."""
    return lambda x: fn(x, axis=axis) if x.size else x.copy()


# (name, theanine fn, numpy ref, domain, has_grad); these need at least one dimension
AXIS_OPS = [
    ("softmax", nnet.softmax, _sp(sps.softmax), (-3, 3), True),
    ("log_softmax", nnet.log_softmax, _sp(sps.log_softmax), (-3, 3), True),
    ("logsoftmax", nnet.logsoftmax, _sp(sps.log_softmax), (-3, 3), True),
    ("softmax_axis0", lambda x: nnet.softmax(x, axis=0), _sp(sps.softmax, 0), (-3, 3), True),
    ("log_softmax_axis0", lambda x: nnet.log_softmax(x, axis=0), _sp(sps.log_softmax, 0),
     (-3, 3), True),
]

_ids = lambda table: [r[0] for r in table]  # noqa: E731


@pytest.mark.parametrize("shape", [(2, 3), (4,), (), (0, 3), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn,ref,domain,has_grad", ACTIVATIONS, ids=_ids(ACTIVATIONS))
def test_activation_values(name, fn, ref, domain, has_grad, dtype, shape):
    x = rand(shape, dtype, np.random.default_rng(0), *domain)
    got = check_op(fn, ref, [x])
    assert got.dtype == dtype


@pytest.mark.parametrize("name,fn,ref,domain,has_grad", ACTIVATIONS, ids=_ids(ACTIVATIONS))
def test_activation_grad(name, fn, ref, domain, has_grad):
    x = rand((2, 3), "float64", np.random.default_rng(1), *domain)
    x = np.where(np.abs(x) < 0.05, 0.3, x)  # away from the kink at 0
    if name == "hard_sigmoid":
        x = np.where(np.abs(np.abs(x) - 2.5) < 0.05, 1.0, x)  # and from the clip corners
    check_grad(fn, [x])


@pytest.mark.parametrize("name,fn,ref,domain,has_grad", [
    pytest.param(*r, id=r[0]) for r in ACTIVATIONS])
def test_activation_int_input(name, fn, ref, domain, has_grad):
    x = np.array([-2, 0, 3], dtype="int8")
    out = fn(T.bvector())
    assert out.dtype in ("int8", "float32", "float64")  # Python-float constants: floatX
    check_op(fn, lambda v: ref(v.astype(out.dtype)), [x])


@pytest.mark.parametrize("shape", [(2, 3), (4,), (0, 3), (3, 0), (2, 3, 4), (1, 5)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn,ref,domain,has_grad", AXIS_OPS, ids=_ids(AXIS_OPS))
def test_softmax_values(name, fn, ref, domain, has_grad, dtype, shape):
    x = rand(shape, dtype, np.random.default_rng(2), *domain)
    got = check_op(fn, ref, [x])
    assert got.dtype == dtype


@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name,fn,ref,domain,has_grad", AXIS_OPS, ids=_ids(AXIS_OPS))
def test_softmax_grad(name, fn, ref, domain, has_grad, shape):
    check_grad(fn, [rand(shape, "float64", np.random.default_rng(3), *domain)])


@pytest.mark.parametrize("name,fn,ref,domain,has_grad", AXIS_OPS, ids=_ids(AXIS_OPS))
def test_softmax_rejects_scalar(name, fn, ref, domain, has_grad):
    with pytest.raises(TypeError):
        fn(T.dscalar())


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_stable_for_large_inputs(dtype):
    x = np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]], dtype)
    check_op(nnet.softmax, lambda v: sps.softmax(v, axis=-1), [x])
    check_op(nnet.log_softmax, lambda v: sps.log_softmax(v, axis=-1), [x])


def test_softmax_of_list_holding_a_vector_is_one_row_matrix():
    v = T.dvector("v")
    out = nnet.softmax([v])
    assert out.ndim == 2
    x = np.array([0.5, -1.0, 2.0])
    got = theanine.function([v], out)(x)
    assert got.shape == (1, 3)
    np.testing.assert_allclose(got, sps.softmax(x[None, :], axis=-1), rtol=1e-12)
    check_grad(lambda w: nnet.softmax([w]), [x])


def test_softmax_vector_is_row_wise():
    x = np.array([0.5, -1.0, 2.0])
    got = check_op(nnet.softmax, lambda v: sps.softmax(v), [x])
    assert got.shape == (3,)


# -- cross-entropies ---------------------------------------------------------------

def _probs(shape, dtype, rng):
    return sps.softmax(rng.uniform(-2, 2, shape), axis=-1).astype(dtype)


def _cce_int(p, t):
    if p.ndim == 1:
        return -np.log(p[t])
    return -np.log(p[np.arange(p.shape[0]), t])


def _cce_dense(p, t):
    return -np.sum(t * np.log(p), axis=-1)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("tdtype", ["int32", "int64", "int8"])
def test_categorical_crossentropy_int_targets(dtype, tdtype):
    rng = np.random.default_rng(4)
    p = _probs((4, 3), dtype, rng)
    t = rng.integers(0, 3, 4).astype(tdtype)
    got = check_op(nnet.categorical_crossentropy, _cce_int, [p, t])
    assert got.dtype == dtype and got.shape == (4,)
    # one vector of predictions and one integer target
    got = check_op(nnet.categorical_crossentropy, _cce_int, [p[0], np.asarray(2, tdtype)])
    assert got.shape == ()


@pytest.mark.parametrize("dtype", FLOATS)
def test_categorical_crossentropy_one_hot(dtype):
    rng = np.random.default_rng(5)
    p = _probs((4, 3), dtype, rng)
    t = np.eye(3, dtype=dtype)[rng.integers(0, 3, 4)]
    got = check_op(nnet.categorical_crossentropy, _cce_dense, [p, t])
    assert got.dtype == dtype and got.shape == (4,)
    # soft targets, a single vector, and an empty batch
    soft = _probs((4, 3), dtype, rng)
    check_op(nnet.categorical_crossentropy, _cce_dense, [p, soft])
    check_op(nnet.categorical_crossentropy, _cce_dense, [p[0], soft[0]])
    check_op(nnet.categorical_crossentropy, _cce_dense,
             [np.zeros((0, 3), dtype), np.zeros((0, 3), dtype)])
    check_op(nnet.categorical_crossentropy, _cce_int,
             [np.zeros((0, 3), dtype), np.zeros((0,), "int64")])


def test_categorical_crossentropy_int_and_one_hot_agree():
    rng = np.random.default_rng(6)
    p = _probs((5, 4), "float64", rng)
    t = rng.integers(0, 4, 5)
    P, ti, to = T.dmatrix(), T.lvector(), T.dmatrix()
    f = theanine.function([P, ti, to], [nnet.categorical_crossentropy(P, ti),
                                        nnet.categorical_crossentropy(P, to)])
    a, b = f(p, t, np.eye(4)[t])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_categorical_crossentropy_grad():
    rng = np.random.default_rng(7)
    p = _probs((4, 3), "float64", rng)
    t = rng.integers(0, 3, 4)
    check_grad(lambda q: nnet.categorical_crossentropy(q, t), [p])
    check_grad(nnet.categorical_crossentropy, [p, _probs((4, 3), "float64", rng)])
    # through a softmax, as in a classifier
    x = rng.uniform(-2, 2, (4, 3))
    check_grad(lambda z: nnet.categorical_crossentropy(nnet.softmax(z), t), [x])
    check_grad(lambda z: nnet.crossentropy_softmax_1hot(z, t)[0], [x])


def test_categorical_crossentropy_bad_target_rank():
    with pytest.raises(TypeError):
        nnet.categorical_crossentropy(T.dmatrix(), T.lmatrix())
    with pytest.raises(TypeError):
        nnet.categorical_crossentropy(T.dmatrix(), T.dvector())


def test_categorical_crossentropy_target_has_no_gradient():
    p, t = T.dmatrix(), T.lvector()
    g = T.grad(T.sum(nnet.categorical_crossentropy(p, t)), p)
    rng = np.random.default_rng(8)
    pv, tv = _probs((3, 4), "float64", rng), rng.integers(0, 4, 3)
    got = theanine.function([p, t], g)(pv, tv)
    expected = np.zeros_like(pv)
    expected[np.arange(3), tv] = -1.0 / pv[np.arange(3), tv]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def _bce(o, t):
    return -(t * np.log(o) + (1 - t) * np.log(1 - o))


def _sbce(o, t):
    return t * _softplus(-o) + (1 - t) * _softplus(o)


# (name, theanine fn, numpy ref, domain of the first input, has_grad)
BINARY_CE = [
    ("binary_crossentropy", nnet.binary_crossentropy, _bce, (0.05, 0.95), True),
    ("sigmoid_binary_crossentropy", nnet.sigmoid_binary_crossentropy, _sbce, (-4, 4), True),
]


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), (3,)),
                                    ((), ()), ((0, 3), (3,))], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,fn,ref,domain,has_grad", BINARY_CE, ids=_ids(BINARY_CE))
def test_binary_crossentropy_values(name, fn, ref, domain, has_grad, dtype, shapes):
    rng = np.random.default_rng(9)
    o = rand(shapes[0], dtype, rng, *domain)
    t = (rand(shapes[1], dtype, rng, 0, 1) > 0.5).astype(dtype)
    got = check_op(fn, ref, [o, t])
    assert got.dtype == dtype
    soft = rand(shapes[1], dtype, rng, 0, 1)
    check_op(fn, ref, [o, soft])


@pytest.mark.parametrize("name,fn,ref,domain,has_grad", BINARY_CE, ids=_ids(BINARY_CE))
def test_binary_crossentropy_grad(name, fn, ref, domain, has_grad):
    rng = np.random.default_rng(10)
    o = rand((2, 3), "float64", rng, *domain)
    t = rand((2, 3), "float64", rng, 0, 1)
    check_grad(fn, [o, t])
    hard = (t > 0.5).astype("float64")
    check_grad(lambda v: fn(v, hard), [o])


def test_sigmoid_binary_crossentropy_matches_bce_of_sigmoid_and_is_stable():
    rng = np.random.default_rng(11)
    z = rand((3, 4), "float64", rng, -4, 4)
    t = (rand((3, 4), "float64", rng, 0, 1) > 0.5).astype("float64")
    Z, Tt = T.dmatrix(), T.dmatrix()
    f = theanine.function([Z, Tt], [nnet.sigmoid_binary_crossentropy(Z, Tt),
                                    nnet.binary_crossentropy(nnet.sigmoid(Z), Tt)])
    a, b = f(z, t)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    big = np.array([[800.0, -800.0]])
    got = theanine.function([Z, Tt], nnet.sigmoid_binary_crossentropy(Z, Tt))(
        big, np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(got, [[800.0, 800.0]])


def test_leaky_relu_symbolic_alpha():
    rng = np.random.default_rng(12)
    x = rand((2, 3), "float64", rng, -2, 2)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    check_op(nnet.relu, _leaky, [x, np.array(0.2)])
    check_grad(nnet.relu, [x, np.array(0.2)])
