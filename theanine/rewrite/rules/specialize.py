"""Specialisation: cheaper forms of general operations."""

from __future__ import annotations

from theanine.graph.basic import Constant
from theanine.rewrite.db import register
from theanine.rewrite.engine import node_rewriter
from theanine.rewrite.rules.canonicalize import _const_value, _same_type, is_zeros as _is_zeros
from theanine.tensor import math as m
from theanine.tensor.elemwise import Elemwise, Reduce
from theanine.tensor.linalg import Dot, dot

TAGS = ("fast_run", "specialize")


@register("specialize", *TAGS)
@node_rewriter(["pow"])
def pow_specialize(fgraph, node):
    """``x**2 -> sqr(x)``, ``x**0.5 -> sqrt(x)``, ``x**-1 -> 1/x``, ``x**1 -> x``."""
    x, y = node.inputs
    out = node.outputs[0]
    v = _const_value(y)
    if v is None or x.type.broadcastable != out.type.broadcastable:
        return None
    if v == 2:
        new = m.sqr(x)
    elif v == 0.5 and out.type.dtype.startswith("float"):
        new = m.sqrt(x)
    elif v == -1 and out.type.dtype.startswith("float"):
        new = m.reciprocal(x)
    elif v == 1:
        new = x
    else:
        return None
    return [m.cast(new, out.type.dtype)]


@register("specialize", *TAGS)
@node_rewriter(["mul"])
def mul_self_to_sqr(fgraph, node):
    """``x * x -> sqr(x)``."""
    if len(node.inputs) == 2 and node.inputs[0] is node.inputs[1] \
            and _same_type(node.inputs[0], node.outputs[0]):
        return [m.sqr(node.inputs[0])]
    return None


@register("specialize", *TAGS)
@node_rewriter([Reduce])
def sum_of_product_to_dot(fgraph, node):
    """``sum(x * y) -> dot(x, y)`` for two vectors (one BLAS call, no temporary)."""
    if node.op.kind != "sum" or node.op.axis != (0,):
        return None
    p = node.inputs[0]
    if p.ndim != 1 or p.owner is None or not isinstance(p.owner.op, Elemwise) \
            or p.owner.op.scalar_op.name != "mul" or len(p.owner.inputs) != 2:
        return None
    if len(fgraph.clients.get(p, [])) != 1:
        return None
    a, b = p.owner.inputs
    if a.type.broadcastable != (False,) or b.type.broadcastable != (False,):
        return None
    if not all(v.type.dtype in ("float32", "float64") for v in (a, b)):
        return None
    out = node.outputs[0]
    return [m.cast(dot(a, b), out.type.dtype)]


def _scaled(v):
    """``(scale, base)`` for ``base`` or ``scalar * base`` (scale None for 1)."""
    n = v.owner
    if n is not None and isinstance(n.op, Elemwise) and n.op.scalar_op.name == "mul" \
            and len(n.inputs) == 2 and not n.op.inplace_pattern:
        a, b = n.inputs
        if all(a.type.broadcastable) and b.type.broadcastable == v.type.broadcastable:
            return a, b
        if all(b.type.broadcastable) and a.type.broadcastable == v.type.broadcastable:
            return b, a
    return None, v


@register("specialize", *TAGS, "blas")
@node_rewriter(["add", "sub"])
def gemm(fgraph, node):
    """``beta * z + alpha * dot(a, b) -> Gemm(z, alpha, a, b, beta)`` (Gemv for vectors),
    also with subtraction; ``z`` must have the output's full shape."""
    from theanine.tensor.blas import Gemm, Gemv
    from theanine.tensor.linalg import Dot

    out = node.outputs[0]
    if len(node.inputs) != 2 or out.type.dtype not in ("float32", "float64") \
            or out.ndim not in (1, 2):
        return None
    sign = -1.0 if node.op.scalar_op.name == "sub" else 1.0
    for k in (1, 0):
        if sign < 0 and k == 0:
            continue
        alpha, d = _scaled(node.inputs[k])
        z_scale, z = _scaled(node.inputs[1 - k])
        if d.owner is None or not isinstance(d.owner.op, Dot) or \
                len(fgraph.clients.get(d, [])) != 1:
            continue
        a, b = d.owner.inputs
        if a.ndim != 2 or b.ndim != out.ndim or z.type.broadcastable != out.type.broadcastable:
            continue
        dtype = out.type.dtype
        if any(v.type.dtype != dtype for v in (z, a, b)):
            continue
        alpha = m.cast((alpha if alpha is not None else 1.0) * sign, dtype)
        beta = m.cast(z_scale if z_scale is not None else 1.0, dtype)
        if alpha.ndim:
            alpha = alpha.dimshuffle([])
        if beta.ndim:
            beta = beta.dimshuffle([])
        op = Gemm() if out.ndim == 2 else Gemv()
        return [op(z, alpha, a, b, beta)]
    return None


def _increment(v):
    """The node of ``v`` if it is an (advanced) increment of a subtensor, else None."""
    from theanine.tensor.subtensor import AdvancedIncSubtensor, IncSubtensor

    n = v.owner
    if n is not None and isinstance(n.op, (IncSubtensor, AdvancedIncSubtensor)) \
            and not n.op.set_instead_of_inc and not n.op.inplace:
        return n
    return None


def _full(v, out) -> bool:
    return v.type.broadcastable == out.type.broadcastable and v.type.dtype == out.type.dtype


