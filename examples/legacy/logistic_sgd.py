"""Softmax regression fitted by minibatch SGD, written the way Theano programs
were written around 2010-2017.

The script classifies countries of theanine's GDP data set (is GDP per capita
above the average?) from their 11 development indicators.  It shows the usual
ingredients of a classic Theano training script:

* the whole data set lives in ``theano.shared`` variables and each minibatch is
  a slice of them chosen through ``givens`` and an integer ``index``;
* gradients come from ``T.grad`` and are applied by the ``updates`` of the
  compiled training function;
* training stops early once the validation error has stopped improving, and
  the model with the best validation error is pickled, then read back from the
  file and used to label the test set.

It is also the data module of its neighbours: ``load_data('shapes')`` returns
a small image data set (16x16 pictures of four kinds of shapes, drawn from a
seeded ``numpy.random.RandomState``) that ``mlp.py``, ``lenet.py`` and ``dA.py``
import together with :class:`LogisticRegression`.

Usage::

    python -m theanine.compat logistic_sgd.py [--quick]

The last line printed is ``Test accuracy: A (chance C)``, where ``C`` is the
share of the most frequent class in the test set.
"""
from __future__ import division, print_function

import argparse
import os
import shutil
import sys
import tempfile
import timeit

import numpy

try:
    import cPickle as pickle
except ImportError:
    import pickle

import theano
import theano.tensor as T

SHAPE_NAMES = ('ring', 'box', 'cross', 'triangle')
IMAGE_SIDE = 16


# ----------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------

class LogisticRegression(object):
    """A softmax layer: ``P(y = k | x) = softmax(x W + b)[k]``.

    Parameters
    ----------
    input : theano.tensor.matrix
        Symbolic minibatch, one example per row.
    n_in : int
        Number of input features.
    n_out : int
        Number of classes.
    rng : numpy.random.RandomState, optional
        When given, the weights start as small random numbers; otherwise
        (the usual choice for a convex problem) they start at zero.

    Attributes
    ----------
    W, b : shared variables
        Weights ``(n_in, n_out)`` and biases ``(n_out,)``.
    params : list
        ``[W, b]``, the variables that training changes.
    p_y_given_x : symbolic matrix
        Class probabilities of each example of ``input``.
    y_pred : symbolic vector
        The most probable class of each example.
    """

    def __init__(self, input, n_in, n_out, rng=None):
        if rng is None:
            w_init = numpy.zeros((n_in, n_out))
        else:
            w_init = rng.normal(0.0, 0.01, size=(n_in, n_out))
        self.W = theano.shared(numpy.asarray(w_init, dtype=theano.config.floatX),
                               name='W_softmax', borrow=True)
        self.b = theano.shared(numpy.zeros(n_out, dtype=theano.config.floatX),
                               name='b_softmax', borrow=True)
        self.input = input
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        """Mean over the minibatch of ``-log P(y_i | x_i)``.

        Parameters
        ----------
        y : theano.tensor.ivector
            The true class of each example.
        """
        rows = T.arange(y.shape[0])
        return -T.log(self.p_y_given_x[rows, y]).mean()

    def errors(self, y):
        """Fraction of the minibatch that is misclassified (a symbolic scalar)."""
        if y.ndim != 1 or not y.dtype.startswith('int'):
            raise TypeError('errors() wants a vector of integer labels, got %s' % (y.type,))
        return T.mean(T.neq(self.y_pred, y))


# ----------------------------------------------------------------------------
# The data
# ----------------------------------------------------------------------------

