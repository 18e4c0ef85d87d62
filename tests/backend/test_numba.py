"""The native back end gives the NumPy VM's results (the reference) on representative
programs covering every kernel, and keeps the VM's error and update semantics."""

import os

import numpy as np
import pytest

import theanine
import theanine.datasets
import theanine.tensor as T
from theanine import config, function, grad, shared
from theanine.scan import until

pytest.importorskip("numba", reason="numba is not installed (native back end)")

rng = np.random.default_rng(0)
UNARY = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
         "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arctanh", "erf",
         "erfc", "gamma", "gammaln", "sigmoid", "softplus", "abs", "sgn", "floor", "ceil",
         "trunc", "sqr", "reciprocal", "neg", "round"]


def _native(inputs, outputs, **kw):
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function(inputs, outputs, **kw)
    return f


def _compare(inputs, outputs, values, rtol=1e-6, **kw):
    f = _native(inputs, outputs, **kw)
    ref = function(inputs, outputs, mode=theanine.Mode(linker="vm"), **kw)
    got = f(*values)
    assert f.maker.fgraph.native_report["native"], f.maker.fgraph.native_report
    assert f._run.state == "ready", f._run.error
    expected = ref(*values)
    if not isinstance(got, list):
        got, expected = [got], [expected]
    for g, e in zip(got, expected):
        assert np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-7, equal_nan=True)
    return f


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_ops(dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    outs = [getattr(T, n)(x) if hasattr(T, n) else getattr(T.nnet, n)(x) for n in UNARY]
    v = rng.uniform(0.1, 0.9, (3, 4)).astype(dtype)
    _compare([x], outs, [v], rtol=1e-5 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_binary_ops_and_broadcasting(dtype):
    x = T.tensor(dtype, shape=(None, 1), name="x")
    y = T.tensor(dtype, shape=(1, None), name="y")
    outs = [x + y, x - y, x * y, T.maximum(x, y), T.minimum(x, y), T.eq(x, y), T.lt(x, y),
            T.ge(x, y), T.switch(T.gt(x, y), x, y), T.clip(x, 1, 3) * y, x ** 2 + y,
            T.cast(x, "float32") / T.cast(y, "float32") + 1]
    if dtype.startswith("int"):
        outs += [x // T.maximum(y, 1), x % T.maximum(y, 1), x & y, x | y, x ^ y]
    v = rng.integers(1, 5, (3, 1)).astype(dtype)
    w = rng.integers(1, 5, (1, 4)).astype(dtype)
    _compare([x, y], outs, [v, w])


def test_division_by_zero_gives_numpys_values_natively():
    """A float division by zero gives inf or nan in the native program, as in NumPy, and
    does not send the call back to the VM (Numba's Python error model raises there)."""
    x, y = T.fvector("x"), T.fvector("y")
    i, j = T.ivector("i"), T.ivector("j")
    v = np.array([1, -1, 0, 2], "float32")
    w = np.array([0, 0, 0, 4], "float32")
    with np.errstate(divide="ignore", invalid="ignore"):
        f = _compare([x, y, i, j], [x / y, T.nnet.sigmoid(x) / y, T.cast(i, "float32") / j],
                     [v, w, v.astype("int32"), w.astype("int32")])
    assert f._run.fallbacks == 0
    np.testing.assert_array_equal(f(v, w, v.astype("int32"), w.astype("int32"))[0],
                                  [np.inf, -np.inf, np.nan, 0.5])
    assert f._run.fallbacks == 0


def test_fused_chain_and_0d():
    x = T.fvector("x")
    s = T.fscalar("s")
    out = T.sum(T.exp(-x * x) * 0.5 + T.tanh(x) * T.nnet.sigmoid(x) - T.log1p(abs(x))) * s
    f = _compare([x, s], [out, s * 2], [rng.normal(size=1000).astype("float32"),
                                        np.float32(1.5)], rtol=1e-5)
    assert any("Composite" in str(n.op) for n in f.maker.fgraph.apply_nodes)
    assert any("FusedSum" in str(n.op) for n in f.maker.fgraph.apply_nodes)
    # large inputs: NumPy's kernels block by block, summed in cache (both paths compiled)
    v = rng.normal(size=200_003).astype("float32")
    np.testing.assert_allclose(f(v, np.float32(1.5))[0], function(
        [x, s], out, mode=theanine.Mode(linker="vm"))(v, np.float32(1.5)), rtol=1e-5)
    assert f._run.fallbacks == 0


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "bool",
                                   "complex64"])
def test_0d_outputs_leave_the_program_as_scalars_and_return_as_fresh_0d_arrays(dtype):
    x = T.vector("x", dtype="float64")
    W = shared(np.array([0.2, 0.7]), "W")
    y = T.cast((x * W).sum() * 10, dtype)
    vec = T.cast(x, dtype)
    values = [np.array([1.0, 2.5])]
    for outputs in ([y], [y, vec, y + y], y):  # one output (the shortcut), several, bare
        f = _compare([x], outputs, values)
        assert "[()]," in str(f._run.source)  # returned as a scalar

        def first(res):
            return res[0] if isinstance(res, list) else res

        for trusted in (False, True):
            f.trust_input = trusted
            a, b = first(f(*values)), first(f(*values))
            assert isinstance(a, np.ndarray) and a.shape == () and a.dtype == np.dtype(dtype)
            assert a is not b and a.flags.writeable
            a[...] = 0  # a fresh array: the other calls' values are unaffected
            np.testing.assert_array_equal(first(f(*values)), b)
            assert b == np.asarray((np.array([1.0, 2.5]) * [0.2, 0.7]).sum() * 10).astype(dtype)
    assert f._run.fallbacks == 0


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2)])
def test_reductions(axis):
    x = T.dtensor3("x")
    b = T.btensor3("b")
    outs = [x.sum(axis), x.prod(axis), x.max(axis), x.min(axis), x.mean(axis),
            T.all(b, axis), T.any(b, axis), x.sum(axis, keepdims=True)]
    _compare([x, b], outs, [rng.normal(size=(2, 3, 4)),
                            rng.integers(0, 2, (2, 3, 4)).astype("int8")])


