"""The vectorisable float32 math of native loops (``backend/numba/vmath.py``): its error
in ulp against float64 NumPy over the whole float32 range, its special values, and the
native programs that use it."""

import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="numba is not installed (native back end)")

from theanine.backend.numba import vmath  # noqa: E402

F32 = np.finfo(np.float32)


def _grid(lo: float, hi: float, n: int = 400_001) -> np.ndarray:
    """Dense points of ``[lo, hi]``, and the same number spread by magnitude (both signs
    where the range has them, down to subnormals)."""
    pts = [np.linspace(lo, hi, n)]
    for sign in (1.0, -1.0):
        a, b = (lo, hi) if sign > 0 else (-hi, -lo)
        a = max(a, 1e-44)
        if b > a:
            pts.append(sign * np.geomspace(a, b, n))
    return np.concatenate(pts).astype(np.float32)


def _apply(name: str, x: np.ndarray) -> np.ndarray:
    fn = getattr(vmath, name)

    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    out = np.empty_like(x)
    run(x, out)
    return out


def _ulps(got: np.ndarray, ref: np.ndarray) -> float:
    """The largest error in units of the last place of the float32 reference."""
    ok = np.isfinite(ref) & (np.abs(ref) <= F32.max)
    spacing = np.spacing(np.abs(ref[ok]).astype(np.float32)).astype(np.float64)
    spacing = np.maximum(spacing, F32.smallest_subnormal)
    return float(np.max(np.abs(got[ok].astype(np.float64) - ref[ok]) / spacing))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


CASES = {
    # name: (float64 reference, domain)
    "exp": (np.exp, (-110.0, 90.0)),
    "log": (np.log, (0.0, float(F32.max))),
    "log1p": (np.log1p, (-1.0, float(F32.max))),
    "tanh": (np.tanh, (-20.0, 20.0)),
    "sigmoid": (_sigmoid, (-110.0, 110.0)),
    "softplus": (_softplus, (-110.0, 110.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_is_below_two_ulp_on_the_float32_range(name):
    """Two ulp for the functions (NumPy's float32 ``exp`` has 2.4), three for ``sigmoid``
    and ``softplus``, which compose ``exp`` with a division or ``log1p``."""
    ref_fn, (lo, hi) = CASES[name]
    x = _grid(lo, hi)
    x = x[(x >= lo) & (x <= hi)]
    with np.errstate(all="ignore"):
        err = _ulps(_apply(name, x), ref_fn(x.astype(np.float64)))
    assert err < (3.0 if name in ("sigmoid", "softplus") else 2.0), f"{name}: {err:.2f} ulp"


@pytest.mark.parametrize("name", sorted(CASES))
def test_special_values_are_numpys(name):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, -2.0, 1e-45, -1e-45, 89.0, -89.0,
                  -104.0, -200.0, 200.0, F32.max, -F32.max, F32.tiny], np.float32)
    ref = {"sigmoid": lambda v: _sigmoid(v.astype(np.float64)),
           "softplus": lambda v: _softplus(v.astype(np.float64))}.get(
        name, lambda v: getattr(np, name)(v.astype(np.float64)))
    with np.errstate(all="ignore"):
        expected = ref(x).astype(np.float32)
        got = _apply(name, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=3e-7, atol=0)
    np.testing.assert_array_equal(np.signbit(got[finite & (expected == 0)]),
                                  np.signbit(expected[finite & (expected == 0)]))


def test_native_sums_split_across_cores_and_blocked_rows_match_the_vm():
    """A float32 sum of vectorised math is computed in blocks, split across the cores in
    threads from ``openmp_elemwise_minsize`` elements; 1-d and 2-d (with broadcasting)
    sums on either side of the threshold give the VM's values."""
    import theanine
    import theanine.tensor as T
    from theanine import config, function

    rng = np.random.default_rng(1)
    x, r = T.fmatrix("x"), T.frow("r")
    v = T.fvector("v")
    outs = [T.sum(T.tanh(x) * T.exp(-r * r) + T.log1p(abs(x))),
            T.sum(T.nnet.sigmoid(v) - T.log(1.0 + v * v))]
    with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1,
                             openmp_elemwise_minsize=5_000):
        f = function([x, r, v], outs)
    ref = function([x, r, v], outs, mode=theanine.Mode(linker="vm"))
    for rows, n in ((3, 100), (700, 9), (2, 4096 * 3 + 5)):
        args = [rng.normal(size=(rows, n)).astype("float32"),
                rng.normal(size=(1, n)).astype("float32"),
                rng.normal(size=rows * n).astype("float32")]
        for got, want in zip(f(*args), ref(*args)):
            np.testing.assert_allclose(got, want, rtol=2e-5)
    assert f._run.state == "ready" and f._run.fallbacks == 0
    assert "_py_parallel_sum" in f._run.source and "_vm.tanh" in f._run.source