def draw_shapes(n_images, rng, side=IMAGE_SIDE, noise=0.12):
    """Draw ``n_images`` noisy grey-level pictures of four kinds of shapes.

    Every picture holds one shape of random centre, size and brightness:
    class 0 a ring, 1 a filled box, 2 a diagonal cross (an X) and 3 a filled
    triangle with its apex up.  Gaussian pixel noise is added and the values
    are clipped to [0, 1], so that the pictures can also be read as pixel
    probabilities (as ``dA.py`` does).

    Parameters
    ----------
    n_images : int
    rng : numpy.random.RandomState
        The only source of randomness: the same seed gives the same images.
    side : int
        Pictures are ``side`` x ``side`` pixels.
    noise : float
        Standard deviation of the pixel noise.

    Returns
    -------
    images : ndarray, shape (n_images, side * side)
        One flattened picture per row, float64 in [0, 1].
    labels : ndarray of int, shape (n_images,)
    """
    labels = rng.randint(len(SHAPE_NAMES), size=n_images)
    # pixel centres, as coordinates in [0, side)
    rows, cols = numpy.mgrid[0:side, 0:side] + 0.5
    images = numpy.empty((n_images, side, side))
    for k in range(n_images):
        radius = rng.uniform(0.22, 0.38) * side
        centre_r, centre_c = rng.uniform(radius * 0.8, side - radius * 0.8, size=2)
        du = rows - centre_r
        dv = cols - centre_c
        stroke = rng.uniform(0.7, 1.3)
        kind = labels[k]
        if kind == 0:
            mask = numpy.abs(numpy.hypot(du, dv) - radius) < stroke
        elif kind == 1:
            mask = numpy.maximum(numpy.abs(du), numpy.abs(dv)) < 0.75 * radius
        elif kind == 2:
            on_a_diagonal = numpy.minimum(numpy.abs(du - dv), numpy.abs(du + dv)) < stroke
            mask = on_a_diagonal & (numpy.maximum(numpy.abs(du), numpy.abs(dv)) < radius)
        else:
            # apex at du = -radius, base at du = +radius
            mask = (numpy.abs(du) < radius) & (numpy.abs(dv) < 0.5 * (du + radius))
        picture = numpy.where(mask, rng.uniform(0.55, 1.0), 0.0)
        picture += rng.normal(0.0, noise, size=picture.shape)
        images[k] = picture
    numpy.clip(images, 0.0, 1.0, out=images)
    return images.reshape(n_images, side * side), labels


def _gdp_splits(n_valid=30, seed=20):
    """GDP train / validation / test arrays; validation is a seeded random
    subset of the training countries."""
    from theanine.datasets import load_gdp

    x, y = load_gdp('train')
    order = numpy.random.RandomState(seed).permutation(len(y))
    held_out, kept = order[:n_valid], order[n_valid:]
    return [(x[kept], y[kept]), (x[held_out], y[held_out]), load_gdp('test')]


def _shapes_splits(n_train, n_valid, n_test, seed):
    rng = numpy.random.RandomState(seed)
    return [draw_shapes(n, rng) for n in (n_train, n_valid, n_test)]


def _as_shared(x, y):
    """Store one split in shared variables.

    The labels are kept as floatX (the only dtype a GPU could hold in the old
    days) and handed out through a symbolic cast to int32, as classic
    programs did.
    """
    shared_x = theano.shared(numpy.asarray(x, dtype=theano.config.floatX), borrow=True)
    shared_y = theano.shared(numpy.asarray(y, dtype=theano.config.floatX), borrow=True)
    return shared_x, T.cast(shared_y, 'int32')


def load_data(dataset='shapes', n_train=2000, n_valid=500, n_test=1000, seed=4321):
    """Load a data set into shared variables.

    Parameters
    ----------
    dataset : {'shapes', 'gdp'}
        'shapes': the pictures of :func:`draw_shapes` (``n_train``,
        ``n_valid`` and ``n_test`` of them, all drawn from one RandomState
        seeded with ``seed``).  'gdp': theanine's GDP data set, 30 of its
        121 training countries held out for validation (the sizes and the
        seed are then ignored).

    Returns
    -------
    list of three (x, y) pairs
        Train, validation and test.  ``x`` is a shared floatX matrix with
        one example per row; ``y`` an int32 vector expression (a cast of a
        shared variable; ``y.eval()`` gives its values).
    """
    print('... loading the %s data' % dataset)
    if dataset == 'shapes':
        splits = _shapes_splits(n_train, n_valid, n_test, seed)
    elif dataset == 'gdp':
        splits = _gdp_splits()
    else:
        raise ValueError("unknown data set %r (expected 'shapes' or 'gdp')" % (dataset,))
    return [_as_shared(x, y) for x, y in splits]


def majority_rate(labels):
    """Share of the most frequent label: the accuracy of always guessing it."""
    labels = numpy.asarray(labels).astype('int64')
    return numpy.bincount(labels).max() / float(len(labels))


