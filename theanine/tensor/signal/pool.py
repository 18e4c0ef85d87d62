"""Pooling over the last two (or three) dimensions, as Theano 1.0's
``theano.tensor.signal.pool``.

:class:`Pool` reduces windows of ``ws`` elements taken every ``stride`` elements, after
zero padding of ``pad`` on both sides; its gradients are :class:`MaxPoolGrad` (the output
gradient goes to every element equal to its window's maximum, as in Theano) and
:class:`AveragePoolGrad` (spread evenly over the window; ``sum`` mode too), and the
gradient of :class:`MaxPoolGrad` is :class:`MaxPoolGradGrad`, so second derivatives exist.

Each op loops over the ``prod(ws)`` offsets inside a window and does one vectorised NumPy
operation on strided views per offset.

Window edges, as Theano:

* ``ignore_border=True``: only windows inside the padded input; ``False``: a partial
  window at the end when ``ws`` does not divide the length (padding must then be 0);
* ``max`` and ``sum`` never see the padding; ``average_exc_pad`` divides by the number of
  input elements in the window, ``average_inc_pad`` by the window size clipped to the
  padded input.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import TensorType
from theanine.tensor.variable import TensorVariable

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


# -- arguments and shapes --------------------------------------------------------------
def _ints(value: Any, nd: int, name: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        value = (value,) * nd
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == nd and all(int(v) == v for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"pool: {name} must be {nd} ints, got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"pool: {name} entries must be >= {minimum}, got {value!r}")
    return out


def _out_len(length: Any, ws: int, stride: int, pad: int, ignore_border: bool) -> Any:
    """Output length along one axis; ``length`` an int, a symbolic scalar or None."""
    if length is None:
        return None
    symbolic = not isinstance(length, (int, np.integer))
    if symbolic:
        from theanine.tensor.math import maximum, minimum
    else:
        maximum, minimum = max, min
    padded = length + 2 * pad
    if ignore_border:
        return maximum((padded - ws) // stride + 1, 0)
    if stride >= ws:
        return (padded - 1) // stride + 1
    # the last window starts before the end (and an empty input gives an empty output)
    return minimum(padded, maximum((padded - 1 - ws) // stride + 1, 0) + 1)


def out_shape(imgshape: Sequence[Any], ws: Sequence[int], ignore_border: bool = False,
              stride: Sequence[int] | None = None, pad: Sequence[int] | None = None,
              ndim: int = 2) -> list:
    """Shape of :class:`Pool`'s output for an input of shape ``imgshape`` (Theano's
    ``Pool.out_shape``); entries may be ints or symbolic scalars.

    Examples
    --------
    >>> out_shape((3, 5, 5), (2, 2), ignore_border=False)
    [3, 3, 3]
    >>> out_shape((3, 5, 5), (2, 2), ignore_border=True)
    [3, 2, 2]
    """
    if len(imgshape) < ndim:
        raise TypeError(f"pool: the shape needs at least {ndim} entries, got {imgshape!r}")
    stride = ws if stride is None else stride
    pad = (0,) * ndim if pad is None else pad
    lead = list(imgshape[:-ndim])
    spatial = imgshape[-ndim:]
    return lead + [_out_len(spatial[i], ws[i], stride[i], pad[i], ignore_border)
                   for i in range(ndim)]


class _Windows:
    """One call's window geometry along the last ``nd`` axes of ``shape``."""

    def __init__(self, shape: Sequence[int], ws: Sequence[int], stride: Sequence[int],
                 pad: Sequence[int], ignore_border: bool) -> None:
        self.nd = nd = len(ws)
        self.lead = tuple(shape[:-nd])
        self.length = tuple(shape[-nd:])
        self.ws, self.stride, self.pad = tuple(ws), tuple(stride), tuple(pad)
        self.out = tuple(_out_len(self.length[i], ws[i], stride[i], pad[i], ignore_border)
                         for i in range(nd))
        # extent the windows read, from the start of the padding
        self.extent = tuple(max(self.length[i] + 2 * pad[i],
                                (self.out[i] - 1) * stride[i] + ws[i] if self.out[i] else 0)
                            for i in range(nd))

    @property
    def disjoint(self) -> bool:
        """Whether windows never overlap (each element is read by one window at most)."""
        return all(s >= w for s, w in zip(self.stride, self.ws))

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.lead + self.out

    def inside(self) -> tuple:
        """Index of the input inside the extended array."""
        return (Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(self.pad, self.length))

    def extended(self, x: np.ndarray, fill: Any) -> np.ndarray:
        """``x`` padded with ``fill`` to the extent the windows read (``x`` itself when
        no window leaves it)."""
        if self.extent == self.length and not any(self.pad):
            return x
        ext = np.full(self.lead + self.extent, fill, dtype=x.dtype)
        ext[self.inside()] = x
        return ext

    def offsets(self):
        """For each offset inside a window, the strided index of the elements it reads."""
        for off in itertools.product(*(range(w) for w in self.ws)):
            yield (Ellipsis,) + tuple(slice(o, o + (n - 1) * s + 1, s) if n else slice(0, 0)
                                      for o, n, s in zip(off, self.out, self.stride))

    def counts(self, include_pad: bool) -> np.ndarray:
        """Number of elements averaged in each window (broadcastable to the output)."""
        total = None
        for i in range(self.nd):
            start = np.arange(self.out[i]) * self.stride[i]
            end = np.minimum(start + self.ws[i], self.length[i] + 2 * self.pad[i])
            if not include_pad:
                start = np.maximum(start, self.pad[i])
                end = np.minimum(end, self.length[i] + self.pad[i])
            c = (end - start).reshape((-1,) + (1,) * (self.nd - 1 - i))
            total = c if total is None else total * c
        return total


