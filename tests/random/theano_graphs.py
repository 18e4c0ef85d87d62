"""The graphs whose numbers ``theano_reference.json`` records, for Theano and theanine alike.

``draw_all(theano, T, RandomStreams, MRG_RandomStreams)`` builds and runs them with the
given modules and returns ``{key: array or list of arrays}``. The reference file was made
by running this module as a script under Theano 1.0.5 (Python 3.11, NumPy 1.23.5, g++,
``THEANO_FLAGS=blas.ldflags=`` and ``floatX=float64``, then ``float32``)::

    THEANO_FLAGS=floatX=float64 python tests/random/theano_graphs.py theano_reference.json
    THEANO_FLAGS=floatX=float32 python tests/random/theano_graphs.py theano_reference.json
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np


def draw_all(theano: Any, T: Any, RandomStreams: Any, MRG_RandomStreams: Any) -> dict:
    fx = theano.config.floatX
    res: dict = {}
    s = RandomStreams(seed=1234)
    draws = [s.uniform((3,)), s.normal((2, 2)), s.binomial((5,), n=3, p=0.3),
             s.random_integers((6,), low=-3, high=5), s.choice(size=(4,), a=10, replace=False),
             s.choice(size=(3,), a=3, p=[0.1, 0.2, 0.7]), s.permutation(size=(2,), n=5),
             s.multinomial(size=(2,), n=5, pvals=[.2, .3, .5]), s.poisson(size=(4,), lam=3.0),
             s.uniform((2,), low=[0.0, 10.0], high=[1.0, 20.0]),
             s.normal(avg=T.constant(np.arange(3.0)), std=2.0)]
    f = theano.function([], draws)
    res["rs_call1"], res["rs_call2"] = f(), f()
    s.seed(42)
    res["rs_seed42"] = f()
    x = T.matrix("x")
    g = theano.function([x], RandomStreams(seed=7).shuffle_row_elements(x))
    res["rs_shuffle"] = g(np.arange(12.0).reshape(3, 4).astype(fx))

    m = MRG_RandomStreams(seed=1234)
    pv = np.array([[.2, .3, .5], [.6, .2, .2]], dtype=fx)
    p4 = np.array([[.1, .2, .3, .4], [.25, .25, .25, .25], [.7, .1, .1, .1]], dtype=fx)
    mdraws = [m.uniform((5,)), m.uniform((7, 3), dtype="float32"), m.uniform((10,), nstreams=3),
              m.normal((7,)), m.normal((5,), dtype="float32"), m.binomial((6,), p=0.3),
              m.multinomial(pvals=pv, n=3), m.choice(size=2, p=p4, replace=False),
              m.uniform((4,), dtype="float16"), m.truncated_normal((8,)),
              m.uniform((3,), low=-2.0, high=5.0)]
    mf = theano.function([], mdraws)
    res["mrg_call1"], res["mrg_call2"] = mf(), mf()
    m.seed(77)
    res["mrg_seed77"] = mf()
    y = T.matrix("y")
    h = theano.function([y], MRG_RandomStreams(seed=[1, 2, 3, 4, 5, 6]).uniform(y.shape))
    res["mrg_symsize"] = h(np.zeros((2, 3), dtype=fx))
    res["mrg_big"] = theano.function([], MRG_RandomStreams(seed=99).uniform((1000,)))()
    res["mrg_normal_big"] = theano.function([], MRG_RandomStreams(seed=99).normal((1001,)))()
    res["mrg_f32_big"] = theano.function(
        [], MRG_RandomStreams(seed=5).uniform((20000,), dtype="float32"))()

    ss = RandomStreams(seed=3)
    o, u = theano.scan(lambda: ss.uniform((2,)), n_steps=3)
    sf = theano.function([], o, updates=u)
    res["scan_rs"] = [sf(), sf()]
    ms = MRG_RandomStreams(seed=3)
    o2, u2 = theano.scan(lambda: ms.uniform((2,)), n_steps=3)
    sf2 = theano.function([], o2, updates=u2)
    res["scan_mrg"] = [sf2(), sf2()]
    xs = T.vector("xs")
    ms2 = MRG_RandomStreams(seed=11)
    o3, u3 = theano.scan(lambda v: v + ms2.normal((2,)), sequences=xs)
    sf3 = theano.function([xs], o3, updates=u3)
    seq = np.arange(3.0).astype(fx)
    res["scan_mrg_normal"] = [sf3(seq), sf3(seq)]
    return res


def _entry(a: Any) -> dict:
    arr = np.asarray(a)
    e: dict = {"dtype": str(arr.dtype), "shape": list(arr.shape)}
    if arr.size > 64:
        flat = arr.ravel()
        e.update(take=True, head=flat[:32].tolist(), strided=flat[::97].tolist())
    else:
        e["values"] = arr.tolist()
    return e


def decode(e: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """``(expected values, indices into the flattened result)`` of a recorded entry."""
    if "values" in e:
        return np.asarray(e["values"], dtype=e["dtype"]).reshape(e["shape"]), None
    n = int(np.prod(e["shape"]))
    idx = np.concatenate([np.arange(min(32, n)), np.arange(0, n, 97)])
    vals = np.asarray(e["head"] + e["strided"], dtype=e["dtype"])
    return vals, idx


if __name__ == "__main__":  # pragma: no cover - run under Theano 1.0.5 to remake the data
    import theano
    import theano.tensor as T
    from theano.sandbox.rng_mrg import MRG_RandomStreams
    from theano.tensor.shared_randomstreams import RandomStreams

    path = sys.argv[1]
    data = json.load(open(path)) if os.path.exists(path) else {}
    got = draw_all(theano, T, RandomStreams, MRG_RandomStreams)
    data[theano.config.floatX] = {
        k: ([_entry(a) for a in v] if isinstance(v, list) else _entry(v)) for k, v in got.items()}
    with open(path, "w") as fh:
        json.dump(data, fh, separators=(",", ":"))
