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

clone = clone_replace
__version__ = "0.1.0"
