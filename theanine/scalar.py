"""Scalar operations: the element-wise building blocks of :class:`Elemwise`.

Each scalar op declares its arity, a vectorised NumPy implementation, the rule
giving its output dtype, and its gradient. Gradients are written with tensor
operations (they are element-wise too), so ``Elemwise`` only has to undo
broadcasting. Fusion and code generation work on graphs of these ops.
"""

from __future__ import annotations

import copyreg
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theanine.graph.props import Props

_FLOAT_OF = {
    "bool": "float32", "int8": "float32", "uint8": "float32", "int16": "float32",
    "uint16": "float32", "int32": "float64", "uint32": "float64", "int64": "float64",
    "uint64": "float64",
}


def upcast(*dtypes: str) -> str:
    """NumPy's promotion of ``dtypes``."""
    if len(dtypes) == 1:
        return dtypes[0]
    return np.result_type(*dtypes).name


def upgrade_to_float(*dtypes: str) -> str:
    """Promotion, then integers to floats as Theano does (int8/16 -> float32, else float64)."""
    out = upcast(*dtypes)
    return _FLOAT_OF.get(out, out)


def _same(*dtypes: str) -> str:
    return upcast(*dtypes)


def _bool(*dtypes: str) -> str:
    return "bool"


def _real(*dtypes: str) -> str:
    out = upcast(*dtypes)
    return {"complex64": "float32", "complex128": "float64"}.get(out, out)


def _float_no_complex(*dtypes: str) -> str:
    out = upgrade_to_float(*dtypes)
    if out.startswith("complex"):
        raise TypeError("this operation is not defined for complex numbers")
    return out


def _special(name: str) -> Callable:
    """``scipy.special.<name>``, imported on first use (keeps ``import theanine`` fast)."""
    def fn(*args, **kwargs):
        import scipy.special

        return getattr(scipy.special, name)(*args, **kwargs)
    fn.__name__ = name

    def resolve():  # the ufunc itself (fused block kernels call it with ``out=``)
        import scipy.special

        return getattr(scipy.special, name)
    fn.resolve = resolve
    return fn


def _T():
    from theanine.tensor import math

    return math


class ScalarOp(Props):
    """An element-wise function of ``nin`` scalars (``nin=-1``: any number).

    Parameters
    ----------
    name : str
        Identity of the op (two scalar ops with the same name are the same op).
    nin : int
        Number of inputs, -1 for variadic.
    fn : callable
        NumPy implementation over broadcastable arrays.
    out_dtype : callable
        Output dtype from input dtypes.
    grad : callable, optional
        ``grad(inputs, output, output_grad) -> list`` of tensor graphs (None: zero).
    """

    __props__ = ("name",)

    def __init__(self, name: str, nin: int, fn: Callable, out_dtype: Callable = _same,
                 grad: Callable | None = None, *, commutative: bool = False,
                 associative: bool = False, identity: Any = None, symbol: str | None = None,
                 float_args: bool = False) -> None:
        self.name = name
        self.nin = nin
        self.fn = fn
        self.out_dtype = out_dtype
        self._grad = grad
        self.commutative = commutative
        self.associative = associative
        self.identity = identity
        self.symbol = symbol
        self.float_args = float_args  # compute in the output dtype (avoids int overflow)
        self.binary = getattr(fn, "binary", fn)  # two-argument form of a variadic op

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__

    def output_dtype(self, *dtypes: str) -> str:
        return self.out_dtype(*dtypes)

    def grad(self, inputs: Sequence, output: Any, gz: Any) -> list:
        if self._grad is None:
            from theanine.gradient import grad_not_implemented

            return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]
        return list(self._grad(inputs, output, gz))

    def impl(self, *args: Any) -> Any:
        return self.fn(*args)

    def __reduce__(self) -> tuple:
        # the table's ops are pickled by name (their kernels are closures) and unpickle
        # as the table's op; other scalar ops (subclasses) are pickled by their state
        if OPS.get(self.name) is self:
            return (scalar_op, (self.name,))
        return (copyreg.__newobj__, (type(self),), self.__dict__)


def scalar_op(name: str) -> ScalarOp:
    """The scalar op called ``name`` (e.g. ``'add'``); how scalar ops are unpickled."""
    return OPS[name]


