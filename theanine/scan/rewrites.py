"""Rewrites that make scan fast.

* ``scan_pushout_accumulator``: a state used only as ``A_t = A_{t-1} + delta_t`` and read
  only at the end becomes ``A_0 + sum_t delta_t`` after the loop; when ``delta_t`` is an
  outer product of two vectors the sum is one matrix product (the weight gradients of
  back-propagation through time).
* ``scan_pushout_seq_dot``: ``dot(x_t, W)`` with ``x_t`` a sequence element and ``W`` a
  non-sequence becomes one matrix product over the whole sequence before the loop.
* ``scan_save_memory``: a recurrent output used only as ``out[-1]`` keeps a ring buffer
  of the steps its taps need instead of the whole history.
* ``scan_nitsot_not_stacked_twice``: a per-step output that is a sequence's element, or
  repeats another output, is not stacked again by the loop.
* ``scan_pushout_nitsot_dot``: a per-step output that is only a product (or a sum of
  products) of a non-sequence matrix and a sequence element or another per-step output
  becomes one matrix product after the loop (a gradient's ``dx_t = dot(g_t, W.T)``).
"""

from __future__ import annotations

import dataclasses

from theanine.graph.basic import Constant, ancestors, clone_replace
from theanine.rewrite.db import register
from theanine.rewrite.engine import node_rewriter
from theanine.scan.op import Scan
from theanine.tensor.elemwise import DimShuffle, Elemwise
from theanine.tensor.linalg import Dot
from theanine.tensor.subtensor import Subtensor
from theanine.tensor.type import TensorType

TAGS = ("fast_run", "scan")


def _last_only(fgraph, var) -> list | None:
    """The ``var[-1]`` nodes if they are the only uses of ``var``, else None."""
    uses = []
    for client, _ in fgraph.clients.get(var, []):
        if client == "output" or not isinstance(client.op, Subtensor) \
                or client.op.idx != (("i",),) or not isinstance(client.inputs[1], Constant) \
                or int(client.inputs[1].data) != -1:
            return None
        uses.append(client)
    return uses or None


def _uses(var, roots) -> list:
    """Nodes among the ancestors of ``roots`` that read ``var``."""
    out = []
    for v in ancestors(roots):
        if v.owner is not None and any(i is var for i in v.owner.inputs) and v.owner not in out:
            out.append(v.owner)
    return out


def _outer_vectors(delta):
    """``(a, b)`` if ``delta`` is ``a[:, None] * b[None, :]`` for vectors a and b."""
    n = delta.owner
    if n is None or not isinstance(n.op, Elemwise) or n.op.scalar_op.name != "mul" \
            or len(n.inputs) != 2 or delta.ndim != 2:
        return None
    cols = []
    for v in n.inputs:
        o = v.owner
        if o is None or not isinstance(o.op, DimShuffle):
            return None
        cols.append((o.op.new_order, o.inputs[0]))
    (p0, a), (p1, b) = cols
    if p0 == (0, "x") and p1 == ("x", 0):
        return a, b
    if p0 == ("x", 0) and p1 == (0, "x"):
        return b, a
    return None


def _rebuild(op, node, drop_state, new_nit):
    """A Scan like ``node`` without recurrent state ``drop_state`` and with extra nit-sot
    outputs ``new_nit`` (inner expressions); returns (new outputs, map old->new)."""
    info = op.info
    seq_in, tap_in, ns_in = op.inner_groups()
    R = info.n_rec
    keep = [j for j in range(R) if j != drop_state]
    inner_inputs = seq_in + [v for j in keep for v in tap_in[j]] + ns_in
    rec_out = [op.inner_outputs[j] for j in keep]
    nit_out = op.inner_outputs[R:R + info.n_nitsot]
    cond = op.inner_outputs[R + info.n_nitsot:]
    new_info = dataclasses.replace(
        info, taps=tuple(info.taps[j] for j in keep), n_nitsot=info.n_nitsot + len(new_nit),
        last_only=tuple(info.last_only[j] for j in keep) if info.last_only else ())
    new_op = Scan(inner_inputs, rec_out + nit_out + list(new_nit) + cond, new_info, op.mode)
    n_steps, *rest = node.inputs
    S = info.n_seqs
    seqs, inits, nonseqs = rest[:S], rest[S:S + R], rest[S + R:]
    outs = new_op(n_steps, *seqs, *[inits[j] for j in keep], *nonseqs)
    outs = outs if isinstance(outs, list) else [outs]
    mapping = {}
    for k, j in enumerate(keep):
        mapping[node.outputs[j]] = outs[k]
    for k in range(info.n_nitsot):
        mapping[node.outputs[R + k]] = outs[len(keep) + k]
    extra = outs[len(keep) + info.n_nitsot:]
    return extra, mapping


