"""The older pooling path, ``theano.tensor.signal.downsample`` (Theano 0.7-0.8), kept for
programs that import it; everything lives in :mod:`theanine.tensor.signal.pool`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from theanine.tensor.signal.pool import (  # noqa: F401
    DownsampleFactorMax,
    DownsampleFactorMaxGrad,
    DownsampleFactorMaxGradGrad,
    max_pool_2d_same_size,
    pool_2d,
)
from theanine.tensor.variable import TensorVariable


def max_pool_2d(input: Any, ds: Sequence[int], ignore_border: bool | None = None,
                st: Sequence[int] | None = None, padding: Sequence[int] = (0, 0),
                mode: str = "max") -> TensorVariable:
    """Theano 0.8's ``downsample.max_pool_2d``: :func:`~theanine.tensor.signal.pool.pool_2d`
    with the old argument names (``ds`` window, ``st`` stride, ``padding``); any
    ``mode`` of ``pool_2d``.  Deprecated, as it was in Theano."""
    warnings.warn("theano.tensor.signal.downsample.max_pool_2d is deprecated; use "
                  "theano.tensor.signal.pool.pool_2d(input, ws, ignore_border, stride, pad, "
                  "mode)", DeprecationWarning, stacklevel=2)
    if ignore_border is None:
        warnings.warn("max_pool_2d() will have the parameter ignore_border default value "
                      "changed to True (currently False). To have consistent behavior with "
                      "all Theano versions, explicitly add the parameter ignore_border=True.",
                      stacklevel=2)
        ignore_border = False
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding,
                   mode=mode)


__all__ = ["max_pool_2d", "max_pool_2d_same_size", "DownsampleFactorMax",
           "DownsampleFactorMaxGrad", "DownsampleFactorMaxGradGrad"]
