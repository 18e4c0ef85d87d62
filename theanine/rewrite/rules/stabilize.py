"""Numerical stability: rewrite expressions that overflow or lose precision."""

from __future__ import annotations

from theanine.rewrite.db import register, rewrites
from theanine.rewrite.engine import E, PatternRewriter, node_rewriter
from theanine.tensor import math as m
from theanine.tensor.elemwise import Reduce
from theanine.tensor.nnet.basic import LogSoftmax, Softmax
from theanine.tensor.subtensor import AdvancedSubtensor, Subtensor

TAGS = ("fast_run", "fast_compile", "stabilize")


def _pattern(name, in_pattern, out):
    rewrites.register("stabilize", PatternRewriter(in_pattern, out, name), *TAGS)


_pattern("log_sigmoid", (E("log"), (E("sigmoid"), "x")), lambda x: -m.softplus(-x))
_pattern("log_one_minus_sigmoid", (E("log"), (E("sub"), 1, (E("sigmoid"), "x"))),
         lambda x: -m.softplus(x))
_pattern("log1p_exp", (E("log1p"), (E("exp"), "x")), lambda x: m.softplus(x))
_pattern("log_one_plus_exp", (E("log"), (E("add"), 1, (E("exp"), "x"))),
         lambda x: m.softplus(x))
_pattern("log1p", (E("log"), (E("add"), 1, "x")), lambda x: m.log1p(x))
_pattern("expm1", (E("sub"), (E("exp"), "x"), 1), lambda x: m.expm1(x))
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
    if isinstance(x.owner.op, (Subtensor, AdvancedSubtensor)):
        sm = x.owner.inputs[0]
        if sm.owner is not None and isinstance(sm.owner.op, Softmax):
            lsm = LogSoftmax(sm.owner.op.axis)(sm.owner.inputs[0])
            return [x.owner.op(lsm, *x.owner.inputs[1:])]
    return None


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
