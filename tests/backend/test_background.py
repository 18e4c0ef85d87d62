"""The background compile queue and its child processes (``backend/numba/background.py``)."""

import time

import numpy as np
import pytest

pytest.importorskip("numba")

import theanine.tensor as T  # noqa: E402
from theanine import config, function  # noqa: E402
from theanine.backend.numba.background import QUEUE, Compiler, CompileQueue  # noqa: E402

rng = np.random.default_rng(7)


class FakeRunner:
    def __init__(self, name, enclosing=(), state="compiling", calls=1, useless=False):
        self.name, self.enclosing, self.state, self.calls = name, list(enclosing), state, calls
        self._useless, self.deferred = useless, False
        self.source = name  # (inner ones are served the shortest source first)

    def useless(self):
        return self._useless


def test_the_queue_serves_hot_inner_functions_then_hot_ones_then_those_not_called_yet():
    q = CompileQueue(workers=0)  # no threads: this test takes the requests itself
    program, step, gone_step = FakeRunner("program"), FakeRunner("step", ["p"]), \
        FakeRunner("covered step", ["p"], useless=True)
    uncalled, called = FakeRunner("uncalled", state="pending", calls=0), \
        FakeRunner("called meanwhile", state="pending", calls=2)
    inner = FakeRunner("inner, not called", ["p"], state="pending", calls=0)
    for r in (called, inner, uncalled):
        q.add_uncalled(r)
    q._threads = 1  # (as if serving)
    assert not q.busy()  # those not called yet wait for a hot one (none if all were cached)
    q.submit(program, "module", ("types",), 1)
    q.submit(gone_step, "module", ("types",), 0)
    q.submit(step, "module", ("types",), 0)
    assert q._next() == (step, "module", ("types",))
    # a step whose programs are all ready is dropped (and checks no more at each step)
    assert q._next() == (program, "module", ("types",))
    assert gone_step.state == "pending" and gone_step.deferred
    # then the functions not called yet, but not those called meanwhile, nor inner ones
    assert q._next() == (uncalled, None, None)
    assert uncalled.state == "compiling" and q.busy()
    assert not q._waiting and not q._uncalled


def test_one_child_compiles_the_programs_and_a_new_one_replaces_it_when_it_dies(tmp_path):
    numba = pytest.importorskip("numba")
    for name, body in [("good", "return x + 1.0"), ("bad", "return undefined_name(x)")]:
        (tmp_path / f"{name}.py").write_text(
            f"import numba\n\n@numba.njit(cache=True)\ndef program(x):\n    {body}\n")
    c = Compiler()
    sig = (numba.types.float64,)
    assert c.compile(str(tmp_path / "good.py"), "theanine_test_good", sig) is None
    first = c.proc
    error = c.compile(str(tmp_path / "bad.py"), "theanine_test_bad", sig)
    assert "undefined_name" in error and c.proc is first  # it goes on after an error
    first.kill()
    first.wait()
    assert c.compile(str(tmp_path / "good.py"), "theanine_test_good", sig) is None
    assert c.proc is not first and c.proc.poll() is None
    c.proc.stdin.close()  # its end of requests: it exits
    assert c.proc.wait(60) == 0
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*"))


# a program returning the Numba optimisation level it was compiled at (read at lowering)
LEVEL_PROGRAM = """import numba
from numba.core import config, types
from numba.extending import intrinsic


@intrinsic
def _compiled_at(typingctx):
    def codegen(context, builder, sig, args):
        return context.get_constant(types.int64, int(config.OPT))
    return types.int64(), codegen


@numba.njit(cache=True)
def program():
    return _compiled_at()
"""