@register("specialize", *TAGS, "sparse_update")
@node_rewriter(["add"])
def add_sparse_increment(fgraph, node):
    """``inc(zeros, v, i) + X -> inc(X, v, i)``: add a sparse increment without a dense
    tensor of zeros (the gradient of an indexing, e.g. of an embedding matrix)."""
    out = node.outputs[0]
    for k, term in enumerate(node.inputs):
        inc = _increment(term)
        if inc is None or not _is_zeros(inc.inputs[0]) or len(fgraph.clients.get(term, [])) != 1:
            continue
        rest = [t for j, t in enumerate(node.inputs) if j != k]
        base = rest[0] if len(rest) == 1 else node.op(*rest)
        if not _full(base, out):
            continue
        return [type(inc.op)(inc.op.idx)(base, inc.inputs[1], *inc.inputs[2:])]
    return None


@register("specialize", *TAGS, "sparse_update")
@node_rewriter(["mul"])
def scale_sparse_increment(fgraph, node):
    """``s * inc(X, v, i) -> inc(s * X, s * v, i)`` for a scalar-like ``s``."""
    if len(node.inputs) != 2:
        return None
    out = node.outputs[0]
    for k in (0, 1):
        inc = _increment(node.inputs[k])
        s = node.inputs[1 - k]
        if inc is None or not all(s.type.broadcastable) or \
                len(fgraph.clients.get(node.inputs[k], [])) != 1:
            continue
        base = m.mul(s, inc.inputs[0])
        if not _full(base, out):
            continue
        s0 = s.dimshuffle([]) if s.ndim else s
        val = m.cast(m.mul(s0, inc.inputs[1]), out.type.dtype)
        return [type(inc.op)(inc.op.idx)(base, val, *inc.inputs[2:])]
    return None


@register("specialize", *TAGS, "sparse_update")
@node_rewriter(["sub"])
def subtract_sparse_increment(fgraph, node):
    """``E - inc(Y, v, i) -> inc(E - Y, -v, i)``: an SGD step on rows touched by an
    indexing updates only those rows (after the dense part)."""
    a, b = node.inputs
    out = node.outputs[0]
    inc = _increment(b)
    if inc is None or len(fgraph.clients.get(b, [])) != 1:
        return None
    base = m.sub(a, inc.inputs[0])
    if not _full(base, out):
        return None
    val = m.cast(m.neg(inc.inputs[1]), out.type.dtype)
    return [type(inc.op)(inc.op.idx)(base, val, *inc.inputs[2:])]


@register("specialize", *TAGS)
@node_rewriter([Reduce])
def sum_of_squares_to_dot(fgraph, node):
    """``sum(sqr(x)) -> dot(x.ravel(), x.ravel())`` over all axes: one BLAS pass, no
    temporary."""
    if node.op.kind != "sum" or node.op.acc_dtype is not None:
        return None
    sq = node.inputs[0]
    if len(node.op.axis) != sq.ndim or sq.ndim == 0 or sq.owner is None or \
            not isinstance(sq.owner.op, Elemwise) or sq.owner.op.scalar_op.name != "sqr":
        return None
    x = sq.owner.inputs[0]
    if x.type.dtype not in ("float32", "float64") or len(fgraph.clients.get(sq, [])) != 1:
        return None
    flat = x.flatten() if x.ndim != 1 else x
    return [m.cast(dot(flat, flat), node.outputs[0].type.dtype)]


def _row_selections(v):
    """``(x, [subtensor nodes from x to v])`` for each ``x`` that ``v`` is through
    slices of its first axis only (each keeps the rows' contents), nearest first."""
    from theanine.tensor.subtensor import Subtensor

    chain: list = []
    while v.owner is not None and isinstance(v.owner.op, Subtensor) and v.ndim == 2 and \
            len(v.owner.op.idx) == 1 and v.owner.op.idx[0][0] == "s" and \
            v.owner.inputs[0].ndim == 2:
        chain.insert(0, v.owner)
        v = v.owner.inputs[0]
        yield v, list(chain)


@register("specialize", *TAGS)
@node_rewriter([Dot])
def dot_of_selected_rows_reuses_dot(fgraph, node):
    """``dot(x[s], B) -> dot(x, B)[s]`` for slices ``s`` of rows, when the graph computes
    ``dot(x, B)`` already: the gradient of a scan reads its sequences reversed (W4's
    backward pass recomputed ``x W_xm`` and ``x W_xh``, 60k of its 380k multiply-adds per
    word)."""
    a, b = node.inputs
    dots = [c for c, _ in fgraph.clients.get(b, []) if c != "output" and c is not node
            and isinstance(c.op, Dot) and c.inputs[1] is b]
    if not dots:
        return None
    for x, chain in _row_selections(a):
        for other in dots:
            if _same_computation(other.inputs[0], x):
                out = other.outputs[0]
                for sub in chain:  # the same slices of the product's rows
                    out = sub.op(out, *sub.inputs[1:])
                return [out] if out.type == node.outputs[0].type else None
    return None


def _same_computation(u, v, depth: int = 12) -> bool:
    """Whether ``u`` and ``v`` compute the same value by the same ops (before the final
    merge, a rewrite's copy of a computation is another variable)."""
    if u is v:
        return True
    if isinstance(u, Constant) and isinstance(v, Constant):
        return u.type == v.type and u.signature() == v.signature()
    if depth == 0 or u.owner is None or v.owner is None or u.owner.op != v.owner.op or \
            u.owner.outputs.index(u) != v.owner.outputs.index(v) or \
            len(u.owner.inputs) != len(v.owner.inputs):
        return False
    return all(_same_computation(a, b, depth - 1) for a, b in zip(u.owner.inputs, v.owner.inputs))
