"""Batch normalisation, as Theano 1.0's ``theano.tensor.nnet.bn``.

Built from existing ops (means, variances and element-wise arithmetic), so gradients of
any order come from theirs and the element-wise parts are fused by the compiler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from theanine.config import config
from theanine.tensor import math as m
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.shape import addbroadcast, patternbroadcast
from theanine.tensor.variable import TensorVariable

Axes = Union[str, Sequence[int]]


def batch_normalization(inputs: Any, gamma: Any, beta: Any, mean: Any, std: Any,
                        mode: str = "low_mem") -> TensorVariable:
    """``(inputs - mean) / std * gamma + beta``: batch normalisation with given statistics.

    Parameters
    ----------
    inputs : tensor
        Mini-batch of activations.
    gamma, beta : tensor
        Scale and shift, broadcastable against ``inputs`` (same number of dimensions).
    mean, std : tensor
        Statistics of ``inputs``, broadcastable against it.
    mode : {'low_mem', 'high_mem'}
        Theano's two formulations; the same values (the compiler fuses either into one
        element-wise loop).

    Returns
    -------
    tensor
        The normalised activations.
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f'batch_normalization: mode must be either "low_mem" or "high_mem", '
                         f"got {mode!r}")
    inputs, gamma, beta, mean, std = (as_tensor_variable(v)
                                      for v in (inputs, gamma, beta, mean, std))
    if mode == "low_mem":
        return (inputs - mean) / std * gamma + beta
    return (inputs - mean) * (gamma / std) + beta


