"""Random-variable ops drawing from a NumPy ``RandomState`` stream (Theano's ``raw_random``).

A :class:`RandomFunction` node takes ``(state, size, *parameters)`` and returns
``(new state, draw)``; ``state`` is an encoded ``RandomState`` (see
:mod:`theanine.tensor.random.state`), ``size`` an integer vector (empty: the shape of
the broadcast parameters). The builders ``uniform``, ``normal``, ``binomial``,
``random_integers``, ``choice``, ``poisson``, ``permutation`` and ``multinomial`` infer the
draw's dtype and number of dimensions from their arguments as Theano's did, and call
the same ``RandomState`` methods with the same arguments, so that a state gives Theano's
numbers.

Gradients: as in Theano, the gradient through a draw is *undefined* for its real-valued
parameters: ``grad`` raises ``NullTypeGradError`` when a requested gradient depends on
one. The integer inputs (the state, the size, integer parameters) have none, as integers
in Theano's ``grad``: a draw of size ``h.shape`` does not block ``h``'s gradient. :class:`UndefinedGrad` marks a variable the same way
(Theano's ``undefined_grad``), and is removed when a function is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.type import DISCRETE_DTYPES, INT_DTYPES, TensorType
from theanine.tensor.random.state import decode_state, encode_state

# -- draws: (RandomState, *parameters, shape or None) -> array ---------------------------


def _uniform(rs: np.random.RandomState, low, high, shape):
    return rs.uniform(low, high, shape)


def _normal(rs: np.random.RandomState, avg, std, shape):
    return rs.normal(avg, std, shape)


def _binomial(rs: np.random.RandomState, n, p, shape):
    return rs.binomial(n, p, shape)


def _poisson(rs: np.random.RandomState, lam, shape):
    return rs.poisson(lam, shape)


def _broadcast_params(shape, *params: np.ndarray) -> tuple[tuple, list[np.ndarray]]:
    """Theano's broadcasting of element-wise parameters against ``shape`` (None: theirs)."""
    ndim = len(shape) if shape is not None else max(p.ndim for p in params)
    for p in params:
        if p.ndim > ndim:
            raise ValueError(f"a parameter has {p.ndim} dimensions, more than the {ndim} of "
                             f"the size {shape}")
    padded = [p.reshape((1,) * (ndim - p.ndim) + p.shape) for p in params]
    out = tuple(shape) if shape is not None else tuple(
        max(p.shape[d] for p in padded) for d in range(ndim))
    return out, [np.broadcast_to(p, out) for p in padded]


def _random_integers(rs: np.random.RandomState, low, high, shape):
    # Theano drew element by element with RandomState.random_integers(low, high), which is
    # randint(low, high + 1); a broadcast randint draws the same numbers in the same order
    out, (lo, hi) = _broadcast_params(shape, np.asarray(low, np.int64),
                                      np.asarray(high, np.int64))
    return rs.randint(lo, hi + 1, size=out) if lo.size else np.empty(out, np.int64)


def _choice(rs: np.random.RandomState, a, replace, p, shape):
    if a.ndim > 1:
        raise ValueError(f"choice: `a` must be a scalar or a vector, got {a.ndim} dimensions")
    if p.ndim != 1:
        raise ValueError(f"choice: `p` must be a vector, got {p.ndim} dimensions")
    return rs.choice(a, shape, bool(replace), None if p.size == 0 else p)


def _permutation(rs: np.random.RandomState, n, shape):
    if np.ndim(n) != 0:
        raise ValueError(f"permutation: `n` must be a scalar, got shape {np.shape(n)}")
    n = int(n)
    shape = () if shape is None else shape
    out = np.empty(tuple(shape) + (n,), np.int64)
    for i in np.ndindex(*shape):
        out[i] = rs.permutation(n)
    return out


