"""Canonical forms: flattened sums and products, neutral elements, and useless ops."""

from __future__ import annotations

import numpy as np

from theanine.graph.basic import Constant
from theanine.ifelse import IfElse
from theanine.rewrite.db import register
from theanine.rewrite.engine import node_rewriter
from theanine.tensor import math as m
from theanine.tensor.basic import Alloc, constant
from theanine.tensor.elemwise import DimShuffle, Elemwise, Reduce
from theanine.tensor.join import Join
from theanine.tensor.shape import Rebroadcast, Reshape, SpecifyShape, dimshuffle

TAGS = ("fast_run",)


def _const_value(v):
    """The scalar value of a constant whose elements are all equal, else None."""
    if isinstance(v, Constant) and v.data.size > 0:
        flat = v.data.reshape(-1)
        if np.all(flat == flat[0]):
            return flat[0]
    return None


def is_zeros(v) -> bool:
    """Whether ``v`` is a tensor of zeros (``zeros_like``, ``alloc(0)``, a constant, or a
    view or reshape of one)."""
    from theanine.tensor.subtensor import Subtensor

    if isinstance(v, Constant):
        return v.data.size > 0 and not v.data.any()
    node = v.owner
    if node is None:
        return False
    if getattr(node.op, "scalar_op", None) is not None and node.op.scalar_op.name == "second":
        return is_zeros(node.inputs[1])
    if isinstance(node.op, Alloc):
        return is_zeros(node.inputs[0])
    if isinstance(node.op, (DimShuffle, Subtensor, Reshape, Rebroadcast, SpecifyShape)):
        return is_zeros(node.inputs[0])
    return False


def _same_type(a, b) -> bool:
    return a.type.dtype == b.type.dtype and a.type.broadcastable == b.type.broadcastable


@register("canonicalize", *TAGS)
@node_rewriter(["add", "mul"])
def flatten_add_mul(fgraph, node):
    """``add(add(a, b), c) -> add(a, b, c)`` (same for mul) when the inner one has no
    other client."""
    name = node.op.scalar_op.name
    new_inputs, changed = [], False
    for i in node.inputs:
        inner = i.owner
        if (inner is not None and isinstance(inner.op, Elemwise)
                and inner.op.scalar_op.name == name and not inner.op.inplace_pattern
                and len(fgraph.clients.get(i, [])) == 1 and i.type.dtype == node.outputs[0].type.dtype
                and i.type.broadcastable == node.outputs[0].type.broadcastable):
            new_inputs.extend(inner.inputs)
            changed = True
        else:
            new_inputs.append(i)
    if not changed:
        return None
    return [node.op(*new_inputs)]


@register("canonicalize", *TAGS)
@node_rewriter(["add", "mul"])
def remove_neutral(fgraph, node):
    """``x + 0 -> x``, ``x * 1 -> x``; constants of a product or sum are combined."""
    so = node.op.scalar_op
    out = node.outputs[0]
    consts = [i for i in node.inputs if _const_value(i) is not None]
    others = [i for i in node.inputs if _const_value(i) is None]
    if len(consts) > 1:
        vals = [c.data for c in consts]
        combined = so.fn(*vals)
        c = constant(np.asarray(combined, dtype=out.type.dtype))
        return [node.op(*(others + [c]))] if others else [c]
    if len(consts) == 1 and _const_value(consts[0]) == so.identity and len(others) >= 1:
        rest = others[0] if len(others) == 1 else node.op(*others)
        if _same_type(rest, out):
            return [rest]
        if rest.type.dtype == out.type.dtype and rest.ndim == out.ndim:
            return [m.second(consts[0], rest)]
    if so.name == "mul" and len(consts) == 1 and _const_value(consts[0]) == -1 and others:
        rest = others[0] if len(others) == 1 else node.op(*others)
        if _same_type(rest, out):
            return [m.neg(rest)]
    return None


@register("canonicalize", *TAGS)
@node_rewriter(["add"])
def add_zeros(fgraph, node):
    """``x + zeros -> x`` for a tensor of zeros (a gradient's initial accumulator, after
    views of it) when ``x`` already has the sum's type."""
    out = node.outputs[0]
    rest = [i for i in node.inputs if isinstance(i, Constant) or not is_zeros(i)]
    if len(rest) == len(node.inputs) or not rest:
        return None
    new = rest[0] if len(rest) == 1 else node.op(*rest)
    return [new] if _same_type(new, out) else None


@register("canonicalize", *TAGS)
@node_rewriter(["neg"])
def double_negation(fgraph, node):
    """``--x -> x``."""
    x = node.inputs[0]
    if x.owner is not None and isinstance(x.owner.op, Elemwise) \
            and x.owner.op.scalar_op.name == "neg":
        return [x.owner.inputs[0]]
    return None


