"""``theanine.tensor``: symbolic tensors and their operations (Theano's ``theano.tensor``)."""

from theanine.tensor.type import TensorType  # noqa: F401
from theanine.tensor.variable import TensorConstant, TensorVariable  # noqa: F401
from theanine.tensor.constructors import *  # noqa: F401,F403
from theanine.tensor.constructors import tensor  # noqa: F401
from theanine.tensor.basic import (  # noqa: F401
    Alloc, ARange, Eye, alloc, arange, as_tensor_variable, constant, eye, fill, full,
    get_scalar_constant_value, identity_like, ones, ones_like, zeros, zeros_like,
)
from theanine.tensor.elemwise import DimShuffle, Elemwise, Reduce  # noqa: F401
from theanine.tensor.math import *  # noqa: F401,F403
from theanine.tensor.math import (  # noqa: F401
    abs, abs_, all, any, max, min, pow, round, sum, cast, Argmax,
)
from theanine.tensor.shape import (  # noqa: F401
    MakeVector, Rebroadcast, Reshape, Shape, SpecifyShape, addbroadcast, dimshuffle,
    expand_dims, flatten, patternbroadcast, reshape, shape, shape_padaxis, shape_padleft,
    shape_padright, specify_shape, squeeze, transpose, unbroadcast,
)
from theanine.tensor.join import (  # noqa: F401
    Join, Repeat, Split, concatenate, join, repeat, split, stack, tile,
)
from theanine.tensor.linalg import (  # noqa: F401
    Dot, MatMul, batched_dot, dot, matmul, outer, tensordot,
)
from theanine.tensor.subtensor import (  # noqa: F401
    AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor, inc_subtensor,
    set_subtensor,
)
from theanine.tensor.extra import nonzero, flatnonzero, cumsum, cumprod  # noqa: F401
from theanine.tensor import nnet  # noqa: F401
from theanine.gradient import grad, Lop, Rop, jacobian, hessian  # noqa: F401

_as_tensor_variable = as_tensor_variable

# Submodules imported on first use, under theanine's and Theano 1.0's names
# (``T.shared_randomstreams.RandomStreams``, ``T.signal.pool``, ``T.extra_ops``).
_LAZY_MODULES = {
    "shared_randomstreams": "theanine.tensor.shared_randomstreams",
    "raw_random": "theanine.tensor.raw_random",
    "signal": "theanine.tensor.signal",
    "extra_ops": "theanine.tensor.extra",
    "sharedvar": "theanine.compile.shared",
    "var": "theanine.tensor.variable",
}


def __getattr__(name: str):
    target = _LAZY_MODULES.get(name)
    if target is None:
        raise AttributeError(f"module 'theanine.tensor' has no attribute {name!r}")
    import importlib

    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name != target:
            raise
        raise AttributeError(f"module 'theanine.tensor' has no attribute {name!r} ({target} "
                             f"is not available)") from exc
