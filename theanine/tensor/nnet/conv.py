"""Two-dimensional convolution, as Theano 1.0's ``theano.tensor.nnet.conv2d``.

Three ops, Theano's design: the forward :class:`Conv2d` (``AbstractConv2d``) and its
gradients with respect to the filters, :class:`Conv2dGradWeights`
(``AbstractConv2d_gradWeights``), and to the input, :class:`Conv2dGradInputs`
(``AbstractConv2d_gradInputs``).  All three are partial derivatives of one bilinear form
``<top, conv(input, filters)>``, so the gradient of each is built from the other two and
derivatives of any order exist.

Every op computes with im2col: the (padded, strided, dilated) input windows are gathered
with NumPy's ``sliding_window_view`` into one matrix, and the convolution is one BLAS
matrix product per call (per group); the gradient with respect to the input scatters the
product ``filters.T @ top`` back onto the image (col2im).  Two layouts of that matrix are
used, whichever keeps the copies long and the product large:

* channels first, batch last (``(C*kh*kw, rows*cols*batch)``): one large product, for
  small images (deep layers);
* one product per example (``(batch, C*kh*kw, rows*cols)``), for large images
  (first layers), where it avoids transposing the large result.

This module also serves the older path ``theano.tensor.nnet.conv.conv2d(input, filters,
image_shape, filter_shape, border_mode, subsample)``: :func:`conv2d` accepts both
signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op
from theanine.scalar import upcast, upgrade_to_float
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import INT_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable

BorderMode = Union[str, int, tuple[int, int]]
Shape4 = tuple[Union[int, None], Union[int, None], Union[int, None], Union[int, None]]

#: images with at least this many output pixels use one product per example
_PER_EXAMPLE_MIN_PIXELS = 256


# -- arguments -----------------------------------------------------------------------
def _pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """``value`` as a pair of ints >= ``minimum`` (an int stands for both axes)."""
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    try:
        pair = tuple(int(v) for v in value)
        ok = len(pair) == 2 and all(int(v) == v for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def _border_mode(border_mode: Any) -> str | tuple[int, int]:
    """Normalise ``border_mode``: 'valid', 'full', 'half' or a pair of paddings."""
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"border_mode must be 'valid', 'full', 'half', an int or a pair "
                             f"of ints, got {border_mode!r}")
        return border_mode
    pads = _pair(border_mode, "border_mode", minimum=0)
    return "valid" if pads == (0, 0) else pads


def _shape_hint(shape: Any, name: str) -> Shape4:
    """A user's ``input_shape`` / ``filter_shape``: four ints or None (unknown)."""
    if shape is None:
        return (None, None, None, None)
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"{name} must have 4 entries, got {shape!r}")
    out = []
    for s in shape:
        if isinstance(s, Variable):
            s = _constant_int(s)
        if s is not None:
            if int(s) != s or s < 0:
                raise ValueError(f"{name} entries must be non-negative ints or None, got "
                                 f"{shape!r}")
            s = int(s)
        out.append(s)
    return tuple(out)  # type: ignore[return-value]


def _constant_int(v: Any) -> int | None:
    if isinstance(v, Constant):
        return int(np.asarray(v.data))
    return None


def get_conv_shape_1axis(image_shape: Any, kernel_shape: Any, border_mode: BorderMode | int,
                         subsample: int, dilation: int = 1) -> Any:
    """Output length of a convolution along one axis (Theano's helper).

    Works on ints and on symbolic scalars; ``None`` in, ``None`` out.

    Parameters
    ----------
    image_shape, kernel_shape : int, symbolic scalar or None
        Input and kernel lengths.
    border_mode : {'valid', 'full', 'half'} or int
        The border mode, or the padding of this axis.
    subsample, dilation : int
        Stride and kernel dilation along this axis.
    """
    if image_shape is None or kernel_shape is None:
        return None
    dil_kernel = (kernel_shape - 1) * dilation + 1
    if border_mode == "valid":
        pad: Any = 0
    elif border_mode == "half":
        pad = dil_kernel // 2
    elif border_mode == "full":
        pad = dil_kernel - 1
    else:
        pad = int(border_mode)
        if pad < 0:
            raise ValueError(f"border_mode must be >= 0, got {border_mode}")
    return (image_shape + 2 * pad - dil_kernel) // subsample + 1


