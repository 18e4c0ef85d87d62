"""Every rewrite fires on its pattern, leaves results unchanged, and stays away where
unsafe; modes are queries on the registry."""

import warnings

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import Mode, config, function
from theanine.rewrite import applied, rewrites
from theanine.ifelse import ifelse
from theanine.tensor.random.op import undefined_grad
from theanine.tensor.join import Join
from theanine.tensor.nnet import Softmax

NO_REWRITES = Mode(optimizer=None)
rng = np.random.default_rng(0)


def _fired(f):
    return {name for name, _ in applied(f)}


def _x():
    return T.dvector("x")


def _m():
    return T.dmatrix("m")


# (rule, builder returning (inputs, output), input values)
CASES = [
    ("merge", lambda: (lambda x: ([x], T.exp(x) + T.exp(x)))(_x()), [rng.normal(size=4)]),
    ("constant_folding", lambda: (lambda x: ([x], x * (T.constant(2.0) * 3.0)))(_x()),
     [rng.normal(size=3)]),
    ("shape_inference", lambda: (lambda x: ([x], T.exp(x).shape))(_x()), [np.ones(3)]),
    ("subtensor_of_make_vector", lambda: (lambda x: ([x], T.exp(x).shape[0]))(_x()),
     [np.ones(3)]),
    ("flatten_add_mul", lambda: (lambda x: ([x], (x + T.exp(x)) + T.sin(x)))(_x()),
     [rng.normal(size=3)]),
    ("remove_neutral", lambda: (lambda x: ([x], x * 1.0 + T.exp(x)))(_x()),
     [rng.normal(size=3)]),
    ("add_zeros", lambda: (lambda m: ([m], T.dot(m, m.T) + T.zeros_like(m.T.dot(m))[None][0]))(
        _m()), [rng.normal(size=(3, 3))]),
    ("double_negation", lambda: (lambda x: ([x], -(-x)))(_x()), [rng.normal(size=3)]),
    ("sub_to_neg_and_self", lambda: (lambda x: ([x], T.exp(x) - T.exp(x)))(_x()),
     [rng.normal(size=3)]),
    ("div_by_one", lambda: (lambda x: ([x], T.exp(x) / 1.0))(_x()), [rng.normal(size=3)]),
    ("remove_identity", lambda: (lambda x: ([x], T.identity(x) * 2))(_x()),
     [rng.normal(size=3)]),
    ("merge_dimshuffles", lambda: (lambda m: ([m], m.T.T * 2))(_m()), [rng.normal(size=(2, 3))]),
    ("useless_reshape", lambda: (lambda m: ([m], m.reshape((6,)).reshape((3, 2))))(_m()),
     [rng.normal(size=(2, 3))]),
    ("join_of_one", lambda: (lambda m: ([m], Join(1)(T.exp(m)) * 2))(_m()),
     [rng.normal(size=(2, 3))]),
    ("useless_shape_assertion", lambda: (lambda m: ([m], T.specify_shape(m, (None, None))))(_m()),
     [rng.normal(size=(2, 3))]),
    ("sum_of_alloc", lambda: (lambda s: ([s], T.alloc(s, 3, 4).sum()))(T.dscalar("s")),
     [np.array(1.5)]),
    ("sum_of_dimshuffle", lambda: (lambda m: ([m], m.T.sum(axis=0)))(_m()),
     [rng.normal(size=(2, 3))]),
    ("log_softmax", None, None),
    ("log_of_softmax", lambda: (lambda m: ([m], T.log(T.nnet.softmax(m))))(_m()),
     [rng.normal(size=(2, 3))]),
    ("log_sigmoid", lambda: (lambda x: ([x], T.log(T.nnet.sigmoid(x))))(_x()),
     [rng.normal(size=3)]),
    ("log_one_minus_sigmoid", lambda: (lambda x: ([x], T.log(1 - T.nnet.sigmoid(x))))(_x()),
     [rng.normal(size=3)]),
    ("log_exp", lambda: (lambda x: ([x], T.log(T.exp(x)) * 2))(_x()), [rng.normal(size=3)]),
    ("sort_commutative", lambda: (lambda x, y: ([x, y], T.exp(x * y) + T.exp(y * x)))(
        _x(), T.dvector("y")), [rng.normal(size=3), rng.normal(size=3)]),
    ("log1p_exp", lambda: (lambda x: ([x], T.log1p(T.exp(x))))(_x()), [rng.normal(size=3)]),
    ("log_one_plus_exp", lambda: (lambda x: ([x], T.log(1 + T.exp(x))))(_x()),
     [rng.normal(size=3)]),
    ("log1p", lambda: (lambda x: ([x], T.log(1 + x)))(_x()), [rng.uniform(0, 1, 3)]),
    ("expm1", lambda: (lambda x: ([x], T.exp(x) - 1))(_x()), [rng.normal(size=3)]),
    ("sigmoid_exp", lambda: (lambda x: ([x], 1 / (1 + T.exp(-x))))(_x()), [rng.normal(size=3)]),
    ("log_sum_exp", lambda: (lambda m: ([m], T.log(T.exp(m).sum(axis=1))))(_m()),
     [rng.normal(size=(2, 3))]),
    ("softmax_grad_of_log", lambda: (lambda x: ([x], theanine.grad(
        T.log(T.nnet.softmax(x)).sum(), x)))(_x()), [rng.normal(size=3)]),
    ("softplus_grad", lambda: (lambda x: ([x], theanine.grad(
        T.log(1 + T.exp(x)).sum(), x)))(_x()), [rng.normal(size=3)]),
    ("pow_specialize", lambda: (lambda x: ([x], x ** 2 + x ** 0.5))(_x()),
     [rng.uniform(0.5, 2, 3)]),
    ("mul_self_to_sqr", lambda: (lambda x: ([x], T.exp(x) * T.exp(x)))(_x()),
     [rng.normal(size=3)]),
    ("sum_of_product_to_dot", lambda: (lambda x, y: ([x, y], (x * y).sum()))(_x(), T.dvector("y")),
     [rng.normal(size=3), rng.normal(size=3)]),
    ("gemm", lambda: (lambda a, b, c: ([a, b, c], c * 0.5 + 2.0 * T.dot(a, b)))(_m(), _m(), _m()),
     [rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))]),
    ("gemm", lambda: (lambda a, v, y: ([a, v, y], y - T.dot(a, v)))(_m(), _x(), T.dvector("y")),
     [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)]),
    ("inplace_blas", lambda: (lambda a, b, c: ([a, b, c], T.exp(c) + T.dot(a, b)))(_m(), _m(), _m()),
     [rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))]),
    ("second_of_elemwise", lambda: (lambda x: ([x], T.second(T.exp(x), 2.0) + T.exp(x).sum()))(
        _x()), [rng.normal(size=3)]),
    ("useless_second", lambda: (lambda x: ([x], T.second(T.sum(x), 2.0) * x))(_x()),
     [rng.normal(size=3)]),
    ("fill_beside_its_model", lambda: (lambda x, s: ([x, s], x * T.second(x, s) * 3.0))(
        _x(), T.dscalar("s")), [rng.normal(size=3), np.array(1.5)]),
    ("factor_scaled_self", lambda: (lambda x, s: ([x, s], x - s * (x * 2.0)))(
        _m(), T.dscalar("s")), [rng.normal(size=(2, 3)), np.array(0.25)]),
    ("factor_scaled_self", lambda: (lambda x, s: ([x, s], x - s * (x * 2.0)))(  # s: float32
        _m(), T.fscalar("s")), [rng.normal(size=(2, 3)), np.float32(1e-5)]),
    ("add_sparse_increment", lambda: (lambda E, i: ([E, i], E * 2 + T.inc_subtensor(
        T.zeros_like(E)[i], 1.0)))(_m(), T.lvector("i")),
     [rng.normal(size=(4, 3)), np.array([0, 2, 0])]),
    ("scale_sparse_increment", lambda: (lambda E, i: ([E, i], 3.0 * T.inc_subtensor(
        (E * 2)[i], 1.0)))(_m(), T.lvector("i")),
     [rng.normal(size=(4, 3)), np.array([0, 2, 0])]),
    ("subtract_sparse_increment", lambda: (lambda E, i: ([E, i], E - T.inc_subtensor(
        (E * 2)[i], 1.0)))(_m(), T.lvector("i")),
     [rng.normal(size=(4, 3)), np.array([1, 1, 3])]),
    ("sum_of_squares_to_dot", lambda: (lambda m: ([m], T.sqr(m).sum()))(_m()),
     [rng.normal(size=(3, 4))]),
    ("scan_pushout_seq_dot", lambda: _rnn_cost(grad=False), None),
    ("scan_pushout_accumulator", lambda: _rnn_cost(grad=True), None),
    ("scan_save_memory", lambda: (lambda i, o: (i, o[0][-1] * 2))(*_rnn_cost(grad=False)),
     None),
    ("fusion", lambda: (lambda x: ([x], T.exp(-x * x) * 0.5 + T.tanh(x)))(_x()),
     [rng.normal(size=50000)]),
    ("inplace_elemwise", lambda: (lambda m: ([m], T.dot(m, m.T) * 2))(_m()),
     [rng.normal(size=(3, 3))]),
    ("inplace_subtensor", lambda: (lambda x: ([x], T.set_subtensor((x * 2)[1:], 0.0)))(_x()),
     [rng.normal(size=4)]),
    ("ifelse_constant_condition",
     lambda: (lambda x: ([x], ifelse(T.constant(0) > 1, T.exp(x), T.sin(x))))(_x()),
     [rng.normal(size=3)]),
    ("fuse_sum", lambda: (lambda x: ([x], T.sum(T.exp(-x * x) * 0.5 + T.tanh(x))))(_x()),
     [rng.normal(size=5)]),
    ("dot_of_selected_rows_reuses_dot",
     lambda: (lambda m, w: ([m, w], [T.dot(m, w), T.dot(m[::-1][1:], w) * 2]))(_m(), _m()),
     [rng.normal(size=(5, 3)), rng.normal(size=(3, 4))]),
    ("dot_of_selected_rows_reuses_dot", lambda: _rnn_cost(True), None),
    ("scan_nitsot_not_stacked_twice", lambda: _rnn_cost(True), None),
    ("scan_pushout_nitsot_dot", lambda: _rnn_cost("X"), None),  # dx_t = dot(g_t, W.T)
    ("scan_pushout_nitsot_dot",  # a sum of two products, the matrix on either side
     lambda: (lambda m, w, u: ([m, w, u], theanine.scan(
         lambda r, w, u: (lambda g, q: [g, q, T.dot(w, g) + T.dot(q, u)])(
             T.tanh(r), T.exp(-r)), sequences=m, non_sequences=[w, u])[0]))(_m(), _m(), _m()),
     [rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=(3, 2))]),
    ("scan_nitsot_not_stacked_twice",
     lambda: (lambda m: ([m], theanine.scan(lambda r: [r, T.tanh(r)], sequences=m)[0]))(_m()),
     [rng.normal(size=(4, 3))]),
    ("scan_nitsot_not_stacked_twice",  # the same step value twice
     lambda: (lambda m: ([m], theanine.scan(lambda r: (lambda t: [t, t])(T.tanh(r)),
                                            sequences=m)[0]))(_m()),
     [rng.normal(size=(4, 3))]),
    ("remove_undefined_grad",
     lambda: (lambda x: ([x], undefined_grad(x) * 2))(_x()), [rng.normal(size=3)]),
]
CASES = [c for c in CASES if c[1] is not None]
_RNN_VALUES = [rng.normal(size=(5, 3)), rng.normal(size=2), rng.normal(size=(3, 2)),
               rng.normal(size=(2, 2))]