def _import(path, name, monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # (the cached code refers to it)
    spec.loader.exec_module(module)
    return module


def test_programs_compile_at_the_optimisation_level_asked_in_the_child_and_here(
        tmp_path, monkeypatch):
    from numba.core import config as numba_config

    from theanine.backend.numba.optlevel import opt_level

    before = numba_config.OPT
    c = Compiler()
    try:
        for level in (1, 2):
            path = tmp_path / f"level{level}.py"
            path.write_text(LEVEL_PROGRAM)
            assert c.compile(str(path), f"theanine_test_level{level}", (), level) is None
            # loaded here from the cache the child filled
            name = f"theanine_test_level{level}"
            assert _import(path, name, monkeypatch).program() == level
    finally:
        c.proc.stdin.close()
        c.proc.wait(60)
    path = tmp_path / "here.py"
    path.write_text(LEVEL_PROGRAM.replace("cache=True", "cache=False"))
    module = _import(path, "theanine_test_level_here", monkeypatch)
    with pytest.raises(ZeroDivisionError), opt_level(0):
        module.program.compile(())
        assert numba_config.OPT == 0
        1 / 0  # the level comes back even when the block raises
    assert numba_config.OPT == before
    assert module.program() == 0
    with pytest.raises(ValueError, match="numba_opt"):
        config.numba_opt = 5
    # programs compiled at another level live in a folder of their own
    from theanine.backend.numba.linker import cache_dir

    with config.change_flags(numba_opt=3):
        at_3 = cache_dir()
    assert at_3 != cache_dir() and at_3.endswith("-O3")


def test_a_function_not_called_yet_is_compiled_ahead_once_nothing_hot_waits(tmp_path):
    x = T.dvector("x")
    v = rng.normal(size=6)
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=1,
                             compiledir=str(tmp_path)):
        f = function([x], T.arcsinh(x) * 3 - x)
        g = function([x], T.arccosh(x * x + 2) + 1)
    np.testing.assert_allclose(f(v), np.arcsinh(v) * 3 - v)  # hot: f compiles, then g
    deadline = time.time() + 180
    while g._run.state != "ready" and time.time() < deadline:
        assert g._run.state in ("pending", "compiling"), g._run.error
        time.sleep(0.05)
    assert f._run.state == "ready" and g._run.state == "ready"
    assert g._run.child is f._run.child  # the same child compiled both
    np.testing.assert_allclose(g(v), np.arccosh(v * v + 2) + 1)
    assert g._run.calls == 0  # its first call already ran natively
    while QUEUE.busy() and time.time() < deadline:  # (functions of other tests, if any)
        time.sleep(0.05)
    assert not QUEUE.busy()


def test_a_large_element_wise_node_over_a_shared_value_runs_natively_on_the_vm(
        monkeypatch, tmp_path):
    """Before the function's program is ready, its VM runs such a node (W4's embedding
    update) with the node's own small native program, compiled first."""
    import theanine
    from theanine.backend.numba import linker

    monkeypatch.setattr(linker, "NATIVE_NODE_MIN", 50)
    w0 = rng.normal(size=(10, 8))
    W = theanine.shared(w0.copy(), "W")
    x = T.dvector("x")
    cost = T.dot(W, x).sum() + 1e-2 * T.sqr(W).sum()
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=1,
                             compiledir=str(tmp_path)):
        f = function([x], cost, updates=[(W, W - 0.1 * theanine.grad(cost, W))])
    (node,) = f._run.enclosed
    assert set(node.enclosing) == {f._run} and len(node.vm.nodes) == 1
    f._run.state = "failed"  # as if the program could not compile: the VM runs on
    want = w0.copy()
    v = rng.normal(size=8)
    deadline = time.time() + 180
    calls = None
    while True:
        native = node.state == "ready"
        if native:
            calls = node.calls
        got = f(v)
        np.testing.assert_allclose(got, (want @ v).sum() + 1e-2 * (want ** 2).sum())
        want -= 0.1 * (np.outer(np.ones(10), v) + 2e-2 * want)
        np.testing.assert_allclose(W.get_value(), want)
        if native:
            break
        assert node.state in ("pending", "compiling") and time.time() < deadline, node.error
        time.sleep(0.02)
    assert node.calls == calls  # the last call ran the node natively


def _loops(build):
    """Kinds of scan loop: ``build(x, W)`` -> the function's output."""
    import theanine
    from theanine.scan import until

    def plain(x, W):
        hs, _ = theanine.scan(lambda a, h: T.tanh(h * 0.5 + a), sequences=x,
                              outputs_info=T.zeros((), "float64"))
        return hs[-1] * 2 + 1

    def taps_and_two_outputs(x, W):
        (fib, twice), _ = theanine.scan(
            lambda a, h2, h1: (h1 + 0.5 * h2 + a, 2 * h1),
            sequences=x, outputs_info=[dict(initial=T.ones(2, "float64"), taps=[-2, -1]),
                                       None])
        return fib.sum() + twice[-1]

    def until_and_a_shared_matrix(x, W):
        hs, _ = theanine.scan(lambda a, h, W: (T.tanh(T.dot(W, h) + a),
                                               until(T.sum(h) > 1e9)),
                              sequences=T.outer(x, T.ones(3)),
                              outputs_info=T.zeros(3, "float64"), non_sequences=W)
        return hs.sum()

    def its_gradient(x, W):
        hs, _ = theanine.scan(lambda a, h, W: T.tanh(T.dot(W, h) + a),
                              sequences=T.outer(x, T.ones(3)),
                              outputs_info=T.zeros(3, "float64"), non_sequences=W)
        return theanine.grad(hs[-1].sum(), W).sum()

    return {f.__name__: f for f in (plain, taps_and_two_outputs, until_and_a_shared_matrix,
                                    its_gradient)}[build]


