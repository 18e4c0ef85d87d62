"""Bad input: each error names the input or variable, expected vs received, and the
user's line; after any failing call every shared variable is unchanged."""

import re

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function, shared
from theanine.compile.errors import MissingInputError, UnusedInputError

HERE = re.escape(__file__)


@pytest.fixture
def fx():
    x = T.dvector("x")
    W = shared(np.array([1.0, 2.0]), "W")
    f = function([x], (x * W).sum(), updates=[(W, W + x)], name="f")
    return x, W, f


def _unchanged(W):
    np.testing.assert_array_equal(W.get_value(), [1.0, 2.0])


def test_wrong_number_of_arguments(fx):
    x, W, f = fx
    with pytest.raises(TypeError, match=r"takes 1 input\(s\) \(x\), got 2"):
        f(np.zeros(2), np.zeros(2))
    with pytest.raises(TypeError, match="missing input"):
        f()
    _unchanged(W)


def test_unknown_keyword(fx):
    x, W, f = fx
    with pytest.raises(TypeError, match="unknown keyword argument 'y'"):
        f(y=np.zeros(2))


def test_wrong_rank_names_input_and_site(fx):
    x, W, f = fx
    with pytest.raises(TypeError, match=r"'x' \(created at " + HERE + r":\d+\).*expected a "
                       r"1-d value.*got a 2-d value of shape \(2, 2\)"):
        f(np.zeros((2, 2)))
    _unchanged(W)


def test_float64_into_float32_needs_downcast():
    x = T.fvector("x")
    f = function([x], x * 2)
    with pytest.raises(TypeError, match=r"'x'.*float32.*float64.*allow_input_downcast"):
        f(np.array([0.5, 0.25]))
    with pytest.raises(TypeError, match=r"'x'.*exactly"):
        f([0.1])
    s = T.fscalar("s")
    g = function([s], s * 2)
    with pytest.raises(TypeError, match=r"'s'"):
        g(0.1)


def test_non_numeric_value(fx):
    x, W, f = fx
    with pytest.raises(TypeError, match=r"'x'.*numeric.*str"):
        f("hello")
    with pytest.raises(TypeError, match=r"'x'.*numeric"):
        f([object(), object()])
    _unchanged(W)


def test_symbolic_variable_instead_of_value(fx):
    x, W, f = fx
    with pytest.raises(TypeError, match=r"symbolic variable 'x'"):
        f(x)


def test_runtime_shape_mismatch_elementwise(fx):
    x, W, f = fx
    with pytest.raises(ValueError) as err:
        f(np.zeros(3))
    msg = str(err.value)
    for part in ("'x' (created at", "'W' (created at", "length 3", "length 2", __file__):
        assert part in msg
    _unchanged(W)
    a, b = T.dvector("a"), T.dvector("b")
    h = function([a, b], T.exp(a) * b)
    with pytest.raises(ValueError, match=r"do not match in dimension 0.*'a'|'b'"):
        h(np.zeros(3), np.zeros(2))


def test_runtime_shape_mismatch_dot():
    m = T.dmatrix("m")
    v = T.dvector("v")
    f = function([m, v], T.dot(m, v))
    with pytest.raises(ValueError, match=r"'m'.*length 3.*'v'.*length 2"):
        f(np.zeros((2, 3)), np.zeros(2))


def test_runtime_reshape_error():
    x = T.dvector("x")
    f = function([x], x.reshape((2, 2)))
    with pytest.raises(ValueError, match=r"cannot reshape 'x'.*\(3,\).*\(2, 2\)"):
        f(np.zeros(3))


def test_index_out_of_range_names_site():
    x = T.dvector("x")
    W = shared(np.zeros(2), "W")
    f = function([x], x[5], updates=[(W, W + 1)])
    with pytest.raises(IndexError, match="out of bounds") as err:
        f(np.zeros(3))
    assert __file__ in str(err.value)
    np.testing.assert_array_equal(W.get_value(), [0.0, 0.0])


def test_update_of_another_type():
    W = shared(np.zeros(3), "W")
    with pytest.raises(TypeError, match=r"'W'.*float64.*matrix|'W'.*shape=\(\?,\)"):
        function([], updates=[(W, T.zeros((2, 2)))])
    with pytest.raises(TypeError, match=r"'W'.*float64.*float32"):
        function([], updates=[(W, T.cast(W, "float32"))])


def test_grad_of_non_scalar():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"must be a scalar.*with 1 dimensions"):
        theanine.grad(x * 2, x)


def test_grad_of_disconnected_cost():
    x = T.dvector("x")
    y = T.dscalar("y")
    with pytest.raises(ValueError, match=r"not connected to 'x'"):
        theanine.grad(y * 2, x)
    g = theanine.grad(y * 2, x, disconnected_inputs="ignore")
    np.testing.assert_array_equal(g.eval({x: np.ones(3)}), np.zeros(3))


def test_unused_input():
    x = T.dvector("x")
    y = T.dvector("y")
    with pytest.raises(UnusedInputError, match=r"input 1 \('y'"):
        function([x, y], x * 2)
    with pytest.warns(UserWarning, match="not used"):
        function([x, y], x * 2, on_unused_input="warn")


def test_missing_input():
    x = T.dvector("x")
    y = T.dvector("y")
    with pytest.raises(MissingInputError, match=r"'y'"):
        function([x], x + y)


def test_unnamed_input_is_named_by_position():
    x = T.dvector()
    f = function([x], x * 2)
    with pytest.raises(TypeError, match="at index 0"):
        f(np.zeros((1, 1)))


def test_static_broadcast_error_at_build_time():
    a = T.tensor("float64", shape=(3,))
    b = T.tensor("float64", shape=(4,))
    with pytest.raises(ValueError, match="incompatible static shapes"):
        a + b
