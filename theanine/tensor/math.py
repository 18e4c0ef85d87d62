"""Element-wise math, reductions and linear algebra on tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import builtins as _py

import numpy as np

from theanine.config import config
from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.scalar import OPS, Cast, Round
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.elemwise import Elemwise, Reduce
from theanine.tensor.type import DISCRETE_DTYPES, FLOAT_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable

_ELEMWISE: dict[str, Elemwise] = {name: Elemwise(op) for name, op in OPS.items()}


def _wrap(name: str, public: str | None = None):
    op = _ELEMWISE[name]

    def fn(*args: Any) -> TensorVariable:
        return op(*args)

    fn.__name__ = public or name
    fn.__qualname__ = fn.__name__
    fn.__doc__ = (f"Element-wise ``{name}`` of the inputs, broadcasting them.\n\n"
                  f"Examples\n--------\n>>> import theanine.tensor as T\n"
                  f">>> y = T.{fn.__name__}({', '.join(['T.vector()'] * _py.max(op.scalar_op.nin, 2 if op.scalar_op.nin == -1 else 1))})\n")
    return fn


add = _wrap("add")
mul = _wrap("mul")
sub = _wrap("sub")
true_div = _wrap("true_div")
int_div = _wrap("int_div")
mod = _wrap("mod")
pow = _wrap("pow")  # noqa: A001 - Theano's name
maximum = _wrap("maximum")
minimum = _wrap("minimum")
arctan2 = _wrap("arctan2")
eq = _wrap("eq")
neq = _wrap("neq")
lt = _wrap("lt")
gt = _wrap("gt")
le = _wrap("le")
ge = _wrap("ge")
and_ = _wrap("and_")
or_ = _wrap("or_")
xor = _wrap("xor")
invert = _wrap("invert")
second = _wrap("second")
switch = _wrap("switch")
identity = _wrap("identity")
neg = _wrap("neg")
abs = _wrap("abs")  # noqa: A001
sgn = _wrap("sgn")
floor = _wrap("floor")
ceil = _wrap("ceil")
trunc = _wrap("trunc")
sqr = _wrap("sqr")
sqrt = _wrap("sqrt")
reciprocal = _wrap("reciprocal")
exp = _wrap("exp")
exp2 = _wrap("exp2")
expm1 = _wrap("expm1")
log = _wrap("log")
log2 = _wrap("log2")
log10 = _wrap("log10")
log1p = _wrap("log1p")
sin = _wrap("sin")
cos = _wrap("cos")
tan = _wrap("tan")
arcsin = _wrap("arcsin")
arccos = _wrap("arccos")
arctan = _wrap("arctan")
sinh = _wrap("sinh")
cosh = _wrap("cosh")
tanh = _wrap("tanh")
arcsinh = _wrap("arcsinh")
arccosh = _wrap("arccosh")
arctanh = _wrap("arctanh")
erf = _wrap("erf")
erfc = _wrap("erfc")
erfinv = _wrap("erfinv")
erfcinv = _wrap("erfcinv")
gamma = _wrap("gamma")
gammaln = _wrap("gammaln")
psi = _wrap("psi")
tri_gamma = _wrap("tri_gamma")
sigmoid = _wrap("sigmoid")
softplus = _wrap("softplus")
isnan = _wrap("isnan")
isinf = _wrap("isinf")
conj = _wrap("conj")
real = _wrap("real")
imag = _wrap("imag")
angle = _wrap("angle")

# Theano's aliases
abs_ = abs
sign = sgn
inv = reciprocal
fill = second
where = switch
div_proxy = true_div
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
lgamma = gammaln
digamma = psi


def clip(x: Any, a_min: Any, a_max: Any) -> TensorVariable:
    """``x`` limited to ``[a_min, a_max]``."""
    return _ELEMWISE["clip"](x, a_min, a_max)


def cast(x: Any, dtype: Any) -> TensorVariable:
    """``x`` converted to ``dtype`` (``'floatX'`` means ``config.floatX``)."""
    x = as_tensor_variable(x)
    dtype = config.floatX if dtype == "floatX" else np.dtype(dtype).name
    if x.type.dtype == dtype:
        return x
    return Elemwise(Cast(dtype))(x)


def round(x: Any, mode: str | None = None) -> TensorVariable:  # noqa: A001
    """Round to the nearest integer; ``mode`` is 'half_away_from_zero' (Theano's default)
    or 'half_to_even' (NumPy's)."""
    return Elemwise(Round(mode or "half_away_from_zero"))(x)


def round_half_to_even(x: Any) -> TensorVariable:
    """Round halves to the nearest even integer (as ``numpy.round``)."""
    return round(x, "half_to_even")


def round_half_away_from_zero(x: Any) -> TensorVariable:
    """Round halves away from zero."""
    return round(x, "half_away_from_zero")


def relu(x: Any, alpha: Any = 0) -> TensorVariable:
    """Rectified linear unit; with ``alpha`` the leaky variant."""
    x = as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return maximum(x, 0)
    return switch(gt(x, 0), x, alpha * x)


# -- reductions --------------------------------------------------------------

def _axes(x: TensorVariable, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    if isinstance(axis, (int, np.integer)):
        axis = [axis]
    out = []
    for a in axis:
        a = int(a)
        if not -x.ndim <= a < _py.max(x.ndim, 1):
            raise ValueError(f"axis {a} is out of range for {x.describe()} with "
                             f"{x.ndim} dimensions")
        out.append(a % x.ndim if x.ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out)) if x.ndim else ()


def _keep(x: TensorVariable, out: TensorVariable, axes: Sequence[int]) -> TensorVariable:
    it = iter(range(out.ndim))
    return out.dimshuffle(["x" if d in axes else next(it) for d in range(x.ndim)])


def _reduce(kind: str, x: Any, axis: Any, keepdims: bool, acc_dtype: str | None = None,
            dtype: Any = None) -> TensorVariable:
    x = as_tensor_variable(x)
    axes = _axes(x, axis)
    if dtype is not None and acc_dtype is None and kind in ("sum", "prod"):
        # accumulate in the requested precision, as NumPy and Theano do
        acc_dtype = np.result_type(x.type.dtype, np.dtype(dtype)).name
    out = Reduce(kind, axes, acc_dtype)(x) if axes or kind in ("all", "any") \
        else (x if kind not in ("all", "any") else Reduce(kind, ())(x))
    if dtype is not None:
        out = cast(out, dtype)
    return _keep(x, out, axes) if keepdims and axes else out


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,  # noqa: A001
        acc_dtype: Any = None) -> TensorVariable:
    """Sum over ``axis`` (an int, a tuple, or None for all)."""
    return _reduce("sum", x, axis, keepdims, acc_dtype and np.dtype(acc_dtype).name, dtype)


def prod(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None) -> TensorVariable:
    """Product over ``axis``."""
    return _reduce("prod", x, axis, keepdims, acc_dtype and np.dtype(acc_dtype).name, dtype)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:  # noqa: A001
    """Maximum over ``axis``."""
    return _reduce("max", x, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:  # noqa: A001
    """Minimum over ``axis``."""
    return _reduce("min", x, axis, keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:  # noqa: A001
    """Whether all elements along ``axis`` are true."""
    return _reduce("all", x, axis, keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:  # noqa: A001
    """Whether any element along ``axis`` is true."""
    return _reduce("any", x, axis, keepdims)


def _count(x: TensorVariable, axes: Sequence[int], dtype: str) -> TensorVariable:
    static = [x.type.shape[a] for a in axes]
    if None not in static:
        return constant(int(np.prod(static)), dtype=dtype)
    s = x.shape
    return cast(prod([s[a] for a in axes]) if len(axes) > 1 else s[axes[0]], dtype)


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None) -> TensorVariable:
    """Arithmetic mean over ``axis``."""
    x = as_tensor_variable(x)
    axes = _axes(x, axis)
    out_dtype = x.type.dtype if x.type.dtype in FLOAT_DTYPES + ("complex64", "complex128") \
        else "float64"
    if dtype is not None and np.dtype(dtype).kind in "fc":
        out_dtype = np.result_type(out_dtype, np.dtype(dtype)).name
        acc_dtype = acc_dtype or out_dtype
    total = sum(x, axes, keepdims=keepdims, acc_dtype=acc_dtype)
    if not axes:
        return cast(total, dtype or out_dtype)
    res = true_div(cast(total, out_dtype), _count(x, axes, out_dtype))
    return cast(res, dtype) if dtype is not None else res


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> TensorVariable:
    """Variance over ``axis`` (``ddof=1`` or ``corrected=True`` for the unbiased one)."""
    x = as_tensor_variable(x)
    axes = _axes(x, axis)
    centered = x - mean(x, axes, keepdims=True)
    if centered.type.dtype.startswith("complex"):
        sq = real(centered * conj(centered))
    else:
        sq = sqr(centered)
    v = mean(sq, axes, keepdims=keepdims)
    ddof = 1 if corrected else ddof
    if ddof:
        n = _count(x, axes, v.type.dtype)
        v = v * n / (n - ddof)
    return v


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> TensorVariable:
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis, ddof, keepdims, corrected))


class Argmax(Op):
    """Index of the maximum (``kind='max'``) or minimum along one axis, int64."""

    __props__ = ("kind", "axis")

    def __init__(self, kind: str, axis: int) -> None:
        self.kind = kind
        self.axis = int(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        shape = [s for d, s in enumerate(x.type.shape) if d != self.axis]
        return Apply(self, [x], [TensorType("int64", shape)()])

    def perform(self, node, inputs, out):
        x = inputs[0]
        if x.shape[self.axis] == 0:
            raise ValueError(f"arg{self.kind} of an empty sequence ({node.inputs[0].describe()} "
                             f"has shape {x.shape})")
        fn = np.argmax if self.kind == "max" else np.argmin
        out[0][0] = np.asarray(fn(x, axis=self.axis), dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d != self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        return [None]


def _arg(kind: str, x: Any, axis: Any, keepdims: bool) -> TensorVariable:
    x = as_tensor_variable(x)
    if axis is not None:
        _axes(x, axis)  # range and repeats
    if axis is None or x.ndim == 0 or (not isinstance(axis, (int, np.integer))
                                       and len(axis) == x.ndim):
        flat = x.flatten() if x.ndim != 1 else x
        out = Argmax(kind, 0)(flat)
        if keepdims:
            out = out.dimshuffle(["x"] * x.ndim)
        return out
    if not isinstance(axis, (int, np.integer)):
        if len(axis) != 1:
            raise ValueError(f"arg{kind} takes one axis or all of them, got {axis}")
        axis = axis[0]
    (a,) = _axes(x, axis)
    out = Argmax(kind, a)(x)
    return _keep(x, out, (a,)) if keepdims else out


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:
    """Index of the maximum along ``axis`` (of the flattened tensor when None)."""
    return _arg("max", x, axis, keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:
    """Index of the minimum along ``axis`` (of the flattened tensor when None)."""
    return _arg("min", x, axis, keepdims)


def max_and_argmax(x: Any, axis: Any = None) -> tuple[TensorVariable, TensorVariable]:
    """``(max(x, axis), argmax(x, axis))``."""
    return max(x, axis), argmax(x, axis)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:
    """``log(sum(exp(x), axis))`` computed stably."""
    x = as_tensor_variable(x)
    m = max(x, axis, keepdims=True)
    m = switch(isinf(m), 0, m)
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    axes = _axes(x, axis)
    return out if keepdims or not axes else out.dimshuffle(
        [d for d in range(x.ndim) if d not in axes])


# Python's ``@`` and the ``dot`` method of variables dispatch here.
from theanine.tensor.linalg import dot, matmul  # noqa: E402,F401
