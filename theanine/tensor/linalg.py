"""Products: dot, matmul, tensordot, outer, batched_dot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.scalar import upcast
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import DISCRETE_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable


def _grad_cast(g, x):
    if x.type.dtype in DISCRETE_DTYPES:
        return None
    from theanine.tensor.math import cast

    return cast(g, x.type.dtype)


class Dot(Op):
    """Vector and matrix products (``numpy.dot`` for 1-d and 2-d inputs)."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim not in (1, 2) or y.ndim not in (1, 2):
            raise TypeError(f"Dot takes 1-d or 2-d inputs, got {x.describe()} ({x.ndim}-d) "
                            f"and {y.describe()} ({y.ndim}-d)")
        kx, ky = x.type.shape[-1], y.type.shape[0]
        if kx is not None and ky is not None and kx != ky:
            raise ValueError(f"dot: shapes {x.type.shape} and {y.type.shape} are not aligned "
                             f"({x.describe()}, {y.describe()})")
        shape = list(x.type.shape[:-1]) + list(y.type.shape[1:])
        return Apply(self, [x, y], [TensorType(upcast(x.type.dtype, y.type.dtype), shape)()])

    def perform(self, node, inputs, out):
        x, y = inputs
        if x.shape[-1] != y.shape[0]:
            xv, yv = node.inputs
            raise ValueError(f"dot: shapes {x.shape} and {y.shape} are not aligned: dimension "
                             f"{x.ndim - 1} of {xv.describe()} has length {x.shape[-1]}, "
                             f"dimension 0 of {yv.describe()} has length {y.shape[0]}")
        dtype = node.outputs[0].type.numpy_dtype
        if x.dtype != dtype:
            x = x.astype(dtype)
        if y.dtype != dtype:
            y = y.astype(dtype)
        res = np.dot(x, y)
        out[0][0] = res if type(res) is np.ndarray else np.asarray(res, dtype)

    def infer_shape(self, node, input_shapes):
        sx, sy = input_shapes
        return [tuple(sx[:-1]) + tuple(sy[1:])]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.math import mul

        x, y = inputs
        gz = output_grads[0]
        if gz is None:
            return [None, None]
        if x.ndim == 1 and y.ndim == 1:
            gx, gy = mul(gz, y), mul(gz, x)
        elif x.ndim == 2 and y.ndim == 1:
            gx, gy = outer(gz, y), dot(x.T, gz)
        elif x.ndim == 1 and y.ndim == 2:
            gx, gy = dot(y, gz), outer(x, gz)
        else:
            gx, gy = dot(gz, y.T), dot(x.T, gz)
        return [_grad_cast(gx, x), _grad_cast(gy, y)]


_dot = Dot()


def dot(x: Any, y: Any) -> TensorVariable:
    """Generalised dot product, as ``numpy.dot``.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> T.dot(T.matrix(), T.vector()).ndim
    1
    """
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return _dot(x, y)
    return tensordot(x, y, [[x.ndim - 1], [max(y.ndim - 2, 0)]])