def test_products_and_blas():
    A, B, C, D = T.dmatrix("A"), T.dmatrix("B"), T.dmatrix("C"), T.dmatrix("D")
    v, y = T.dvector("v"), T.dvector("y")
    outs = [T.dot(A, B), T.dot(A, v), T.dot(y, B.T), T.dot(v, v), C * 0.5 + 2.0 * T.dot(C, D),
            y - T.dot(A, v), T.exp(C) + T.dot(D, C), T.outer(v, y)]
    f = _compare([A, B, C, D, v, y], outs, [rng.normal(size=(3, 4)), rng.normal(size=(4, 3)),
                                            rng.normal(size=(3, 3)), rng.normal(size=(3, 3)),
                                            rng.normal(size=4), rng.normal(size=3)])
    assert any("Gemm" in str(n.op) for n in f.maker.fgraph.apply_nodes)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [(3, 4, 5), (1, 1, 1), (0, 3, 2), (3, 0, 2), (2, 3, 0)])
def test_products_read_transposed_and_strided_operands(dtype, shapes):
    """Products through NumPy's CBLAS (``blas_kernels.py``) take transposes, strided views
    and empty shapes, in both float dtypes, into new outputs and into Gemm's ``z``."""
    m, k, n = shapes
    A, B, Z = (T.tensor(dtype, shape=(None, None), name=c) for c in "ABZ")
    v, w = T.tensor(dtype, shape=(None,), name="v"), T.tensor(dtype, shape=(None,), name="w")
    outs = [T.dot(A, B), T.dot(B.T, A.T), T.dot(A[:, ::2], B[::2]), T.dot(A, v),
            T.dot(A.T, w), T.dot(w, A), T.dot(v, v), T.dot(v[::-1], v),
            Z * 0.5 + 2.0 * T.dot(A, B), Z - T.dot(B.T, A.T).T, w + 3.0 * T.dot(A, v)]
    values = [rng.normal(size=s).astype(dtype) for s in [(m, k), (k, n), (m, n), (k,), (m,)]]
    f = _compare([A, B, Z, v, w], outs, values, rtol=1e-5 if dtype == "float32" else 1e-10)
    source = f._run.source
    from theanine.backend.numba.cblas import numpy_cblas

    if numpy_cblas() is not None:
        assert "_gemm_into(" in source and "_gemv_into(" in source and "np.dot(" not in source


def test_products_with_mismatched_shapes_raise_like_the_vm():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    f = _native([A, B], T.dot(A, B) * 2.0)
    f(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="dot"):
        f(np.ones((2, 3)), np.ones((2, 2)))


def test_shapes_and_views():
    x = T.dtensor3("x")
    m = T.dmatrix("m")
    outs = [x.dimshuffle(2, 0, 1) * 1.0, x.T + 1, x.reshape((-1, 4)) * 2, x.flatten(),
            x.shape, m[:, None, :] * 2, T.concatenate([m, m * 2], axis=1),
            T.stack([m.sum(), m.max()]), T.zeros_like(m) + T.alloc(1.5, m.shape[0], 1),
            T.specify_shape(m, (2, None)) * 3, T.addbroadcast(m[:1], 0) + m]
    _compare([x, m], outs, [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5))])


def test_alloc_broadcasts_a_length_of_one_and_rejects_other_lengths_natively():
    v, n = T.dvector("v"), T.lscalar("n")
    f = _compare([v, n], T.alloc(v, n, 3), [np.array([1.0, 2.0, 3.0]), np.array(2)])
    np.testing.assert_array_equal(f(np.array([4.0]), 2), np.full((2, 3), 4.0))
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):  # (the VM names them)
        f(np.ones(4), 2)


def test_dimshuffle_dropping_every_axis_then_adding_one():
    x = T.TensorType("float64", (True,))("x")
    _compare([x], [x.dimshuffle("x") * 2, x.dimshuffle() + 1], [np.array([3.0])])


