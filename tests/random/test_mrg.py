"""MRG_RandomStreams: the MRG31k3p generator against an independent scalar reference,
distributions, reproducibility, default updates, seeding and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theanine
import theanine.tensor as T
from theanine import config, function
from theanine.gradient import NullTypeGradError
from theanine.sandbox.rng_mrg import MRG_RandomStreams
from theanine.tensor.random import mrg31k3p as gen

M1, M2 = 2 ** 31 - 1, 2 ** 31 - 21069


# -- an independent reference: the recurrences in exact integer arithmetic --------------------

def ref_step(s: list[int]) -> tuple[list[int], int]:
    """One MRG31k3p step of the state ``[x1(n-1), x1(n-2), x1(n-3), x2(n-1), ...]``.

    ``x1(n) = 2**22 x1(n-2) + (2**7 + 1) x1(n-3) mod M1`` and
    ``x2(n) = 2**15 x2(n-1) + (2**15 + 1) x2(n-3) mod M2``; the output is
    ``(x1(n) - x2(n)) mod M1``, ``M1`` instead of 0.
    """
    x1 = (2 ** 22 * s[1] + (2 ** 7 + 1) * s[2]) % M1
    x2 = (2 ** 15 * s[3] + (2 ** 15 + 1) * s[5]) % M2
    return [x1, s[0], s[1], x2, s[3], s[4]], (x1 - x2) % M1 or M1


def ref_uniform(states: np.ndarray, n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples, sample ``i`` from stream ``i % n_streams``, as Theano's C code."""
    st_ = [list(map(int, row)) for row in states]
    out = []
    for i in range(n):
        k = i % len(st_)
        st_[k], d = ref_step(st_[k])
        if dtype == "float64":
            out.append(d * 2.0 ** -31)
        else:
            out.append(np.float32(d) * np.float32(4.6566126e-10))
    return np.asarray(st_, dtype=np.int32), np.asarray(out, dtype=dtype)


def ref_matpow(a, e: int, m: int):
    """``a ** e mod m`` by binary exponentiation (Python ints)."""
    def mul(x, y):
        return [[sum(x[i][k] * y[k][j] for k in range(3)) % m for j in range(3)]
                for i in range(3)]
    r = [[int(i == j) for j in range(3)] for i in range(3)]
    base = [list(row) for row in a]
    while e:
        if e & 1:
            r = mul(r, base)
        base = mul(base, base)
        e >>= 1
    return r


def test_jump_matrices_are_powers_of_the_transition_matrices():
    a1 = [[0, 2 ** 22, 2 ** 7 + 1], [1, 0, 0], [0, 1, 0]]
    a2 = [[2 ** 15, 0, 2 ** 15 + 1], [1, 0, 0], [0, 1, 0]]
    assert [list(r) for r in gen.A1P72] == ref_matpow(a1, 2 ** 72, M1)
    assert [list(r) for r in gen.A2P72] == ref_matpow(a2, 2 ** 72, M2)
    assert [list(r) for r in gen.A1P134] == ref_matpow(a1, 2 ** 134, M1)
    assert [list(r) for r in gen.A2P134] == ref_matpow(a2, 2 ** 134, M2)
    # the values published with the generator (L'Ecuyer's SSJ, Theano's rng_mrg)
    assert gen.A1P72[0] == (1516919229, 758510237, 499121365)
    assert gen.A2P134[2] == (1401213391, 1178684362, 1431130166)


def test_a_jump_is_that_many_steps():
    a1 = [[0, 2 ** 22, 2 ** 7 + 1], [1, 0, 0], [0, 1, 0]]
    a2 = [[2 ** 15, 0, 2 ** 15 + 1], [1, 0, 0], [0, 1, 0]]
    s = [12345] * 6
    walked = s
    for _ in range(1000):
        walked, _ = ref_step(walked)
    p1, p2 = ref_matpow(a1, 1000, M1), ref_matpow(a2, 1000, M2)
    jumped = gen.jump(s, p1, p2)
    assert jumped.tolist() == walked


def test_substreams_match_one_by_one_jumps():
    base = gen.check_seed(1234)
    rows = [base.astype(np.int64)]
    for _ in range(36):
        rows.append(gen.jump(rows[-1], gen.A1P72, gen.A2P72))
    np.testing.assert_array_equal(gen.substream_states(base, 37), np.asarray(rows, np.int32))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_first_numbers_equal_the_scalar_reference(dtype):
    states = gen.substream_states(gen.check_seed(12345), 5)
    new_ref, ref = ref_uniform(states, 23, dtype)
    new, got = gen.mrg_uniform_numpy(states, 23, dtype)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(new, new_ref)
    assert states.tolist() == gen.substream_states(gen.check_seed(12345), 5).tolist()


