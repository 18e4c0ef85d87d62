"""Joining and splitting: concatenate, stack, split, repeat, tile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant
from theanine.graph.op import Op
from theanine.scalar import upcast
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.type import DISCRETE_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable


class Join(Op):
    """Concatenate tensors along ``axis``."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, *tensors):
        tensors = [as_tensor_variable(t) for t in tensors]
        if not tensors:
            raise ValueError("join needs at least one tensor")
        ndim = tensors[0].ndim
        if any(t.ndim != ndim for t in tensors):
            raise TypeError(f"join: all tensors need the same number of dimensions, got "
                            f"{[t.ndim for t in tensors]}")
        if not 0 <= self.axis < ndim:
            raise ValueError(f"join: axis {self.axis} out of range for {ndim}-d tensors")
        dtype = upcast(*[t.type.dtype for t in tensors])
        from theanine.tensor.math import cast

        tensors = [cast(t, dtype) for t in tensors]
        shape = []
        for d in range(ndim):
            col = [t.type.shape[d] for t in tensors]
            if d == self.axis:
                shape.append(None if None in col else sum(col))
            else:
                known = {c for c in col if c is not None}
                if len(known) > 1:
                    raise ValueError(f"join: dimension {d} differs between inputs: {col}")
                shape.append(known.pop() if known else None)
        return Apply(self, tensors, [TensorType(dtype, shape)()])

    def perform(self, node, inputs, out):
        try:
            out[0][0] = np.concatenate(inputs, axis=self.axis)
        except ValueError:
            raise ValueError(f"join along axis {self.axis}: input shapes "
                             f"{[x.shape for x in inputs]} do not match") from None

    def infer_shape(self, node, input_shapes):
        from theanine.tensor.math import add

        first = list(input_shapes[0])
        first[self.axis] = add(*[s[self.axis] for s in input_shapes]) \
            if len(input_shapes) > 1 else first[self.axis]
        return [tuple(first)]

    def L_op(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        if gz is None or outputs[0].type.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        from theanine.tensor.math import add

        grads, start = [], constant(0, dtype="int64")
        for t in inputs:
            n = t.shape[self.axis]
            stop = add(start, n)
            idx = (slice(None),) * self.axis + (slice(start, stop),)
            g = gz[idx]
            if g.type.broadcastable != t.type.broadcastable:
                from theanine.tensor.shape import patternbroadcast

                g = patternbroadcast(g, t.type.broadcastable)
            grads.append(g if t.type.dtype not in DISCRETE_DTYPES else None)
            start = stop
        return grads


def concatenate(tensors: Sequence[Any], axis: int = 0) -> TensorVariable:
    """Join ``tensors`` along an existing ``axis``."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    ndim = tensors[0].ndim
    return Join(axis % ndim if -ndim <= axis < ndim else axis)(*tensors)


def join(axis: int, *tensors: Any) -> TensorVariable:
    """Theano's spelling of :func:`concatenate` (axis first)."""
    return concatenate(tensors, axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> TensorVariable:
    """Join ``tensors`` along a new ``axis``."""
    from theanine.tensor.shape import MakeVector, expand_dims

    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    if axis == 0 and all(t.ndim == 0 for t in tensors):
        return MakeVector(upcast(*[t.type.dtype for t in tensors]))(*tensors)
    return Join(axis % (tensors[0].ndim + 1))(*[expand_dims(t, axis) for t in tensors])


class Split(Op):
    """Split ``x`` along ``axis`` into ``n_splits`` parts of given sizes."""

    __props__ = ("n_splits", "axis")

    def __init__(self, n_splits: int, axis: int) -> None:
        self.n_splits = int(n_splits)
        self.axis = int(axis)
        self.view_map = {i: [0] for i in range(self.n_splits)}  # np.split returns views

    def make_node(self, x, sizes):
        x = as_tensor_variable(x)
        sizes = as_tensor_variable(sizes, ndim=1)
        static = [None] * self.n_splits
        if isinstance(sizes, Constant):
            if len(sizes.data) != self.n_splits:
                raise ValueError(f"split: {len(sizes.data)} sizes for {self.n_splits} splits")
            static = [int(s) for s in sizes.data]
        outs = []
        for s in static:
            shape = list(x.type.shape)
            shape[self.axis] = s
            outs.append(TensorType(x.type.dtype, shape)())
        return Apply(self, [x, sizes], outs)

    def perform(self, node, inputs, out):
        x, sizes = inputs
        if len(sizes) != self.n_splits or int(np.sum(sizes)) != x.shape[self.axis] \
                or np.any(sizes < 0):
            raise ValueError(f"split: sizes {list(sizes)} do not add up to the length "
                             f"{x.shape[self.axis]} of axis {self.axis} of "
                             f"{node.inputs[0].describe()}")
        parts = np.split(x, np.cumsum(sizes)[:-1], axis=self.axis)
        for o, p in zip(out, parts):
            o[0] = p

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.basic import zeros_like

        x = inputs[0]
        if x.type.dtype in DISCRETE_DTYPES:
            return [None, None]
        grads = [g if g is not None else zeros_like(o) for g, o in zip(output_grads, outputs)]
        return [concatenate(grads, self.axis), None]


def split(x: Any, splits_size: Any, n_splits: int, axis: int = 0) -> list[TensorVariable]:
    """Split ``x`` along ``axis`` into parts of lengths ``splits_size``."""
    from theanine.tensor.shape import _norm_axis

    x = as_tensor_variable(x)
    sizes = splits_size if hasattr(splits_size, "type") else \
        as_tensor_variable(splits_size, dtype="int64")
    out = Split(n_splits, _norm_axis(axis, x.ndim))(x, sizes)
    return out if isinstance(out, list) else [out]


class Repeat(Op):
    """``numpy.repeat`` along ``axis`` (repeats: a scalar or a vector)."""

    __props__ = ("axis",)

    def __init__(self, axis: int | None) -> None:
        self.axis = axis

    def make_node(self, x, repeats):
        x = as_tensor_variable(x)
        repeats = as_tensor_variable(repeats)
        if self.axis is None:
            shape: list = [None]
        else:
            shape = list(x.type.shape)
            shape[self.axis] = None
        return Apply(self, [x, repeats], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, out):
        x, repeats = inputs
        out[0][0] = np.repeat(x, repeats, axis=self.axis)

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.math import sum as sum_
        from theanine.tensor.shape import reshape

        x, repeats = inputs
        gz = output_grads[0]
        if gz is None or x.type.dtype in DISCRETE_DTYPES:
            return [None, None]
        if repeats.ndim != 0:
            raise NotImplementedError("the gradient of repeat with a vector of repeats")
        axis = 0 if self.axis is None else self.axis
        base = x.flatten() if self.axis is None else x
        s = base.shape
        new_shape = [s[d] for d in range(axis + 1)] + [repeats] + \
                    [s[d] for d in range(axis + 1, base.ndim)]
        g = sum_(reshape(gz, new_shape, ndim=base.ndim + 1), axis=axis + 1)
        return [reshape(g, x.shape, ndim=x.ndim) if self.axis is None else g, None]


def repeat(x: Any, repeats: Any, axis: int | None = None) -> TensorVariable:
    """Repeat elements of ``x``, as ``numpy.repeat``."""
    from theanine.tensor.shape import _norm_axis

    x = as_tensor_variable(x)
    return Repeat(None if axis is None else _norm_axis(axis, x.ndim))(x, repeats)


def tile(x: Any, reps: Sequence[int], ndim: int | None = None) -> TensorVariable:
    """Repeat ``x`` ``reps`` times along each axis, as ``numpy.tile``."""
    from theanine.tensor.basic import alloc
    from theanine.tensor.shape import reshape, shape_padleft

    x = as_tensor_variable(x)
    reps = list(reps)
    nd = max(x.ndim, len(reps), ndim or 0)
    x = shape_padleft(x, nd - x.ndim) if nd > x.ndim else x
    reps = [1] * (nd - len(reps)) + reps
    s = x.shape
    # (r0, n0, r1, n1, ...) then merge pairs
    pattern = []
    for d in range(nd):
        pattern += ["x", d]
    expanded = x.dimshuffle(pattern)
    big = alloc(expanded, *[v for d in range(nd) for v in (reps[d], s[d])])
    return reshape(big, [reps[d] * s[d] for d in range(nd)], ndim=nd)