def test_ops_that_print_alike_keep_their_own_python_island():
    """Two jacobians (MapIndex nodes, run by their NumPy perform) in one process: each
    program calls its own node, not the first one registered under the same name."""
    x = T.dvector("x")
    a = np.array([0.5, -1.0, 2.0])
    j1 = _native([x], theanine.jacobian(T.exp(x) * x[0], x))
    j2 = _native([x], theanine.jacobian(x ** 2, x))
    expected = np.diag(np.exp(a) * a[0])
    expected[:, 0] += np.exp(a)
    np.testing.assert_allclose(j2(a), np.diag(2 * a))
    np.testing.assert_allclose(j1(a), expected)
    assert j1._run.state == j2._run.state == "ready"


def test_indexing():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    ids = T.lvector("ids")
    outs = [x[1], x[-1, 2:], x[::-1, 1:4:2], x[i], x[i, i], x[ids], x[ids, ids],
            T.set_subtensor(x[0], 5.0), T.inc_subtensor(x[1:, ::2], 1.0),
            T.inc_subtensor(x[ids], 1.0), T.set_subtensor(x[ids], x[ids] * 0),
            T.inc_subtensor(x[ids, ids], 2.0)]
    _compare([x, i, ids], outs, [rng.normal(size=(4, 5)), 2, np.array([0, 3, 0])])


def test_assignments_broadcast_overlap_and_join():
    """The generated copy loops (kernels.assign): broadcast values, set and inc, joins with
    a cast, and an in-place update whose value overlaps its destination."""
    x = T.dmatrix("x")
    ids = T.lvector("ids")
    r = T.dvector("r")
    outs = [T.set_subtensor(x[1:3], r), T.inc_subtensor(x[:, 1:], x[:, :-1]),
            T.set_subtensor(x[ids], x[:1]), T.inc_subtensor(x[ids], x[ids]),
            T.join(0, x, x[:1]), T.join(1, x, T.cast(x, "float32")), T.join(0, r, r[::-1])]
    v = rng.normal(size=(4, 5))
    _compare([x, ids, r], outs, [v, np.array([0, 3, 0]), rng.normal(size=5)])
    with pytest.raises(ValueError):
        _native([x, r], T.set_subtensor(x[1:3], r))(v, rng.normal(size=4))


