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