def _prepare_axes(axes: Axes, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The normalisation axes and the others, from 'per-activation', 'spatial' or ints."""
    if isinstance(axes, str):
        if axes == "per-activation":
            axes = (0,)
        elif axes == "spatial":
            axes = (0,) + tuple(range(2, ndim))
        else:
            raise ValueError(f"batch normalization: axes must be 'per-activation', 'spatial' "
                             f"or a tuple of ints, got {axes!r}")
    elif isinstance(axes, (tuple, list, np.ndarray)):
        axes = tuple(int(a) for a in axes)
    else:
        raise ValueError(f"batch normalization: invalid axes {axes!r}")
    axes = tuple(sorted(axes))
    if not axes:
        raise ValueError("batch normalization: there should be at least one normalization "
                         "axis")
    if min(axes) < 0 or max(axes) >= ndim:
        raise ValueError(f"batch normalization: axes should be less than ndim (<{ndim}), but "
                         f"{axes} given")
    return axes, tuple(i for i in range(ndim) if i not in axes)


class _Params:
    """How the parameter tensors (gamma, beta, means, variances) relate to the input:
    either with all of its dimensions (length 1 on the normalised axes) or only with the
    non-normalised ones."""

    def __init__(self, ndim: int, axes: tuple[int, ...], kept: tuple[int, ...],
                 gamma: TensorVariable) -> None:
        self.ndim, self.axes, self.kept = ndim, axes, kept
        self.full = gamma.ndim == ndim
        self.params_ndim = ndim if self.full else len(kept)
        self.pattern = ["x"] * ndim
        for i, axis in enumerate(kept):
            self.pattern[axis] = i

    def check(self, what: str, *tensors: TensorVariable) -> None:
        if any(t.ndim != self.params_ndim for t in tensors):
            dims = " and ".join(str(t.ndim) for t in tensors)
            raise ValueError(f"batch normalization: {what} must have as many dimensions as "
                             f"the non-normalized axes, or as the inputs; got {dims} instead "
                             f"of {self.params_ndim}")

    def broadcast(self, t: TensorVariable) -> TensorVariable:
        """``t`` with the input's dimensions, broadcastable along the normalised axes."""
        if self.full:
            return addbroadcast(t, *self.axes)
        return t.dimshuffle(self.pattern)

    def unbroadcast(self, t: TensorVariable, like: TensorVariable) -> TensorVariable:
        """A statistic (keepdims) back in the parameters' layout."""
        if self.full:
            return patternbroadcast(t, like.broadcastable) if like is not None else t
        return t.dimshuffle(self.kept)


def _epsilon(epsilon: float, dtype: str) -> np.ndarray:
    eps = np.asarray(epsilon, dtype=config.floatX)
    if eps < 1e-5:
        raise ValueError(f"batch normalization: epsilon must be at least 1e-5, got {epsilon}")
    return np.asarray(epsilon, dtype=dtype)


def batch_normalization_train(inputs: Any, gamma: Any, beta: Any, axes: Axes = "per-activation",
                              epsilon: float = 1e-4, running_average_factor: float = 0.1,
                              running_mean: Any = None,
                              running_var: Any = None) -> tuple[TensorVariable, ...]:
    """Batch normalisation with the statistics of the mini-batch (training).

    Parameters
    ----------
    inputs : tensor
    gamma, beta : tensor
        Scale and shift: either with the input's dimensions (length 1 along ``axes``) or
        with only the other dimensions.
    axes : 'per-activation', 'spatial' or tuple of int
        Axes normalised over: ``(0,)``, or ``(0, 2, 3, ...)`` (shared over the spatial
        dimensions), or explicit.
    epsilon : float
        Added to the variance (at least 1e-5).
    running_average_factor : float
        Weight of this batch in the new running averages.
    running_mean, running_var : tensor, optional
        Previous running averages (both or neither), laid out as ``gamma``.

    Returns
    -------
    tuple of tensor
        ``(out, mean, invstd)``, plus ``(new_running_mean, new_running_var)`` when the
        running averages are given; statistics in ``gamma``'s layout.  As in Theano::

            mean = inputs.mean(axes, keepdims=True)
            var = inputs.var(axes, keepdims=True)
            invstd = 1 / sqrt(var + epsilon)
            out = (inputs - mean) * gamma * invstd + beta
            m = inputs.size / mean.size
            new_running_mean = running_mean * (1 - factor) + mean * factor
            new_running_var = running_var * (1 - factor) + m / (m - 1) * var * factor
    """
    inputs, gamma, beta = (as_tensor_variable(v) for v in (inputs, gamma, beta))
    ndim = inputs.ndim
    axes, kept = _prepare_axes(axes, ndim)
    params = _Params(ndim, axes, kept, gamma)
    params.check("gamma and beta", gamma, beta)
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_normalization_train: running_mean and running_var must "
                         "either both be given or both be None")
    dtype = inputs.type.dtype
    eps = _epsilon(epsilon, dtype)
    g, b = params.broadcast(gamma), params.broadcast(beta)
    mean = m.mean(inputs, axes, keepdims=True)
    var = m.var(inputs, axes, keepdims=True)
    invstd = m.reciprocal(m.sqrt(var + eps))
    out = (inputs - mean) * g * invstd + b
    results = [out, params.unbroadcast(mean, gamma if params.full else None),
               params.unbroadcast(invstd, gamma if params.full else None)]
    if running_mean is not None:
        running_mean = as_tensor_variable(running_mean)
        running_var = as_tensor_variable(running_var)
        params.check("running_mean and running_var", running_mean, running_var)
        factor = np.asarray(running_average_factor, dtype=dtype)
        keep = np.asarray(1 - running_average_factor, dtype=dtype)
        count = m.cast(m.prod(inputs.shape), dtype) / m.cast(m.prod(mean.shape), dtype)
        new_mean = params.broadcast(running_mean) * keep + mean * factor
        new_var = params.broadcast(running_var) * keep + count / (count - 1) * var * factor
        results += [params.unbroadcast(new_mean, running_mean if params.full else None),
                    params.unbroadcast(new_var, running_var if params.full else None)]
    return tuple(results)


def batch_normalization_test(inputs: Any, gamma: Any, beta: Any, mean: Any, var: Any,
                             axes: Axes = "per-activation",
                             epsilon: float = 1e-4) -> TensorVariable:
    """Batch normalisation with given statistics (inference):
    ``(inputs - mean) * gamma / sqrt(var + epsilon) + beta``.

    ``gamma``, ``beta``, ``mean`` and ``var`` are laid out as in
    :func:`batch_normalization_train`.
    """
    inputs, gamma, beta, mean, var = (as_tensor_variable(v)
                                      for v in (inputs, gamma, beta, mean, var))
    axes, kept = _prepare_axes(axes, inputs.ndim)
    params = _Params(inputs.ndim, axes, kept, gamma)
    params.check("gamma and beta", gamma, beta)
    params.check("mean and var", mean, var)
    eps = _epsilon(epsilon, inputs.type.dtype)
    g, b, mu, v = (params.broadcast(t) for t in (gamma, beta, mean, var))
    return (inputs - mu) * g / m.sqrt(v + eps) + b


__all__ = ["batch_normalization", "batch_normalization_train", "batch_normalization_test"]
