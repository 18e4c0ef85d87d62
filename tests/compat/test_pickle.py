"""Pickling: shared variables and compiled functions round-trip through ``pickle`` (VM
and native back ends), keeping the identity between functions and the shared variables
pickled with them; ``theanine.misc.pkl_utils`` zips and atomic writes."""

import io
import os
import pickle
import stat
import sys
import zipfile

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import In, Mode, config, function, shared
from theanine.backend import numba_available
from theanine.misc import pkl_utils

from tests.compat.conftest import ROOT, run_python


class Model:
    """A classic model object: parameters and the functions that train and use them."""

    def __init__(self, mode=None, seed=0):
        rng = np.random.default_rng(seed)
        self.W = shared(rng.normal(size=(3, 2)), "W")
        self.b = shared(np.zeros(2), "b")
        x, y, lr = T.dmatrix("x"), T.ivector("y"), T.dscalar("lr")
        p = T.nnet.softmax(T.dot(x, self.W) + self.b)
        cost = T.nnet.categorical_crossentropy(p, y).mean()
        gW, gb = theanine.grad(cost, [self.W, self.b])
        self.train = function([x, y, In(lr, value=0.5, name="lr")], cost, mode=mode,
                              updates=[(self.W, self.W - lr * gW), (self.b, self.b - lr * gb)])
        self.predict = function([x], T.argmax(p, axis=1), mode=mode)


def _data(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, 3))
    return X, (X[:, 0] > 0).astype("int32")


def test_shared_variable_round_trip():
    W = shared(np.arange(6.0).reshape(2, 3), "W", strict=True)
    W2 = pickle.loads(pickle.dumps(W))
    assert W2.name == "W" and W2.type == W.type and W2.strict
    np.testing.assert_array_equal(W2.get_value(), W.get_value())
    W2.set_value(np.zeros((2, 3)))
    assert W.get_value()[1, 2] == 5.0


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_model_round_trip_keeps_identity(protocol):
    m = Model()
    X, Y = _data()
    m.train(X, Y)
    m2 = pickle.loads(pickle.dumps(m, protocol))
    assert m2.W is not m.W
    np.testing.assert_array_equal(m2.W.get_value(), m.W.get_value())
    c1, c2 = m.train(X, Y), m2.train(X, Y)
    assert float(c1) == float(c2)
    np.testing.assert_array_equal(m2.W.get_value(), m.W.get_value())  # m2.train updated m2.W
    m2.W.set_value(np.zeros((3, 2)))
    m2.b.set_value(np.array([0.0, 1.0]))
    assert (m2.predict(X) == 1).all()  # predict reads the shared variable train updates
    assert not (m.predict(X) == 1).all()  # the original is untouched
    assert m2.train["lr"] == 0.5 and m2.train(X, Y, lr=0.1) is not None


def test_function_state_survives_pickling():
    a, acc = T.dscalar("a"), T.dscalar("acc")
    f = function([a, In(acc, value=0.0, update=acc + a, name="acc")], acc + a)
    f(1.0), f(2.0)
    g = pickle.loads(pickle.dumps(f))
    assert g["acc"] == 3.0 and g(1.0) == 4.0
    f["acc"] = 10.0
    assert pickle.loads(pickle.dumps(f))(1.0) == 11.0


def test_givens_scan_and_constants_round_trip():
    data = shared(np.arange(12.0).reshape(6, 2), "data")
    index = T.lscalar("index")
    x = T.dmatrix("x")
    total = shared(0.0, "total")
    out, _ = theanine.scan(lambda row, acc: acc + row, sequences=[x],
                           outputs_info=[T.zeros_like(x[0])])
    f = function([index], out[-1] * 2, updates=[(total, total + x.sum())],
                 givens={x: data[index * 2:(index + 1) * 2]})
    expected = f(1)
    g = pickle.loads(pickle.dumps((f, total)))[0]
    np.testing.assert_array_equal(g(1), expected)
    const = (x * 3).owner.inputs[1]
    assert not pickle.loads(pickle.dumps(const)).data.flags.writeable


def test_eval_cache_is_not_pickled():
    x = T.dscalar("x")
    y = x * 2
    assert float(y.eval({x: 1.0})) == 2.0
    assert "_eval_cache" in y.tag
    assert "_eval_cache" not in pickle.loads(pickle.dumps(y)).tag


