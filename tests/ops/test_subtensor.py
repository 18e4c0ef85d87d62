"""Indexing against NumPy: basic (Subtensor), advanced (AdvancedSubtensor), and
set_subtensor / inc_subtensor (IncSubtensor, AdvancedIncSubtensor)."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand
from theanine.tensor.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor,
                                       Subtensor)

E = Ellipsis
S = slice
N = None

# -- basic indexing -----------------------------------------------------------------

BASIC = [
    ((4, 5, 3), 1),
    ((4, 5, 3), -1),
    ((4, 5, 3), (1, 2)),
    ((4, 5, 3), (-1, -2, -3)),
    ((4, 5, 3), (0, 4, 2)),
    ((4, 5, 3), S(1, None)),
    ((4, 5, 3), S(None, None, -1)),
    ((4, 5, 3), S(-2, None)),
    ((4, 5, 3), S(None, -1, 2)),
    ((4, 5, 3), S(3, 0, -1)),
    ((4, 5, 3), S(-1, -5, -2)),
    ((4, 5, 3), S(10, 20)),
    ((4, 5, 3), S(2, 1)),
    ((4, 5, 3), (S(None), 1)),
    ((4, 5, 3), (S(None), S(None), 0)),
    ((4, 5, 3), (S(1, 3), S(None, None, 2), -1)),
    ((4, 5, 3), (E, 0)),
    ((4, 5, 3), (0, E)),
    ((4, 5, 3), (1, E, S(None, None, -1))),
    ((4, 5, 3), E),
    ((4, 5, 3), (N, 1)),
    ((4, 5, 3), (S(None), N)),
    ((4, 5, 3), N),
    ((4, 5, 3), (1, N, S(None, None, 2))),
    ((4, 5, 3), (E, N)),
    ((4, 5, 3), (N, E, N)),
    ((5,), 3),
    ((5,), S(1, -1)),
    ((5,), S(None, None, -2)),
    ((), ()),
    ((), E),
    ((), N),
    ((0, 3), (S(None), 1)),
    ((0, 3), S(1, None)),
    ((0, 3), S(None, None, -1)),
    ((3, 0), 1),
    ((3, 0), (S(None), S(1, 2))),
]


def ids(table):
    return [repr(t[1]) for t in table]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,idx", BASIC, ids=ids(BASIC))
def test_basic_indexing(shp, idx, dtype):
    x = rand(shp, dtype)
    out = check_op(lambda v: v[idx], lambda v: v[idx], [x])
    assert np.asarray(out).shape == x[idx].shape


@pytest.mark.parametrize("shp,idx", [b for b in BASIC if 0 not in b[0]], ids=ids(
    [b for b in BASIC if 0 not in b[0]]))
def test_basic_indexing_grad(shp, idx):
    check_grad(lambda v: v[idx], [rand(shp)])


@pytest.mark.parametrize("shp,idx", [b for b in BASIC if b[1] is not E and b[1] != ()
                                     and (not isinstance(b[1], tuple) or N not in b[1])
                                     and b[1] is not N],
                         ids=ids([b for b in BASIC if b[1] is not E and b[1] != ()
                                  and (not isinstance(b[1], tuple) or N not in b[1])
                                  and b[1] is not N]))
def test_basic_indexing_infer_shape(shp, idx):
    check_infer_shape(lambda v: v[idx], [rand(shp)])


def test_basic_indexing_static_shape_and_op():
    x = T.tensor(dtype="float64", shape=(4, 5))
    assert x[1:3].type.shape == (2, 5)
    assert x[::-2].type.shape == (2, 5)
    assert x[:, 1].type.shape == (4,)
    assert isinstance(x[1:].owner.op, Subtensor)
    assert x[:] is x or x[:].type.shape == (4, 5)


@pytest.mark.parametrize("idx_dtype", ["int64", "int32", "int8", "uint8"])
def test_symbolic_int_index(idx_dtype):
    x = rand((5, 4))
    for i in (0, 2, 4):
        check_op(lambda v, i: v[i], lambda v, i: v[i], [x, np.asarray(i, idx_dtype)])
        check_op(lambda v, i: v[:, i % 4], lambda v, i: v[:, i % 4], [x, np.asarray(i, idx_dtype)])
    if idx_dtype[0] != "u":
        check_op(lambda v, i: v[i], lambda v, i: v[i], [x, np.asarray(-2, idx_dtype)])


SYM_SLICES = [(1, 4, 1), (0, 5, 2), (4, 0, -1), (-1, -6, -2), (-3, 10, 1), (3, 1, 1)]


@pytest.mark.parametrize("start,stop,step", SYM_SLICES)
def test_symbolic_slice(start, stop, step):
    x = rand((5, 3))
    vals = [x, np.int64(start), np.int64(stop), np.int64(step)]
    check_op(lambda v, a, b, c: v[a:b:c], lambda v, a, b, c: v[a:b:c], vals)
    check_op(lambda v, a, b, c: v[a:], lambda v, a, b, c: v[a:], vals)
    check_op(lambda v, a, b, c: v[:b], lambda v, a, b, c: v[:b], vals)
    check_op(lambda v, a, b, c: v[::c], lambda v, a, b, c: v[::c], vals)
    check_op(lambda v, a, b, c: v[1:, ::c], lambda v, a, b, c: v[1:, ::c], vals)
    check_infer_shape(lambda v, a, b, c: v[a:b:c], vals)
    check_infer_shape(lambda v, a, b, c: v[:b, 1], vals)


def test_symbolic_index_grad():
    x = rand((5, 3))
    i = T.lscalar("i")
    xs = T.dmatrix("x")
    g = theanine.grad((xs[i] ** 2).sum() + xs[i:, 1:].sum(), xs)
    f = theanine.function([xs, i], g)
    exp = np.zeros_like(x)
    exp[2] += 2 * x[2]
    exp[2:, 1:] += 1
    np.testing.assert_allclose(f(x, 2), exp)


def test_basic_index_errors():
    x = T.matrix("x")
    with pytest.raises(IndexError, match="too many"):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[1.5]
    with pytest.raises(IndexError):
        x[True]
    with pytest.raises(IndexError):
        x[E, 0, E]
    with pytest.raises(IndexError):
        x[T.dscalar()]
    s = T.tensor(dtype="float64", shape=(3, 4))
    with pytest.raises(IndexError, match="out of bounds"):
        s[3]
    with pytest.raises(IndexError, match="out of bounds"):
        s[:, -5]


@pytest.mark.parametrize("idx", [5, -6, (0, 3), (S(None), 7)])
def test_basic_index_out_of_range_at_call_time(idx):
    x = T.matrix("x")
    f = theanine.function([x], x[idx])
    with pytest.raises(IndexError):
        f(rand((5, 3)))


def test_symbolic_index_out_of_range_at_call_time():
    x, i = T.matrix("x"), T.lscalar("i")
    f = theanine.function([x, i], x[i])
    f(rand((5, 3)), 4)
    with pytest.raises(IndexError):
        f(rand((5, 3)), 5)
    with pytest.raises(IndexError):
        f(rand((5, 3)), -6)


# -- advanced indexing --------------------------------------------------------------

ADVANCED = [
    ((3, 4), [1, 1, 0]),
    ((3, 4), [-1, 0]),
    ((3, 4), np.array([2, 0], dtype="int32")),
    ((3, 4), np.array([[0, 1], [2, 2]])),
    ((3, 4), np.array([], dtype="int64")),
    ((3, 4), ([0, 1], [1, 2])),
    ((3, 4), ([0, 2, 0], -1)),
    ((3, 4), (S(None), [3, 0, 3])),
    ((3, 4), ([1, 0], S(1, None))),
    ((3, 4), (S(None, None, -1), [0])),
    ((3, 4), (E, [0, 0])),
    ((3, 4), (N, [1, 0])),
    ((3, 4), np.array([True, False, True])),
    ((3, 4), (S(None), np.array([True, False, True, True]))),
    ((3, 4), np.arange(12).reshape(3, 4) % 3 == 0),
    ((3, 4), np.zeros((3, 4), bool)),
    ((2, 3, 4), ([0, 1], S(None), [1, 1])),
    ((2, 3, 4), (S(None), [0, 2], [1, 3])),
    ((2, 3, 4), (1, [0, 2])),
    ((2, 3, 4), ([1, 0], 2, S(None, 2))),
    ((2, 3, 4), np.array([[True, False, True], [False, False, True]])),
    ((5,), [4, 4, 0, -5]),
    ((5,), np.array([True, False, True, False, True])),
    ((0, 3), np.array([], dtype="int64")),
    ((0, 3), (S(None), [0, 2])),
    ((3, 0), [2, 0]),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,idx", ADVANCED, ids=ids(ADVANCED))
def test_advanced_indexing(shp, idx, dtype):
    x = rand(shp, dtype)
    ref = x[idx if not isinstance(idx, list) else (idx,)]
    out = check_op(lambda v: v[idx], lambda v: ref, [x])
    assert isinstance(out, np.ndarray) and out.shape == ref.shape


@pytest.mark.parametrize("shp,idx", [a for a in ADVANCED if 0 not in a[0]],
                         ids=ids([a for a in ADVANCED if 0 not in a[0]]))
def test_advanced_indexing_grad(shp, idx):
    check_grad(lambda v: v[idx], [rand(shp)])


def test_advanced_indexing_op_type():
    x = T.matrix("x")
    assert isinstance(x[[1, 1, 0]].owner.op, AdvancedSubtensor)
    assert isinstance(x[1:].owner.op, Subtensor)
    assert x[[1, 0]].ndim == 2
    assert x[[1, 0], [0, 1]].ndim == 1
    assert x[np.ones((3, 4), bool)].ndim == 1


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("idx_dtype", ["int64", "int32", "uint8"])
def test_symbolic_int_vector_index(dtype, idx_dtype):
    x = rand((4, 3), dtype)
    idx = np.array([3, 0, 0, 2], idx_dtype)
    check_op(lambda v, i: v[i], lambda v, i: v[i], [x, idx])
    check_op(lambda v, i: v[:, i % 3], lambda v, i: v[:, i % 3], [x, idx])
    check_op(lambda v, i: v[i, 1:], lambda v, i: v[i, 1:], [x, idx])
    check_op(lambda v, i: v[i, i % 3], lambda v, i: v[i, i % 3], [x, idx])
    check_op(lambda v, i: v[i], lambda v, i: v[i], [x, np.array([], idx_dtype)])
    check_op(lambda v, i: v[i], lambda v, i: v[i], [x, np.array([[1, 2], [3, 0]], idx_dtype)])


def test_symbolic_int_vector_index_grad():
    x = T.dmatrix("x")
    i = T.lvector("i")
    g = theanine.grad((x[i] * np.arange(1.0, 5.0)[:, None]).sum(), x)
    f = theanine.function([x, i], g)
    idx = np.array([2, 0, 2, 1])
    exp = np.zeros((3, 2))
    np.add.at(exp, idx, np.arange(1.0, 5.0)[:, None])
    np.testing.assert_allclose(f(np.zeros((3, 2)), idx), exp)


@pytest.mark.parametrize("dtype", FLOATS)
def test_symbolic_bool_mask(dtype):
    x = rand((4, 3), dtype)
    m = x > 0
    check_op(lambda v, k: v[k], lambda v, k: v[k], [x, m])
    check_op(lambda v, k: v[k[:, 0]], lambda v, k: v[k[:, 0]], [x, m])
    check_op(lambda v, k: v[k[:, 0], 1:], lambda v, k: v[k[:, 0], 1:], [x, m])
    check_op(lambda v: v[v > 0], lambda v: v[v > 0], [x])
    check_grad(lambda v: v[v > 0.2], [rand((4, 3))])


def test_advanced_index_errors():
    x = T.matrix("x")
    with pytest.raises(IndexError):
        x[[0.5, 1.0]]
    with pytest.raises(IndexError):
        x[T.dvector()]
    with pytest.raises(IndexError):
        x[[0], [1], [0]]
    with pytest.raises(IndexError):
        x[np.ones((2, 2, 2), bool)]


@pytest.mark.parametrize("idx", [[0, 3], [-4], ([0, 1], [0, 3]), (S(None), [5])])
def test_advanced_index_out_of_range_at_call_time(idx):
    x = T.matrix("x")
    f = theanine.function([x], x[idx])
    with pytest.raises(IndexError):
        f(rand((3, 3)))


def test_symbolic_vector_index_out_of_range():
    x, i = T.matrix("x"), T.lvector("i")
    f = theanine.function([x, i], x[i])
    with pytest.raises(IndexError):
        f(rand((3, 2)), np.array([0, 3]))
    m = T.tensor(dtype="bool", shape=(None,))
    g = theanine.function([x, m], x[m])
    with pytest.raises(IndexError):
        g(rand((3, 2)), np.array([True, False]))


# -- set_subtensor / inc_subtensor ------------------------------------------------------

# (x shape, index, y shape)
SET_INC = [
    ((4, 3), 1, (3,)),
    ((4, 3), -1, ()),
    ((4, 3), 0, (1,)),
    ((4, 3), (1, 2), ()),
    ((4, 3), S(1, 3), (2, 3)),
    ((4, 3), S(1, 3), (3,)),
    ((4, 3), S(None, None, -2), (2, 3)),
    ((4, 3), (S(None), 0), (4,)),
    ((4, 3), (S(None), S(1, None)), (4, 1)),
    ((4, 3), (E, -1), (4,)),
    ((4, 3), S(5, 9), (0, 3)),
    ((2, 3, 4), (S(None), 1, S(None, None, 2)), (2, 2)),
    ((5,), S(1, -1), ()),
    ((), (), ()),
    ((0, 3), S(None), (3,)),
    ((0, 3), (S(None), 1), ()),
]

ADV_SET_INC = [
    ((4, 3), [1, 3], (2, 3)),
    ((4, 3), [2, 0], (3,)),
    ((4, 3), np.array([-1, 0]), ()),
    ((4, 3), ([0, 1], [2, 0]), (2,)),
    ((4, 3), (S(None), [2, 0]), (4, 2)),
    ((4, 3), ([3, 1], S(1, None)), (2, 2)),
    ((4, 3), np.array([True, False, True, False]), (2, 3)),
    ((4, 3), np.arange(12).reshape(4, 3) % 5 == 0, (3,)),
    ((2, 3, 4), ([1, 0], S(None), [3, 3]), (2, 3)),
    ((5,), [4, 0, 2], (3,)),
    ((5,), np.array([], dtype="int64"), (0,)),
    ((0, 3), np.array([], dtype="int64"), ()),
]

# repeated indices: inc accumulates (np.add.at), set takes one of the values
REPEATED = [
    ((4, 3), [1, 1, 0], (3, 3)),
    ((4, 3), [2, 2, 2], ()),
    ((4, 3), ([0, 0, 1], [1, 1, 1]), (3,)),
    ((4, 3), (S(None), [0, 0]), (4, 2)),
    ((5,), [4, 4, -1, 0], (4,)),
]


def _norm(idx):
    return (idx,) if isinstance(idx, list) else idx


def np_set(x, idx, y):
    out = x.copy()
    out[_norm(idx)] = y
    return out


def np_inc(x, idx, y):
    out = x.copy()
    np.add.at(out, _norm(idx), y)
    return out


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,idx,yshp", SET_INC + ADV_SET_INC,
                         ids=ids(SET_INC + ADV_SET_INC))
def test_set_subtensor(shp, idx, yshp, dtype):
    x, y = rand(shp, dtype), rand(yshp, dtype, np.random.default_rng(1))
    check_op(lambda a, b: T.set_subtensor(a[idx], b), lambda a, b: np_set(a, idx, b), [x, y])
    check_op(lambda a, b: T.inc_subtensor(a[idx], b, set_instead_of_inc=True),
             lambda a, b: np_set(a, idx, b), [x, y])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shp,idx,yshp", SET_INC + ADV_SET_INC + REPEATED,
                         ids=ids(SET_INC + ADV_SET_INC + REPEATED))
def test_inc_subtensor(shp, idx, yshp, dtype):
    x, y = rand(shp, dtype), rand(yshp, dtype, np.random.default_rng(1))
    check_op(lambda a, b: T.inc_subtensor(a[idx], b), lambda a, b: np_inc(a, idx, b), [x, y])


def test_set_subtensor_repeated_indices():
    x = T.dmatrix("x")
    f = theanine.function([x], T.set_subtensor(x[[1, 1, 0]], np.array([[1.0], [2.0], [3.0]])))
    got = f(np.zeros((3, 2)))
    assert got[0].tolist() == [3.0, 3.0]
    assert got[1].tolist() in ([1.0, 1.0], [2.0, 2.0])
    assert got[2].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("shp,idx,yshp",
                         [c for c in SET_INC + ADV_SET_INC if 0 not in c[0]],
                         ids=ids([c for c in SET_INC + ADV_SET_INC if 0 not in c[0]]))
def test_set_subtensor_grad(shp, idx, yshp):
    x, y = rand(shp), rand(yshp, rng=np.random.default_rng(1))
    check_grad(lambda a, b: T.set_subtensor(a[idx], b), [x, y])


@pytest.mark.parametrize("shp,idx,yshp",
                         [c for c in SET_INC + ADV_SET_INC + REPEATED if 0 not in c[0]],
                         ids=ids([c for c in SET_INC + ADV_SET_INC + REPEATED if 0 not in c[0]]))
def test_inc_subtensor_grad(shp, idx, yshp):
    x, y = rand(shp), rand(yshp, rng=np.random.default_rng(1))
    check_grad(lambda a, b: T.inc_subtensor(a[idx], b), [x, y])


def test_set_inc_op_types_and_infer_shape():
    x = T.matrix("x")
    assert isinstance(T.set_subtensor(x[0], 1.0).owner.op, IncSubtensor)
    assert isinstance(T.inc_subtensor(x[[0, 0]], 1.0).owner.op, AdvancedIncSubtensor)
    check_infer_shape(lambda a, b: T.set_subtensor(a[1:3], b), [rand((4, 3)), rand((3,))])
    check_infer_shape(lambda a, b: T.inc_subtensor(a[:, 0], b), [rand((4, 3)), rand(())])
    check_infer_shape(lambda a, b: T.inc_subtensor(a[[0, 0]], b), [rand((4, 3)), rand((3,))])


@pytest.mark.parametrize("dtype", FLOATS)
def test_set_inc_symbolic_indices(dtype):
    x, y = rand((5, 3), dtype), rand((3,), dtype)
    for i in (0, -1, 3):
        check_op(lambda a, b, k: T.set_subtensor(a[k], b), lambda a, b, k: np_set(a, k, b),
                 [x, y, np.int64(i)])
        check_op(lambda a, b, k: T.inc_subtensor(a[k:], b),
                 lambda a, b, k: np_inc(a, S(k, None), b), [x, y, np.int64(i)])
    idx = np.array([4, 0, 4], "int32")
    check_op(lambda a, b, k: T.inc_subtensor(a[k], b), lambda a, b, k: np_inc(a, (k,), b),
             [x, y, idx])
    check_op(lambda a, b, k: T.set_subtensor(a[k], b), lambda a, b, k: np_set(a, (k,), b),
             [x, y, np.array([4, 0], "int64")])
    m = np.array([True, False, False, True, True])
    check_op(lambda a, b, k: T.inc_subtensor(a[k], b), lambda a, b, k: np_inc(a, (k,), b),
             [x, y, m])


def test_set_inc_dtype_cast_and_int():
    x = rand((4, 3), "float32")
    check_op(lambda a: T.set_subtensor(a[0], np.ones(3)), lambda a: np_set(a, 0, 1.0), [x])
    xi = rand((4, 3), "int32", low=-5, high=5)
    check_op(lambda a: T.inc_subtensor(a[[1, 1]], 2), lambda a: np_inc(a, [1, 1], 2), [xi])
    check_op(lambda a: T.set_subtensor(a[1:, 0], 7), lambda a: np_set(a, (S(1, None), 0), 7),
             [xi])


def test_set_inc_does_not_modify_input():
    x = T.dmatrix("x")
    f = theanine.function([x], [T.set_subtensor(x[0], 5.0), T.inc_subtensor(x[[1, 1]], 1.0)])
    v = np.zeros((3, 2))
    f(v)
    assert not v.any()


def test_set_inc_errors():
    x = T.matrix("x")
    with pytest.raises(TypeError):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError):
        T.set_subtensor(x[None, 0], 1.0)
    with pytest.raises(ValueError):
        T.set_subtensor(x[0], T.matrix())
    f = theanine.function([x], T.set_subtensor(x[0], np.ones(4)))
    with pytest.raises(ValueError):
        f(rand((3, 3)))
    g = theanine.function([x], T.inc_subtensor(x[[0, 5]], 1.0))
    with pytest.raises(IndexError):
        g(rand((3, 3)))
    h = theanine.function([x], T.set_subtensor(x[7], 1.0))
    with pytest.raises(IndexError):
        h(rand((3, 3)))