@pytest.mark.parametrize("op", ["=", "+="])
def test_generated_assignment_reads_an_overlapping_value_first(op, tmp_path):
    """kernels.assign's loop copies an overlapping source first, as NumPy's ``d[...] = s``."""
    from theanine.backend.numba.kernels import Context, assign
    from theanine.backend.numba.linker import Source, load_program

    ctx = Context()
    line = assign("d", "s", 2, 2, ctx, op=op)
    source = Source(ctx.helpers, ["@numba.njit", "def run(d, s):", f"    {line}"])
    run = load_program(source, str(tmp_path)).run
    a = rng.normal(size=(5, 4))
    for d, s in [(slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None))]:
        got, want = a.copy(), a.copy()
        run(got[d], got[s])
        if op == "=":
            want[d] = want[s]
        else:
            want[d] += want[s]
        np.testing.assert_array_equal(got, want)
    got = a.copy()
    run(got, got[:1])  # broadcast along the first axis (and overlapping)
    np.testing.assert_array_equal(got, a[[0] * 5] if op == "=" else a + a[:1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_crossentropy_and_argmax(dtype):
    x = T.matrix("x", dtype=dtype)
    y = T.lvector("y")
    v = T.vector("v", dtype=dtype)
    sm = T.nnet.softmax(x)
    cost = T.nnet.categorical_crossentropy(sm, y).mean()
    outs = [sm, T.log(sm), cost, grad(cost, x), T.argmax(v), T.argmin(v),
            T.nnet.softmax([v])[0], grad(T.nnet.softmax(x)[:, 0].sum(), x)]
    _compare([x, y, v], outs, [rng.normal(size=(3, 5)).astype(dtype), np.array([0, 4, 2]),
                               rng.normal(size=5).astype(dtype)],
             rtol=1e-5 if dtype == "float32" else 1e-6)


def test_training_step_with_in_place_updates_matches_vm():
    X, y = theanine.datasets.load_gdp("train")
    init = [rng.normal(0, 0.1, (11, 5)), rng.normal(0, 0.1, (5, 1))]

    def build(mode_kw):
        Wh, Wo = shared(init[0].copy(), "Wh"), shared(init[1].copy(), "Wo")
        x, t = T.fvector("x"), T.fscalar("t")
        p = T.nnet.sigmoid(T.dot(T.nnet.sigmoid(T.dot(x, Wh)), Wo))
        cost = T.sqr(p - t).sum() + 0.001 * (T.sqr(Wh).sum() + T.sqr(Wo).sum())
        g = grad(cost, [Wh, Wo])
        upd = [(w, w - 0.1 * gw) for w, gw in zip([Wh, Wo], g)]
        return function([x, t], cost, updates=upd, allow_input_downcast=True, **mode_kw), Wh
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f, Wh = build({})
    g, Wh_ref = build({"mode": theanine.Mode(linker="vm")})
    for xi, yi in zip(X[:30], y[:30]):
        np.testing.assert_allclose(f(xi, yi), g(xi, yi), rtol=1e-10)
    assert f._run.state == "ready"
    np.testing.assert_allclose(Wh.get_value(), Wh_ref.get_value(), rtol=1e-10)


def test_errors_and_all_or_nothing():
    W = shared(np.arange(4.0), "W")
    i = T.lscalar("i")
    f = _native([i], W[i] * 2, updates=[(W, W * 2)])
    assert float(f(1)) == 2.0
    assert f._run.state == "ready"
    with pytest.raises(IndexError, match="out of bounds") as err:
        f(7)
    assert __file__ in str(err.value)
    np.testing.assert_array_equal(W.get_value(), np.arange(4.0) * 2)
    m = T.dmatrix("m")
    g = _native([m], T.dot(m, m))
    with pytest.raises(ValueError, match="not aligned"):
        g(np.ones((2, 3)))


def test_ops_without_kernel_run_as_python_islands():
    x = T.dvector("x")
    f = _native([x], T.psi(x) + theanine.printing.Print("p", attrs=("shape",))(x) * 2)
    np.testing.assert_allclose(f(np.array([1.0, 2.0])),
                               [-0.5772156649 + 2.0, 0.4227843351 + 4.0], rtol=1e-6)
    report = f.maker.fgraph.native_report
    assert report["native"] and f._run.state == "ready"
    assert any("Print" in n for n in report["python_nodes"])
    assert any("psi" in n for n in report["python_nodes"])


def test_background_compilation_switches_to_native():
    import time

    x = T.dvector("x")
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=2):
        f = function([x], T.tanh(x) * 3 + 1)
    v = rng.normal(size=5)
    for _ in range(3):
        np.testing.assert_allclose(f(v), np.tanh(v) * 3 + 1)
    deadline = time.time() + 120
    while f._run.state == "compiling" and time.time() < deadline:
        time.sleep(0.05)
    assert f._run.state == "ready"
    np.testing.assert_allclose(f(v), np.tanh(v) * 3 + 1)


def test_background_compilation_runs_in_a_child_process(tmp_path):
    """A cold program is compiled by a child process into the cache (the parent's VM keeps
    the GIL); once the cache holds it, a new function loads it without a child."""
    import time

    x = T.dvector("x")
    v = rng.normal(size=5)
    runs = []
    for _ in range(2):
        with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=1,
                                 compiledir=str(tmp_path)):
            f = function([x], T.arctan(x) * 2 - x)
        np.testing.assert_allclose(f(v), np.arctan(v) * 2 - v)
        deadline = time.time() + 120
        while f._run.state == "compiling" and time.time() < deadline:
            time.sleep(0.05)
        assert f._run.state == "ready", f._run.error
        np.testing.assert_allclose(f(v), np.arctan(v) * 2 - v)
        runs.append(f._run.child)
    assert runs[0] is not None  # the child (it goes on, serving the next compiles)
    assert runs[1] is None  # loaded from the cache the child filled
    assert any(n.endswith(".nbi") for _, _, files in os.walk(tmp_path) for n in files)


def test_the_hot_call_never_waits_for_numba(monkeypatch, tmp_path):
    """Everything that starts a background compile (importing numba, typing the
    arguments, looking in the cache, spawning the child) runs off the calling thread: the
    hot call and those after it return from the VM while that work is held up."""
    import threading
    import time

    from theanine.backend.numba.linker import NumbaRunner

    gate = threading.Event()
    start = NumbaRunner._start_in_thread

    def held(self, values, mode):
        gate.wait(120)
        start(self, values, mode)

    monkeypatch.setattr(NumbaRunner, "_start_in_thread", held)
    x = T.dvector("x")
    v = rng.normal(size=4)
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=1,
                             compiledir=str(tmp_path)):
        f = function([x], T.sinh(x) + x)
    for _ in range(3):
        np.testing.assert_allclose(f(v), np.sinh(v) + v)
        assert f._run.state == "compiling" and f._run.native is None
    gate.set()
    deadline = time.time() + 120
    while f._run.state == "compiling" and time.time() < deadline:
        time.sleep(0.05)
    assert f._run.state == "ready", f._run.error
    np.testing.assert_allclose(f(v), np.sinh(v) + v)