def test_unpickled_in_a_fresh_process(tmp_path):
    m = Model()
    X, Y = _data()
    m.train(X, Y)
    path = tmp_path / "model.pkl"
    with open(path, "wb") as fh:
        pickle.dump(m, fh)
    expected = m.train(X, Y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    code = (f"import pickle, sys, numpy as np\nsys.path.insert(0, {ROOT!r})\n"
            f"m = pickle.load(open({str(path)!r}, 'rb'))\n"
            f"X, Y = np.load({str(tmp_path / 'X.npy')!r}), np.load({str(tmp_path / 'Y.npy')!r})\n"
            f"print(repr(float(m.train(X, Y))))\n")
    out = run_python(["-c", code])
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == float(expected)


# -- the native back end ---------------------------------------------------------------

numba_only = pytest.mark.skipif(not numba_available(),
                                reason="numba is not installed (native back end)")


@numba_only
def test_native_function_round_trip():
    x = T.dvector("x")
    s = shared(np.ones(3), "s")
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
        f = function([x], T.exp(x).sum() + s.sum(), updates=[(s, s * 2)])
        first = f(np.zeros(3))
        assert f._run.state == "ready", f._run.error
        g, s2 = pickle.loads(pickle.dumps((f, s)))
        assert g(np.zeros(3)) == f(np.zeros(3)) == first + 3.0  # both shared values doubled once
        assert g._run.state == "ready", g._run.error
        assert g.maker.mode.linker == "numba"
    np.testing.assert_array_equal(s2.get_value(), s.get_value())


@numba_only
def test_native_function_reloads_from_the_compile_cache(tmp_path):
    save = (
        "import pickle, numpy as np, theanine, theanine.tensor as T\n"
        "x = T.dvector('x')\n"
        "f = theanine.function([x], T.tanh(x).sum() * 3)\n"
        "v = f(np.arange(4.0))\n"
        f"pickle.dump(f, open({str(tmp_path / 'f.pkl')!r}, 'wb'))\n"
        "print(repr(float(v)), f._run.state, f._run.compile_time)\n")
    load = (
        "import pickle, numpy as np\n"
        f"f = pickle.load(open({str(tmp_path / 'f.pkl')!r}, 'rb'))\n"
        "v = f(np.arange(4.0))\n"
        "print(repr(float(v)), f._run.state, f._run.compile_time)\n")
    flags = f"compiledir={tmp_path},linker=numba,numba_compile=blocking,numba_hot_calls=1"
    first = run_python(["-c", save], THEANINE_FLAGS=flags)
    assert first.returncode == 0, first.stderr
    second = run_python(["-c", load], THEANINE_FLAGS=flags)
    assert second.returncode == 0, second.stderr
    v1, state1, t1 = first.stdout.split()
    v2, state2, t2 = second.stdout.split()
    assert v1 == v2 == repr(float(np.tanh(np.arange(4.0)).sum() * 3))
    assert state1 == state2 == "ready"
    assert float(t2) < float(t1)  # machine code loaded from the cache, not compiled


# -- pkl_utils -------------------------------------------------------------------------

def test_pkl_utils_zip_members_and_round_trip(tmp_path):
    m = Model(mode=Mode(linker="vm"))
    m.extra = np.arange(5)
    m.same = m.extra
    m.unnamed = shared(np.eye(2))
    m.W2 = shared(np.ones(2), "W")  # a second 'W'
    path = tmp_path / "model.zip"
    pkl_utils.dump(m, str(path))
    names = zipfile.ZipFile(path).namelist()
    assert {"pkl", "W.npy", "b.npy", "W_2.npy"} <= set(names)
    assert all(n == "pkl" or n.endswith(".npy") for n in names)
    np.testing.assert_array_equal(np.load(path)["W"], m.W.get_value())  # readable by NumPy
    np.testing.assert_array_equal(np.load(path)["W_2"], np.ones(2))
    m2 = pkl_utils.load(str(path))
    assert m2.same is m2.extra
    np.testing.assert_array_equal(m2.unnamed.get_value(), np.eye(2))
    X, Y = _data()
    assert float(m2.train(X, Y)) == float(m.train(X, Y))
    np.testing.assert_array_equal(m2.W.get_value(), m.W.get_value())
    # file objects work too, as in Theano
    buf = io.BytesIO()
    pkl_utils.dump(m.W, buf)
    buf.seek(0)
    np.testing.assert_array_equal(pkl_utils.load(buf).get_value(), m.W.get_value())


def test_strip_pickler_drops_sites():
    x = T.dvector("x")
    y = x * 2
    assert y.site is not None
    buf = io.BytesIO()
    pkl_utils.StripPickler(buf).dump(y)
    y2 = pickle.loads(buf.getvalue())
    assert y2.site is None and y2.owner.inputs[0].site is None
    buf = io.BytesIO()
    pkl_utils.dump(y, buf, strip=True)
    assert pkl_utils.load(buf).site is None


class _Boom:
    def __reduce__(self):
        raise RuntimeError("boom while saving")


def test_atomic_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    with pytest.raises(RuntimeError, match="inside"):
        with pkl_utils.atomic_write(path) as fh:
            fh.write(b"new, half written")
            raise RuntimeError("inside")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]
    with pkl_utils.atomic_write(path) as fh:
        fh.write(b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # permissions kept
    assert os.listdir(tmp_path) == ["out.bin"]


def test_dump_failing_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.zip"
    pkl_utils.dump({"W": shared(np.ones(3), "W")}, path)
    before = path.read_bytes()
    big = {"a": shared(np.zeros(100_000), "a"), "then": _Boom()}
    with pytest.raises(RuntimeError, match="boom while saving"):
        pkl_utils.dump(big, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.zip"]
    np.testing.assert_array_equal(pkl_utils.load(path)["W"].get_value(), np.ones(3))


def test_process_killed_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.zip"
    pkl_utils.dump({"W": shared(np.ones(3), "W")}, path)
    before = path.read_bytes()
    code = (
        "import os, numpy as np, theanine\nfrom theanine.misc import pkl_utils\n"
        "class Crash:\n    def __reduce__(self):\n        os._exit(9)\n"
        f"pkl_utils.dump({{'a': theanine.shared(np.zeros(100000), 'a'), 'z': Crash()}}, "
        f"{str(path)!r})\n")
    out = run_python(["-c", code])
    assert out.returncode == 9, out.stderr
    assert path.read_bytes() == before
    np.testing.assert_array_equal(pkl_utils.load(path)["W"].get_value(), np.ones(3))


def test_security_warning_is_documented():
    for doc in [pkl_utils.__doc__, pkl_utils.load.__doc__, pkl_utils.dump.__doc__,
                theanine.Function.__reduce__.__doc__]:
        assert "trust" in doc


def test_pickling_under_the_alias_names_theanine_modules():
    from theanine import compat

    with compat.installed():
        import theano

        W = theano.shared(np.ones(2), "W")
        data = pickle.dumps(W)
    assert b"theano." not in data.replace(b"theanine.", b"")
    assert "theano" not in sys.modules
    np.testing.assert_array_equal(pickle.loads(data).get_value(), np.ones(2))
