"""Symbolic differentiation: grad, Lop, Rop, jacobian, hessian, and verify_grad.

``grad`` walks the graph once in reverse topological order; each op maps the
gradients of its outputs to gradients of its inputs (``Op.L_op``); contributions
to a variable are summed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Constant, Variable, ancestors, toposort


class DisconnectedInputError(ValueError):
    """The cost does not depend on a variable whose gradient was asked for."""


class NullTypeGradError(TypeError):
    """A gradient is undefined or not implemented on the path to a requested variable."""


class GradientError(AssertionError):
    """``verify_grad`` found the symbolic gradient differs from finite differences."""


class GradUndefined:
    """Marker returned by ``L_op`` where a gradient is undefined or not implemented."""

    def __init__(self, op: Any, index: int, var: Variable, reason: str) -> None:
        self.op, self.index, self.var, self.reason = op, index, var, reason

    def message(self) -> str:
        return (f"the gradient of {self.op} with respect to its input {self.index} "
                f"({self.var.describe()}) {self.reason}")


def grad_not_implemented(op: Any, index: int, var: Variable,
                         comment: str = "is not implemented") -> GradUndefined:
    """Say that ``op`` has no gradient for input ``index``."""
    return GradUndefined(op, index, var, comment)


def grad_undefined(op: Any, index: int, var: Variable,
                   comment: str = "is mathematically undefined") -> GradUndefined:
    """Say that the gradient of ``op`` for input ``index`` is undefined."""
    return GradUndefined(op, index, var, comment)


def _sum_terms(terms: list) -> Any:
    from theanine.tensor.math import add

    for t in terms:
        if isinstance(t, GradUndefined):
            return t
    return terms[0] if len(terms) == 1 else add(*terms)


def grad(cost: Variable | None, wrt: Variable | Sequence[Variable],
         consider_constant: Sequence[Variable] | None = None,
         disconnected_inputs: str = "raise", add_names: bool = True,
         known_grads: dict | None = None, return_disconnected: str = "zero",
         null_gradients: str = "raise") -> Any:
    """Gradient of a scalar ``cost`` with respect to ``wrt``.

    Parameters
    ----------
    cost : scalar Variable or None
        What to differentiate; may be None when ``known_grads`` is given.
    wrt : Variable or list of Variable
        The variables to differentiate with respect to.
    consider_constant : list of Variable, optional
        Expressions whose gradient is not propagated (treated as constants).
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when the cost does not depend on one of ``wrt``.
    known_grads : dict, optional
        Gradients of other variables, to start from (e.g. from a loss computed elsewhere).
    return_disconnected : {'zero', 'None', 'Disconnected'}
        What to return for disconnected inputs.
    null_gradients : {'raise', 'return'}
        Whether an undefined gradient raises or is returned as a ``GradUndefined``.

    Returns
    -------
    Variable or list of Variable
        Same structure as ``wrt``.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> x = T.dscalar('x')
    >>> g = grad(x ** 2, x)
    >>> g.eval({x: 3.0})
    array(6.)
    """
    from theanine.tensor.basic import as_tensor_variable, ones_like, zeros_like
    from theanine.tensor.math import cast

    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError("disconnected_inputs must be 'raise', 'warn' or 'ignore', got "
                         f"{disconnected_inputs!r}")
    single = isinstance(wrt, Variable)
    wrt_list = [wrt] if single else list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {w!r}")
    known_grads = dict(known_grads or {})
    if cost is None and not known_grads:
        raise ValueError("grad: give a cost or known_grads")
    start: dict[Variable, list] = {}
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, got {cost.describe()} with "
                            f"{cost.ndim} dimensions (sum it, or use jacobian/Lop)")
        if cost.type.dtype.startswith("complex"):
            raise TypeError("grad: the cost must be real, got a complex cost")
        one = ones_like(cost)
        if one.type.dtype not in ("float16", "float32", "float64"):
            one = cast(one, "float64")
        start[cost] = [one]
    for v, g in known_grads.items():
        g = as_tensor_variable(g)
        if g.ndim != v.ndim:
            raise ValueError(f"known_grads: the gradient of {v.describe()} has {g.ndim} "
                             f"dimensions, the variable has {v.ndim}")
        start.setdefault(v, []).append(g)

    blockers = list(consider_constant or [])
    roots = list(start)
    reachable = set(map(id, ancestors(roots, blockers)))
    # variables that depend on some wrt (so gradient must flow through them)
    wrt_ids = set(map(id, wrt_list))
    nodes = toposort(roots, blockers + wrt_list)
    depends: set[int] = set(wrt_ids)
    for node in nodes:
        if any(id(i) in depends for i in node.inputs):
            depends.update(id(o) for o in node.outputs)

    grads: dict[int, list] = {id(k): list(v) for k, v in start.items()}
    blocked = set(map(id, blockers))
    for node in reversed(nodes):
        if not any(id(o) in grads for o in node.outputs):
            continue
        if not any(id(i) in depends for i in node.inputs):
            continue
        out_grads = []
        undefined = None
        for o in node.outputs:
            terms = grads.get(id(o))
            g = _sum_terms(terms) if terms else None
            if isinstance(g, GradUndefined):
                undefined = g
            out_grads.append(g)
        if undefined is not None:
            in_grads = [undefined] * len(node.inputs)
        else:
            in_grads = node.op.L_op(node.inputs, node.outputs, out_grads)
            if len(in_grads) != len(node.inputs):
                raise ValueError(f"{node.op}.L_op returned {len(in_grads)} gradients for "
                                 f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if g is None or id(inp) not in depends or isinstance(inp, Constant) \
                    or id(inp) in blocked:
                continue
            if not isinstance(g, GradUndefined) and g.ndim != inp.ndim:
                raise ValueError(f"{node.op}.L_op returned a {g.ndim}-d gradient for the "
                                 f"{inp.ndim}-d input {inp.describe()}")
            grads.setdefault(id(inp), []).append(g)

    results = []
    for w in wrt_list:
        terms = grads.get(id(w))
        if terms:
            g = _sum_terms(terms)
            if isinstance(g, GradUndefined):
                if null_gradients == "raise":
                    raise NullTypeGradError(f"grad: {g.message()}")
                results.append(g)
                continue
            if g.type.dtype != w.type.dtype and w.type.dtype in ("float16", "float32",
                                                                   "float64"):
                g = cast(g, w.type.dtype)
            if add_names and g.name is None and w.name:
                g.name = f"(d{cost.name if cost is not None and cost.name else 'cost'}"\
                         f"/d{w.name})"
            results.append(g)
            continue
        if id(w) not in reachable:
            msg = (f"grad: the cost is not connected to {w.describe()} "
                   f"(it is not part of the cost's computational graph); pass "
                   f"disconnected_inputs='ignore' to get a zero gradient")
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(msg)
            if disconnected_inputs == "warn":
                import warnings

                warnings.warn(msg, stacklevel=2)
            if return_disconnected == "None":
                results.append(None)
                continue
            if return_disconnected == "Disconnected":
                results.append(DisconnectedGrad(w))
                continue
        results.append(zeros_like(w))
    return results[0] if single else results


class DisconnectedGrad:
    """Returned for disconnected inputs with ``return_disconnected='Disconnected'``."""

    def __init__(self, var: Variable) -> None:
        self.var = var

    def __repr__(self) -> str:
        return f"DisconnectedGrad({self.var})"


def Lop(f: Any, wrt: Any, eval_points: Any, consider_constant=None,
        disconnected_inputs: str = "raise") -> Any:
    """Vector-Jacobian product: ``eval_points`` times the Jacobian of ``f`` w.r.t. ``wrt``."""
    fs = [f] if isinstance(f, Variable) else list(f)
    evs = [eval_points] if isinstance(eval_points, Variable) or not isinstance(
        eval_points, (list, tuple)) else list(eval_points)
    if len(fs) != len(evs):
        raise ValueError(f"Lop: {len(fs)} outputs but {len(evs)} eval points")
    return grad(None, wrt, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs, known_grads=dict(zip(fs, evs)))


def Rop(f: Any, wrt: Any, eval_points: Any, disconnected_outputs: str = "raise") -> Any:
    """Jacobian-vector product: the Jacobian of ``f`` w.r.t. ``wrt`` times ``eval_points``.

    Computed as the transpose of a vector-Jacobian product (two reverse passes), so it
    works for every op that has a gradient.
    """
    single_f = isinstance(f, Variable)
    fs = [f] if single_f else list(f)
    wrts = [wrt] if isinstance(wrt, Variable) else list(wrt)
    evs = [eval_points] if isinstance(eval_points, Variable) or not isinstance(
        eval_points, (list, tuple)) else list(eval_points)
    if len(wrts) != len(evs):
        raise ValueError(f"Rop: {len(wrts)} variables but {len(evs)} eval points")
    from theanine.tensor.basic import as_tensor_variable

    us = [fi.type() for fi in fs]
    vjp = grad(None, wrts, known_grads=dict(zip(fs, us)), disconnected_inputs="ignore")
    evs = [as_tensor_variable(e) for e in evs]
    out = grad(None, us, known_grads={g: e for g, e in zip(vjp, evs)},
               disconnected_inputs="ignore")
    return out[0] if single_f else out


def jacobian(expression: Variable, wrt: Any, consider_constant=None,
             disconnected_inputs: str = "raise") -> Any:
    """Jacobian of a (flattened) expression: one row per element of ``expression``."""
    from theanine.compile.builders import map_index
    from theanine.tensor.basic import as_tensor_variable
    from theanine.tensor.math import cast

    expression = as_tensor_variable(expression)
    single = isinstance(wrt, Variable)
    wrts = [wrt] if single else list(wrt)
    flat = expression.flatten() if expression.ndim != 1 else expression
    if expression.ndim == 0:
        res = grad(expression, wrts, consider_constant, disconnected_inputs)
        return res[0] if single else res
    from theanine.tensor.basic import constant

    i = constant(0, dtype="int64").type()
    i.name = "jacobian_row"
    rows = grad(flat[i], wrts, consider_constant, disconnected_inputs)
    out = [map_index(i, flat.shape[0], r) for r in rows]
    out = [cast(o, w.type.dtype) if o.type.dtype != w.type.dtype else o for o, w in zip(out, wrts)]
    return out[0] if single else out


def hessian(cost: Variable, wrt: Any, consider_constant=None,
            disconnected_inputs: str = "raise") -> Any:
    """Hessian of a scalar ``cost`` with respect to each vector in ``wrt``."""
    single = isinstance(wrt, Variable)
    wrts = [wrt] if single else list(wrt)
    out = []
    for w in wrts:
        if w.ndim != 1:
            raise TypeError(f"hessian: wrt must be vectors, got {w.describe()} with "
                            f"{w.ndim} dimensions")
        g = grad(cost, w, consider_constant, disconnected_inputs)
        out.append(jacobian(g, w, consider_constant, disconnected_inputs="ignore"))
    return out[0] if single else out


def numeric_grad(f: Callable, pt: list[np.ndarray], eps: float) -> list[np.ndarray]:
    """Central finite differences of the scalar function ``f`` at ``pt``."""
    grads = []
    for k, x in enumerate(pt):
        g = np.zeros_like(x, dtype="float64")
        flat = x.reshape(-1)
        gflat = g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            fp = f(*pt)
            flat[j] = old - eps
            fm = f(*pt)
            flat[j] = old
            gflat[j] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def verify_grad(fun: Callable, pt: Sequence[Any], n_tests: int = 2, rng: Any = None,
                eps: float | None = None, abs_tol: float | None = None,
                rel_tol: float | None = None, mode: Any = None,
                cast_to_output_type: bool = False) -> None:
    """Check the symbolic gradient of ``fun`` against central finite differences.

    ``fun`` takes symbolic tensors (one per entry of ``pt``) and returns a tensor; the
    check projects its output on a random tensor so that any output shape works.

    Raises
    ------
    GradientError
        With the largest absolute and relative errors and the input where they occur.

    Examples
    --------
    >>> import numpy as np, theanine.tensor as T
    >>> verify_grad(T.tanh, [np.array([0.1, -0.3])])
    """
    from theanine.compile.function import function
    from theanine.tensor.type import TensorType

    rng = rng if rng is not None else np.random.default_rng(42)
    pt = [np.array(p, dtype=np.asarray(p).dtype if np.asarray(p).dtype.kind == "f"
                   else "float64") for p in pt]
    low_precision = any(p.dtype in (np.float32, np.float16) for p in pt)
    eps = eps or (1e-3 if low_precision else 1e-6)
    abs_tol = abs_tol if abs_tol is not None else (1e-2 if low_precision else 1e-6)
    rel_tol = rel_tol if rel_tol is not None else (1e-2 if low_precision else 1e-5)
    inputs = [TensorType(p.dtype, tuple(1 if s == 1 else None for s in p.shape))(f"input{i}")
              for i, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return a single tensor")
    proj_var = out.type.clone(shape=(None,) * out.ndim)("random_projection")
    from theanine.tensor.math import sum as sum_

    cost = sum_(out * proj_var)
    f_cost = function(inputs + [proj_var], cost, mode=mode, on_unused_input="ignore",
                      allow_input_downcast=True)
    grads = grad(cost, inputs, disconnected_inputs="ignore")
    f_grad = function(inputs + [proj_var], grads, mode=mode, on_unused_input="ignore",
                      allow_input_downcast=True)
    out_shape = function(inputs, out, mode=mode, on_unused_input="ignore")(*pt).shape
    for _ in range(n_tests):
        proj = rng.uniform(0.5, 1.5, size=out_shape) * rng.choice([-1.0, 1.0], size=out_shape)
        proj = np.asarray(proj, dtype=out.type.dtype)
        analytic = f_grad(*pt, proj)
        numeric = numeric_grad(lambda *xs: float(f_cost(*xs, proj)), [p.copy() for p in pt], eps)
        for i, (a, n) in enumerate(zip(analytic, numeric)):
            a = np.asarray(a, dtype="float64")
            if a.shape != n.shape:
                raise GradientError(f"verify_grad: gradient of input {i} has shape {a.shape}, "
                                    f"expected {n.shape}")
            abs_err = np.abs(a - n)
            rel_err = abs_err / np.maximum(np.abs(a) + np.abs(n), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if np.any(bad):
                j = int(np.argmax(np.where(bad, abs_err, -1)))
                raise GradientError(
                    f"verify_grad: gradient of input {i} differs from finite differences: "
                    f"max abs error {abs_err.max():.3g}, max rel error {rel_err.max():.3g} "
                    f"(at flat index {j}: analytic {a.reshape(-1)[j]!r}, numeric "
                    f"{n.reshape(-1)[j]!r})")
