"""In-place: ops overwrite input buffers that nothing else needs.

Safety (the destroy handler's job): an intermediate is overwritten only if the node is
its only reader, it is not a graph output and not a view of another variable. A shared
variable is overwritten only by its own update, after every other reader of it or of a
view of it (``fgraph.orderings``), and never while its old value is returned.
"""

from __future__ import annotations

from theanine.graph.basic import Constant
from theanine.graph.fg import FunctionGraph
from theanine.rewrite.db import register
from theanine.rewrite.engine import log_rewrite, replace_all
from theanine.rewrite.rules.fusion import sum_squares_into_update
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


def _writes_in_place(node) -> bool:
    """Whether the element-wise ``node`` can write its result into an input: a fused
    kernel, or a NumPy ufunc (``out=``) called with its own number of arguments."""
    so = node.op.scalar_op
    if type(node.op).__name__ == "FusedElemwise":
        return True
    if so.nin == -1:
        return len(node.inputs) == 2 and isinstance(so.binary, np.ufunc)
    return isinstance(so.fn, np.ufunc)


def _aliases(fgraph: FunctionGraph, var) -> list:
    """``var`` and every variable that may be a view of it."""
    out, stack = [], [var]
    while stack:
        v = stack.pop()
        if v in out:
            continue
        out.append(v)
        for client, i in fgraph.clients.get(v, []):
            if client == "output":
                continue
            for o, ins in client.op.view_map.items():
                if i in ins:
                    stack.append(client.outputs[o])
    return out


def _depends_on(var, node) -> bool:
    from theanine.graph.basic import ancestors

    return any(v.owner is node for v in ancestors([var]))


def _destroy_shared(fgraph: FunctionGraph, node, shared):
    """Make ``node`` (element-wise, or a Gemm/Gemv accumulating into ``shared``) write into
    ``shared``'s buffer; returns the new output, or None when that is not safe."""
    from theanine.tensor.blas import _Blas

    if node is None:
        return None
    out = node.outputs[0]
    if isinstance(node.op, _Blas):
        if node.op.inplace or node.inputs[0] is not shared:
            return None
        pos = 0
    elif isinstance(node.op, Elemwise) and not node.op.inplace_pattern and \
            _writes_in_place(node) and shared in node.inputs:
        pos = node.inputs.index(shared)
    else:
        return None
    if shared.type.dtype != out.type.dtype or \
            shared.type.broadcastable != out.type.broadcastable:
        return None
    aliases = _aliases(fgraph, shared)
    if any(c == "output" for a in aliases for c, _ in fgraph.clients.get(a, [])):
        return None  # the old value (or a view of it) is returned to the user
    if any(v in aliases for k, v in enumerate(node.inputs)
           if k != pos and (v is not shared or isinstance(node.op, _Blas))):
        return None  # the node reads a view of the buffer it would overwrite (W + W.T)
    readers = [c for a in aliases for c, _ in fgraph.clients.get(a, [])
               if c is not node and c != "output"]
    if any(_depends_on(o, node) for r in readers for o in r.outputs):
        return None  # a reader needs the new value too: no order works
    if any(r.op.destroy_map for r in readers):
        return None
    if isinstance(node.op, _Blas):
        new = type(node.op)(True)(*node.inputs)
    else:
        new = type(node.op)(node.op.scalar_op, ((0, pos),))(*node.inputs)
    replace_all(fgraph, [(out, new)], "inplace_update")
    fgraph.orderings.setdefault(new.owner, []).extend(readers)
    log_rewrite(fgraph, "inplace_update", str(new.owner.op))
    return new


def inplace_update(fgraph: FunctionGraph) -> int:
    """A shared variable's update is computed in the variable's own buffer when every
    other reader of the old value (or of a view of it) can run before. Handles an
    element-wise update, a Gemm/Gemv accumulating into the variable (``W - lr * dot(h.T,
    d)``) and an (advanced) increment of either (sparse SGD steps)."""
    changes = 0
    for out_idx, in_idx in sorted(fgraph.update_mapping.items()):
        shared = fgraph.inputs[in_idx]
        upd = fgraph.outputs[out_idx]
        node = upd.owner
        if node is None:
            continue
        if isinstance(node.op, (IncSubtensor, AdvancedIncSubtensor)) and not node.op.inplace:
            base = node.inputs[0]
            if len(fgraph.clients.get(base, [])) != 1 or base.owner is None:
                continue
            if _destroy_shared(fgraph, base.owner, shared) is None:
                continue
            node = upd.owner  # inputs were replaced: take the node again
            op = node.op
            new = type(op)(op.idx, op.set_instead_of_inc, True)(*node.inputs)
            replace_all(fgraph, [(upd, new)], "inplace_update")
            changes += 1
        elif _destroy_shared(fgraph, node, shared) is not None:
            changes += 1
    return changes


def inplace_elemwise(fgraph: FunctionGraph) -> int:
    """Element-wise ops write their result into a dead input of the same type."""
    changes = 0
    for node in fgraph.toposort():
        op = node.op
        if not isinstance(op, Elemwise) or op.inplace_pattern:
            continue
        so = op.scalar_op
        if not _writes_in_place(node):
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


register("inplace", "fast_run", "inplace")(inplace_update)
register("inplace", "fast_run", "inplace")(inplace_elemwise)
register("inplace", "fast_run", "inplace")(inplace_blas)
register("inplace", "fast_run", "inplace")(inplace_subtensor)
# last: it merges an update made in place above with a reader it had to wait for
register("inplace", "fast_run", "inplace")(sum_squares_into_update)
