"""Conversion to tensors, constants, and array-creation ops (alloc, eye, arange...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.config import config
from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op
from theanine.tensor.type import COMPLEX_DTYPES, FLOAT_DTYPES, INT_DTYPES, TensorType
from theanine.tensor.variable import TensorConstant, TensorVariable

_PY_SCALARS = (bool, int, float, complex)


def _python_scalar_dtype(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64" if -2**63 <= value < 2**63 else "uint64"
    if isinstance(value, float):
        return "float32" if config.floatX == "float32" else "float64"
    return "complex64" if config.floatX == "float32" else "complex128"


def _smallest_int(value: int, signed_like: str) -> str:
    for dt in ((signed_like,) if signed_like else ()) + ("int8", "int16", "int32", "int64"):
        info = np.iinfo(dt)
        if info.min <= value <= info.max:
            return dt
    return "uint64"


def constant(x: Any, name: str | None = None, ndim: int | None = None,
             dtype: Any = None) -> TensorConstant:
    """A constant tensor holding ``x``.

    Examples
    --------
    >>> constant([1, 2]).dtype
    'int64'
    """
    if isinstance(x, Variable):
        raise TypeError(f"constant() expects a value, got the variable {x.describe()}")
    if dtype is None and isinstance(x, _PY_SCALARS):
        dtype = _python_scalar_dtype(x)
    try:
        data = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot make a tensor constant from {x!r}: {exc}") from None
    if data.dtype.kind not in "biufc":
        raise TypeError(f"cannot make a tensor constant from {x!r} (dtype {data.dtype})")
    if dtype is None and isinstance(x, (list, tuple)) and data.dtype == np.float64 \
            and config.floatX == "float32":
        data = data.astype("float32")
    if ndim is not None and data.ndim != ndim:
        if data.ndim > ndim and all(s == 1 for s in data.shape[: data.ndim - ndim]):
            data = data.reshape(data.shape[data.ndim - ndim:])
        elif data.ndim < ndim:
            data = data.reshape((1,) * (ndim - data.ndim) + data.shape)
        else:
            raise ValueError(f"constant {x!r} has {data.ndim} dimensions, expected {ndim}")
    return TensorConstant(TensorType(data.dtype, data.shape), data, name=name)


def as_tensor_variable(x: Any, name: str | None = None, ndim: int | None = None,
                       dtype: Any = None) -> TensorVariable:
    """Convert ``x`` (a variable, array, number or list of these) to a tensor variable.

    Examples
    --------
    >>> as_tensor_variable([1.0, 2.0]).ndim
    1
    """
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor, got {x.describe()} of type {x.type}")
        if dtype is not None and x.type.dtype != np.dtype(dtype).name:
            from theanine.tensor.math import cast

            x = cast(x, dtype)
        if ndim is not None and x.ndim != ndim:
            if x.ndim > ndim and all(x.type.broadcastable[: x.ndim - ndim]):
                x = x.dimshuffle(list(range(x.ndim - ndim, x.ndim)))
            else:
                raise TypeError(f"expected a {ndim}-d tensor, got {x.describe()} with "
                                f"{x.ndim} dimensions")
        return x  # type: ignore[return-value]
    if isinstance(x, Apply):
        return as_tensor_variable(x.out, name, ndim, dtype)
    if isinstance(x, (list, tuple)) and any(_contains_variable(e) for e in x):
        from theanine.tensor.join import stack

        return stack([as_tensor_variable(e, dtype=dtype) for e in x])
    return constant(x, name=name, ndim=ndim, dtype=dtype)


def _contains_variable(x: Any) -> bool:
    if isinstance(x, Variable):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_variable(e) for e in x)
    return False


def as_elemwise_inputs(inputs: Sequence[Any]) -> list[TensorVariable]:
    """Convert element-wise inputs; Python numbers take the dtype of the tensors beside them.

    A float32 tensor times a Python float stays float32 (Theano's rule, and NumPy 2's
    for weakly typed scalars); an int8 tensor plus 3 stays int8.
    """
    strong = [x for x in inputs if not isinstance(x, _PY_SCALARS)]
    if len(strong) == len(inputs):
        return [as_tensor_variable(x) for x in inputs]
    strong_vars = [as_tensor_variable(x) for x in strong]
    dtypes = [v.type.dtype for v in strong_vars]
    out: list[TensorVariable] = []
    it = iter(strong_vars)
    for x in inputs:
        if not isinstance(x, _PY_SCALARS):
            out.append(next(it))
        else:
            out.append(constant(x, dtype=_weak_dtype(x, dtypes)))
    return out


def _weak_dtype(value: Any, dtypes: list[str]) -> str:
    if not dtypes:
        return _python_scalar_dtype(value)
    floats = [d for d in dtypes if d in FLOAT_DTYPES]
    complexes = [d for d in dtypes if d in COMPLEX_DTYPES]
    ints = [d for d in dtypes if d in INT_DTYPES]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, complex):
        if complexes:
            return np.result_type(*complexes).name
        if floats:
            return np.result_type(np.complex64, *floats).name
        return _python_scalar_dtype(value)
    if isinstance(value, float):
        if complexes or floats:
            return np.result_type(*(complexes + floats)).name
        return _python_scalar_dtype(value)
    # Python int
    if complexes or floats:
        return np.result_type(*(complexes + floats)).name
    if ints:
        widest = np.result_type(*ints).name
        if widest.startswith("uint") and value < 0:
            return _smallest_int(value, "")
        return _smallest_int(value, widest)
    return "int64"


def get_scalar_constant_value(v: Any) -> Any:
    """The value of ``v`` if it is a constant known at build time, else raise ``ValueError``."""
    if isinstance(v, Constant):
        return v.data
    if isinstance(v, (int, float, np.number, np.ndarray)):
        return np.asarray(v)
    raise ValueError(f"{v} is not a constant")


# -- creation ops ------------------------------------------------------------------

class Alloc(Op):
    """Broadcast a value to a given shape (a fresh, writeable array)."""

    def make_node(self, value: Any, *shape: Any) -> Apply:
        value = as_tensor_variable(value)
        sh = [as_tensor_variable(s) for s in shape]
        for s in sh:
            if s.ndim != 0 or s.type.dtype not in INT_DTYPES:
                raise TypeError(f"alloc: shape entries must be integer scalars, got {s}")
        if len(sh) < value.ndim:
            raise ValueError(f"alloc: value of {value.ndim} dims needs at least as many shape "
                             f"entries, got {len(sh)}")
        static = [int(s.data) if isinstance(s, Constant) else None for s in sh]
        return Apply(self, [value, *sh], [TensorType(value.type.dtype, static)()])

    def perform(self, node, inputs, out):
        value, *shape = inputs
        res = np.empty(tuple(int(s) for s in shape), dtype=value.dtype)
        try:
            res[...] = value
        except ValueError:
            raise ValueError(f"alloc: cannot broadcast a value of shape {value.shape} to shape "
                             f"{tuple(int(s) for s in shape)}") from None
        out[0][0] = res

    def infer_shape(self, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.math import sum as sum_

        value = inputs[0]
        gz = output_grads[0]
        if gz is None:
            return [None] * len(inputs)
        n_lead = gz.ndim - value.ndim
        axes = list(range(n_lead)) + [n_lead + d for d in range(value.ndim)
                                      if value.type.broadcastable[d]
                                      and not gz.type.broadcastable[n_lead + d]]
        g = sum_(gz, axis=axes, keepdims=True) if axes else gz
        if n_lead:
            g = g.dimshuffle(list(range(n_lead, g.ndim)))
        return [g] + [None] * (len(inputs) - 1)


alloc = Alloc()


def _shape_args(shape: Any) -> list:
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return [shape]
        n = shape.type.shape[0]
        if n is None:
            raise TypeError(f"shape {shape.describe()} must have a static length")
        return [shape[i] for i in range(n)]
    if isinstance(shape, (int, np.integer)):
        return [int(shape)]
    return list(shape)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> TensorVariable:
    """A tensor of ``shape`` filled with ``fill_value``."""
    value = as_tensor_variable(fill_value, dtype=dtype)
    if dtype is None and isinstance(fill_value, float):
        value = as_tensor_variable(fill_value, dtype=config.floatX)
    return alloc(value, *_shape_args(shape))


def zeros(shape: Any, dtype: Any = None) -> TensorVariable:
    """A tensor of zeros (``dtype`` defaults to ``config.floatX``)."""
    return alloc(constant(0, dtype=dtype or config.floatX), *_shape_args(shape))


def ones(shape: Any, dtype: Any = None) -> TensorVariable:
    """A tensor of ones (``dtype`` defaults to ``config.floatX``)."""
    return alloc(constant(1, dtype=dtype or config.floatX), *_shape_args(shape))


def fill(model: Any, value: Any) -> TensorVariable:
    """``value`` broadcast to the shape of ``model`` (Theano's ``fill``/``second``)."""
    from theanine.tensor.math import second

    return second(model, value)


def zeros_like(x: Any, dtype: Any = None) -> TensorVariable:
    """Zeros with the shape (and, by default, dtype) of ``x``."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.type.dtype))


def ones_like(x: Any, dtype: Any = None) -> TensorVariable:
    """Ones with the shape (and, by default, dtype) of ``x``."""
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.type.dtype))


class Eye(Op):
    """``eye(n, m, k)``: ones on the k-th diagonal."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype).name

    def make_node(self, n, m, k):
        n, m, k = (as_tensor_variable(v) for v in (n, m, k))
        static = [int(v.data) if isinstance(v, Constant) else None for v in (n, m)]
        return Apply(self, [n, m, k], [TensorType(self.dtype, static)()])

    def perform(self, node, inputs, out):
        n, m, k = (int(v) for v in inputs)
        out[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0], node.inputs[1])]

    def L_op(self, inputs, outputs, output_grads):
        return [None, None, None]


