"""Back-propagation through time: the gradient of a Scan is another Scan running the
steps backwards.

For a recurrent output j read at taps ``tau`` (``-k_j <= tau <= -1``), the backward
loop carries a window of the ``k_j`` pending adjoints of the values a step reads;
at step t the adjoint of ``y_j[t]`` is complete (every step that reads it is later)
and the inner vector-Jacobian product of the step body sends contributions to the
values it read. Non-sequences accumulate their gradient in a loop state; sequence
gradients are collected per step.
"""

from __future__ import annotations

from typing import Any

from theanine.graph.basic import clone_replace
from theanine.gradient import grad, grad_not_implemented
from theanine.tensor.type import FLOAT_DTYPES, TensorType


def _float(v) -> bool:
    return v.type.dtype in FLOAT_DTYPES


def scan_grad(op, inputs, outputs, output_grads) -> list[Any]:
    from theanine.scan.op import Scan, ScanInfo
    from theanine.tensor import math as m
    from theanine.tensor.basic import constant, zeros_like
    from theanine.tensor.join import concatenate, stack
    from theanine.tensor.subtensor import set_subtensor

    info = op.info
    if info.until:
        return [None] + [grad_not_implemented(op, i + 1, x, "through a scan with until is "
                                              "not implemented") for i, x in
                         enumerate(inputs[1:])]
    n_steps, *rest = inputs
    S, R, K = info.n_seqs, info.n_rec, info.n_nitsot
    seqs, inits, nonseqs = rest[:S], rest[S:S + R], rest[S + R:]
    hists, nits = outputs[:R], outputs[R:R + K]
    g_hist, g_nit = output_grads[:R], output_grads[R:R + K]
    seq_in, tap_in, ns_in = op.inner_groups()
    rec_out = op.inner_outputs[:R]
    nit_out = op.inner_outputs[R:R + K]

    active = [j for j in range(R) if _float(hists[j])]
    active_nit = [k for k in range(K) if _float(nits[k]) and g_nit[k] is not None]
    T = n_steps
    nb = T if info.truncate_gradient <= 0 else m.minimum(T, info.truncate_gradient)

    def rev(v):  # the last nb steps of a (T, ...) history, last step first
        return v[T - 1::-1][:nb] if info.truncate_gradient > 0 else v[T - 1::-1]

    # -- backward inner inputs ------------------------------------------------------------
    def ph(var, name):
        return TensorType(var.type.dtype, (None,) * var.ndim)(name)

    b_seq_outer, b_seq_inner = [], []
    g_cot = {}
    for j in active:
        g = g_hist[j] if g_hist[j] is not None else zeros_like(hists[j])
        b_seq_outer.append(rev(g))
        g_cot[j] = ph(rec_out[j], f"d{j}[t]")
        b_seq_inner.append(g_cot[j])
    gk_cot = {}
    for k in active_nit:
        b_seq_outer.append(rev(g_nit[k]))
        gk_cot[k] = ph(nit_out[k], f"dnit{k}[t]")
        b_seq_inner.append(gk_cot[k])
    fwd_repl = {}
    for i, s in enumerate(seqs):
        b_seq_outer.append(rev(s[:T]))
        fwd_repl[seq_in[i]] = ph(seq_in[i], f"x{i}[t]")
        b_seq_inner.append(fwd_repl[seq_in[i]])
    for j in range(R):
        lb = info.lookback[j]
        buf = concatenate([inits[j][inits[j].shape[0] - lb:], hists[j]], axis=0)
        for tap, v in zip(info.taps[j], tap_in[j]):
            b_seq_outer.append(rev(buf[lb + tap: lb + tap + T]))
            fwd_repl[v] = ph(v, f"h{j}[t{tap:+d}]")
            b_seq_inner.append(fwd_repl[v])
    windows_outer, windows_inner = [], []
    for j in active:
        lb = info.lookback[j]
        windows_outer.append(m.second(inits[j][inits[j].shape[0] - lb:],
                                      constant(0, dtype=hists[j].type.dtype)))
        windows_inner.append(TensorType(hists[j].type.dtype, (None,) * hists[j].ndim)(
            f"window{j}"))
    acc = [n for n in range(len(nonseqs)) if _float(nonseqs[n])]
    acc_outer = [zeros_like(nonseqs[n]) for n in acc]
    acc_inner = [ph(nonseqs[n], f"acc{n}") for n in acc]
    for n, v in enumerate(ns_in):
        fwd_repl[v] = ph(v, v.name)
    b_ns_inner = [fwd_repl[v] for v in ns_in]

    # -- backward inner graph: the step's vector-Jacobian product --------------------------
    fwd_outs = clone_replace(rec_out + nit_out, fwd_repl)
    known = {}
    for idx, j in enumerate(active):
        w = windows_inner[idx]
        known[fwd_outs[j]] = g_cot[j] + w[info.lookback[j] - 1]
    for k in active_nit:
        known[fwd_outs[R + k]] = gk_cot[k]
    wrt = ([fwd_repl[v] for v in seq_in] + [fwd_repl[v] for j in range(R) for v in tap_in[j]]
           + [b_ns_inner[n] for n in acc])
    if known:
        d = grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
    else:
        d = [zeros_like(w) for w in wrt]
    d_seq = d[:S]
    d_tap, pos = {}, S
    for j in range(R):
        for tap in info.taps[j]:
            d_tap[(j, tap)] = d[pos]
            pos += 1
    d_ns = d[pos:]
    new_windows = []
    for idx, j in enumerate(active):
        lb = info.lookback[j]
        w = windows_inner[idx]
        entries = []
        for p in range(lb):
            e = w[p - 1] if p >= 1 else m.second(w[0], constant(0, dtype=w.type.dtype))
            for tap in info.taps[j]:
                if lb + tap == p:
                    e = e + d_tap[(j, tap)]
            entries.append(m.cast(e, w.type.dtype))
        new_windows.append(stack(entries))
    new_acc = [m.cast(a + g, a.type.dtype) for a, g in zip(acc_inner, d_ns)]
    b_nit_out = [m.cast(g, s.type.dtype) for g, s in zip(d_seq, seq_in)]
    f_seq = [i for i in range(S) if _float(seqs[i])]
    b_nit_out = [b_nit_out[i] for i in f_seq]

    inner_inputs = b_seq_inner + windows_inner + acc_inner + b_ns_inner
    inner_outputs = new_windows + new_acc + b_nit_out
    if not inner_outputs:
        return [None] * len(inputs)
    b_info = ScanInfo(n_seqs=len(b_seq_inner), taps=((-1,),) * (len(new_windows) + len(new_acc)),
                      n_nitsot=len(b_nit_out), n_nonseqs=len(b_ns_inner),
                      name=f"grad_of_{info.name}")
    b_op = Scan(inner_inputs, inner_outputs, b_info, op.mode)
    b_init = [w.dimshuffle(["x"] + list(range(w.ndim))) for w in windows_outer] + \
             [a.dimshuffle(["x"] + list(range(a.ndim))) for a in acc_outer]
    b_outs = b_op(nb, *b_seq_outer, *b_init, *nonseqs)
    if not isinstance(b_outs, list):
        b_outs = [b_outs]
    nw = len(new_windows)
    final_windows = [b_outs[i][-1] for i in range(nw)]
    final_acc = [b_outs[nw + i][-1] for i in range(len(new_acc))]
    d_seq_hist = b_outs[nw + len(new_acc):]

    # -- outer gradients ---------------------------------------------------------------------
    result: list[Any] = [None]
    for i in range(S):
        if i not in f_seq:
            result.append(None)
            continue
        h = d_seq_hist[f_seq.index(i)][::-1]  # forward order, the last nb steps
        g = set_subtensor(zeros_like(seqs[i])[T - nb:T] if info.truncate_gradient > 0
                          else zeros_like(seqs[i])[:T], h)
        result.append(g)
    for j in range(R):
        if j not in active:
            result.append(None)
            continue
        lb = info.lookback[j]
        w = final_windows[active.index(j)]
        if info.truncate_gradient > 0:
            w = m.switch(m.eq(nb, T), w, 0)
        init = inits[j]
        g = set_subtensor(zeros_like(init)[init.shape[0] - lb:], w)
        result.append(g)
    for n in range(len(nonseqs)):
        result.append(final_acc[acc.index(n)] if n in acc else None)
    return result
