"""Tensor variables: Python operators, NumPy-like methods and indexing."""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.graph.basic import Constant, Variable


class _TensorOps:
    """Operators and methods shared by tensor variables and constants."""

    # -- arithmetic --------------------------------------------------------------
    def __add__(self, other): return _m().add(self, other)
    def __radd__(self, other): return _m().add(other, self)
    def __sub__(self, other): return _m().sub(self, other)
    def __rsub__(self, other): return _m().sub(other, self)
    def __mul__(self, other): return _m().mul(self, other)
    def __rmul__(self, other): return _m().mul(other, self)
    def __truediv__(self, other): return _m().true_div(self, other)
    def __rtruediv__(self, other): return _m().true_div(other, self)
    def __floordiv__(self, other): return _m().int_div(self, other)
    def __rfloordiv__(self, other): return _m().int_div(other, self)
    def __mod__(self, other): return _m().mod(self, other)
    def __rmod__(self, other): return _m().mod(other, self)
    def __pow__(self, other): return _m().pow(self, other)
    def __rpow__(self, other): return _m().pow(other, self)
    def __matmul__(self, other): return _m().matmul(self, other)
    def __rmatmul__(self, other): return _m().matmul(other, self)
    def __neg__(self): return _m().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _m().abs(self)
    def __invert__(self): return _m().invert(self)
    def __and__(self, other): return _m().and_(self, other)
    def __rand__(self, other): return _m().and_(other, self)
    def __or__(self, other): return _m().or_(self, other)
    def __ror__(self, other): return _m().or_(other, self)
    def __xor__(self, other): return _m().xor(self, other)
    def __rxor__(self, other): return _m().xor(other, self)

    # -- comparisons (element-wise) ----------------------------------------------
    def __lt__(self, other): return _m().lt(self, other)
    def __le__(self, other): return _m().le(self, other)
    def __gt__(self, other): return _m().gt(self, other)
    def __ge__(self, other): return _m().ge(self, other)

    # ``==`` keeps Python identity semantics (variables are dict keys); use eq().
    __hash__ = Variable.__hash__

    def __bool__(self) -> bool:
        owner = getattr(self, "owner", None)
        if owner is not None and getattr(owner.op, "scalar_op", None) is not None and \
                owner.op.scalar_op.name in ("lt", "le", "gt", "ge", "eq", "neq"):
            raise TypeError(
                f"the truth value of the symbolic comparison {self} is unknown until the "
                f"function runs; use theanine.tensor.switch or ifelse instead of `if`")
        return True

    def __iter__(self):
        shape = self.type.shape
        if self.ndim == 0 or shape[0] is None:
            raise TypeError(f"cannot iterate over {self.describe()}: its length is not known "
                            f"when the graph is built (use scan, or index it explicitly)")
        for i in range(shape[0]):
            yield self[i]

    def __len__(self) -> int:
        shape = self.type.shape
        if self.ndim == 0 or shape[0] is None:
            raise TypeError(f"len() of {self.describe()} is not known when the graph is "
                            f"built; use x.shape[0]")
        return shape[0]

    # -- attributes ----------------------------------------------------------------
    @property
    def ndim(self) -> int: return self.type.ndim
    @property
    def dtype(self) -> str: return self.type.dtype
    @property
    def broadcastable(self) -> tuple[bool, ...]: return self.type.broadcastable
    @property
    def shape(self): return _b().shape(self)
    @property
    def size(self): return _m().prod(self.shape)
    @property
    def T(self): return _b().transpose(self)
    @property
    def real(self): return _m().real(self)
    @property
    def imag(self): return _m().imag(self)

    # -- methods -------------------------------------------------------------------
    def reshape(self, shape, *more, ndim=None):
        if more or isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = (shape, *more)
        return _b().reshape(self, shape, ndim=ndim)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _b().dimshuffle(self, pattern)

    def flatten(self, ndim=1): return _b().flatten(self, ndim)
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return _b().transpose(self, axes or None)
    def astype(self, dtype): return _m().cast(self, dtype)
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _m().sum(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _m().prod(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _m().mean(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _m().var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)
    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _m().std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)
    def max(self, axis=None, keepdims=False): return _m().max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _m().min(self, axis=axis, keepdims=keepdims)
    def argmax(self, axis=None, keepdims=False):
        return _m().argmax(self, axis=axis, keepdims=keepdims)
    def argmin(self, axis=None, keepdims=False):
        return _m().argmin(self, axis=axis, keepdims=keepdims)
    def all(self, axis=None, keepdims=False): return _m().all(self, axis=axis, keepdims=keepdims)
    def any(self, axis=None, keepdims=False): return _m().any(self, axis=axis, keepdims=keepdims)
    def dot(self, other): return _m().dot(self, other)
    def clip(self, a_min, a_max): return _m().clip(self, a_min, a_max)
    def round(self, mode=None): return _m().round(self, mode)
    def nonzero(self, return_matrix=False): return _b().nonzero(self, return_matrix)
    def squeeze(self, axis=None): return _b().squeeze(self, axis)
    def repeat(self, repeats, axis=None): return _b().repeat(self, repeats, axis)
    def conj(self): return _m().conj(self)
    def copy(self, name=None):
        out = _m().identity(self)
        out.name = name
        return out

    # -- indexing --------------------------------------------------------------------
    def __getitem__(self, index):
        from theanine.tensor import subtensor

        return subtensor.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("symbolic variables are immutable: use "
                        "theanine.tensor.set_subtensor(x[index], value) or inc_subtensor")


def _m():
    from theanine.tensor import math

    return math


def _b():
    import theanine.tensor

    return theanine.tensor


class TensorVariable(_TensorOps, Variable):
    """A symbolic tensor."""


class TensorConstant(_TensorOps, Constant):
    """A constant tensor."""

    def __init__(self, type, data, name=None):
        Constant.__init__(self, type, data, name)
        self.data.setflags(write=False)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.data.setflags(write=False)  # unpickled arrays are writeable

    @property
    def value(self) -> np.ndarray:
        return self.data

    def __bool__(self) -> bool:  # constants know their truth value
        return bool(self.data)

    def eval(self, inputs_to_values: dict | None = None) -> Any:
        return self.data.copy()
