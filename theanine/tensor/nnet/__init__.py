"""``theanine.tensor.nnet``: activations, softmax and cross-entropies, as in Theano."""

from theanine.tensor.nnet.basic import (  # noqa: F401
    LogSoftmax,
    Softmax,
    binary_crossentropy,
    categorical_crossentropy,
    crossentropy_softmax_1hot,
    elu,
    hard_sigmoid,
    log_softmax,
    logsoftmax,
    relu,
    sigmoid,
    sigmoid_binary_crossentropy,
    softmax,
    softmax_op,
    softplus,
)

# Convolution and batch normalisation live in their own modules, imported on first use:
# ``T.nnet.conv2d``, ``T.nnet.conv.conv2d``, ``T.nnet.bn.batch_normalization``.
_LAZY_MODULES = {"conv": "theanine.tensor.nnet.conv", "bn": "theanine.tensor.nnet.bn",
                 "abstract_conv": "theanine.tensor.nnet.conv"}
_LAZY_NAMES = {"conv2d": "theanine.tensor.nnet.conv",
               "conv2d_transpose": "theanine.tensor.nnet.conv",
               "batch_normalization": "theanine.tensor.nnet.bn"}


def __getattr__(name: str):
    import importlib

    target = _LAZY_MODULES.get(name) or _LAZY_NAMES.get(name)
    if target is None:
        raise AttributeError(f"module 'theanine.tensor.nnet' has no attribute {name!r}")
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name != target:
            raise
        raise AttributeError(f"module 'theanine.tensor.nnet' has no attribute {name!r} "
                             f"({target} is not available)") from exc
    return module if name in _LAZY_MODULES else getattr(module, name)
