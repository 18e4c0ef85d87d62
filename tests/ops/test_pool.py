"""``pool_2d`` / ``pool_3d`` against explicit loops over the windows (Theano 1.0's window
edges, padding and averages), float32 and float64, with gradients (first and second
order), ``infer_shape``, the old argument names and ``downsample.max_pool_2d``."""

import itertools
import warnings

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.tensor.signal import downsample
from theanine.tensor.signal.pool import (
    AveragePoolGrad,
    MaxPoolGrad,
    MaxPoolGradGrad,
    Pool,
    max_pool_2d_same_size,
    out_shape,
    pool_2d,
    pool_3d,
)
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand

MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def ref_pool(x, ws, ignore_border, stride=None, pad=None, mode="max"):
    """Pool the last ``len(ws)`` axes with explicit loops over the output positions."""
    nd = len(ws)
    stride = stride or ws
    pad = pad or (0,) * nd
    lengths = x.shape[-nd:]

    def out_len(n, w, s, p):
        n += 2 * p
        if ignore_border:
            return max(0, (n - w) // s + 1)
        return (n - 1) // s + 1 if s >= w else max(0, (n - 1 - w) // s + 1) + 1

    outs = [out_len(n, w, s, p) for n, w, s, p in zip(lengths, ws, stride, pad)]
    padded = np.zeros(x.shape[:-nd] + tuple(n + 2 * p for n, p in zip(lengths, pad)), x.dtype)
    padded[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(pad, lengths))] = x
    res = np.zeros(x.shape[:-nd] + tuple(outs), x.dtype)
    for pos in itertools.product(*(range(o) for o in outs)):
        region = []
        for i, j in enumerate(pos):
            lo = j * stride[i]
            hi = min(lo + ws[i], lengths[i] + 2 * pad[i])
            if mode != "average_inc_pad":  # the padding is not part of the window
                lo, hi = max(lo, pad[i]), min(hi, lengths[i] + pad[i])
            region.append(slice(lo, hi))
        window = padded[(Ellipsis,) + tuple(region)]
        axes = tuple(range(-nd, 0))
        fn = {"max": np.max, "sum": np.sum}.get(mode, np.mean)
        res[(Ellipsis,) + pos] = fn(window, axis=axes)
    return res


CASES = [  # (ws, stride, pad, ignore_border)
    ((2, 2), None, (0, 0), True),
    ((2, 2), None, (0, 0), False),
    ((3, 2), (1, 1), (0, 0), False),   # overlapping windows, partial ones kept
    ((3, 2), (1, 1), (0, 0), True),
    ((2, 3), (3, 2), (0, 0), False),   # stride larger than the window
    ((3, 3), (2, 2), (1, 2), True),    # padding
    ((2, 2), (1, 1), (1, 1), True),
    ((1, 1), (2, 1), (0, 0), True),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,stride,pad,ignore_border", CASES, ids=str)
def test_values(ws, stride, pad, ignore_border, mode):
    rng = np.random.default_rng(0)
    for dtype in FLOATS:
        x = rand((2, 3, 7, 6), dtype, rng)
        got = check_op(lambda a: pool_2d(a, ws, ignore_border, stride, pad, mode),
                       lambda a: ref_pool(a, ws, ignore_border, stride, pad, mode), [x])
        assert got.dtype == dtype


@pytest.mark.parametrize("shape", [(6, 5), (2, 5, 7), (2, 1, 2, 5, 4)], ids=str)
def test_any_number_of_leading_dims(shape):
    x = rand(shape, "float64")
    for mode in ("max", "average_exc_pad"):
        check_op(lambda a: pool_2d(a, (2, 3), True, (1, 2), (1, 1), mode),
                 lambda a: ref_pool(a, (2, 3), True, (1, 2), (1, 1), mode), [x])


def test_pool_3d():
    x = rand((2, 3, 5, 4, 6), "float64")
    for mode, ib in (("max", False), ("average_inc_pad", True)):
        check_op(lambda a: pool_3d(a, (2, 2, 3), ib, (2, 1, 2), mode=mode),
                 lambda a: ref_pool(a, (2, 2, 3), ib, (2, 1, 2), mode=mode), [x])
    check_grad(lambda a: pool_3d(a, (2, 2, 2), True, mode="max"), [x], n_tests=1)


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch(mode):
    x = np.zeros((0, 3, 6, 6), "float32")
    X = T.ftensor4()
    out = pool_2d(X, (2, 2), True, mode=mode)
    f = theanine.function([X], [out, T.grad(out.sum(), X)])
    y, g = f(x)
    assert y.shape == (0, 3, 3, 3) and g.shape == x.shape


def test_integer_input_max():
    x = np.array([[[-5, 3, -7], [1, -2, -9]]], dtype="int32")
    check_op(lambda a: pool_2d(a, (2, 2), False), lambda a: ref_pool(a, (2, 2), False), [x])


def test_static_shape():
    x = T.TensorType("float32", (4, 3, 7, 7))()
    assert pool_2d(x, (2, 2), True).type.shape == (4, 3, 3, 3)
    assert pool_2d(x, (2, 2), False).type.shape == (4, 3, 4, 4)
    assert pool_2d(x, (3, 3), True, (2, 2), (1, 1)).type.shape == (4, 3, 4, 4)
    assert out_shape((3, 5, 5), (2, 2), False) == [3, 3, 3]
    assert out_shape((3, 5, 5), (2, 2), True) == [3, 2, 2]


# -- gradients -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,stride,pad,ignore_border", [CASES[1], CASES[2], CASES[5]],
                         ids=str)