class Cast(ScalarOp):
    """Conversion to ``dtype``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype).name

        def fn(x, _dt=self.dtype):
            return np.asarray(x).astype(_dt)

        def grad(inputs, out, gz):
            x = inputs[0]
            if x.dtype in _FLOAT_OF or x.dtype == "bool":
                return [None]
            return [_T().cast(gz, x.dtype)]

        super().__init__(f"cast_{self.dtype}", 1, fn, lambda *d: self.dtype, grad)

    def __reduce__(self) -> tuple:
        return (Cast, (self.dtype,))


class Round(ScalarOp):
    """Rounding, half to even or half away from zero."""

    __props__ = ("mode",)

    def __init__(self, mode: str) -> None:
        if mode not in ("half_to_even", "half_away_from_zero"):
            raise ValueError(f"round mode must be 'half_to_even' or 'half_away_from_zero', "
                             f"got {mode!r}")
        self.mode = mode
        if mode == "half_to_even":
            fn = np.round
        else:
            def fn(x):
                return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(x.dtype)
        super().__init__(f"round_{mode}", 1, fn, upgrade_to_float, _zero_grad)

    def __reduce__(self) -> tuple:
        return (Round, (self.mode,))


# -- gradient formulas (tensor level) ---------------------------------------

def _zero_grad(inputs, out, gz):
    return [None] * len(inputs)


def _g_mul(inputs, out, gz):
    m = _T()
    res = []
    for i in range(len(inputs)):
        others = [x for j, x in enumerate(inputs) if j != i]
        res.append(gz * (others[0] if len(others) == 1 else m.mul(*others)) if others else gz)
    return res


def _g_pow(inputs, out, gz):
    m = _T()
    x, y = inputs
    gx = gz * y * m.pow(x, y - 1)
    gy = gz * out * m.log(m.switch(m.eq(x, 0), 1, x)) if y.dtype not in _FLOAT_OF else None
    return [gx, gy]


def _g_div(inputs, out, gz):
    x, y = inputs
    return [gz / y, -gz * out / y]


def _g_mod(inputs, out, gz):
    m = _T()
    x, y = inputs
    return [gz, -gz * m.floor(x / y)]


def _g_maximum(inputs, out, gz):
    m = _T()
    x, y = inputs
    return [gz * m.eq(out, x), gz * m.eq(out, y)]


def _g_switch(inputs, out, gz):
    m = _T()
    from theanine.tensor.basic import zeros_like

    c, a, b = inputs
    zero = zeros_like(gz)
    return [None, m.switch(c, gz, zero), m.switch(c, zero, gz)]


def _g_clip(inputs, out, gz):
    m = _T()
    x, lo, hi = inputs
    return [gz * m.and_(m.ge(x, lo), m.le(x, hi)), gz * m.lt(x, lo), gz * m.gt(x, hi)]


def _unary(formula: Callable) -> Callable:
    """Gradient rule ``gz * formula(x, out)`` for a unary op."""
    def rule(inputs, out, gz):
        return [gz * formula(_T(), inputs[0], out)]
    return rule


def _variadic(fn2: Callable) -> Callable:
    def fn(*args):
        return functools.reduce(fn2, args)
    fn.binary = fn2  # type: ignore[attr-defined]
    return fn


def _second(a, b):
    out = np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)), dtype=np.result_type(b))
    out[...] = b
    return out


def _softplus(x):
    return np.logaddexp(np.zeros((), x.dtype) if hasattr(x, "dtype") else 0.0, x)


_expit = _special("expit")


def _sigmoid(x: Any, out: np.ndarray | None = None) -> np.ndarray:
    """``1 / (1 + exp(-x))`` through NumPy's vectorised ``exp`` (SciPy's ``expit`` is a
    scalar loop, about 4x slower on float32); within a few ulps of ``expit``, and exact at
    the limits (0 below about -88 in float32, where ``exp`` overflows quietly). Integer
    inputs use ``expit``'s own dtype rule."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return _expit(x) if out is None else _expit(x, out=out)
    if out is None:
        out = np.empty(x.shape, x.dtype)
    with np.errstate(over="ignore"):
        np.exp(np.negative(x, out=out), out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)


_sigmoid.accepts_out = True  # type: ignore[attr-defined] - fused block kernels pass out=


