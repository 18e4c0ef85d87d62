"""Products for native programs through NumPy's CBLAS (see ``cblas.py``).

Imported by generated programs only (it imports Numba and registers the routines with
LLVM, so cached programs link them by name). Unlike Numba's ``np.dot`` these read
transposed and strided operands in place (a transposed matrix is passed with BLAS's
transpose flag, not copied), write into an existing output with ``beta``
(``c = alpha * a @ b + beta * c``), and check shapes before BLAS sees the pointers.

They also choose OpenBLAS's thread count per call. OpenBLAS threads a 200 x 200 ``gemv``
or a long ``dot``, and its idle workers then spin for about 0.1 s: on this project's
2-core machine the element-wise loops that followed ran 2-7x slower (W4's step took 2.4-3.8
ms against 1.3-1.4 ms with one BLAS thread). Matrix-vector and vector products, and
products of fewer than ``THREADED_GEMM`` multiply-adds or with a short inner dimension (a
500 x 10 by 10 x 500 product took 108 us on 2 threads, 69 us on one), run on one thread;
larger products on the count in force when the program was called; products small enough
for OpenBLAS to run on one thread anyway leave the count as it is. ``bt`` (int64[2]: that
count, the count now) is the program's record of it, restored when the program returns
(and by the runner when it raises).
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding as _llvm
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload

from theanine.backend.numba.layout import any_layout as _any
from theanine.backend.numba.cblas import (
    OPENBLAS_SERIAL_DOT as _OPENBLAS_SERIAL_DOT, OPENBLAS_SERIAL_GEMM as _OPENBLAS_SERIAL_GEMM,
    OPENBLAS_SERIAL_GEMV as _OPENBLAS_SERIAL_GEMV, SYMBOL_PREFIX, THREADED_GEMM, numpy_cblas,
)

_ADDRESSES = numpy_cblas()
if _ADDRESSES is None:  # pragma: no cover - programs only import this where it is found
    raise ImportError("NumPy's CBLAS routines were not found")
for _name, _address in _ADDRESSES.items():
    _llvm.add_symbol(SYMBOL_PREFIX + _name, _address)

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_i32, _i64 = types.int32, types.int64
_set_threads = types.ExternalFunction(SYMBOL_PREFIX + "set_num_threads", types.void(_i32))
_get_threads = types.ExternalFunction(SYMBOL_PREFIX + "get_num_threads", _i32())


def _externals(dt: types.Type) -> tuple:
    p = types.CPointer(dt)
    c = "s" if dt == types.float32 else "d"
    gemm = types.ExternalFunction(SYMBOL_PREFIX + c + "gemm", types.void(
        _i32, _i32, _i32, _i64, _i64, _i64, dt, p, _i64, p, _i64, dt, p, _i64))
    gemv = types.ExternalFunction(SYMBOL_PREFIX + c + "gemv", types.void(
        _i32, _i32, _i64, _i64, dt, p, _i64, p, _i64, dt, p, _i64))
    dot = types.ExternalFunction(SYMBOL_PREFIX + c + "dot", dt(_i64, p, _i64, p, _i64))
    return gemm, gemv, dot


_EXTERNALS = {types.float32: _externals(types.float32), types.float64: _externals(types.float64)}


def _routines(dtype: types.Type) -> tuple:
    if dtype not in _EXTERNALS:
        raise TypingError(f"BLAS products need float32 or float64 arrays, not {dtype}")
    return _EXTERNALS[dtype]


def _xgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):  # pragma: no cover
    raise NotImplementedError("only callable from native code")


def _xgemv(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy):  # pragma: no cover
    raise NotImplementedError("only callable from native code")


def _xdot(n, x, incx, y, incy):  # pragma: no cover
    raise NotImplementedError("only callable from native code")


@overload(_xgemm)
def _ov_xgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    fn = _routines(c.dtype)[0]
    dt = c.dtype

    def impl(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        fn(order, ta, tb, m, n, k, dt(alpha), a.ctypes, lda, b.ctypes, ldb, dt(beta),
           c.ctypes, ldc)
    return impl


@overload(_xgemv)
def _ov_xgemv(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy):
    fn = _routines(y.dtype)[1]
    dt = y.dtype

    def impl(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy):
        fn(order, ta, m, n, dt(alpha), a.ctypes, lda, x.ctypes, incx, dt(beta), y.ctypes, incy)
    return impl


@overload(_xdot)
def _ov_xdot(n, x, incx, y, incy):
    fn = _routines(x.dtype)[2]

    def impl(n, x, incx, y, incy):
        return fn(n, x.ctypes, incx, y.ctypes, incy)
    return impl


@njit(cache=True)
def blas_threads_enter(bt):
    """Record OpenBLAS's thread count at the program's start."""
    bt[0] = _get_threads()
    bt[1] = bt[0]


@njit(cache=True)
def _use_threads(bt, n):
    if bt[1] != n:
        _set_threads(np.int32(n))
        bt[1] = n


@njit(cache=True)
def blas_threads_exit(bt):
    """Give OpenBLAS back the thread count recorded at the program's start."""
    _use_threads(bt, bt[0])