def test_grad(ws, stride, pad, ignore_border, mode):
    x = rand((2, 2, 5, 6), "float64", np.random.default_rng(1))
    check_grad(lambda a: pool_2d(a, ws, ignore_border, stride, pad, mode), [x], n_tests=1)


def test_max_grad_goes_to_every_tied_maximum():
    """As in Theano: all elements equal to the window's maximum get its gradient."""
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    X = T.dtensor4()
    g = theanine.function([X], T.grad(pool_2d(X, (2, 2), True).sum(), X))(x)
    np.testing.assert_array_equal(g, [[[[0.0, 1.0], [1.0, 0.0]]]])


@pytest.mark.parametrize("kw", [dict(ws=(2, 2), ignore_border=False),
                                dict(ws=(3, 2), ignore_border=True, stride=(1, 2),
                                     pad=(1, 1))], ids=str)
def test_second_order(kw):
    """The gradient ops have gradients: MaxPoolGrad -> MaxPoolGradGrad -> MaxPoolGrad,
    AveragePoolGrad -> Pool."""
    rng = np.random.default_rng(2)
    x = rand((2, 2, 5, 5), "float64", rng)
    pool = Pool(**kw)
    X = T.dtensor4()
    maxout = theanine.function([X], pool(X))(x)
    gz = rand(maxout.shape, "float64", rng)
    check_grad(lambda g: MaxPoolGrad(**kw)(x, maxout, g), [gz], n_tests=1)
    check_grad(lambda g: MaxPoolGradGrad(**kw)(x, maxout, g), [x * 0 + gz.mean()], n_tests=1)
    for mode in ("sum", "average_exc_pad", "average_inc_pad"):
        check_grad(lambda g: AveragePoolGrad(mode=mode, **kw)(x, g), [gz], n_tests=1)

    def hessian_term(a):
        cost = T.sqr(pool_2d(a, mode="average_inc_pad", **kw)).sum() + \
            T.sqr(pool_2d(a, mode="max", **kw)).sum()
        return T.sqr(T.grad(cost, a)).sum()

    check_grad(hessian_term, [x], n_tests=1)


