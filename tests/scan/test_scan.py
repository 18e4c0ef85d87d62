"""scan against NumPy loops, its gradients by verify_grad, helpers and errors."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function, scan, verify_grad
from theanine.scan import foldl, foldr, map as smap, reduce as sreduce, until

rng = np.random.default_rng(0)


def test_tutorial_rnn_over_word_vectors():
    """Section 12: a simple RNN over the rows of a matrix of word vectors."""
    input_vectors = T.dmatrix("input_vectors")
    W_xh = theanine.shared(rng.normal(0, 0.1, (4, 3)), "W_xh")
    W_hh = theanine.shared(rng.normal(0, 0.1, (3, 3)), "W_hh")

    def rnn_step(x, h_prev, W_xh, W_hh):
        return T.tanh(T.dot(x, W_xh) + T.dot(h_prev, W_hh))

    context, _ = scan(rnn_step, sequences=input_vectors,
                      outputs_info=np.zeros(3), non_sequences=[W_xh, W_hh])
    f = function([input_vectors], [context, context[-1]])
    X = rng.normal(size=(5, 4))
    hist, last = f(X)
    h = np.zeros(3)
    for t in range(5):
        h = np.tanh(X[t] @ W_xh.get_value() + h @ W_hh.get_value())
        np.testing.assert_allclose(hist[t], h)
    np.testing.assert_allclose(last, h)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4,), (4, 3), (3, 2, 2)])
def test_cumulative_state_matches_numpy(dtype, shape):
    X = T.tensor(dtype, shape=(None,) * len(shape), name="X")
    out, _ = scan(lambda x, acc: acc * 0.5 + x, sequences=X,
                  outputs_info=T.zeros(shape[1:], dtype=dtype))
    v = rng.normal(size=shape).astype(dtype)
    got = function([X], out)(v)
    acc = np.zeros(shape[1:], dtype)
    for t in range(shape[0]):
        acc = acc * np.asarray(0.5, dtype) + v[t]
        np.testing.assert_allclose(got[t], acc, rtol=1e-5)
    assert got.dtype == dtype


@pytest.mark.parametrize("seq_taps, out_taps", [
    ([0], [-1]), ([-1, 0], [-1]), ([-2, 0, 1], [-1]), ([0], [-2, -1]), ([0, 2], [-3, -1]),
])
def test_taps_match_numpy(seq_taps, out_taps):
    y = T.dvector("y")
    lb = -min(out_taps)
    init = T.dvector("init")

    def step(*args):
        s = args[: len(seq_taps)]
        h = args[len(seq_taps):]
        return sum((k + 1) * v for k, v in enumerate(s)) + sum(0.5 ** (k + 1) * v
                                                             for k, v in enumerate(h))

    out, _ = scan(step, sequences=dict(input=y, taps=seq_taps),
                  outputs_info=dict(initial=init, taps=out_taps) if out_taps != [-1]
                  else init[-1])
    yv, iv = rng.normal(size=9), rng.normal(size=lb)
    got = function([y, init], out)(yv, iv)
    lo, hi = min(seq_taps), max(seq_taps)
    n = len(yv) - (hi - lo)
    buf = list(iv[-lb:])
    for t in range(n):
        s = [yv[t - lo + tap] for tap in seq_taps]
        h = [buf[len(buf) + tap] for tap in out_taps]
        buf.append(sum((k + 1) * v for k, v in enumerate(s)) +
                   sum(0.5 ** (k + 1) * v for k, v in enumerate(h)))
    np.testing.assert_allclose(got, buf[lb:])


def test_several_outputs_nitsot_and_n_steps():
    x = T.dvector("x")
    (a, b, c), _ = scan(lambda v, s, p: [s + v, p * 2, v * 10], sequences=x,
                        outputs_info=[T.constant(0.0), T.constant(1.0), None])
    ra, rb, rc = function([x], [a, b, c])(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(ra, [1, 3, 6])
    np.testing.assert_allclose(rb, [2, 4, 8])
    np.testing.assert_allclose(rc, [10, 20, 30])


def test_n_steps_symbolic_and_go_backwards():
    n = T.lscalar("n")
    o, _ = scan(lambda h: h * 2, outputs_info=T.constant(1.0), n_steps=n)
    np.testing.assert_allclose(function([n], o)(4), [2, 4, 8, 16])
    x = T.dvector("x")
    r, _ = scan(lambda v, acc: acc * 10 + v, sequences=x, outputs_info=T.constant(0.0),
                go_backwards=True)
    assert float(function([x], r[-1])(np.array([1.0, 2.0, 3.0]))) == 321.0


def test_helpers():
    x = T.dvector("x")
    v = np.array([1.0, 2.0, 3.0])
    m, _ = smap(lambda e: e ** 2, x)
    np.testing.assert_allclose(m.eval({x: v}), v ** 2)
    r, _ = sreduce(lambda e, acc: acc + e, x, T.constant(0.0))
    assert float(r.eval({x: v})) == 6.0
    left, _ = foldl(lambda e, acc: acc * 10 + e, x, T.constant(0.0))
    right, _ = foldr(lambda e, acc: acc * 10 + e, x, T.constant(0.0))
    assert float(left.eval({x: v})) == 123.0 and float(right.eval({x: v})) == 321.0


def test_until_stops_early():
    o, _ = scan(lambda h: (h * 2, until(h * 2 > 20)), outputs_info=T.constant(1.0),
                n_steps=100)
    np.testing.assert_allclose(o.eval(), [2, 4, 8, 16, 32])


def test_shared_update_inside_step():
    s = theanine.shared(np.float64(0.0), "s")
    x = T.dvector("x")
    _, upd = scan(lambda v: {s: s + v}, sequences=x)
    f = function([x], [], updates=upd)
    f(np.arange(4.0))
    assert float(s.get_value()) == 6.0


def test_errors():
    x = T.dvector("x")
    y = T.dvector("y")
    o, _ = scan(lambda a, b: a + b, sequences=[x, y])
    f = function([x, y], o)
    with pytest.raises(ValueError, match="different lengths"):
        f(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="empty"):
        f(np.ones(0), np.ones(0))
    n = T.lscalar("n")
    o2, _ = scan(lambda a: a * 2, sequences=x, n_steps=n)
    with pytest.raises(ValueError, match="fewer than the 5 steps"):
        function([x, n], o2)(np.ones(3), 5)
    with pytest.raises(ValueError, match="give sequences or n_steps"):
        scan(lambda h: h, outputs_info=T.constant(0.0))
    with pytest.raises(TypeError, match="dimensions"):
        scan(lambda v, h: T.stack([h, h]), sequences=x, outputs_info=T.constant(0.0))
    with pytest.raises(ValueError, match="outputs_info"):
        scan(lambda v: [v, v], sequences=x, outputs_info=[None])


# -- gradients -------------------------------------------------------------------------

def _rnn(X, h0, W, U):
    out, _ = scan(lambda x, h, W, U: T.tanh(T.dot(W, x) + T.dot(U, h)), sequences=X,
                  outputs_info=h0, non_sequences=[W, U])
    return out


GRAD_CASES = {
    "rnn": (_rnn, [rng.normal(size=(4, 3)), rng.normal(size=2), rng.normal(size=(2, 3)),
                   rng.normal(size=(2, 2))]),
    "last_only": (lambda X, h0, W, U: _rnn(X, h0, W, U)[-1],
                  [rng.normal(size=(3, 3)), rng.normal(size=2), rng.normal(size=(2, 3)),
                   rng.normal(size=(2, 2))]),
    "mitsot": (lambda init, c: scan(lambda a, b, c: a * c + T.sin(b),
                                    outputs_info=dict(initial=init, taps=[-2, -1]),
                                    non_sequences=c, n_steps=5)[0],
               [rng.normal(size=(3, 2)), rng.normal(size=2)]),
    "seq_taps": (lambda y, w: scan(lambda a, b, c, w: a * w + b * c,
                                   sequences=dict(input=y, taps=[-2, 0, 1]),
                                   non_sequences=w)[0],
                 [rng.normal(size=(7, 2)), rng.normal(size=2)]),
    "backwards": (lambda X, h0: scan(lambda x, h: h * x + 1, sequences=X, outputs_info=h0,
                                     go_backwards=True)[0][-1],
                  [rng.normal(size=(5, 2)), rng.normal(size=2)]),
    "two_outputs_and_nitsot": (
        lambda X, a0: T.concatenate(scan(
            lambda x, a, b: [a * x, T.cos(b) + x, x * a], sequences=X,
            outputs_info=[a0, a0, None])[0], axis=0),
        [rng.normal(size=(3, 2)), rng.normal(size=2)]),
    "free_variable": (lambda X, w: scan(lambda x: T.tanh(x * w), sequences=X)[0],
                      [rng.normal(size=(3, 2)), rng.normal(size=2)]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradients(name):
    fn, values = GRAD_CASES[name]
    verify_grad(fn, values)


def test_truncate_gradient():
    x = T.dvector("x")
    h0 = T.dscalar("h0")
    o, _ = scan(lambda v, h: h * 0.5 + v, sequences=x, outputs_info=h0, truncate_gradient=2)
    g = function([x, h0], theanine.grad(o[-1], [x, h0]))
    gx, gh = g(np.ones(4), 0.0)
    np.testing.assert_allclose(gx, [0.0, 0.0, 0.5, 1.0])
    assert float(gh) == 0.0
    gx, gh = g(np.ones(2), 0.0)
    np.testing.assert_allclose(gx, [0.5, 1.0])
    assert float(gh) == 0.25


def test_second_derivative_through_scan():
    x = T.dvector("x")
    o, _ = scan(lambda v, h: h * T.sin(v) + v, sequences=x, outputs_info=T.constant(0.7))
    g = theanine.grad(o[-1], x)
    H = theanine.jacobian(g, x)
    xv = np.array([0.3, -0.2, 0.5])

    def f(v):
        h = 0.7
        for e in v:
            h = h * np.sin(e) + e
        return h

    eps = 1e-4
    E = np.eye(3) * eps
    num = np.array([[(f(xv + E[i] + E[j]) - f(xv + E[i] - E[j]) - f(xv - E[i] + E[j])
                      + f(xv - E[i] - E[j])) / (4 * eps * eps) for j in range(3)]
                    for i in range(3)])
    np.testing.assert_allclose(function([x], H)(xv), num, atol=1e-5)


def test_gru_quick_run_cost_falls():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "gru_sst.py")
    spec = importlib.util.spec_from_file_location("gru_sst", path)
    gru = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gru)
    res = gru.main(["--epochs", "3", "--limit", "60", "--quiet"])
    costs = [c for c, _ in res["epochs"]]
    assert costs[0] > costs[1] > costs[2]
    assert 0.0 <= res["test_accuracy"] <= 1.0


def test_rnn_example_matches_numpy():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "rnn.py")
    spec = importlib.util.spec_from_file_location("rnn_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    got = mod.main([])
    r = np.random.RandomState(42)
    W_xh, W_hh = r.normal(0, 0.1, (5, 3)), r.normal(0, 0.1, (3, 3))
    words = r.normal(0, 1, (4, 5))
    h = np.zeros(3)
    for x in words:
        h = np.tanh(x @ W_xh + h @ W_hh)
    np.testing.assert_allclose(got, h)