def _multinomial(rs: np.random.RandomState, n, pvals, shape):
    ndim = len(shape) if shape is not None else max(n.ndim, pvals.ndim - 1)
    if n.ndim > ndim or pvals.ndim - 1 > ndim:
        raise ValueError(f"multinomial: `n` (ndim {n.ndim}) and `pvals` (ndim {pvals.ndim}) "
                         f"have more dimensions than the size {shape}")
    n = n.reshape((1,) * (ndim - n.ndim) + n.shape)
    pvals = pvals.reshape((1,) * (ndim + 1 - pvals.ndim) + pvals.shape)
    size = tuple(shape) if shape is not None else tuple(
        max(n.shape[d], pvals.shape[d]) for d in range(ndim))
    n_b = np.broadcast_to(n, size)
    p_b = np.broadcast_to(pvals, size + pvals.shape[-1:])
    if p_b.size and p_b.min() < 0:
        raise ValueError("multinomial: `pvals` has negative probabilities")
    out = np.empty(size + pvals.shape[-1:])
    for i in np.ndindex(*size):
        pvi = p_b[i]
        # as Theano: shrink probabilities that sum to a little more than one, which NumPy
        # refuses (and those whose last entry is tiny)
        pisum = np.sum(pvi)
        if 1.0 < pisum < 1.0 + 1e-5 or pvi[-1] < 5e-5:
            pvi = pvi * (1.0 - 5e-5)
        out[i] = rs.multinomial(n=n_b[i], pvals=pvi.astype("float64"))
    return out


DRAWS: dict[str, Callable[..., Any]] = {
    "uniform": _uniform, "normal": _normal, "binomial": _binomial, "poisson": _poisson,
    "random_integers": _random_integers, "choice": _choice, "permutation": _permutation,
    "multinomial": _multinomial,
}


class RandomFunction(Op):
    """Draw from a ``RandomState`` stream: ``(state, size, *params) -> (new state, draw)``.

    Parameters
    ----------
    dist : str
        One of :data:`DRAWS`.
    dtype : str
        The draw's dtype.
    shape : tuple of int or None
        The draw's static shape (its length is the number of dimensions).
    ndim_added : int
        Dimensions the draw has beyond ``size`` (1 for ``permutation`` and ``multinomial``).

    The input state is never modified: the new state is a new array.
    """

    __props__ = ("dist", "dtype", "shape", "ndim_added")

    def __init__(self, dist: str, dtype: str, shape: Sequence[int | None],
                 ndim_added: int = 0) -> None:
        if dist not in DRAWS:
            raise ValueError(f"RandomFunction: unknown distribution {dist!r}; expected one of "
                             f"{', '.join(DRAWS)}")
        self.dist = dist
        self.dtype = np.dtype(dtype).name
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.ndim_added = int(ndim_added)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_rs"}

    def __str__(self) -> str:
        return f"RandomFunction{{{self.dist},{self.dtype},ndim={self.ndim}}}"

    def make_node(self, state: Any, size: Any, *params: Any) -> Apply:
        state = as_tensor_variable(state)
        if state.type.dtype != "uint32" or state.ndim != 1:
            raise TypeError(f"{self}: the state must be a uint32 vector (an encoded "
                            f"RandomState), got {state.describe()} of type {state.type}")
        size = as_tensor_variable(size)
        if size.ndim != 1 or size.type.dtype not in INT_DTYPES:
            raise TypeError(f"{self}: `size` must be an integer vector, got {size.describe()} "
                            f"of type {size.type}")
        params = [as_tensor_variable(p) for p in params]
        draw = TensorType(self.dtype, self.shape)()
        return Apply(self, [state, size, *params], [state.type(), draw])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        state, size, *params = inputs
        # a generator object is reused between calls (decoding into it is cheaper)
        rs = self.__dict__.get("_rs")
        rs = self.__dict__["_rs"] = decode_state(state, rs)
        shape = None if len(size) == 0 else tuple(int(s) for s in size)
        if shape is not None and len(shape) + self.ndim_added != self.ndim:
            raise ValueError(f"{self}: the size {shape} has {len(shape)} entries, the draw has "
                             f"{self.ndim} dimensions ({self.ndim_added} added by the "
                             f"distribution)")
        rval = np.asarray(DRAWS[self.dist](rs, *params, shape))
        if rval.dtype != self.dtype:
            rval = rval.astype(self.dtype)
        if shape is None and rval.ndim == 0 and self.ndim > 0:
            rval = rval.reshape((1,) * self.ndim)
        if rval.ndim != self.ndim:
            raise ValueError(f"{self}: the draw has {rval.ndim} dimensions, expected "
                             f"{self.ndim}; pass `ndim=` or a size of that length")
        if shape is not None and rval.shape[:len(shape)] != shape:
            raise ValueError(f"{self}: the draw has shape {rval.shape}, expected {shape}")
        output_storage[0][0] = encode_state(rs)
        output_storage[1][0] = rval

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        size = node.inputs[1]
        known = size.type.shape[0]
        if self.ndim_added or known != self.ndim or self.ndim == 0:
            if self.ndim == 0:
                return [input_shapes[0], ()]
            raise NotImplementedError(f"{self}: the shape depends on the parameters")
        return [input_shapes[0], tuple(size[i] for i in range(self.ndim))]

    def L_op(self, inputs, outputs, output_grads):
        return draw_gradients(self, inputs)