@register("canonicalize", *TAGS)
@node_rewriter(["sub"])
def sub_to_neg_and_self(fgraph, node):
    """``x - x -> 0`` and ``0 - x -> -x``."""
    a, b = node.inputs
    out = node.outputs[0]
    if a is b:
        return [m.second(a, constant(0, dtype=out.type.dtype))]
    if _const_value(a) == 0 and _same_type(b, out):
        return [m.neg(b)]
    if _const_value(b) == 0 and _same_type(a, out):
        return [a]
    return None


@register("canonicalize", *TAGS)
@node_rewriter(["true_div"])
def div_by_one(fgraph, node):
    """``x / 1 -> x``."""
    a, b = node.inputs
    if _const_value(b) == 1 and _same_type(a, node.outputs[0]):
        return [a]
    return None


@register("canonicalize", *TAGS)
@node_rewriter(["identity"])
def remove_identity(fgraph, node):
    """Drop element-wise identities."""
    return [node.inputs[0]]


@register("canonicalize", *TAGS)
@node_rewriter([DimShuffle])
def merge_dimshuffles(fgraph, node):
    """Remove identity dimshuffles and merge a dimshuffle of a dimshuffle."""
    x = node.inputs[0]
    order = node.op.new_order
    if order == tuple(range(x.ndim)):
        return [x]
    if x.owner is not None and isinstance(x.owner.op, DimShuffle):
        inner = x.owner.op.new_order
        composed = ["x" if o == "x" else inner[o] for o in order]
        return [dimshuffle(x.owner.inputs[0], composed)]
    return None


@register("canonicalize", *TAGS)
@node_rewriter([Reshape])
def useless_reshape(fgraph, node):
    """Remove a reshape to the same static shape; merge a reshape of a reshape."""
    x, shp = node.inputs
    out = node.outputs[0]
    if all(s is not None for s in x.type.shape) and x.type.shape == out.type.shape:
        return [x]
    if x.owner is not None and isinstance(x.owner.op, Reshape):
        return [node.op(x.owner.inputs[0], shp)]
    return None


@register("canonicalize", *TAGS)
@node_rewriter([Join])
def join_of_one(fgraph, node):
    """``join(axis, x) -> x``: a concatenation of one tensor is that tensor (not a copy)."""
    if len(node.inputs) == 1 and _same_type(node.inputs[0], node.outputs[0]):
        return [node.inputs[0]]
    return None


@register("canonicalize", *TAGS)
@node_rewriter([SpecifyShape, Rebroadcast])
def useless_shape_assertion(fgraph, node):
    """Remove a shape assertion already proven by the input's static shape."""
    x = node.inputs[0]
    if x.type == node.outputs[0].type:
        return [x]
    return None


@register("canonicalize", *TAGS)
@node_rewriter([Reduce])
def sum_of_alloc(fgraph, node):
    """``sum(alloc(c, *shape)) -> c * prod(shape)`` for a scalar c."""
    if node.op.kind != "sum":
        return None
    x = node.inputs[0]
    if x.owner is None or not isinstance(x.owner.op, Alloc) or x.owner.inputs[0].ndim != 0:
        return None
    value, *shape = x.owner.inputs
    if len(node.op.axis) != x.ndim:
        return None
    out = node.outputs[0]
    count = m.prod(shape) if len(shape) > 1 else shape[0]
    return [m.cast(value * m.cast(count, value.type.dtype), out.type.dtype)]


@register("canonicalize", *TAGS)
@node_rewriter([Reduce])
def sum_of_dimshuffle(fgraph, node):
    """Sum before transposing: ``sum(x.T, axis) -> sum(x, axis')`` (and drop added axes)."""
    if node.op.kind not in ("sum", "prod", "max", "min", "all", "any"):
        return None
    x = node.inputs[0]
    if x.owner is None or not isinstance(x.owner.op, DimShuffle):
        return None
    order = x.owner.op.new_order
    base = x.owner.inputs[0]
    if x.owner.op.drop:
        return None
    axes = node.op.axis
    base_axes = tuple(sorted(order[a] for a in axes if order[a] != "x"))
    kept = [order[d] for d in range(len(order)) if d not in axes]
    if not base_axes:
        return None
    red = Reduce(node.op.kind, base_axes, node.op.acc_dtype)(base)
    remaining = [d for d in range(base.ndim) if d not in base_axes]
    new_order = ["x" if k == "x" else remaining.index(k) for k in kept]
    return [dimshuffle(red, new_order)]


