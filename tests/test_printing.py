"""debugprint, pp, Print, pydotprint and profiles."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function
from theanine.printing import Print, debugprint, pp, pydotprint


def test_debugprint_theano_form():
    x = T.dvector("x")
    W = theanine.shared(np.ones(2), "W")
    text = debugprint((T.exp(x) * W).sum(), file="str")
    assert text.splitlines() == [
        "Sum{axis=[0]} [id A] <TensorType(float64, shape=())>",
        " |Elemwise{mul} [id B] <TensorType(float64, shape=(?,))>",
        "   |Elemwise{exp} [id C] <TensorType(float64, shape=(?,))>",
        "   | |x [id D] <TensorType(float64, shape=(?,))>",
        "   |W [id E] <TensorType(float64, shape=(?,))>",
    ]


def test_debugprint_of_function_shows_rewritten_graph_and_reuses_ids():
    x = T.dvector("x")
    e = T.exp(x)
    text = debugprint([e * 2, e + 1], file="str")
    assert text.count("Elemwise{exp} [id") == 2 and text.count("[id B]") == 2
    f = function([x], T.log(1 + T.exp(x)))
    assert "softplus" in debugprint(f, file="str")


def test_pp():
    x = T.dvector("x")
    assert pp((x * 2).sum()) == "sum((x * [2.]))"
    assert pp(T.dot(x, x)) == "dot(x, x)"


def test_print_op(capsys):
    x = T.dvector("x")
    f = function([x], Print("value of x")(x) * 2)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [2.0, 4.0])
    assert "value of x __str__ = [1. 2.]" in capsys.readouterr().out
    g = theanine.grad(Print("p")(x).sum(), x)
    np.testing.assert_array_equal(g.eval({x: np.ones(2)}), [1.0, 1.0])


def test_profile_summary(capsys):
    x = T.dmatrix("x")
    f = function([x], T.tanh(T.dot(x, x)).sum(), profile=True)
    for _ in range(4):
        f(np.ones((20, 20)))
    f.profile.summary()
    out = capsys.readouterr().out
    assert "calls: 4" in out and "Dot" in out and "rewrites" in out and "peak memory" in out
    if f.profile.native_calls == 4:  # (pytest --linker=numba: native from the first call)
        assert "not measured (every call ran the native program)" in out
    else:
        assert f.profile.peak_bytes >= 20 * 20 * 8


def test_profile_flag_prints_at_exit():
    code = ("import numpy as np, theanine, theanine.tensor as T\n"
            "x = T.dvector('x')\nf = theanine.function([x], T.exp(x).sum(), name='myfn')\n"
            "f(np.ones(3))\n")
    env = dict(os.environ, THEANINE_FLAGS="profile=True",
               PYTHONPATH=os.path.dirname(os.path.dirname(theanine.__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert "Function profile: myfn" in out.stderr


def test_pydotprint(tmp_path):
    pytest.importorskip("pydot", reason="pydot is not installed")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's `dot` program is not installed (apt-get install graphviz)")
    x = T.fvector("x")
    W = theanine.shared(np.array([0.2, 0.7]), "W")
    f = function([x], (x * W).sum())
    for fmt in ("png", "svg"):
        out = tmp_path / f"graph.{fmt}"
        pydotprint(f, outfile=str(out), format=fmt, var_with_name_simple=True)
        assert out.stat().st_size > 100


def test_pydotprint_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("pydot", reason="pydot is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))
    x = T.dvector("x")
    with pytest.raises((RuntimeError, OSError), match="graphviz|dot"):
        pydotprint(x * 2, outfile=str(tmp_path / "g.png"), print_output_file=False)
