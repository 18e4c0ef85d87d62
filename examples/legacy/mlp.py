"""A one-hidden-layer perceptron in classic Theano style.

The network is ``softmax(tanh(x W1 + b1) W2 + b2)``: a :class:`HiddenLayer`
of tanh units feeding the :class:`~logistic_sgd.LogisticRegression` layer of
``logistic_sgd.py``.  It is trained by minibatch SGD on the generated shape
pictures of ``logistic_sgd.load_data('shapes')``; the cost is the negative
log-likelihood plus L1 and L2 penalties on the two weight matrices.
Minibatches are picked from shared variables through ``givens``.

After every epoch the validation error is measured and the parameters of the
best epoch so far are kept aside; they are put back before the test set is
labelled.

Usage::

    python -m theanine.compat mlp.py [--quick]

The last line printed is ``Test accuracy: A (chance C)``.
"""
from __future__ import division, print_function

import argparse
import sys
import timeit

import numpy

import theano
import theano.tensor as T

from logistic_sgd import LogisticRegression, load_data, report_accuracy


class HiddenLayer(object):
    """A fully connected layer, ``activation(input W + b)``.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the initial weights.
    input : symbolic matrix
        ``(batch, n_in)``.
    n_in, n_out : int
        Numbers of inputs and of units.
    activation : callable or None
        Applied elementwise to ``input W + b``; None leaves the layer linear.
    W, b : shared variables, optional
        Existing parameters to reuse (a layer sharing weights with another).

    Notes
    -----
    New weights are drawn uniformly in ``+-sqrt(6 / (n_in + n_out))``, the
    range Glorot and Bengio (2010) suggest for tanh units, so that the units
    start neither saturated nor all alike.
    """

    def __init__(self, rng, input, n_in, n_out, activation=T.tanh, W=None, b=None):
        if W is None:
            limit = numpy.sqrt(6.0 / (n_in + n_out))
            W = theano.shared(
                numpy.asarray(rng.uniform(-limit, limit, size=(n_in, n_out)),
                              dtype=theano.config.floatX),
                name='W_hidden', borrow=True)
        if b is None:
            b = theano.shared(numpy.zeros(n_out, dtype=theano.config.floatX),
                              name='b_hidden', borrow=True)
        self.W, self.b = W, b
        self.input = input
        pre_activation = T.dot(input, W) + b
        self.output = pre_activation if activation is None else activation(pre_activation)
        self.params = [W, b]


class MLP(object):
    """tanh hidden layer + softmax output layer.

    Attributes
    ----------
    hidden, top : HiddenLayer, LogisticRegression
        The two layers.
    L1, L2_sqr : symbolic scalars
        Sum of absolute values and sum of squares of both weight matrices
        (the biases are not penalised).
    params : list
        All shared parameters, lower layer first.
    """

    def __init__(self, rng, input, n_in, n_hidden, n_out):
        self.hidden = HiddenLayer(rng, input, n_in, n_hidden, activation=T.tanh)
        self.top = LogisticRegression(self.hidden.output, n_hidden, n_out)
        weights = [self.hidden.W, self.top.W]
        self.L1 = sum(abs(w).sum() for w in weights)
        self.L2_sqr = sum((w ** 2).sum() for w in weights)
        self.negative_log_likelihood = self.top.negative_log_likelihood
        self.errors = self.top.errors
        self.y_pred = self.top.y_pred
        self.params = self.hidden.params + self.top.params
        self.input = input


def run_mlp(n_train, n_epochs, n_hidden=100, batch_size=20, learning_rate=0.2,
            l1_weight=1e-5, l2_weight=1e-4, seed=1001):
    """Train the perceptron on the shapes data and label its test set.

    Returns
    -------
    (predicted, labels) : ndarrays
        Predictions of the best-validation parameters on the test set, and
        the true test labels.
    """
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_data(
        'shapes', n_train=n_train, n_valid=500, n_test=1000)
    n_in = train_x.get_value(borrow=True).shape[1]
    n_classes = int(train_y.eval().max()) + 1
    n_batches = train_x.get_value(borrow=True).shape[0] // batch_size

    print('... compiling a %d-%d-%d network' % (n_in, n_hidden, n_classes))
    rng = numpy.random.RandomState(seed)
    index = T.lscalar('index')
    x = T.matrix('x')
    y = T.ivector('y')
    net = MLP(rng, x, n_in, n_hidden, n_classes)
    cost = (net.negative_log_likelihood(y)
            + l1_weight * net.L1
            + l2_weight * net.L2_sqr)
    updates = [(p, p - learning_rate * g)
               for p, g in zip(net.params, T.grad(cost, net.params))]
    first, last = index * batch_size, (index + 1) * batch_size
    train_step = theano.function(
        [index], cost, updates=updates,
        givens={x: train_x[first:last], y: train_y[first:last]})
    # the validation and test sets are small: each is scored in one call
    validation_error = theano.function([], net.errors(y),
                                       givens={x: valid_x, y: valid_y})
    label_test_set = theano.function([], net.y_pred, givens={x: test_x})

    print('... training for %d epochs of %d minibatches' % (n_epochs, n_batches))
    best_error, best_epoch, best_values = numpy.inf, 0, None
    started = timeit.default_timer()
    for epoch in range(1, n_epochs + 1):
        mean_cost = numpy.mean([train_step(i) for i in range(n_batches)])
        error = float(validation_error())
        marker = ''
        if error < best_error:
            best_error, best_epoch = error, epoch
            best_values = [p.get_value(borrow=False) for p in net.params]
            marker = '  *'
        print('epoch %3d  cost %.4f  validation error %5.2f %%%s'
              % (epoch, mean_cost, 100 * error, marker))
    print('trained in %.1f s; best validation error %.2f %% at epoch %d'
          % (timeit.default_timer() - started, 100 * best_error, best_epoch))

    for p, value in zip(net.params, best_values):
        p.set_value(value, borrow=True)
    return label_test_set(), test_y.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description='tanh MLP on the shapes pictures')
    parser.add_argument('--quick', action='store_true',
                        help='a short run, for the test suite')
    args = parser.parse_args(argv)
    if args.quick:
        predicted, labels = run_mlp(n_train=1000, n_epochs=6)
    else:
        predicted, labels = run_mlp(n_train=4000, n_epochs=25)
    report_accuracy(predicted, labels)


if __name__ == '__main__':
    sys.exit(main())
