"""Shape ops: Shape, Reshape, SpecifyShape, Rebroadcast, and dimshuffle-based helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.elemwise import DimShuffle
from theanine.tensor.type import INT_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable


class Shape(Op):
    """The shape of a tensor, as an int64 vector."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", (x.ndim,))()])

    def perform(self, node, inputs, out):
        out[0][0] = np.array(inputs[0].shape, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0].ndim,)]

    def L_op(self, inputs, outputs, output_grads):
        return [None]


_shape = Shape()


def shape(x: Any) -> TensorVariable:
    """Symbolic shape of ``x`` (an int64 vector)."""
    return _shape(x)


class MakeVector(Op):
    """Stack scalars into a vector."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype).name

    def make_node(self, *scalars):
        scalars = [as_tensor_variable(s, dtype=self.dtype) for s in scalars]
        if any(s.ndim != 0 for s in scalars):
            raise TypeError("MakeVector takes scalars")
        return Apply(self, scalars, [TensorType(self.dtype, (len(scalars),))()])

    def perform(self, node, inputs, out):
        out[0][0] = np.array(inputs, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [(len(node.inputs),)]

    def L_op(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        if gz is None or self.dtype not in ("float16", "float32", "float64"):
            return [None] * len(inputs)
        return [gz[i] for i in range(len(inputs))]


def _static_entries(shp: Variable, ndim: int) -> list:
    """Known entries of a shape vector of length ``ndim`` (None where unknown)."""
    if isinstance(shp, Constant):
        return [int(v) for v in shp.data]
    if shp.owner is not None and isinstance(shp.owner.op, MakeVector):
        return [int(v.data) if isinstance(v, Constant) else None for v in shp.owner.inputs]
    return [None] * ndim


class Reshape(Op):
    """Reshape to ``ndim`` dimensions given by a shape vector (one entry may be -1)."""

    __props__ = ("ndim",)

    def __init__(self, ndim: int) -> None:
        self.ndim = int(ndim)
        self.view_map = {0: [0]}

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp, ndim=1)
        if shp.type.dtype not in INT_DTYPES:
            raise TypeError(f"reshape: the shape must be integers, got {shp.type.dtype}")
        if shp.type.shape[0] is not None and shp.type.shape[0] != self.ndim:
            raise ValueError(f"reshape: ndim={self.ndim} but the new shape has "
                             f"{shp.type.shape[0]} entries")
        known = _static_entries(shp, self.ndim)
        if known.count(-1) > 1:
            raise ValueError("reshape: at most one entry of the new shape can be -1")
        if -1 in known and None not in known and all(s is not None for s in x.type.shape):
            rest = int(np.prod([k for k in known if k != -1]))
            total = int(np.prod(x.type.shape))
            if rest and total % rest == 0:
                known[known.index(-1)] = total // rest
        static = [None if k is None or k < 0 else k for k in known]
        if all(s is not None for s in static) and all(s is not None for s in x.type.shape) \
                and int(np.prod(static)) != int(np.prod(x.type.shape)):
            raise ValueError(f"cannot reshape {x.describe()} of static shape {x.type.shape} "
                             f"to {tuple(known)}")
        return Apply(self, [x, shp], [TensorType(x.type.dtype, static)()])

    def perform(self, node, inputs, out):
        x, shp = inputs
        try:
            out[0][0] = np.reshape(x, shp)
        except ValueError:
            raise ValueError(f"cannot reshape {node.inputs[0].describe()} of shape {x.shape} "
                             f"(size {x.size}) to {tuple(int(s) for s in shp)}") from None

    def infer_shape(self, node, input_shapes):
        from theanine.tensor import math as m

        x, shp = node.inputs
        known = _static_entries(shp, self.ndim)
        if all(k is not None and k >= 0 for k in known):
            return [tuple(known)]
        total = m.prod(input_shapes[0]) if input_shapes[0] else constant(1, dtype="int64")
        rest = -m.prod(shp)
        return [tuple(m.switch(m.eq(shp[i], -1), total // rest, shp[i])
                      for i in range(self.ndim))]

    def L_op(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        x = inputs[0]
        if gz is None or x.type.dtype not in ("float16", "float32", "float64", "complex64",
                                              "complex128"):
            return [None, None]
        return [reshape(gz, shape(x), ndim=x.ndim), None]


def reshape(x: Any, newshape: Any, ndim: int | None = None) -> TensorVariable:
    """``x`` with a new shape (a tuple of ints or symbolic scalars, or an int vector).

    Examples
    --------
    >>> import theanine.tensor as T
    >>> T.matrix('a').reshape((1, -1)).ndim
    2
    """
    x = as_tensor_variable(x)
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    if isinstance(newshape, (list, tuple)) and any(
            isinstance(s, (float, np.floating)) or
            (isinstance(s, Variable) and s.type.dtype not in INT_DTYPES) for s in newshape):
        raise TypeError(f"reshape: the shape must be integers, got {newshape}")
    shp = as_tensor_variable(newshape, dtype="int64" if not isinstance(newshape, Variable)
                             else None)
    if shp.ndim == 0:
        shp = shp.dimshuffle("x")
    if ndim is None:
        ndim = shp.type.shape[0]
        if ndim is None:
            raise ValueError("reshape: the length of the new shape must be known; pass ndim=")
    if shp.type.dtype != "int64" and shp.type.dtype in INT_DTYPES:
        from theanine.tensor.math import cast

        shp = cast(shp, "int64")
    return Reshape(ndim)(x, shp)


class SpecifyShape(Op):
    """Assert a static shape (``None`` entries are not checked)."""

    __props__ = ("shape",)

    def __init__(self, shape: Sequence[int | None]) -> None:
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.view_map = {0: [0]}

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != len(self.shape):
            raise ValueError(f"specify_shape: {x.describe()} has {x.ndim} dimensions, the "
                             f"shape {self.shape} has {len(self.shape)}")
        static = [s if s is not None else o for s, o in zip(self.shape, x.type.shape)]
        for s, o in zip(self.shape, x.type.shape):
            if s is not None and o is not None and s != o:
                raise ValueError(f"specify_shape: {x.describe()} has static shape "
                                 f"{x.type.shape}, not {self.shape}")
        return Apply(self, [x], [TensorType(x.type.dtype, static)()])

    def perform(self, node, inputs, out):
        x = inputs[0]
        if any(s is not None and s != n for s, n in zip(self.shape, x.shape)):
            raise ValueError(f"{node.inputs[0].describe()} was declared with shape "
                             f"{self.shape} but has shape {x.shape}")
        out[0][0] = x

    def infer_shape(self, node, input_shapes):
        return [tuple(s if s is not None else i for s, i in zip(self.shape, input_shapes[0]))]

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0]]


def specify_shape(x: Any, shape: Sequence[int | None]) -> TensorVariable:
    """``x``, checked at run time to have ``shape`` (``None`` entries free)."""
    return SpecifyShape(shape)(x)


class Rebroadcast(Op):
    """Mark dimensions as broadcastable (length 1, checked) or not."""

    __props__ = ("axis_map",)

    def __init__(self, axis_map: Sequence[tuple[int, bool]]) -> None:
        self.axis_map = tuple(sorted((int(a), bool(b)) for a, b in axis_map))
        self.view_map = {0: [0]}

    def make_node(self, x):
        x = as_tensor_variable(x)
        static = list(x.type.shape)
        for a, b in self.axis_map:
            if a >= x.ndim:
                raise ValueError(f"rebroadcast: axis {a} out of range for {x.describe()}")
            static[a] = 1 if b else (None if static[a] == 1 else static[a])
        return Apply(self, [x], [TensorType(x.type.dtype, static)()])

    def perform(self, node, inputs, out):
        x = inputs[0]
        for a, b in self.axis_map:
            if b and x.shape[a] != 1:
                raise ValueError(f"dimension {a} of {node.inputs[0].describe()} was declared "
                                 f"broadcastable but has length {x.shape[a]}")
        out[0][0] = x

    def infer_shape(self, node, input_shapes):
        s = list(input_shapes[0])
        for a, b in self.axis_map:
            if b:
                s[a] = 1
        return [tuple(s)]

    def L_op(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        if gz is None:
            return [None]
        x = inputs[0]
        back = [(a, x.type.broadcastable[a]) for a, _ in self.axis_map
                if gz.type.broadcastable[a] != x.type.broadcastable[a]]
        return [Rebroadcast(back)(gz) if back else gz]


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> TensorVariable:
    """``x`` with the given broadcastable pattern."""
    x = as_tensor_variable(x)
    changes = [(i, b) for i, b in enumerate(broadcastable) if x.type.broadcastable[i] != b]
    return Rebroadcast(changes)(x) if changes else x


def addbroadcast(x: Any, *axes: int) -> TensorVariable:
    """Mark ``axes`` of ``x`` broadcastable."""
    return Rebroadcast([(a, True) for a in axes])(x)


def unbroadcast(x: Any, *axes: int) -> TensorVariable:
    """Mark ``axes`` of ``x`` not broadcastable."""
    return Rebroadcast([(a, False) for a in axes])(x)


# -- dimshuffle family ---------------------------------------------------------

def dimshuffle(x: Any, pattern: Sequence) -> TensorVariable:
    """Permute dimensions and insert broadcastable ones (``'x'``)."""
    x = as_tensor_variable(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x: Any, axes: Sequence[int] | None = None) -> TensorVariable:
    """Reverse (or permute by ``axes``) the dimensions of ``x``."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    return dimshuffle(x, [a % x.ndim if x.ndim else a for a in axes])