def test_blas_runs_on_one_core_fewer_while_a_child_compiles(monkeypatch, tmp_path):
    """The cap is applied on the calling thread at the first call after the child starts,
    and lifted at the first call that runs native code."""
    import threading
    import time

    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg  # noqa: F401 - both OpenBLAS builds loaded before counting threads

    import theanine.backend.numba.background as background
    import theanine.backend.numba.linker as linker

    def blas_threads():
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas"]

    A = T.dmatrix("A")
    v = rng.normal(size=(300, 300))
    before = blas_threads()
    if not before:
        pytest.skip("no BLAS library found by threadpoolctl")
    monkeypatch.setattr(background, "_cores", lambda: 2)  # a cap of one thread
    gate = threading.Event()
    load = linker.NumbaRunner._compile

    def held(self, types):
        gate.wait(120)
        load(self, types)

    monkeypatch.setattr(linker.NumbaRunner, "_compile", held)
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=1,
                             compiledir=str(tmp_path)):
        f = function([A], T.dot(A, A) + 1.0)
    try:
        f(v)
        deadline = time.time() + 120
        while f._run.blas_cap != "wanted" and time.time() < deadline:
            time.sleep(0.02)
        np.testing.assert_allclose(f(v), v @ v + 1.0)
        assert f._run.blas_cap == "held"
        assert blas_threads() == [1] * len(before)
    finally:
        gate.set()
    while f._run.state == "compiling" and time.time() < deadline:
        time.sleep(0.05)
    assert f._run.state == "ready", f._run.error
    np.testing.assert_allclose(f(v), v @ v + 1.0)
    assert f._run.blas_cap is None and blas_threads() == before


def test_scan_loop_and_its_gradient_run_natively():
    X = T.dmatrix("X")
    h0 = T.dvector("h0")
    W = shared(rng.normal(0, 0.5, (3, 2)), "W")
    U = shared(rng.normal(0, 0.5, (2, 2)), "U")
    hs, _ = theanine.scan(lambda x, h, W, U: T.tanh(T.dot(x, W) + T.dot(h, U)), sequences=X,
                          outputs_info=h0, non_sequences=[W, U])
    cost = hs[-1].sum() + hs.mean()
    gs = grad(cost, [X, h0, W, U])
    fib, _ = theanine.scan(lambda a, b: a + b, n_steps=6,
                           outputs_info=dict(initial=T.constant(np.array([0.0, 1.0])),
                                             taps=[-2, -1]))
    stop, _ = theanine.scan(lambda h: (h * 2, until(h * 2 > 20)),
                            outputs_info=T.constant(1.0), n_steps=50)
    _compare([X, h0], [hs, cost, *gs, fib, stop], [rng.normal(size=(5, 3)), rng.normal(size=2)],
             rtol=1e-9)


def test_a_float32_recurrence_with_softmax_and_its_gradient_run_natively():
    """The tutorial's GRU classifier in float32 (floatX=float32): gates, a softmax over the
    last state, the cost's gradients with respect to every weight and the sequence."""
    X, t = T.fmatrix("X"), T.lscalar("t")
    f32 = lambda *s: shared(rng.normal(0, 0.5, s).astype("float32"))  # noqa: E731
    Wz, Uz, Wh, Uh, Wo = f32(3, 4), f32(4, 4), f32(3, 4), f32(4, 4), f32(4, 5)

    def step(x, h):
        z = T.nnet.sigmoid(T.dot(x, Wz) + T.dot(h, Uz))
        return z * h + (1 - z) * T.tanh(T.dot(x, Wh) + T.dot(h, Uh))
    hs, _ = theanine.scan(step, sequences=X, outputs_info=T.zeros(4, dtype="float32"))
    p = T.nnet.softmax([T.dot(hs[-1], Wo)])[0]
    cost = -T.log(p[t])
    gs = grad(cost, [X, Wz, Uz, Wh, Uh, Wo])
    _compare([X, t], [p, cost, *gs], [rng.normal(size=(6, 3)).astype("float32"), np.array(2)],
             rtol=1e-4)


def test_cache_is_reused_and_managed(tmp_path, capsys):
    import subprocess
    import sys

    from theanine import cache

    code = ("import numpy as np, theanine, theanine.tensor as T\n"
            "x = T.dvector('x')\n"
            "f = theanine.function([x], T.exp(x).sum())\n"
            "print(float(f(np.ones(3))), f._run.state, round(f._run.compile_time, 3))\n")
    env = dict(__import__("os").environ,
               THEANINE_FLAGS=f"compiledir={tmp_path},numba_compile=blocking,numba_hot_calls=1",
               PYTHONPATH=__import__("os").path.dirname(__import__("os").path.dirname(
                   theanine.__file__)))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0][:2] == runs[1][:2] and runs[0][1] == "ready"
    assert float(runs[0][0]) == pytest.approx(3 * np.e, rel=1e-15)
    assert float(runs[1][2]) < float(runs[0][2])  # the second run loads machine code
    with config.change_flags(compiledir=str(tmp_path)):
        assert sum(n for _, n, _ in cache.entries()) == 1
        cache.main(["list"])
        assert "1 programs" in capsys.readouterr().out
        cache.main(["clear"])
        assert cache.entries() == []


