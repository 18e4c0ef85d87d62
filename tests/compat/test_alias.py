"""The theano alias: module paths, identity, install/uninstall, and ``python -m
theanine.compat`` running programs as Python would."""

import importlib
import importlib.util
import os
import sys
import textwrap

import pytest

import theanine
import theanine.tensor
from theanine import compat
from theanine.compat.alias import resolve

from tests.compat.conftest import run_python


def _target_exists(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("path", compat.CLASSIC_PATHS)
def test_classic_paths_import_under_the_alias(path):
    target = resolve(path)
    if not _target_exists(target):
        pytest.skip(f"{path} maps to {target}, which does not exist yet")
    with compat.installed():
        module = importlib.import_module(path)
        assert module is importlib.import_module(target)
        assert sys.modules[path] is module


def test_identity_and_top_level_names():
    with compat.installed():
        import theano
        import theano.tensor as T
        from theano import In, Out, config, function, shared  # noqa: F401
        from theano.compile import In as In2, Out as Out2, function as f2, shared as s2
        from theano.scan_module import until
        from theano.tensor.nnet import (binary_crossentropy, categorical_crossentropy,  # noqa
                                        relu, sigmoid, softmax)

        assert theano is theanine
        assert T is theanine.tensor
        assert config is theanine.config
        assert (In2, Out2, f2, s2) == (theanine.In, theanine.Out, theanine.function,
                                       theanine.shared)
        assert theano.scan_module.until is until
        assert callable(theano.scan) and callable(theano.compile.function)
        assert theano.gof.Op is theanine.Op
        for name in ["map", "reduce", "foldl", "foldr", "pp", "dot", "grad", "Rop", "Lop",
                     "clone", "printing", "gradient", "config"]:
            assert hasattr(theano, name), name


def test_tensor_and_nnet_have_theano_names():
    import theanine.tensor as T

    for name in ["nnet", "lscalar", "iscalar", "dmatrix", "fmatrix", "ivector", "tensor4",
                 "grad", "arange", "mean", "neq", "argmax", "cast", "switch", "dot",
                 "set_subtensor", "concatenate", "extra_ops"]:
        assert hasattr(T, name), name
    for name in ["sigmoid", "softmax", "relu", "categorical_crossentropy",
                 "binary_crossentropy", "softplus"]:
        assert callable(getattr(T.nnet, name)), name
    if _target_exists("theanine.tensor.shared_randomstreams"):
        assert T.shared_randomstreams.__name__ == "theanine.tensor.shared_randomstreams"
    if not _target_exists("theanine.tensor.nnet.conv"):
        pytest.skip("theanine.tensor.nnet.conv does not exist yet")
    assert callable(T.nnet.conv2d)
    assert T.nnet.conv.__name__ == "theanine.tensor.nnet.conv"


def test_importing_a_renamed_path_leaves_no_attribute_behind():
    import theanine.compile

    with compat.installed():
        import theano.compat
        from theano.compat import OrderedDict, izip  # noqa: F401

        assert theanine.compat.install is compat.install  # not replaced by theano.compat
        import theano.tensor.nnet.nnet  # noqa: F401 - a new attribute, removed by uninstall
        import theano.compile.function
        from theano.compile.function import function  # noqa: F401

        import theano.scan  # the package: theano.scan stays the function
        assert callable(theanine.compile.function)
        assert callable(theanine.scan)
        assert theano.compile.function is theanine.function
    assert not hasattr(theanine.compile, "sharedvalue")
    assert "nnet" not in vars(theanine.tensor.nnet)
    assert callable(theanine.compile.function) and callable(theanine.scan)


def test_missing_target_is_a_clear_import_error():
    with compat.installed():
        with pytest.raises(ImportError, match=r"theano\.sandbox\.cuda.*theanine\.sandbox\.cuda"):
            import theano.sandbox.cuda  # noqa: F401
        with pytest.raises(ImportError, match=r"theano\.tensor\.nope.*theanine\.tensor\.nope"):
            importlib.import_module("theano.tensor.nope")
        with pytest.raises(ModuleNotFoundError):
            import theano.gof.nothing_there  # noqa: F401


def test_install_uninstall_and_real_theano_is_not_shadowed(tmp_path):
    # a stand-in for a real Theano installation, found on sys.path
    pkg = tmp_path / "theano"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("REAL = True\n")
    sys.path.insert(0, str(tmp_path))
    try:
        compat.install()
        compat.install()  # idempotent
        import theano

        assert theano is theanine and not hasattr(theano, "REAL")
        compat.uninstall()
        assert not compat.is_installed()
        assert "theano" not in sys.modules
        import theano

        assert theano.REAL is True
        with pytest.raises(RuntimeError, match="real Theano is already imported"):
            compat.install()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "theano" or n.startswith("theano.")]:
            del sys.modules[name]
    assert not compat.is_installed()