def report_accuracy(predicted, labels):
    """Print the closing line that the test suite reads; return the accuracy."""
    labels = numpy.asarray(labels)
    accuracy = numpy.mean(numpy.asarray(predicted) == labels)
    print('Test accuracy: %.4f (chance %.4f)' % (accuracy, majority_rate(labels)))
    return accuracy


# ----------------------------------------------------------------------------
# Training with early stopping
# ----------------------------------------------------------------------------

def fit_gdp(model_path, learning_rate=0.1, batch_size=10, max_epochs=400,
            patience=40, min_gain=1e-3):
    """Fit the softmax classifier to the GDP data; pickle the best one.

    The validation error is measured after every epoch.  Whenever it drops
    by more than ``min_gain`` the classifier is written to ``model_path``;
    training ends after ``patience`` epochs without such a drop, or after
    ``max_epochs``.

    Returns
    -------
    float
        The best validation error.
    """
    (train_x, train_y), (valid_x, valid_y), _ = load_data('gdp')
    n_features = train_x.get_value(borrow=True).shape[1]
    n_train_batches = train_x.get_value(borrow=True).shape[0] // batch_size
    n_valid = valid_x.get_value(borrow=True).shape[0]
    n_valid_batches = -(-n_valid // batch_size)  # the last batch may be short

    print('... compiling')
    index = T.lscalar('index')
    x = T.matrix('x')
    y = T.ivector('y')
    classifier = LogisticRegression(input=x, n_in=n_features, n_out=2)
    cost = classifier.negative_log_likelihood(y)
    grads = T.grad(cost, wrt=classifier.params)
    step = [(p, p - learning_rate * g) for p, g in zip(classifier.params, grads)]

    def batch(data):
        return data[index * batch_size:(index + 1) * batch_size]

    train_step = theano.function([index], cost, updates=step,
                                 givens={x: batch(train_x), y: batch(train_y)})
    # the number of mistakes (not their rate): a short last batch then
    # weighs what it should
    count_errors = theano.function([index], classifier.errors(y) * y.shape[0],
                                   givens={x: batch(valid_x), y: batch(valid_y)})

    print('... training: %d minibatches of %d per epoch' % (n_train_batches, batch_size))
    best_error, best_epoch = numpy.inf, 0
    started = timeit.default_timer()
    epoch = 0
    while epoch < max_epochs and epoch - best_epoch < patience:
        epoch += 1
        costs = [train_step(i) for i in range(n_train_batches)]
        error = sum(count_errors(i) for i in range(n_valid_batches)) / n_valid
        if error < best_error - min_gain:
            best_error, best_epoch = error, epoch
            with open(model_path, 'wb') as f:
                pickle.dump(classifier, f, protocol=pickle.HIGHEST_PROTOCOL)
            print('epoch %3d  mean cost %.4f  validation error %5.2f %%  (saved)'
                  % (epoch, numpy.mean(costs), 100 * error))
        elif epoch % 25 == 0:
            print('epoch %3d  mean cost %.4f  validation error %5.2f %%'
                  % (epoch, numpy.mean(costs), 100 * error))
    elapsed = timeit.default_timer() - started
    print('stopped after %d epochs (%.1f epochs/s); best validation error %.2f %% '
          'at epoch %d' % (epoch, epoch / elapsed, 100 * best_error, best_epoch))
    return best_error


def predict_gdp(model_path):
    """Read the pickled classifier back and label the GDP test set with it."""
    with open(model_path, 'rb') as f:
        classifier = pickle.load(f)
    predict = theano.function([classifier.input], classifier.y_pred)
    _, _, (test_x, test_y) = load_data('gdp')
    predicted = predict(test_x.get_value())
    print('first test predictions:', ' '.join(str(int(p)) for p in predicted[:12]))
    return predicted, test_y.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run, for the test suite')
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix='logistic_sgd_')
    try:
        model_path = os.path.join(scratch, 'best_model.pkl')
        if args.quick:
            fit_gdp(model_path, max_epochs=60, patience=20)
        else:
            fit_gdp(model_path)
        predicted, labels = predict_gdp(model_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report_accuracy(predicted, labels)


if __name__ == '__main__':
    sys.exit(main())
