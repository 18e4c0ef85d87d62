"""Shared helpers of the op suite: compare an op with its NumPy/SciPy reference and
check its gradient with ``theanine.verify_grad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import theanine
from theanine.tensor.type import TensorType

FLOATS = ("float32", "float64")
TOL = {"float16": 1e-2, "float32": 1e-5, "float64": 1e-12}


def rand(shape: Sequence[int], dtype: str = "float64", rng: Any = None, low: float = -1.0,
         high: float = 1.0) -> np.ndarray:
    """Random array of ``shape``; integers in [low, high], floats uniform in [low, high)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) > 0.5
    if dt.kind in "iu":
        return rng.integers(int(low), int(high) + 1, size=shape).astype(dt)
    if dt.kind == "c":
        return (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(dt)
    return rng.uniform(low, high, shape).astype(dt)


def symbolic_like(values: Sequence[np.ndarray], static: bool = False) -> list:
    """Symbolic inputs with the dtypes and ranks of ``values``.

    Dimensions of length 1 are declared broadcastable, so NumPy-style broadcasting of the
    values is legal; with ``static=True`` every length is declared.
    """
    out = []
    for i, v in enumerate(values):
        v = np.asarray(v)
        shape = v.shape if static else tuple(1 if s == 1 else None for s in v.shape)
        out.append(TensorType(v.dtype, shape)(f"in{i}"))
    return out


def check_op(fn: Callable, ref: Callable, values: Sequence[Any], rtol: float | None = None,
             atol: float | None = None, mode: Any = None, check_dtype: bool = True) -> Any:
    """Compile ``fn`` on symbolic inputs shaped like ``values`` and compare with ``ref``.

    Returns the theanine result.
    """
    values = [np.asarray(v) for v in values]
    sym = symbolic_like(values)
    out = fn(*sym)
    f = theanine.function(sym, out, mode=mode, on_unused_input="ignore")
    got = f(*values)
    assert_ran_natively(f)
    expected = ref(*values)
    _compare(got, expected, rtol, atol, check_dtype, out)
    return got


def assert_ran_natively(f: Any) -> None:
    """Under ``pytest --linker=numba``: the call ran the native program (no VM fallback)."""
    from theanine import config

    if config.linker != "numba":
        return
    run = f._run
    assert getattr(run, "state", None) == "ready", \
        f"not compiled natively: {getattr(run, 'error', None) or f.maker.fgraph.native_report}"
    assert run.fallbacks == 0, f"the native program failed: {run.last_native_error!r}"


def _compare(got: Any, expected: Any, rtol, atol, check_dtype, out) -> None:
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected)
        outs = out if isinstance(out, (list, tuple)) else [out] * len(expected)
        for g, e, o in zip(got, expected, outs):
            _compare(g, e, rtol, atol, check_dtype, o)
        return
    expected = np.asarray(expected)
    got = np.asarray(got)
    assert got.shape == expected.shape, f"shape {got.shape} != expected {expected.shape}"
    if check_dtype and hasattr(out, "type"):
        assert got.dtype == np.dtype(out.type.dtype), \
            f"value dtype {got.dtype} != declared {out.type.dtype}"
    if got.dtype.kind in "fc" or expected.dtype.kind in "fc":
        low = min((np.dtype(d).itemsize for d in (got.dtype, expected.dtype)
                   if np.dtype(d).kind in "fc"), default=8)
        tol = 1e-5 if low <= 4 else 1e-10
        np.testing.assert_allclose(got, expected, rtol=rtol or tol, atol=atol or tol,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def check_grad(fn: Callable, values: Sequence[Any], **kwargs: Any) -> None:
    """``verify_grad`` of ``fn`` at ``values`` (converted to float64)."""
    theanine.verify_grad(fn, [np.asarray(v, dtype="float64") for v in values], **kwargs)


def check_infer_shape(fn: Callable, values: Sequence[Any], static: bool = False) -> None:
    """Check ``infer_shape`` of the node producing ``fn(*inputs)`` against the real shape.

    Compiles both ``out.shape`` and ``node.op.infer_shape(node, input_shapes)`` (input shapes
    given symbolically as ``i.shape[k]``) and compares them with the computed value's shape.
    """
    from theanine.graph.basic import Constant
    from theanine.tensor.basic import as_tensor_variable

    values = [np.asarray(v) for v in values]
    sym = symbolic_like(values, static=static)
    out = fn(*sym)
    node = out.owner
    in_shapes = [tuple(i.shape[k] for k in range(i.ndim)) for i in node.inputs]
    inferred = node.op.infer_shape(node, in_shapes)[out.index]
    entries = [as_tensor_variable(s) for s in inferred]
    symbolic = [e for e in entries if not isinstance(e, Constant)]
    f = theanine.function(sym, [out, out.shape] + symbolic, on_unused_input="ignore")
    got, got_shape, *sym_vals = f(*values)
    it = iter(sym_vals)
    inferred_vals = tuple(int(e.data) if isinstance(e, Constant) else int(next(it))
                          for e in entries)
    assert tuple(got_shape) == got.shape
    assert inferred_vals == got.shape, f"infer_shape {inferred_vals} != real {got.shape}"
