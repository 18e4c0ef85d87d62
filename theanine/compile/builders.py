"""Ops holding an inner graph: ``MapIndex`` evaluates a graph for i = 0..n-1 and stacks
the results (used by ``jacobian``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant, Variable, graph_inputs
from theanine.graph.op import Op
from theanine.tensor.type import TensorType


class MapIndex(Op):
    """``stack([f(i, *free) for i in range(n)])`` for an inner graph ``f``.

    The inner graph is compiled once, lazily, on first use.
    """

    __props__ = ("index", "output", "free")

    def __init__(self, index: Variable, output: Variable, free: tuple) -> None:
        self.index = index
        self.output = output
        self.free = tuple(free)
        self._fn = None

    def __str__(self) -> str:
        return "MapIndex"

    def make_node(self, n, *free_values):
        from theanine.tensor.basic import as_tensor_variable

        n = as_tensor_variable(n)
        out_type = TensorType(self.output.type.dtype, (None,) + self.output.type.shape)
        return Apply(self, [n, *free_values], [out_type()])

    def perform(self, node, inputs, out):
        from theanine.compile.function import function

        if self._fn is None:
            self._fn = function([self.index, *self.free], self.output,
                                on_unused_input="ignore")
            self._fn.trust_input = False
        n, *vals = inputs
        rows = [self._fn(np.asarray(i, dtype="int64"), *vals) for i in range(int(n))]
        if rows:
            res = np.stack(rows)
        else:
            res = np.zeros((0,) + tuple(s or 0 for s in self.output.type.shape),
                           dtype=self.output.type.dtype)
        out[0][0] = res.astype(self.output.type.dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        from theanine.gradient import grad_not_implemented

        return [None] + [grad_not_implemented(self, i + 1, x, "(of a jacobian) is not "
                                              "implemented; use scan") for i, x in
                         enumerate(inputs[1:])]


def map_index(index: Variable, n: Any, output: Variable) -> Variable:
    """Stack ``output`` evaluated for ``index`` = 0, ..., n-1."""
    from theanine.compile.shared import SharedVariable

    free = tuple(v for v in graph_inputs([output]) if v is not index
                 and not isinstance(v, (Constant, SharedVariable)))
    return MapIndex(index, output, free)(n, *free)
