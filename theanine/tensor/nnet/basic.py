"""Neural-network ops: activations, softmax and cross-entropies (Theano's ``T.nnet``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.tensor import math as m
from theanine.tensor.basic import as_tensor_variable
from theanine.tensor.type import INT_DTYPES, TensorType
from theanine.tensor.variable import TensorVariable
from theanine.scalar import upgrade_to_float

def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` minus its maximum along ``axis`` (0 where that maximum is not finite, as
    SciPy's ``log_softmax`` does); computed in NumPy, since importing ``scipy.special``
    costs 0.3-0.6 s on a script's first call."""
    top = np.max(x, axis=axis, keepdims=True)
    if not np.all(np.isfinite(top)):
        top = np.where(np.isfinite(top), top, 0)
    return x - top


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(_shifted(x, axis))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    t = _shifted(x, axis)
    return t - np.log(np.sum(np.exp(t), axis=axis, keepdims=True))


sigmoid = m.sigmoid
softplus = m.softplus
relu = m.relu


def elu(x: Any, alpha: float = 1.0) -> TensorVariable:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    x = as_tensor_variable(x)
    return m.switch(m.gt(x, 0), x, alpha * m.expm1(x))


def hard_sigmoid(x: Any) -> TensorVariable:
    """Piecewise-linear sigmoid ``clip(0.2 x + 0.5, 0, 1)``."""
    x = as_tensor_variable(x)
    return m.clip(0.2 * x + 0.5, 0, 1)


class _AxisOp(Op):
    __props__ = ("axis",)

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise TypeError(f"{type(self).__name__} needs at least one dimension, got "
                            f"{x.describe()}")
        axis = self.axis % x.ndim
        if axis != self.axis:
            return type(self)(axis).make_node(x)
        return Apply(self, [x], [TensorType(upgrade_to_float(x.type.dtype), x.type.shape)()])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


