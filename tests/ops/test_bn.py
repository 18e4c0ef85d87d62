"""``T.nnet.bn``: ``batch_normalization`` and ``batch_normalization_train`` / ``_test``
against NumPy, float32 and float64, both parameter layouts, running averages, gradients."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.tensor.nnet import bn
from tests.ops.harness import FLOATS, check_grad, check_op, rand


def _stats_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


@pytest.mark.parametrize("mode", ["low_mem", "high_mem"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_batch_normalization(mode, dtype):
    rng = np.random.default_rng(0)
    x = rand((4, 3, 5), dtype, rng)
    g, b, mu = (rand((1, 3, 5), dtype, rng) for _ in range(3))
    sd = rand((1, 3, 5), dtype, rng, 0.5, 2.0)
    got = check_op(lambda *v: bn.batch_normalization(*v, mode=mode),
                   lambda x, g, b, mu, sd: (x - mu) / sd * g + b, [x, g, b, mu, sd],
                   rtol=1e-5 if dtype == "float32" else None)
    assert got.dtype == dtype
    if dtype == "float64":
        check_grad(lambda *v: bn.batch_normalization(*v, mode=mode), [x, g, b, mu, sd],
                   n_tests=1)


def _ref_train(x, g, b, axes, eps, rm=None, rv=None, factor=0.1):
    mean = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    out = (x - mean) * g * invstd + b
    res = [out, mean, invstd]
    if rm is not None:
        m = x.size / mean.size
        res += [rm * (1 - factor) + mean * factor, rv * (1 - factor) + m / (m - 1) * var * factor]
    return res


@pytest.mark.parametrize("axes,norm", [("per-activation", (0,)), ("spatial", (0, 2, 3)),
                                       ((0, 1), (0, 1))], ids=str)
@pytest.mark.parametrize("layout", ["full", "reduced"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_train_and_test(axes, norm, layout, dtype):
    rng = np.random.default_rng(1)
    shape = (6, 3, 2, 4)
    x = rand(shape, dtype, rng, -2, 3)
    full = _stats_shape(shape, norm)
    pshape = full if layout == "full" else tuple(s for i, s in enumerate(shape)
                                                  if i not in norm)
    g, b, rm = (rand(pshape, dtype, rng) for _ in range(3))
    rv = rand(pshape, dtype, rng, 0.5, 1.5)
    ptype = T.TensorType(dtype, tuple(1 if (layout == "full" and s == 1) else None
                                      for s in pshape))
    X = T.TensorType(dtype, (None,) * 4)("x")
    G, B, RM, RV = (ptype(n) for n in "g b rm rv".split())
    res = bn.batch_normalization_train(X, G, B, axes, epsilon=1e-3, running_mean=RM,
                                       running_var=RV)
    assert len(res) == 5
    assert all(r.dtype == dtype for r in res)
    f = theanine.function([X, G, B, RM, RV], list(res))
    got = f(x, g, b, rm, rv)
    ref = _ref_train(*(v.astype("float64") for v in (x, g.reshape(full), b.reshape(full))),
                     norm, 1e-3, rm.reshape(full).astype("float64"),
                     rv.reshape(full).astype("float64"))
    tol = 2e-4 if dtype == "float32" else 1e-10
    for i, (a, r) in enumerate(zip(got, ref)):
        want = r if i == 0 else r.reshape(pshape)
        assert a.shape == want.shape, i
        np.testing.assert_allclose(a, want, rtol=tol, atol=tol)
    # inference with the running statistics
    t = bn.batch_normalization_test(X, G, B, RM, RV, axes, epsilon=1e-3)
    want = (x - rm.reshape(full)) * g.reshape(full) / np.sqrt(rv.reshape(full) + 1e-3) \
        + b.reshape(full)
    np.testing.assert_allclose(theanine.function([X, G, B, RM, RV], t)(x, g, b, rm, rv), want,
                               rtol=tol, atol=tol)
    # without running averages: three outputs
    assert len(bn.batch_normalization_train(X, G, B, axes)) == 3


@pytest.mark.parametrize("axes", ["per-activation", "spatial"])
def test_train_grad(axes):
    rng = np.random.default_rng(2)
    x = rand((5, 2, 3, 2), "float64", rng)
    kept = (1, 2, 3) if axes == "per-activation" else (1,)
    pshape = tuple((5, 2, 3, 2)[i] for i in kept)
    g, b = rand(pshape, "float64", rng), rand(pshape, "float64", rng)
    for k in range(3):  # the output, the mean and the inverse std
        check_grad(lambda a, gg, bb: bn.batch_normalization_train(a, gg, bb, axes)[k],
                   [x, g, b], n_tests=1)


def test_errors():
    x = T.dtensor4()
    v = T.dvector()
    with pytest.raises(ValueError, match="low_mem"):
        bn.batch_normalization(x, v, v, v, v, mode="fast")
    with pytest.raises(ValueError, match="axes"):
        bn.batch_normalization_train(x, v, v, axes="channels")
    with pytest.raises(ValueError, match="less than ndim"):
        bn.batch_normalization_train(x, v, v, axes=(0, 4))
    with pytest.raises(ValueError, match="at least one"):
        bn.batch_normalization_train(x, v, v, axes=())
    with pytest.raises(ValueError, match="epsilon"):
        bn.batch_normalization_train(x, v, v, "spatial", epsilon=1e-6)
    with pytest.raises(ValueError, match="both"):
        bn.batch_normalization_train(x, v, v, "spatial", running_mean=v)
    with pytest.raises(ValueError, match="gamma and beta.*got 1 and 1 instead of 3"):
        bn.batch_normalization_train(x, v, v, "per-activation")
    with pytest.raises(ValueError, match="mean and var"):
        bn.batch_normalization_test(x, v, v, T.dmatrix(), v, "spatial")
