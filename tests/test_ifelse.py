"""``ifelse`` picks a branch and evaluates only that one, on every linker."""

import numpy as np
import pytest

import theanine
from theanine.backend import numba_available
import theanine.tensor as T
from theanine import Apply, Op, config, function, grad, shared
from theanine.ifelse import IfElse, ifelse
from theanine.scan import scan

LINKERS = ["vm", pytest.param("numba", marks=pytest.mark.skipif(
    not numba_available(), reason="numba is not installed"))]
rng = np.random.default_rng(0)


class Count(Op):
    """Identity that records each evaluation in ``log`` (to see what ran)."""

    __props__ = ("tag",)

    def __init__(self, tag, log):
        self.tag = tag
        self.log = log

    def make_node(self, v):
        v = T.as_tensor_variable(v)
        return Apply(self, [v], [v.type()])

    def perform(self, node, inputs, out):
        self.log.append(self.tag)
        out[0][0] = np.array(inputs[0], copy=True)


def _compile(linker, inputs, outputs, **kw):
    with config.change_flags(linker=linker, numba_compile="blocking", numba_hot_calls=1):
        return function(inputs, outputs, **kw)


@pytest.mark.parametrize("linker", LINKERS)
def test_only_the_branch_taken_runs(linker):
    log = []
    a, b = T.dscalars("a", "b")
    x, y = T.dmatrices("x", "y")
    out = ifelse(T.lt(a, b), Count("then", log)(T.dot(x, y)).sum(),
                 Count("else", log)(x + y).mean())
    f = _compile(linker, [a, b, x, y], out)
    X, Y = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(f(1, 2, X, Y), (X @ Y).sum())
    assert log == ["then"]
    log.clear()
    np.testing.assert_allclose(f(3, 2, X, Y), (X + Y).mean())
    assert log == ["else"]


@pytest.mark.parametrize("linker", LINKERS)
def test_shared_work_runs_once_and_multiple_outputs(linker):
    log = []
    c = T.iscalar("c")
    x = T.dvector("x")
    common = Count("common", log)(T.exp(x))  # read by both branches: computed eagerly
    o1, o2 = ifelse(c, [common * 2, Count("t", log)(x)], [common - 1, x[::-1]])
    f = _compile(linker, [c, x], [o1, o2, common.sum()])
    v = rng.normal(size=4)
    r = f(1, v)
    np.testing.assert_allclose(r[0], np.exp(v) * 2)
    np.testing.assert_allclose(r[1], v)
    assert sorted(log) == ["common", "t"]
    log.clear()
    r = f(0, v)
    np.testing.assert_allclose(r[0], np.exp(v) - 1)
    np.testing.assert_allclose(r[1], v[::-1])
    assert log == ["common"]


@pytest.mark.parametrize("linker", LINKERS)
def test_nested_ifelse(linker):
    log = []
    a = T.dscalar("a")
    inner = ifelse(T.gt(a, 10), Count("big", log)(a * 100), Count("mid", log)(a * 10))
    out = ifelse(T.gt(a, 1), inner, Count("small", log)(a))
    f = _compile(linker, [a], out)
    for v, want, ran in [(20.0, 2000.0, ["big"]), (5.0, 50.0, ["mid"]), (0.5, 0.5, ["small"])]:
        log.clear()
        assert float(f(v)) == want
        assert log == ran


@pytest.mark.parametrize("linker", LINKERS)
def test_error_in_a_branch_names_the_inner_node(linker):
    a = T.dscalar("a")
    x = T.dvector("x")
    out = ifelse(T.gt(a, 0), T.dot(x, T.ones((3,))), a)
    f = _compile(linker, [a, x], out)
    assert float(f(-1.0, np.ones(2))) == -1.0  # the failing branch is not evaluated
    with pytest.raises(ValueError, match="Dot"):
        f(1.0, np.ones(2))


@pytest.mark.parametrize("linker", LINKERS)
def test_updates_through_ifelse(linker):
    w = shared(np.zeros(3), "w")
    step = T.iscalar("step")
    f = _compile(linker, [step], [], updates=[(w, ifelse(T.eq(step % 2, 0), w + 1, w * 3))])
    f(0)
    f(1)
    f(2)
    np.testing.assert_allclose(w.get_value(), np.full(3, 4.0))


@pytest.mark.parametrize("linker", LINKERS)
def test_ifelse_inside_scan(linker):
    x = T.dvector("x")
    ys, _ = scan(lambda v, acc: ifelse(T.gt(v, 0), acc + v, acc * 0.5), sequences=x,
                 outputs_info=T.constant(1.0, dtype="float64"))
    f = _compile(linker, [x], ys)
    v = rng.normal(size=7)
    acc, want = 1.0, []
    for e in v:
        acc = acc + e if e > 0 else acc * 0.5
        want.append(acc)
    np.testing.assert_allclose(f(v), want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient(dtype):
    for cond in (0, 1):
        theanine.verify_grad(lambda a, b: ifelse(T.constant(cond), a * b, T.sin(a) + b ** 2),
                             [rng.normal(size=3).astype(dtype), rng.normal(size=3).astype(dtype)],
                             rng=rng)
    a, b = T.dscalars("a", "b")
    g = function([a, b], grad(ifelse(T.lt(a, b), a * a, 3 * a * b), [a, b]))
    np.testing.assert_allclose(g(1.0, 2.0), [2.0, 0.0])
    np.testing.assert_allclose(g(3.0, 2.0), [6.0, 9.0])


def test_types_and_errors():
    x = T.fmatrix("x")
    out = ifelse(T.iscalar("c"), T.fscalar("s"), 0)  # a number takes the other's dtype
    assert out.type.dtype == "float32" and out.ndim == 0
    with pytest.raises(TypeError, match="condition must be a scalar"):
        ifelse(T.dvector("v"), x, x)
    with pytest.raises(TypeError, match="same rank"):
        ifelse(T.iscalar("c"), x, T.fvector("v"))
    with pytest.raises(TypeError, match="float32.*float64"):
        ifelse(T.iscalar("c"), x, T.dmatrix("m"))
    with pytest.raises(ValueError, match="2 values"):
        ifelse(T.iscalar("c"), [x, x], [x])
    node = ifelse(T.iscalar("c"), [x, x], [x, x])[0].owner
    assert isinstance(node.op, IfElse) and node.op.n_outs == 2