def test_corrupt_cache_entry_is_rebuilt(tmp_path):
    from theanine.backend.numba import linker

    x = T.dvector("x")
    with config.change_flags(compiledir=str(tmp_path)):
        f = _native([x], T.exp(x) * 3)
        f(np.ones(2))
        path = [p for p in __import__("glob").glob(f"{tmp_path}/*/program_*.py")][0]
        open(path, "w").write("this is not python(")
        linker._MODULES.clear()
        g = _native([x], T.exp(x) * 3)
        np.testing.assert_allclose(g(np.ones(2)), np.exp(1) * 3)
        assert g._run.state == "ready"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_elementwise_math_runs_numpys_simd_kernels_memory_bound_work_a_compiled_loop(dtype):
    """Past ``kernels.LARGE`` elements, transcendental math that the compiled loop would
    compute with the C library (``sin``) runs NumPy's SIMD kernels block by block (from
    objmode); ``vmath`` functions and memory-bound expressions (an SGD update) stay one
    compiled pass at every size. All give the VM's values, below and above the
    threshold."""
    from theanine.backend.numba.kernels import LARGE

    x, g = T.tensor(dtype, shape=(None,), name="x"), T.tensor(dtype, shape=(None,), name="g")
    for n in (7, LARGE + 3):
        values = [rng.normal(size=n).astype(dtype) for _ in range(2)]
        bound = _compare([x, g], T.tanh(x) * g + T.exp(-x), values, rtol=1e-5)
        libm = _compare([x, g], T.sin(x) * g, values, rtol=1e-5)
        memory = _compare([x, g], x - 0.1 * (g + 0.5 * x), values, rtol=1e-5)
    assert "_numpy_" not in bound._run.source and "_vm.tanh" in bound._run.source
    assert "_numpy_" in libm._run.source
    assert "_numpy_" not in memory._run.source


def test_non_contiguous_arguments_and_shared_values_give_the_same_results():
    """The program's body takes C-contiguous arrays: other layouts arrive as copies, and an
    in-place update of a non-contiguous shared value still lands in the variable."""
    x = T.dmatrix("x")
    W = shared(np.arange(12.0).reshape(3, 4), "W")
    f = _native([x], (x * W).sum(axis=1), updates=[(W, W * 0.5 + x)])
    base = rng.normal(size=(4, 3))
    for v in (np.ones((3, 4)), base.T, rng.normal(size=(3, 8))[:, ::2]):
        before = W.get_value()
        np.testing.assert_allclose(f(v), (v * before).sum(axis=1))
        np.testing.assert_allclose(W.get_value(), before * 0.5 + v)
    W.set_value(np.asfortranarray(rng.normal(size=(3, 4))), borrow=True)
    before = W.get_value()
    np.testing.assert_allclose(f(base.T), (base.T * before).sum(axis=1))
    np.testing.assert_allclose(W.get_value(), before * 0.5 + base.T)
    assert f._run.state == "ready" and f._run.fallbacks == 0


def test_small_products_run_on_one_blas_thread_and_the_count_is_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from theanine.backend.numba.cblas import numpy_cblas

    if numpy_cblas() is None:
        pytest.skip("NumPy's BLAS is not the OpenBLAS build whose thread count is set")

    def numpy_blas_threads():
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas" and "scipy_openblas" in d.get("prefix", "")]

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = numpy_blas_threads()
        A, v, i = T.dmatrix("A"), T.dvector("v"), T.lscalar("i")
        f = _native([A, v, i], T.dot(A, v)[i] + T.dot(v, v))
        a, b = rng.normal(size=(300, 300)), rng.normal(size=300)
        np.testing.assert_allclose(f(a, b, 3), (a @ b)[3] + b @ b)
        assert f._run.state == "ready"
        assert f._run.blas_threads[0] == before[0] and f._run.blas_threads[1] == before[0]
        assert numpy_blas_threads() == before
        with pytest.raises(IndexError):  # raised after the one-thread products
            f(a, b, 500)
        assert numpy_blas_threads() == before


def test_identical_kernels_are_one_function():
    """The layers of a deep network share their kernel functions."""
    from theanine.backend.numba.linker import build_source

    x = T.fmatrix("x")
    Ws = [shared(rng.normal(size=(8, 8)).astype("float32"), f"W{k}") for k in range(6)]
    h = x
    for W in Ws:
        h = T.tanh(T.dot(h, W) + 1.0)
    f = _compare([x], h * 2.0, [rng.normal(size=(4, 8)).astype("float32")], rtol=1e-4)
    source = build_source(f.maker.fgraph)[0]
    kernels = source.count("def _kernel_")
    calls = sum(line.count("_kernel_") for line in str(source).split("\n")
                if "= _kernel_" in line)
    assert calls >= len(Ws) and kernels < calls, (kernels, calls)