def draw_gradients(op: Op, inputs: Sequence[Variable]) -> list:
    """The gradients of a random draw's inputs: undefined for real-valued parameters (as
    Theano), none for integer inputs (the state, the size, counts), which are not
    differentiable, so that e.g. a dropout mask of size ``h.shape`` leaves ``h``'s
    gradient alone."""
    from theanine.gradient import grad_undefined

    return [None if x.type.dtype in DISCRETE_DTYPES else
            grad_undefined(op, k, x, "is undefined: no gradient is defined through a random "
                                     "draw")
            for k, x in enumerate(inputs)]


class UndefinedGrad(Op):
    """The identity, whose gradient is undefined (Theano's ``undefined_grad``)."""

    view_map = {0: [0]}

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.gradient import grad_undefined

        return [grad_undefined(self, 0, inputs[0], "is undefined: the value is a parameter "
                                                   "of a random distribution")]


def undefined_grad(x: Any) -> Variable:
    """``x``, but asking for a gradient through it raises (as Theano's ``undefined_grad``)."""
    return UndefinedGrad()(x)


def _register_rewrites() -> None:
    from theanine.rewrite.db import register
    from theanine.rewrite.engine import node_rewriter

    @register("canonicalize", "fast_run", "fast_compile")
    @node_rewriter([UndefinedGrad])
    def remove_undefined_grad(fgraph, node):
        """UndefinedGrad only matters to ``grad``: a compiled function drops it."""
        return [node.inputs[0]]


_register_rewrites()


# -- sizes ---------------------------------------------------------------------------------


def static_shape(size: Variable, ndim: int) -> list[int | None]:
    """The entries of the integer vector ``size`` known when the graph is built."""
    from theanine.tensor.shape import MakeVector

    if isinstance(size, Constant):
        return [int(v) for v in np.asarray(size.data).reshape(-1)]
    if size.owner is not None and isinstance(size.owner.op, MakeVector):
        return [int(v.data) if isinstance(v, Constant) else None for v in size.owner.inputs]
    if size.owner is not None and type(size.owner.op).__name__ == "Elemwise" \
            and getattr(size.owner.op.scalar_op, "name", "") == "cast":
        return static_shape(size.owner.inputs[0], ndim)
    return [None] * ndim