@njit(cache=True)
def _matrix_layout(a):
    """``(transposed, leading dimension)`` of a 2-D array BLAS can read where it lies
    (row-major: 0, column-major: 1), or ``(-1, 0)`` when it must be copied first."""
    m, n = a.shape
    size = a.itemsize
    s0, s1 = a.strides
    if (n <= 1 or s1 == size) and (m <= 1 or (s0 > 0 and s0 % size == 0 and s0 // size >= n)):
        return 0, max(n, 1) if m <= 1 else s0 // size
    if (m <= 1 or s0 == size) and (n <= 1 or (s1 > 0 and s1 % size == 0 and s1 // size >= m)):
        return 1, max(m, 1) if n <= 1 else s1 // size
    return -1, 0


@njit(cache=True)
def _readable(a):
    """``a`` itself when BLAS can read it in place, else a C-contiguous copy; with its
    transpose flag and leading dimension."""
    t, ld = _matrix_layout(a)
    b = a if t >= 0 else np.ascontiguousarray(a)
    if t < 0:
        t, ld = 0, max(a.shape[1], 1)
    return b, (_TRANS if t == 1 else _NO_TRANS), ld


@njit(cache=True)
def _increment(x):
    """The BLAS increment of a 1-D array, or 0 when it must be copied first."""
    s = x.strides[0]
    if x.shape[0] <= 1:
        return 1
    if s > 0 and s % x.itemsize == 0:
        return s // x.itemsize
    return 0


@njit(cache=True)
def _scale(c, beta):
    if beta == 0:
        c[...] = 0
    elif beta != 1:
        c *= beta


@njit(cache=True)
def _gemm_rows(c, ldc, alpha, a, b, beta):
    m, k = a.shape
    aa, ta, lda = _readable(a)
    bb, tb, ldb = _readable(b)
    _xgemm(_ROW_MAJOR, ta, tb, m, c.shape[1], k, alpha, aa, lda, bb, ldb, beta, c, ldc)


@njit(cache=True)
def _copy_rows(dst, src):
    """``dst[...] = src`` for matrices of one shape (Numba's own assignment compiles a
    formatted error message)."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]


@njit(cache=True)
def _gemm_into(c, alpha, a, b, beta, bt):
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm: the shapes of the output and the two matrices do not match")
    if m == 0 or n == 0:
        return
    if k == 0:
        _scale(c, beta)
        return
    if m * n * k > _OPENBLAS_SERIAL_GEMM:  # (below, OpenBLAS uses one thread anyway)
        _use_threads(bt, 1 if m * n * k < THREADED_GEMM or k < 32 else bt[0])
    tc, ldc = _matrix_layout(c)
    if tc == 0:
        _gemm_rows(c, ldc, alpha, a, b, beta)
    else:  # the output must be row-major: compute into a copy (no recursion: Numba's
        # cache cannot load recursive functions)
        tmp = np.ascontiguousarray(c)
        _gemm_rows(_any(tmp), max(n, 1), alpha, a, b, beta)
        _copy_rows(c, tmp)


@njit(cache=True, inline="always")
def gemm_into(c, alpha, a, b, beta, bt):
    """``c[...] = alpha * (a @ b) + beta * c`` for matrices; returns ``c``. With ``beta``
    0, ``c`` is only written. (The work is done by one function for arrays of any layout
    and float64 scalars: compiled once per dtype, not per combination of layouts.)"""
    _gemm_into(_any(c), np.float64(alpha), _any(a), _any(b), np.float64(beta), bt)
    return c


@njit(cache=True)
def _gemv_rows(y, incy, alpha, a, x, beta):
    m, n = a.shape
    incx = _increment(x)
    xx = x if incx > 0 else np.ascontiguousarray(x)
    aa, ta, lda = _readable(a)
    # a column-major matrix is the row-major transpose: swap the roles of m and n
    rows, cols = (m, n) if ta == _NO_TRANS else (n, m)
    _xgemv(_ROW_MAJOR, ta, rows, cols, alpha, aa, lda, xx, max(incx, 1), beta, y, incy)


@njit(cache=True)
def _gemv_into(y, alpha, a, x, beta, bt):
    m, n = a.shape
    if x.shape[0] != n or y.shape[0] != m:
        raise ValueError("gemv: the shapes of the output, the matrix and the vector do not match")
    if m == 0:
        return
    if n == 0:
        _scale(y, beta)
        return
    if m * n >= _OPENBLAS_SERIAL_GEMV:
        _use_threads(bt, 1)
    incy = _increment(y)
    if incy > 0:
        _gemv_rows(y, incy, alpha, a, x, beta)
    else:
        tmp = np.ascontiguousarray(y)
        _gemv_rows(_any(tmp), 1, alpha, a, x, beta)
        for i in range(m):
            y[i] = tmp[i]


@njit(cache=True, inline="always")
def gemv_into(y, alpha, a, x, beta, bt):
    """``y[...] = alpha * (a @ x) + beta * y`` for a matrix and vectors; returns ``y``
    (one compiled function for any layouts, as :func:`gemm_into`)."""
    _gemv_into(_any(y), np.float64(alpha), _any(a), _any(x), np.float64(beta), bt)
    return y


@njit(cache=True)
def _dot_vv(x, y, bt):
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError("dot: the two vectors have different lengths")
    if n == 0:
        return np.zeros(1, dtype=x.dtype)[0]
    if n > _OPENBLAS_SERIAL_DOT:
        _use_threads(bt, 1)
    incx, incy = _increment(x), _increment(y)
    xx = x if incx > 0 else np.ascontiguousarray(x)
    yy = y if incy > 0 else np.ascontiguousarray(y)
    return _xdot(n, xx, max(incx, 1), yy, max(incy, 1))


@njit(cache=True, inline="always")
def dot_vv(x, y, bt):
    """The inner product of two vectors of equal length, as a scalar (one compiled
    function for any layouts, as :func:`gemm_into`)."""
    return _dot_vv(_any(x), _any(y), bt)
