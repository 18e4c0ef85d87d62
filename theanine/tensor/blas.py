"""BLAS ops introduced by rewrites: ``Gemm`` (``beta*C + alpha*A@B``) and ``Gemv``
(``beta*y + alpha*A@x``), one node instead of a product, a scaling and an addition.

Their NumPy implementation calls NumPy's BLAS (``np.matmul``), never SciPy's: the two
wheels bundle separate OpenBLAS builds with separate thread pools, and alternating
between them leaves one pool's threads spinning while the other works (on 2 cores two
alternating 128x256x256 products took 35x longer than through one pool).
"""

from __future__ import annotations

import numpy as np

from theanine.graph.basic import Apply
from theanine.graph.op import Op
from theanine.tensor.basic import as_tensor_variable

_DTYPES = ("float32", "float64")


def _scaled_product(z, alpha, a, b, beta, inplace: bool):
    """``beta * z + alpha * (a @ b)``, written into ``z`` when ``inplace``, else into the
    product's own new array (no other temporary unless ``beta`` is not 0 or 1)."""
    alpha, beta = alpha[()], beta[()]
    if inplace:
        if beta == 0:
            np.matmul(a, b, out=z)
            if alpha != 1:
                z *= alpha
            return z
        if beta != 1:
            z *= beta
        p = np.matmul(a, b)
        if alpha != 1:
            p *= alpha
        z += p
        return z
    p = np.matmul(a, b)
    if alpha != 1:
        p *= alpha
    if beta == 1:
        p += z
    elif beta != 0:
        p += beta * z
    return p


class _Blas(Op):
    __props__ = ("inplace",)
    ndim = 2

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if inplace else {}

    def make_node(self, z, alpha, a, b, beta):
        z, alpha, a, b, beta = (as_tensor_variable(v) for v in (z, alpha, a, b, beta))
        dtype = z.type.dtype
        if dtype not in _DTYPES or any(v.type.dtype != dtype for v in (alpha, a, b, beta)):
            raise TypeError(f"{type(self).__name__} needs float32 or float64 inputs of one dtype")
        if z.ndim != self.ndim or a.ndim != 2 or b.ndim != self.ndim or alpha.ndim or beta.ndim:
            raise TypeError(f"{type(self).__name__}: wrong ranks")
        return Apply(self, [z, alpha, a, b, beta], [z.type()])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


class Gemm(_Blas):
    """``beta * Z + alpha * dot(A, B)`` for matrices."""

    def perform(self, node, inputs, out):
        z, alpha, a, b, beta = inputs
        if a.shape[1] != b.shape[0] or z.shape != (a.shape[0], b.shape[1]):
            raise ValueError(f"gemm: shapes {z.shape}, {a.shape}, {b.shape} do not match")
        if z.size == 0 or a.shape[1] == 0:
            out[0][0] = beta * z
            return
        out[0][0] = _scaled_product(z, alpha, a, b, beta, self.inplace)

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.linalg import dot
        from theanine.tensor.math import sum as sum_

        z, alpha, a, b, beta = inputs
        (g,) = output_grads
        p = dot(a, b)
        return [g * beta, sum_(g * p), alpha * dot(g, b.T), alpha * dot(a.T, g), sum_(g * z)]


class Gemv(_Blas):
    """``beta * y + alpha * dot(A, x)`` for a matrix and vectors."""

    ndim = 1

    def perform(self, node, inputs, out):
        y, alpha, a, x, beta = inputs
        if a.shape[1] != x.shape[0] or y.shape != (a.shape[0],):
            raise ValueError(f"gemv: shapes {y.shape}, {a.shape}, {x.shape} do not match")
        if y.size == 0 or a.shape[1] == 0:
            out[0][0] = beta * y
            return
        out[0][0] = _scaled_product(y, alpha, a, x, beta, self.inplace)

    def L_op(self, inputs, outputs, output_grads):
        from theanine.tensor.linalg import dot, outer
        from theanine.tensor.math import sum as sum_

        y, alpha, a, x, beta = inputs
        (g,) = output_grads
        return [g * beta, sum_(g * dot(a, x)), alpha * outer(g, x), alpha * dot(a.T, g),
                sum_(g * y)]