def _lowest(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return False


# -- the ops ---------------------------------------------------------------------------
class _PoolBase(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws: Sequence[int], ignore_border: bool = False,
                 stride: Sequence[int] | None = None, pad: Sequence[int] | None = None,
                 mode: str = "max") -> None:
        if mode == "max_deterministic":
            mode = "max"
        if mode not in MODES:
            raise ValueError(f"pool: mode must be one of {', '.join(MODES)}; got {mode!r}")
        nd = len(tuple(ws)) if not isinstance(ws, (int, np.integer)) else 2
        self.ws = _ints(ws, nd, "ws", 1)
        self.stride = self.ws if stride is None else _ints(stride, nd, "stride", 1)
        self.pad = (0,) * nd if pad is None else _ints(pad, nd, "pad", 0)
        self.ignore_border = bool(ignore_border)
        self.mode = mode
        if any(self.pad) and not self.ignore_border:
            raise NotImplementedError("pool: padding works only with ignore_border=True")
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise NotImplementedError(f"pool: the padding {self.pad} must be smaller than the "
                                      f"window {self.ws}")

    @property
    def nd(self) -> int:
        return len(self.ws)

    def _windows(self, shape: Sequence[int]) -> _Windows:
        return _Windows(shape, self.ws, self.stride, self.pad, self.ignore_border)

    def _check_input(self, x: TensorVariable, name: str = "input") -> None:
        if x.ndim < self.nd:
            from theanine.tensor.type import _fmt_shape

            raise TypeError(f"pool: {name} must have at least {self.nd} dimensions (the last "
                            f"{self.nd} are pooled), got {x.describe()}, a {x.ndim}-D tensor "
                            f"of static shape {_fmt_shape(x.type.shape)}")

    def _static_out(self, x: TensorVariable) -> tuple:
        return tuple(out_shape(x.type.shape, self.ws, self.ignore_border, self.stride,
                               self.pad, self.nd))


class Pool(_PoolBase):
    """Max, sum or average pooling over the last ``len(ws)`` dimensions.

    Parameters
    ----------
    ws : tuple of int
        Window size.
    ignore_border : bool
        Whether to drop the partial windows at the end (True) or keep them (False).
    stride : tuple of int, optional
        Distance between windows (default ``ws``: no overlap).
    pad : tuple of int, optional
        Zero padding on both sides (needs ``ignore_border=True``, smaller than ``ws``).
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
    """

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        self._check_input(x)
        return Apply(self, [x], [TensorType(x.type.dtype, self._static_out(x))()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        (x,) = inputs
        win = self._windows(x.shape)
        dtype = node.outputs[0].type.numpy_dtype
        if 0 in win.out_shape:
            output_storage[0][0] = np.zeros(win.out_shape, dtype)
            return
        is_max = self.mode == "max"
        ext = win.extended(x, _lowest(x.dtype) if is_max else 0)
        res = None
        for index in win.offsets():
            v = ext[index]
            if res is None:
                res = np.array(v, dtype=dtype if is_max or dtype.kind == "f" else "float64")
            elif is_max:
                np.maximum(res, v, out=res)
            else:
                np.add(res, v, out=res)
        if self.mode.startswith("average"):
            res /= win.counts(self.mode == "average_inc_pad")
        output_storage[0][0] = res.astype(dtype, copy=False)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(out_shape(input_shapes[0], self.ws, self.ignore_border, self.stride,
                                self.pad, self.nd))]

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if gz is None:
            return [None]
        params = {p: getattr(self, p) for p in self.__props__}
        if self.mode == "max":
            return [MaxPoolGrad(**params)(x, out, gz)]
        return [AveragePoolGrad(**params)(x, gz)]


class MaxPoolGrad(_PoolBase):
    """Gradient of max pooling: inputs ``(x, maxout, gz)``; each element of ``x`` equal
    to its window's maximum receives the window's output gradient."""

    def __init__(self, ws: Sequence[int], ignore_border: bool = False,
                 stride: Sequence[int] | None = None, pad: Sequence[int] | None = None,
                 mode: str = "max") -> None:
        super().__init__(ws, ignore_border, stride, pad, mode)
        if self.mode != "max":
            raise ValueError(f"MaxPoolGrad needs mode='max', got {mode!r}")

    def make_node(self, x: Any, maxout: Any, gz: Any) -> Apply:
        x, maxout, gz = (as_tensor_variable(v) for v in (x, maxout, gz))
        for v, name in ((x, "input"), (maxout, "maxout"), (gz, "output gradient")):
            self._check_input(v, name)
        if not (x.ndim == maxout.ndim == gz.ndim):
            raise TypeError(f"MaxPoolGrad: input, maxout and gradient need the same number "
                            f"of dimensions, got {x.ndim}, {maxout.ndim}, {gz.ndim}")
        return Apply(self, [x, maxout, gz], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        x, maxout, gz = inputs
        win = self._windows(x.shape)
        _check_grad_shape(gz, win.out_shape)
        dtype = node.outputs[0].type.numpy_dtype
        ext = win.extended(x, _lowest(x.dtype))
        gext = np.zeros(ext.shape, dtype)
        if gz.size:
            is_max = np.empty(maxout.shape, bool)
            part = None if win.disjoint else np.empty(maxout.shape, dtype)
            for index in win.offsets():
                np.equal(ext[index], maxout, out=is_max)
                if win.disjoint:  # each element in one window at most: write in place
                    np.multiply(is_max, gz, out=gext[index])
                else:
                    np.multiply(is_max, gz, out=part)
                    gext[index] += part
        output_storage[0][0] = np.ascontiguousarray(gext[win.inside()]) \
            if gext.shape != x.shape else gext

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.basic import zeros_like

        x, maxout, gz = inputs
        (ggx,) = output_grads
        if ggx is None:
            return [None, None, None]
        params = {p: getattr(self, p) for p in self.__props__}
        return [zeros_like(x), zeros_like(maxout), MaxPoolGradGrad(**params)(x, maxout, ggx)]


class AveragePoolGrad(_PoolBase):
    """Gradient of sum and average pooling: inputs ``(x, gz)``; each window's output
    gradient (divided by the window's count when averaging) is added to its elements."""

    def __init__(self, ws: Sequence[int], ignore_border: bool = False,
                 stride: Sequence[int] | None = None, pad: Sequence[int] | None = None,
                 mode: str = "average_inc_pad") -> None:
        super().__init__(ws, ignore_border, stride, pad, mode)
        if self.mode == "max":
            raise ValueError("AveragePoolGrad needs mode 'sum', 'average_inc_pad' or "
                             "'average_exc_pad'")

    def make_node(self, x: Any, gz: Any) -> Apply:
        x, gz = as_tensor_variable(x), as_tensor_variable(gz)
        self._check_input(x)
        self._check_input(gz, "output gradient")
        if x.ndim != gz.ndim:
            raise TypeError(f"AveragePoolGrad: input and gradient need the same number of "
                            f"dimensions, got {x.ndim} and {gz.ndim}")
        return Apply(self, [x, gz], [TensorType(gz.type.dtype, x.type.shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        x, gz = inputs
        win = self._windows(x.shape)
        _check_grad_shape(gz, win.out_shape)
        dtype = node.outputs[0].type.numpy_dtype
        g = gz
        if self.mode.startswith("average") and gz.size:
            g = gz / win.counts(self.mode == "average_inc_pad")
        g = np.asarray(g, dtype=dtype)
        gext = np.zeros(win.lead + win.extent, dtype)
        if gz.size:
            for index in win.offsets():
                if win.disjoint:
                    gext[index] = g
                else:
                    gext[index] += g
        output_storage[0][0] = np.ascontiguousarray(gext[win.inside()]) \
            if gext.shape != x.shape else gext

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.basic import zeros_like

        x, gz = inputs
        (ggx,) = output_grads
        if ggx is None:
            return [None, None]
        params = {p: getattr(self, p) for p in self.__props__}
        return [zeros_like(x), Pool(**params)(ggx)]


class MaxPoolGradGrad(_PoolBase):
    """Gradient of :class:`MaxPoolGrad` with respect to its output gradient: inputs
    ``(x, maxout, ggx)``; each window takes the value of ``ggx`` at its maximum."""

    def make_node(self, x: Any, maxout: Any, ggx: Any) -> Apply:
        x, maxout, ggx = (as_tensor_variable(v) for v in (x, maxout, ggx))
        for v, name in ((x, "input"), (maxout, "maxout"), (ggx, "gradient")):
            self._check_input(v, name)
        return Apply(self, [x, maxout, ggx], [TensorType(ggx.type.dtype, maxout.type.shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        x, maxout, ggx = inputs
        win = self._windows(x.shape)
        dtype = node.outputs[0].type.numpy_dtype
        res = np.zeros(maxout.shape, dtype)
        if maxout.size:
            ext = win.extended(x, _lowest(x.dtype))
            gext = win.extended(np.asarray(ggx, dtype=dtype), 0)
            for index in win.offsets():
                np.copyto(res, gext[index], where=ext[index] == maxout)
        output_storage[0][0] = res

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.basic import zeros_like

        x, maxout, ggx = inputs
        (g,) = output_grads
        if g is None:
            return [None, None, None]
        params = {p: getattr(self, p) for p in self.__props__}
        return [zeros_like(x), zeros_like(maxout), MaxPoolGrad(**params)(x, maxout, g)]


def _check_grad_shape(gz: np.ndarray, expected: tuple) -> None:
    if gz.shape != expected:
        raise ValueError(f"pool gradient: the output gradient has shape {gz.shape}, expected "
                         f"{expected}")


# Theano's older names
DownsampleFactorMax = Pool
DownsampleFactorMaxGrad = MaxPoolGrad
DownsampleFactorMaxGradGrad = MaxPoolGradGrad


# -- the user-facing functions ------------------------------------------------------------
def _renamed(new: Any, old: Any, new_name: str, old_name: str, default: Any = None) -> Any:
    """Theano 1.0's handling of a renamed argument: the old name still works, with a
    DeprecationWarning; both at once is an error."""
    if old is None:
        return new
    if new is not None and (default is None or tuple(new) != tuple(default)):
        raise ValueError(f"pool: give {new_name} or its old name {old_name}, not both")
    warnings.warn(f"pool: the {old_name!r} argument is deprecated, use {new_name!r}",
                  DeprecationWarning, stacklevel=4)
    return old


def _pool_nd(input: Any, nd: int, ws: Any, ignore_border: bool | None, stride: Any, pad: Any,
             mode: str, ds: Any, st: Any, padding: Any, name: str) -> TensorVariable:
    ws = _renamed(ws, ds, "ws", "ds")
    stride = _renamed(stride, st, "stride", "st")
    pad = _renamed(pad, padding, "pad", "padding", default=(0,) * nd)
    if ws is None:
        raise ValueError(f"{name}: give the window size ws")
    input = as_tensor_variable(input)
    if ignore_border is None:
        warnings.warn(f"{name}() will have the parameter ignore_border default value changed "
                      f"to True (currently False). To have consistent behavior with all "
                      f"Theano versions, explicitly add the parameter ignore_border=True.",
                      stacklevel=3)
        ignore_border = False
    op = Pool(_ints(ws, nd, "ws", 1), ignore_border=ignore_border,
              stride=None if stride is None else _ints(stride, nd, "stride", 1),
              pad=(0,) * nd if pad is None else _ints(pad, nd, "pad", 0), mode=mode)
    return op(input)


def pool_2d(input: Any, ws: Sequence[int] | None = None, ignore_border: bool | None = None,
            stride: Sequence[int] | None = None, pad: Sequence[int] = (0, 0),
            mode: str = "max", ds: Sequence[int] | None = None,
            st: Sequence[int] | None = None,
            padding: Sequence[int] | None = None) -> TensorVariable:
    """Pool the last two dimensions of ``input`` (any number of leading dimensions).

    Parameters
    ----------
    input : tensor with at least 2 dimensions
    ws : (int, int)
        Window size (``ds`` is its older name, accepted with a DeprecationWarning).
    ignore_border : bool
        True: a (5, 5) input with ``ws=(2, 2)`` gives (2, 2); False: (3, 3), the partial
        windows kept.  The default (None) means False with a warning, as in Theano 1.0.
    stride : (int, int), optional
        Step between windows (default ``ws``); older name ``st``.
    pad : (int, int)
        Zero padding of rows and columns on both sides (needs ``ignore_border=True``);
        older name ``padding``.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
        ``max`` and ``sum`` ignore the padding; the averages include it or not.

    Returns
    -------
    tensor
        Same leading dimensions, pooled last two.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> pool_2d(T.tensor4('x'), ws=(2, 2), ignore_border=True).ndim
    4
    """
    return _pool_nd(input, 2, ws, ignore_border, stride, pad, mode, ds, st, padding, "pool_2d")


def pool_3d(input: Any, ws: Sequence[int] | None = None, ignore_border: bool | None = None,
            stride: Sequence[int] | None = None, pad: Sequence[int] = (0, 0, 0),
            mode: str = "max", ds: Sequence[int] | None = None,
            st: Sequence[int] | None = None,
            padding: Sequence[int] | None = None) -> TensorVariable:
    """Pool the last three dimensions of ``input``; arguments as :func:`pool_2d`."""
    return _pool_nd(input, 3, ws, ignore_border, stride, pad, mode, ds, st, padding, "pool_3d")


def max_pool_2d_same_size(input: Any, patch_size: Sequence[int]) -> TensorVariable:
    """Keep the maximum of each non-overlapping ``patch_size`` patch, zero elsewhere: the
    output has the input's shape."""
    input = as_tensor_variable(input)
    ws = _ints(patch_size, 2, "patch_size", 1)
    out = Pool(ws, ignore_border=True)(input)
    return MaxPoolGrad(ws, ignore_border=True)(input, out, out)


__all__ = [
    "pool_2d", "pool_3d", "max_pool_2d_same_size", "out_shape", "Pool", "MaxPoolGrad",
    "AveragePoolGrad", "MaxPoolGradGrad", "DownsampleFactorMax", "DownsampleFactorMaxGrad",
    "DownsampleFactorMaxGradGrad", "MODES",
]
