"""Merge, constant folding and shape inference."""

from __future__ import annotations

import numpy as np

from theanine.graph.basic import Constant, Variable
from theanine.graph.fg import FunctionGraph
from theanine.rewrite.db import register
from theanine.rewrite.engine import GraphPass, log_rewrite, node_rewriter, replace_all
from theanine.tensor.basic import constant
from theanine.tensor.shape import MakeVector, Shape
from theanine.tensor.subtensor import Subtensor

_MAX_FOLD_SIZE = 1 << 16


def merge(fgraph: FunctionGraph) -> int:
    """Compute identical sub-graphs and equal constants only once."""
    changes = 0
    consts: dict = {}
    for var in sorted((v for v in fgraph.variables if isinstance(v, Constant)),
                      key=lambda v: v.auto_name):
        if not fgraph.clients.get(var):
            continue
        try:
            sig = var.signature()
        except Exception:  # noqa: BLE001 - unhashable constant: leave it
            continue
        first = consts.setdefault(sig, var)
        if first is not var:
            replace_all(fgraph, [(var, first)], "merge")
            changes += 1
    seen: dict = {}
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes:
            continue
        key = (node.op, tuple(id(i) for i in node.inputs))
        other = seen.get(key)
        if other is None:
            seen[key] = node
            continue
        if node.op.destroy_map:
            continue
        replace_all(fgraph, list(zip(node.outputs, other.outputs)), "merge")
        log_rewrite(fgraph, "merge", str(node.op))
        changes += 1
    return changes


register("merge", "fast_run", "fast_compile")(merge)
register("merge2", "fast_run", "fast_compile")(GraphPass(merge, "merge2"))
register("final_merge", "fast_run", "fast_compile")(GraphPass(merge, "final_merge"))


@register("canonicalize", "fast_run", "fast_compile")
@node_rewriter(None)
def constant_folding(fgraph, node):
    """Compute nodes whose inputs are all constants at compile time."""
    if not node.inputs or not all(isinstance(i, Constant) for i in node.inputs):
        return None
    if node.op.destroy_map or type(node.op).__name__ in ("MapIndex",):
        return None
    storage = [[None] for _ in node.outputs]
    node.op.perform(node, [i.data for i in node.inputs], storage)
    out = []
    for var, (value,) in zip(node.outputs, storage):
        value = np.asarray(value)
        if value.size > _MAX_FOLD_SIZE:
            return None
        c = constant(value.astype(var.type.dtype, copy=False))
        out.append(c)
    return out


def _dims(x: Variable) -> tuple:
    """``x``'s dimensions as constants where static, else as items of one ``Shape(x)``."""
    shape = Shape()(x) if None in x.type.shape else None
    return tuple(constant(s, dtype="int64") if s is not None else shape[d]
                 for d, s in enumerate(x.type.shape))


@register("canonicalize", "fast_run", "fast_compile", "shape")
@node_rewriter([Shape])
def shape_inference(fgraph, node):
    """``x.shape`` from the shapes of ``x``'s inputs, so that ``x`` need not be computed."""
    (x,) = node.inputs
    static = x.type.shape
    if all(s is not None for s in static):
        return [constant(np.array(static, dtype="int64"))]
    if x.owner is None or not hasattr(x.owner.op, "infer_shape"):
        return None
    try:
        in_shapes = [_dims(i) if hasattr(i.type, "shape") else None for i in x.owner.inputs]
        out_shapes = x.owner.op.infer_shape(x.owner, in_shapes)
    except NotImplementedError:
        return None
    dims = out_shapes[x.index]
    if len(dims) != x.ndim:
        return None
    dims = [constant(d, dtype="int64") if isinstance(d, (int, np.integer)) else d for d in dims]
    from theanine.tensor.math import cast

    dims = [cast(d, "int64") for d in dims]
    if x.ndim == 0:
        return [constant(np.zeros(0, dtype="int64"))]
    return [MakeVector("int64")(*dims)]


@register("canonicalize", "fast_run", "fast_compile", "shape")
@node_rewriter([Subtensor])
def subtensor_of_make_vector(fgraph, node):
    """``MakeVector(a, b, c)[1] -> b`` and ``shape(x)[i]`` for a static dimension."""
    x, *idx = node.inputs
    if node.op.idx != (("i",),) or not isinstance(idx[0], Constant):
        return None
    i = int(idx[0].data)
    if x.owner is not None and isinstance(x.owner.op, MakeVector):
        return [x.owner.inputs[i]]
    if x.owner is not None and isinstance(x.owner.op, Shape):
        s = x.owner.inputs[0].type.shape[i]
        if s is not None:
            return [constant(s, dtype="int64")]
    return None
