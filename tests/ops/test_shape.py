"""Shape ops against NumPy: shape, reshape, dimshuffle, transpose, flatten, squeeze,
expand_dims, shape_pad*, specify_shape and the broadcast-pattern helpers."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand
from theanine.tensor.type import TensorType


def sym(shape, dtype="float64", name="x"):
    """A symbolic input with ``shape`` (None entries unknown)."""
    return TensorType(dtype, shape)(name)


# -- shape --------------------------------------------------------------------------

SHAPES = [(), (3,), (2, 3), (0, 3), (2, 0, 4), (1, 2, 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp", SHAPES)
def test_shape(shp, dtype):
    x = rand(shp, dtype)
    got = check_op(lambda v: v.shape, lambda v: np.array(v.shape, dtype="int64"), [x])
    assert got.dtype == np.int64
    check_op(T.shape, lambda v: np.array(v.shape, dtype="int64"), [x])
    for k in range(len(shp)):
        check_op(lambda v, k=k: v.shape[k], lambda v, k=k: np.int64(v.shape[k]), [x])
        check_op(lambda v, k=k: v.shape[k - len(shp)], lambda v, k=k: np.int64(v.shape[k]), [x])


def test_shape_infer_shape():
    check_infer_shape(T.shape, [rand((2, 5))])
    check_infer_shape(T.shape, [rand(())])


def test_shape_arithmetic():
    x = T.matrix("x")
    f = theanine.function([x], x.shape[0] * x.shape[1] + x.size)
    assert int(f(np.zeros((3, 4)))) == 24


# -- reshape ------------------------------------------------------------------------

RESHAPES = [
    ((2, 3), (3, 2)),
    ((2, 3), (-1,)),
    ((2, 3), (1, -1)),
    ((2, 3), (-1, 1)),
    ((6,), (2, -1)),
    ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (2, 2, 3, 2)),
    ((24,), (2, 3, -1)),
    ((0, 3), (3, 0)),
    ((0, 3), (-1, 3)),
    ((0,), (0, 5)),
    ((), (1,)),
    ((), (1, 1)),
    ((1,), ()),
    ((1, 1), ()),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,new", RESHAPES)
def test_reshape(shp, new, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.reshape(v, new), lambda v: np.reshape(v, new), [x])
    check_op(lambda v: v.reshape(new), lambda v: np.reshape(v, new), [x])


@pytest.mark.parametrize("shp,new", [r for r in RESHAPES if 0 not in r[0]])
def test_reshape_grad(shp, new):
    check_grad(lambda v: T.reshape(v, new), [rand(shp)])


@pytest.mark.parametrize("shp,new", RESHAPES)
def test_reshape_infer_shape(shp, new):
    check_infer_shape(lambda v: T.reshape(v, new), [rand(shp)])


def test_reshape_varargs_and_int():
    x = T.matrix("x")
    f = theanine.function([x], [x.reshape(3, 2), x.reshape(6), T.reshape(x, 6)])
    v = rand((2, 3))
    a, b, c = f(v)
    np.testing.assert_array_equal(a, v.reshape(3, 2))
    np.testing.assert_array_equal(b, v.reshape(6))
    np.testing.assert_array_equal(c, v.reshape(6))


def test_reshape_symbolic_shape_entries():
    x = T.matrix("x")
    out = x.reshape((x.shape[1], x.shape[0]))
    check_op(lambda v: v.reshape((v.shape[1], v.shape[0])), lambda v: v.reshape(v.shape[::-1]),
             [rand((2, 3))])
    assert out.ndim == 2
    check_grad(lambda v: v.reshape((v.shape[1], -1)), [rand((2, 3))])
    check_infer_shape(lambda v: v.reshape((v.shape[1], -1)), [rand((2, 3))])
    check_infer_shape(lambda v: v.reshape((-1, v.shape[0] * 2)), [rand((2, 4))])


def test_reshape_symbolic_shape_vector():
    x = T.matrix("x")
    s = T.lvector("s")
    f = theanine.function([x, s], T.reshape(x, s, ndim=2))
    v = rand((2, 6))
    np.testing.assert_array_equal(f(v, np.array([3, 4])), v.reshape(3, 4))
    np.testing.assert_array_equal(f(v, np.array([-1, 2])), v.reshape(-1, 2))
    s32 = T.ivector("s")
    f = theanine.function([x, s32], T.reshape(x, s32, ndim=3))
    np.testing.assert_array_equal(f(v, np.array([2, 2, 3], "int32")), v.reshape(2, 2, 3))
    with pytest.raises(ValueError, match="ndim"):
        T.reshape(x, s)


def test_reshape_static_shape():
    x = sym((2, 3))
    assert x.reshape((3, 2)).type.shape == (3, 2)
    assert x.reshape((1, -1)).type.shape == (1, 6)
    assert x.reshape((1, -1)).broadcastable == (True, False)
    assert T.matrix().reshape((1, -1)).broadcastable == (True, False)
    with pytest.raises(ValueError):
        x.reshape((4, 2))
    with pytest.raises(ValueError, match="-1"):
        x.reshape((-1, -1))
    with pytest.raises(TypeError, match="integers"):
        T.reshape(x, T.dvector(), ndim=2)
    with pytest.raises(TypeError, match="integers"):
        x.reshape((2.0, 3.0))


def test_reshape_runtime_error_names_shapes():
    x = T.matrix("x")
    f = theanine.function([x], x.reshape((4, -1)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, -1\)"):
        f(rand((2, 3)))
    g = theanine.function([x], x.reshape((5, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(5, 2\)"):
        g(rand((2, 3)))


def test_reshape_int_dtypes():
    x = rand((2, 3), "int32", low=-5, high=5)
    check_op(lambda v: v.reshape((3, 2)), lambda v: v.reshape(3, 2), [x])
    xb = rand((2, 3), "bool")
    check_op(lambda v: v.reshape((-1,)), lambda v: v.reshape(-1), [xb])


# -- dimshuffle / transpose ----------------------------------------------------------

def np_dimshuffle(v, pattern):
    kept = [d for d in pattern if d != "x"]
    drop = tuple(d for d in range(v.ndim) if d not in kept)
    v = np.squeeze(v, axis=drop) if drop else v
    remaining = [d for d in range(v.ndim + len(drop)) if d not in drop]
    v = np.transpose(v, [remaining.index(d) for d in kept])
    augment = tuple(i for i, d in enumerate(pattern) if d == "x")
    return np.expand_dims(v, augment) if augment else v


DIMSHUFFLES = [
    ((2, 3), (1, 0)),
    ((2, 3), ("x", 0, 1)),
    ((2, 3), (0, "x", 1)),
    ((2, 3), (1, "x", 0, "x")),
    ((2, 3, 4), (2, 0, 1)),
    ((2, 3, 4), (1, 2, 0)),
    ((2, 1, 3), (0, 2)),
    ((2, 1, 3), (2, 0)),
    ((1, 3), (1,)),
    ((1,), ()),
    ((1, 1), ()),
    ((1,), ("x",)),
    ((), ("x", "x")),
    ((), ()),
    ((4,), (0, "x")),
    ((0, 3), (1, "x", 0)),
    ((2, 0), (1, 0)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,pattern", DIMSHUFFLES)
def test_dimshuffle(shp, pattern, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: v.dimshuffle(pattern), lambda v: np_dimshuffle(v, pattern), [x])
    check_op(lambda v: T.dimshuffle(v, pattern), lambda v: np_dimshuffle(v, pattern), [x])


@pytest.mark.parametrize("shp,pattern", [d for d in DIMSHUFFLES if 0 not in d[0]])
def test_dimshuffle_grad(shp, pattern):
    check_grad(lambda v: v.dimshuffle(pattern), [rand(shp)])


@pytest.mark.parametrize("shp,pattern", [d for d in DIMSHUFFLES if d[1] != tuple(range(len(d[0])))])
def test_dimshuffle_infer_shape(shp, pattern):
    check_infer_shape(lambda v: v.dimshuffle(pattern), [rand(shp)])


def test_dimshuffle_varargs_and_broadcastable():
    x = T.matrix("x")
    assert x.dimshuffle("x", 0, 1).broadcastable == (True, False, False)
    assert x.dimshuffle(1, 0).broadcastable == (False, False)
    assert x.dimshuffle((1, "x", 0)).broadcastable == (False, True, False)
    r = T.row("r")
    assert r.dimshuffle(1).broadcastable == (False,)


@pytest.mark.parametrize("pattern", [(0,), (0, 0), (0, 1, 2), (2, 0), ("y", 0)])
def test_dimshuffle_invalid(pattern):
    x = T.matrix("x")  # neither dimension broadcastable: none can be dropped
    with pytest.raises((ValueError, TypeError)):
        x.dimshuffle(pattern)


TRANSPOSES = [((2, 3), None), ((2, 3, 4), None), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4), (2, 0, 1)),
              ((3,), None), ((), None), ((0, 2), None), ((2, 3, 4), (-1, 0, 1))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,axes", TRANSPOSES)
def test_transpose(shp, axes, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.transpose(v, axes), lambda v: np.transpose(v, axes), [x])
    if axes is None:
        check_op(lambda v: v.T, lambda v: v.T, [x])
        check_op(lambda v: v.transpose(), lambda v: v.transpose(), [x])
    else:
        check_op(lambda v: v.transpose(*axes), lambda v: v.transpose(*axes), [x])
        check_op(lambda v: v.transpose(axes), lambda v: v.transpose(axes), [x])


@pytest.mark.parametrize("shp,axes", [t for t in TRANSPOSES if 0 not in t[0]])
def test_transpose_grad(shp, axes):
    check_grad(lambda v: T.transpose(v, axes), [rand(shp)])


# -- flatten ------------------------------------------------------------------------

FLATTENS = [((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), 3), ((2, 3), 1), ((2, 3), 2), ((5,), 1),
            ((0, 3), 1), ((3, 0, 2), 2), ((2, 3, 4, 5), 2), ((2, 3, 4, 5), 3), ((1, 1), 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,nd", FLATTENS)
def test_flatten(shp, nd, dtype):
    x = rand(shp, dtype)

    def ref(v):
        return v.reshape(v.shape[: nd - 1] + (-1,)) if v.size else \
            v.reshape(v.shape[: nd - 1] + (int(np.prod(v.shape[nd - 1:])),))

    got = check_op(lambda v: T.flatten(v, nd), ref, [x])
    assert got.ndim == nd
    check_op(lambda v: v.flatten(nd), ref, [x])
    check_op(lambda v: T.flatten(v, outdim=nd), ref, [x])


def test_flatten_scalar():
    check_op(lambda v: v.flatten(), lambda v: v.reshape(-1), [rand(())])


@pytest.mark.parametrize("shp,nd", [f for f in FLATTENS if 0 not in f[0]])
def test_flatten_grad(shp, nd):
    check_grad(lambda v: T.flatten(v, nd), [rand(shp)])


@pytest.mark.parametrize("shp,nd", FLATTENS)
def test_flatten_infer_shape(shp, nd):
    check_infer_shape(lambda v: T.flatten(v, nd), [rand(shp)])


def test_flatten_bad_ndim():
    x = T.matrix()
    with pytest.raises(ValueError):
        T.flatten(x, 3)
    with pytest.raises(ValueError):
        T.flatten(x, 0)


# -- squeeze / expand_dims / shape_pad* --------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp", [(1, 3, 1), (1,), (3,), (1, 1), (2, 1, 0), ()])
def test_squeeze_broadcastable(shp, dtype):
    x = rand(shp, dtype)
    check_op(T.squeeze, np.squeeze, [x])
    check_op(lambda v: v.squeeze(), np.squeeze, [x])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,axis", [((1, 3, 1), 0), ((1, 3, 1), -1), ((1, 3, 1), (0, 2)),
                                      ((2, 1), 1)])
def test_squeeze_axis(shp, axis, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.squeeze(v, axis), lambda v: np.squeeze(v, axis), [x])
    # on a variable whose dims are not declared broadcastable: checked at run time
    v = T.tensor(dtype=dtype, shape=(None,) * len(shp))
    f = theanine.function([v], T.squeeze(v, axis))
    np.testing.assert_array_equal(f(x), np.squeeze(x, axis))
    with pytest.raises(ValueError):
        f(rand(tuple(s + 1 for s in shp), dtype))


@pytest.mark.parametrize("shp,axis", [((1, 3, 1), None), ((1, 3, 1), 0), ((2, 1), 1)])
def test_squeeze_grad(shp, axis):
    check_grad(lambda v: T.squeeze(v, axis), [rand(shp)])


EXPANDS = [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((2, 3), (0, 2)),
           ((2, 3), (0, -1)), ((), 0), ((0, 3), 1), ((4,), (0, 1, 2))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,axis", EXPANDS)
def test_expand_dims(shp, axis, dtype):
    x = rand(shp, dtype)
    out = check_op(lambda v: T.expand_dims(v, axis), lambda v: np.expand_dims(v, axis), [x])
    assert out.ndim == len(shp) + (1 if isinstance(axis, int) else len(axis))


@pytest.mark.parametrize("shp,axis", [e for e in EXPANDS if 0 not in e[0]])
def test_expand_dims_grad(shp, axis):
    check_grad(lambda v: T.expand_dims(v, axis), [rand(shp)])


def test_expand_dims_bad_axis():
    with pytest.raises(ValueError):
        T.expand_dims(T.matrix(), 3)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp", [(), (3,), (2, 3), (0, 2)])
@pytest.mark.parametrize("n", [1, 2])
def test_shape_pad(shp, n, dtype):
    x = rand(shp, dtype)
    out = check_op(lambda v: T.shape_padleft(v, n), lambda v: v.reshape((1,) * n + v.shape), [x])
    assert out.shape[:n] == (1,) * n
    check_op(lambda v: T.shape_padright(v, n), lambda v: v.reshape(v.shape + (1,) * n), [x])
    s = T.tensor(dtype=dtype, shape=(None,) * len(shp))
    assert T.shape_padleft(s, n).broadcastable[:n] == (True,) * n
    assert T.shape_padright(s, n).broadcastable[len(shp):] == (True,) * n


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1),
                                      ((), 0), ((0,), 1)])
def test_shape_padaxis(shp, axis, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.shape_padaxis(v, axis), lambda v: np.expand_dims(v, axis), [x])


def test_shape_pad_grad():
    check_grad(lambda v: T.shape_padleft(v, 2), [rand((2, 3))])
    check_grad(lambda v: T.shape_padright(v), [rand((2, 3))])
    check_grad(lambda v: T.shape_padaxis(v, 1), [rand((2, 3))])


# -- specify_shape -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,spec", [((2, 3), (2, 3)), ((2, 3), (None, 3)), ((2, 3), (2, None)),
                                      ((0, 3), (0, 3)), ((), ()), ((4,), (4,))])
def test_specify_shape(shp, spec, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.specify_shape(v, spec), lambda v: v, [x])
    v = T.tensor(dtype=dtype, shape=(None,) * len(shp))
    out = T.specify_shape(v, spec)
    assert out.type.shape == tuple(spec)
    check_infer_shape(lambda v: T.specify_shape(v, spec), [x])


def test_specify_shape_errors():
    x = T.matrix("x")
    f = theanine.function([x], T.specify_shape(x, (2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 3\)"):
        f(rand((3, 3)))
    with pytest.raises(ValueError):
        T.specify_shape(x, (2,))
    with pytest.raises(ValueError):
        T.specify_shape(sym((2, 3)), (3, 3))


def test_specify_shape_grad():
    check_grad(lambda v: T.specify_shape(v, (2, None)) * 2, [rand((2, 3))])


# -- broadcast patterns --------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_addbroadcast_unbroadcast(dtype):
    x = T.tensor(dtype=dtype, shape=(None, None))
    b = T.addbroadcast(x, 0)
    assert b.broadcastable == (True, False)
    u = T.unbroadcast(b, 0)
    assert u.broadcastable == (False, False)
    p = T.patternbroadcast(x, (False, True))
    assert p.broadcastable == (False, True)
    assert T.patternbroadcast(x, (False, False)) is x
    v = rand((1, 3), dtype)
    f = theanine.function([x], [b, u, b * 2])
    got_b, got_u, got_2 = f(v)
    np.testing.assert_array_equal(got_b, v)
    np.testing.assert_array_equal(got_u, v)
    np.testing.assert_array_equal(got_2, v * 2)
    # a broadcastable dimension is checked at run time
    with pytest.raises(ValueError, match="broadcastable"):
        f(rand((2, 3), dtype))
    # and it broadcasts against other shapes
    y = T.tensor(dtype=dtype, shape=(None, None))
    g = theanine.function([x, y], T.addbroadcast(x, 0) + y)
    w = rand((4, 3), dtype)
    np.testing.assert_allclose(g(v, w), v + w)


def test_rebroadcast_empty_and_0d():
    check_op(lambda v: T.unbroadcast(v, 0), lambda v: v, [rand((1, 0))])
    check_op(lambda v: T.addbroadcast(v, 1), lambda v: v, [rand((0, 1))])


def test_rebroadcast_grad_and_infer_shape():
    check_grad(lambda v: T.addbroadcast(T.unbroadcast(v, 0), 0) * v, [rand((1, 3))])
    check_grad(lambda v: T.unbroadcast(v, 0), [rand((1, 3))])
    check_grad(lambda v: T.addbroadcast(v, 1), [rand((3, 1))])
    check_infer_shape(lambda v: T.addbroadcast(v, 0), [rand((1, 3))])
    check_infer_shape(lambda v: T.unbroadcast(v, 0), [rand((1, 3))])


def test_rebroadcast_bad_axis():
    with pytest.raises(ValueError):
        T.addbroadcast(T.matrix(), 2)


# -- join / concatenate ------------------------------------------------------------------

JOINS = [
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 4)], 1),
    ([(2, 3), (2, 3)], -1),
    ([(2, 3, 4), (2, 1, 4), (2, 2, 4)], 1),
    ([(3,), (2,), (1,)], 0),
    ([(0, 3), (2, 3)], 0),
    ([(0, 3), (0, 3)], 0),
    ([(2, 0), (2, 3)], 1),
    ([(2, 3), (2, 3)], 0),
    ([(1, 3), (1, 3)], 0),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes,axis", JOINS)
def test_concatenate(shapes, axis, dtype):
    vals = [rand(s, dtype, np.random.default_rng(k)) for k, s in enumerate(shapes)]
    ref = lambda *vs: np.concatenate(vs, axis=axis)  # noqa: E731
    check_op(lambda *vs: T.concatenate(vs, axis=axis), ref, vals)
    check_op(lambda *vs: T.join(axis, *vs), ref, vals)


@pytest.mark.parametrize("shapes,axis", [j for j in JOINS if not any(0 in s for s in j[0])])
def test_concatenate_grad(shapes, axis):
    vals = [rand(s, rng=np.random.default_rng(k)) for k, s in enumerate(shapes)]
    check_grad(lambda *vs: T.concatenate(vs, axis=axis), vals)


@pytest.mark.parametrize("shapes,axis", JOINS)
def test_concatenate_infer_shape(shapes, axis):
    vals = [rand(s, rng=np.random.default_rng(k)) for k, s in enumerate(shapes)]
    check_infer_shape(lambda *vs: T.concatenate(vs, axis=axis), vals)


def test_concatenate_mixed_dtypes_and_single():
    a, b = rand((2, 2), "float32"), rand((1, 2), "float64")
    out = check_op(lambda x, y: T.concatenate([x, y]), lambda x, y: np.concatenate([x, y]), [a, b])
    assert out.dtype == np.float64
    i = rand((2, 2), "int32", low=-4, high=4)
    check_op(lambda x, y: T.concatenate([x, y], axis=1), lambda x, y: np.concatenate([x, y], 1),
             [i, a])
    x = T.matrix("x")
    assert T.concatenate([x]) is x
    check_op(lambda v: T.concatenate([v, np.ones((1, 3))]),
             lambda v: np.concatenate([v, np.ones((1, 3))]), [rand((2, 3))])


def test_concatenate_errors():
    with pytest.raises(TypeError):
        T.concatenate([T.matrix(), T.vector()])
    with pytest.raises(ValueError):
        T.concatenate([T.matrix(), T.matrix()], axis=2)
    with pytest.raises(ValueError):
        T.concatenate([sym((2, 3)), sym((2, 4))], axis=0)
    x, y = T.matrix("x"), T.matrix("y")
    f = theanine.function([x, y], T.concatenate([x, y]))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        f(rand((2, 3), "float32"), rand((2, 4), "float32"))


# -- stack --------------------------------------------------------------------------

STACKS = [
    ([(), (), ()], 0),
    ([(3,), (3,)], 0),
    ([(3,), (3,)], 1),
    ([(3,), (3,)], -1),
    ([(2, 3), (2, 3), (2, 3)], 0),
    ([(2, 3), (2, 3)], 1),
    ([(2, 3), (2, 3)], 2),
    ([(2, 3), (2, 3)], -2),
    ([(0, 3), (0, 3)], 1),
    ([(0,), (0,)], 0),
    ([(2, 3)], 0),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes,axis", STACKS)
def test_stack(shapes, axis, dtype):
    vals = [rand(s, dtype, np.random.default_rng(k)) for k, s in enumerate(shapes)]
    check_op(lambda *vs: T.stack(vs, axis=axis), lambda *vs: np.stack(vs, axis=axis), vals)


@pytest.mark.parametrize("shapes,axis", [s for s in STACKS if not any(0 in x for x in s[0])])
def test_stack_grad(shapes, axis):
    vals = [rand(s, rng=np.random.default_rng(k)) for k, s in enumerate(shapes)]
    check_grad(lambda *vs: T.stack(vs, axis=axis), vals)


def test_stack_scalars_mixed():
    x, y = T.dscalar("x"), T.iscalar("y")
    out = T.stack([x, y, 2.5])
    assert out.ndim == 1 and out.type.dtype == "float64"
    f = theanine.function([x, y], out)
    np.testing.assert_array_equal(f(1.0, 3), [1.0, 3.0, 2.5])
    f2 = theanine.function([x], T.stack([x, x * 2], axis=0).shape)
    assert f2(1.0).tolist() == [2]
    check_infer_shape(lambda a, b: T.stack([a, b]), [rand(()), rand(())])
    check_infer_shape(lambda a, b: T.stack([a, b], axis=1), [rand((3,)), rand((3,))])
    with pytest.raises(ValueError):
        T.stack([])


# -- split --------------------------------------------------------------------------

SPLITS = [
    ((6, 2), [2, 4], 0),
    ((6, 2), [1, 2, 3], 0),
    ((2, 6), [3, 3], 1),
    ((2, 6), [0, 6], -1),
    ((5,), [5], 0),
    ((2, 3, 4), [1, 3], 2),
    ((0, 3), [0, 0], 0),
    ((3, 0), [1, 2], 0),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,sizes,axis", SPLITS)
def test_split(shp, sizes, axis, dtype):
    x = rand(shp, dtype)
    ref = lambda v: np.split(v, np.cumsum(sizes)[:-1], axis=axis)  # noqa: E731
    got = check_op(lambda v: T.split(v, sizes, len(sizes), axis=axis), ref, [x])
    assert len(got) == len(sizes)


def test_split_symbolic_sizes():
    x = T.dmatrix("x")
    s = T.lvector("s")
    parts = T.split(x, s, 2, axis=1)
    f = theanine.function([x, s], parts)
    v = rand((2, 5))
    a, b = f(v, np.array([2, 3]))
    np.testing.assert_array_equal(a, v[:, :2])
    np.testing.assert_array_equal(b, v[:, 2:])
    with pytest.raises(ValueError, match="sizes"):
        f(v, np.array([2, 2]))
    with pytest.raises(ValueError):
        T.split(x, [1, 2, 3], 2)


@pytest.mark.parametrize("shp,sizes,axis", [s for s in SPLITS if 0 not in s[0]])
def test_split_grad(shp, sizes, axis):
    for k in range(len(sizes)):
        check_grad(lambda v, k=k: T.split(v, sizes, len(sizes), axis=axis)[k] * 1.5, [rand(shp)])
    # all the parts, recombined
    check_grad(lambda v: T.concatenate(
        [p * (i + 1) for i, p in enumerate(T.split(v, sizes, len(sizes), axis=axis))], axis=axis),
        [rand(shp)])


# -- repeat -------------------------------------------------------------------------

REPEATS = [
    ((2, 3), 2, None),
    ((2, 3), 2, 0),
    ((2, 3), 3, 1),
    ((2, 3), 1, -1),
    ((2, 3), 0, 1),
    ((4,), 3, 0),
    ((4,), 2, None),
    ((2, 3, 2), 2, 1),
    ((0, 3), 2, 0),
    ((0, 3), 2, None),
    ((), 3, None),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,reps,axis", REPEATS)
def test_repeat(shp, reps, axis, dtype):
    x = rand(shp, dtype)
    ref = lambda v: np.repeat(v, reps, axis=axis)  # noqa: E731
    check_op(lambda v: T.repeat(v, reps, axis=axis), ref, [x])
    check_op(lambda v: v.repeat(reps, axis), ref, [x])


@pytest.mark.parametrize("dtype", FLOATS)
def test_repeat_vector_and_symbolic_repeats(dtype):
    x = rand((3, 2), dtype)
    check_op(lambda v: T.repeat(v, np.array([1, 0, 2]), axis=0),
             lambda v: np.repeat(v, [1, 0, 2], axis=0), [x])
    check_op(lambda v, r: T.repeat(v, r, axis=1), lambda v, r: np.repeat(v, r, axis=1),
             [x, np.int64(3)])
    check_op(lambda v, r: T.repeat(v, r, axis=0), lambda v, r: np.repeat(v, r, axis=0),
             [x, np.array([2, 1, 0], "int32")])


@pytest.mark.parametrize("shp,reps,axis", [r for r in REPEATS if 0 not in r[0]])
def test_repeat_grad(shp, reps, axis):
    check_grad(lambda v: T.repeat(v, reps, axis=axis), [rand(shp)])


def test_repeat_symbolic_grad():
    x, r = T.dmatrix("x"), T.lscalar("r")
    g = theanine.grad((T.repeat(x, r, axis=1) ** 2).sum(), x)
    f = theanine.function([x, r], g)
    v = rand((2, 3))
    np.testing.assert_allclose(f(v, 3), 3 * 2 * v)


# -- tile ---------------------------------------------------------------------------

TILES = [
    ((2, 3), (2, 1)),
    ((2, 3), (1, 3)),
    ((2, 3), (2, 2)),
    ((3,), (2,)),
    ((3,), (2, 2)),
    ((2, 3), (2, 1, 2)),
    ((2, 3, 2), (1, 2, 3)),
    ((0, 3), (2, 2)),
    ((2, 3), (0, 1)),
    ((), (3,)),
    ((1, 1), (3, 2)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,reps", TILES)
def test_tile(shp, reps, dtype):
    x = rand(shp, dtype)
    check_op(lambda v: T.tile(v, reps), lambda v: np.tile(v, reps), [x])


@pytest.mark.parametrize("shp,reps", [t for t in TILES if 0 not in t[0] + t[1]])
def test_tile_grad(shp, reps):
    check_grad(lambda v: T.tile(v, reps), [rand(shp)])


def test_tile_ndim():
    check_op(lambda v: T.tile(v, (2,), ndim=2), lambda v: np.tile(v, (1, 2)), [rand((3,))])
    check_op(lambda v: T.tile(v, (2, 2), ndim=3), lambda v: np.tile(v, (1, 2, 2)), [rand((2, 3))])


@pytest.mark.parametrize("build", [
    lambda x: T.concatenate([x, x], axis=2),
    lambda x: T.concatenate([x, x], axis=-3),
    lambda x: T.stack([x, x], axis=3),
    lambda x: T.stack([x, x], axis=-4),
    lambda x: T.split(x, [1, 1], 2, axis=2),
    lambda x: T.repeat(x, 2, axis=2),
    lambda x: T.repeat(x, 2, axis=-3),
    lambda x: T.flatten(x, 3),
    lambda x: T.expand_dims(x, -4),
    lambda x: T.squeeze(x, 2),
])
def test_axis_out_of_range(build):
    with pytest.raises((ValueError, IndexError)):
        build(T.matrix("x"))


# -- the tutorial's section 10 ("Useful operations") --------------------------------------

@pytest.fixture(params=["shared", "constant"])
def tutorial_a(request):
    value = np.asarray([[1.0, 2.0], [3.0, 4.0]])
    if request.param == "shared":
        return theanine.shared(value, "a"), value
    return T.constant(value, name="a"), value


def test_tutorial_useful_operations(tutorial_a):
    a, v = tutorial_a
    np.testing.assert_array_equal(a.eval(), v)
    np.testing.assert_allclose(((a + a) / 4.0).eval(), (v + v) / 4.0)
    np.testing.assert_allclose(T.dot(a, a).eval(), v @ v)
    np.testing.assert_allclose(T.nnet.sigmoid(a).eval(), 1 / (1 + np.exp(-v)))
    np.testing.assert_allclose(T.tanh(a).eval(), np.tanh(v))
    e = np.exp(v - v.max(axis=1, keepdims=True))
    np.testing.assert_allclose(T.nnet.softmax(a).eval(), e / e.sum(axis=1, keepdims=True))
    assert float(a.sum().eval()) == 10.0
    np.testing.assert_array_equal(a.sum(axis=1).eval(), [3.0, 7.0])
    assert float(a.max().eval()) == 4.0
    assert int(T.argmax(a).eval()) == 3
    np.testing.assert_array_equal(a.max(axis=1).eval(), [2.0, 4.0])
    np.testing.assert_array_equal(T.argmax(a, axis=1).eval(), [1, 1])
    np.testing.assert_array_equal(a.reshape((1, 4)).eval(), [[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(a.reshape((1, -1)).eval(), [[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(a.reshape((-1,)).eval(), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(T.zeros_like(a).eval(), np.zeros((2, 2)))
    np.testing.assert_array_equal(T.ones_like(a).eval(), np.ones((2, 2)))
    np.testing.assert_array_equal(a.dimshuffle((1, 0)).eval(), [[1.0, 3.0], [2.0, 4.0]])
    c = a.dimshuffle(("x", 0, 1))
    assert c.eval().shape == (1, 2, 2)
    np.testing.assert_array_equal(c.eval(), [[[1.0, 2.0], [3.0, 4.0]]])
    b = [1, 1, 0]
    np.testing.assert_array_equal(a[b].eval(), [[3.0, 4.0], [3.0, 4.0], [1.0, 2.0]])
    with pytest.raises(TypeError):
        a[0] = [0.0, 0.0]
    np.testing.assert_array_equal(T.set_subtensor(a[0], [0.0, 0.0]).eval(),
                                  [[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(a.eval(), v)  # a itself is unchanged


# -- views must not let compiled functions overwrite their inputs -------------------------

VIEW_EXPRS = {
    "reshape": lambda v: v.reshape((3, 4)),
    "flatten": lambda v: v.flatten(),
    "dimshuffle": lambda v: v.dimshuffle(1, "x", 0),
    "transpose": lambda v: v.T,
    "subtensor": lambda v: v[1:, ::2],
    "split": lambda v: T.split(v, [1, 3], 2)[1],
    "specify_shape": lambda v: T.specify_shape(v, (4, 3)),
    "unbroadcast": lambda v: T.unbroadcast(v, 0),
    "expand_dims": lambda v: T.expand_dims(v, 1),
    "squeeze": lambda v: T.squeeze(v[:1], 0),
}


@pytest.mark.parametrize("name", sorted(VIEW_EXPRS))
def test_views_do_not_modify_inputs(name):
    expr = VIEW_EXPRS[name]
    x = T.dmatrix("x")
    f = theanine.function([x], [expr(x) * 1.5, expr(x) + 1.0, T.exp(expr(x))])
    g = theanine.function([x], expr(x) * 1.5)  # a single client: in-place candidates
    v = rand((4, 3))
    keep = v.copy()
    ref = expr(T.constant(keep)).eval()
    for _ in range(2):
        a, b, c = f(v)
        np.testing.assert_array_equal(v, keep)
        np.testing.assert_allclose(a, ref * 1.5)
        np.testing.assert_allclose(b, ref + 1.0)
        np.testing.assert_allclose(c, np.exp(ref))
        np.testing.assert_allclose(g(v), ref * 1.5)
        np.testing.assert_array_equal(v, keep)
