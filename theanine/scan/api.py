"""``scan`` and its helpers ``map``, ``reduce``, ``foldl``, ``foldr``, with Theano's
semantics."""

from __future__ import annotations

import builtins as _py
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from theanine.compile.shared import SharedVariable
from theanine.graph.basic import Constant, Variable, ancestors, clone_replace
from theanine.scan.op import Scan, ScanInfo
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.type import TensorType


class until:  # noqa: N801 - Theano's name
    """Returned by a scan step (with its outputs) to stop the loop once ``condition`` is true."""

    def __init__(self, condition: Any) -> None:
        self.condition = as_tensor_variable(condition)
        if self.condition.ndim != 0:
            raise TypeError("until: the condition must be a scalar")


def _placeholder(type_: TensorType, name: str | None) -> Variable:
    return TensorType(type_.dtype, (None,) * type_.ndim)(name)


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _split_step_result(result: Any) -> tuple[list, dict, Any]:
    """Split what a step returned into (outputs, updates, until condition)."""
    outputs: list = []
    updates: dict = OrderedDict()
    cond = None
    items = list(result) if isinstance(result, tuple) else [result]
    if isinstance(result, tuple) and not any(isinstance(i, (dict, until, list, tuple))
                                             for i in items):
        return list(items), updates, None
    for item in items:
        if isinstance(item, until):
            cond = item.condition
        elif isinstance(item, dict):
            updates.update(item)
        elif isinstance(item, (list, tuple)):
            if item and all(isinstance(p, tuple) and len(p) == 2 and
                            isinstance(p[0], SharedVariable) for p in item):
                updates.update(item)
            else:
                for sub in item:
                    if isinstance(sub, until):
                        cond = sub.condition
                    else:
                        outputs.append(sub)
        elif item is not None:
            outputs.append(item)
    return outputs, updates, cond


def _add_default_updates(outputs: list, updates: OrderedDict, cond: Any,
                         nonseq: list) -> None:
    """Add to ``updates`` the default update of each shared variable the step uses.

    As in Theano, a shared variable with a ``default_update`` (a random stream) read by
    the step becomes a state of the loop advanced by that update at every step; its
    final value is among the updates ``scan`` returns. Variables passed as
    ``non_sequences`` are computed once, outside the loop, so their streams are not.
    """
    roots = list(outputs) + [as_tensor_variable(v) for v in updates.values()]
    if cond is not None:
        roots.append(cond)
    found = True
    while found:
        found = False
        for v in ancestors(roots, nonseq):
            if isinstance(v, SharedVariable) and v.default_update is not None \
                    and v not in updates:
                updates[v] = v.default_update
                roots.append(v.default_update)
                found = True


