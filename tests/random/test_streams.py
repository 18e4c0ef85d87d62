"""RandomStreams: NumPy RandomState streams in shared variables (Theano's
``shared_randomstreams``): the numbers, distributions, dtypes, sizes, default updates,
seeding, state access and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theanine
import theanine.tensor as T
from theanine import config, function, shared
from theanine.gradient import NullTypeGradError
from theanine.tensor.random.state import (
    RandomStateSharedVariable, decode_state, encode_state, random_state_shared,
)
from theanine.tensor.shared_randomstreams import RandomStreams


def stream_seeds(seed: int, k: int) -> list[int]:
    """The seeds Theano gives the first ``k`` streams of ``RandomStreams(seed)``."""
    gen = np.random.RandomState(seed)
    return [int(gen.randint(2 ** 30)) for _ in range(k)]


def test_each_draw_is_a_numpy_randomstate_stream():
    srng = RandomStreams(seed=2024)
    u = srng.uniform((2, 3), low=-1.0, high=2.0)
    n = srng.normal((4,), avg=1.0, std=2.0)
    b = srng.binomial((5,), n=10, p=0.25)
    f = function([], [u, n, b])
    seeds = stream_seeds(2024, 3)
    r = [np.random.RandomState(s) for s in seeds]
    for _ in range(3):  # every call continues the streams
        got = f()
        np.testing.assert_array_equal(got[0], r[0].uniform(-1.0, 2.0, (2, 3)))
        np.testing.assert_array_equal(got[1], r[1].normal(1.0, 2.0, (4,)))
        np.testing.assert_array_equal(got[2], r[2].binomial(10, 0.25, (5,)))


@settings(max_examples=25, deadline=None)
@given(state=st.integers(0, 2 ** 32 - 1), draws=st.integers(0, 5), gauss=st.booleans())
def test_state_encoding_round_trips(state, draws, gauss):
    rs = np.random.RandomState(state)
    rs.uniform(size=draws)
    if gauss:
        rs.normal()  # leaves a cached gaussian in the state
    back = decode_state(encode_state(rs))
    assert back.get_state()[2:4] == rs.get_state()[2:4]
    np.testing.assert_array_equal(back.normal(size=3), rs.normal(size=3))
    np.testing.assert_array_equal(back.randint(0, 100, 4), rs.randint(0, 100, 4))


def test_uniform_and_normal_distributions():
    srng = RandomStreams(seed=1)
    u, n = function([], [srng.uniform((100000,), 2.0, 4.0), srng.normal((100000,), -1.0, 0.5)])()
    assert 2.0 <= u.min() and u.max() < 4.0
    assert abs(u.mean() - 3.0) < 5 * 2 / np.sqrt(12e5)
    assert abs(u.var() - 4 / 12) < 0.01
    assert abs(n.mean() + 1.0) < 5 * 0.5 / np.sqrt(1e5)
    assert abs(n.std() - 0.5) < 0.005


def test_discrete_distributions():
    srng = RandomStreams(seed=2)
    b = srng.binomial((100000,), n=8, p=0.25)
    ri = srng.random_integers((100000,), low=-2, high=3)
    po = srng.poisson((100000,), lam=4.0)
    ch = srng.choice((100000,), a=[5, 7, 9], p=[0.5, 0.25, 0.25])
    b_, ri_, po_, ch_ = function([], [b, ri, po, ch])()
    assert abs(b_.mean() - 2.0) < 0.02 and abs(b_.var() - 1.5) < 0.05
    assert set(np.unique(ri_)) == set(range(-2, 4))
    np.testing.assert_allclose(np.bincount(ri_ + 2) / 1e5, [1 / 6] * 6, atol=0.01)
    assert abs(po_.mean() - 4.0) < 0.03 and abs(po_.var() - 4.0) < 0.1
    np.testing.assert_allclose([np.mean(ch_ == v) for v in (5, 7, 9)], [0.5, 0.25, 0.25],
                               atol=0.01)


def test_choice_without_replacement_and_permutations():
    srng = RandomStreams(seed=3)
    c = srng.choice((6,), a=6, replace=False)
    p = srng.permutation((2, 3), n=5)
    one = srng.permutation(n=4)
    f = function([], [c, p, one])
    for _ in range(5):
        c_, p_, one_ = f()
        assert sorted(c_) == list(range(6))
        assert p_.shape == (2, 3, 5) and all(sorted(r) == list(range(5))
                                             for r in p_.reshape(-1, 5))
        assert sorted(one_) == list(range(4))


def test_multinomial():
    srng = RandomStreams(seed=4)
    m = srng.multinomial((3,), n=[10, 20, 30], pvals=[0.2, 0.3, 0.5])
    out = function([], m)()
    assert out.shape == (3, 3) and out.dtype == "int64"
    np.testing.assert_array_equal(out.sum(axis=1), [10, 20, 30])
    many = function([], srng.multinomial((20000,), n=1, pvals=[0.2, 0.3, 0.5]))()
    np.testing.assert_allclose(many.mean(axis=0), [0.2, 0.3, 0.5], atol=0.015)
    rows = function([], srng.multinomial(n=100, pvals=[[1.0, 0.0], [0.0, 1.0]]))()
    np.testing.assert_array_equal(rows, [[100, 0], [0, 100]])


def test_shuffle_row_elements():
    x = T.dmatrix("x")
    srng = RandomStreams(seed=5)
    s = srng.shuffle_row_elements(x)
    f = function([x], [s, s.permutation])
    data = np.arange(12.0).reshape(3, 4)
    out, perm = f(data)
    np.testing.assert_array_equal(out, np.take_along_axis(data, perm, axis=1))
    np.testing.assert_array_equal(np.sort(out, axis=1), data)
    v = T.dvector("v")
    sv = srng.shuffle_row_elements(v)
    assert sorted(function([v], sv)(np.arange(7.0))) == list(range(7))


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_dtypes(floatx):
    srng = RandomStreams(seed=6)
    with config.change_flags(floatX=floatx):
        assert srng.uniform((2,)).dtype == floatx
        assert srng.normal((2,)).dtype == floatx
        assert srng.uniform((2,), dtype="float16").dtype == "float16"
        assert srng.uniform((2,), low=np.array(0.0)).dtype == "float64"
        assert srng.binomial((2,)).dtype == "int64"
        assert srng.binomial((2,), dtype="int8").dtype == "int8"
        assert srng.random_integers((2,), dtype="int32").dtype == "int32"
        f = function([], [srng.uniform((3,)), srng.normal((3,), dtype="float32"),
                          srng.random_integers((3,), 0, 9, dtype="uint8")])
        a, b, c = f()
        assert (a.dtype, b.dtype, c.dtype) == (floatx, "float32", "uint8")


def test_symbolic_sizes_and_shapes_from_parameters():
    x = T.dmatrix("x")
    n = T.lscalar("n")
    srng = RandomStreams(seed=7)
    h = T.dvector("h")
    f = function([x, n, h], [srng.uniform(x.shape), srng.normal((n, 2)), srng.normal(avg=x),
                             srng.uniform((n, -1), high=h)])
    a, b, c, d = f(np.zeros((2, 5)), 3, np.ones(4))
    assert a.shape == (2, 5) and b.shape == (3, 2) and c.shape == (2, 5) and d.shape == (3, 4)
    s = T.lvector("s")
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform(s)
    g = function([s], srng.uniform(s, ndim=2))
    assert g([4, 1]).shape == (4, 1)
    with pytest.raises(ValueError, match="size"):
        g([4, 1, 2])


def test_every_call_advances_and_seed_resets():
    srng = RandomStreams(seed=8)
    f = function([], [srng.uniform((3,)), srng.normal((3,))])
    first, second = f(), f()
    assert not np.array_equal(first[0], second[0])
    srng.seed(8)
    np.testing.assert_array_equal(f()[0], first[0])
    srng.seed(123)
    seeds = stream_seeds(123, 2)
    got = f()
    np.testing.assert_array_equal(got[0], np.random.RandomState(seeds[0]).uniform(size=3))
    np.testing.assert_array_equal(got[1], np.random.RandomState(seeds[1]).normal(size=3))
    srng.seed()  # the container's own seed
    np.testing.assert_array_equal(f()[0], first[0])


def test_same_seed_same_numbers():
    a = function([], RandomStreams(seed=9).uniform((6,)))
    b = function([], RandomStreams(seed=9).uniform((6,)))
    c = function([], RandomStreams(seed=10).uniform((6,)))
    x = a()
    np.testing.assert_array_equal(x, b())
    assert not np.allclose(x, c())


def test_two_functions_share_a_stream():
    srng = RandomStreams(seed=11)
    u = srng.uniform((4,))
    f, g = function([], u), function([], u + 1)
    r = np.random.RandomState(stream_seeds(11, 1)[0])
    np.testing.assert_array_equal(f(), r.uniform(size=4))
    np.testing.assert_array_equal(g(), r.uniform(size=4) + 1)
    np.testing.assert_array_equal(f(), r.uniform(size=4))


def test_no_default_updates():
    srng = RandomStreams(seed=12)
    u = srng.uniform((4,))
    frozen = function([], u, no_default_updates=True)
    np.testing.assert_array_equal(frozen(), frozen())
    by_list = function([], u, no_default_updates=[u.rng])
    np.testing.assert_array_equal(by_list(), frozen())
    moving = function([], u)
    assert not np.array_equal(moving(), moving())


def test_updates_lists_states_and_drives_a_function_without_defaults():
    srng = RandomStreams(seed=13)
    u = srng.uniform((3,))
    (state, new_state), = srng.updates()
    assert state is u.rng and u.update == (state, new_state)
    assert isinstance(state, RandomStateSharedVariable) and state.tag["is_rng"]
    f = function([], u, no_default_updates=True, updates=srng.updates())
    assert not np.array_equal(f(), f())


def test_state_access_as_randomstate_objects():
    srng = RandomStreams(seed=14)
    u = srng.uniform((3,))
    f = function([], u)
    state = u.rng
    rs = state.get_value()
    assert isinstance(rs, np.random.RandomState)
    np.testing.assert_array_equal(f(), rs.uniform(size=3))
    state.set_value(np.random.RandomState(77))
    np.testing.assert_array_equal(f(), np.random.RandomState(77).uniform(size=3))
    srng[state] = np.random.RandomState(78)
    np.testing.assert_array_equal(srng[state].uniform(size=3),
                                  np.random.RandomState(78).uniform(size=3))
    raw = state.get_value(return_internal_type=True)
    assert raw.dtype == np.uint32 and raw.shape == (628,)
    with pytest.raises(ValueError, match="RandomState"):
        state.set_value(np.zeros(3))


def test_shared_of_a_randomstate_and_raw_ops():
    from theanine.tensor import raw_random

    r = shared(np.random.RandomState(5), "r")
    assert isinstance(r, RandomStateSharedVariable)
    new_r, draw = raw_random.uniform(r, (2,))
    f = function([], draw, updates=[(r, new_r)])
    ref = np.random.RandomState(5)
    np.testing.assert_array_equal(f(), ref.uniform(size=2))
    np.testing.assert_array_equal(f(), ref.uniform(size=2))
    rs = random_state_shared()
    assert isinstance(rs.get_value(), np.random.RandomState)


def test_a_failed_call_changes_no_state():
    srng = RandomStreams(seed=15)
    u = srng.uniform((3,))
    x = T.dvector("x")
    f = function([x], u + x)
    before = u.rng.get_value(return_internal_type=True)
    with pytest.raises(ValueError):
        f(np.zeros(5))
    np.testing.assert_array_equal(u.rng.get_value(return_internal_type=True), before)
    r = np.random.RandomState(stream_seeds(15, 1)[0])
    np.testing.assert_array_equal(f(np.zeros(3)), r.uniform(size=3))


def test_gradients():
    low = T.dscalar("low")
    srng = RandomStreams(seed=16)
    with pytest.raises(NullTypeGradError, match="random draw"):
        theanine.grad(srng.uniform((3,), low=low).sum(), low)
    w = T.dscalar("w")
    g = theanine.grad((srng.normal((3,)) * w).sum(), w)
    assert np.isfinite(function([w], g)(1.0))


def test_fast_compile_and_vm_modes_agree():
    def run(mode):
        s = RandomStreams(seed=17)
        x = T.dvector("x")
        return function([x], [s.normal(avg=x), s.permutation(n=x.shape[0])], mode=mode)(
            np.arange(4.0))
    for a, b in zip(run("FAST_RUN"), run("FAST_COMPILE")):
        np.testing.assert_array_equal(a, b)


def test_errors_name_the_argument():
    srng = RandomStreams(seed=18)
    with pytest.raises(TypeError, match="size"):
        srng.uniform((2.5,))
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform((2, 3), ndim=1)
    with pytest.raises(ValueError, match="non-negative"):
        srng.uniform((-3,))
    with pytest.raises(TypeError, match="size"):
        srng.uniform(T.dvector())
    with pytest.raises(TypeError, match="lam"):
        srng.poisson((2,))
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform((2,), low=T.dmatrix())
    from theanine.tensor.random.op import RandomFunction

    with pytest.raises(TypeError, match="state"):
        RandomFunction("uniform", "float64", (None,))(T.dvector(), [2], 0.0, 1.0)
    with pytest.raises(ValueError, match="unknown distribution"):
        RandomFunction("gamma", "float64", (None,))


@pytest.mark.parametrize("streams", ["RandomStreams", "MRG_RandomStreams"])
def test_dropout_mask_of_a_computed_shape_keeps_gradients(streams):
    """The classic idiom: the mask's size comes from the layer, whose gradient is unaffected."""
    from theanine.sandbox.rng_mrg import MRG_RandomStreams

    srng = RandomStreams(seed=19) if streams == "RandomStreams" else MRG_RandomStreams(seed=19)
    x = T.dmatrix("x")
    W = shared(np.full((3, 4), 0.5), "W")
    h = T.tanh(T.dot(x, W))
    mask = srng.binomial(size=h.shape, p=0.5, dtype="float64")
    cost = (h * mask).sum()
    f = function([x], [mask, theanine.grad(cost, W)])
    data = np.arange(6.0).reshape(2, 3) / 6
    m, g = f(data)
    hv = np.tanh(data @ np.full((3, 4), 0.5))
    np.testing.assert_allclose(g, data.T @ ((1 - hv ** 2) * m))
    assert set(np.unique(m)) <= {0.0, 1.0}
