"""The vectorisable math of native loops (``backend/numba/vmath.py``): its error in ulp
(float32: against float64 NumPy; float64: against NumPy's float64 functions) over the
whole range, its special values, and the native programs that use it."""

import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="numba is not installed (native back end)")

from theanine.backend.numba import vmath  # noqa: E402

F32 = np.finfo(np.float32)


def _grid(lo: float, hi: float, dtype, n: int = 400_001) -> np.ndarray:
    """Dense points of ``[lo, hi]``, and the same number spread by magnitude (both signs
    where the range has them, down to subnormals)."""
    pts = [np.linspace(lo, hi, n)]
    for sign in (1.0, -1.0):
        a, b = (lo, hi) if sign > 0 else (-hi, -lo)
        a = max(a, 1e-44 if dtype == np.float32 else 1e-320)
        if b > a:
            pts.append(sign * np.geomspace(a, b, n))
    x = np.concatenate(pts).astype(dtype)
    return x[(x >= lo) & (x <= hi)]


def _apply(name: str, x: np.ndarray, dtype=None) -> np.ndarray:
    """vmath's ``name`` for ``dtype`` (default: ``x``'s) applied to each element of ``x``."""
    dtype = np.dtype(dtype or x.dtype)
    if dtype == np.float64:
        name += "_64" if name == "expm1" else "64"
    fn = getattr(vmath, name)

    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    out = np.empty(x.shape, dtype)
    run(x, out)
    return out


def _ulps(got: np.ndarray, ref: np.ndarray, dtype) -> float:
    """The largest error in units of the last place of the reference rounded to dtype."""
    fi = np.finfo(dtype)
    ok = np.isfinite(ref) & (np.abs(ref) <= fi.max)
    spacing = np.spacing(np.abs(ref[ok]).astype(dtype)).astype(np.float64)
    spacing = np.maximum(spacing, fi.smallest_subnormal)
    return float(np.max(np.abs(got[ok].astype(np.float64) - ref[ok]) / spacing))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    return np.logaddexp(0.0, x)


REFERENCE = {"sigmoid": _sigmoid, "softplus": _softplus}
DOMAINS = {
    # name: {dtype: domain}
    "exp": {np.float32: (-110.0, 90.0), np.float64: (-760.0, 720.0)},
    "expm1": {np.float32: (-110.0, 90.0), np.float64: (-760.0, 720.0)},
    "log": {np.float32: (0.0, float(F32.max)), np.float64: (0.0, 1e308)},
    "log1p": {np.float32: (-1.0, float(F32.max)), np.float64: (-1.0, 1e308)},
    "tanh": {np.float32: (-20.0, 20.0), np.float64: (-40.0, 40.0)},
    "sigmoid": {np.float32: (-110.0, 110.0), np.float64: (-760.0, 760.0)},
    "softplus": {np.float32: (-110.0, 110.0), np.float64: (-760.0, 760.0)},
}


