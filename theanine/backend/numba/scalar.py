"""Scalar ops as Numba expressions: the per-element code of element-wise loop nests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theanine.scalar import Cast, Round, ScalarOp


def _np(name: str) -> Callable[[list[str]], str]:
    return lambda a: f"np.{name}({', '.join(a)})"


def _infix(sym: str) -> Callable[[list[str]], str]:
    return lambda a: "(" + f" {sym} ".join(a) + ")"


TEMPLATES: dict[str, Callable[[list[str]], str]] = {
    "add": _infix("+"), "mul": _infix("*"), "sub": _infix("-"), "true_div": _infix("/"),
    "int_div": _infix("//"), "mod": _infix("%"), "pow": _infix("**"),
    "maximum": _np("maximum"), "minimum": _np("minimum"), "arctan2": _np("arctan2"),
    "eq": _infix("=="), "neq": _infix("!="), "lt": _infix("<"), "gt": _infix(">"),
    "le": _infix("<="), "ge": _infix(">="),
    "second": lambda a: a[1], "identity": lambda a: a[0],
    "switch": lambda a: f"({a[1]} if {a[0]} else {a[2]})",
    "clip": lambda a: f"np.minimum(np.maximum({a[0]}, {a[1]}), {a[2]})",
    "neg": lambda a: f"(-{a[0]})", "abs": lambda a: f"abs({a[0]})", "sgn": _np("sign"),
    "floor": _np("floor"), "ceil": _np("ceil"), "trunc": _np("trunc"),
    "sqr": lambda a: f"({a[0]} * {a[0]})", "sqrt": _np("sqrt"),
    "reciprocal": lambda a: f"(1.0 / {a[0]})",
    "exp": _np("exp"), "exp2": _np("exp2"), "expm1": _np("expm1"), "log": _np("log"),
    "log2": _np("log2"), "log10": _np("log10"), "log1p": _np("log1p"),
    "sin": _np("sin"), "cos": _np("cos"), "tan": _np("tan"), "arcsin": _np("arcsin"),
    "arccos": _np("arccos"), "arctan": _np("arctan"), "sinh": _np("sinh"),
    "cosh": _np("cosh"), "tanh": _np("tanh"), "arcsinh": _np("arcsinh"),
    "arccosh": _np("arccosh"), "arctanh": _np("arctanh"),
    "erf": lambda a: f"math.erf({a[0]})", "erfc": lambda a: f"math.erfc({a[0]})",
    "gamma": lambda a: f"math.gamma({a[0]})", "gammaln": lambda a: f"math.lgamma({a[0]})",
    "sigmoid": lambda a: f"(1.0 / (1.0 + np.exp(-{a[0]})))",
    "softplus": lambda a: (f"(({a[0]}) + np.log1p(np.exp(-({a[0]}))) if ({a[0]}) > 0 "
                           f"else np.log1p(np.exp({a[0]})))"),
    "isnan": _np("isnan"), "isinf": _np("isinf"),
    "conj": _np("conj"), "real": lambda a: f"({a[0]}).real", "imag": lambda a: f"({a[0]}).imag",
}
_BITWISE = {"and_": "&", "or_": "|", "xor": "^"}


# the scalar ops that backend/numba/vmath.py computes (named here so that generating code,
# which runs before any native compile, does not import Numba)
VECTOR_MATH = frozenset({"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus"})


def vectorised(name: str, dtype) -> bool:
    """Whether the scalar op ``name`` is computed by ``vmath`` (vectorisable math, not
    the C library's scalar functions) for results of ``dtype``."""
    return np.dtype(dtype) in (np.float32, np.float64) and name in VECTOR_MATH


def _vmath_call(name: str, dtype, arg: str) -> str:
    if np.dtype(dtype) == np.float32:
        return f"_vm.{name}(np.float32({arg}))"
    return f"_vm.{name}{'_64' if name == 'expm1' else '64'}(np.float64({arg}))"


def expression(op: ScalarOp, args: list[str], in_dtypes: list[np.dtype],
               out_dtype: np.dtype, cast: Callable[[np.dtype], str]) -> str | None:
    """Numba code computing ``op`` on scalar expressions ``args``; None if unsupported."""
    if isinstance(op, Cast):
        if op.dtype == "bool":
            return f"({args[0]} != 0)"
        return f"{cast(np.dtype(op.dtype))}({args[0]})"
    if isinstance(op, Round):
        if op.mode == "half_to_even":
            return f"np.round({args[0]})"
        return (f"(np.floor({args[0]} + 0.5) if {args[0]} >= 0 else "
                f"np.ceil({args[0]} - 0.5))")
    name = op.name
    if name in _BITWISE:
        if out_dtype.kind == "b":
            return {"and_": "({} and {})", "or_": "({} or {})",
                    "xor": "({} != {})"}[name].format(*args)
        return _infix(_BITWISE[name])(args)
    if name == "invert":
        return f"(not {args[0]})" if out_dtype.kind == "b" else f"(~{args[0]})"
    if op.float_args or name in ("true_div",):
        args = [a if d.kind in "fc" else f"{cast(out_dtype)}({a})"
                for a, d in zip(args, in_dtypes)]
    if vectorised(name, out_dtype):
        return _vmath_call(name, out_dtype, args[0])
    template = TEMPLATES.get(name)
    if template is None:
        return None
    if op.nin == -1 and len(args) > 2:
        return template(args)
    return template(args)
