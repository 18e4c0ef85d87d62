"""The MRG31k3p generator (L'Ecuyer and Touzin, 2000) as Theano's ``rng_mrg`` defined it,
and the ops that sample with it.

A stream's state is six int32 numbers: ``(x11, x12, x13)`` of the first component (modulo
``M1 = 2**31 - 1``) and ``(x21, x22, x23)`` of the second (modulo ``M2 = 2**31 - 21069``).
One step of each component:

* ``x1 <- (2**22 * x12 + (2**7 + 1) * x13) mod M1``,
* ``x2 <- (2**15 * x21 + (2**15 + 1) * x23) mod M2``,

computed with 32-bit shifts, adds that wrap around and conditional subtractions exactly
as Theano's C code did, so the integers are bit-identical. The output is
``(x1 - x2) mod M1`` (``M1`` instead of 0) times ``NORM``; as Theano's C code, float32
samples are ``float32(integer) * 4.6566126e-10f`` and float64 samples
``integer * 2**-31``; float16 samples use Theano's ``((integer & 0x7fff) + 1) *
3.0458e-05``.

A state *matrix* ``(n_streams, 6)`` holds several streams; sample ``i`` of a draw comes
from stream ``i % n_streams``. Substreams are ``2**72`` steps apart and successive
draws of :class:`~theanine.tensor.random.mrg.MRG_RandomStreams` start ``2**134`` steps
apart; the jump matrices are the transition matrices raised to those powers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType

M1 = 2147483647  # 2**31 - 1
M2 = 2147462579  # 2**31 - 21069
MASK12 = 511  # 2**9 - 1
MASK13 = 16777215  # 2**24 - 1
MASK2 = 65535  # 2**16 - 1
MULT2 = 21069
NORM64 = 4.656612873077392578125e-10  # 2**-31
NORM32 = np.float32(4.6566126e-10)  # the largest float32 with float32(NORM * M1) < 1
NORM16 = np.float16(3.0458e-05)

#: one step of each component as a matrix acting on (x_{n-1}, x_{n-2}, x_{n-3})
A1 = ((0, 4194304, 129), (1, 0, 0), (0, 1, 0))
A2 = ((32768, 0, 32769), (1, 0, 0), (0, 1, 0))


def _mat_mul_mod(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]], m: int) -> tuple:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) % m for j in range(3))
                 for i in range(3))


#: jump ahead by 2**72 steps (to the next substream) and 2**134 steps (the next stream):
#: ``A ** (2 ** e) mod m``, as published with the generator (L'Ecuyer's SSJ, Theano's
#: rng_mrg) and checked against the powers in the tests (computing them costs 8 ms of import)
A1P72 = ((1516919229, 758510237, 499121365), (1884998244, 1516919229, 335398200),
         (601897748, 1884998244, 358115744))
A2P72 = ((1228857673, 1496414766, 954677935), (1133297478, 1407477216, 1496414766),
         (2002613992, 1639496704, 1407477216))
A1P134 = ((1702500920, 1849582496, 1656874625), (828554832, 1702500920, 1512419905),
          (1143731069, 828554832, 102237247))
A2P134 = ((796789021, 1464208080, 607337906), (1241679051, 1431130166, 1464208080),
          (1401213391, 1178684362, 1431130166))


def _mat_vec_mod(a: Sequence[Sequence[int]], v: np.ndarray, m: int) -> np.ndarray:
    """``a @ v mod m`` for each row ``v`` of an int64 ``(k, 3)`` array, exactly."""
    a64 = np.asarray(a, dtype=np.int64)
    return ((v[:, None, :] * a64[None, :, :]) % m).sum(axis=2) % m


def jump(state: Any, a1: Sequence[Sequence[int]], a2: Sequence[Sequence[int]]) -> np.ndarray:
    """One stream state (6 ints) advanced by the jump matrices ``a1`` and ``a2``."""
    s = np.asarray(state, dtype=np.int64).reshape(1, 6)
    out = np.concatenate([_mat_vec_mod(a1, s[:, :3], M1), _mat_vec_mod(a2, s[:, 3:], M2)],
                         axis=1)
    return out[0].astype(np.int32)


def substream_states(state: Any, n_streams: int) -> np.ndarray:
    """``(n_streams, 6)`` int32: ``state`` and the next substreams, each ``2**72`` steps on.

    Row ``i`` is ``A**(i * 2**72) state``, computed by doubling (block ``[k, 2k)`` is block
    ``[0, k)`` advanced by ``A**(k * 2**72)``), which gives the same integers as Theano's
    one-by-one jumps.
    """
    n_streams = int(n_streams)
    if n_streams <= 0:
        raise ValueError(f"the number of streams must be positive, got {n_streams}")
    out = np.empty((n_streams, 6), np.int64)
    out[0] = np.asarray(state, dtype=np.int64).reshape(6)
    p1, p2 = A1P72, A2P72
    filled = 1
    while filled < n_streams:
        take = min(filled, n_streams - filled)
        out[filled:filled + take, :3] = _mat_vec_mod(p1, out[:take, :3], M1)
        out[filled:filled + take, 3:] = _mat_vec_mod(p2, out[:take, 3:], M2)
        filled += take
        p1, p2 = _mat_mul_mod(p1, p1, M1), _mat_mul_mod(p2, p2, M2)
    return out.astype(np.int32)


def check_seed(seed: Any) -> np.ndarray:
    """The 6-int initial state of a seed (Theano's rules), or a ``ValueError``/``TypeError``."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed == 0:
            raise ValueError("seed should not be 0")
        if seed < 0 or seed >= M2:
            raise ValueError(f"seed should be positive and less than {M2}, got {seed}")
        return np.asarray([seed] * 6, dtype=np.int32)
    if isinstance(seed, (str, bytes)) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            for s in (seed if hasattr(seed, "__iter__") else [None])):
        raise TypeError(f"seed should be 1 integer or 6 integers, got {seed!r}")
    values = [int(s) for s in seed]
    if len(values) != 6:
        raise TypeError(f"seed should be 1 integer or 6 integers, got {len(values)} values")
    if all(v == 0 for v in values[:3]):
        raise ValueError(f"the first 3 values of seed should not be all 0, got {values}")
    if all(v == 0 for v in values[3:]):
        raise ValueError(f"the last 3 values of seed should not be all 0, got {values}")
    if any(v < 0 or v >= M1 for v in values[:3]):
        raise ValueError(f"the first 3 values of seed should be in [0, {M1}), got {values}")
    if any(v < 0 or v >= M2 for v in values[3:]):
        raise ValueError(f"the last 3 values of seed should be in [0, {M2}), got {values}")
    return np.asarray(values, dtype=np.int32)