@settings(max_examples=40, deadline=None)
@given(seed=st.lists(st.integers(1, M2 - 1), min_size=6, max_size=6),
       n=st.integers(0, 60), n_streams=st.integers(1, 9), dtype=st.sampled_from(["float32",
                                                                                  "float64"]))
def test_vectorised_generator_equals_reference(seed, n, n_streams, dtype):
    states = gen.substream_states(gen.check_seed(seed), n_streams)
    new_ref, ref = ref_uniform(states, n, dtype)
    new, got = gen.mrg_uniform_numpy(states, n, dtype)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(new, new_ref)


def test_extreme_states_wrap_like_theanos_int32_arithmetic():
    """States near the moduli exercise every overflow branch of the 32-bit code."""
    states = np.array([[M1 - 1, M1 - 1, M1 - 1, M2 - 1, M2 - 1, M2 - 1],
                       [1, 0, 0, 1, 0, 0], [0, M1 - 1, 2 ** 24, 2 ** 16, M2 - 1, 2 ** 16 - 1],
                       [2 ** 30, 2 ** 30 + 7, 511, 65535, 2 ** 30, 2 ** 31 - 21070]],
                      dtype=np.int32)
    for dtype in ("float64", "float32"):
        new_ref, ref = ref_uniform(states, 400, dtype)
        new, got = gen.mrg_uniform_numpy(states, 400, dtype)
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(new, new_ref)


# -- the streams --------------------------------------------------------------------------------

def test_compiled_uniform_is_the_reference_stream():
    srng = MRG_RandomStreams(seed=(1, 2, 3, 4, 5, 6))
    u = srng.uniform((4, 5), dtype="float64", nstreams=3)
    f = function([], u)
    states = gen.substream_states(np.array([1, 2, 3, 4, 5, 6]), 3)
    st1, ref1 = ref_uniform(states, 20, "float64")
    _, ref2 = ref_uniform(st1, 20, "float64")
    np.testing.assert_array_equal(f(), ref1.reshape(4, 5))
    np.testing.assert_array_equal(f(), ref2.reshape(4, 5))


def test_number_of_streams_and_successive_draws():
    srng = MRG_RandomStreams(seed=42)
    srng.uniform((60,))
    srng.uniform((4,))
    srng.uniform((2, 3), nstreams=7)
    srng.uniform(T.lvector("s"), ndim=2)
    shapes = [old.get_value().shape for old, *_ in srng.state_updates]
    assert shapes == [(10, 6), (4, 6), (7, 6), (60 * 256, 6)]
    first = srng.state_updates[0][0].get_value()
    second = srng.state_updates[1][0].get_value()
    start = gen.check_seed(42)
    np.testing.assert_array_equal(first[0], start)
    np.testing.assert_array_equal(second[0], gen.jump(start, gen.A1P134, gen.A2P134))
    assert len(srng.updates()) == 4 and all(len(p) == 2 for p in srng.updates())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_distribution(dtype):
    srng = MRG_RandomStreams(seed=7)
    x = function([], srng.uniform((100000,), low=-1.0, high=3.0, dtype=dtype))()
    assert x.dtype == dtype and x.shape == (100000,)
    assert -1.0 < x.min() and x.max() < 3.0
    assert abs(x.mean() - 1.0) < 5 * 4 / np.sqrt(12 * 1e5)
    assert abs(x.var() - 16 / 12) < 0.02
    hist = np.histogram(x, bins=10, range=(-1, 3))[0]
    assert np.all(np.abs(hist - 10000) < 5 * np.sqrt(10000))


def test_float32_uniform_never_reaches_one():
    srng = MRG_RandomStreams(seed=3)
    x = function([], srng.uniform((200000,), dtype="float32"))()
    assert 0.0 < x.min() and x.max() < 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_distribution(dtype):
    srng = MRG_RandomStreams(seed=11)
    x = function([], srng.normal((301, 333), avg=2.0, std=3.0, dtype=dtype))()
    assert x.dtype == dtype and x.shape == (301, 333)
    assert abs(x.mean() - 2.0) < 5 * 3 / np.sqrt(x.size)
    assert abs(x.std() - 3.0) < 0.03
    assert abs(np.mean(((x - 2) / 3) ** 3)) < 0.03  # symmetric
    assert abs(np.mean(((x - 2) / 3) ** 4) - 3) < 0.1  # gaussian tails


def test_normal_with_an_odd_symbolic_size():
    n = T.lscalar("n")
    srng = MRG_RandomStreams(seed=11)
    f = function([n], srng.normal((n, 3)))
    assert f(5).shape == (5, 3) and f(1).shape == (1, 3)


