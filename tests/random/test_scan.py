"""Random draws inside ``scan`` steps: as in Theano, the streams become loop states and
``scan`` returns their updates; passing those to ``function`` advances the streams."""

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function
from theanine.sandbox.rng_mrg import MRG_RandomStreams
from theanine.tensor.random import mrg31k3p as gen
from theanine.tensor.shared_randomstreams import RandomStreams


def first_stream(seed: int) -> np.random.RandomState:
    return np.random.RandomState(int(np.random.RandomState(seed).randint(2 ** 30)))


def test_randomstreams_draws_in_a_step():
    srng = RandomStreams(seed=21)
    out, updates = theanine.scan(lambda: srng.uniform((2,)), n_steps=4)
    (state, _), = srng.updates()
    assert list(updates) == [state]
    f = function([], out, updates=updates)
    r = first_stream(21)
    for _ in range(2):  # each step continues the stream, and so does the next call
        np.testing.assert_array_equal(f(), np.stack([r.uniform(size=2) for _ in range(4)]))


def test_mrg_draws_in_a_step():
    srng = MRG_RandomStreams(seed=21)
    out, updates = theanine.scan(lambda: srng.uniform((3,)), n_steps=5)
    f = function([], out, updates=updates)
    states = gen.substream_states(gen.check_seed(21), 3)  # 3 samples: 3 substreams
    for _ in range(2):
        states, ref = gen.mrg_uniform_numpy(states, 15, "float64")
        np.testing.assert_array_equal(f(), ref.reshape(5, 3))


def test_draws_depending_on_sequences_and_outputs():
    x = T.dmatrix("x")
    srng = MRG_RandomStreams(seed=3)

    def step(row, acc):
        noise = srng.normal(row.shape, std=0.1)
        return acc + row + noise

    out, updates = theanine.scan(step, sequences=x, outputs_info=T.zeros((3,)))
    f = function([x], out[-1], updates=updates)
    a, b = f(np.ones((6, 3))), f(np.ones((6, 3)))
    assert a.shape == (3,) and not np.array_equal(a, b)
    assert np.all(np.abs(a - 6) < 2)


def test_stream_defined_outside_the_step_gives_new_numbers_each_step():
    srng = RandomStreams(seed=4)
    u = srng.uniform((2,))
    out, updates = theanine.scan(lambda: u * 1.0, n_steps=3)
    rows = function([], out, updates=updates)()
    assert not np.array_equal(rows[0], rows[1])
    r = first_stream(4)
    np.testing.assert_array_equal(rows, np.stack([r.uniform(size=2) for _ in range(3)]))


def test_a_draw_passed_as_non_sequence_is_drawn_once():
    srng = RandomStreams(seed=5)
    u = srng.uniform((2,))
    out, updates = theanine.scan(lambda v: v * 1.0, non_sequences=[u], n_steps=3)
    assert not updates
    f = function([], out, updates=updates)
    rows = f()
    np.testing.assert_array_equal(rows[0], rows[2])
    assert not np.array_equal(f()[0], rows[0])  # the function's default update advances it


def test_explicit_step_updates_are_kept_with_the_streams():
    counter = theanine.shared(np.float64(0.0), "counter")
    srng = MRG_RandomStreams(seed=6)

    def step():
        return srng.uniform((2,)), {counter: counter + 1}

    out, updates = theanine.scan(step, n_steps=4)
    assert counter in updates and len(updates) == 2
    f = function([], out, updates=updates)
    a = f()
    assert counter.get_value() == 4.0 and not np.array_equal(a, f())


@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_scan_draws_are_reproducible_after_seed(streams):
    srng = streams(seed=7)
    out, updates = theanine.scan(lambda: srng.normal((2,)), n_steps=3)
    f = function([], out, updates=updates)
    first = f()
    srng.seed(7)
    np.testing.assert_array_equal(f(), first)