@pytest.mark.parametrize("build", ["plain", "taps_and_two_outputs",
                                   "until_and_a_shared_matrix", "its_gradient"])
def test_a_scan_loop_runs_natively_on_the_vm_with_a_program_of_its_own(build, tmp_path):
    """Before the function's program is ready, its VM runs each scan loop (all its steps)
    with the loop's own native program, compiled first, and gets the VM's results; the
    step's program alone is not compiled."""
    import theanine
    from theanine.scan.op import Scan

    x = T.dvector("x")
    W = theanine.shared(rng.normal(size=(3, 3)) * 0.5, "W")
    out = _loops(build)(x, W)
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=2,
                             compiledir=str(tmp_path)):
        f = function([x], out)
    ref = function([x], out, mode=theanine.Mode(linker="vm"))
    loops = [r for r in f._run.enclosed if any(isinstance(n.op, Scan) for n in r.vm.nodes)]
    steps = [n.op._fn._run for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    assert loops and all(set(r.enclosing) == {f._run} and r.hot_calls == 1 for r in loops)
    assert all(any(s in r.enclosed for r in loops) for s in steps)
    f._run.state = "failed"  # as if the program could not compile: the VM runs on
    v = rng.normal(size=7)
    deadline = time.time() + 180
    while True:
        native = all(r.state == "ready" for r in loops)
        calls = [r.calls for r in loops]
        np.testing.assert_allclose(f(v), ref(v), rtol=1e-12)
        if native:
            break
        for r in loops:
            assert r.state in ("pending", "compiling", "ready") and time.time() < deadline, \
                r.error
        time.sleep(0.02)
    assert [r.calls for r in loops] == calls  # the last call ran the loops natively
    assert all(s.deferred and s.state == "pending" and s.native is None for s in steps)


def test_an_error_in_a_native_node_names_the_node_once(monkeypatch, tmp_path):
    """(and changes no shared variable)"""
    import theanine
    from theanine.backend.numba import linker

    monkeypatch.setattr(linker, "NATIVE_NODE_MIN", 4)
    W = theanine.shared(np.ones((2, 3)), "W")
    x = T.dmatrix("x")
    with config.change_flags(linker="numba", numba_compile="background", numba_hot_calls=50,
                             compiledir=str(tmp_path)):
        f = function([x], T.exp(x).sum(), updates=[(W, W * 0.5 + x)])
    assert len(f._run.enclosed) == 1
    with pytest.raises(ValueError) as err:
        f(np.ones((4, 5)))
    assert str(err.value).count("while computing") == 1, err.value
    np.testing.assert_allclose(W.get_value(), np.ones((2, 3)))


def test_in_thread_mode_a_hot_scan_step_starts_its_program_in_its_place(tmp_path):
    import theanine
    from theanine.scan.op import Scan

    x = T.dvector("x")
    hs, _ = theanine.scan(lambda a, h: T.tanh(h * 0.5 + a), sequences=x,
                          outputs_info=T.zeros((), "float64"))
    with config.change_flags(linker="numba", numba_compile="thread", numba_hot_calls=2,
                             compiledir=str(tmp_path)):
        f = function([x], hs[-1])
    (step,) = [n.op._fn._run for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
    v = rng.normal(size=7)
    want = 0.0
    for a in v:
        want = np.tanh(want * 0.5 + a)
    np.testing.assert_allclose(f(v), want)  # f's first call: its steps get hot
    deadline = time.time() + 180
    while f._run.state == "compiling" and time.time() < deadline:
        time.sleep(0.05)
    assert f._run.state == "ready", f._run.error
    assert step.deferred and step.state == "pending"
    np.testing.assert_allclose(f(v), want)