def infer_ndim_shape(ndim: int | None, size: Any, *args: Variable
                     ) -> tuple[int, Variable, tuple[int | None, ...]]:
    """Theano's ``_infer_ndim_bcast``: the draw's ndim, an int64 size vector, static shape.

    ``size`` is None (the shape of the broadcast ``args``), a tuple or list of ints and
    symbolic scalars (``-1`` takes the length of the broadcast ``args`` in that
    dimension), or a symbolic integer vector (then its length or ``ndim`` must be known).
    """
    from theanine.tensor.join import stack
    from theanine.tensor.math import cast

    args_ndim = max((a.ndim for a in args), default=0)
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size,)
    if isinstance(size, (tuple, list)):
        if ndim is None:
            ndim = len(size)
        elif ndim != len(size):
            raise ValueError(f"ndim ({ndim}) must equal the length of size ({len(size)}), "
                             f"got size={size!r}")
        entries: list = []
        static: list = []
        for i, s in enumerate(size):
            if isinstance(s, Variable):
                if s.ndim != 0 or s.type.dtype not in INT_DTYPES:
                    raise TypeError(f"size[{i}] must be an integer scalar, got {s.describe()} "
                                    f"of type {s.type}")
                entries.append(cast(s, "int64"))
                static.append(int(s.data) if isinstance(s, Constant) else None)
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                if s >= 0:
                    entries.append(constant(int(s), dtype="int64"))
                    static.append(int(s))
                elif s == -1:
                    for a in args:
                        if i >= ndim - a.ndim:
                            ai = i + a.ndim - ndim
                            if a.type.shape[ai] != 1:
                                entries.append(cast(a.shape[ai], "int64"))
                                static.append(a.type.shape[ai])
                                break
                    else:
                        if not any(i >= ndim - a.ndim for a in args):
                            raise ValueError(f"size[{i}] is -1 (the length of the parameters in "
                                             f"that dimension), but no parameter has it")
                        entries.append(constant(1, dtype="int64"))
                        static.append(1)
                else:
                    raise ValueError(f"size[{i}] must be non-negative (or -1), got {s}")
            else:
                raise TypeError(f"size must contain integers or integer scalars, got size[{i}] "
                                f"= {s!r} of type {type(s).__name__}")
        v_size = stack(entries) if entries else constant(np.zeros(0, np.int64))
    elif size is None:
        if not args:
            raise TypeError("size=None needs parameters to take the shape from")
        template = reduce(lambda a, b: a + b, args)
        v_size = cast(template.shape, "int64")
        ndim = template.ndim
        static = list(template.type.shape)
    else:
        v_size = as_tensor_variable(size)
        if v_size.ndim != 1 or v_size.type.dtype not in INT_DTYPES:
            raise TypeError(f"size must be a tuple of integers or an integer vector, got "
                            f"{v_size.describe()} of type {v_size.type}")
        if ndim is None:
            ndim = v_size.type.shape[0]
            if ndim is None:
                raise ValueError("the length of the symbolic size is unknown; pass ndim=")
        v_size = cast(v_size, "int64")
        static = static_shape(v_size, ndim)
    if args_ndim > ndim:
        raise ValueError(f"ndim ({ndim}) must be at least the parameters' number of "
                         f"dimensions ({args_ndim})")
    return ndim, v_size, tuple(static)


# -- builders (Theano's raw_random functions) ------------------------------------------------


def _float_dtype(dtype: Any, *params: Variable) -> str:
    from theanine.config import config
    from theanine.scalar import upcast

    if dtype is None:
        return upcast(config.floatX, *(p.type.dtype for p in params))
    return np.dtype(config.floatX if dtype == "floatX" else dtype).name


def uniform(random_state: Variable, size: Any = None, low: Any = 0.0, high: Any = 1.0,
            ndim: int | None = None, dtype: Any = None) -> list[Variable]:
    """``[new state, draw]``: uniform on ``[low, high)``; dtype at least ``floatX``."""
    low, high = as_tensor_variable(low), as_tensor_variable(high)
    dtype = _float_dtype(dtype, low, high)
    ndim, v_size, shape = infer_ndim_shape(ndim, size, low, high)
    return RandomFunction("uniform", dtype, shape)(random_state, v_size, low, high)


def normal(random_state: Variable, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
           ndim: int | None = None, dtype: Any = None) -> list[Variable]:
    """``[new state, draw]``: normal with mean ``avg`` and standard deviation ``std``."""
    avg, std = as_tensor_variable(avg), as_tensor_variable(std)
    dtype = _float_dtype(dtype, avg, std)
    ndim, v_size, shape = infer_ndim_shape(ndim, size, avg, std)
    return RandomFunction("normal", dtype, shape)(random_state, v_size, avg, std)