@pytest.mark.parametrize("profile", [False, True])
def test_a_long_program_is_cut_into_segment_functions(profile, monkeypatch):
    """Bodies longer than SEGMENT_MIN nodes become functions of SEGMENT_NODES nodes;
    values crossing a cut (arguments, constants, results read much later) arrive, updates
    are kept. Shorter bodies stay one function."""
    from theanine.backend.numba import linker

    monkeypatch.setattr(linker, "SEGMENT_NODES", 3)
    monkeypatch.setattr(linker, "SEGMENT_MIN", 8)
    x, y = T.dvector("x"), T.dvector("y")
    W = shared(rng.normal(size=(4, 4)), "W")
    h, hs = x, []
    for k in range(6):
        h = T.tanh(T.dot(W, h) + y * (k + 1)) + T.exp(-h)
        hs.append(h)
    outs = [hs[0] + hs[-1], hs[2].sum(), T.concatenate([x, hs[3]])]
    vals = [rng.normal(size=4), rng.normal(size=4)]
    updates = {W: W - 0.1 * T.outer(hs[-1], x)}
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function([x, y], outs, updates=updates, profile=profile)
    W0 = W.get_value()
    got = f(*vals)
    W1 = W.get_value()
    W.set_value(W0)
    ref = function([x, y], outs, updates=updates, mode=theanine.Mode(linker="vm"))
    want = ref(*vals)
    assert f._run.state == "ready" and f._run.fallbacks == 0, f._run.error
    assert f._run.source.count("def _segment") >= 3
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-12)
    np.testing.assert_allclose(W1, W.get_value(), rtol=1e-12)
    if profile:
        assert f.profile.native_calls == 1
    monkeypatch.setattr(linker, "SEGMENT_MIN", 10_000)
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        short = function([x, y], outs, updates=updates, profile=profile)
    assert "def _segment" not in short._run.source


@pytest.mark.parametrize("shape", [(7, 5), (6,), (3, 4, 5), (0, 4)])
def test_update_with_its_sum_of_squares_in_one_pass(shape):
    from theanine.rewrite.rules.fusion import ElemwiseSumSquares

    E0 = rng.normal(size=shape)
    lr = T.dscalar("lr")
    runs = []
    for native in (True, False):
        E = shared(E0.copy(), "E")
        cost = 1e-2 * T.sqr(E).sum()
        kw = dict(updates=[(E, E - lr * grad(cost, E))])
        f = _native([lr], cost, **kw) if native else \
            function([lr], cost, mode=theanine.Mode(linker="vm"), **kw)
        runs.append(([f(0.1), f(0.1)], E.get_value(), f))
    (got, E_got, f), (expected, E_expected, _) = runs
    assert any(isinstance(n.op, ElemwiseSumSquares) for n in f.maker.fgraph.toposort())
    assert f._run.state == "ready" and f._run.fallbacks == 0
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(E_got, E_expected, rtol=1e-12)


def test_profile_times_every_node_of_the_native_program(capsys):
    x = T.dmatrix("x")
    W = shared(rng.normal(size=(4, 3)), "W")
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function([x], T.tanh(T.dot(x, W)).sum(), profile=True)
    v = rng.normal(size=(200, 4))
    for _ in range(3):
        f(v)
    assert f._run.state == "ready"
    prof = f.profile
    assert prof.native_calls == 3
    assert set(prof.node_time) == set(f.maker.fgraph.apply_nodes)
    assert all(prof.node_calls[n] == 3 for n in f.maker.fgraph.apply_nodes)
    assert 0 < sum(prof.node_time.values()) <= prof.call_time
    prof.summary()
    out = capsys.readouterr().out
    assert "calls: 3 (3 native)" in out and "Dot" in out


@pytest.mark.parametrize("layout", ["C", "strided", "0-d"])
def test_updates_made_in_place_are_left_in_the_buffer_not_returned(layout):
    """An update computed in its variable's own buffer is not returned by the program (one
    array less to box per call): the variable keeps its array, now holding the new value;
    a strided variable is updated in a contiguous copy that is copied back."""
    from theanine.backend.numba.linker import written_in_place

    base = rng.normal(size=(6, 8))
    value = {"C": base[:3].copy(), "strided": base[::2, ::2], "0-d": np.array(1.5)}[layout]
    W = shared(np.zeros_like(value), "W")
    W.set_value(value.copy() if layout != "strided" else value, borrow=True)
    x = T.dscalar("x")
    cost = (W * x).sum()
    f = _native([x], cost, updates=[(W, W - 0.5 * x * W)])
    mapping = written_in_place(f.maker.fgraph)
    assert list(mapping.values()) == [f.maker.fgraph.inputs.index(W)], mapping
    assert f._run.returned == [0]
    held = W.get_value(borrow=True)
    want = value.copy()
    for step in range(3):
        got = f(0.25 + step)
        np.testing.assert_allclose(got, (want * (0.25 + step)).sum())
        want = want - 0.5 * (0.25 + step) * want
        np.testing.assert_allclose(W.get_value(), want)
    assert f._run.state == "ready" and f._run.fallbacks == 0
    assert W.get_value(borrow=True) is held  # the same array, updated in place
    if layout == "strided":
        np.testing.assert_allclose(base[::2, ::2], want)  # written through the view


def test_an_update_not_in_place_is_still_returned():
    W = shared(rng.normal(size=4), "W")
    x = T.dvector("x")
    # W is read after the update's node could overwrite it (the output needs the old W)
    f = _native([x], W * 2 + x, updates=[(W, T.concatenate([W[1:], W[:1]]))])
    w0 = W.get_value()
    np.testing.assert_allclose(f(np.ones(4)), w0 * 2 + 1)
    np.testing.assert_allclose(W.get_value(), np.roll(w0, -1))
    assert f._run.returned == [0, 1]