class Softmax(_AxisOp):
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last, i.e. row-wise, by default)."""

    def perform(self, node, inputs, out):
        x, dtype = inputs[0], node.outputs[0].type.numpy_dtype
        # the max-shift fails on an empty axis; the result is then simply empty
        out[0][0] = np.asarray(_softmax(x, self.axis), dtype=dtype) if x.size \
            else np.empty(x.shape, dtype)

    def L_op(self, inputs, outputs, output_grads):
        (sm,), (gz,) = outputs, output_grads
        if gz is None:
            return [None]
        return [SoftmaxGrad(self.axis)(gz, sm)]


class SoftmaxGrad(Op):
    """Gradient of softmax: ``(dy - sum(dy * sm, axis)) * sm``.

    An op of its own so that stability rewrites can recognise it.
    """

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, dy, sm):
        dy, sm = as_tensor_variable(dy), as_tensor_variable(sm)
        return Apply(self, [dy, sm], [sm.type()])

    def perform(self, node, inputs, out):
        dy, sm = inputs
        res = (dy - np.sum(dy * sm, axis=self.axis, keepdims=True)) * sm
        out[0][0] = np.asarray(res, dtype=node.outputs[0].type.numpy_dtype)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        dy, sm = inputs
        (g,) = output_grads
        if g is None:
            return [None, None]
        s = m.sum(dy * sm, axis=self.axis, keepdims=True)
        g_dy = g * sm - m.sum(g * sm, axis=self.axis, keepdims=True) * sm
        g_sm = g * (dy - s) - m.sum(g * sm, axis=self.axis, keepdims=True) * dy
        return [g_dy, g_sm]


class LogSoftmax(_AxisOp):
    """``x - logsumexp(x)`` along ``axis``, computed stably."""

    def perform(self, node, inputs, out):
        x, dtype = inputs[0], node.outputs[0].type.numpy_dtype
        # the max-shift fails on an empty axis; the result is then simply empty
        out[0][0] = np.asarray(_log_softmax(x, self.axis), dtype=dtype) if x.size \
            else np.empty(x.shape, dtype)

    def L_op(self, inputs, outputs, output_grads):
        (lsm,), (gz,) = outputs, output_grads
        if gz is None:
            return [None]
        return [gz - m.exp(lsm) * m.sum(gz, axis=self.axis, keepdims=True)]


def softmax(x: Any, axis: int = -1) -> TensorVariable:
    """Softmax along ``axis`` (row-wise on a matrix, as in Theano).

    A list holding a vector, as in ``softmax([v])``, is a 1-row matrix.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> T.nnet.softmax(T.matrix()).ndim
    2
    """
    return Softmax(axis)(as_tensor_variable(x))


def log_softmax(x: Any, axis: int = -1) -> TensorVariable:
    """Logarithm of the softmax along ``axis``, computed stably."""
    return LogSoftmax(axis)(as_tensor_variable(x))


softmax_op = Softmax(-1)
logsoftmax = log_softmax


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> TensorVariable:
    """Cross-entropy between predicted distributions and targets.

    Parameters
    ----------
    coding_dist : tensor
        Predicted probabilities, one row per example (or one vector).
    true_dist : tensor
        Integer class indices (one per row) or one-hot / probability rows.

    Returns
    -------
    tensor
        ``-log(coding_dist[i, true_dist[i]])`` per row, or ``-sum(true * log(coding))``.
    """
    coding = as_tensor_variable(coding_dist)
    true = as_tensor_variable(true_dist)
    # of a softmax: use its log-softmax directly (stable value and gradient)
    log_coding = (LogSoftmax(coding.owner.op.axis)(coding.owner.inputs[0])
                  if coding.owner is not None and isinstance(coding.owner.op, Softmax)
                  else None)
    if true.type.dtype in INT_DTYPES:
        if true.ndim == coding.ndim - 1:
            if coding.ndim == 1:
                picked = coding[true] if log_coding is None else log_coding[true]
            else:
                from theanine.tensor.basic import arange

                index = (arange(coding.shape[0]), true)
                picked = coding[index] if log_coding is None else log_coding[index]
            return -(m.log(picked) if log_coding is None else picked)
        raise TypeError(f"categorical_crossentropy: integer targets need one dimension less "
                        f"than the predictions; got {true.describe()} ({true.ndim}-d) for "
                        f"{coding.describe()} ({coding.ndim}-d)")
    if true.ndim != coding.ndim:
        raise TypeError(f"categorical_crossentropy: one-hot targets need as many dimensions as "
                        f"the predictions; got {true.ndim} and {coding.ndim}")
    return -m.sum(true * (m.log(coding) if log_coding is None else log_coding), axis=-1)


def binary_crossentropy(output: Any, target: Any) -> TensorVariable:
    """``-(target * log(output) + (1 - target) * log(1 - output))``, element-wise."""
    output = as_tensor_variable(output)
    so = getattr(output.owner.op, "scalar_op", None) if output.owner is not None else None
    if so is not None and so.name == "sigmoid":  # stable value and gradient
        return sigmoid_binary_crossentropy(output.owner.inputs[0], target)
    return -(target * m.log(output) + (1.0 - target) * m.log(1.0 - output))


def sigmoid_binary_crossentropy(output: Any, target: Any) -> TensorVariable:
    """Binary cross-entropy of ``sigmoid(output)`` (logits), computed stably."""
    output = as_tensor_variable(output)
    return target * m.softplus(-output) + (1.0 - target) * m.softplus(output)


def crossentropy_softmax_1hot(x: Any, y_idx: Any) -> tuple[TensorVariable, TensorVariable]:
    """``(categorical_crossentropy(softmax(x), y_idx), softmax(x))``, Theano's helper."""
    sm = softmax(x)
    return categorical_crossentropy(sm, y_idx), sm


__all__ = [
    "sigmoid", "softplus", "relu", "elu", "hard_sigmoid", "softmax", "log_softmax", "logsoftmax",
    "softmax_op", "Softmax", "LogSoftmax", "categorical_crossentropy", "binary_crossentropy",
    "sigmoid_binary_crossentropy", "crossentropy_softmax_1hot",
]