class MatMul(Op):
    """``numpy.matmul`` of inputs with the same number (>= 2) of dimensions."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim != y.ndim or x.ndim < 2:
            raise TypeError("MatMul takes inputs with the same number (>= 2) of dimensions")
        batch = []
        for a, b in zip(x.type.shape[:-2], y.type.shape[:-2]):
            batch.append(b if a == 1 else a if b == 1 else (a if a is not None else b))
        shape = batch + [x.type.shape[-2], y.type.shape[-1]]
        return Apply(self, [x, y], [TensorType(upcast(x.type.dtype, y.type.dtype), shape)()])

    def perform(self, node, inputs, out):
        x, y = inputs
        try:
            res = np.matmul(x, y, dtype=node.outputs[0].type.numpy_dtype)
        except ValueError:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not match "
                             f"({node.inputs[0].describe()}, {node.inputs[1].describe()})") from None
        out[0][0] = res

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.math import sum as sum_

        x, y = inputs
        gz = output_grads[0]
        if gz is None:
            return [None, None]
        nd = x.ndim
        swap = list(range(nd - 2)) + [nd - 1, nd - 2]
        res = []
        for var, g in ((x, matmul(gz, y.dimshuffle(swap))), (y, matmul(x.dimshuffle(swap), gz))):
            axes = [d for d in range(nd - 2)
                    if var.type.broadcastable[d] and not g.type.broadcastable[d]]
            if axes:
                g = sum_(g, axis=axes, keepdims=True)
            res.append(_grad_cast(g, var))
        return res


_matmul = MatMul()


def matmul(x: Any, y: Any) -> TensorVariable:
    """Matrix product with batch broadcasting, as ``numpy.matmul`` (the ``@`` operator)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("matmul: scalar operands are not allowed; use *")
    if x.ndim <= 2 and y.ndim <= 2:
        return _dot(x, y)
    xv, yv = x.ndim == 1, y.ndim == 1
    if xv:
        x = x.dimshuffle("x", 0)
    if yv:
        y = y.dimshuffle(0, "x")
    nd = max(x.ndim, y.ndim)
    x = x.dimshuffle(["x"] * (nd - x.ndim) + list(range(x.ndim)))
    y = y.dimshuffle(["x"] * (nd - y.ndim) + list(range(y.ndim)))
    out = _matmul(x, y)
    if xv or yv:
        keep = [d for d in range(nd) if not (xv and d == nd - 2) and not (yv and d == nd - 1)]
        out = out.dimshuffle(keep)
    return out


def outer(x: Any, y: Any) -> TensorVariable:
    """Outer product of two vectors."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1 or y.ndim != 1:
        x, y = x.flatten(), y.flatten()
    return x.dimshuffle(0, "x") * y.dimshuffle("x", 0)


def batched_dot(x: Any, y: Any) -> TensorVariable:
    """Dot products of matching slices along the first axis.

    ``(B, n, m) x (B, m, p) -> (B, n, p)``; ``(B, n) x (B, n) -> (B,)``.
    """
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim < 2 or y.ndim < 2:
        raise TypeError("batched_dot takes inputs with at least 2 dimensions")
    xv, yv = x.ndim == 2, y.ndim == 2
    if xv:
        x = x.dimshuffle(0, "x", 1)
    if yv:
        y = y.dimshuffle(0, 1, "x")
    out = matmul(x, y)
    keep = [d for d in range(out.ndim)
            if not (xv and d == out.ndim - 2) and not (yv and d == out.ndim - 1)]
    return out.dimshuffle(keep) if len(keep) != out.ndim else out


def tensordot(a: Any, b: Any, axes: int | Sequence = 2) -> TensorVariable:
    """Sum products over the given axes, as ``numpy.tensordot``."""
    from theanine.tensor.shape import reshape, transpose
    from theanine.tensor.math import prod

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(a.ndim - int(axes), a.ndim))
        axes_b = list(range(int(axes)))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError("tensordot: the two lists of axes must have the same length")
    axes_a = [x % a.ndim for x in axes_a]
    axes_b = [x % b.ndim for x in axes_b]
    free_a = [d for d in range(a.ndim) if d not in axes_a]
    free_b = [d for d in range(b.ndim) if d not in axes_b]
    sa, sb = a.shape, b.shape

    def size(s, var, dims):
        static = [var.type.shape[d] for d in dims]
        if None not in static:
            return int(np.prod(static)) if dims else 1
        return prod([s[d] for d in dims])

    at = reshape(transpose(a, free_a + axes_a), (size(sa, a, free_a), size(sa, a, axes_a)))
    bt = reshape(transpose(b, axes_b + free_b), (size(sb, b, axes_b), size(sb, b, free_b)))
    res = _dot(at, bt)
    out_shape = [a.type.shape[d] if a.type.shape[d] is not None else sa[d] for d in free_a] + \
                [b.type.shape[d] if b.type.shape[d] is not None else sb[d] for d in free_b]
    return reshape(res, out_shape, ndim=len(out_shape))