CASES = [(r, b, v if v is not None else _RNN_VALUES) for r, b, v in CASES]


def _rnn_cost(grad: bool):
    X, h0, W, U = T.dmatrix("X"), T.dvector("h0"), T.dmatrix("W"), T.dmatrix("U")
    hs, _ = theanine.scan(lambda x, h, W, U: T.tanh(T.dot(x, W) + T.dot(h, U)),
                          sequences=X, outputs_info=h0, non_sequences=[W, U])
    cost = hs[-1].sum()
    wrt = [W, U] + ([X] if grad == "X" else [])
    out = theanine.grad(cost, wrt) if grad else [hs]
    return [X, h0, W, U], out


@pytest.mark.parametrize("rule, build, values", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_and_preserves_values(rule, build, values):
    inputs, out = build()
    f = function(inputs, out)
    assert rule in _fired(f), f"{rule} did not fire; fired: {sorted(_fired(f))}"
    if rule == "sort_commutative":  # and the two products then merge into one
        assert sum(1 for n in f.maker.fgraph.apply_nodes
                   if "exp" in str(n.op) and "mul" not in str(n.op)) <= 1
    ref = function(inputs, out, mode=NO_REWRITES)
    got, expected = f(*values), ref(*values)
    if isinstance(got, list):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_every_registered_rule_is_tested():
    tested = {c[0] for c in CASES} | {"final_merge", "merge2", "inplace_update",
                                      "sum_squares_into_update"}  # see below
    assert set(rewrites.names()) <= tested, set(rewrites.names()) - tested


def test_rules_do_not_fire_where_unsafe():
    x = _x()
    # exp(log(x)) is not x for negative x: left alone
    f0 = function([x], T.exp(T.log(x)))
    assert np.isnan(f0(np.array([-1.0]))[0])
    # x*1 where x would need broadcasting to the output shape: kept as a broadcast
    s = T.dscalar("s")
    f = function([s, x], s * T.ones_like(x))
    np.testing.assert_array_equal(f(2.0, np.zeros(3)), [2.0, 2.0, 2.0])
    # x ** 0.5 of an integer tensor stays a pow (sqrt would change the dtype rule)
    i = T.lvector("i")
    g = function([i], i ** 2)
    assert g(np.array([3])).dtype == np.int64
    # sum(x*y) of broadcasting vectors is not a dot
    r = T.tensor("float64", shape=(1,))
    h = function([x, r], (x * r).sum())
    assert "sum_of_product_to_dot" not in _fired(h)
    np.testing.assert_allclose(h(np.arange(3.0), np.array([2.0])), 6.0)
    # a product of selected columns (or of another matrix's rows) is not one of rows
    m, w, w2 = _m(), _m(), _m()
    d = function([m, w, w2], [T.dot(m, w), T.dot(m[:, 1:], w[1:]), T.dot(m[1:], w2)])
    assert "dot_of_selected_rows_reuses_dot" not in _fired(d)
    mv, wv = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    for got, want in zip(d(mv, wv, wv), [mv @ wv, mv[:, 1:] @ wv[1:], mv[1:] @ wv]):
        np.testing.assert_allclose(got, want)
    # an input the user passed is never overwritten in place
    k = function([x], x * 2 + 1)
    a = np.ones(3)
    k(a)
    np.testing.assert_array_equal(a, np.ones(3))
    # a shared variable is never overwritten by an in-place op
    W = theanine.shared(np.ones(3), "W")
    u = function([], (W * 2) + W)
    u()
    np.testing.assert_array_equal(W.get_value(), np.ones(3))
    # a value used twice is not destroyed
    y = T.exp(x)
    v = function([x], [y * 2, y])
    o1, o2 = v(np.zeros(3))
    np.testing.assert_array_equal(o2, np.ones(3))


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_stability(mode):
    x = _x()
    y = T.lscalar("y")
    v = np.array([1000.0, 0.0, -1000.0])
    exprs = {
        "log_softmax": T.log(T.nnet.softmax(x)).sum(),
        "xent": T.nnet.categorical_crossentropy(T.nnet.softmax([x]), T.stack([y])).sum(),
        "xent_by_hand": -T.log(T.nnet.softmax([x])[0][y]),
        "softplus": T.log(1 + T.exp(x)).sum(),
        "bce": T.nnet.binary_crossentropy(T.nnet.sigmoid(x), 1.0).sum(),
    }
    expected = {"log_softmax": (-3000.0, [-2.0, 1.0, 1.0]),
                "xent": (2000.0, [1.0, 0.0, -1.0]), "xent_by_hand": (2000.0, [1.0, 0.0, -1.0]),
                "softplus": (1000.0 + np.log(2.0), [1.0, 0.5, 0.0]),
                "bce": (1000.0 + np.log(2.0), [0.0, -0.5, -1.0])}
    for name, cost in exprs.items():
        f = function([x, y], [cost, theanine.grad(cost, x)], mode=mode,
                     on_unused_input="ignore")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            c, g = f(v, 2)
        assert np.isfinite(c) and np.all(np.isfinite(g)), name
        np.testing.assert_allclose(c, expected[name][0], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(g, expected[name][1], atol=1e-12, err_msg=name)


def test_modes_are_queries():
    x = _x()
    out = T.exp(-x * x) * 0.5 + T.tanh(x)
    fast_compile = function([x], out, mode="FAST_COMPILE")
    assert "fusion" not in _fired(fast_compile)
    no_fusion = function([x], out, mode=Mode().excluding("fusion"))
    assert "fusion" not in _fired(no_fusion)
    only_fusion = function([x], out, mode=Mode(optimizer=None).including("fusion"))
    assert _fired(only_fusion) == {"fusion"}
    with pytest.raises(ValueError, match="unknown rewrite tag"):
        function([x], out, mode=Mode().excluding("fusoin"))
    with config.change_flags(optimizer="None"):
        assert not _fired(function([x], out))


def test_failing_rewrite_is_skipped_with_a_warning():
    from theanine.rewrite.engine import EquilibriumRewriter, node_rewriter

    @node_rewriter(["exp"])
    def broken(fgraph, node):
        raise RuntimeError("boom")

    x = _x()
    mode = Mode(optimizer=EquilibriumRewriter([broken]))
    with pytest.warns(UserWarning, match="broken failed"):
        f = function([x], T.exp(x), mode=mode)
    np.testing.assert_allclose(f(np.zeros(2)), [1.0, 1.0])
    with config.change_flags(on_opt_error="raise"):
        with pytest.raises(RuntimeError, match="boom"):
            function([x], T.exp(x), mode=mode)


def test_fused_composite_on_large_and_broadcast_inputs():
    m = _m()
    r = T.row("r")
    out = T.exp(m) * r + T.sin(m) - 1.0
    f = function([m, r], out)
    assert "fusion" in _fired(f)
    a, b = rng.normal(size=(300, 200)), rng.normal(size=(1, 200))
    np.testing.assert_allclose(f(a, b), np.exp(a) * b + np.sin(a) - 1.0, rtol=1e-12)
    x32 = T.fvector("x32")
    g = function([x32], T.exp(x32) * 2 + 1)
    v = rng.normal(size=70000).astype("float32")
    got = g(v)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.exp(v) * 2 + 1, rtol=1e-6)


@pytest.mark.parametrize("openmp", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_sum_on_large_inputs(dtype, openmp):
    """Block sums (in float64 for float32) on every core, or not, match NumPy; inputs that
    broadcast take the element-wise path."""
    x = T.vector("x", dtype=dtype)
    s = T.scalar("s", dtype=dtype)
    m = T.matrix("m", dtype=dtype)
    r = T.row("r", dtype=dtype)
    f = function([x, s], T.sum(T.exp(-x * x) * s + T.tanh(x)))
    g = function([m, r], (T.sin(m) * r + 1).sum())
    assert "fuse_sum" in _fired(f) and "fuse_sum" in _fired(g)
    v = rng.normal(size=1_000_003).astype(dtype)
    want = np.sum(np.exp(-v.astype("float64") ** 2) * 0.5 + np.tanh(v.astype("float64")))
    a, b = rng.normal(size=(600, 500)).astype(dtype), rng.normal(size=(1, 500)).astype(dtype)
    with config.change_flags(openmp=openmp, openmp_elemwise_minsize=100_000):  # at call time
        got = f(v, 0.5)
        assert got.dtype == np.dtype(dtype) and got.shape == ()
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-12)
        np.testing.assert_allclose(g(a, b), (np.sin(a.astype("float64")) * b + 1).sum(),
                                   rtol=1e-5 if dtype == "float32" else 1e-12)
        assert f(np.zeros(0, dtype), 1.0) == 0


BLOCK_CASES = {
    # name: (input dtypes, expression); large inputs run the block kernels with scratch
    # buffers, compared with the VM without fusion (NumPy op by op)
    "chain": (["float32", "float32"], lambda a, b: T.exp(-a * a) * 0.5 + T.tanh(a) * b),
    "mixed": (["float32", "float64"], lambda a, b: T.sqrt(abs(a)) + T.sin(b) * a),
    "ints": (["int32", "float64"], lambda a, b: (a * 3 + 1) / b - T.cast(a, "float64")),
    "variadic": (["float64", "float64"], lambda a, b: a + b + a * b + 2.5 + T.sqr(b)),
    "compare": (["float64", "float64"], lambda a, b: T.switch(a > b, a - b, b * 2) + (a < 0)),
    "sigmoid": (["float32", "float32"], lambda a, b: T.nnet.sigmoid(a) * T.log1p(abs(b)) - a),
    "reuse": (["float64", "float64"], lambda a, b: (T.exp(a) + b) * (T.exp(a) - b) / (b + 3)),
}


@pytest.mark.parametrize("case", sorted(BLOCK_CASES))
def test_block_kernels_equal_numpy_op_by_op(case):
    """Fused element-wise nodes and fused sums over large inputs (block kernels writing
    intermediates into reused scratch buffers, on several threads) give NumPy's values."""
    dtypes, build = BLOCK_CASES[case]
    a, b = (T.vector(n, dtype=d) for n, d in zip("ab", dtypes))
    out = build(a, b)
    f = function([a, b], out, mode=Mode(linker="vm"))
    g = function([a, b], out.sum(), mode=Mode(linker="vm"))
    ref = function([a, b], [out, out.sum()], mode=Mode(linker="vm").excluding("fusion"))
    assert "fusion" in _fired(f) and "fuse_sum" in _fired(g)
    n = 5 * (1 << 16) + 123  # several blocks and a short last one
    vals = [rng.integers(-5, 6, n).astype(d) if d.startswith("int") else
            rng.normal(size=n).astype(d) for d in dtypes]
    vals[1][vals[1] == 0] = 1
    with config.change_flags(openmp_elemwise_minsize=100_000):  # split when compute-bound
        got = [f(*vals), g(*vals)]
    want = ref(*vals)
    assert got[0].dtype == want[0].dtype and got[1].dtype == want[1].dtype
    tol = 1e-5 if "float32" in (got[0].dtype.name, got[1].dtype.name) else 1e-11
    np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(got[1], want[1], rtol=tol * 10, atol=tol * n)


@pytest.mark.parametrize("inplace", [False, True])
def test_a_fused_scale_of_a_large_array_is_one_ufunc_call(inplace, monkeypatch):
    """A composite whose only step over whole arrays is its last (scalars combined, then
    one multiply: W4's embedding update) runs as one ufunc call, not block by block; its
    values (in place or not) are NumPy's. A chain with two such steps keeps the blocks."""
    from theanine.rewrite.rules.fusion import Composite, FusedElemwise

    calls = []
    real = Composite.evaluate_blocks
    monkeypatch.setattr(Composite, "evaluate_blocks",
                        lambda self, *a: (calls.append(self), real(self, *a))[1])
    # (1, 1) inputs: the scalars are combined inside the composite
    lr, c = T.tensor("float32", (1, 1), "lr"), T.tensor("float64", (1, 1), "c")
    E0 = rng.normal(size=(700, 400))
    E = theanine.shared(E0.copy(), "E")
    scale = E * (c - T.cast(lr, "float64") * c)
    kw = dict(updates=[(E, scale)]) if inplace else {}
    f = function([lr, c], [] if inplace else scale, mode=Mode(linker="vm"), **kw)
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, FusedElemwise)]
    assert node.op.scalar_op.one_pass and bool(node.op.inplace_pattern) == inplace
    got = f(np.full((1, 1), 0.25, "float32"), np.full((1, 1), 0.5))
    want = E0 * (0.5 - 0.25 * 0.5)
    np.testing.assert_allclose(E.get_value() if inplace else got, want, rtol=1e-12)
    row = T.tensor("float64", (1, 400), "row")
    r = rng.normal(size=(1, 400))
    two = function([row], E * row + E * 2, mode=Mode(linker="vm"))
    np.testing.assert_allclose(two(r), E.get_value() * r + E.get_value() * 2, rtol=1e-12)
    assert len(calls) == 1 and not calls[0].one_pass


