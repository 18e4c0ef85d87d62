"""Other array ops: nonzero, cumulative sums and products."""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import DISCRETE_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable


class Nonzero(Op):
    """Indices of the non-zero elements, one int64 vector per dimension."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise ValueError("nonzero of a 0-d tensor is not defined")
        return Apply(self, [x], [TensorType("int64", (None,))() for _ in range(x.ndim)])

    def perform(self, node, inputs, out):
        for o, idx in zip(out, np.nonzero(inputs[0])):
            o[0] = idx.astype("int64")

    def L_op(self, inputs, outputs, output_grads):
        return [None]


def nonzero(x: Any, return_matrix: bool = False) -> Any:
    """Indices of the non-zero elements of ``x``: a tuple of vectors (or a matrix)."""
    from theanine.tensor.join import stack

    outs = Nonzero().make_node(x).outputs
    if return_matrix:
        return stack(outs)
    return tuple(outs)


def flatnonzero(x: Any) -> TensorVariable:
    """Indices of the non-zero elements of the flattened ``x``."""
    return nonzero(as_tensor_variable(x).flatten())[0]


class CumOp(Op):
    """Cumulative sum (``mode='add'``) or product (``'mul'``) along ``axis``."""

    __props__ = ("axis", "mode")

    def __init__(self, axis: int | None, mode: str = "add") -> None:
        self.axis = axis
        self.mode = mode

    def make_node(self, x):
        x = as_tensor_variable(x)
        shape = (None,) if self.axis is None else x.type.shape
        dtype = np.cumsum(np.zeros(1, x.type.dtype)).dtype.name
        return Apply(self, [x], [TensorType(dtype, shape)()])

    def perform(self, node, inputs, out):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        out[0][0] = fn(inputs[0], axis=self.axis).astype(node.outputs[0].type.numpy_dtype)

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.math import cast

        (x,), (gz,) = inputs, output_grads
        if gz is None or x.type.dtype in DISCRETE_DTYPES:
            return [None]
        if self.mode == "add":
            if self.axis is None:
                g = cumsum(gz[::-1])[::-1]
                return [cast(g.reshape(x.shape, ndim=x.ndim), x.type.dtype)]
            idx = (slice(None),) * self.axis + (slice(None, None, -1),)
            return [cast(cumsum(gz[idx], self.axis)[idx], x.type.dtype)]
        from theanine.gradient import grad_not_implemented

        return [grad_not_implemented(self, 0, x, "cumprod's gradient is not implemented")]


def cumsum(x: Any, axis: int | None = None) -> TensorVariable:
    """Cumulative sum along ``axis`` (of the flattened tensor when None)."""
    from theanine.tensor.shape import _norm_axis

    x = as_tensor_variable(x)
    return CumOp(None if axis is None else _norm_axis(axis, x.ndim), "add")(x)


def cumprod(x: Any, axis: int | None = None) -> TensorVariable:
    """Cumulative product along ``axis`` (of the flattened tensor when None)."""
    from theanine.tensor.shape import _norm_axis

    x = as_tensor_variable(x)
    return CumOp(None if axis is None else _norm_axis(axis, x.ndim), "mul")(x)