def binomial(random_state: Variable, size: Any = None, n: Any = 1, p: Any = 0.5,
             ndim: int | None = None, dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: successes in ``n`` trials of probability ``p``."""
    n, p = as_tensor_variable(n), as_tensor_variable(p)
    ndim, v_size, shape = infer_ndim_shape(ndim, size, n, p)
    return RandomFunction("binomial", dtype, shape)(random_state, v_size, n, p)


def random_integers(random_state: Variable, size: Any = None, low: Any = 0, high: Any = 1,
                    ndim: int | None = None, dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: integers between ``low`` and ``high``, both included."""
    low, high = as_tensor_variable(low), as_tensor_variable(high)
    ndim, v_size, shape = infer_ndim_shape(ndim, size, low, high)
    return RandomFunction("random_integers", dtype, shape)(random_state, v_size, low, high)


def choice(random_state: Variable, size: Any = None, a: Any = 2, replace: Any = True,
           p: Any = None, ndim: int | None = None, dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: values of ``a`` (or of ``range(a)``) with probabilities ``p``."""
    a = as_tensor_variable(a)
    replace = constant(bool(replace), dtype="int8") if isinstance(replace, (bool, int)) \
        else as_tensor_variable(replace)
    p = as_tensor_variable(p if p is not None else np.zeros(0, "float64"))
    ndim, v_size, shape = infer_ndim_shape(ndim, size)
    return RandomFunction("choice", dtype, shape)(random_state, v_size, a, replace, p)


def poisson(random_state: Variable, size: Any = None, lam: Any = 1.0,
            ndim: int | None = None, dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: Poisson counts of expectation ``lam``."""
    lam = as_tensor_variable(lam)
    ndim, v_size, shape = infer_ndim_shape(ndim, size, lam)
    return RandomFunction("poisson", dtype, shape)(random_state, v_size, lam)


def permutation(random_state: Variable, size: Any = None, n: Any = 1,
                ndim: int | None = None, dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: permutations of ``range(n)``, one per entry of ``size``.

    The draw has one more dimension than ``size`` (of length ``n``).
    """
    n = as_tensor_variable(n)
    if size is None or (isinstance(size, (tuple, list)) and len(size) == 0):
        if ndim not in (None, 1):
            raise TypeError(f"permutation: one permutation was asked for (size={size!r}) but "
                            f"ndim={ndim}")
        v_size, shape = constant(np.zeros(0, np.int64)), ()
    else:
        ndim, v_size, shape = infer_ndim_shape(ndim, size)
    n_static = int(n.data) if isinstance(n, Constant) else None
    return RandomFunction("permutation", dtype, tuple(shape) + (n_static,), 1)(
        random_state, v_size, n)


def multinomial(random_state: Variable, size: Any = None, n: Any = 1,
                pvals: Any = (0.5, 0.5), ndim: int | None = None,
                dtype: Any = "int64") -> list[Variable]:
    """``[new state, draw]``: counts of ``n`` trials of the distributions in ``pvals``'s rows.

    The draw has one more dimension than ``size`` (of length ``pvals.shape[-1]``).
    """
    n = as_tensor_variable(n)
    pvals = as_tensor_variable(list(pvals) if isinstance(pvals, tuple) else pvals)
    if pvals.ndim == 0:
        raise TypeError(f"multinomial: `pvals` must have at least one dimension, got "
                        f"{pvals.describe()}")
    rows = pvals[(slice(None),) * (pvals.ndim - 1) + (0,)]  # the batch shape of pvals
    ndim, v_size, shape = infer_ndim_shape(ndim, size, n, rows)
    return RandomFunction("multinomial", dtype, tuple(shape) + (pvals.type.shape[-1],), 1)(
        random_state, v_size, n, pvals)


__all__ = ["DRAWS", "RandomFunction", "UndefinedGrad", "binomial", "choice", "draw_gradients",
           "infer_ndim_shape", "multinomial", "normal", "permutation", "poisson",
           "random_integers", "static_shape", "undefined_grad", "uniform"]
