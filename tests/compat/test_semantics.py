"""Theano 1.0 semantics that classic programs rely on: truthiness of variables, input
defaults and keywords, stateful inputs, minibatches through ``givens``, integer indices."""

import numpy as np
import pytest

import theanine.tensor as T
from theanine import In, function, shared


def test_variables_are_truthy_and_comparisons_refuse():
    W = shared(np.zeros((2, 2)), "W")
    x = T.dmatrix("x")
    assert W and (x * 2) and T.nnet.sigmoid(x)
    inp = None
    if inp is None or not inp:
        inp = x
    assert inp is x
    for cmp in [x < 1, x <= 1, x > 1, x >= 1, T.eq(x, 1), T.neq(x, 1)]:
        with pytest.raises(TypeError, match="truth value of the symbolic comparison"):
            bool(cmp)
    assert not T.constant(0) and T.constant(3)


def test_input_default_value_and_keyword():
    x, y = T.dscalars("x", "y")
    f = function([x, In(y, value=0.2)], x + y)
    assert f(1.0) == pytest.approx(1.2)
    assert f(1.0, 3.0) == 4.0
    assert f(1.0, y=5.0) == 6.0
    g = function([x, In(y, value=1.0, name="scale")], x * y)
    assert g(2.0, scale=3.0) == 6.0 and g(x=2.0) == 2.0
    with pytest.raises(TypeError, match="unknown keyword argument 'y'"):
        g(2.0, y=3.0)
    assert f[y] == 0.2 and g["scale"] == 1.0
    g["scale"] = 10
    assert g(2.0) == 20.0
    with pytest.raises(KeyError, match="no default value"):
        g[x]


def test_stateful_input_with_update():
    a = T.dscalar("a")
    acc = T.dvector("acc")
    f = function([a, In(acc, value=np.zeros(2), update=acc + a, name="acc")], acc.sum())
    assert [float(f(1.0)), float(f(2.0)), float(f(3.0))] == [0.0, 2.0, 6.0]
    np.testing.assert_array_equal(f["acc"], [6.0, 6.0])
    assert float(f(1.0, acc=np.array([10.0, 10.0]))) == 20.0  # a given value is used...
    np.testing.assert_array_equal(f[acc], [11.0, 11.0])  # ...and updated
    with pytest.raises(TypeError, match="must have the input's type"):
        function([a, In(acc, value=np.zeros(2), update=acc.sum())], a)


def test_stateful_input_without_first_value_is_required_once():
    x = T.dscalar("x")
    f = function([In(x, update=x * 2)], x + 0)
    with pytest.raises(TypeError, match="missing input"):
        f()
    assert f(3.0) == 3.0 and f() == 6.0 and f() == 12.0


@pytest.mark.parametrize("index_type", ["lscalar", "iscalar"])
def test_minibatch_givens_with_shared_slices_and_updates(index_type):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype("int32")
    data_x, data_y = shared(X, borrow=True), shared(Y, borrow=True)
    index = getattr(T, index_type)("index")
    x, y = T.dmatrix("x"), T.ivector("y")
    W, b = shared(np.zeros((3, 2)), "W"), shared(np.zeros(2), "b")
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = T.grad(cost, [W, b])
    bs = 20
    train = function([index], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                     givens={x: data_x[index * bs:(index + 1) * bs],
                             y: data_y[index * bs:(index + 1) * bs]})
    # one step by hand, on minibatch 1
    Wn, bn = np.zeros((3, 2)), np.zeros(2)
    xb, yb = X[20:40], Y[20:40]
    onehot = np.eye(2)[yb]
    pb = np.full((20, 2), 0.5)
    expected_cost = -np.mean(np.log(pb[np.arange(20), yb]))
    assert float(train(1)) == pytest.approx(expected_cost)
    np.testing.assert_allclose(W.get_value(), Wn - 0.5 * xb.T @ (pb - onehot) / 20)
    np.testing.assert_allclose(b.get_value(), bn - 0.5 * (pb - onehot).mean(0))
    for _ in range(30):
        for i in (0, np.int32(1), 2):  # Python and NumPy integers
            train(i)
    errors = function([], T.mean(T.neq(T.argmax(p, axis=1), y)),
                      givens={x: data_x, y: data_y})
    assert float(errors()) < 0.1


def test_integer_index_inputs_take_python_ints():
    i, j = T.lscalar("i"), T.iscalar("j")
    v = shared(np.arange(10.0))
    f = function([i, j], v[i:j].sum())
    assert f(2, 5) == 9.0
    assert f(np.int64(2), np.int16(5)) == 9.0
    with pytest.raises(TypeError):
        f(2.5, 5)
    with pytest.raises(TypeError, match="loss of precision"):  # as Theano: int64 into int32
        f(2, np.int64(5))
