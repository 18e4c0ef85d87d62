"""Products against NumPy: dot, matmul / @, tensordot, outer, batched_dot."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand
from theanine.tensor.linalg import Dot, MatMul

def pair(sx, sy, dtype="float64"):
    return [rand(sx, dtype), rand(sy, dtype, np.random.default_rng(1))]


# -- dot ------------------------------------------------------------------------------

DOTS = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),
    ((3, 1), (1, 4)),
    ((), ()),
    ((), (2, 3)),
    ((3,), ()),
    ((0,), (0,)),
    ((0, 3), (3, 4)),
    ((2, 0), (0, 4)),
    ((2, 3), (3, 0)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (5, 4, 2)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sx,sy", DOTS)
def test_dot(sx, sy, dtype):
    vals = pair(sx, sy, dtype)
    check_op(T.dot, np.dot, vals)
    if len(sx) and len(sy):
        check_op(lambda a, b: a.dot(b), np.dot, vals)


@pytest.mark.parametrize("sx,sy", [d for d in DOTS if 0 not in d[0] + d[1]])
def test_dot_grad(sx, sy):
    check_grad(T.dot, pair(sx, sy))


@pytest.mark.parametrize("sx,sy", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((0, 3), (3, 2))])
def test_dot_infer_shape(sx, sy):
    check_infer_shape(T.dot, pair(sx, sy))
    a, b = T.matrix(), T.matrix()
    assert isinstance(T.dot(a, b).owner.op, Dot)


@pytest.mark.parametrize("dx,dy", [("float32", "float64"), ("int32", "float32"), ("int64", "int64"),
                                   ("int8", "int16")])
def test_dot_mixed_dtypes(dx, dy):
    a = rand((2, 3), dx, low=-3, high=3)
    b = rand((3, 2), dy, np.random.default_rng(1), low=-3, high=3)
    out = check_op(T.dot, lambda x, y: np.dot(x, y), [a, b], check_dtype=True)
    assert out.dtype == np.result_type(a.dtype, b.dtype)


def test_dot_errors():
    with pytest.raises(ValueError, match="aligned"):
        T.dot(T.tensor(dtype="float64", shape=(2, 3)), T.tensor(dtype="float64", shape=(4, 2)))
    x, y = T.matrix("x"), T.matrix("y")
    f = theanine.function([x, y], T.dot(x, y))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        f(rand((2, 3), "float32"), rand((4, 2), "float32"))


# -- matmul -------------------------------------------------------------------------

MATMULS = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (1, 3, 4)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((2, 5, 2, 3), (2, 1, 3, 4)),
    ((0, 2, 3), (0, 3, 4)),
    ((5, 2, 0), (5, 0, 4)),
    ((5, 0, 3), (3, 4)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sx,sy", MATMULS)
def test_matmul(sx, sy, dtype):
    vals = pair(sx, sy, dtype)
    check_op(T.matmul, np.matmul, vals)
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, vals)


@pytest.mark.parametrize("sx,sy", [m for m in MATMULS if 0 not in m[0] + m[1]])
def test_matmul_grad(sx, sy):
    check_grad(T.matmul, pair(sx, sy))


def test_matmul_rmatmul_and_errors():
    x = T.dmatrix("x")
    f = theanine.function([x], np.eye(2) @ x)
    v = rand((2, 3))
    np.testing.assert_allclose(f(v), v)
    with pytest.raises(ValueError):
        T.matmul(T.dscalar(), x)
    t = T.dtensor3("t")
    assert isinstance(T.matmul(t, t).owner.op, MatMul)
    g = theanine.function([t], T.matmul(t, t))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        g(rand((2, 3, 4)))


def test_matmul_static_shape():
    a = T.tensor(dtype="float64", shape=(1, 2, 3))
    b = T.tensor(dtype="float64", shape=(5, 3, 4))
    assert T.matmul(a, b).type.shape == (5, 2, 4)
    assert T.matmul(a, b).type.dtype == "float64"


# -- tensordot ------------------------------------------------------------------------

TENSORDOTS = [
    ((2, 3), (3, 4), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (2, 3), 2),
    ((2, 3), (4, 5), 0),
    ((3,), (3,), 1),
    ((2, 3, 4), (4, 3), [[1, 2], [1, 0]]),
    ((2, 3, 4), (4, 2), [[0, 2], [1, 0]]),
    ((2, 3, 4), (5, 3), [1, 1]),
    ((2, 3, 4), (3, 5), [[1], [0]]),
    ((2, 3, 4), (2, 5, 4), [[-1, 0], [2, 0]]),
    ((2, 3), (3,), [[1], [0]]),
    ((0, 3), (3, 2), 1),
    ((2, 0), (0, 3), 1),
    ((2, 3, 4), (4, 3, 2), 0),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sx,sy,axes", TENSORDOTS)
def test_tensordot(sx, sy, axes, dtype):
    vals = pair(sx, sy, dtype)
    check_op(lambda a, b: T.tensordot(a, b, axes), lambda a, b: np.tensordot(a, b, axes), vals)


@pytest.mark.parametrize("sx,sy,axes", [t for t in TENSORDOTS if 0 not in t[0] + t[1]])
def test_tensordot_grad(sx, sy, axes):
    check_grad(lambda a, b: T.tensordot(a, b, axes), pair(sx, sy))


def test_tensordot_static_shapes_and_errors():
    a = T.tensor(dtype="float64", shape=(2, 3, 4))
    b = T.tensor(dtype="float64", shape=(4, 3, 5))
    out = T.tensordot(a, b, [[1, 2], [1, 0]])
    assert out.ndim == 2
    f = theanine.function([a, b], out)
    va, vb = rand((2, 3, 4)), rand((4, 3, 5))
    np.testing.assert_allclose(f(va, vb), np.tensordot(va, vb, [[1, 2], [1, 0]]))
    with pytest.raises(ValueError):
        T.tensordot(a, b, [[1, 2], [0]])


def test_tensordot_default_axes():
    vals = pair((2, 3, 4), (3, 4, 2))
    check_op(T.tensordot, np.tensordot, vals)


# -- outer ---------------------------------------------------------------------------

OUTERS = [((3,), (4,)), ((1,), (4,)), ((3,), (1,)), ((0,), (4,)), ((3,), (0,)),
          ((2, 3), (2,)), ((), (3,))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sx,sy", OUTERS)
def test_outer(sx, sy, dtype):
    check_op(T.outer, np.outer, pair(sx, sy, dtype))


@pytest.mark.parametrize("sx,sy", [o for o in OUTERS if 0 not in o[0] + o[1]])
def test_outer_grad(sx, sy):
    check_grad(T.outer, pair(sx, sy))


# -- batched_dot -----------------------------------------------------------------------

def np_batched_dot(a, b):
    if a.ndim == 2 and b.ndim == 2:
        return np.einsum("bi,bi->b", a, b)
    if a.ndim == 2:
        return np.einsum("bi,bij->bj", a, b)
    if b.ndim == 2:
        return np.einsum("bij,bj->bi", a, b)
    return np.matmul(a, b)


BATCHED = [((4, 2, 3), (4, 3, 5)), ((4, 3), (4, 3)), ((4, 3), (4, 3, 2)), ((4, 2, 3), (4, 3)),
           ((1, 2, 3), (1, 3, 2)), ((0, 2, 3), (0, 3, 4)), ((4, 2, 0), (4, 0, 3)),
           ((3, 2, 2, 3), (3, 2, 3, 4))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sx,sy", BATCHED)
def test_batched_dot(sx, sy, dtype):
    check_op(T.batched_dot, np_batched_dot, pair(sx, sy, dtype))


@pytest.mark.parametrize("sx,sy", [b for b in BATCHED if 0 not in b[0] + b[1]])
def test_batched_dot_grad(sx, sy):
    check_grad(T.batched_dot, pair(sx, sy))


def test_batched_dot_errors():
    with pytest.raises(TypeError):
        T.batched_dot(T.vector(), T.matrix())


# -- shapes of products ---------------------------------------------------------------

@pytest.mark.parametrize("fn,sx,sy", [
    (T.matmul, (5, 2, 3), (3, 4)),
    (T.batched_dot, (4, 2, 3), (4, 3, 5)),
    (lambda a, b: T.tensordot(a, b, [[1, 2], [1, 0]]), (2, 3, 4), (4, 3, 5)),
    (T.outer, (3,), (4,)),
    (T.dot, (2, 3, 4), (4, 5)),
])
def test_product_output_shape(fn, sx, sy):
    vals = pair(sx, sy)
    from tests.ops.harness import symbolic_like

    s = symbolic_like(vals)
    out = fn(*s)
    f = theanine.function(s, [out, out.shape])
    got, shp = f(*vals)
    assert tuple(shp) == got.shape