def test_every_function_the_code_generator_uses_is_tested():
    from theanine.backend.numba.scalar import VECTOR_MATH

    assert set(DOMAINS) == VECTOR_MATH


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_error_is_below_two_ulp_on_the_whole_range(name, dtype):
    """Two ulp for the functions (NumPy's float32 ``exp`` has 2.4), three for ``sigmoid``
    and ``softplus``, which compose two of them, and for float64 ``expm1`` and ``tanh``
    (``2**n (e**r - 1) + (2**n - 1)`` cancels for ``n = 1``)."""
    lo, hi = DOMAINS[name][dtype]
    x = _grid(lo, hi, dtype)
    ref_fn = REFERENCE.get(name) or getattr(np, name)
    with np.errstate(all="ignore"):
        err = _ulps(_apply(name, x), ref_fn(x.astype(np.float64)), dtype)
    loose = name in ("sigmoid", "softplus") or (dtype == np.float64 and name in ("expm1", "tanh"))
    assert err <= (3.0 if loose else 2.0), f"{name}: {err:.2f} ulp"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_special_values_are_numpys(name, dtype):
    fi = np.finfo(dtype)
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, -2.0, fi.smallest_subnormal,
                  -fi.smallest_subnormal, 89.0, -89.0, -104.0, -200.0, 200.0, 710.0, -750.0,
                  fi.max, -fi.max, fi.tiny], dtype)
    ref = REFERENCE.get(name) or getattr(np, name)
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64)).astype(dtype)
        got = _apply(name, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=4 * fi.eps, atol=0)
    zero = finite & (expected == 0)
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(expected[zero]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_an_argument_of_another_type_is_converted_first(name, dtype):
    """A float32 function given a float64 (the difference of a float32 row and a float64
    maximum, in the softmax kernel) or an integer computes in its own type."""
    x = np.linspace(-3.0, 3.0, 61)
    if name in ("log",):
        x = np.abs(x) + 0.5
    other = np.float64 if dtype == np.float32 else np.float32
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(_apply(name, x.astype(other), dtype),
                               _apply(name, x.astype(dtype).astype(other).astype(dtype)),
                               rtol=rtol)
    ints = np.round(x)
    np.testing.assert_allclose(_apply(name, ints.astype(np.int64), dtype),
                               _apply(name, ints.astype(dtype)), rtol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_sums_split_across_cores_and_blocked_rows_match_the_vm(dtype):
    """A sum of vectorised math is computed in blocks, split across the cores in
    threads from ``openmp_elemwise_minsize`` elements; 1-d and 2-d (with broadcasting)
    sums on either side of the threshold give the VM's values."""
    import theanine
    import theanine.tensor as T
    from theanine import config, function

    rng = np.random.default_rng(1)
    x = T.tensor(dtype, shape=(None, None), name="x")
    r = T.tensor(dtype, shape=(1, None), name="r")
    v = T.tensor(dtype, shape=(None,), name="v")
    outs = [T.sum(T.tanh(x) * T.exp(-r * r) + T.log1p(abs(x))),
            T.sum(T.nnet.sigmoid(v) - T.log(1.0 + v * v))]
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1,
                             openmp_elemwise_minsize=5_000):
        f = function([x, r, v], outs)
    ref = function([x, r, v], outs, mode=theanine.Mode(linker="vm"))
    for rows, n in ((3, 100), (700, 9), (2, 4096 * 3 + 5)):
        args = [rng.normal(size=(rows, n)).astype(dtype),
                rng.normal(size=(1, n)).astype(dtype),
                rng.normal(size=rows * n).astype(dtype)]
        for got, want in zip(f(*args), ref(*args)):
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=2e-5 if dtype == "float32" else 1e-12)
    assert f._run.state == "ready" and f._run.fallbacks == 0
    assert "_py_parallel_sum" in f._run.source and "_vm.tanh" in f._run.source


def test_the_shares_of_a_split_sum_are_added_in_order_whichever_finishes_first(monkeypatch):
    """(1 + 1e16) - 1e16 is 0 in float64, (1e16 - 1e16) + 1 is 1: the total must not
    depend on the order the threads end in"""
    import time

    from theanine import config
    from theanine.backend.numba.callbacks import parallel_sum
    from theanine.rewrite.rules import fusion

    monkeypatch.setattr(fusion, "_cores", lambda: 3)
    values = {0: 1.0, 1: 1e16, 2: -1e16}

    def kernel(lo, hi):  # the first share ends last
        time.sleep(0.05 if lo == 0 else 0.0)
        return values[lo]
    with config.change_flags(openmp=True, openmp_elemwise_minsize=1):
        assert parallel_sum(kernel, 3, 1, 3) == 0.0


def test_a_first_call_on_the_vm_does_not_import_numba():
    """Generating native code reads ``scalar.VECTOR_MATH``, not ``vmath`` (importing
    Numba costs about 0.3 s of the time to a first result)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, theanine, theanine.tensor as T\n"
            "x = T.fvector('x')\n"
            "f = theanine.function([x], T.tanh(x).sum())\n"
            "f(np.ones(3, 'float32'))\n"
            "print('numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False"]
