"""TensorType: n-dimensional arrays of one dtype, with optionally known static shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.config import config
from theanine.graph.basic import Variable
from theanine.graph.type import Type

DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)
FLOAT_DTYPES = ("float16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES


def _dtype_name(dtype: Any) -> str:
    if dtype is None:
        return config.floatX
    if dtype == "floatX":
        return config.floatX
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; supported dtypes are {', '.join(DTYPES)}")
    return name


class TensorType(Type):
    """The type of arrays with a given dtype and number of dimensions.

    Parameters
    ----------
    dtype : str
        One of :data:`DTYPES` (``'floatX'`` means ``config.floatX``).
    shape : sequence of int or None, optional
        Static length of each dimension, ``None`` where unknown.
    broadcastable : sequence of bool, optional
        Theano's spelling: ``True`` means a dimension of static length 1.

    Examples
    --------
    >>> TensorType('float32', shape=(None, 1))
    TensorType(float32, shape=(?, 1))
    """

    __props__ = ("dtype", "shape")

    def __init__(self, dtype: Any, shape: Sequence[int | None] | None = None,
                 broadcastable: Sequence[bool] | None = None) -> None:
        self.dtype = _dtype_name(dtype)
        if shape is None and broadcastable is None:
            raise TypeError("TensorType needs a shape or a broadcastable pattern")
        if shape is None:
            shape = [1 if b else None for b in broadcastable]  # type: ignore[union-attr]
        self.shape: tuple[int | None, ...] = tuple(
            None if s is None else int(s) for s in shape)
        if any(s is not None and s < 0 for s in self.shape):
            raise ValueError(f"static shape must be non-negative, got {self.shape}")
        self.ndim = len(self.shape)
        self.numpy_dtype = np.dtype(self.dtype)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    def clone(self, dtype: Any = None, shape: Sequence[int | None] | None = None) -> TensorType:
        return TensorType(self.dtype if dtype is None else dtype,
                          self.shape if shape is None else shape)

    # -- values --------------------------------------------------------------------
    def filter(self, value: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> np.ndarray:
        """Convert ``value`` to an array of this type or raise ``TypeError``/``ValueError``.

        Follows Theano: a value of another dtype is accepted when the conversion is
        exact (Python numbers and lists), safe (arrays upcast), or when
        ``allow_downcast`` is true.
        """
        if type(value) is np.ndarray and value.dtype is self.numpy_dtype \
                or (isinstance(value, np.ndarray) and value.dtype == self.numpy_dtype):
            data = value
        elif strict:
            raise TypeError(f"expected an ndarray of dtype {self.dtype}, got "
                            f"{_describe_value(value)}")
        else:
            data = self._convert(value, allow_downcast)
        if data.ndim != self.ndim:
            raise TypeError(f"expected a {self.ndim}-d value of dtype {self.dtype} ({self}), "
                            f"got a {data.ndim}-d value of shape {data.shape}")
        for i, s in enumerate(self.shape):
            if s is not None and data.shape[i] != s:
                raise ValueError(f"expected static shape {_fmt_shape(self.shape)}, "
                                 f"got a value of shape {data.shape}")
        return data

    def _convert(self, value: Any, allow_downcast: bool | None) -> np.ndarray:
        kind = type(value)
        if (kind is list or kind is float or kind is int) and not allow_downcast:
            # fast path for Python data: convert, then check nothing was lost
            try:
                converted = np.asarray(value, dtype=self.numpy_dtype)
            except (TypeError, ValueError, OverflowError):
                converted = None
            if converted is not None and converted.tolist() == value:
                return converted
        if isinstance(value, Variable):
            raise TypeError(f"expected a numeric value, got the symbolic variable "
                            f"{value.describe()}; pass it through `givens` or make it an input")
        if isinstance(value, np.ndarray):
            arr = value
        else:
            try:
                arr = np.asarray(value)
            except (ValueError, TypeError) as exc:
                raise TypeError(f"expected a numeric value for {self}, got "
                                f"{_describe_value(value)} ({exc})") from None
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"expected a numeric value for {self}, got "
                            f"{_describe_value(value)} (dtype {arr.dtype})")
        if allow_downcast:
            return np.asarray(arr, dtype=self.dtype)
        if isinstance(value, np.ndarray) or isinstance(value, np.generic):
            if np.can_cast(arr.dtype, self.numpy_dtype, "safe"):
                return np.asarray(arr, dtype=self.dtype)
            raise TypeError(
                f"{self} cannot store a value of dtype {arr.dtype} without risking loss of "
                f"precision. If you do not mind, either cast the data to {self.dtype} yourself "
                f"or pass allow_input_downcast=True to function()")
        if allow_downcast is None and isinstance(value, float) \
                and self.dtype == config.floatX:
            return np.asarray(value, dtype=self.dtype)
        converted = arr.astype(self.numpy_dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            same = bool((converted == arr).all())
            if not same and arr.dtype.kind in "fc":
                same = bool(np.all((converted == arr) | (np.isnan(converted) & np.isnan(arr))))
        if not same:
            raise TypeError(
                f"{self} cannot store {_describe_value(value)} exactly (it would become "
                f"{_describe_value(converted)}). Cast it to {self.dtype} yourself or pass "
                f"allow_input_downcast=True to function()")
        return converted

    def value_signature(self, value: np.ndarray) -> tuple:
        return (value.dtype.str, value.shape, value.tobytes())

    def make_variable(self, name: str | None = None) -> Variable:
        from theanine.tensor.variable import TensorVariable

        return TensorVariable(self, None, None, name)

    def __str__(self) -> str:
        return f"TensorType({self.dtype}, shape={_fmt_shape(self.shape)})"

    __repr__ = __str__


def _fmt_shape(shape: tuple) -> str:
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _describe_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
