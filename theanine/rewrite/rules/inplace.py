"""In-place: ops overwrite input buffers that nothing else needs.

Safety (the destroy handler's job): an input is overwritten only if the node is its
only reader, it is not a graph input, a shared value, a constant or a graph output,
and it is not a view of another variable (so no alias can be read later).
"""

from __future__ import annotations

from theanine.graph.basic import Constant
from theanine.graph.fg import FunctionGraph
from theanine.rewrite.db import register
from theanine.rewrite.engine import log_rewrite, replace_all
from theanine.tensor.elemwise import Elemwise
from theanine.tensor.subtensor import AdvancedIncSubtensor, IncSubtensor

import numpy as np


def _destroyable(fgraph: FunctionGraph, var, node) -> bool:
    if var.owner is None or isinstance(var, Constant) or var in fgraph.inputs:
        return False
    clients = fgraph.clients.get(var, [])
    if len(clients) != 1 or clients[0][0] is not node:
        return False
    op = var.owner.op
    if op.view_map.get(var.index) or op.destroy_map.get(var.index):
        return False
    return True


def inplace_elemwise(fgraph: FunctionGraph) -> int:
    """Element-wise ops write their result into a dead input of the same type."""
    changes = 0
    for node in fgraph.toposort():
        op = node.op
        if not isinstance(op, Elemwise) or op.inplace_pattern:
            continue
        so = op.scalar_op
        fused = type(op).__name__ == "FusedElemwise"
        if not fused and not isinstance(so.fn if so.nin != -1 else so.binary, np.ufunc):
            continue
        if not fused and so.nin == -1 and len(node.inputs) != 2:
            continue
        out = node.outputs[0]
        for i, inp in enumerate(node.inputs):
            if inp.type.dtype == out.type.dtype and \
                    inp.type.broadcastable == out.type.broadcastable and \
                    _destroyable(fgraph, inp, node):
                new_op = type(op)(so, ((0, i),))
                new = new_op(*node.inputs)
                replace_all(fgraph, [(out, new)], "inplace_elemwise")
                log_rewrite(fgraph, "inplace_elemwise", str(new_op))
                changes += 1
                break
    return changes


def inplace_subtensor(fgraph: FunctionGraph) -> int:
    """``set_subtensor``/``inc_subtensor`` modify a dead buffer instead of copying it."""
    changes = 0
    for node in fgraph.toposort():
        op = node.op
        if not isinstance(op, (IncSubtensor, AdvancedIncSubtensor)) or op.inplace:
            continue
        if _destroyable(fgraph, node.inputs[0], node):
            new = type(op)(op.idx, op.set_instead_of_inc, True)(*node.inputs)
            replace_all(fgraph, [(node.outputs[0], new)], "inplace_subtensor")
            log_rewrite(fgraph, "inplace_subtensor", str(op))
            changes += 1
    return changes


def inplace_blas(fgraph: FunctionGraph) -> int:
    """Gemm/Gemv accumulate into a dead ``z`` instead of copying it."""
    from theanine.tensor.blas import _Blas

    changes = 0
    for node in fgraph.toposort():
        op = node.op
        if isinstance(op, _Blas) and not op.inplace and _destroyable(fgraph, node.inputs[0], node) \
                and node.inputs[0].type.dtype == node.outputs[0].type.dtype:
            new = type(op)(True)(*node.inputs)
            replace_all(fgraph, [(node.outputs[0], new)], "inplace_blas")
            log_rewrite(fgraph, "inplace_blas", str(op))
            changes += 1
    return changes


register("inplace", "fast_run", "inplace")(inplace_elemwise)
register("inplace", "fast_run", "inplace")(inplace_blas)
register("inplace", "fast_run", "inplace")(inplace_subtensor)