def test_nothing_named_theano_in_the_package():
    root = os.path.dirname(os.path.dirname(theanine.__file__))
    assert not os.path.exists(os.path.join(root, "theano"))
    assert not os.path.exists(os.path.join(root, "theano.py"))


CLASSIC = textwrap.dedent("""\
    import sys
    import numpy
    import theano
    import theano.tensor as T
    from theano import config, function, shared
    from helper import make_data

    print(config.floatX, sys.argv[1:], __name__, theano.tensor is sys.modules['theanine.tensor'])
    rng = numpy.random.RandomState(0)
    data_x, data_y = make_data(rng)
    train_x = shared(numpy.asarray(data_x, dtype=config.floatX), borrow=True)
    train_y = T.cast(shared(numpy.asarray(data_y, dtype=config.floatX), borrow=True), 'int32')
    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    W = shared(numpy.zeros((2, 2), dtype=config.floatX), name='W', borrow=True)
    b = shared(numpy.zeros((2,), dtype=config.floatX), name='b', borrow=True)
    p_y = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    errors = T.mean(T.neq(T.argmax(p_y, axis=1), y))
    g_W, g_b = T.grad(cost=cost, wrt=[W, b])
    bs = 20
    train = function([index], cost, updates=[(W, W - 0.1 * g_W), (b, b - 0.1 * g_b)],
                     givens={x: train_x[index * bs:(index + 1) * bs],
                             y: train_y[index * bs:(index + 1) * bs]})
    test = function([], errors, givens={x: train_x, y: train_y})
    for epoch in range(20):
        for i in range(5):
            train(i)
    print("error %.2f" % test(), W.get_value().dtype)
    if "--fail" in sys.argv:
        raise ValueError("failing as asked")
    if "--exit" in sys.argv:
        sys.exit(3)
    """)

HELPER = textwrap.dedent("""\
    import numpy

    def make_data(rng):
        x = rng.normal(size=(100, 2))
        y = (x[:, 0] + x[:, 1] > 0).astype('int64')
        return x + 0.5 * (2 * y[:, None] - 1), y
    """)


@pytest.fixture
def program(tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    path = tmp_path / "classic.py"
    path.write_text(CLASSIC)
    return path


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_runs_a_classic_program_with_theano_flags(program, tmp_path, floatx):
    flags = {"THEANO_FLAGS": f"floatX={floatx}"} if floatx == "float32" else {}
    out = run_python(["-m", "theanine.compat", str(program), "a", "b"], cwd=str(tmp_path.parent),
                     **flags)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{floatx} ['a', 'b'] __main__ True"
    assert lines[1] == f"error 0.00 {floatx}"


def test_exit_status_and_traceback_as_python(program, tmp_path):
    out = run_python(["-m", "theanine.compat", str(program), "--exit"])
    assert out.returncode == 3, out.stderr
    out = run_python(["-m", "theanine.compat", str(program), "--fail"])
    assert out.returncode == 1
    assert out.stderr.startswith("Traceback (most recent call last):\n"
                                 f'  File "{program}", line'), out.stderr
    assert out.stderr.rstrip().endswith("ValueError: failing as asked")
    assert "runpy" not in out.stderr and "compat" not in out.stderr
    out = run_python(["-m", "theanine.compat", str(tmp_path / "missing.py")])
    assert out.returncode == 2 and "can't open file" in out.stderr
    out = run_python(["-m", "theanine.compat"])
    assert out.returncode == 2 and "usage" in out.stderr


def test_dash_c_and_dash_m(tmp_path):
    code = ("import sys, theano, theano.tensor as T; x = T.dscalar('x'); "
            "print(theano.function([x], x * 2)(4.0), sys.argv)")
    out = run_python(["-m", "theanine.compat", "-c", code, "z"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "8.0 ['-c', 'z']"
    (tmp_path / "mymod.py").write_text(
        "import sys, theano\nprint(__name__, theano.__name__, sys.argv[1:])\n")
    out = run_python(["-m", "theanine.compat", "-m", "mymod", "q"], cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "__main__ theanine ['q']"


def test_without_the_alias_theano_is_not_theanine():
    out = run_python(["-c", "import theanine, theanine.compat\n"
                            "try:\n    import theano\nexcept ImportError:\n    print('none')\n"
                            "else:\n    print(theano is theanine)"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("none", "False")


def test_theano_only_flags_are_ignored_with_a_warning():
    out = run_python(["-c", "import theanine; print(theanine.config.floatX)"],
                     THEANO_FLAGS="floatX=float32,nvcc.fastmath=True,allow_gc=False")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "float32"
    assert "ignores the flag 'nvcc.fastmath'" in out.stderr
    out = run_python(["-c", "import theanine"], THEANINE_FLAGS="allow_gc=False")
    assert out.returncode != 0 and "unknown config flag 'allow_gc'" in out.stderr
