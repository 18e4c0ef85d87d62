"""theanine: Theano, brought back.

Build a symbolic graph of tensor expressions, differentiate it with :func:`grad`, and
compile it with :func:`function` into a fast callable; shared variables hold state
that functions update.

Examples
--------
>>> import numpy as np, theanine, theanine.tensor as T
>>> x = T.fvector('x')
>>> W = theanine.shared(np.array([0.2, 0.7]), 'W')
>>> f = theanine.function([x], (x * W).sum())
>>> float(f([1.0, 1.0]))
0.9
"""

from theanine.config import change_flags, config  # noqa: F401
from theanine.graph.basic import Apply, Constant, Variable, clone_replace  # noqa: F401
from theanine.graph.fg import FunctionGraph  # noqa: F401
from theanine.graph.op import Op  # noqa: F401
from theanine.graph.type import Type  # noqa: F401
from theanine import tensor  # noqa: F401
from theanine.compile import (  # noqa: F401
    FAST_COMPILE, FAST_RUN, Function, In, Mode, Out, SharedVariable, function, shared,
)
from theanine.gradient import Lop, Rop, grad, hessian, jacobian, verify_grad  # noqa: F401
from theanine import gradient  # noqa: F401
from theanine import printing  # noqa: F401
from theanine import datasets  # noqa: F401
from theanine.scan import scan  # noqa: F401
from theanine.scan import foldl, foldr, map, reduce  # noqa: F401,A004 - Theano's names
from theanine.printing import pp  # noqa: F401
from theanine.compile.profiling import ProfileStats  # noqa: F401
from theanine.tensor import dot  # noqa: F401

clone = clone_replace
pprint = pp
__version__ = "0.1.0"

# Subpackages imported on first use, under theanine's and Theano 1.0's names
# (``theanine.sandbox``, ``theano.scan_module``...).
_LAZY_MODULES = {
    "compat": "theanine.compat", "ifelse": "theanine.ifelse", "misc": "theanine.misc",
    "sandbox": "theanine.sandbox", "scan_module": "theanine.scan", "gof": "theanine.compat.gof",
}


def __getattr__(name: str):
    target = _LAZY_MODULES.get(name)
    if target is None:
        raise AttributeError(f"module 'theanine' has no attribute {name!r}")
    import importlib

    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name != target:
            raise
        raise AttributeError(f"module 'theanine' has no attribute {name!r} ({target} is "
                             f"not available)") from exc