def _norm_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for {ndim} dimensions")
    return axis % ndim


def expand_dims(x: Any, axis: int | Sequence[int]) -> TensorVariable:
    """Insert length-1 dimensions at ``axis``."""
    x = as_tensor_variable(x)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out_ndim = x.ndim + len(axes)
    axes = [_norm_axis(a, out_ndim) for a in axes]
    it = iter(range(x.ndim))
    return dimshuffle(x, ["x" if d in axes else next(it) for d in range(out_ndim)])


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> TensorVariable:
    """Remove broadcastable (static length 1) dimensions."""
    x = as_tensor_variable(x)
    if axis is None:
        drop = [d for d in range(x.ndim) if x.type.broadcastable[d]]
    else:
        drop = [_norm_axis(a, x.ndim) for a in
                ([axis] if isinstance(axis, (int, np.integer)) else axis)]
        for d in drop:
            if not x.type.broadcastable[d]:
                x = addbroadcast(x, d)
    return dimshuffle(x, [d for d in range(x.ndim) if d not in drop])


def shape_padleft(x: Any, n_ones: int = 1) -> TensorVariable:
    """Add ``n_ones`` broadcastable dimensions on the left."""
    x = as_tensor_variable(x)
    return dimshuffle(x, ["x"] * n_ones + list(range(x.ndim)))


def shape_padright(x: Any, n_ones: int = 1) -> TensorVariable:
    """Add ``n_ones`` broadcastable dimensions on the right."""
    x = as_tensor_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n_ones)


def shape_padaxis(x: Any, axis: int) -> TensorVariable:
    """Add a broadcastable dimension at ``axis``."""
    return expand_dims(x, axis)


def flatten(x: Any, ndim: int = 1, outdim: int | None = None) -> TensorVariable:
    """Collapse the trailing dimensions so that ``ndim`` remain."""
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be in 1..{max(x.ndim, 1)}, got {ndim}")
    if ndim == 1:
        return reshape(x, (-1,))
    s = shape(x)
    return reshape(x, [s[i] for i in range(ndim - 1)] + [-1], ndim=ndim)
