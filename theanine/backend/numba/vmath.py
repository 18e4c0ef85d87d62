"""Vectorisable float32 math for native loops: exp, log, log1p, tanh, sigmoid, softplus.

Numba lowers ``np.exp`` and friends to calls of the C library's scalar functions (the
PyPI builds of llvmlite have no SVML), so a loop using them stays scalar: W6's chain
took 350 ms per 10^7 elements. These versions are branch-free arithmetic on the float's
bits (range reduction, a polynomial, a power of two built in the exponent field) that
LLVM inlines and vectorises with the loop around them: the same chain takes about 9 ms
on one core. Special values (nan, +-inf, +-0, overflow, subnormal results) are handled
with selects. The polynomials are least-squares fits on Chebyshev nodes; their error,
measured in ``tests/backend/test_vmath.py`` against float64 NumPy, is below 2 ulp on the
whole float32 range (NumPy's own float32 ``exp`` is 2.4 ulp there).

The element-wise code generator (``scalar.py``) calls these for float32 operands; float64
keeps the C library (NumPy's SIMD kernels for large arrays).
"""

from __future__ import annotations

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
    """The int32 whose bits are those of the float32 ``x``."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(x), codegen


@intrinsic
def _float(typingctx, n):
    """The float32 whose bits are the low 32 bits of the integer ``n``."""
    if not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if n.bitwidth > 32:
            v = builder.trunc(v, ir.IntType(32))
        elif n.bitwidth < 32:
            v = builder.sext(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())

    return types.float32(n), codegen


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
    u = F(1.0) + a
    y = _log_core(u) + (a - (u - F(1.0))) / u
    y = a if abs(a) < F(2.98e-8) or a == _INF else y  # below 2**-25: a itself (and -0)
    y = -_INF if u == F(0.0) else y
    return y if u >= F(0.0) else _NAN


@njit(**_JIT)
def tanh(x):
    """``x + x**3 P(x**2)`` for ``|x| < 0.625``; ``(1 - e) / (1 + e)`` with
    ``e = exp(-2|x|)`` and ``x``'s sign otherwise."""
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
    e = exp(-abs(x))
    s = F(1.0) / (F(1.0) + e)
    return s if x >= F(0.0) else e * s


@njit(**_JIT)
def softplus(x):
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``."""
    return (x if x > F(0.0) else F(0.0)) + log1p(exp(-abs(x)))


FUNCTIONS = frozenset({"exp", "log", "log1p", "tanh", "sigmoid", "softplus"})
"""Scalar ops computed here for float32 operands."""