def test_only_compute_bound_fused_expressions_are_split_across_cores(monkeypatch):
    """A large scale-and-add runs on one core (memory-bound: a second one only adds thread
    start-up); an expression with a transcendental op is split into one share per core."""
    import threading

    from theanine.rewrite.rules import fusion

    monkeypatch.setattr(fusion, "_cores", lambda: 2)
    started = []
    real = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: (started.append(t), real(t))[1])
    a, b = T.dvector("a"), T.dvector("b")
    v = rng.normal(size=300_000)
    with config.change_flags(openmp=True, openmp_elemwise_minsize=100_000):
        cheap = function([a, b], a * 0.9 - b * 0.1, mode=Mode(linker="vm"))
        costly = function([a, b], T.exp(a) * 0.9 - b, mode=Mode(linker="vm"))
        np.testing.assert_allclose(cheap(v, v), v * 0.8)
        assert started == []
        np.testing.assert_allclose(costly(v, v), np.exp(v) * 0.9 - v)
        assert len(started) == 1


def test_debugprint_shows_rewritten_graph():
    from theanine.printing import debugprint, pp

    x = _x()
    f = function([x], T.log(1 + T.exp(x)))
    text = debugprint(f, file="str")
    assert "softplus" in text and "log" not in text.replace("softplus", "")
    assert pp(T.exp(x) * 2) == "(exp(x) * [2.])"


