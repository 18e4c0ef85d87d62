"""Element-wise ops over tensors: Elemwise (from scalar ops), DimShuffle and reductions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant
from theanine.graph.op import Op
from theanine.scalar import ScalarOp
from theanine.tensor.type import DISCRETE_DTYPES, TensorType


def _is_discrete(var) -> bool:
    return var.type.dtype in DISCRETE_DTYPES


def _pad_left(x, ndim: int):
    """``x`` with broadcastable dimensions added on the left (constants are reshaped)."""
    if isinstance(x, Constant):
        from theanine.tensor.basic import constant

        return constant(x.data.reshape((1,) * (ndim - x.ndim) + x.data.shape), name=x.name)
    return x.dimshuffle(["x"] * (ndim - x.ndim) + list(range(x.ndim)))


class Elemwise(Op):
    """Apply a scalar op to every element of broadcast inputs.

    Broadcasting follows Theano: dimensions of static length 1 broadcast; a
    dimension whose length is unknown at build time must match at run time.
    """

    __props__ = ("scalar_op", "inplace_pattern")

    def __init__(self, scalar_op: ScalarOp, inplace_pattern: tuple = ()) -> None:
        self.scalar_op = scalar_op
        self.inplace_pattern = tuple(inplace_pattern)
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}

    def __str__(self) -> str:
        return f"Elemwise{{{self.scalar_op}}}" + (
            f"[inplace={self.inplace_pattern}]" if self.inplace_pattern else "")

    def make_node(self, *inputs: Any) -> Apply:
        from theanine.tensor.basic import as_elemwise_inputs

        inputs = as_elemwise_inputs(inputs)
        so = self.scalar_op
        if so.nin != -1 and len(inputs) != so.nin:
            raise TypeError(f"{so.name} takes {so.nin} inputs, got {len(inputs)}")
        ndim = max(x.ndim for x in inputs)
        inputs = [x if x.ndim == ndim else _pad_left(x, ndim) for x in inputs]
        shape = []
        for d in range(ndim):
            lengths = {x.type.shape[d] for x in inputs} - {1}
            known = lengths - {None}
            if len(known) > 1:
                shapes = ", ".join(str(x.type.shape) for x in inputs)
                raise ValueError(f"{so.name}: incompatible static shapes {shapes} in dimension {d}"
                                 + "".join(f"; input {i} is {x.describe()}"
                                           for i, x in enumerate(inputs)))
            if known:
                shape.append(known.pop())
            elif None in lengths:
                shape.append(None)
            else:
                shape.append(1)
        dtype = so.output_dtype(*[x.type.dtype for x in inputs])
        out = TensorType(dtype, shape)()
        return Apply(self, inputs, [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], out: list) -> None:
        dtype = node.outputs[0].type.numpy_dtype
        so = self.scalar_op
        if so.float_args and inputs[0].dtype != dtype:
            inputs = [np.asarray(x, dtype) for x in inputs]
        elif dtype.kind in "fc" and any(x.dtype.kind in "biu" for x in inputs):
            # compute in the output precision (NumPy would use float16 for int8 inputs)
            inputs = [np.asarray(x, dtype) if x.dtype.kind in "biu" else x for x in inputs]
        try:
            if self.inplace_pattern:
                fn = so.binary if (so.nin == -1 and len(inputs) == 2) else so.fn
                result = fn(*inputs, out=inputs[self.inplace_pattern[0][1]])
            else:
                result = so.fn(*inputs)
        except ValueError:
            self._check_broadcast(node, inputs, None)
            raise
        if type(result) is not np.ndarray or result.dtype != dtype:
            result = np.asarray(result, dtype=dtype)
        if len(inputs) > 1:
            shape = result.shape
            for x in inputs:
                if x.shape != shape:
                    self._check_broadcast(node, inputs, shape)
                    break
        out[0][0] = result

    def make_py_thunk(self, node: Apply, ins: list, outs: list):
        """A specialised VM thunk for one or two inputs (no per-call argument lists)."""
        so = self.scalar_op
        dtype = node.outputs[0].type.numpy_dtype
        if so.float_args and any(i.type.numpy_dtype != dtype for i in node.inputs):
            return None
        if dtype.kind in "fc" and any(i.type.numpy_dtype.kind in "biu" for i in node.inputs):
            return None  # perform() computes in the output precision
        fn = so.binary if (so.nin == -1 and len(ins) == 2) else so.fn
        if self.inplace_pattern:
            return None
        o = outs[0]
        ndarray, asarray, check = np.ndarray, np.asarray, self._check_broadcast
        if len(ins) == 1:
            (a,) = ins

            def unary() -> None:
                r = fn(a[0])
                if type(r) is not ndarray or r.dtype != dtype:
                    r = asarray(r, dtype)
                o[0] = r
            return unary
        if len(ins) == 2:
            a, b = ins

            def binary() -> None:
                x, y = a[0], b[0]
                try:
                    r = fn(x, y)
                except ValueError:
                    check(node, (x, y), None)
                    raise
                if type(r) is not ndarray or r.dtype != dtype:
                    r = asarray(r, dtype)
                if x.shape != r.shape or y.shape != r.shape:
                    check(node, (x, y), r.shape)
                o[0] = r
            return binary
        return None

    def _check_broadcast(self, node: Apply, inputs: Sequence[np.ndarray],
                         shape: tuple | None) -> None:
        """Raise a ValueError naming the inputs if their shapes are not compatible.

        ``shape`` is the result's shape (None when NumPy itself refused to broadcast).
        Given the result's shape, only the dimensions along which an input may not
        broadcast need a look (NumPy refused any other mismatch); they are found once
        per node.
        """
        if shape is not None:
            strict = node.tag.get("strict_dims")
            if strict is None:
                strict = node.tag["strict_dims"] = tuple(
                    (i, d) for i, v in enumerate(node.inputs)
                    for d, b in enumerate(v.type.broadcastable) if not b)
            for i, d in strict:
                if inputs[i].shape[d] != shape[d]:
                    break
            else:
                return
        shapes = ", ".join(str(v.shape) for v in inputs)
        ndim = max(v.ndim for v in inputs)
        for d in range(ndim):
            lengths = [v.shape[d] for v in inputs]
            target = shape[d] if shape is not None else max(lengths)
            for var, x, n in zip(node.inputs, inputs, lengths):
                if n == target:
                    continue
                if n == 1 and var.type.broadcastable[d]:
                    continue
                others = "; ".join(f"{v.describe()} has length {m}"
                                   for v, m in zip(node.inputs, lengths) if v is not var)
                hint = (" (it has length 1 at run time but was not declared broadcastable: "
                        "declare it with T.row/T.col or broadcastable=... to broadcast it)"
                        if n == 1 else "")
                raise ValueError(
                    f"{self.scalar_op.name}: input shapes {shapes} do not match in dimension "
                    f"{d}: {var.describe()} has length {n}{hint}; {others}")

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        out_type = node.outputs[0].type
        shape = []
        for d in range(out_type.ndim):
            if out_type.shape[d] is not None:
                shape.append(out_type.shape[d])
                continue
            candidates = [s[d] for s, x in zip(input_shapes, node.inputs)
                          if not x.type.broadcastable[d]]
            shape.append(candidates[0])
        return [tuple(shape)]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor import math as m

        gz = output_grads[0]
        if gz is None:
            return [None] * len(inputs)
        grads = self.scalar_op.grad(list(inputs), outputs[0], gz)
        result = []
        for x, g in zip(inputs, grads):
            if g is None or _is_discrete(x) or not hasattr(g, "type"):
                result.append(g if g is not None and not hasattr(g, "type") else None)
                continue
            axes = [d for d in range(x.ndim)
                    if x.type.broadcastable[d] and not g.type.broadcastable[d]]
            if axes:
                g = m.sum(g, axis=axes, keepdims=True)
            if g.type.dtype != x.type.dtype:
                g = m.cast(g, x.type.dtype)
            result.append(g)
        return result


class DimShuffle(Op):
    """Reorder dimensions, insert broadcastable ones (``'x'``) and drop length-1 ones."""

    __props__ = ("input_ndim", "new_order")

    def __init__(self, input_ndim: int, new_order: Sequence) -> None:
        self.input_ndim = int(input_ndim)
        self.new_order = tuple(new_order)
        kept = [d for d in self.new_order if d != "x"]
        if len(set(kept)) != len(kept) or any(
                not isinstance(d, (int, np.integer)) or d < 0 or d >= input_ndim for d in kept):
            raise ValueError(f"invalid dimshuffle pattern {self.new_order} for a "
                             f"{input_ndim}-d input")
        self.drop = tuple(d for d in range(input_ndim) if d not in kept)
        self.perm = tuple(kept)
        self._perm_after_drop = tuple(sorted(kept).index(d) for d in kept)
        self.augment = tuple(i for i, d in enumerate(self.new_order) if d == "x")
        self.view_map = {0: [0]}

    def __str__(self) -> str:
        return f"DimShuffle{{{','.join(map(str, self.new_order))}}}"

    def make_node(self, x: Any) -> Apply:
        from theanine.tensor.basic import as_tensor_variable

        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(f"DimShuffle expected a {self.input_ndim}-d input, got "
                            f"{x.describe()} with {x.ndim} dimensions")
        for d in self.drop:
            if x.type.shape[d] != 1:
                raise ValueError(f"cannot drop dimension {d} of {x.describe()}: it is not "
                                 f"broadcastable (static shape {x.type.shape})")
        shape = [1 if d == "x" else x.type.shape[d] for d in self.new_order]
        return Apply(self, [x], [TensorType(x.type.dtype, shape)()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], out: list) -> None:
        x = inputs[0]
        if self.drop:
            x = x.reshape([n for d, n in enumerate(x.shape) if d not in self.drop])
        if self._perm_after_drop != tuple(range(len(self.perm))):
            x = x.transpose(self._perm_after_drop)
        if self.augment:
            x = np.expand_dims(x, self.augment)
        out[0][0] = x

    def make_py_thunk(self, node, ins, outs):
        """Without a transposition, a dimshuffle is a reshape (much cheaper than
        ``expand_dims``)."""
        if self._perm_after_drop != tuple(range(len(self.perm))):
            return None
        (a,), o = ins, outs[0]
        order = tuple(-1 if d == "x" else d for d in self.new_order)

        def thunk() -> None:
            x = a[0]
            s = x.shape
            o[0] = x.reshape(tuple(1 if d < 0 else s[d] for d in order))
        return thunk

    def infer_shape(self, node, input_shapes):
        s = input_shapes[0]
        return [tuple(1 if d == "x" else s[d] for d in self.new_order)]

    def L_op(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        if gz is None or _is_discrete(inputs[0]):
            return [None]
        # undo: drop the inserted axes, invert the permutation, re-insert dropped axes
        kept_positions = [i for i, d in enumerate(self.new_order) if d != "x"]
        g = gz.dimshuffle(kept_positions) if len(kept_positions) != gz.ndim else gz
        order = []
        for d in range(self.input_ndim):
            order.append("x" if d in self.drop else self.perm.index(d))
        return [g.dimshuffle(order)]


_REDUCERS = {
    "sum": (np.add, None), "prod": (np.multiply, None), "max": (np.maximum, None),
    "min": (np.minimum, None), "all": (np.logical_and, "bool"), "any": (np.logical_or, "bool"),
}


class Reduce(Op):
    """Reduction of ``axis`` (a tuple) with ``kind`` in sum, prod, max, min, all, any."""

    __props__ = ("kind", "axis", "acc_dtype")

    def __init__(self, kind: str, axis: Sequence[int], acc_dtype: str | None = None) -> None:
        if kind not in _REDUCERS:
            raise ValueError(f"unknown reduction {kind!r}")
        self.kind = kind
        self.axis = tuple(sorted(int(a) for a in axis))
        self.acc_dtype = acc_dtype
        self.fn = _REDUCERS[kind][0]

    def __str__(self) -> str:
        return f"{self.kind.capitalize()}{{axis={list(self.axis)}}}"

    def _out_dtype(self, dtype: str) -> str:
        if self.acc_dtype is not None:
            return self.acc_dtype
        fixed = _REDUCERS[self.kind][1]
        if fixed:
            return fixed
        if self.kind in ("sum", "prod"):
            return np.sum(np.zeros(1, dtype)).dtype.name
        return dtype

    def make_node(self, x: Any) -> Apply:
        from theanine.tensor.basic import as_tensor_variable

        x = as_tensor_variable(x)
        for a in self.axis:
            if a >= x.ndim:
                raise ValueError(f"{self.kind}: axis {a} is out of range for {x.describe()} "
                                 f"with {x.ndim} dimensions")
        shape = [s for d, s in enumerate(x.type.shape) if d not in self.axis]
        return Apply(self, [x], [TensorType(self._out_dtype(x.type.dtype), shape)()])

    def perform(self, node, inputs, out):
        x = inputs[0]
        dtype = node.outputs[0].type.numpy_dtype
        if self.kind in ("max", "min") and x.size == 0 and any(x.shape[a] == 0 for a in self.axis):
            raise ValueError(f"{self.kind} of an empty array along axis {list(self.axis)} "
                             f"(input {node.inputs[0].describe()} has shape {x.shape})")
        if self.kind in ("sum", "prod"):
            res = self.fn.reduce(x, axis=self.axis, dtype=dtype)
        else:
            res = self.fn.reduce(x, axis=self.axis)
        out[0][0] = res if type(res) is np.ndarray and res.dtype == dtype \
            else np.asarray(res, dtype=dtype)

    def make_py_thunk(self, node, ins, outs):
        if self.kind not in ("sum", "prod"):
            return None
        (a,), o = ins, outs[0]
        dtype, axis, reduce = node.outputs[0].type.numpy_dtype, self.axis, self.fn.reduce
        ndarray, asarray = np.ndarray, np.asarray

        def thunk() -> None:
            r = reduce(a[0], axis=axis, dtype=dtype)
            o[0] = r if type(r) is ndarray else asarray(r, dtype)
        return thunk

    def infer_shape(self, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor import math as m

        (x,), (z,), (gz,) = inputs, outputs, output_grads
        if gz is None or _is_discrete(x) or self.kind in ("all", "any"):
            return [None]
        order, j = [], 0
        for d in range(x.ndim):
            if d in self.axis:
                order.append("x")
            else:
                order.append(j)
                j += 1
        gz_b = gz.dimshuffle(order)
        if self.kind == "sum":
            g = m.second(x, gz_b)
        elif self.kind in ("max", "min"):
            g = gz_b * m.eq(x, z.dimshuffle(order))
        else:  # prod, exact when x has zeros
            is_zero = m.eq(x, 0)
            n_zero = m.sum(is_zero, axis=self.axis, keepdims=True)
            prod_nz = m.prod(m.switch(is_zero, 1, x), axis=self.axis, keepdims=True)
            safe_x = m.switch(is_zero, 1, x)
            g = gz_b * m.switch(m.eq(n_zero, 0), prod_nz / safe_x,
                                m.switch(m.and_(m.eq(n_zero, 1), is_zero), prod_nz, 0))
        if g.type.dtype != x.type.dtype:
            g = m.cast(g, x.type.dtype)
        return [g]