# -- sampling ---------------------------------------------------------------------------------


def _fix(y: np.ndarray, m: int) -> np.ndarray:
    """Theano's ``if (y < 0 || y >= m) y -= m`` on wrapping int32 arrays."""
    return np.where((y < 0) | (y >= m), y - np.int32(m), y)


def _to_float(diff: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float64":
        return diff.astype(np.float64) * NORM64
    if dtype == "float32":
        return diff.astype(np.float32) * NORM32
    return (((diff & 0x7FFF) + 1).astype(np.float64) * float(NORM16)).astype(np.float16)


def mrg_uniform_numpy(rstate: np.ndarray, n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform samples of ``dtype`` from the streams ``rstate`` (not modified).

    Returns ``(new state, samples)``. Vectorised over the streams: round ``k`` advances
    every stream used once and writes samples ``k * n_streams ...``.
    """
    state = np.array(rstate, dtype=np.int32, order="C")  # a copy: the input is never changed
    n_streams = state.shape[0]
    out = np.empty(n, dtype=dtype)
    x11, x12, x13, x21, x22, x23 = (state[:, j].copy() for j in range(6))
    with np.errstate(over="ignore"):
        for start in range(0, n, n_streams):
            m = min(n_streams, n - start)
            a12, a13, a21, a23 = x12[:m], x13[:m], x21[:m], x23[:m]
            y1 = ((a12 & MASK12) << 22) + (a12 >> 9) + ((a13 & MASK13) << 7) + (a13 >> 24)
            y1 = _fix(_fix(y1, M1) + a13, M1)
            x13[:m], x12[:m], x11[:m] = a12, x11[:m], y1
            z1 = _fix(((a21 & MASK2) << 15) + np.int32(MULT2) * (a21 >> 16), M2)
            y2 = _fix(((a23 & MASK2) << 15) + np.int32(MULT2) * (a23 >> 16), M2)
            y2 = _fix(_fix(y2 + a23, M2) + z1, M2)
            x23[:m], x22[:m], x21[:m] = x22[:m], a21, y2
            diff = x11[:m] - x21[:m]
            diff = np.where(diff <= 0, diff + np.int32(M1), diff)
            out[start:start + m] = _to_float(diff, dtype)
    for j, col in enumerate((x11, x12, x13, x21, x22, x23)):
        state[:, j] = col
    return state, out


class MRGUniform(Op):
    """Uniform samples on ``(0, 1)`` from MRG31k3p streams: ``(rstate, size) -> (rstate', u)``.

    ``rstate`` is an int32 ``(n_streams, 6)`` matrix, never modified (the new state is a
    copy). Theano's ``mrg_uniform``.
    """

    __props__ = ("dtype", "shape")

    def __init__(self, dtype: str, shape: Sequence[int | None]) -> None:
        self.dtype = np.dtype(dtype).name
        if self.dtype not in FLOAT_DTYPES:
            raise TypeError(f"MRG uniform samples are floats ({', '.join(FLOAT_DTYPES)}), got "
                            f"dtype {self.dtype}")
        self.shape = tuple(None if s is None else int(s) for s in shape)

    def __str__(self) -> str:
        return f"MRGUniform{{{self.dtype},ndim={len(self.shape)}}}"

    def make_node(self, rstate: Any, size: Any) -> Apply:
        rstate = as_tensor_variable(rstate)
        if rstate.type.dtype != "int32" or rstate.ndim != 2:
            raise TypeError(f"{self}: the state must be an int32 matrix (n_streams, 6), got "
                            f"{rstate.describe()} of type {rstate.type}")
        size = as_tensor_variable(size)
        if size.ndim != 1 or size.type.dtype not in INT_DTYPES:
            raise TypeError(f"{self}: `size` must be an integer vector, got {size.describe()} of "
                            f"type {size.type}")
        if size.type.shape[0] not in (None, len(self.shape)):
            raise TypeError(f"{self}: `size` has {size.type.shape[0]} entries, expected "
                            f"{len(self.shape)}")
        return Apply(self, [rstate, size], [rstate.type(), TensorType(self.dtype, self.shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        rstate, size = inputs
        shape = tuple(int(s) for s in size)
        if len(shape) != len(self.shape):
            raise ValueError(f"{self}: size must have length {len(self.shape)}, got {shape}")
        if rstate.ndim != 2 or rstate.shape[1] != 6 or rstate.shape[0] == 0:
            raise ValueError(f"{self}: the state must have shape (n_streams > 0, 6), got "
                             f"{rstate.shape}")
        n = 1
        for s in shape:
            if s < 0:
                raise ValueError(f"{self}: negative dimension in size {shape}")
            n *= s
        if n > M1:
            raise ValueError(f"{self}: rng_mrg does not support more than 2**31 - 1 samples, "
                             f"asked for {n}")
        new_state, out = mrg_uniform_numpy(rstate, n, self.dtype)
        output_storage[0][0] = new_state
        output_storage[1][0] = out.reshape(shape)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        size = node.inputs[1]
        return [input_shapes[0], tuple(size[i] for i in range(len(self.shape)))]

    def L_op(self, inputs, outputs, output_grads):
        # both inputs are integers (state and size): no gradient, as in Theano's grad for
        # integers; the bounds' gradients are undefined through ``undefined_grad``
        return [None, None]


# -- from uniform samples to other distributions ----------------------------------------------


class MultinomialFromUniform(Op):
    """One-hot counts from uniform samples: ``(pvals, unis, n) -> counts``.

    ``pvals`` is ``(n_distributions, n_outcomes)``; sample ``c`` of row ``i`` uses
    ``unis[c * n_distributions + i]`` and picks the first outcome whose cumulative
    probability (summed in float64) exceeds it, as Theano's C code (none if no sum does).
    ``odtype='auto'`` gives the dtype of ``pvals``.
    """

    __props__ = ("odtype",)

    def __init__(self, odtype: str = "auto") -> None:
        self.odtype = odtype if odtype == "auto" else np.dtype(odtype).name

    def _out_dtype(self, pvals) -> str:
        return pvals.type.dtype if self.odtype == "auto" else self.odtype

    def _check(self, pvals, unis, n):
        pvals, unis = as_tensor_variable(pvals), as_tensor_variable(unis)
        n = as_tensor_variable(n)
        if pvals.ndim != 2:
            raise TypeError(f"{self}: pvals must be a matrix, got {pvals.describe()} with "
                            f"{pvals.ndim} dimensions")
        if unis.ndim != 1:
            raise TypeError(f"{self}: unis must be a vector, got {unis.describe()} with "
                            f"{unis.ndim} dimensions")
        if n.ndim != 0 or n.type.dtype not in INT_DTYPES:
            raise TypeError(f"{self}: n must be an integer scalar, got {n.describe()} of "
                            f"type {n.type}")
        return pvals, unis, n

    def make_node(self, pvals: Any, unis: Any, n: Any = 1) -> Apply:
        pvals, unis, n = self._check(pvals, unis, n)
        out = TensorType(self._out_dtype(pvals), pvals.type.shape)()
        return Apply(self, [pvals, unis, n], [out])

    def perform(self, node, inputs, output_storage):
        pvals, unis, n = inputs
        n = int(n)
        nb_multi = pvals.shape[0]
        if unis.shape[0] != nb_multi * n:
            raise ValueError(f"{self}: unis has {unis.shape[0]} samples, pvals.shape[0] * n = "
                             f"{nb_multi * n}")
        z = np.zeros(pvals.shape, dtype=node.outputs[0].type.dtype)
        cum = np.cumsum(pvals, axis=1, dtype=np.float64)
        rows = np.arange(nb_multi)
        for c in range(n):
            above = cum > unis[c * nb_multi:(c + 1) * nb_multi, None].astype(np.float64)
            first = above.argmax(axis=1)
            hit = above[rows, first]
            z[rows[hit], first[hit]] += 1
        output_storage[0][0] = z

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [None, None, None]


class ChoiceFromUniform(MultinomialFromUniform):
    """Indices drawn from the rows of ``pvals`` with uniform samples: ``(pvals, unis, n)``.

    The result is ``(n_distributions, n)``; without replacement (``replace=False``) a
    picked outcome's probability is set to zero and the row renormalised, as Theano's C
    code. ``odtype='auto'`` gives int64.
    """

    __props__ = ("odtype", "replace")

    def __init__(self, odtype: str = "auto", replace: bool = False) -> None:
        super().__init__(odtype)
        self.replace = bool(replace)

    def _out_dtype(self, pvals) -> str:
        return "int64" if self.odtype == "auto" else self.odtype

    def make_node(self, pvals: Any, unis: Any, n: Any = 1) -> Apply:
        from theanine.graph.basic import Constant

        pvals, unis, n = self._check(pvals, unis, n)
        n_static = int(n.data) if isinstance(n, Constant) else None
        out = TensorType(self._out_dtype(pvals), (pvals.type.shape[0], n_static))()
        return Apply(self, [pvals, unis, n], [out])

    def perform(self, node, inputs, output_storage):
        pvals, unis, n = inputs
        n = int(n)
        nb_multi, nb_outcomes = pvals.shape
        if not self.replace and n > nb_outcomes:
            raise ValueError(f"{self}: cannot sample {n} values without replacement from "
                             f"{nb_outcomes} outcomes")
        if unis.shape[0] != nb_multi * n:
            raise ValueError(f"{self}: unis has {unis.shape[0]} samples, pvals.shape[0] * n = "
                             f"{nb_multi * n}")
        dt = pvals.dtype
        pv = np.array(pvals, copy=True)
        z = np.full((nb_multi, n), -1, dtype=node.outputs[0].type.dtype)
        for c in range(n):
            for i in range(nb_multi):
                cum = np.cumsum(pv[i], dtype=np.float64)
                above = np.flatnonzero(cum > np.float64(unis[c * nb_multi + i]))
                if above.size == 0:
                    continue
                m = int(above[0])
                z[i, c] = m
                if c == n - 1 or self.replace:
                    continue
                # renormalise as Theano's C code: the sum of the others, accumulated in the
                # dtype of pvals from the partial sum before m
                start = dt.type(cum[m] - np.float64(pv[i, m]))
                pv[i, m] = 0
                total = np.cumsum(np.concatenate([[start], pv[i, m:]]).astype(dt), dtype=dt)[-1]
                pv[i] = pv[i] / total
        output_storage[0][0] = z

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][0], node.inputs[2])]


class ArgsortRows(Op):
    """The stable argsort of each row (last axis): permutations from uniform samples."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise TypeError(f"{self}: expected at least one dimension, got {x.describe()}")
        return Apply(self, [x], [TensorType("int64", x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.argsort(inputs[0], axis=-1, kind="stable").astype(np.int64)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [None]


__all__ = ["A1", "A1P134", "A1P72", "A2", "A2P134", "A2P72", "ArgsortRows",
           "ChoiceFromUniform", "M1", "M2", "MRGUniform", "MultinomialFromUniform",
           "check_seed", "jump", "mrg_uniform_numpy", "substream_states"]