def test_truncated_normal():
    srng = MRG_RandomStreams(seed=5)
    x = function([], srng.truncated_normal((200000,), avg=1.0, std=0.5))()
    lim = 2 * 0.5 / 0.87962566103423978
    assert x.min() >= 1.0 - lim - 1e-9 and x.max() <= 1.0 + lim + 1e-9
    assert abs(x.mean() - 1.0) < 0.005
    # Theano's redraw of the tails (a new radius, the same angle) is an approximation: the
    # standard deviation comes out about 1% high
    assert abs(x.std() - 0.5) < 0.02


def test_binomial():
    srng = MRG_RandomStreams(seed=5)
    b = function([], srng.binomial((100000,), p=0.3))()
    assert b.dtype == "int64" and set(np.unique(b)) <= {0, 1}
    assert abs(b.mean() - 0.3) < 5 * np.sqrt(0.21 / 1e5)
    b5 = function([], srng.binomial((50000,), n=5, p=0.3, dtype="int32"))()
    assert b5.dtype == "int32" and b5.min() >= 0 and b5.max() <= 5
    assert abs(b5.mean() - 1.5) < 5 * np.sqrt(5 * 0.21 / 5e4)
    assert abs(b5.var() - 1.05) < 0.05


def test_binomial_probability_may_be_a_tensor():
    p = T.dvector("p")
    srng = MRG_RandomStreams(seed=5)
    f = function([p], srng.binomial(size=p.shape, p=p, ndim=1))
    out = np.array([f(np.array([0.0, 1.0, 0.5])) for _ in range(400)])
    assert (out[:, 0] == 0).all() and (out[:, 1] == 1).all()
    assert 0.4 < out[:, 2].mean() < 0.6


def test_multinomial():
    pvals = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    srng = MRG_RandomStreams(seed=9)
    f = function([], srng.multinomial(pvals=pvals, n=1000))
    counts = f()
    assert counts.dtype == "int64" and counts.shape == (2, 3)
    np.testing.assert_array_equal(counts.sum(axis=1), [1000, 1000])
    total = sum(f() for _ in range(20)) / 20000
    np.testing.assert_allclose(total, pvals, atol=0.01)
    one = function([], srng.multinomial(pvals=pvals.astype("float32"), dtype="float32"))()
    assert one.dtype == "float32" and (one.sum(axis=1) == 1).all()


def test_choice_without_replacement():
    p = np.array([[0.1, 0.2, 0.3, 0.4]] * 3 + [[0.0, 0.5, 0.5, 0.0]])
    srng = MRG_RandomStreams(seed=9)
    f = function([], srng.choice(size=2, p=p, replace=False))
    seen = np.zeros(4)
    for _ in range(300):
        c = f()
        assert c.shape == (4, 2) and c.dtype == "int64"
        assert all(row[0] != row[1] for row in c)
        assert set(c[3]) == {1, 2}
        seen += np.bincount(c[:3, 0], minlength=4)
    np.testing.assert_allclose(seen / seen.sum(), [0.1, 0.2, 0.3, 0.4], atol=0.03)
    with pytest.raises(NotImplementedError, match="matrix"):
        srng.choice(size=1, p=np.array([0.5, 0.5]), replace=False)
    with pytest.raises(TypeError, match="`a` must be None"):
        srng.choice(size=1, a=3, p=p)


def test_choice_with_replacement_extension():
    p = np.array([[0.5, 0.5]])
    srng = MRG_RandomStreams(seed=9)
    c = function([], srng.choice(size=50, p=p, replace=True))()
    assert c.shape == (1, 50) and set(np.unique(c)) == {0, 1}


def test_permutation_extension():
    srng = MRG_RandomStreams(seed=9)
    perms = function([], srng.permutation(size=(3, 2), n=6))()
    assert perms.shape == (3, 2, 6) and perms.dtype == "int64"
    assert all(sorted(p) == list(range(6)) for p in perms.reshape(-1, 6))
    n = T.lscalar("n")
    f = function([n], srng.permutation(n=n))
    assert sorted(f(9)) == list(range(9))


def test_symbolic_sizes():
    x = T.dmatrix("x")
    srng = MRG_RandomStreams(seed=1)
    f = function([x], srng.uniform(x.shape) + x)
    assert f(np.zeros((3, 4))).shape == (3, 4)
    assert f(np.zeros((1, 2))).shape == (1, 2)
    n = T.iscalar("n")
    g = function([n], srng.uniform((n, 2), dtype="float32"))
    assert g(5).shape == (5, 2) and g(5).dtype == "float32"
    s = T.lvector("s")
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform(s)
    assert function([s], srng.uniform(s, ndim=3))([2, 1, 3]).shape == (2, 1, 3)


def test_default_dtype_follows_floatx():
    srng = MRG_RandomStreams(seed=1)
    with config.change_flags(floatX="float32"):
        assert srng.uniform((2,)).dtype == "float32"
        assert srng.normal((2,)).dtype == "float32"
    with config.change_flags(floatX="float64"):
        assert srng.uniform((2,)).dtype == "float64"
    assert srng.uniform((2,), low=np.float32(0), high=np.float32(1)).dtype == config.floatX