@register("canonicalize", *TAGS)
@node_rewriter(["second"])
def second_of_elemwise(fgraph, node):
    """``second(f(x), v) -> second(x, v)`` for element-wise ``f`` when ``x`` has the
    shape of ``f(x)``: only the shape of the first argument matters, so ``f(x)`` need not
    be kept (or computed) for it."""
    a, b = node.inputs
    n = a.owner
    if n is None or not isinstance(n.op, Elemwise):
        return None
    for x in n.inputs:
        if x.type.broadcastable == a.type.broadcastable:
            return [m.second(x, b)]
    return None


@register("canonicalize", *TAGS)
@node_rewriter(["second"])
def useless_second(fgraph, node):
    """``second(a, b) -> b`` (cast to the result's dtype) when ``b`` already has the
    result's broadcast pattern, so ``a`` adds no dimension: a 0-d fill, such as the
    ``ones_like(cost)`` that seeds a gradient, or a fill of a full tensor. Like Theano's
    ``local_useless_fill``, this drops the check that ``a``'s lengths equal ``b``'s."""
    a, b = node.inputs
    out = node.outputs[0]
    if b.type.broadcastable != out.type.broadcastable:
        return None
    return [m.cast(b, out.type.dtype)]


@register("canonicalize", *TAGS)
@node_rewriter(["add", "mul"])
def fill_beside_its_model(fgraph, node):
    """``x * second(x, b) -> x * b`` (same for sums): the fill adds no dimension that
    ``x``, another input of the same node, does not already give (a gradient's ``fill(x,
    g) * 2 * x``)."""
    out = node.outputs[0]
    inputs = list(node.inputs)
    changed = False
    for k, i in enumerate(inputs):
        n = i.owner
        if n is not None and isinstance(n.op, Elemwise) and n.op.scalar_op.name == "second" \
                and any(j is n.inputs[0] for j in inputs[:k] + inputs[k + 1:]) \
                and n.inputs[1].ndim == i.ndim:
            inputs[k] = n.inputs[1]
            changed = True
    if not changed:
        return None
    new = node.op(*inputs)
    return [new] if _same_type(new, out) else None


def _scalar_like(v) -> bool:
    return all(v.type.broadcastable)


@register("canonicalize", *TAGS)
@node_rewriter(["sub"])
def factor_scaled_self(fgraph, node):
    """``x - x * s -> x * (1 - s)`` for factors ``s`` of one element each (an SGD step on
    an L2 penalty, ``W - lr * (2 * c * W)``): one product per element, not three."""
    x, b = node.inputs
    out = node.outputs[0]
    if _scalar_like(x):
        return None
    factors, stack = [], [b]
    while stack:  # the factors of b, through nested products
        v = stack.pop()
        n = v.owner
        if n is not None and isinstance(n.op, Elemwise) and n.op.scalar_op.name == "mul" \
                and not n.op.inplace_pattern:
            stack.extend(n.inputs)
        else:
            factors.append(v)
    if x not in factors or len(factors) == 1:
        return None
    factors.remove(x)
    if not all(_scalar_like(f) for f in factors):
        return None
    dt = out.type.dtype  # the scale in the result's precision (lr may be float32)
    factors = [m.cast(f, dt) for f in factors]
    scale = factors[0] if len(factors) == 1 else m.mul(*factors)
    new = m.mul(x, m.sub(constant(1, dtype=dt), scale))
    return [new] if _same_type(new, out) else None


def _creation_order(v) -> int:
    return int(v.auto_name.rsplit("_", 1)[1])


@register("canonicalize", *TAGS)
@node_rewriter(["add", "mul"])
def sort_commutative(fgraph, node):
    """Put the inputs of sums and products in a canonical order (constants last, then by
    creation), so that ``x * y`` and ``y * x`` merge."""
    key = [(isinstance(i, Constant), _creation_order(i)) for i in node.inputs]
    order = sorted(range(len(node.inputs)), key=lambda k: key[k])
    if order == list(range(len(node.inputs))):
        return None
    return [node.op(*[node.inputs[k] for k in order])]


@register("canonicalize", "fast_run", "fast_compile")
@node_rewriter([IfElse])
def ifelse_constant_condition(fgraph, node):
    """``ifelse(c, a, b)`` with a constant ``c`` is ``a`` or ``b``."""
    cond = node.inputs[0]
    if not isinstance(cond, Constant):
        return None
    n = node.op.n_outs
    chosen = node.inputs[1:1 + n] if cond.data else node.inputs[1 + n:]
    if any(v.type != o.type for v, o in zip(chosen, node.outputs)):
        return None  # a branch with a more precise static shape: keep the node
    return list(chosen)


# the SGD step on an L2 penalty takes this form only once specialize has split the sparse
# increment off the dense gradient
register("specialize", *TAGS)(factor_scaled_self)