def _keep_nitsot(op, node, keep):
    """A Scan like ``node`` computing only the nit-sot outputs ``keep`` (indices); returns
    the map from ``node``'s outputs to the new ones (all its states, the outputs kept)."""
    info = op.info
    R, K = info.n_rec, info.n_nitsot
    inner_nit = op.inner_outputs[R:R + K]
    new_op = Scan(op.inner_inputs, op.inner_outputs[:R] + [inner_nit[k] for k in keep]
                  + op.inner_outputs[R + K:], dataclasses.replace(info, n_nitsot=len(keep)),
                  op.mode)
    outs = new_op(*node.inputs)
    outs = outs if isinstance(outs, list) else [outs]
    new = dict(zip(node.outputs[:R], outs[:R]))
    new.update({node.outputs[R + k]: outs[R + i] for i, k in enumerate(keep)})
    return new


@register("specialize", *TAGS)
@node_rewriter([Scan])
def scan_pushout_accumulator(fgraph, node):
    """Move ``A_t = A_{t-1} + delta_t`` out of the loop (see the module docstring)."""
    from theanine.rewrite.rules.canonicalize import is_zeros
    from theanine.tensor import math as m
    from theanine.tensor.linalg import dot

    op = node.op
    info = op.info
    if info.until:
        return None
    seq_in, tap_in, ns_in = op.inner_groups()
    for j in range(info.n_rec):
        if info.taps[j] != (-1,):
            continue
        uses = _last_only(fgraph, node.outputs[j])
        if uses is None:
            continue
        prev = tap_in[j][0]
        out = op.inner_outputs[j]
        n = out.owner
        if n is None or not isinstance(n.op, Elemwise) or n.op.scalar_op.name != "add" \
                or len(n.inputs) != 2 or prev not in n.inputs:
            continue
        delta = n.inputs[1] if n.inputs[0] is prev else n.inputs[0]
        if delta.type.broadcastable != out.type.broadcastable or \
                delta.type.dtype != out.type.dtype:
            continue
        readers = _uses(prev, op.inner_outputs)
        if readers != [n]:
            continue
        init = node.inputs[1 + info.n_seqs + j][0]
        vecs = _outer_vectors(delta)
        if vecs is not None:
            extra, mapping = _rebuild(op, node, j, list(vecs))
            total = dot(extra[0].T, extra[1])
        else:
            extra, mapping = _rebuild(op, node, j, [delta])
            total = m.sum(extra[0], axis=0)
        if is_zeros(init) and init.type.broadcastable == total.type.broadcastable:
            final = m.cast(total, out.type.dtype)  # a gradient's accumulator starts at 0
        else:
            final = m.cast(init + total, out.type.dtype)
        repl = dict(mapping)
        for u in uses:
            repl[u.outputs[0]] = final
        return repl
    return None


@register("specialize", *TAGS)
@node_rewriter([Scan])
def scan_pushout_seq_dot(fgraph, node):
    """``dot(x_t, W)`` inside the loop -> ``dot(X, W)[t]`` computed once before it."""
    from theanine.tensor.linalg import dot

    op = node.op
    info = op.info
    seq_in, tap_in, ns_in = op.inner_groups()
    n_steps, *rest = node.inputs
    S, R = info.n_seqs, info.n_rec
    outer_seqs, outer_ns = rest[:S], rest[S + R:]
    for v in ancestors(op.inner_outputs):
        d = v.owner
        if d is None or not isinstance(d.op, Dot):
            continue
        x, W = d.inputs
        if x.ndim != 1 or W.ndim != 2 or x not in seq_in or W not in ns_in:
            continue
        X = outer_seqs[seq_in.index(x)][:n_steps]
        Wo = outer_ns[ns_in.index(W)]
        XW = dot(X, Wo)
        ph = TensorType(v.type.dtype, (None,) * v.ndim)(f"{x.name}.W")
        new_inner = clone_replace(op.inner_outputs, {v: ph})
        new_info = dataclasses.replace(info, n_seqs=S + 1)
        new_op = Scan(seq_in + [ph] + [t for g in tap_in for t in g] + ns_in, new_inner,
                      new_info, op.mode)
        outs = new_op(n_steps, *outer_seqs, XW, *rest[S:])
        outs = outs if isinstance(outs, list) else [outs]
        return dict(zip(node.outputs, outs))
    return None


@register("specialize", *TAGS)
@node_rewriter([Scan])
def scan_save_memory(fgraph, node):
    """Keep only the last step of outputs that are used only as ``out[-1]``."""
    op = node.op
    info = op.info
    current = info.last_only or (False,) * info.n_rec
    wanted = tuple(current[j] or _last_only(fgraph, node.outputs[j]) is not None
                   for j in range(info.n_rec))
    if wanted == current or not any(wanted):
        return None
    new_op = Scan(op.inner_inputs, op.inner_outputs,
                  dataclasses.replace(info, last_only=wanted), op.mode)
    outs = new_op(*node.inputs)
    outs = outs if isinstance(outs, list) else [outs]
    return dict(zip(node.outputs, outs))


