"""Vectorisable math for native loops: exp, expm1, log, log1p, tanh, sigmoid, softplus.

Numba lowers ``np.exp`` and friends to calls of the C library's scalar functions (the
PyPI builds of llvmlite have no SVML), so a loop using them stays scalar: W6's chain
took 350 ms per 10^7 elements. These versions are branch-free arithmetic on the float's
bits (range reduction, a polynomial, a power of two built in the exponent field) that
LLVM inlines and vectorises with the loop around them: the same chain takes about 9 ms
on one core. Special values (nan, +-inf, +-0, overflow, subnormal results) are handled
with selects. The polynomials are least-squares fits on Chebyshev nodes; their error,
measured in ``tests/backend/test_vmath.py`` against float64 NumPy (float32) and against
NumPy's float64 functions (float64), is below 2 ulp on the whole range (NumPy's own
float32 ``exp`` is 2.4 ulp there); 3 for ``sigmoid`` and ``softplus``, which compose two,
and for float64 ``expm1`` and ``tanh``. The float64 versions (suffix ``64``, ``expm1_64``)
use Taylor coefficients.

The element-wise code generator (``scalar.py``, whose ``VECTOR_MATH`` names them) calls
these for float32 and float64 operands. Each first converts its argument to its own
type: the bit manipulations read a float64 passed to a float32 function (the difference
of a float32 and a float64, say) as garbage.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

F = np.float32
I32 = np.int32
_INF = F(np.inf)
_NAN = F(np.nan)


@intrinsic
def _bits(typingctx, x):
    """The integer (int32 or int64) whose bits are those of the float ``x``."""
    if x not in (types.float32, types.float64):
        return None
    width = x.bitwidth

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(width))

    return getattr(types, f"int{width}")(x), codegen


def _from_bits(target):
    @intrinsic
    def from_bits(typingctx, n):
        if not isinstance(n, types.Integer):
            return None
        width = target.bitwidth

        def codegen(context, builder, sig, args):
            v = args[0]
            if n.bitwidth > width:
                v = builder.trunc(v, ir.IntType(width))
            elif n.bitwidth < width:
                v = builder.sext(v, ir.IntType(width))
            return builder.bitcast(v, context.get_value_type(target))

        return target(n), codegen
    return from_bits


_float = _from_bits(types.float32)
_double = _from_bits(types.float64)
"""The float32 (float64) whose bits are the low 32 (64) bits of an integer."""


_JIT = dict(cache=True, error_model="numpy", fastmath={"contract"})
_LOG2E = F(1.4426950408889634)
_LN2_HI = F(0.693359375)  # ln 2 = _LN2_HI + _LN2_LO; n * _LN2_HI is exact for |n| < 2^9
_LN2_LO = F(-2.12194440e-4)
_ROUND = F(12582912.0)  # 1.5 * 2^23: x + _ROUND - _ROUND rounds x to an integer
_E0, _E1, _E2, _E3, _E4 = (F(c) for c in (0.5, 0.16666577, 0.04166647, 0.00836318, 0.00139336))
_L = tuple(F(c) for c in (0.33333329, -0.25000297, 0.20001471, -0.16642251, 0.14202114,
                          -0.12972145, 0.12712679, -0.0810227))
_T0, _T1, _T2, _T3, _T4 = (F(c) for c in (-0.33333331, 0.13332891, -0.05386392, 0.0210457,
                                          -0.00615521))
_SQRT_HALF_BITS = I32(0x3F3504F3)
_TINY = F(1.17549435e-38)  # smallest normal float32


@njit(**_JIT)
def exp(x):
    """``e**x``: ``2**n * e**r`` with ``|r| <= ln(2)/2``; ``2**n`` as two factors, so
    that subnormal results are rounded once."""
    x = F(x)
    x = F(88.8) if x > F(88.8) else x
    x = F(-104.0) if x < F(-104.0) else x
    t = x * _LOG2E + _ROUND
    n = t - _ROUND
    r = x - n * _LN2_HI - n * _LN2_LO
    p = F(1.0) + r + r * r * (_E0 + r * (_E1 + r * (_E2 + r * (_E3 + r * _E4))))
    k = _bits(t) - I32(0x4B400000)  # the integer n, from the low bits of t
    k1 = k >> 1
    return p * _float((k1 + 127) << 23) * _float((k - k1 + 127) << 23)


@njit(**_JIT)
def _log_core(u):
    """``log(u)`` for a positive normal ``u``: ``u = m * 2**e``, ``m`` in
    ``[sqrt(1/2), sqrt(2))``, ``log(m) = f - f**2/2 + f**3 P(f)`` with ``f = m - 1``."""
    b = _bits(u)
    e = (b - _SQRT_HALF_BITS) >> 23
    f = _float(b - (e << 23)) - F(1.0)
    p = _L[0] + f * (_L[1] + f * (_L[2] + f * (_L[3] + f * (_L[4] + f * (
        _L[5] + f * (_L[6] + f * _L[7]))))))
    ef = F(e)
    return f - F(0.5) * f * f + f * f * f * p + ef * _LN2_LO + ef * _LN2_HI


@njit(**_JIT)
def log(x):
    """``log(x)``; subnormal ``x`` is scaled by ``2**23`` first."""
    x = F(x)
    sub = x < _TINY
    u = x * F(8388608.0) if sub else x
    y = _log_core(u) - (F(23.0) * _LN2_HI + F(23.0) * _LN2_LO if sub else F(0.0))
    y = x if x == _INF else y
    y = -_INF if x == F(0.0) else y
    return y if x >= F(0.0) else _NAN  # (also for a nan x)


@njit(**_JIT)
def log1p(a):
    """``log(1 + a)``: ``log(u)`` of ``u = 1 + a`` rounded, plus ``(a - (u - 1)) / u``,
    the first-order effect of the rounding."""
    a = F(a)
    u = F(1.0) + a
    y = _log_core(u) + (a - (u - F(1.0))) / u
    y = a if abs(a) < F(2.98e-8) or a == _INF else y  # below 2**-25: a itself (and -0)
    y = -_INF if u == F(0.0) else y
    return y if u >= F(0.0) else _NAN


@njit(**_JIT)
def tanh(x):
    """``x + x**3 P(x**2)`` for ``|x| < 0.625``; ``(1 - e) / (1 + e)`` with
    ``e = exp(-2|x|)`` and ``x``'s sign otherwise."""
    x = F(x)
    z = x * x
    small = x + x * z * (_T0 + z * (_T1 + z * (_T2 + z * (_T3 + z * _T4))))
    small = x if abs(x) < F(2.4e-4) else small  # x itself below 2**-12 (and -0)
    e = exp(F(-2.0) * abs(x))
    big = (F(1.0) - e) / (F(1.0) + e)
    big = -big if x < F(0.0) else big
    return small if abs(x) < F(0.625) else big