def scan(fn: Callable, sequences: Any = None, outputs_info: Any = None,
         non_sequences: Any = None, n_steps: Any = None, truncate_gradient: int = -1,
         go_backwards: bool = False, mode: Any = None, name: str | None = None,
         strict: bool = False, return_list: bool = False) -> tuple[Any, OrderedDict]:
    """A loop in the graph: call ``fn`` once per step and collect its outputs.

    Parameters
    ----------
    fn : callable
        Called with, in order, the current slice of each sequence (one argument per tap),
        the previous values of each recurrent output (one per tap), then the
        non-sequences. Returns the outputs, optionally with an updates dict and an
        ``until(condition)``.
    sequences : variable, dict or list
        Iterated over their first axis; ``dict(input=x, taps=[-2, 0, 1])`` for taps.
    outputs_info : list
        Per output: its initial value (fed back, tap -1), ``dict(initial=h0,
        taps=[-2, -1])``, or ``None`` for an output that is not fed back.
    non_sequences : list
        Passed unchanged to every step.
    n_steps : int or scalar, optional
        Number of steps (defaults to the length of the sequences).
    truncate_gradient : int
        Back-propagate through at most this many steps (-1: all).
    go_backwards : bool
        Iterate over the sequences from the end.

    Returns
    -------
    outputs, updates
        The history of every output (``outputs[-1]`` is the last step), and the
        updates of shared variables to pass to ``function``.

    Examples
    --------
    >>> import theanine, theanine.tensor as T
    >>> x = T.dvector('x')
    >>> out, upd = scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0))
    >>> f = theanine.function([x], out[-1], updates=upd)
    """
    name = name or "scan"
    # -- sequences, one outer slice per tap ---------------------------------------------
    seq_outer, seq_inner = [], []
    for k, s in enumerate(_as_list(sequences)):
        taps = [0]
        if isinstance(s, dict):
            if "input" not in s:
                raise ValueError("scan: a sequence dict needs an 'input' entry")
            taps = list(s.get("taps", [0]) or [0])
            s = s["input"]
        x = as_tensor_variable(s)
        if x.ndim == 0:
            raise TypeError(f"scan: sequence {k} ({x.describe()}) is a scalar; sequences are "
                            f"iterated over their first axis")
        if go_backwards:
            x = x[::-1]
        lo, hi = min(taps), max(taps)
        for tap in taps:
            start, end = tap - lo, hi - tap
            sl = x[start:] if end == 0 else x[start: x.shape[0] - end]
            seq_outer.append(sl)
            elem = TensorType(x.type.dtype, x.type.shape[1:])
            seq_inner.append(_placeholder(elem, f"{x.name or 'seq'}[t{tap:+d}]"
                                          if tap else f"{x.name or 'seq'}[t]"))
    # -- recurrent outputs ----------------------------------------------------------------
    infos = _as_list(outputs_info) if outputs_info is not None else None
    rec_taps, rec_init, rec_inner, kinds = [], [], [], []
    for j, oi in enumerate(infos or []):
        if isinstance(oi, dict) and oi.get("initial") is None:
            kinds.append("nit")
            continue
        if oi is None:
            kinds.append("nit")
            continue
        taps = [-1]
        if isinstance(oi, dict):
            taps = sorted(oi.get("taps", [-1]) or [-1])
            oi = oi["initial"]
        if any(t >= 0 for t in taps):
            raise ValueError(f"scan: output {j} has taps {taps}; recurrent taps must be negative")
        init = as_tensor_variable(oi)
        lb = -min(taps)
        if taps == [-1]:  # the initial value is the state itself
            state_type = init.type
            outer = init.dimshuffle(["x"] + list(range(init.ndim)))
        else:
            if init.ndim == 0:
                raise TypeError(f"scan: output {j} has taps {taps}, so its initial value needs "
                                f"a first axis of at least {lb} past values")
            state_type = TensorType(init.type.dtype, init.type.shape[1:])
            outer = init
        kinds.append(("rec", len(rec_taps)))
        rec_taps.append(tuple(taps))
        rec_init.append(outer)
        rec_inner.append([_placeholder(state_type, f"{init.name or f'out{j}'}[t{t:+d}]")
                          for t in taps])
    # -- non-sequences --------------------------------------------------------------------
    nonseq = [as_tensor_variable(v) if not isinstance(v, Variable) else v
              for v in _as_list(non_sequences)]
    args = seq_inner + [p for group in rec_inner for p in group] + nonseq
    result = fn(*args)
    outputs, updates, cond = _split_step_result(result)
    outputs = [as_tensor_variable(o) for o in outputs]
    _add_default_updates(outputs, updates, cond, nonseq)
    if infos is None:
        kinds = ["nit"] * len(outputs)
    if len(outputs) != len(kinds):
        raise ValueError(f"scan: the step returned {len(outputs)} outputs but outputs_info "
                         f"describes {len(kinds)}")
    # type checks of recurrent outputs
    for j, kind in enumerate(kinds):
        if kind == "nit":
            continue
        r = kind[1]
        state = rec_inner[r][0]
        out = outputs[j]
        if out.ndim != state.ndim:
            raise TypeError(f"scan: the step returns output {j} with {out.ndim} dimensions, but "
                            f"its initial value (outputs_info[{j}]) has {state.ndim}")
        if out.type.dtype != state.type.dtype:
            if strict:
                raise TypeError(f"scan: the step returns output {j} of dtype {out.type.dtype}, "
                                f"its initial value has dtype {state.type.dtype}")
            from theanine.tensor.math import cast

            outputs[j] = cast(out, state.type.dtype)
    # -- shared-variable updates become recurrent outputs --------------------------------
    upd_vars = []
    for sv, expr in updates.items():
        if not isinstance(sv, SharedVariable):
            raise TypeError(f"scan: updates must be of shared variables, got {sv}")
        expr = as_tensor_variable(expr)
        ph = _placeholder(sv.type, f"{sv.name or 'shared'}[t-1]")
        upd_vars.append((sv, expr, ph))
    # -- the inner graph ------------------------------------------------------------------
    rec_out = [outputs[j] for j, k in enumerate(kinds) if k != "nit"]
    nit_out = [outputs[j] for j, k in enumerate(kinds) if k == "nit"]
    inner_outs = rec_out + [e for _, e, _ in upd_vars] + nit_out + (
        [cond] if cond is not None else [])
    known = set(_py.map(id, args))
    repl: dict = {sv: ph for sv, _, ph in upd_vars}
    nonseq_inner = []
    for v in nonseq:
        ph = _placeholder(v.type, v.name)
        repl[v] = ph
        nonseq_inner.append(ph)
    implicit_outer = []
    for v in ancestors(inner_outs, list(repl)):
        if v.owner is None and id(v) not in known and v not in repl and \
                not isinstance(v, Constant):
            ph = _placeholder(v.type, v.name)
            repl[v] = ph
            implicit_outer.append(v)
            nonseq_inner.append(ph)
    inner_outs = clone_replace(inner_outs, repl) if repl else inner_outs
    inner_inputs = seq_inner + [p for g in rec_inner for p in g] + \
        [ph for _, _, ph in upd_vars] + nonseq_inner
    if n_steps is None:
        if not seq_outer:
            raise ValueError("scan: give sequences or n_steps")
        n = seq_outer[0].shape[0]
    else:
        n = as_tensor_variable(n_steps)
        if n.ndim != 0:
            raise TypeError("scan: n_steps must be a scalar")
    info = ScanInfo(n_seqs=len(seq_inner),
                    taps=tuple(rec_taps) + ((-1,),) * len(upd_vars),
                    n_nitsot=len(nit_out), n_nonseqs=len(nonseq_inner),
                    until=cond is not None, name=name,
                    truncate_gradient=int(truncate_gradient),
                    check_lengths=n_steps is None)
    op = Scan(inner_inputs, inner_outs, info, mode)
    outer_inits = rec_init + [sv.dimshuffle(["x"] + list(range(sv.ndim))) for sv, _, _ in upd_vars]
    outer_outs = op(n, *seq_outer, *outer_inits, *nonseq, *implicit_outer)
    if not isinstance(outer_outs, list):
        outer_outs = [outer_outs]
    n_rec = len(rec_out)
    user_outs, r, q = [], 0, 0
    for kind in kinds:
        if kind == "nit":
            user_outs.append(outer_outs[n_rec + len(upd_vars) + q])
            q += 1
        else:
            user_outs.append(outer_outs[r])
            r += 1
    new_updates: OrderedDict = OrderedDict()
    for k, (sv, _, _) in enumerate(upd_vars):
        new_updates[sv] = outer_outs[n_rec + k][-1]
    for o in user_outs:
        o.name = None
    if len(user_outs) == 1 and not return_list:
        return user_outs[0], new_updates
    return user_outs, new_updates