@register("specialize", *TAGS)
@node_rewriter([Scan])
def scan_nitsot_not_stacked_twice(fgraph, node):
    """A nit-sot output that is a sequence element (the loop would stack ``x_t`` back into
    the sequence) is read from the sequence, and one that repeats another output is that
    output. The gradient of a scan makes both (W4's backward step returned 9 of them,
    5 of which were such copies)."""
    op = node.op
    info = op.info
    if info.until:  # (the outputs end at the step that stopped it)
        return None
    R, K, S = info.n_rec, info.n_nitsot, info.n_seqs
    seq_in, _, _ = op.inner_groups()
    n_steps, *rest = node.inputs
    outer_seqs = rest[:S]
    inner_nit = op.inner_outputs[R:R + K]
    repl, keep, first = {}, [], {}
    for k, inner in enumerate(inner_nit):
        outer = node.outputs[R + k]
        if any(inner is s for s in seq_in):
            seq = outer_seqs[next(i for i, s in enumerate(seq_in) if s is inner)][:n_steps]
            if seq.type.dtype == outer.type.dtype and seq.ndim == outer.ndim:
                repl[outer] = seq
                continue
        if id(inner) in first:
            repl[outer] = first[id(inner)]
            continue
        first[id(inner)] = outer
        keep.append(k)
    if not repl:
        return None
    new = _keep_nitsot(op, node, keep)  # old outer output -> its replacement
    for old, v in repl.items():  # v: a slice of a sequence, or an output kept above
        new[old] = new.get(v, v)
    return new


def _pushable_dot(v, seq_in, nit_inner, ns_in):
    """For ``v = dot(y, M)`` or ``dot(M, y)``, with ``y`` a vector that is a sequence
    element or a per-step output and ``M`` a non-sequence matrix or its transpose:
    ``(y, non-sequence, transposed, matrix on the left)``; else None."""
    d = v.owner
    if d is None or not isinstance(d.op, Dot) or v.ndim != 1:
        return None
    a, b = d.inputs
    for y, mat, left in ((a, b, False), (b, a, True)):
        if y.ndim != 1 or mat.ndim != 2:
            continue
        base, transposed = mat, False
        if mat.owner is not None and isinstance(mat.owner.op, DimShuffle) and \
                tuple(mat.owner.op.new_order) == (1, 0):
            base, transposed = mat.owner.inputs[0], True
        if any(base is n for n in ns_in) and (
                any(y is s for s in seq_in) or any(y is o for o in nit_inner)):
            return y, base, transposed, left
    return None


@register("specialize", *TAGS)
@node_rewriter([Scan])
def scan_pushout_nitsot_dot(fgraph, node):
    """A per-step output ``o_t = dot(y_t, M)`` (or ``dot(M, y_t)``, or a sum of such
    products), with ``M`` a non-sequence (or its transpose) and ``y_t`` a sequence element
    or another per-step output, read by nothing else in the step: the loop no longer
    computes it; ``O = dot(Y, M)`` after the loop, one matrix product over all the steps
    instead of a matrix-vector product per step (W4's backward step: 5 -> 3 of them)."""
    from theanine.tensor import math as m
    from theanine.tensor.linalg import dot

    op = node.op
    info = op.info
    if info.until:
        return None
    R, K, S = info.n_rec, info.n_nitsot, info.n_seqs
    seq_in, _, ns_in = op.inner_groups()
    n_steps, *rest = node.inputs
    outer_seqs, outer_ns = rest[:S], rest[S + R:]
    inner_nit = op.inner_outputs[R:R + K]
    for k, o in enumerate(inner_nit):
        n = o.owner
        if n is None:
            continue
        if isinstance(n.op, Elemwise) and n.op.scalar_op.name == "add":
            terms = list(n.inputs)
        else:
            terms = [o]
        others = [v for i, v in enumerate(inner_nit) if i != k]
        found = [_pushable_dot(t, seq_in, others, ns_in) for t in terms]
        if not all(found) or any(t.type != o.type for t in terms):
            continue
        rest_out = op.inner_outputs[:R] + others + op.inner_outputs[R + K:]
        if any(o is v for v in rest_out) or _uses(o, rest_out) or \
                any(_uses(t, rest_out) for t in terms if t is not o):
            continue  # (the step needs it anyway)
        new = _keep_nitsot(op, node, [i for i in range(K) if i != k])
        total = None
        for y, base, transposed, left in found:
            if any(y is s for s in seq_in):
                Y = outer_seqs[next(i for i, s in enumerate(seq_in) if s is y)][:n_steps]
            else:
                Y = new[node.outputs[R + next(i for i, v in enumerate(inner_nit) if v is y)]]
            M = outer_ns[next(i for i, v in enumerate(ns_in) if v is base)]
            M = M.T if transposed else M  # the matrix as the step multiplies by it
            term = dot(Y, M.T if left else M)
            total = term if total is None else total + term
        new[node.outputs[R + k]] = m.cast(total, o.type.dtype)
        return new
    return None