@njit(**_JIT)
def sigmoid(x):
    """``1 / (1 + exp(-x))``, as ``e / (1 + e)`` with ``e = exp(x)`` for negative ``x``
    (no overflow, and tiny results keep their precision)."""
    x = F(x)
    e = exp(-abs(x))
    s = F(1.0) / (F(1.0) + e)
    return s if x >= F(0.0) else e * s


@njit(**_JIT)
def softplus(x):
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``."""
    x = F(x)
    return (x if x > F(0.0) else F(0.0)) + log1p(exp(-abs(x)))


@njit(**_JIT)
def expm1(x):
    """``e**x - 1``: ``2**n (e**r - 1) + (2**n - 1)``, with ``e**r - 1`` from the
    polynomial, so that small ``x`` keep their relative precision."""
    x = F(x)
    x = F(88.8) if x > F(88.8) else x
    x = F(-104.0) if x < F(-104.0) else x
    t = x * _LOG2E + _ROUND
    n = t - _ROUND
    r = x - n * _LN2_HI - n * _LN2_LO
    q = r + r * r * (_E0 + r * (_E1 + r * (_E2 + r * (_E3 + r * _E4))))
    k = _bits(t) - I32(0x4B400000)
    k = k if k < 127 else I32(127)
    k = k if k > -126 else I32(-126)
    s = _float((k + 127) << 23)
    y = s * q + (s - F(1.0))
    y = y * F(2.0) if n > F(127.0) else y  # (2**128: one more doubling, to inf)
    return x if abs(x) < F(2.98e-8) else y  # x itself below 2**-25 (and -0)


# -- float64 --------------------------------------------------------------------------------

D = np.float64
I64 = np.int64
_DINF = D(np.inf)
_DNAN = D(np.nan)
_DLOG2E = D(1.4426950408889634)
_DLN2_HI = D(0.6931467056274414)  # ln 2 = _DLN2_HI + _DLN2_LO, _DLN2_HI of 20 bits
_DLN2_LO = D(4.7493250390316726e-07)
_DROUND = D(6755399441055744.0)  # 1.5 * 2^52
_DTINY = D(2.2250738585072014e-308)
_SQRT_HALF_BITS64 = I64(0x3FE6A09E667F3BCD)


_X = tuple(D(1.0 / math.factorial(k)) for k in range(2, 14))  # 1/2!, ..., 1/13!


@njit(**_JIT)
def _expm1_r64(r):
    """``e**r - 1`` for ``|r| <= ln(2)/2``: Taylor to ``r**13``."""
    p = _X[8] + r * (_X[9] + r * (_X[10] + r * _X[11]))
    p = _X[4] + r * (_X[5] + r * (_X[6] + r * (_X[7] + r * p)))
    p = _X[0] + r * (_X[1] + r * (_X[2] + r * (_X[3] + r * p)))
    return r + r * r * p


@njit(**_JIT)
def _reduce64(x):
    """``x`` clamped to where ``e**x`` is finite and non-zero, as ``(n, r)``."""
    x = D(709.9) if x > D(709.9) else x
    x = D(-746.0) if x < D(-746.0) else x
    t = x * _DLOG2E + _DROUND
    n = t - _DROUND
    return t, n, x - n * _DLN2_HI - n * _DLN2_LO


@njit(**_JIT)
def exp64(x):
    x = D(x)
    t, n, r = _reduce64(x)
    p = D(1.0) + _expm1_r64(r)
    k = _bits(t) - I64(0x4338000000000000)
    k1 = k >> 1
    return p * _double((k1 + 1023) << 52) * _double((k - k1 + 1023) << 52)


@njit(**_JIT)
def expm1_64(x):
    x = D(x)
    t, n, r = _reduce64(x)
    q = _expm1_r64(r)
    k = _bits(t) - I64(0x4338000000000000)
    k = k if k < 1023 else I64(1023)
    k = k if k > -1022 else I64(-1022)
    s = _double((k + 1023) << 52)
    y = s * q + (s - D(1.0))
    y = y * D(2.0) if n > D(1023.0) else y
    return x if abs(x) < D(5.55e-17) else y


_A = tuple(D(2.0 / (2 * k + 1)) for k in range(1, 13))  # 2/3, 2/5, ..., 2/25


@njit(**_JIT)
def _log_core64(u):
    """``log(u)`` for a positive normal ``u``: ``f = m - 1``, ``s = f / (2 + f)``,
    ``log(1 + f) = f - s (f - R(s**2))`` with the Taylor series of ``atanh``."""
    b = _bits(u)
    e = (b - _SQRT_HALF_BITS64) >> 52
    f = _double(b - (e << 52)) - D(1.0)
    s = f / (D(2.0) + f)
    z = s * s
    R = _A[8] + z * (_A[9] + z * (_A[10] + z * _A[11]))
    R = _A[4] + z * (_A[5] + z * (_A[6] + z * (_A[7] + z * R)))
    R = _A[0] + z * (_A[1] + z * (_A[2] + z * (_A[3] + z * R)))
    ef = D(e)
    return f - s * (f - z * R) + ef * _DLN2_LO + ef * _DLN2_HI


@njit(**_JIT)
def log64(x):
    x = D(x)
    sub = x < _DTINY
    u = x * D(4503599627370496.0) if sub else x
    y = _log_core64(u) - (D(52.0) * _DLN2_HI + D(52.0) * _DLN2_LO if sub else D(0.0))
    y = x if x == _DINF else y
    y = -_DINF if x == D(0.0) else y
    return y if x >= D(0.0) else _DNAN


@njit(**_JIT)
def log1p64(a):
    a = D(a)
    u = D(1.0) + a
    y = _log_core64(u) + (a - (u - D(1.0))) / u
    y = a if abs(a) < D(5.55e-17) or a == _DINF else y
    y = -_DINF if u == D(0.0) else y
    return y if u >= D(0.0) else _DNAN


@njit(**_JIT)
def tanh64(x):
    """``-t / (2 + t)`` with ``t = expm1(-2|x|)`` below ``|x| = 0.55``, ``1 - 2 / (1 +
    exp(2|x|))`` above, and ``x``'s sign."""
    x = D(x)
    ax = abs(x)
    t = expm1_64(D(-2.0) * ax)
    small = -t / (D(2.0) + t)
    big = D(1.0) - D(2.0) / (D(1.0) + exp64(D(2.0) * ax))
    y = small if ax < D(0.55) else big
    y = -y if x < D(0.0) else y
    return x if ax < D(1e-9) else y


@njit(**_JIT)
def sigmoid64(x):
    x = D(x)
    e = exp64(-abs(x))
    s = D(1.0) / (D(1.0) + e)
    return s if x >= D(0.0) else e * s


@njit(**_JIT)
def softplus64(x):
    x = D(x)
    return (x if x > D(0.0) else D(0.0)) + log1p64(exp64(-abs(x)))