def _numpy_has_svml() -> bool:
    """Whether NumPy runs its SIMD (SVML) kernels of log1p, expm1, tanh...: only on
    AVX512_SKX CPUs; elsewhere they are scalar libm loops."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # pragma: no cover - NumPy < 2 or another layout
        return True
    return bool(__cpu_features__.get("AVX512_SKX", False))


def _log1p_by_log(x: Any, out: np.ndarray | None = None) -> np.ndarray:
    """``log(1 + x)`` as ``log(u) * (x / (u - 1))`` with ``u = 1 + x``, the correction for
    the rounding of ``1 + x`` (Goldberg 1991), through NumPy's vectorised ``log``; the few
    elements where the ratio is not finite (``u`` rounds to 1, infinities, NaN) take
    ``np.log1p`` itself. Within 4 ulps of ``np.log1p``: on a CPU without AVX-512
    ``np.log1p`` is a scalar loop (float32: 17-19 ns an element against about 4 ns for
    this, AMD EPYC, 2026-12-02)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return np.log1p(x) if out is None else np.log1p(x, out=out)
    u = np.empty(x.shape, x.dtype) if out is None or out is x else out
    one = x.dtype.type(1)
    np.add(x, one, out=u)
    q = np.subtract(u, one, out=np.empty(x.shape, x.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(x, q, out=q)
        np.log(u, out=u)
        np.multiply(u, q, out=u)
    odd = np.isfinite(q, out=np.empty(x.shape, np.bool_))
    np.logical_not(odd, out=odd)
    where = np.flatnonzero(odd)
    if where.size:
        with np.errstate(divide="ignore", invalid="ignore"):
            u.reshape(-1)[where] = np.log1p(x.reshape(-1)[where])
    if out is not None and u is not out:
        out[...] = u
        return out
    return u


_log1p_by_log.accepts_out = True  # type: ignore[attr-defined] - fused block kernels pass out=
_log1p = np.log1p if _numpy_has_svml() else _log1p_by_log


_SQRT_PI = float(np.sqrt(np.pi))
_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))

F = upgrade_to_float

