"""``ifelse``: a conditional evaluated lazily, computing only the branch taken.

Unlike ``tensor.switch``, which is element-wise and evaluates both of its arguments,
``ifelse(cond, a, b)`` picks whole values on a scalar condition. Every back end runs
the nodes needed only by the branch not taken never (see
:func:`theanine.backend.schedule.lazy_schedule`); values shared with the rest of the
graph are computed anyway, as in Theano.
"""

from __future__ import annotations

from typing import Any

from theanine.graph.basic import Apply, Variable
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import TensorType


class IfElse(Op):
    """``n`` outputs chosen between ``n`` "then" values and ``n`` "else" values.

    Inputs are ``(condition, *then_values, *else_values)``. The outputs are the chosen
    inputs themselves (views), so nothing is copied.
    """

    __props__ = ("n_outs",)

    def __init__(self, n_outs: int) -> None:
        self.n_outs = n_outs
        self.view_map = {i: [1 + i, 1 + n_outs + i] for i in range(n_outs)}

    def branch_of(self, index: int) -> int | None:
        """Which branch input ``index`` belongs to: 0 (then), 1 (else) or None (cond)."""
        if index == 0:
            return None
        return 0 if index <= self.n_outs else 1

    def make_node(self, cond, *values):
        if len(values) != 2 * self.n_outs:
            raise TypeError(f"IfElse({self.n_outs}) takes a condition and {2 * self.n_outs} "
                            f"values, got {len(values)}")
        cond = as_tensor_variable(cond)
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar, got {cond.describe()} "
                            f"of type {cond.type}")
        n = self.n_outs
        thens = [as_tensor_variable(v) for v in values[:n]]
        elses = [as_tensor_variable(v) for v in values[n:]]
        outs = []
        for k, (a, b) in enumerate(zip(thens, elses)):
            if a.ndim != b.ndim:
                raise TypeError(f"ifelse: output {k}: the then branch {a.describe()} has "
                                f"{a.ndim} dimensions, the else branch {b.describe()} has "
                                f"{b.ndim}; both must have the same rank")
            if a.type.dtype != b.type.dtype:
                raise TypeError(f"ifelse: output {k}: the then branch {a.describe()} is "
                                f"{a.type.dtype}, the else branch {b.describe()} is "
                                f"{b.type.dtype}; cast one of them")
            shape = tuple(x if x == y else None for x, y in zip(a.type.shape, b.type.shape))
            outs.append(TensorType(a.type.dtype, shape)())
        return Apply(self, [cond, *thens, *elses], outs)

    def perform(self, node, inputs, out):
        n = self.n_outs
        chosen = inputs[1:1 + n] if inputs[0] else inputs[1 + n:]
        for o, v in zip(out, chosen):
            o[0] = v

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.basic import zeros_like

        n = self.n_outs
        cond, thens, elses = inputs[0], inputs[1:1 + n], inputs[1 + n:]
        gthen, gelse = [], []
        for a, b, g in zip(thens, elses, output_grads):
            if g is None or a.type.dtype not in ("float16", "float32", "float64"):
                gthen.append(None)
                gelse.append(None)
                continue
            gthen.append(ifelse(cond, g, zeros_like(a)))
            gelse.append(ifelse(cond, zeros_like(b), g))
        return [None, *gthen, *gelse]


def ifelse(condition: Any, then_branch: Any, else_branch: Any,
           name: str | None = None) -> Any:
    """``then_branch`` if ``condition`` else ``else_branch``, evaluating only one of them.

    Parameters
    ----------
    condition : scalar tensor-like
        Tested once per call (non-zero is true).
    then_branch, else_branch : Variable or list of Variable
        Values of the same ranks and dtypes (Python numbers are converted to the other
        branch's dtype).
    name : str, optional
        Name of the output(s).

    Returns
    -------
    Variable or list of Variable
        One output per branch value, as given (a list for lists).

    Examples
    --------
    >>> import theanine, theanine.tensor as T
    >>> from theanine.ifelse import ifelse
    >>> a, b = T.scalars('a', 'b')
    >>> f = theanine.function([a, b], ifelse(T.lt(a, b), a * 2, T.log(b)))
    >>> float(f(1.0, 2.0))
    2.0
    """
    single = not isinstance(then_branch, (list, tuple))
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: the then branch has {len(thens)} values, the else branch "
                         f"{len(elses)}")
    a_vals, b_vals = [], []
    for a, b in zip(thens, elses):
        if not isinstance(a, Variable) and isinstance(b, Variable):
            a = as_tensor_variable(a, dtype=b.type.dtype) if _is_number(a) else a
        elif not isinstance(b, Variable) and isinstance(a, Variable):
            b = as_tensor_variable(b, dtype=a.type.dtype) if _is_number(b) else b
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        a_vals.append(a)
        b_vals.append(b)
    outs = IfElse(len(a_vals)).make_node(condition, *a_vals, *b_vals).outputs
    if name is not None:
        for k, o in enumerate(outs):
            o.name = name if single else f"{name}[{k}]"
    return outs[0] if single else list(outs)


def _is_number(v: Any) -> bool:
    return isinstance(v, (bool, int, float))


__all__ = ["IfElse", "ifelse"]