def get_conv_output_shape(image_shape: Sequence[Any], kernel_shape: Sequence[Any],
                          border_mode: BorderMode, subsample: Sequence[int],
                          filter_dilation: Sequence[int] | None = None) -> tuple:
    """Shape of ``conv2d``'s output (Theano's helper): ``(batch, out channels, rows, cols)``.

    Examples
    --------
    >>> get_conv_output_shape((8, 3, 28, 28), (16, 3, 5, 5), 'valid', (1, 1))
    (8, 16, 24, 24)
    >>> get_conv_output_shape((8, 3, 28, 28), (16, 3, 5, 5), 'half', (2, 2))
    (8, 16, 14, 14)
    """
    mode = _border_mode(border_mode)
    sub = _pair(subsample, "subsample")
    dil = _pair(filter_dilation if filter_dilation is not None else (1, 1), "filter_dilation")
    spatial = tuple(
        get_conv_shape_1axis(image_shape[2 + i], kernel_shape[2 + i],
                             mode if isinstance(mode, str) else mode[i], sub[i], dil[i])
        for i in range(2))
    return (image_shape[0], kernel_shape[0]) + spatial


# -- geometry and the NumPy kernels ---------------------------------------------------
@dataclass(frozen=True)
class _Geometry:
    """Everything a kernel needs to know about one call's shapes."""

    kh: int
    kw: int
    pad_h: int
    pad_w: int
    sh: int
    sw: int
    dh: int
    dw: int
    oh: int
    ow: int

    @property
    def span(self) -> tuple[int, int]:
        """Extent of the dilated kernel."""
        return (self.kh - 1) * self.dh + 1, (self.kw - 1) * self.dw + 1

    @property
    def pixels(self) -> int:
        return self.oh * self.ow

    def rows(self, a: int) -> slice:
        """Padded-input rows read by kernel row ``a``, one per output row."""
        start = a * self.dh
        return slice(start, start + (self.oh - 1) * self.sh + 1, self.sh)

    def cols(self, b: int) -> slice:
        start = b * self.dw
        return slice(start, start + (self.ow - 1) * self.sw + 1, self.sw)


def _geometry(op: _Conv2dBase, image_hw: Sequence[int], kernel_hw: Sequence[int]) -> _Geometry:
    kh, kw = (int(k) for k in kernel_hw)
    dh, dw = op.filter_dilation
    pads = []
    for i, k in enumerate((kh, kw)):
        span = (k - 1) * op.filter_dilation[i] + 1
        mode = op.border_mode
        pads.append(0 if mode == "valid" else span // 2 if mode == "half"
                    else span - 1 if mode == "full" else mode[i])
    out = [get_conv_shape_1axis(int(image_hw[i]), (kh, kw)[i],
                                pads[i], op.subsample[i], op.filter_dilation[i])
           for i in range(2)]
    if kh < 1 or kw < 1:
        raise ValueError(f"conv2d: the filters need at least one row and one column, got "
                         f"{kh}x{kw}")
    if out[0] < 1 or out[1] < 1:
        raise ValueError(f"conv2d: the filters ({kh}x{kw}, dilation {op.filter_dilation}) "
                         f"do not fit in the input ({image_hw[0]}x{image_hw[1]}, border_mode "
                         f"{op.border_mode!r}): the output would be {out[0]}x{out[1]}")
    return _Geometry(kh, kw, pads[0], pads[1], op.subsample[0], op.subsample[1], dh, dw,
                     out[0], out[1])


def _per_example(g: _Geometry, n_filters: int) -> bool:
    """Layout choice: one product per example for large outputs, else one large product."""
    return g.pixels >= _PER_EXAMPLE_MIN_PIXELS and n_filters <= g.pixels


def _kernel_matrix(kern: np.ndarray, flip: bool, dtype: np.dtype) -> np.ndarray:
    """Filters as a ``(F, C/groups * kh * kw)`` matrix (flipped for a true convolution)."""
    if flip:
        kern = kern[:, :, ::-1, ::-1]
    return np.ascontiguousarray(kern, dtype=dtype).reshape(kern.shape[0], -1)


def _windows(x: np.ndarray, g: _Geometry, axes: tuple[int, int]) -> np.ndarray:
    """Strided, dilated windows of the padded ``x`` along ``axes``: the two window axes
    last, the output positions in place of ``axes``."""
    win = sliding_window_view(x, g.span, axis=axes)
    index = [slice(None)] * win.ndim
    index[axes[0]] = slice(0, (g.oh - 1) * g.sh + 1, g.sh)
    index[axes[1]] = slice(0, (g.ow - 1) * g.sw + 1, g.sw)
    index[-2], index[-1] = slice(None, None, g.dh), slice(None, None, g.dw)
    return win[tuple(index)]


