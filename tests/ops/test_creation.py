"""Creation ops against NumPy (alloc, zeros, ones, full, fill, *_like, eye, identity_like,
arange, constant, as_tensor_variable) and the array ops of tensor.extra (nonzero,
flatnonzero, cumsum, cumprod)."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand
from theanine.config import config
from theanine.graph.basic import Constant
from theanine.tensor.type import TensorType

ALL_DTYPES = ["float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def run(out, inputs=(), vals=()):
    return theanine.function(list(inputs), out, on_unused_input="ignore")(*vals)


# -- alloc ------------------------------------------------------------------------------

ALLOCS = [
    ((), (2, 3)),
    ((3,), (2, 3)),
    ((1, 3), (2, 3)),
    ((2, 1), (2, 4)),
    ((3,), (4, 2, 3)),
    ((2, 3), (2, 3)),
    ((), ()),
    ((), (0, 3)),
    ((1,), (0,)),
    ((3,), (0, 3)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vshape,shape", ALLOCS)
def test_alloc(vshape, shape, dtype):
    v = rand(vshape, dtype)
    out = check_op(lambda a: T.alloc(a, *shape), lambda a: np.broadcast_to(a, shape), [v])
    assert out.flags.writeable
    # symbolic shape entries
    vals = [v] + [np.int64(s) for s in shape]
    check_op(lambda a, *s: T.alloc(a, *s), lambda a, *s: np.broadcast_to(a, shape), vals)


@pytest.mark.parametrize("vshape,shape", [a for a in ALLOCS if 0 not in a[1]])
def test_alloc_grad(vshape, shape):
    check_grad(lambda a: T.alloc(a, *shape), [rand(vshape)])


@pytest.mark.parametrize("vshape,shape", ALLOCS)
def test_alloc_infer_shape(vshape, shape):
    check_infer_shape(lambda a: T.alloc(a, *shape), [rand(vshape)])
    vals = [rand(vshape)] + [np.int64(s) for s in shape]
    check_infer_shape(lambda a, *s: T.alloc(a, *s), vals)


def test_alloc_static_shape_and_errors():
    x, n = T.dvector("x"), T.lscalar("n")
    assert T.alloc(x, 2, 3).type.shape == (2, 3)
    assert T.alloc(x, n, 3).type.shape == (None, 3)
    assert T.alloc(0.0, 1, 3).broadcastable == (True, False)
    with pytest.raises(ValueError):
        T.alloc(T.dmatrix(), 3)
    with pytest.raises(TypeError):
        T.alloc(x, 2.5, 3)
    f = theanine.function([x], T.alloc(x, 2, 3))
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):
        f(np.zeros(4))


# -- zeros / ones / full / fill ---------------------------------------------------------

SHAPES = [(), (3,), (2, 3), (0, 3), (2, 0, 4)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_zeros_ones_full(shape, dtype):
    for fn, ref in ((T.zeros, np.zeros), (T.ones, np.ones)):
        out = fn(shape, dtype=dtype)
        got = run(out)
        assert out.type.dtype == dtype
        np.testing.assert_array_equal(got, ref(shape, dtype))
        assert got.dtype == np.dtype(dtype) and got.shape == shape
    val = True if dtype == "bool" else 3
    out = T.full(shape, val, dtype=dtype)
    np.testing.assert_array_equal(run(out), np.full(shape, val, dtype))
    assert run(out).dtype == np.dtype(dtype)


def test_zeros_default_dtype_and_symbolic_shape():
    assert T.zeros((2, 3)).type.dtype == config.floatX
    assert T.ones(3).type.dtype == config.floatX
    assert T.full((2,), 1.5).type.dtype == config.floatX
    with theanine.change_flags(floatX="float32"):
        assert T.zeros((2,)).type.dtype == "float32"
        assert T.full((2,), 1.5).type.dtype == "float32"
    x = T.dmatrix("x")
    for fn, ref in ((T.zeros, np.zeros), (T.ones, np.ones)):
        out = fn(x.shape)
        np.testing.assert_array_equal(run(out, [x], [rand((2, 5))]), ref((2, 5)))
        out = fn((x.shape[1], 2))
        np.testing.assert_array_equal(run(out, [x], [rand((2, 5))]), ref((5, 2)))
    n = T.lscalar("n")
    np.testing.assert_array_equal(run(T.full(n, 7.0), [n], [4]), np.full(4, 7.0))
    np.testing.assert_array_equal(run(T.zeros(n), [n], [0]), np.zeros(0))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_fill(shape, dtype):
    x = rand(shape, dtype)
    out = check_op(lambda a: T.fill(a, 2.5), lambda a: np.full_like(a, 2.5), [x])
    assert out.dtype == np.dtype(dtype)
    y = rand((), dtype, np.random.default_rng(3))
    check_op(lambda a, b: T.fill(a, b), lambda a, b: np.full_like(a, b), [x, y])


def test_fill_grad():
    check_grad(lambda a, b: T.fill(a, b), [rand((2, 3)), rand(())])
    check_grad(lambda a, b: T.fill(a, b), [rand((2, 3)), rand((3,))])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_zeros_ones_like(shape, dtype):
    x = rand(shape, dtype)
    z = check_op(T.zeros_like, np.zeros_like, [x])
    o = check_op(T.ones_like, np.ones_like, [x])
    assert z.dtype == o.dtype == np.dtype(dtype)
    z32 = check_op(lambda a: T.zeros_like(a, dtype="float32"),
                   lambda a: np.zeros_like(a, dtype="float32"), [x])
    assert z32.dtype == np.float32


def test_zeros_like_grad():
    x = T.dmatrix("x")
    g = theanine.grad((T.zeros_like(x) + x).sum(), x)
    np.testing.assert_array_equal(run(g, [x], [rand((2, 3))]), np.ones((2, 3)))
    g1 = theanine.grad((T.ones_like(x) * x).sum(), x)
    np.testing.assert_array_equal(run(g1, [x], [rand((2, 3))]), np.ones((2, 3)))


# -- eye / identity_like ----------------------------------------------------------------

EYES = [(3, None, 0), (3, 4, 0), (4, 3, 1), (3, 4, -1), (3, 3, 5), (0, None, 0), (2, 0, 0),
        (1, None, 0)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,m,k", EYES)
def test_eye(n, m, k, dtype):
    out = T.eye(n, m, k, dtype=dtype)
    got = run(out)
    np.testing.assert_array_equal(got, np.eye(n, m, k, dtype=dtype))
    assert got.dtype == np.dtype(dtype)
    ns, ms, ks = T.lscalar("n"), T.lscalar("m"), T.lscalar("k")
    got = run(T.eye(ns, ms, ks, dtype=dtype), [ns, ms, ks], [n, n if m is None else m, k])
    np.testing.assert_array_equal(got, np.eye(n, m, k, dtype=dtype))


def test_eye_default_dtype_and_infer_shape():
    assert T.eye(3).type.dtype == config.floatX
    assert T.eye(3, 4).type.shape == (3, 4)
    check_infer_shape(lambda n, m: T.eye(n, m), [np.int64(3), np.int64(2)])


@pytest.mark.parametrize("dtype", FLOATS + ("int32",))
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (0, 3)])
def test_identity_like(shape, dtype):
    x = rand(shape, dtype)
    out = check_op(T.identity_like, lambda a: np.eye(*a.shape, dtype=a.dtype), [x])
    assert out.dtype == np.dtype(dtype)


# -- arange -----------------------------------------------------------------------------

ARANGES = [(5,), (0,), (2, 7), (7, 2), (2, 9, 3), (9, 2, -2), (-3, 3), (0.5, 3.0, 0.5),
           (1, 2.5), (3.0,)]


@pytest.mark.parametrize("args", ARANGES)
def test_arange_constant(args):
    out = T.arange(*args)
    got = run(out)
    exp = np.arange(*args)
    np.testing.assert_allclose(got, exp)
    assert got.shape == exp.shape
    if exp.dtype.kind == "f":
        assert out.type.dtype == config.floatX
    else:
        assert out.type.dtype == exp.dtype


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("args", [(5,), (2, 7), (9, 2, -2), (2, 9, 3), (3, 3)])
def test_arange_symbolic(args, dtype):
    syms = [T.tensor(dtype=dtype, shape=()) for _ in args]
    out = T.arange(*syms)
    got = run(out, syms, [np.asarray(a, dtype) for a in args])
    exp = np.arange(*args, dtype=dtype)
    np.testing.assert_array_equal(got, exp)
    assert got.dtype == np.dtype(out.type.dtype) == np.dtype(dtype)


def test_arange_dtype_and_errors():
    got = run(T.arange(5, dtype="float32"))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.arange(5, dtype="float32"))
    assert T.arange(2, 7).type.shape == (5,)
    n = T.lscalar("n")
    f = theanine.function([n], T.arange(0, 5, n))
    with pytest.raises(ValueError, match="step"):
        f(0)
    g = theanine.function([n], T.arange(n).shape)
    assert g(4).tolist() == [4]


# -- constant / as_tensor_variable ------------------------------------------------------

CONSTANTS = [
    (3, "int64", ()),
    (-2**40, "int64", ()),
    (2.5, None, ()),
    (True, "bool", ()),
    (1 + 2j, None, ()),
    ([1, 2, 3], "int64", (3,)),
    ([1.0, 2.0], None, (2,)),
    ([[1, 2], [3, 4]], "int64", (2, 2)),
    (np.arange(6, dtype="int8").reshape(2, 3), "int8", (2, 3)),
    (np.zeros((0, 3), "float32"), "float32", (0, 3)),
    (np.float32(1.5), "float32", ()),
    (np.array(7, dtype="uint16"), "uint16", ()),
    ([], "float64", (0,)),
]


@pytest.mark.parametrize("value,dtype,shape", CONSTANTS)
def test_constant_and_as_tensor_variable(value, dtype, shape):
    for conv in (T.constant, T.as_tensor_variable):
        c = conv(value)
        assert isinstance(c, Constant)
        assert c.type.shape == shape
        exp_dtype = dtype or np.asarray(value).dtype.name
        if isinstance(value, float) or (isinstance(value, list) and value
                                        and isinstance(value[0], float)):
            exp_dtype = config.floatX
        if isinstance(value, complex):
            exp_dtype = "complex128" if config.floatX == "float64" else "complex64"
        assert c.type.dtype == exp_dtype
        np.testing.assert_array_equal(c.eval(), np.asarray(value))
        np.testing.assert_array_equal(run(c * 1 if c.type.dtype != "bool" else c | False),
                                      np.asarray(value))


def test_constant_floatx_float32():
    with theanine.change_flags(floatX="float32"):
        assert T.constant(1.5).type.dtype == "float32"
        assert T.constant([1.0, 2.0]).type.dtype == "float32"
        assert T.constant(np.array([1.0, 2.0])).type.dtype == "float64"


def test_constant_options_and_errors():
    c = T.constant([1, 2], name="c", dtype="float32")
    assert c.name == "c" and c.type.dtype == "float32"
    assert T.constant(3, ndim=2).type.shape == (1, 1)
    assert T.constant([[5]], ndim=0).type.shape == ()
    with pytest.raises(ValueError):
        T.constant([1, 2], ndim=0)
    with pytest.raises(TypeError):
        T.constant("abc")
    with pytest.raises(TypeError):
        T.constant(T.scalar())
    with pytest.raises(TypeError):
        T.constant([[1, 2], [3]])
    c = T.constant(np.ones(3))
    with pytest.raises(ValueError):
        c.data[0] = 2.0


def test_as_tensor_variable_of_variables():
    x = T.dmatrix("x")
    assert T.as_tensor_variable(x) is x
    assert T.as_tensor_variable(x, dtype="float32").type.dtype == "float32"
    with pytest.raises(TypeError):
        T.as_tensor_variable(x, ndim=1)
    r = T.drow("r")
    assert T.as_tensor_variable(r, ndim=1).ndim == 1
    a, b = T.dscalar("a"), T.dscalar("b")
    v = T.as_tensor_variable([a, b, 3.0])
    assert v.ndim == 1 and v.type.shape == (3,)
    np.testing.assert_array_equal(run(v, [a, b], [1.0, 2.0]), [1.0, 2.0, 3.0])
    m = T.as_tensor_variable([[a, b], [b, a]])
    np.testing.assert_array_equal(run(m, [a, b], [1.0, 2.0]), [[1.0, 2.0], [2.0, 1.0]])
    assert T.as_tensor_variable(x.owner if x.owner else (x * 2).owner).ndim == 2
    with pytest.raises(TypeError):
        T.as_tensor_variable(object())


# -- nonzero / flatnonzero --------------------------------------------------------------

NZ = [(5,), (3, 4), (2, 3, 2), (0,), (0, 3), (1,)]


@pytest.mark.parametrize("dtype", FLOATS + ("int32", "bool"))
@pytest.mark.parametrize("shape", NZ)
def test_nonzero(shape, dtype):
    x = rand(shape, dtype, low=-1, high=1)
    if x.dtype.kind == "f":
        x = np.where(x > 0.2, x, 0).astype(dtype)
    got = check_op(lambda a: T.nonzero(a), lambda a: np.nonzero(a), [x])
    assert all(g.dtype == np.int64 for g in got)
    check_op(lambda a: a.nonzero(), lambda a: np.nonzero(a), [x])
    check_op(lambda a: T.nonzero(a, return_matrix=True), lambda a: np.array(np.nonzero(a)), [x])
    check_op(T.flatnonzero, np.flatnonzero, [x])
    # the result indexes the tensor
    check_op(lambda a: a[T.nonzero(a)], lambda a: a[np.nonzero(a)], [x])


def test_nonzero_errors():
    with pytest.raises(ValueError):
        T.nonzero(T.dscalar())
    check_op(T.flatnonzero, np.flatnonzero, [np.float64(2.0)])


# -- cumsum / cumprod -------------------------------------------------------------------

CUMS = [((5,), None), ((5,), 0), ((5,), -1), ((3, 4), None), ((3, 4), 0), ((3, 4), 1),
        ((2, 3, 4), 1), ((2, 3, 4), -1), ((0, 3), 0), ((0, 3), None), ((3, 0), 1), ((), None)]


@pytest.mark.parametrize("dtype", FLOATS + ("int32", "int64"))
@pytest.mark.parametrize("shape,axis", CUMS)
def test_cumsum_cumprod(shape, axis, dtype):
    x = rand(shape, dtype, low=-3, high=3)
    got = check_op(lambda a: T.cumsum(a, axis), lambda a: np.cumsum(a, axis), [x],
                   rtol=1e-5 if dtype == "float32" else None)
    assert got.dtype == np.cumsum(x, axis).dtype
    got = check_op(lambda a: T.cumprod(a, axis), lambda a: np.cumprod(a, axis), [x])
    assert got.dtype == np.cumprod(x, axis).dtype


@pytest.mark.parametrize("shape,axis", [c for c in CUMS if 0 not in c[0]])
def test_cumsum_grad(shape, axis):
    check_grad(lambda a: T.cumsum(a, axis), [rand(shape)])


def test_cumprod_grad_not_implemented():
    x = T.dvector("x")
    with pytest.raises(Exception, match="cumprod"):
        theanine.grad(T.cumprod(x).sum(), x)


def test_cum_axis_errors():
    with pytest.raises(ValueError):
        T.cumsum(T.matrix(), 2)
    with pytest.raises(ValueError):
        T.cumprod(T.matrix(), -3)


def test_types_are_tensor_types():
    for out in (T.zeros((2,)), T.eye(2), T.arange(3), T.alloc(1.0, 2), T.cumsum(T.vector())):
        assert isinstance(out.type, TensorType)