def map(fn: Callable, sequences: Any, non_sequences: Any = None,  # noqa: A001
        truncate_gradient: int = -1, go_backwards: bool = False, mode: Any = None,
        name: str | None = None) -> tuple[Any, OrderedDict]:
    """Apply ``fn`` to every element of the sequences."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode,
                name=name or "map")


def reduce(fn: Callable, sequences: Any, outputs_info: Any, non_sequences: Any = None,
           go_backwards: bool = False, mode: Any = None, name: str | None = None
           ) -> tuple[Any, OrderedDict]:
    """Fold the sequences with ``fn``; return only the final value."""
    outs, upd = scan(fn, sequences=sequences, outputs_info=outputs_info,
                     non_sequences=non_sequences, go_backwards=go_backwards, mode=mode,
                     name=name or "reduce")
    if isinstance(outs, list):
        return [o[-1] for o in outs], upd
    return outs[-1], upd


def foldl(fn: Callable, sequences: Any, outputs_info: Any, non_sequences: Any = None,
          mode: Any = None, name: str | None = None) -> tuple[Any, OrderedDict]:
    """Fold from the left (first element first)."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name or "foldl")


def foldr(fn: Callable, sequences: Any, outputs_info: Any, non_sequences: Any = None,
          mode: Any = None, name: str | None = None) -> tuple[Any, OrderedDict]:
    """Fold from the right (last element first)."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name or "foldr")