def test_max_pool_grad_grad_values():
    x = np.array([[[[1.0, 5.0, 2.0], [0.0, 3.0, 4.0]]]])
    ggx = np.array([[[[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]]])
    maxout = ref_pool(x, (2, 2), False)
    a, b, c = T.dtensor4(), T.dtensor4(), T.dtensor4()
    f = theanine.function([a, b, c], MaxPoolGradGrad((2, 2), False)(a, b, c))
    np.testing.assert_array_equal(f(x, maxout, ggx), [[[[20.0, 60.0]]]])


# -- shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ws,stride,pad,ignore_border", CASES[:6], ids=str)
def test_infer_shape(ws, stride, pad, ignore_border):
    rng = np.random.default_rng(3)
    kw = dict(ws=ws, ignore_border=ignore_border, stride=stride, pad=pad)
    x = rand((2, 3, 7, 6), "float64", rng)
    y = ref_pool(x, ws, ignore_border, stride, pad)
    check_infer_shape(lambda a: Pool(**kw)(a), [x])
    check_infer_shape(lambda a, b, c: MaxPoolGrad(**kw)(a, b, c), [x, y, y])
    check_infer_shape(lambda a, b: AveragePoolGrad(mode="sum", **kw)(a, b), [x, y])
    check_infer_shape(lambda a, b, c: MaxPoolGradGrad(**kw)(a, b, c), [x, y, x])


# -- the older spellings, defaults and errors -------------------------------------------------
def test_ignore_border_default_warns_and_is_false():
    X = T.dtensor4()
    with pytest.warns(UserWarning, match="ignore_border"):
        out = pool_2d(X, (2, 2))
    assert not out.owner.op.ignore_border
    x = rand((1, 1, 5, 5), "float64")
    assert theanine.function([X], out)(x).shape == (1, 1, 3, 3)


def test_old_argument_names():
    X = T.dtensor4()
    x = rand((1, 2, 6, 7), "float64")
    with pytest.warns(DeprecationWarning) as record:
        out = pool_2d(X, ds=(3, 3), ignore_border=True, st=(2, 2), padding=(1, 1),
                      mode="average_exc_pad")
    assert sorted(str(w.message).split("'")[1] for w in record) == ["ds", "padding", "st"]
    assert all(w.filename == __file__ for w in record)  # points at the caller
    np.testing.assert_allclose(theanine.function([X], out)(x),
                               ref_pool(x, (3, 3), True, (2, 2), (1, 1), "average_exc_pad"))
    with pytest.raises(ValueError, match="not both"):
        pool_2d(X, ws=(2, 2), ds=(2, 2), ignore_border=True)
    with pytest.raises(ValueError, match="window size"):
        pool_2d(X, ignore_border=True)


def test_downsample_max_pool_2d():
    X = T.dtensor4()
    x = rand((2, 2, 5, 5), "float64")
    with pytest.warns(DeprecationWarning, match="downsample"):
        out = downsample.max_pool_2d(X, (2, 2), ignore_border=False, st=(1, 1))
    np.testing.assert_allclose(theanine.function([X], out)(x),
                               ref_pool(x, (2, 2), False, (1, 1)))


def test_max_pool_2d_same_size():
    x = rand((2, 3, 4, 6), "float64")
    X = T.dtensor4()
    got = theanine.function([X], max_pool_2d_same_size(X, (2, 3)))(x)
    maxima = ref_pool(x, (2, 3), True)
    expected = np.where(x == np.repeat(np.repeat(maxima, 2, axis=2), 3, axis=3), x, 0)
    np.testing.assert_array_equal(got, expected)


def test_errors():
    X = T.dtensor4()
    with pytest.raises(TypeError, match=r"input must have at least 2 dimensions.*'v'.*1-D"):
        pool_2d(T.dvector("v"), (2, 2), True)
    with pytest.raises(NotImplementedError, match="ignore_border=True"):
        pool_2d(X, (2, 2), False, pad=(1, 1))
    with pytest.raises(NotImplementedError, match="smaller than the window"):
        pool_2d(X, (2, 2), True, pad=(2, 0))
    with pytest.raises(ValueError, match="mode"):
        pool_2d(X, (2, 2), True, mode="median")
    with pytest.raises(ValueError, match="ws"):
        pool_2d(X, (2, 0), True)
    with pytest.raises(ValueError, match="stride"):
        pool_2d(X, (2, 2), True, stride=(1,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool_2d(X, (2, 2), ignore_border=True)  # no warning when explicit