# name: (nin, fn, out_dtype, grad, options)
_TABLE: dict[str, tuple] = {
    "add": (-1, _variadic(np.add), _same, lambda i, o, g: [g] * len(i),
            dict(commutative=True, associative=True, identity=0, symbol="+")),
    "mul": (-1, _variadic(np.multiply), _same, _g_mul,
            dict(commutative=True, associative=True, identity=1, symbol="*")),
    "sub": (2, np.subtract, _same, lambda i, o, g: [g, -g], dict(symbol="-")),
    "true_div": (2, np.true_divide, F, _g_div, dict(symbol="/", float_args=True)),
    "int_div": (2, np.floor_divide, _same, _zero_grad, dict(symbol="//")),
    "mod": (2, np.mod, _same, _g_mod, dict(symbol="%")),
    "pow": (2, np.power, _same, _g_pow, dict(symbol="**")),
    "maximum": (2, np.maximum, _same, _g_maximum, dict(commutative=True)),
    "minimum": (2, np.minimum, _same, _g_maximum, dict(commutative=True)),
    "arctan2": (2, np.arctan2, F, lambda i, o, g: [
        g * i[1] / (i[0] * i[0] + i[1] * i[1]), -g * i[0] / (i[0] * i[0] + i[1] * i[1])], {}),
    "eq": (2, np.equal, _bool, _zero_grad, dict(commutative=True, symbol="==")),
    "neq": (2, np.not_equal, _bool, _zero_grad, dict(commutative=True, symbol="!=")),
    "lt": (2, np.less, _bool, _zero_grad, dict(symbol="<")),
    "gt": (2, np.greater, _bool, _zero_grad, dict(symbol=">")),
    "le": (2, np.less_equal, _bool, _zero_grad, dict(symbol="<=")),
    "ge": (2, np.greater_equal, _bool, _zero_grad, dict(symbol=">=")),
    "and_": (2, np.bitwise_and, _same, _zero_grad, dict(commutative=True, symbol="&")),
    "or_": (2, np.bitwise_or, _same, _zero_grad, dict(commutative=True, symbol="|")),
    "xor": (2, np.bitwise_xor, _same, _zero_grad, dict(commutative=True, symbol="^")),
    "invert": (1, np.invert, _same, _zero_grad, dict(symbol="~")),
    "second": (2, _second, lambda a, b: b, lambda i, o, g: [None, g], {}),
    "switch": (3, np.where, lambda c, a, b: upcast(a, b), _g_switch, {}),
    "clip": (3, np.clip, _same, _g_clip, {}),
    "identity": (1, np.positive, _same, lambda i, o, g: [g], {}),
    "neg": (1, np.negative, _same, lambda i, o, g: [-g], dict(symbol="-")),
    "abs": (1, np.abs, _real, _unary(lambda m, x, z: m.sgn(x)), {}),
    "sgn": (1, np.sign, _same, _zero_grad, {}),
    "floor": (1, np.floor, F, _zero_grad, {}),
    "ceil": (1, np.ceil, F, _zero_grad, {}),
    "trunc": (1, np.trunc, F, _zero_grad, {}),
    "sqr": (1, np.square, _same, _unary(lambda m, x, z: 2 * x), {}),
    "sqrt": (1, np.sqrt, F, _unary(lambda m, x, z: 0.5 / z), {}),
    "reciprocal": (1, np.reciprocal, F, _unary(lambda m, x, z: -(z * z)), dict(float_args=True)),
    "exp": (1, np.exp, F, _unary(lambda m, x, z: z), {}),
    "exp2": (1, np.exp2, F, _unary(lambda m, x, z: z * _LN2), {}),
    "expm1": (1, np.expm1, F, _unary(lambda m, x, z: z + 1), {}),
    "log": (1, np.log, F, lambda i, o, g: [g / i[0]], {}),
    "log2": (1, np.log2, F, _unary(lambda m, x, z: 1.0 / (x * _LN2)), {}),
    "log10": (1, np.log10, F, _unary(lambda m, x, z: 1.0 / (x * _LN10)), {}),
    "log1p": (1, _log1p, F, _unary(lambda m, x, z: 1.0 / (1 + x)), {}),
    "sin": (1, np.sin, F, _unary(lambda m, x, z: m.cos(x)), {}),
    "cos": (1, np.cos, F, _unary(lambda m, x, z: -m.sin(x)), {}),
    "tan": (1, np.tan, F, _unary(lambda m, x, z: 1 + z * z), {}),
    "arcsin": (1, np.arcsin, F, _unary(lambda m, x, z: 1.0 / m.sqrt(1 - x * x)), {}),
    "arccos": (1, np.arccos, F, _unary(lambda m, x, z: -1.0 / m.sqrt(1 - x * x)), {}),
    "arctan": (1, np.arctan, F, _unary(lambda m, x, z: 1.0 / (1 + x * x)), {}),
    "sinh": (1, np.sinh, F, _unary(lambda m, x, z: m.cosh(x)), {}),
    "cosh": (1, np.cosh, F, _unary(lambda m, x, z: m.sinh(x)), {}),
    "tanh": (1, np.tanh, F, _unary(lambda m, x, z: 1 - z * z), {}),
    "arcsinh": (1, np.arcsinh, F, _unary(lambda m, x, z: 1.0 / m.sqrt(x * x + 1)), {}),
    "arccosh": (1, np.arccosh, F, _unary(lambda m, x, z: 1.0 / m.sqrt(x * x - 1)), {}),
    "arctanh": (1, np.arctanh, F, _unary(lambda m, x, z: 1.0 / (1 - x * x)), {}),
    "erf": (1, _special("erf"), F, _unary(lambda m, x, z: (2 / _SQRT_PI) * m.exp(-(x * x))), {}),
    "erfc": (1, _special("erfc"), F, _unary(lambda m, x, z: (-2 / _SQRT_PI) * m.exp(-(x * x))), {}),
    "erfinv": (1, _special("erfinv"), F, _unary(lambda m, x, z: (_SQRT_PI / 2) * m.exp(z * z)), {}),
    "erfcinv": (1, _special("erfcinv"), F, _unary(lambda m, x, z: (-_SQRT_PI / 2) * m.exp(z * z)), {}),
    "gamma": (1, _special("gamma"), F, _unary(lambda m, x, z: z * m.psi(x)), {}),
    "gammaln": (1, _special("gammaln"), F, _unary(lambda m, x, z: m.psi(x)), {}),
    "psi": (1, _special("psi"), F, _unary(lambda m, x, z: m.tri_gamma(x)), {}),
    "tri_gamma": (1, lambda x: _special("polygamma")(1, x).astype(np.result_type(x, np.float32)), F,
                  None, {}),
    "sigmoid": (1, _sigmoid, F, _unary(lambda m, x, z: z * (1 - z)), {}),
    "softplus": (1, _softplus, F, _unary(lambda m, x, z: m.sigmoid(x)), {}),
    "isnan": (1, np.isnan, _bool, _zero_grad, {}),
    "isinf": (1, np.isinf, _bool, _zero_grad, {}),
    "conj": (1, np.conj, _same, None, {}),
    "real": (1, np.real, _real, None, {}),
    "imag": (1, np.imag, _real, None, {}),
    "angle": (1, np.angle, _real, None, {}),
}

OPS: dict[str, ScalarOp] = {
    name: ScalarOp(name, nin, fn, dt, gr, **opts)
    for name, (nin, fn, dt, gr, opts) in _TABLE.items()
}