def _columns_batch_last(x: np.ndarray, g: _Geometry, dtype: np.dtype) -> np.ndarray:
    """im2col: ``(C*kh*kw, oh*ow*N)``, batch innermost (long contiguous copies)."""
    n, c, h, w = x.shape
    if g.pad_h or g.pad_w:
        xc = np.zeros((c, h + 2 * g.pad_h, w + 2 * g.pad_w, n), dtype)
        xc[:, g.pad_h:g.pad_h + h, g.pad_w:g.pad_w + w, :] = x.transpose(1, 2, 3, 0)
    else:
        xc = np.empty((c, h, w, n), dtype)
        xc[...] = x.transpose(1, 2, 3, 0)
    cols = np.empty((c, g.kh, g.kw, g.oh, g.ow, n), dtype)
    np.copyto(cols, _windows(xc, g, (1, 2)).transpose(0, 4, 5, 1, 2, 3))
    return cols.reshape(c * g.kh * g.kw, g.pixels * n)


def _columns_per_example(x: np.ndarray, g: _Geometry, dtype: np.dtype) -> np.ndarray:
    """im2col: ``(N, C*kh*kw, oh*ow)``, one matrix per example."""
    n, c = x.shape[:2]
    if g.pad_h or g.pad_w:
        x = np.pad(x, ((0, 0), (0, 0), (g.pad_h, g.pad_h), (g.pad_w, g.pad_w)))
    cols = np.empty((n, c, g.kh, g.kw, g.oh, g.ow), dtype)
    np.copyto(cols, _windows(x, g, (2, 3)).transpose(0, 1, 4, 5, 2, 3))
    return cols.reshape(n, c * g.kh * g.kw, g.pixels)


def _image_batch_last(d: np.ndarray, g: _Geometry, shape: Sequence[int],
                      dtype: np.dtype) -> np.ndarray:
    """col2im of ``(C*kh*kw, oh*ow*N)`` columns: the ``(N, C, H, W)`` sum of the windows."""
    n, c, h, w = shape
    d = d.reshape(c, g.kh, g.kw, g.oh, g.ow, n)
    img = np.zeros((c, h + 2 * g.pad_h, w + 2 * g.pad_w, n), dtype)
    for a in range(g.kh):
        rows = g.rows(a)
        for b in range(g.kw):
            img[:, rows, g.cols(b), :] += d[:, a, b]
    img = img[:, g.pad_h:g.pad_h + h, g.pad_w:g.pad_w + w, :]
    return np.ascontiguousarray(img.transpose(3, 0, 1, 2))


def _image_per_example(d: np.ndarray, g: _Geometry, shape: Sequence[int],
                       dtype: np.dtype) -> np.ndarray:
    """col2im of ``(N, C*kh*kw, oh*ow)`` columns."""
    n, c, h, w = shape
    d = d.reshape(n, c, g.kh, g.kw, g.oh, g.ow)
    img = np.zeros((n, c, h + 2 * g.pad_h, w + 2 * g.pad_w), dtype)
    for a in range(g.kh):
        rows = g.rows(a)
        for b in range(g.kw):
            img[:, :, rows, g.cols(b)] += d[:, :, a, b]
    if g.pad_h or g.pad_w:
        img = np.ascontiguousarray(img[:, :, g.pad_h:g.pad_h + h, g.pad_w:g.pad_w + w])
    return img