def test_every_call_advances_and_seed_resets():
    srng = MRG_RandomStreams(seed=1234)
    u = srng.uniform((4,))
    n = srng.normal((3,))
    f = function([], [u, n])
    first, second = f(), f()
    assert not np.array_equal(first[0], second[0])
    srng.seed()
    again = f()
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])
    srng.seed(99)
    other = f()
    fresh = MRG_RandomStreams(seed=99)
    g = function([], [fresh.uniform((4,)), fresh.normal((3,))])
    for a, b in zip(other, g()):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_numbers_different_seed_different_numbers():
    a = function([], MRG_RandomStreams(seed=5).uniform((10,)))
    b = function([], MRG_RandomStreams(seed=5).uniform((10,)))
    c = function([], MRG_RandomStreams(seed=6).uniform((10,)))
    x = a()
    np.testing.assert_array_equal(x, b())
    assert not np.allclose(x, c())


def test_two_functions_share_a_stream():
    srng = MRG_RandomStreams(seed=3)
    u = srng.uniform((5,))
    f, g = function([], u), function([], u * 2)
    ref = function([], MRG_RandomStreams(seed=3).uniform((5,)))
    r1, r2 = ref(), ref()
    np.testing.assert_array_equal(f(), r1)
    np.testing.assert_array_equal(g(), r2 * 2)


def test_no_default_updates_freezes_the_stream():
    srng = MRG_RandomStreams(seed=3)
    u = srng.uniform((5,))
    f = function([], u, no_default_updates=True)
    np.testing.assert_array_equal(f(), f())
    state = srng.state_updates[0][0]
    g = function([], u, no_default_updates=[state])
    np.testing.assert_array_equal(g(), f())
    h = function([], u)
    assert not np.array_equal(h(), h())


def test_explicit_updates_override_the_default():
    srng = MRG_RandomStreams(seed=3)
    u = srng.uniform((5,))
    state = srng.state_updates[0][0]
    f = function([], u, updates=[(state, state)])
    np.testing.assert_array_equal(f(), f())


def test_a_failed_call_changes_no_state():
    srng = MRG_RandomStreams(seed=3)
    u = srng.uniform((3,))
    x = T.dvector("x")
    f = function([x], u + x)
    state = srng.state_updates[0][0]
    before = state.get_value()
    with pytest.raises(ValueError):
        f(np.zeros(4))
    np.testing.assert_array_equal(state.get_value(), before)
    ref = function([], MRG_RandomStreams(seed=3).uniform((3,)))
    np.testing.assert_array_equal(f(np.zeros(3)), ref())


def test_gradients_through_draws_are_undefined():
    low = T.dscalar("low")
    srng = MRG_RandomStreams(seed=3)
    u = srng.uniform((3,), low=low, high=2.0)
    with pytest.raises(NullTypeGradError):
        theanine.grad(u.sum(), low)
    w = T.dscalar("w")
    g = theanine.grad((srng.uniform((3,)) * w).sum(), w)  # the draw is a constant for w
    assert np.isfinite(function([w], g)(2.0))


@pytest.mark.parametrize("seed, err", [(0, ValueError), (-3, ValueError), (M2, ValueError),
                                       ((1, 2, 3), TypeError), ((0, 0, 0, 1, 1, 1), ValueError),
                                       ((1, 1, 1, 0, 0, 0), ValueError),
                                       ((M1, 1, 1, 1, 1, 1), ValueError), ("a", TypeError)])
def test_bad_seeds(seed, err):
    with pytest.raises(err, match="seed"):
        MRG_RandomStreams(seed=seed)


def test_bad_sizes_and_arguments():
    srng = MRG_RandomStreams(seed=1)
    with pytest.raises(ValueError, match="<= 0"):
        srng.uniform((3, 0))
    with pytest.raises(TypeError, match="size"):
        srng.uniform((2.5,))
    with pytest.raises(TypeError, match="size"):
        srng.uniform("big")
    with pytest.raises(TypeError, match="unexpected keyword"):
        srng.uniform((2,), colour="red")
    with pytest.raises(NotImplementedError, match="broadcast"):
        srng.uniform((1,), low=T.dvector("v"))
    with pytest.raises(ValueError, match="size"):
        srng.multinomial(size=(2,), pvals=np.ones((2, 2)) / 2)
    with pytest.raises(TypeError, match="pvals"):
        srng.multinomial()
    with pytest.raises(TypeError, match="positive Python int"):
        srng.binomial((2,), n=T.lscalar())
    with pytest.raises(TypeError, match="int32 matrix"):
        gen.MRGUniform("float64", (None,))(T.dmatrix(), [2])
