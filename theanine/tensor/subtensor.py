"""Indexing: basic (ints and slices) and advanced (integer arrays, boolean masks),
with set_subtensor / inc_subtensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.type import DISCRETE_DTYPES, INT_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable

# An index description ("idx" prop) is a tuple with one entry per indexed dimension:
#   ("i",)            an integer scalar, taken from the next input
#   ("s", a, b, c)    a slice; each of a, b, c is None or "in" (taken from the next input)
#   ("a",)            an integer or boolean array, taken from the next input (advanced)
#   ("n",)            numpy.newaxis (advanced indexing only)


def _build_index(idx: tuple, values: list) -> tuple:
    it = iter(values)
    out = []
    for entry in idx:
        kind = entry[0]
        if kind == "s":
            out.append(slice(*[None if c is None else int(next(it)) for c in entry[1:]]))
        elif kind == "n":
            out.append(None)
        elif kind == "i":
            out.append(int(next(it)))
        else:
            out.append(next(it))
    return tuple(out)


def _describe_idx(idx: tuple) -> str:
    parts = []
    for entry in idx:
        if entry[0] == "s":
            parts.append(":".join("" if c is None else "*" for c in entry[1:3]) +
                         ("" if entry[3] is None else ":*"))
        else:
            parts.append({"i": "int", "a": "array", "n": "newaxis"}[entry[0]])
    return ", ".join(parts)


def _static_slice_length(entry: tuple, n: int | None, inputs: list) -> int | None:
    if n is None:
        return None
    vals = []
    for c in entry[1:]:
        if c is None:
            vals.append(None)
        else:
            v = inputs.pop(0)
            if not isinstance(v, Constant):
                return None
            vals.append(int(v.data))
    return len(range(*slice(*vals).indices(n)))


class Subtensor(Op):
    """``x[idx]`` for integer and slice indices (a view)."""

    __props__ = ("idx",)

    def __init__(self, idx: tuple) -> None:
        self.idx = tuple(idx)
        self.view_map = {0: [0]}

    def __str__(self) -> str:
        return f"Subtensor{{{_describe_idx(self.idx)}}}"

    def make_node(self, x, *index_inputs):
        x = as_tensor_variable(x)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        for i in index_inputs:
            if i.ndim != 0 or i.type.dtype not in INT_DTYPES:
                raise TypeError(f"indices must be integer scalars, got {i.describe()} "
                                f"({i.type})")
        if len(self.idx) > x.ndim:
            raise IndexError(f"too many indices for {x.describe()}: it has {x.ndim} "
                             f"dimensions, {len(self.idx)} were given")
        shape, pending = [], list(index_inputs)
        for d, entry in enumerate(self.idx):
            if entry[0] == "i":
                v = pending.pop(0)
                n = x.type.shape[d]
                if isinstance(v, Constant) and n is not None and not -n <= int(v.data) < n:
                    raise IndexError(f"index {int(v.data)} is out of bounds for axis {d} of "
                                     f"{x.describe()} with size {n}")
            else:
                n_comp = sum(c is not None for c in entry[1:])
                comps = pending[:n_comp]
                pending = pending[n_comp:]
                if all(c is None for c in entry[1:]):
                    shape.append(x.type.shape[d])
                else:
                    shape.append(_static_slice_length(entry, x.type.shape[d], list(comps)))
        shape.extend(x.type.shape[len(self.idx):])
        return Apply(self, [x, *index_inputs], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, out):
        x, *vals = inputs
        out[0][0] = np.asarray(x[_build_index(self.idx, vals)])

    def infer_shape(self, node, input_shapes):
        from theanine.tensor import math as m

        xshape = input_shapes[0]
        vals = list(node.inputs[1:])
        res = []
        for d, entry in enumerate(self.idx):
            if entry[0] == "i":
                vals.pop(0)
                continue
            comps = [None if c is None else vals.pop(0) for c in entry[1:]]
            if all(c is None for c in comps):
                res.append(xshape[d])
            else:
                res.append(SliceLength()(xshape[d], *[
                    constant(-(2**62), dtype="int64") if c is None else m.cast(c, "int64")
                    for c in comps]))
        res.extend(xshape[len(self.idx):])
        return [tuple(res)]

    def L_op(self, inputs, outputs, output_grads):
        x, *rest = inputs
        gz = output_grads[0]
        if gz is None or x.type.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        from theanine.tensor.basic import zeros_like

        return [IncSubtensor(self.idx)(zeros_like(x), gz, *rest)] + [None] * len(rest)


class SliceLength(Op):
    """Length of ``range(n)[start:stop:step]``; -2**62 stands for an omitted component."""

    def make_node(self, n, start, stop, step):
        ins = [as_tensor_variable(v) for v in (n, start, stop, step)]
        return Apply(self, ins, [TensorType("int64", ())()])

    def perform(self, node, inputs, out):
        n, *comps = (int(v) for v in inputs)
        sl = slice(*[None if c == -(2**62) else c for c in comps])
        out[0][0] = np.asarray(len(range(*sl.indices(n))), dtype="int64")

    def L_op(self, inputs, outputs, output_grads):
        return [None] * 4


class IncSubtensor(Op):
    """``x`` with ``x[idx]`` incremented by (or set to) ``y``; basic indices."""

    __props__ = ("idx", "set_instead_of_inc", "inplace")

    def __init__(self, idx: tuple, set_instead_of_inc: bool = False, inplace: bool = False):
        self.idx = tuple(idx)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if inplace else {}

    def __str__(self) -> str:
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"{kind}Subtensor{{{_describe_idx(self.idx)}}}" + ("[inplace]" if self.inplace else "")

    def _view_op(self):
        return Subtensor(self.idx)

    def make_node(self, x, y, *index_inputs):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        view = self._view_op().make_node(x, *index_inputs)
        target = view.outputs[0]
        if y.ndim > target.ndim:
            raise ValueError(f"cannot {'set' if self.set_instead_of_inc else 'increment'} a "
                             f"{target.ndim}-d selection of {x.describe()} with the {y.ndim}-d "
                             f"{y.describe()}")
        return Apply(self, [x, y, *view.inputs[1:]], [x.type()])

    def perform(self, node, inputs, out):
        x, y, *vals = inputs
        res = x if self.inplace else x.copy()
        index = _build_index(self.idx, vals)
        try:
            self._apply(res, index, y)
        except ValueError as exc:
            raise ValueError(f"{self}: cannot broadcast {node.inputs[1].describe()} of shape "
                             f"{np.shape(y)} to the selected shape ({exc})") from None
        out[0][0] = res

    def _apply(self, res, index, y):
        if self.set_instead_of_inc:
            res[index] = y
        else:
            res[index] += y

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor import math as m
        from theanine.tensor.basic import zeros_like

        x, y, *rest = inputs
        gz = output_grads[0]
        if gz is None:
            return [None] * len(inputs)
        if x.type.dtype in DISCRETE_DTYPES:
            gx = None
        elif self.set_instead_of_inc:
            gx = type(self)(self.idx, True)(gz, zeros_like(y), *rest)
        else:
            gx = gz
        if y.type.dtype in DISCRETE_DTYPES:
            gy = None
        else:
            gy = self._view_op()(gz, *rest)
            lead = gy.ndim - y.ndim
            axes = list(range(lead)) + [lead + d for d in range(y.ndim)
                                        if y.type.broadcastable[d]
                                        and not gy.type.broadcastable[lead + d]]
            if axes:
                gy = m.sum(gy, axis=axes, keepdims=True)
            if lead:
                gy = gy.dimshuffle(list(range(lead, gy.ndim)))
            gy = m.cast(gy, y.type.dtype)
        return [gx, gy] + [None] * len(rest)


def _advanced_ndim(idx: tuple, x_ndim: int, entries: list) -> int:
    """Number of dimensions of ``x[idx]``, found by indexing a dummy array."""
    it = iter(entries)
    parts: list[Any] = []
    for entry in idx:
        if entry[0] == "s":
            parts.append(slice(None))
        elif entry[0] == "n":
            parts.append(None)
        elif entry[0] == "i":
            next(it)
            parts.append(0)
        else:
            v = next(it)
            nd = v.ndim
            parts.append(np.ones((1,) * nd, bool) if v.type.dtype == "bool"
                         else np.zeros((1,) * nd, int))
    return np.zeros((1,) * x_ndim)[tuple(parts)].ndim


class AdvancedSubtensor(Op):
    """``x[idx]`` with integer arrays or boolean masks among the indices (a copy)."""

    __props__ = ("idx",)

    def __init__(self, idx: tuple) -> None:
        self.idx = tuple(idx)

    def __str__(self) -> str:
        return f"AdvancedSubtensor{{{_describe_idx(self.idx)}}}"

    def make_node(self, x, *index_inputs):
        x = as_tensor_variable(x)
        index_inputs = [as_tensor_variable(i) for i in index_inputs]
        for i in index_inputs:
            if i.type.dtype not in INT_DTYPES + ("bool",):
                raise TypeError(f"index arrays must be integers or booleans, got "
                                f"{i.describe()} ({i.type})")
        try:
            ndim = _advanced_ndim(self.idx, x.ndim, self._array_inputs(index_inputs))
        except IndexError as exc:
            raise IndexError(f"cannot index {x.describe()} ({x.ndim} dimensions): {exc}") from None
        return Apply(self, [x, *index_inputs], [TensorType(x.type.dtype, (None,) * ndim)()])

    def _array_inputs(self, index_inputs):
        out, it = [], iter(index_inputs)
        for entry in self.idx:
            if entry[0] in "ia":
                out.append(next(it))
            elif entry[0] == "s":
                for c in entry[1:]:
                    if c is not None:
                        next(it)
        return out

    def perform(self, node, inputs, out):
        x, *vals = inputs
        out[0][0] = np.asarray(x[_build_index(self.idx, vals)])

    def L_op(self, inputs, outputs, output_grads):
        x, *rest = inputs
        gz = output_grads[0]
        if gz is None or x.type.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        from theanine.tensor.basic import zeros_like

        return [AdvancedIncSubtensor(self.idx)(zeros_like(x), gz, *rest)] + [None] * len(rest)


class AdvancedIncSubtensor(IncSubtensor):
    """``x`` with ``x[idx]`` incremented (repeated indices accumulate) or set."""

    def __str__(self) -> str:
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"Advanced{kind}Subtensor{{{_describe_idx(self.idx)}}}" + (
            "[inplace]" if self.inplace else "")

    def _view_op(self):
        return AdvancedSubtensor(self.idx)

    def _apply(self, res, index, y):
        if self.set_instead_of_inc:
            res[index] = y
        else:
            np.add.at(res, index, y)


# -- the user-facing entry points -----------------------------------------------------

def _is_advanced(entry: Any) -> bool:
    if isinstance(entry, (list, np.ndarray)):
        return np.ndim(entry) > 0 or np.asarray(entry).dtype == bool
    if isinstance(entry, Variable):
        return entry.ndim > 0 or entry.type.dtype == "bool"
    return False


def getitem(x: TensorVariable, index: Any) -> TensorVariable:
    """``x[index]`` for any NumPy-style index."""
    if not isinstance(index, tuple):
        index = (index,)
    n_ell = sum(e is Ellipsis for e in index)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = 0
    for e in index:
        if e is None or e is Ellipsis:
            continue
        if isinstance(e, (np.ndarray, Variable)) and (
                np.asarray(e).dtype == bool if isinstance(e, np.ndarray)
                else e.type.dtype == "bool"):
            consumed += max(np.ndim(e) if isinstance(e, np.ndarray) else e.ndim, 1)
        else:
            consumed += 1
    if n_ell:
        pos = index.index(Ellipsis)
        index = index[:pos] + (slice(None),) * (x.ndim - consumed) + index[pos + 1:]
    if consumed > x.ndim:
        raise IndexError(f"too many indices for {x.describe()}: it has {x.ndim} dimensions, "
                         f"{consumed} were given")
    advanced = any(_is_advanced(e) for e in index)
    idx, inputs = [], []
    for e in index:
        if e is None:
            idx.append(("n",))
        elif isinstance(e, slice):
            comps = []
            for c in (e.start, e.stop, e.step):
                if c is None:
                    comps.append(None)
                else:
                    comps.append("in")
                    inputs.append(_index_scalar(c))
            idx.append(("s", *comps))
        elif _is_advanced(e):
            arr = as_tensor_variable(e)
            if arr.type.dtype not in INT_DTYPES + ("bool",):
                raise IndexError(f"arrays used as indices must be of integer or boolean type, "
                                 f"got {arr.type.dtype}")
            idx.append(("a",))
            inputs.append(arr)
        else:
            idx.append(("i",))
            inputs.append(_index_scalar(e))
    if advanced:
        return AdvancedSubtensor(tuple(idx))(x, *inputs)
    # basic indexing: newaxis through a dimshuffle after the subtensor
    plain = [e for e in idx if e[0] != "n"]
    while plain and plain[-1] == ("s", None, None, None):
        plain.pop()
    # even x[:] or x[()] is a Subtensor (a view), so that set_subtensor(x[:], y) works
    out = Subtensor(tuple(plain))(x, *inputs)
    if len(plain) != len(idx):
        order, j = [], 0
        for e in idx:
            if e[0] == "n":
                order.append("x")
            elif e[0] == "s":
                order.append(j)
                j += 1
        order.extend(range(j, out.ndim))
        out = out.dimshuffle(order)
    return out


def _index_scalar(v: Any) -> TensorVariable:
    if isinstance(v, (bool, np.bool_)):
        raise IndexError("a boolean scalar is not a valid index")
    if isinstance(v, (int, np.integer)):
        return constant(int(v), dtype="int64")
    var = as_tensor_variable(v)
    if var.ndim != 0 or var.type.dtype not in INT_DTYPES:
        raise IndexError(f"only integers, slices, None, Ellipsis, and integer or boolean arrays "
                         f"are valid indices; got {var.describe() if isinstance(v, Variable) else v!r}")
    return var


def _inc_or_set(x: Any, y: Any, set_: bool, inplace: bool = False) -> TensorVariable:
    x = as_tensor_variable(x)
    node = x.owner
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor)):
        if node is not None and type(node.op).__name__ == "DimShuffle":
            raise TypeError("set_subtensor/inc_subtensor: the first argument must be an "
                            "indexing of a tensor without newaxis, e.g. x[1:, 0]")
        raise TypeError(f"set_subtensor/inc_subtensor: the first argument must be an indexing "
                        f"of a tensor, like x[1:3], got {x.describe()}")
    base, *rest = node.inputs
    y = as_tensor_variable(y)
    if y.type.dtype != base.type.dtype:
        from theanine.tensor.math import cast

        y = cast(y, base.type.dtype)
    cls = AdvancedIncSubtensor if isinstance(node.op, AdvancedSubtensor) else IncSubtensor
    return cls(node.op.idx, set_, inplace)(base, y, *rest)


def set_subtensor(x: Any, y: Any, inplace: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> TensorVariable:
    """The tensor indexed by ``x`` (e.g. ``a[2:]``) with that selection replaced by ``y``.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> a = T.matrix('a')
    >>> b = T.set_subtensor(a[0], 1.0)
    """
    return _inc_or_set(x, y, True)


def inc_subtensor(x: Any, y: Any, inplace: bool = False, set_instead_of_inc: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> TensorVariable:
    """The tensor indexed by ``x`` with ``y`` added to that selection (repeats accumulate)."""
    return _inc_or_set(x, y, set_instead_of_inc)