def _batch_last(top: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``(N, F, oh, ow)`` as the ``(F, oh*ow*N)`` matrix of the batch-last layout."""
    n, f, oh, ow = top.shape
    return np.ascontiguousarray(top.reshape(n, f * oh * ow).T, dtype=dtype).reshape(
        f, oh * ow * n)


def _conv_forward(img: np.ndarray, kern: np.ndarray, g: _Geometry, groups: int, flip: bool,
                  dtype: np.dtype) -> np.ndarray:
    n, f = img.shape[0], kern.shape[0]
    wmat = _kernel_matrix(kern, flip, dtype)
    fg, kg = f // groups, wmat.shape[1]
    if _per_example(g, f):
        cols = _columns_per_example(img, g, dtype)
        out = np.empty((n, f, g.pixels), dtype)
        for i in range(groups):
            np.matmul(wmat[i * fg:(i + 1) * fg], cols[:, i * kg:(i + 1) * kg],
                      out=out[:, i * fg:(i + 1) * fg])
        return out.reshape(n, f, g.oh, g.ow)
    cols = _columns_batch_last(img, g, dtype)
    out = np.empty((f, g.pixels * n), dtype)
    for i in range(groups):
        np.matmul(wmat[i * fg:(i + 1) * fg], cols[i * kg:(i + 1) * kg],
                  out=out[i * fg:(i + 1) * fg])
    return np.ascontiguousarray(out.reshape(f * g.pixels, n).T).reshape(n, f, g.oh, g.ow)


def _conv_grad_weights(img: np.ndarray, top: np.ndarray, g: _Geometry, groups: int,
                       flip: bool, dtype: np.dtype) -> np.ndarray:
    n, c = img.shape[:2]
    f = top.shape[1]
    fg, cg = f // groups, c // groups
    kg = cg * g.kh * g.kw
    gw = np.empty((f, kg), dtype)
    if _per_example(g, f):
        cols = _columns_per_example(img, g, dtype)
        tm = top.reshape(n, f, g.pixels).astype(dtype, copy=False)
        for i in range(groups):
            part = np.matmul(tm[:, i * fg:(i + 1) * fg],
                             cols[:, i * kg:(i + 1) * kg].transpose(0, 2, 1))
            np.sum(part, axis=0, out=gw[i * fg:(i + 1) * fg])
    else:
        cols = _columns_batch_last(img, g, dtype)
        tm = _batch_last(top, dtype)
        for i in range(groups):
            np.matmul(tm[i * fg:(i + 1) * fg], cols[i * kg:(i + 1) * kg].T,
                      out=gw[i * fg:(i + 1) * fg])
    gw = gw.reshape(f, cg, g.kh, g.kw)
    return np.ascontiguousarray(gw[:, :, ::-1, ::-1]) if flip else gw


def _conv_grad_inputs(kern: np.ndarray, top: np.ndarray, g: _Geometry,
                      shape: Sequence[int], groups: int, flip: bool,
                      dtype: np.dtype) -> np.ndarray:
    n, f = top.shape[:2]
    wmat = _kernel_matrix(kern, flip, dtype)
    fg, kg = f // groups, wmat.shape[1]
    if _per_example(g, f):
        tm = top.reshape(n, f, g.pixels).astype(dtype, copy=False)
        d = np.empty((n, kg * groups, g.pixels), dtype)
        for i in range(groups):
            np.matmul(wmat[i * fg:(i + 1) * fg].T, tm[:, i * fg:(i + 1) * fg],
                      out=d[:, i * kg:(i + 1) * kg])
        return _image_per_example(d, g, shape, dtype)
    tm = _batch_last(top, dtype)
    d = np.empty((kg * groups, g.pixels * n), dtype)
    for i in range(groups):
        np.matmul(wmat[i * fg:(i + 1) * fg].T, tm[i * fg:(i + 1) * fg],
                  out=d[i * kg:(i + 1) * kg])
    return _image_batch_last(d, g, shape, dtype)


# -- the ops -----------------------------------------------------------------------
def _check_rank(v: TensorVariable, name: str, layout: str) -> None:
    if v.ndim != 4:
        from theanine.tensor.type import _fmt_shape

        raise TypeError(f"conv2d: {name} must be a 4-D tensor {layout}, got {v.describe()}, "
                        f"a {v.ndim}-D tensor of static shape {_fmt_shape(v.type.shape)}")


def _merge_static(static: Sequence[int | None], hint: Sequence[int | None],
                  name: str) -> tuple[int | None, ...]:
    out = []
    for i, (s, h) in enumerate(zip(static, hint)):
        if s is not None and h is not None and s != h:
            raise ValueError(f"conv2d: {name} of static shape {tuple(static)} does not match "
                             f"the given shape {tuple(hint)} (dimension {i})")
        out.append(s if s is not None else h)
    return tuple(out)


def _out_dtype(*vars_: TensorVariable) -> str:
    dtype = upcast(*(v.type.dtype for v in vars_))
    if dtype in INT_DTYPES or dtype == "bool" or dtype.startswith("complex"):
        if dtype.startswith("complex"):
            raise TypeError(f"conv2d: complex inputs are not supported, got {dtype}")
        return upgrade_to_float(dtype)
    return dtype


def _spatial_vector(shape: Any) -> TensorVariable:
    """A spatial shape argument as an int64 vector of length 2."""
    from theanine.tensor.math import cast

    v = as_tensor_variable(shape)
    if v.ndim != 1 or v.type.dtype not in INT_DTYPES:
        raise TypeError(f"conv2d gradient: the spatial shape must be a vector of 2 ints, "
                        f"got {v.describe()}")
    if v.type.shape[0] not in (None, 2):
        raise ValueError(f"conv2d gradient: the spatial shape must have 2 entries, got "
                         f"{v.type.shape[0]}")
    return v if v.type.dtype == "int64" else cast(v, "int64")


def _constant_pair(v: TensorVariable) -> tuple[int | None, int | None]:
    if isinstance(v, Constant):
        data = np.asarray(v.data).reshape(-1)
        return int(data[0]), int(data[1])
    return None, None


class _Conv2dBase(Op):
    """What the three convolution ops share: their parameters and shape checks."""

    __props__ = ("imshp", "kshp", "border_mode", "subsample", "filter_flip",
                 "filter_dilation", "num_groups")

    def __init__(self, imshp: Sequence[int | None] | None = None,
                 kshp: Sequence[int | None] | None = None, border_mode: BorderMode = "valid",
                 subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
                 filter_dilation: Sequence[int] = (1, 1), num_groups: int = 1) -> None:
        self.imshp = _shape_hint(imshp, "input_shape")
        self.kshp = _shape_hint(kshp, "filter_shape")
        self.border_mode = _border_mode(border_mode)
        self.subsample = _pair(subsample, "subsample")
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = _pair(filter_dilation, "filter_dilation")
        if int(num_groups) != num_groups or num_groups < 1:
            raise ValueError(f"num_groups must be a positive int, got {num_groups!r}")
        self.num_groups = int(num_groups)

    def _params(self, **changes: Any) -> dict:
        params = {p: getattr(self, p) for p in self.__props__}
        params.update(changes)
        return params

    # static shapes ------------------------------------------------------------------
    def _static_out_hw(self, image_hw: Sequence[int | None],
                       kernel_hw: Sequence[int | None]) -> tuple[int | None, int | None]:
        mode = self.border_mode
        out = tuple(get_conv_shape_1axis(image_hw[i], kernel_hw[i],
                                         mode if isinstance(mode, str) else mode[i],
                                         self.subsample[i], self.filter_dilation[i])
                    for i in range(2))
        if any(o is not None and o < 1 for o in out):
            raise ValueError(f"conv2d: the filters ({kernel_hw[0]}x{kernel_hw[1]}, dilation "
                             f"{self.filter_dilation}) do not fit in the input "
                             f"({image_hw[0]}x{image_hw[1]}, border_mode {mode!r})")
        return out  # type: ignore[return-value]

    def _check_channels(self, imshp: Sequence[int | None], kshp: Sequence[int | None]) -> None:
        g = self.num_groups
        if imshp[1] is not None and kshp[1] is not None and imshp[1] != kshp[1] * g:
            grouped = f" x {g} groups" if g > 1 else ""
            raise ValueError(f"conv2d: the input has {imshp[1]} channels (shape "
                             f"{tuple(imshp)}) but the filters expect {kshp[1]}{grouped} "
                             f"(filters of shape {tuple(kshp)})")
        if kshp[0] is not None and kshp[0] % g:
            raise ValueError(f"conv2d: {kshp[0]} filters cannot be split into {g} groups")
        if imshp[1] is not None and imshp[1] % g:
            raise ValueError(f"conv2d: {imshp[1]} input channels cannot be split into {g} "
                             f"groups")

    def _check_hints(self, image_shape: Sequence[int] | None,
                     kernel_shape: Sequence[int] | None) -> None:
        for name, hint, actual in (("input_shape", self.imshp, image_shape),
                                   ("filter_shape", self.kshp, kernel_shape)):
            if actual is None:
                continue
            if any(h is not None and h != a for h, a in zip(hint, actual)):
                raise ValueError(f"conv2d: {name}={hint} was given, but the value has shape "
                                 f"{tuple(actual)}")

    def _symbolic_out_hw(self, image_hw: Sequence[Any], kernel_hw: Sequence[Any]) -> list:
        mode = self.border_mode
        return [get_conv_shape_1axis(image_hw[i], kernel_hw[i],
                                     mode if isinstance(mode, str) else mode[i],
                                     self.subsample[i], self.filter_dilation[i])
                for i in range(2)]


class Conv2d(_Conv2dBase):
    """2-D convolution of ``(batch, channels, rows, cols)`` images with
    ``(out channels, in channels / groups, rows, cols)`` filters (``AbstractConv2d``).

    Parameters
    ----------
    imshp, kshp : sequence of 4 int or None, optional
        Known input and filter shapes (``None`` entries unknown): static output shapes
        follow from them, and they are checked at run time.
    border_mode : {'valid', 'full', 'half'}, int or (int, int)
        'valid': only where the filter fits; 'full': wherever it overlaps; 'half': pad by
        half the (dilated) filter size, so that odd filters keep the size; ints: zero
        padding of the rows and columns.
    subsample : (int, int)
        Strides.
    filter_flip : bool
        True: a true convolution (flipped filters), False: a cross-correlation.
    filter_dilation : (int, int)
        Spacing between filter taps.
    num_groups : int
        Grouped convolution: input channels and filters split into this many groups.
    """

    def make_node(self, img: Any, kern: Any) -> Apply:
        img, kern = as_tensor_variable(img), as_tensor_variable(kern)
        _check_rank(img, "input", "(batch, channels, rows, cols)")
        _check_rank(kern, "filters", "(output channels, input channels, rows, cols)")
        dtype = _out_dtype(img, kern)
        imshp = _merge_static(img.type.shape, self.imshp, "input")
        kshp = _merge_static(kern.type.shape, self.kshp, "filters")
        self._check_channels(imshp, kshp)
        out = (imshp[0], kshp[0]) + self._static_out_hw(imshp[2:], kshp[2:])
        return Apply(self, [img, kern], [TensorType(dtype, out)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        img, kern = inputs
        self._check_hints(img.shape, kern.shape)
        self._check_channels(img.shape, kern.shape)
        g = _geometry(self, img.shape[2:], kern.shape[2:])
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = _conv_forward(img, kern, g, self.num_groups, self.filter_flip,
                                             dtype)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        ishape, kshape = input_shapes
        return [(ishape[0], kshape[0]) + tuple(self._symbolic_out_hw(ishape[2:], kshape[2:]))]

    def L_op(self, inputs, outputs, output_grads):
        img, kern = inputs
        (top,) = output_grads
        if top is None:
            return [None, None]
        imshp = _merge_static(img.type.shape, self.imshp, "input")
        kshp = _merge_static(kern.type.shape, self.kshp, "filters")
        params = self._params(imshp=imshp, kshp=kshp)
        d_img = Conv2dGradInputs(**params)(kern, top, img.shape[2:])
        d_kern = Conv2dGradWeights(**params)(img, top, kern.shape[2:])
        return [_as_dtype(d_img, img), _as_dtype(d_kern, kern)]


def _as_dtype(g: TensorVariable, like: TensorVariable) -> TensorVariable:
    from theanine.tensor.math import cast

    if g.type.dtype != like.type.dtype and like.type.dtype in ("float16", "float32", "float64"):
        return cast(g, like.type.dtype)
    return g


class Conv2dGradWeights(_Conv2dBase):
    """Gradient of :class:`Conv2d` with respect to the filters
    (``AbstractConv2d_gradWeights``): inputs ``(img, top, shape)``, ``top`` the gradient
    of the output and ``shape`` the filters' (rows, cols)."""

    def make_node(self, img: Any, top: Any, shape: Any) -> Apply:
        img, top = as_tensor_variable(img), as_tensor_variable(top)
        _check_rank(img, "input", "(batch, channels, rows, cols)")
        _check_rank(top, "output gradient", "(batch, output channels, rows, cols)")
        shape = _spatial_vector(shape)
        dtype = _out_dtype(img, top)
        imshp = _merge_static(img.type.shape, self.imshp, "input")
        kh, kw = _constant_pair(shape)
        g = self.num_groups
        kshp = _merge_static((top.type.shape[1], None if imshp[1] is None else imshp[1] // g,
                              kh, kw), self.kshp, "filters")
        if imshp[0] is not None and top.type.shape[0] is not None \
                and imshp[0] != top.type.shape[0]:
            raise ValueError(f"conv2d gradient: batch sizes {imshp[0]} (input) and "
                             f"{top.type.shape[0]} (output gradient) differ")
        return Apply(self, [img, top, shape], [TensorType(dtype, kshp)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        img, top, shape = inputs
        kernel_shape = (top.shape[1], img.shape[1] // self.num_groups) + tuple(int(s)
                                                                             for s in shape)
        self._check_hints(img.shape, kernel_shape)
        self._check_channels(img.shape, kernel_shape)
        g = _geometry(self, img.shape[2:], kernel_shape[2:])
        _check_top(top, img.shape[0], (g.oh, g.ow))
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = _conv_grad_weights(img, top, g, self.num_groups,
                                                  self.filter_flip, dtype)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        ishape, tshape, _ = input_shapes
        shape = node.inputs[2]
        return [(tshape[1], ishape[1] // self.num_groups, shape[0], shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        img, top, _ = inputs
        (gw,) = output_grads
        if gw is None:
            return [None, None, None]
        params = self._params(imshp=_merge_static(img.type.shape, self.imshp, "input"))
        d_img = Conv2dGradInputs(**params)(gw, top, img.shape[2:])
        d_top = Conv2d(**params)(img, gw)
        return [_as_dtype(d_img, img), _as_dtype(d_top, top), None]


class Conv2dGradInputs(_Conv2dBase):
    """Gradient of :class:`Conv2d` with respect to its input
    (``AbstractConv2d_gradInputs``): inputs ``(kern, top, shape)``, ``top`` the gradient
    of the output and ``shape`` the input's (rows, cols), needed because strides make
    it ambiguous.  With ``subsample`` it is the transposed convolution."""

    def make_node(self, kern: Any, top: Any, shape: Any) -> Apply:
        kern, top = as_tensor_variable(kern), as_tensor_variable(top)
        _check_rank(kern, "filters", "(output channels, input channels, rows, cols)")
        _check_rank(top, "output gradient", "(batch, output channels, rows, cols)")
        shape = _spatial_vector(shape)
        dtype = _out_dtype(kern, top)
        kshp = _merge_static(kern.type.shape, self.kshp, "filters")
        h, w = _constant_pair(shape)
        channels = None if kshp[1] is None else kshp[1] * self.num_groups
        imshp = _merge_static((top.type.shape[0], channels, h, w), self.imshp, "input")
        if kshp[0] is not None and top.type.shape[1] is not None \
                and kshp[0] != top.type.shape[1]:
            raise ValueError(f"conv2d gradient: {kshp[0]} filters but the output gradient "
                             f"has {top.type.shape[1]} channels")
        return Apply(self, [kern, top, shape], [TensorType(dtype, imshp)()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        kern, top, shape = inputs
        image_shape = (top.shape[0], kern.shape[1] * self.num_groups) + tuple(int(s)
                                                                             for s in shape)
        self._check_hints(image_shape, kern.shape)
        if kern.shape[0] != top.shape[1]:
            raise ValueError(f"conv2d gradient: filters of shape {kern.shape} but an output "
                             f"gradient of shape {top.shape}")
        g = _geometry(self, image_shape[2:], kern.shape[2:])
        _check_top(top, image_shape[0], (g.oh, g.ow))
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = _conv_grad_inputs(kern, top, g, image_shape, self.num_groups,
                                                 self.filter_flip, dtype)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        kshape, tshape, _ = input_shapes
        shape = node.inputs[2]
        return [(tshape[0], kshape[1] * self.num_groups, shape[0], shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        kern, top, _ = inputs
        (gi,) = output_grads
        if gi is None:
            return [None, None, None]
        params = self._params(kshp=_merge_static(kern.type.shape, self.kshp, "filters"))
        d_kern = Conv2dGradWeights(**params)(gi, top, kern.shape[2:])
        d_top = Conv2d(**params)(gi, kern)
        return [_as_dtype(d_kern, kern), _as_dtype(d_top, top), None]


def _check_top(top: np.ndarray, batch: int, out_hw: tuple[int, int]) -> None:
    if top.shape[0] != batch or tuple(top.shape[2:]) != out_hw:
        raise ValueError(f"conv2d gradient: the output gradient has shape {top.shape}, "
                         f"expected ({batch}, ?, {out_hw[0]}, {out_hw[1]})")


# Theano's names
AbstractConv2d = Conv2d
AbstractConv2d_gradWeights = Conv2dGradWeights
AbstractConv2d_gradInputs = Conv2dGradInputs


# -- the user-facing functions --------------------------------------------------------
_OLD_CONVOP_KWARGS = ("unroll_batch", "unroll_kern", "unroll_patch", "verbose", "openmp",
                      "version", "direction_hint")


def conv2d(input: Any, filters: Any, input_shape: Sequence[int | None] | None = None,
           filter_shape: Sequence[int | None] | None = None, border_mode: BorderMode = "valid",
           subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
           image_shape: Sequence[int | None] | None = None,
           filter_dilation: Sequence[int] = (1, 1), num_groups: int = 1,
           unshared: bool = False, **kwargs: Any) -> TensorVariable:
    """2-D convolution of a minibatch of images with a bank of filters.

    Both Theano spellings: ``theano.tensor.nnet.conv2d`` (the arguments below) and the
    older ``theano.tensor.nnet.conv.conv2d(input, filters, image_shape, filter_shape,
    border_mode, subsample)``.

    Parameters
    ----------
    input : 4-D tensor
        ``(batch, input channels, rows, cols)``.
    filters : 4-D tensor
        ``(output channels, input channels / num_groups, rows, cols)``.
    input_shape, filter_shape : sequence of 4 int or None, optional
        Known shapes (``None`` entries unknown); used for static shapes, checked at run
        time.  ``image_shape`` is the older name of ``input_shape``.
    border_mode : {'valid', 'full', 'half'}, int or (int, int)
        'valid': output ``(rows - filter_rows) // stride + 1``; 'full': wherever the
        filter overlaps the input; 'half': padding of half the filter size (odd filters
        keep the size); ints: symmetric zero padding of rows and columns.
    subsample : (int, int)
        Strides of the output.
    filter_flip : bool
        True (default): a true convolution, the filters flipped; False: a
        cross-correlation.
    filter_dilation : (int, int)
        Spacing between the filter's taps (atrous convolution).
    num_groups : int
        Grouped convolution.
    unshared : bool
        Not supported (raises NotImplementedError when True).

    Returns
    -------
    4-D tensor
        ``(batch, output channels, output rows, output cols)``.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> out = conv2d(T.tensor4('x'), T.tensor4('w'), border_mode='half')
    >>> out.ndim
    4
    """
    if unshared:
        raise NotImplementedError("conv2d: unshared=True (locally connected layers) is not "
                                  "supported")
    if "imshp_logical" in kwargs or "kshp_logical" in kwargs:
        raise NotImplementedError("conv2d: imshp_logical and kshp_logical (upsampling "
                                  "through logical shapes) are not supported")
    unknown = [k for k in kwargs if k not in _OLD_CONVOP_KWARGS]
    if unknown:
        raise TypeError(f"conv2d() got unexpected keyword arguments {sorted(unknown)}")
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or image_shape (its older name), "
                             "not both")
        input_shape = image_shape
    input, filters = as_tensor_variable(input), as_tensor_variable(filters)
    op = Conv2d(imshp=input_shape, kshp=filter_shape, border_mode=border_mode,
                subsample=subsample, filter_flip=filter_flip, filter_dilation=filter_dilation,
                num_groups=num_groups)
    return op(input, filters)


def conv2d_grad_wrt_inputs(output_grad: Any, filters: Any,
                           input_shape: Sequence[Any],
                           filter_shape: Sequence[int | None] | None = None,
                           border_mode: BorderMode = "valid",
                           subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
                           filter_dilation: Sequence[int] = (1, 1),
                           num_groups: int = 1) -> TensorVariable:
    """Gradient of :func:`conv2d` with respect to its input (a transposed convolution).

    ``input_shape`` is the full ``(batch, channels, rows, cols)`` shape of that input; its
    rows and cols may be symbolic scalars.
    """
    static = [s if not isinstance(s, Variable) else _constant_int(s) for s in input_shape]
    op = Conv2dGradInputs(imshp=static, kshp=filter_shape, border_mode=border_mode,
                          subsample=subsample, filter_flip=filter_flip,
                          filter_dilation=filter_dilation, num_groups=num_groups)
    return op(filters, output_grad, _hw(input_shape))


def conv2d_grad_wrt_weights(input: Any, output_grad: Any, filter_shape: Sequence[Any],
                            input_shape: Sequence[int | None] | None = None,
                            border_mode: BorderMode = "valid",
                            subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
                            filter_dilation: Sequence[int] = (1, 1),
                            num_groups: int = 1) -> TensorVariable:
    """Gradient of :func:`conv2d` with respect to its filters; ``filter_shape`` is the
    filters' full shape (rows and cols may be symbolic)."""
    static = [s if not isinstance(s, Variable) else _constant_int(s) for s in filter_shape]
    op = Conv2dGradWeights(imshp=input_shape, kshp=static, border_mode=border_mode,
                           subsample=subsample, filter_flip=filter_flip,
                           filter_dilation=filter_dilation, num_groups=num_groups)
    return op(input, output_grad, _hw(filter_shape))


def conv2d_transpose(input: Any, filters: Any, output_shape: Sequence[Any],
                     filter_shape: Sequence[int | None] | None = None,
                     border_mode: BorderMode = "valid", input_dilation: Sequence[int] = (1, 1),
                     filter_flip: bool = True, filter_dilation: Sequence[int] = (1, 1),
                     num_groups: int = 1) -> TensorVariable:
    """Transposed convolution ("deconvolution"): the gradient of ``conv2d`` applied to
    ``input``, ``output_shape`` being the shape of the result."""
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode,
                                  input_dilation, filter_flip, filter_dilation, num_groups)


def _hw(shape: Sequence[Any]) -> Any:
    """The last two entries of a shape (ints or symbolic scalars) as an int64 vector."""
    from theanine.tensor.shape import MakeVector

    shape = list(shape)
    if len(shape) != 4:
        raise ValueError(f"conv2d: a shape needs 4 entries, got {shape!r}")
    rows, cols = shape[2:]
    if any(s is None for s in (rows, cols)):
        raise ValueError(f"conv2d: the rows and cols of {shape!r} must be given")
    if all(not isinstance(s, Variable) for s in (rows, cols)):
        return np.array([rows, cols], dtype="int64")
    from theanine.tensor.math import cast

    return MakeVector("int64")(*(cast(as_tensor_variable(s), "int64") for s in (rows, cols)))


__all__ = [
    "conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "conv2d_transpose",
    "get_conv_output_shape", "get_conv_shape_1axis", "Conv2d", "Conv2dGradWeights",
    "Conv2dGradInputs", "AbstractConv2d", "AbstractConv2d_gradWeights",
    "AbstractConv2d_gradInputs",
]
