"""Numerical stability: rewrite expressions that overflow or lose precision."""

from __future__ import annotations

from theanine.graph.basic import Constant
from theanine.rewrite.db import register, rewrites
from theanine.rewrite.rules.canonicalize import is_zeros as _is_zeros
from theanine.rewrite.engine import E, PatternRewriter, node_rewriter
from theanine.tensor import math as m
from theanine.tensor.elemwise import Reduce
from theanine.tensor.basic import Alloc
from theanine.tensor.nnet.basic import LogSoftmax, Softmax, SoftmaxGrad
from theanine.tensor.subtensor import (
    AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor,
)

TAGS = ("fast_run", "fast_compile", "stabilize")


def _pattern(name, in_pattern, out):
    rewrites.register("stabilize", PatternRewriter(in_pattern, out, name), *TAGS)


_pattern("log_sigmoid", (E("log"), (E("sigmoid"), "x")), lambda x: -m.softplus(-x))
_pattern("log_one_minus_sigmoid", (E("log"), (E("sub"), 1, (E("sigmoid"), "x"))),
         lambda x: -m.softplus(x))
_pattern("log_exp", (E("log"), (E("exp"), "x")), lambda x: x)
_pattern("log1p_exp", (E("log1p"), (E("exp"), "x")), lambda x: m.softplus(x))
_pattern("log_one_plus_exp", (E("log"), (E("add"), 1, (E("exp"), "x"))),
         lambda x: m.softplus(x))
_pattern("log1p", (E("log"), (E("add"), 1, "x")), lambda x: m.log1p(x))
_pattern("expm1", (E("sub"), (E("exp"), "x"), 1), lambda x: m.expm1(x))
_pattern("softplus_grad", (E("mul"), (E("true_div"), "g", (E("add"), 1, (E("exp"), "x"))),
                           (E("exp"), "x")), lambda g, x: g * m.sigmoid(x))
_pattern("sigmoid_exp", (E("true_div"), 1, (E("add"), 1, (E("exp"), (E("neg"), "x")))),
         lambda x: m.sigmoid(x))


@register("stabilize", *TAGS)
@node_rewriter(["log"])
def log_of_softmax(fgraph, node):
    """``log(softmax(x)) -> log_softmax(x)``, also through indexing:
    ``log(softmax(x)[i]) -> log_softmax(x)[i]`` (the cross-entropy pattern)."""
    x = node.inputs[0]
    if x.owner is None:
        return None
    if isinstance(x.owner.op, Softmax):
        return [LogSoftmax(x.owner.op.axis)(x.owner.inputs[0])]
    chain = []  # indexing between the log and the softmax
    v = x
    while v.owner is not None and isinstance(v.owner.op, (Subtensor, AdvancedSubtensor)):
        chain.append(v.owner)
        v = v.owner.inputs[0]
    if not chain or v.owner is None or not isinstance(v.owner.op, Softmax):
        return None
    out = LogSoftmax(v.owner.op.axis)(v.owner.inputs[0])
    for n in reversed(chain):
        out = n.op(out, *n.inputs[1:])
    return [out]


@register("stabilize", *TAGS)
@node_rewriter(["log"])
def log_sum_exp(fgraph, node):
    """``log(sum(exp(x), axis)) -> logsumexp(x, axis)``."""
    s = node.inputs[0]
    if s.owner is None or not isinstance(s.owner.op, Reduce) or s.owner.op.kind != "sum":
        return None
    e = s.owner.inputs[0]
    if e.owner is None or getattr(e.owner.op, "scalar_op", None) is None \
            or e.owner.op.scalar_op.name != "exp":
        return None
    out = m.logsumexp(e.owner.inputs[0], axis=s.owner.op.axis)
    return [m.cast(out, node.outputs[0].type.dtype)]


def _strip_division(fgraph, dy, view):
    """If ``dy`` is ``g / view`` pushed through zero-based (inc)subtensors, return the same
    graph without the division (``g`` pushed the same way), else None."""
    d = dy.owner
    if d is None:
        return None
    so = getattr(d.op, "scalar_op", None)
    if so is not None and so.name == "true_div" and d.inputs[1] is view:
        return d.inputs[0]
    if isinstance(d.op, (IncSubtensor, AdvancedIncSubtensor)) and \
            not d.op.set_instead_of_inc and _is_zeros(d.inputs[0]):
        base, val, *idx = d.inputs
        view_op = d.op._view_op()
        for client, _ in fgraph.clients.get(view, []):
            if client == "output" or client.op != view_op or list(client.inputs[1:]) != idx:
                continue
            inner = _strip_division(fgraph, val, client.outputs[0])
            if inner is not None:
                return type(d.op)(d.op.idx)(base, inner, *idx)
    return None


@register("stabilize", *TAGS)
@node_rewriter([SoftmaxGrad])
def softmax_grad_of_log(fgraph, node):
    """The gradient of ``log(softmax(x))``, also through indexing, without dividing by
    the softmax: ``SoftmaxGrad(g / sm, sm) -> g - sum(g) * sm``, and the same when
    ``g / sm[i]`` was pushed back through the indexing (cross-entropy)."""
    dy, sm = node.inputs
    g = _strip_division(fgraph, dy, sm)
    if g is None:
        return None
    out = g - m.sum(g, axis=node.op.axis, keepdims=True) * sm
    return [m.cast(out, node.outputs[0].type.dtype)]
