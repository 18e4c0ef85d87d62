"""A small convolutional network, LeNet fashion, in classic Theano style.

Two convolution stages look at the 16x16 shape pictures of
``logistic_sgd.load_data('shapes')``; each stage convolves its input with a
bank of filters (``theano.tensor.nnet.conv2d``), adds a bias per feature map,
applies a rectifier and max-pools 2x2 blocks
(``theano.tensor.signal.pool.pool_2d`` with ``ignore_border=True``)::

    1 x 16 x 16  --5x5 conv-->  8 x 12 x 12  --pool-->  8 x 6 x 6
                 --3x3 conv--> 16 x  4 x  4  --pool--> 16 x 2 x 2

The 64 numbers left are flattened and go through a tanh
:class:`~mlp.HiddenLayer` into a softmax
:class:`~logistic_sgd.LogisticRegression`.  Training is minibatch SGD with
classical momentum: one shared "velocity" per parameter, updated in the same
``updates`` list as the parameters.

Usage::

    python -m theanine.compat lenet.py [--quick]

The last line printed is ``Test accuracy: A (chance C)``.
"""
from __future__ import division, print_function

import argparse
import sys
import timeit

import numpy

import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d
from theano.tensor.signal.pool import pool_2d

from logistic_sgd import IMAGE_SIDE, LogisticRegression, load_data, report_accuracy
from mlp import HiddenLayer


class ConvPoolLayer(object):
    """Convolution, bias, rectifier, then non-overlapping max pooling.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the initial filters.
    input : symbolic 4-D tensor
        ``(batch, channels, rows, cols)``.
    image_shape : tuple of 4 int
        The shape of ``input``; handed to ``conv2d`` as a hint.
    n_filters : int
        Number of feature maps produced.
    filter_side : int
        Filters are ``filter_side`` x ``filter_side``.
    pool : int
        Side of the square pooling window.

    Attributes
    ----------
    output : symbolic 4-D tensor
    output_shape : tuple of 4 int
    params : list
        ``[W, b]``: filters ``(n_filters, channels, side, side)`` and one
        bias per feature map.
    """

    def __init__(self, rng, input, image_shape, n_filters, filter_side, pool=2):
        batch, channels, rows, cols = image_shape
        filter_shape = (n_filters, channels, filter_side, filter_side)
        # He et al. (2015): variance 2 / fan-in keeps rectified activations
        # of a similar scale from one stage to the next
        fan_in = channels * filter_side * filter_side
        W_values = rng.normal(0.0, numpy.sqrt(2.0 / fan_in), size=filter_shape)
        self.W = theano.shared(numpy.asarray(W_values, dtype=theano.config.floatX),
                               name='W_conv', borrow=True)
        # a small positive bias: every unit starts on the live side of the
        # rectifier
        self.b = theano.shared(numpy.full(n_filters, 0.01, dtype=theano.config.floatX),
                               name='b_conv', borrow=True)

        maps = conv2d(input, self.W, input_shape=image_shape, filter_shape=filter_shape)
        # the bias is broadcast over the batch and over every position
        maps = T.nnet.relu(maps + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.output = pool_2d(maps, ws=(pool, pool), ignore_border=True, mode='max')

        conv_side = (rows - filter_side + 1, cols - filter_side + 1)
        self.output_shape = (batch, n_filters, conv_side[0] // pool, conv_side[1] // pool)
        self.params = [self.W, self.b]
        self.input = input


def momentum_updates(cost, params, learning_rate, momentum):
    """SGD with classical momentum, as a list of ``(shared, expression)`` pairs.

    ``v <- momentum * v - learning_rate * grad``; ``p <- p + v`` (with the new
    ``v``), a velocity ``v`` being kept per parameter in a shared variable.
    """
    updates = []
    for param, grad in zip(params, T.grad(cost, params)):
        value = param.get_value(borrow=True)
        velocity = theano.shared(numpy.zeros(value.shape, dtype=value.dtype),
                                 name='v_' + (param.name or 'param'),
                                 broadcastable=param.broadcastable)
        new_velocity = momentum * velocity - learning_rate * grad
        updates.append((velocity, new_velocity))
        updates.append((param, param + new_velocity))
    return updates


def run_lenet(n_train, n_epochs, batch_size=25, learning_rate=0.02, momentum=0.9,
              n_hidden=64, seed=2718):
    """Train the network; label the test set each time validation improves.

    Returns
    -------
    (predicted, labels) : ndarrays
        The test predictions made at the best validation error, and the true
        test labels.
    """
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_data(
        'shapes', n_train=n_train, n_valid=500, n_test=1000)
    n_classes = int(train_y.eval().max()) + 1

    def n_batches(data):
        return data.get_value(borrow=True).shape[0] // batch_size

    print('... compiling the network')
    rng = numpy.random.RandomState(seed)
    index = T.lscalar('index')
    x = T.matrix('x')   # a minibatch of flattened pictures
    y = T.ivector('y')

    images = x.reshape((batch_size, 1, IMAGE_SIDE, IMAGE_SIDE))
    stage1 = ConvPoolLayer(rng, images, (batch_size, 1, IMAGE_SIDE, IMAGE_SIDE),
                           n_filters=8, filter_side=5)
    stage2 = ConvPoolLayer(rng, stage1.output, stage1.output_shape,
                           n_filters=16, filter_side=3)
    n_features = int(numpy.prod(stage2.output_shape[1:]))
    hidden = HiddenLayer(rng, stage2.output.flatten(2), n_features, n_hidden,
                         activation=T.tanh)
    top = LogisticRegression(hidden.output, n_hidden, n_classes)
    params = stage1.params + stage2.params + hidden.params + top.params

    cost = top.negative_log_likelihood(y)

    def window(data):
        return data[index * batch_size:(index + 1) * batch_size]

    train_step = theano.function(
        [index], cost,
        updates=momentum_updates(cost, params, learning_rate, momentum),
        givens={x: window(train_x), y: window(train_y)})
    batch_errors = theano.function([index], top.errors(y),
                                   givens={x: window(valid_x), y: window(valid_y)})
    batch_labels = theano.function([index], top.y_pred, givens={x: window(test_x)})

    print('... training for %d epochs of %d minibatches'
          % (n_epochs, n_batches(train_x)))
    best_error, best_epoch, test_predictions = numpy.inf, 0, None
    started = timeit.default_timer()
    for epoch in range(1, n_epochs + 1):
        costs = [train_step(i) for i in range(n_batches(train_x))]
        error = numpy.mean([batch_errors(i) for i in range(n_batches(valid_x))])
        line = 'epoch %3d  cost %.4f  validation error %5.2f %%' % (
            epoch, numpy.mean(costs), 100 * error)
        if error < best_error:
            best_error, best_epoch = error, epoch
            test_predictions = numpy.concatenate(
                [batch_labels(i) for i in range(n_batches(test_x))])
            line += '  (test set relabelled)'
        print(line)
    print('trained in %.1f s; best validation error %.2f %% at epoch %d'
          % (timeit.default_timer() - started, 100 * best_error, best_epoch))
    labels = test_y.eval()[:len(test_predictions)]
    return test_predictions, labels


def main(argv=None):
    parser = argparse.ArgumentParser(description='a small convnet on the shapes pictures')
    parser.add_argument('--quick', action='store_true',
                        help='a short run, for the test suite')
    args = parser.parse_args(argv)
    if args.quick:
        predicted, labels = run_lenet(n_train=1000, n_epochs=3)
    else:
        predicted, labels = run_lenet(n_train=4000, n_epochs=15)
    report_accuracy(predicted, labels)


if __name__ == '__main__':
    sys.exit(main())