def test_blas_ops_gradients():
    from tests.ops.harness import check_grad
    from theanine.tensor.blas import Gemm, Gemv

    a, b, c = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    check_grad(lambda z, x, y: Gemm()(z, T.constant(0.7), x, y, T.constant(1.5)), [c, a, b])
    check_grad(lambda z, x, y: Gemv()(z, T.constant(-1.0), x, y, T.constant(0.5)),
               [rng.normal(size=3), a, rng.normal(size=4)])


def test_inplace_update_of_shared_variables():
    E = theanine.shared(rng.normal(size=(6, 3)), "E")
    E_ref = theanine.shared(E.get_value(), "E_ref")
    i = T.lvector("i")

    def step(P):
        cost = P[i].sum() + 0.01 * T.sqr(P).sum()
        return cost, [(P, P - 0.1 * theanine.grad(cost, P))]

    c, upd = step(E)
    f = function([i], c, updates=upd)
    assert "inplace_update" in _fired(f)
    c_ref, upd_ref = step(E_ref)
    f_ref = function([i], c_ref, updates=upd_ref, mode=NO_REWRITES)
    buf = E.get_value(borrow=True)
    for idx in ([0, 0, 3], [5], [1, 2, 1]):
        np.testing.assert_allclose(f(np.array(idx)), f_ref(np.array(idx)))
        np.testing.assert_allclose(E.get_value(), E_ref.get_value())
    assert E.get_value(borrow=True) is buf  # the update was written into E's own buffer
    # the old value returned to the user blocks it
    W = theanine.shared(np.ones(3), "W")
    g = function([], W.T * 1, updates=[(W, W * 2)])
    np.testing.assert_array_equal(g(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(W.get_value(), [2.0, 2.0, 2.0])


def test_inplace_update_by_gemm_and_not_through_a_view():
    from theanine.tensor.blas import Gemm

    W0 = rng.normal(size=(4, 3))
    W = theanine.shared(W0.copy(), "W")
    h, d = T.dmatrix("h"), T.dmatrix("d")
    y = T.dot(h, W)  # read before the update
    f = function([h, d], y.sum(), updates=[(W, W - 0.1 * T.dot(h.T, d))])
    gemms = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Gemm)]
    assert gemms and all(n.op.inplace for n in gemms)
    buf = W.get_value(borrow=True)
    hv, dv = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    np.testing.assert_allclose(f(hv, dv), (hv @ W0).sum())
    np.testing.assert_allclose(W.get_value(), W0 - 0.1 * hv.T @ dv)
    assert W.get_value(borrow=True) is buf
    # an update reading a view of the buffer it would overwrite stays out of place
    S = theanine.shared(np.arange(9.0).reshape(3, 3), "S")
    g = function([], [], updates=[(S, S + S.T)])
    assert all(not n.op.destroy_map for n in g.maker.fgraph.toposort())
    g()
    np.testing.assert_array_equal(S.get_value(), [[0, 4, 8], [4, 8, 12], [8, 12, 16]])


