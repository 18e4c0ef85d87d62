"""grad, Lop, Rop, jacobian, hessian and higher-order derivatives."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function, grad
from theanine.gradient import GradientError, NullTypeGradError, verify_grad

rng = np.random.default_rng(0)


def test_grad_list_and_single():
    x = T.dvector("x")
    y = T.dscalar("y")
    cost = (x ** 2).sum() * y
    gx, gy = grad(cost, [x, y])
    f = function([x, y], [gx, gy])
    a = np.array([1.0, 2.0])
    rx, ry = f(a, 3.0)
    np.testing.assert_allclose(rx, 2 * a * 3.0)
    assert float(ry) == 5.0
    assert grad(cost, y).ndim == 0


def test_gradient_keeps_dtype_of_wrt():
    x = T.fvector("x")
    W = theanine.shared(np.ones(2), "W")  # float64
    g = grad((x * W).sum(), x)
    assert g.dtype == "float32"


def test_consider_constant_blocks_gradient():
    x = T.dscalar("x")
    y = x * x
    g = grad(y * x, x, consider_constant=[y])
    assert float(g.eval({x: 3.0})) == 9.0


def test_known_grads():
    x = T.dvector("x")
    h = T.tanh(x)
    gh = T.dvector("gh")
    gx = grad(None, x, known_grads={h: gh})
    a, b = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(function([x, gh], gx)(a, b), b * (1 - np.tanh(a) ** 2))


def test_return_disconnected_options():
    x = T.dvector("x")
    y = T.dscalar("y")
    assert grad(y, x, disconnected_inputs="ignore", return_disconnected="None") is None
    with pytest.warns(UserWarning):
        grad(y, x, disconnected_inputs="warn")


def test_zero_gradient_through_non_differentiable_ops():
    x = T.dvector("x")
    g = grad(T.floor(x).sum() + T.argmax(x).astype("float64"), x)
    np.testing.assert_array_equal(g.eval({x: np.array([0.3, 1.7])}), [0.0, 0.0])


def test_undefined_gradient_raises():
    x = T.dvector("x")
    with pytest.raises(NullTypeGradError, match="tri_gamma"):
        grad(T.tri_gamma(x).sum(), x)


def test_second_and_third_derivatives():
    x = T.dscalar("x")
    y = T.sin(x) * x
    d1 = grad(y, x)
    d2 = grad(d1, x)
    d3 = grad(d2, x)
    f = function([x], [d1, d2, d3])
    v = 0.7
    r1, r2, r3 = (float(a) for a in f(v))
    assert np.isclose(r1, np.cos(v) * v + np.sin(v))
    assert np.isclose(r2, -np.sin(v) * v + 2 * np.cos(v))
    assert np.isclose(r3, -np.cos(v) * v - 3 * np.sin(v))


def test_jacobian_and_hessian():
    x = T.dvector("x")
    J = theanine.jacobian(T.exp(x) * x[0], x)
    a = np.array([0.5, -1.0, 2.0])
    expected = np.diag(np.exp(a) * a[0])
    expected[:, 0] += np.exp(a)
    np.testing.assert_allclose(J.eval({x: a}), expected)
    H = theanine.hessian((x ** 3).sum() + x[0] * x[1], x)
    eh = np.diag(6 * a)
    eh[0, 1] = eh[1, 0] = 1.0
    np.testing.assert_allclose(H.eval({x: a}), eh)


def test_jacobian_of_matrix_wrt_matrix():
    W = T.dmatrix("W")
    v = T.dvector("v")
    J = theanine.jacobian(T.dot(v, W), W)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    got = function([v, W], J)(b, a)
    assert got.shape == (3, 2, 3)
    for i in range(3):
        expected = np.zeros((2, 3))
        expected[:, i] = b
        np.testing.assert_allclose(got[i], expected)


def test_lop_and_rop_match_explicit_jacobian():
    x = T.dvector("x")
    W = T.dmatrix("W")
    y = T.tanh(T.dot(W, x))
    u = T.dvector("u")
    v = T.dvector("v")
    lop = theanine.Lop(y, x, u)
    rop = theanine.Rop(y, x, v)
    J = theanine.jacobian(y, x)
    f = function([x, W, u, v], [lop, rop, J])
    a, m = rng.normal(size=3), rng.normal(size=(4, 3))
    ua, va = rng.normal(size=4), rng.normal(size=3)
    rl, rr, rj = f(a, m, ua, va)
    np.testing.assert_allclose(rl, ua @ rj)
    np.testing.assert_allclose(rr, rj @ va)


def test_rop_of_matrix_product_wrt_matrix():
    x = T.dvector("x")
    W = T.dmatrix("W")
    V = T.dmatrix("V")
    r = theanine.Rop(T.dot(x, W), W, V)
    f = function([x, V], r)
    a, vv = rng.normal(size=2), rng.normal(size=(2, 3))
    np.testing.assert_allclose(f(a, vv), a @ vv)


def test_verify_grad_detects_a_wrong_gradient():
    from theanine.graph.basic import Apply
    from theanine.graph.op import Op
    from theanine.tensor.basic import as_tensor_variable

    class BadSquare(Op):
        def make_node(self, x):
            x = as_tensor_variable(x)
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, out):
            out[0][0] = inputs[0] ** 2

        def L_op(self, inputs, outputs, output_grads):
            return [output_grads[0] * 3 * inputs[0]]  # wrong: should be 2 x

    with pytest.raises(GradientError, match="differs from finite differences"):
        verify_grad(BadSquare(), [np.array([0.5, 1.5])])


def test_gdp_style_gradient_with_verify_grad():
    target = 1.0

    def model(x, W_h, W_o):
        hidden = T.nnet.sigmoid(T.dot(x, W_h))
        pred = T.nnet.sigmoid(T.dot(hidden, W_o))
        return T.sqr(pred - target).sum() + 0.001 * (T.sqr(W_h).sum() + T.sqr(W_o).sum())

    verify_grad(model, [rng.normal(size=11), rng.normal(0, 0.1, (11, 5)),
                        rng.normal(0, 0.1, (5, 1))])
