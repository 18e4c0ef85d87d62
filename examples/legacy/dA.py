"""A denoising autoencoder with tied weights, in classic Theano style.

The autoencoder learns to restore the shape pictures of
``logistic_sgd.load_data('shapes')`` from damaged copies.  Each training
minibatch is damaged afresh by setting a random fraction of its pixels to
zero, with a mask drawn by
``theano.sandbox.rng_mrg.MRG_RandomStreams(...).binomial``; the code

    h = sigmoid(x_damaged W + b_hidden)

is decoded by the transposed weights (tied weights, one matrix ``W`` for
both directions)

    z = sigmoid(h W^T + b_visible)

and the cost is the cross-entropy between the intact picture ``x`` and
``z``, summed over pixels (the pictures are in [0, 1] and read as pixel
probabilities) and averaged over the minibatch.

At the end the cross-entropy of the reconstructions of the intact test
pictures is compared with a baseline that knows nothing about the input: the
mean training picture, offered as the reconstruction of every test picture.

Usage::

    python -m theanine.compat dA.py [--quick]

The last line printed is
``Test reconstruction cost: C (mean-image baseline B)``.
"""
from __future__ import division, print_function

import argparse
import sys
import timeit

import numpy

import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from logistic_sgd import load_data

#: reconstructions are kept this far inside (0, 1) before taking logs
EPS = 1e-6


def cross_entropy(x, z):
    """Per-example cross-entropy ``-sum_j x_j log z_j + (1 - x_j) log(1 - z_j)``.

    Works on symbolic and on NumPy arguments alike.
    """
    if isinstance(x, numpy.ndarray) and isinstance(z, numpy.ndarray):
        log = numpy.log
    else:
        log = T.log
    return -(x * log(z) + (1 - x) * log(1 - z)).sum(axis=1)


class DenoisingAutoencoder(object):
    """One layer of sigmoid units trained to undo random pixel dropout.

    Parameters
    ----------
    numpy_rng : numpy.random.RandomState
        Draws the initial weights.
    theano_rng : MRG_RandomStreams
        Draws the corruption masks (inside the compiled graph).
    input : symbolic matrix
        A minibatch of pictures, one per row, values in [0, 1].
    n_visible, n_hidden : int
        Sizes of the pictures and of the code.

    Attributes
    ----------
    W : shared matrix ``(n_visible, n_hidden)``
        Encoder weights; the decoder uses ``W.T``.
    b_hidden, b_visible : shared vectors
    params : list
    """

    def __init__(self, numpy_rng, theano_rng, input, n_visible, n_hidden):
        # Glorot and Bengio's uniform range, widened four times because the
        # logistic sigmoid is four times flatter than tanh around zero
        limit = 4.0 * numpy.sqrt(6.0 / (n_visible + n_hidden))
        W = numpy_rng.uniform(-limit, limit, size=(n_visible, n_hidden))
        floatX = theano.config.floatX
        self.W = theano.shared(numpy.asarray(W, dtype=floatX), name='W', borrow=True)
        self.b_hidden = theano.shared(numpy.zeros(n_hidden, dtype=floatX),
                                      name='b_hidden', borrow=True)
        self.b_visible = theano.shared(numpy.zeros(n_visible, dtype=floatX),
                                       name='b_visible', borrow=True)
        self.params = [self.W, self.b_hidden, self.b_visible]
        self.theano_rng = theano_rng
        self.input = input

    def damage(self, x, level):
        """Zero each entry of ``x`` independently with probability ``level``."""
        keep = self.theano_rng.binomial(size=x.shape, n=1, p=1 - level,
                                        dtype=theano.config.floatX)
        return x * keep

    def encode(self, x):
        return T.nnet.sigmoid(T.dot(x, self.W) + self.b_hidden)

    def decode(self, h):
        return T.nnet.sigmoid(T.dot(h, self.W.T) + self.b_visible)

    def reconstruct(self, x):
        """Reconstruction of ``x``, clipped a hair inside (0, 1)."""
        return T.clip(self.decode(self.encode(x)), EPS, 1 - EPS)

    def training_step(self, level, learning_rate):
        """The mean cross-entropy of restoring damaged input, and SGD updates."""
        restored = self.reconstruct(self.damage(self.input, level))
        cost = T.mean(cross_entropy(self.input, restored))
        grads = T.grad(cost, self.params)
        return cost, [(p, p - learning_rate * g) for p, g in zip(self.params, grads)]


def run_dA(n_train, n_epochs, n_hidden=256, level=0.3, learning_rate=0.2,
           batch_size=20, seed=31):
    """Train on the shapes pictures; return (test cost, mean-image baseline)."""
    (train_x, _), _, (test_x, _) = load_data('shapes', n_train=n_train, n_valid=500,
                                             n_test=1000)
    n_pixels = train_x.get_value(borrow=True).shape[1]
    n_batches = train_x.get_value(borrow=True).shape[0] // batch_size

    print('... compiling a %d-%d autoencoder (%d%% of the pixels dropped)'
          % (n_pixels, n_hidden, 100 * level))
    index = T.lscalar('index')
    x = T.matrix('x')
    ae = DenoisingAutoencoder(numpy.random.RandomState(seed),
                              MRG_RandomStreams(seed=seed + 1), x, n_pixels, n_hidden)
    cost, updates = ae.training_step(level, learning_rate)
    train_step = theano.function(
        [index], cost, updates=updates,
        givens={x: train_x[index * batch_size:(index + 1) * batch_size]})
    test_cost = theano.function(
        [], T.mean(cross_entropy(x, ae.reconstruct(x))), givens={x: test_x})

    print('... training for %d epochs of %d minibatches' % (n_epochs, n_batches))
    started = timeit.default_timer()
    for epoch in range(1, n_epochs + 1):
        costs = [train_step(i) for i in range(n_batches)]
        print('epoch %3d  mean training cost %.3f' % (epoch, numpy.mean(costs)))
    print('trained in %.1f s' % (timeit.default_timer() - started))

    mean_image = numpy.clip(train_x.get_value().mean(axis=0), EPS, 1 - EPS)
    pictures = test_x.get_value()
    baseline = cross_entropy(pictures, numpy.tile(mean_image, (len(pictures), 1))).mean()
    return float(test_cost()), float(baseline)


def main(argv=None):
    parser = argparse.ArgumentParser(description='denoising autoencoder on shape pictures')
    parser.add_argument('--quick', action='store_true',
                        help='a short run, for the test suite')
    args = parser.parse_args(argv)
    if args.quick:
        cost, baseline = run_dA(n_train=1000, n_epochs=3)
    else:
        cost, baseline = run_dA(n_train=3000, n_epochs=12)
    print('Test reconstruction cost: %.4f (mean-image baseline %.4f)' % (cost, baseline))


if __name__ == '__main__':
    sys.exit(main())