def test_failing_call_with_in_place_updates_changes_nothing():
    W = theanine.shared(np.arange(4.0), "W")
    V = theanine.shared(np.ones(3), "V")
    i = T.lscalar("i")
    f = function([i], W.sum(), updates=[(W, W * 2), (V, V + V[i])])
    assert "inplace_update" in _fired(f)
    with pytest.raises(IndexError):
        f(10)
    np.testing.assert_array_equal(W.get_value(), np.arange(4.0))
    np.testing.assert_array_equal(V.get_value(), np.ones(3))
    f(1)
    np.testing.assert_array_equal(W.get_value(), np.arange(4.0) * 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7, 5), (6,), (3, 4, 5), (0, 4)])
def test_sum_squares_into_update(shape, dtype):
    """An L2 penalty's sum of squares and the in-place SGD update of the same parameter
    become one node reading it once; costs and new values are unchanged."""
    from theanine.rewrite.rules.fusion import ElemwiseSumSquares

    E0 = rng.normal(size=shape).astype(dtype)
    lr = T.scalar("lr", dtype=dtype)
    fs = []
    for mode in (None, NO_REWRITES):
        E = theanine.shared(E0.copy(), "E")
        cost = 0.01 * T.sqr(E).sum() + T.exp(E).sum()
        fs.append((function([lr], cost, updates=[(E, E - lr * theanine.grad(cost, E))],
                            mode=mode), E))
    (f, E), (ref, E_ref) = fs
    assert "sum_squares_into_update" in _fired(f)
    nodes = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, ElemwiseSumSquares)]
    assert len(nodes) == 1 and nodes[0].op.destroy_map
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for _ in range(2):
        np.testing.assert_allclose(f(np.asarray(0.1, dtype)),
                                   ref(np.asarray(0.1, dtype)), rtol=rtol)
        np.testing.assert_allclose(E.get_value(), E_ref.get_value(), rtol=rtol)