def test_a_scan_step_compiles_only_when_no_program_containing_it_is_in_use():
    """The step of a scan compiled into a program is a function of its own (the VM runs
    it before the program is ready): it is not compiled while that program is in use (its
    getting hot starts the program's compile), only once the program has failed."""
    from theanine.scan.op import Scan

    x = T.dvector("x")
    hs, _ = theanine.scan(lambda a, h: T.tanh(h * 0.5 + a), sequences=x,
                          outputs_info=T.zeros((), "float64"))
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=2):
        f = function([x], hs[-1])
    (node,) = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    step = node.op._fn
    assert set(step._run.enclosing) == {f._run}
    # the loop is in the program's body (a kernel around it would be one more level of
    # linking), the step a helper of its own
    assert "for t in range(" in f._run.source.modules[-1][1]
    v = rng.normal(size=5)
    want = 0.0
    for a in v:
        want = np.tanh(want * 0.5 + a)
    # the first call runs on the VM (f is not hot yet): its steps are, and start the
    # compile of f's program (here blocking), not their own
    np.testing.assert_allclose(f(v), want)
    assert step._run.calls >= 2 and step._run.state == "pending" and step._run._covered()
    assert f._run.state == "ready"
    np.testing.assert_allclose(f(v), want)  # native
    assert step._run.state == "pending"
    assert step._run.deferred
    f._run.failed(RuntimeError("as if the program had not compiled"))
    assert not step._run._covered() and not step._run.deferred
    args = [np.asarray(v[0]), np.asarray(0.0)]
    step(*args[:len(step.ins)])
    assert step._run.state == "ready", step._run.error
    # a step waiting for a program that is gone may compile on its own again
    hs2, _ = theanine.scan(lambda a, h: T.tanh(h * 0.25 + a), sequences=x,
                           outputs_info=T.zeros((), "float64"))
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=2):
        g = function([x], hs2[-1])
    (node,) = [n for n in g.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    step2 = node.op._fn._run
    g(v)
    assert g._run.state == "ready" and step2.deferred and step2.state == "pending"
    del g, node
    import gc

    gc.collect()
    assert not step2.deferred


def test_programs_share_the_compiled_helpers_they_have_in_common(tmp_path):
    """Each compiled helper (a kernel, a scan step) is a module of its own named by its
    text: two programs with the same step and kernels (a training and a test function)
    use one compiled copy; a corrupt helper file is rewritten."""
    import glob

    from theanine.backend.numba import linker

    x, y = T.dvector("x"), T.dscalar("y")
    hs, _ = theanine.scan(lambda a, h: T.tanh(h * 0.5 + a), sequences=x,
                          outputs_info=T.zeros((), "float64"))
    with config.change_flags(compiledir=str(tmp_path)):
        f = _native([x], hs[-1])
        g = _native([x, y], [hs[-1] * y, hs.sum()])
        v = rng.normal(size=6)
        want = f(v)
        np.testing.assert_allclose(g(v, 2.0)[0], 2 * want)
        assert f._run.state == g._run.state == "ready"
        stems = [{s for s, _ in r.source.modules if s.startswith("helper_")}
                 for r in (f._run, g._run)]
        (step,) = [s for s, t in f._run.source.modules if "def scan_step_" in t]
        assert step in stems[0] & stems[1]
        module = linker._import(linker.cache_dir(), step)
        (dispatcher,) = [v for k, v in vars(module).items() if k.startswith("scan_step_")]
        assert len(dispatcher.overloads) == 1  # compiled once, for both programs
        path = sorted(glob.glob(f"{tmp_path}/*/helper_*.py"))[0]
        open(path, "w").write("this is not python(")
        linker._MODULES.clear()
        h = _native([x], hs[-1])
        np.testing.assert_allclose(h(v), want)
        assert h._run.state == "ready"


def test_a_compile_inside_a_scan_node_is_not_counted_as_the_nodes_time(capsys, tmp_path):
    """In 'blocking' mode a scan step gets hot inside its loop, and the function's program
    compiles there: the profile leaves those seconds out of the node."""
    x = T.dvector("x")
    h, _ = theanine.scan(lambda v, acc: T.tanh(acc + v), sequences=x,
                         outputs_info=T.zeros_like(x[0]))
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=3,
                             compiledir=str(tmp_path)):  # (an empty cache: a real compile)
        f = function([x], h[-1], profile=True)
    v = rng.normal(size=10)
    for _ in range(2):
        f(v)
    assert f._run.state == "ready"
    prof = f.profile
    (scan_node,) = [n for n in prof.node_time if type(n.op).__name__ == "Scan"]
    assert prof.compile_in_nodes > 0.05
    assert prof.node_time[scan_node] < 0.05 < prof.call_time
    prof.summary()
    assert "native compiles run during calls" in capsys.readouterr().out