def eye(n: Any, m: Any = None, k: int = 0, dtype: Any = None) -> TensorVariable:
    """A 2-d tensor with ones on the k-th diagonal."""
    return Eye(dtype or config.floatX)(n, n if m is None else m, k)


def identity_like(x: Any, dtype: Any = None) -> TensorVariable:
    """An identity matrix with the shape of the matrix ``x``."""
    x = as_tensor_variable(x)
    return eye(x.shape[0], x.shape[1], 0, dtype or x.type.dtype)


class ARange(Op):
    """``arange(start, stop, step)``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype).name

    def make_node(self, start, stop, step):
        start, stop, step = (as_tensor_variable(v) for v in (start, stop, step))
        length = None
        if all(isinstance(v, Constant) for v in (start, stop, step)):
            length = len(np.arange(start.data, stop.data, step.data))
        return Apply(self, [start, stop, step], [TensorType(self.dtype, (length,))()])

    def perform(self, node, inputs, out):
        start, stop, step = inputs
        if step == 0:
            raise ValueError("arange: step must not be zero")
        out[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def L_op(self, inputs, outputs, output_grads):
        return [None, None, None]


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> TensorVariable:
    """Evenly spaced values, as ``numpy.arange``."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        # Python numbers are weakly typed: arange(iscalar) is int32, as in Theano
        vals = as_elemwise_inputs((start, stop, step))
        dtype = np.result_type(*[v.type.dtype for v in vals]).name
        if dtype in FLOAT_DTYPES:
            dtype = config.floatX if all(isinstance(v, (int, float)) for v in (start, stop, step)) \
                else dtype
    return ARange(dtype)(start, stop, step)