def test_sum_squares_into_update_stays_away_when_the_update_needs_the_sum():
    W = theanine.shared(np.arange(6.0).reshape(2, 3), "W")
    cost = T.sqr(W).sum()
    f = function([], cost, updates=[(W, W - 0.01 * cost * W)])
    assert "sum_squares_into_update" not in _fired(f)
    np.testing.assert_allclose(f(), 55.0)
    np.testing.assert_allclose(W.get_value(), np.arange(6.0).reshape(2, 3) * (1 - 0.55))


def test_a_per_step_product_the_step_reads_stays_in_the_loop():
    """``scan_pushout_nitsot_dot`` leaves a product that the recurrence also reads (the
    loop must compute it anyway)."""
    m, w = _m(), _m()
    h0 = T.dvector("h0")

    def step(r, h, w):
        p = T.dot(w, T.tanh(r))
        return [h + p, p]
    (hs, ps), _ = theanine.scan(step, sequences=m, outputs_info=[h0, None], non_sequences=w)
    f = function([m, h0, w], [hs, ps])
    assert "scan_pushout_nitsot_dot" not in _fired(f)
    mv, wv = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    want_p = np.tanh(mv) @ wv.T
    got_h, got_p = f(mv, np.zeros(2), wv)
    np.testing.assert_allclose(got_p, want_p, rtol=1e-12)
    np.testing.assert_allclose(got_h, np.cumsum(want_p, axis=0), rtol=1e-12)
