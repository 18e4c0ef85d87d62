"""Binary sentiment classification of movie-review sentences with an LSTM.

A recurrent classifier for SST-2, written the way Theano programs were
written around 2016: every weight is a ``theano.shared`` variable kept in an
``OrderedDict``, the recurrence is a ``theano.scan``, the gradient comes from
``T.grad``, and the optimizer is two compiled functions, one that evaluates
the cost and stashes the gradient in shared buffers, one that turns those
buffers into a parameter step.

Data
    The Stanford Sentiment Treebank sentences shipped with theanine, reduced
    to two classes: labels 0 and 1 become "negative" (0), labels 3 and 4
    "positive" (1), and the neutral sentences (label 2) are dropped. That
    leaves 6,920 training, 872 development and 1,821 test sentences. The
    vocabulary is built from the training sentences only; index 0 pads the
    minibatches and index 1 stands for every word that is rare or unseen.

Model
    word index -> embedding row -> LSTM over time -> average of the hidden
    states over the real (unpadded) positions -> dropout -> softmax.

    A minibatch is an int64 matrix of word indices with one column per
    sentence (time runs down the rows) plus a float matrix of the same shape
    holding 1 where there is a word and 0 where there is padding. Sentences
    of similar length are batched together so little time is spent on
    padding.

Usage::

    python -m theanine.compat lstm_sst.py            # full training set
    python -m theanine.compat lstm_sst.py --quick    # a short smoke run

The last line printed is ``Test accuracy: A (chance C)``, where C is the
share of the most frequent class in the test set.
"""
from __future__ import division, print_function

import argparse
import sys
import time
from collections import Counter, OrderedDict

import numpy

import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

floatX = theano.config.floatX


def to_floatX(value):
    """Return `value` as a NumPy array of the configured float type."""
    return numpy.asarray(value, dtype=floatX)


# --------------------------------------------------------------------------
# Reading and encoding the sentences
# --------------------------------------------------------------------------

# fine-grained SST label -> polarity; the neutral label 2 is absent on purpose
POLARITY = {0: 0, 1: 0, 3: 1, 4: 1}


def read_split(name):
    """Return ``[(tokens, polarity), ...]`` for one SST split, lowercased."""
    from theanine.datasets import load_sst
    pairs = []
    for fine_label, tokens in load_sst(name):
        if fine_label in POLARITY:
            pairs.append(([tok.lower() for tok in tokens], POLARITY[fine_label]))
    return pairs


class Vocabulary(object):
    """Maps words to row numbers of the embedding matrix.

    Rows 0 and 1 are reserved: 0 for padding, 1 for any word seen fewer
    than `min_count` times in the training sentences (or never seen).
    Frequent words get the small numbers.
    """

    PAD = 0
    UNKNOWN = 1

    def __init__(self, sentences, min_count=1):
        freq = Counter(word for sentence in sentences for word in sentence)
        kept = sorted((w for w in freq if freq[w] >= min_count),
                      key=lambda w: (-freq[w], w))
        self.row_of = dict((w, row) for row, w in enumerate(kept, 2))

    def __len__(self):
        return len(self.row_of) + 2

    def encode(self, tokens):
        rows = [self.row_of.get(tok, self.UNKNOWN) for tok in tokens]
        # an empty sentence would make the mean pooling divide by zero
        return rows or [self.UNKNOWN]


def batch_matrices(sequences):
    """Pad index lists into a (time, batch) int64 matrix and a float mask."""
    longest = max(len(s) for s in sequences)
    words = numpy.zeros((longest, len(sequences)), dtype='int64')
    mask = numpy.zeros((longest, len(sequences)), dtype=floatX)
    for column, seq in enumerate(sequences):
        words[:len(seq), column] = seq
        mask[:len(seq), column] = 1.0
    return words, mask


def length_batches(lengths, batch_size, rng=None):
    """Split example numbers into batches of sentences of similar length.

    Without `rng` the split is deterministic (for evaluation). With it, the
    examples are shuffled before a stable sort by length, so sentences of
    equal length land in different batches each epoch, and the order of the
    batches is shuffled as well.
    """
    lengths = numpy.asarray(lengths)
    if rng is None:
        order = numpy.argsort(lengths, kind='mergesort')
    else:
        shuffled = rng.permutation(len(lengths))
        order = shuffled[numpy.argsort(lengths[shuffled], kind='mergesort')]
    batches = [order[start:start + batch_size]
               for start in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


class EncodedSplit(object):
    """The sentences of one split as index lists plus a label vector."""

    def __init__(self, pairs, vocab, max_len=None):
        self.sequences = []
        labels = []
        for tokens, label in pairs:
            if max_len is not None:
                tokens = tokens[:max_len]
            self.sequences.append(vocab.encode(tokens))
            labels.append(label)
        self.labels = numpy.asarray(labels, dtype='int64')
        self.lengths = [len(s) for s in self.sequences]

    def __len__(self):
        return len(self.sequences)

    def minibatch(self, picks):
        words, mask = batch_matrices([self.sequences[i] for i in picks])
        return words, mask, self.labels[picks]


# --------------------------------------------------------------------------
# Parameter initialisation helpers
# --------------------------------------------------------------------------

def orthogonal(rng, size):
    """A random square matrix with orthonormal columns."""
    q, r = numpy.linalg.qr(rng.normal(size=(size, size)))
    return q * numpy.sign(numpy.diag(r))


def glorot_uniform(rng, n_in, n_out):
    bound = numpy.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, size=(n_in, n_out))


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------

class SentenceLSTM(object):
    """Embedding + LSTM + mean pooling + softmax, as a Theano graph.

    The four gate blocks of the LSTM weights are stored side by side in one
    matrix each (input gate, forget gate, output gate, candidate cell), so a
    time step costs one matrix product.
    """

    def __init__(self, n_words, n_embed, n_hidden, n_classes, rng,
                 drop_rate=0.5, noise_seed=4321):
        self.n_hidden = n_hidden
        self.drop_rate = drop_rate
        self.params = OrderedDict()

        self._add('embedding', 0.1 * rng.normal(size=(n_words, n_embed)))
        self._add('lstm_W', numpy.hstack(
            [glorot_uniform(rng, n_embed, n_hidden) for _ in range(4)]))
        self._add('lstm_U', numpy.hstack(
            [orthogonal(rng, n_hidden) for _ in range(4)]))
        bias = numpy.zeros(4 * n_hidden)
        bias[n_hidden:2 * n_hidden] = 1.0   # start with the forget gate open
        self._add('lstm_b', bias)
        self._add('out_W', numpy.zeros((n_hidden, n_classes)))
        self._add('out_b', numpy.zeros(n_classes))

        # 1 while training (dropout active), 0 while evaluating
        self.use_noise = theano.shared(to_floatX(0.0), name='use_noise')
        self.noise = MRG_RandomStreams(noise_seed)

        self.words = T.matrix('words', dtype='int64')   # (time, batch)
        self.mask = T.matrix('mask', dtype=floatX)      # (time, batch)
        self.targets = T.vector('targets', dtype='int64')

        self.probabilities = self._forward(self.words, self.mask)
        self.prediction = T.argmax(self.probabilities, axis=1)
        picked = self.probabilities[T.arange(self.targets.shape[0]),
                                    self.targets]
        self.cost = -T.mean(T.log(picked + 1e-8))

    def _add(self, name, value):
        self.params[name] = theano.shared(to_floatX(value), name=name)

    def _dropout(self, activations):
        """Inverted dropout: rescale while training, identity at test time."""
        keep = 1.0 - self.drop_rate
        gate = self.noise.binomial(activations.shape, n=1, p=keep,
                                   dtype=floatX)
        return T.switch(self.use_noise, activations * gate / keep,
                        activations)

    def _recurrence(self, inputs, mask):
        """Run the LSTM down the time axis; returns all hidden states."""
        H = self.n_hidden
        P = self.params
        # input contributions of all time steps in one product
        projected = T.dot(inputs, P['lstm_W']) + P['lstm_b']

        def one_step(step_mask, x_part, h_before, c_before, U):
            z = x_part + T.dot(h_before, U)
            in_gate = T.nnet.sigmoid(z[:, 0:H])
            forget_gate = T.nnet.sigmoid(z[:, H:2 * H])
            out_gate = T.nnet.sigmoid(z[:, 2 * H:3 * H])
            candidate = T.tanh(z[:, 3 * H:4 * H])
            c_new = forget_gate * c_before + in_gate * candidate
            h_new = out_gate * T.tanh(c_new)
            # on padding the state is carried through unchanged
            live = step_mask.dimshuffle(0, 'x')
            c_new = live * c_new + (1.0 - live) * c_before
            h_new = live * h_new + (1.0 - live) * h_before
            return h_new, c_new

        batch = inputs.shape[1]
        start = T.alloc(to_floatX(0.0), batch, H)
        (hidden, _), _ = theano.scan(one_step,
                                     sequences=[mask, projected],
                                     outputs_info=[start, start],
                                     non_sequences=[P['lstm_U']],
                                     name='lstm_steps')
        return hidden

    def _forward(self, words, mask):
        n_steps, batch = words.shape[0], words.shape[1]
        embedded = self.params['embedding'][words.flatten()]
        embedded = embedded.reshape((n_steps, batch, -1))
        hidden = self._recurrence(embedded, mask)
        # average the hidden states over the positions that hold words
        summed = (hidden * mask.dimshuffle(0, 1, 'x')).sum(axis=0)
        pooled = summed / mask.sum(axis=0).dimshuffle(0, 'x')
        pooled = self._dropout(pooled)
        logits = T.dot(pooled, self.params['out_W']) + self.params['out_b']
        return T.nnet.softmax(logits)


# --------------------------------------------------------------------------
# Optimizers: each returns (compute_gradient, take_step)
# --------------------------------------------------------------------------

def _zeros_like(param, suffix):
    return theano.shared(numpy.zeros_like(param.get_value()),
                         name=param.name + suffix)


def _gradient_function(inputs, cost, params):
    """Compile f(inputs) -> cost that also saves d cost / d params."""
    grads = T.grad(cost, wrt=params)
    buffers = [_zeros_like(p, '_grad') for p in params]
    fn = theano.function(inputs, cost, updates=list(zip(buffers, grads)),
                         name='compute_gradient')
    return fn, buffers


def rmsprop(inputs, cost, params, decay=0.9, eps=1e-6):
    """RMSProp: divide each step by a running RMS of that weight's gradient.

    The step function takes the learning rate as its only argument.
    """
    compute, grads = _gradient_function(inputs, cost, params)
    lr = T.scalar('learning_rate', dtype=floatX)
    updates = []
    for p, g in zip(params, grads):
        mean_sq = _zeros_like(p, '_meansq')
        new_mean_sq = decay * mean_sq + (1.0 - decay) * T.sqr(g)
        updates.append((mean_sq, new_mean_sq))
        updates.append((p, p - lr * g / T.sqrt(new_mean_sq + eps)))
    step = theano.function([lr], [], updates=updates, name='rmsprop_step')
    return compute, step


def adadelta(inputs, cost, params, rho=0.95, eps=1e-6):
    """AdaDelta (Zeiler, 2012): step sizes from running averages of past
    squared gradients and past squared steps. The learning rate given to
    the step function scales the step (1.0 is plain AdaDelta).
    """
    compute, grads = _gradient_function(inputs, cost, params)
    lr = T.scalar('learning_rate', dtype=floatX)
    updates = []
    for p, g in zip(params, grads):
        avg_grad_sq = _zeros_like(p, '_avg_g2')
        avg_step_sq = _zeros_like(p, '_avg_dx2')
        new_grad_sq = rho * avg_grad_sq + (1.0 - rho) * T.sqr(g)
        delta = -T.sqrt(avg_step_sq + eps) / T.sqrt(new_grad_sq + eps) * g
        updates.append((avg_grad_sq, new_grad_sq))
        updates.append((avg_step_sq,
                        rho * avg_step_sq + (1.0 - rho) * T.sqr(delta)))
        updates.append((p, p + lr * delta))
    step = theano.function([lr], [], updates=updates, name='adadelta_step')
    return compute, step


OPTIMIZERS = {'rmsprop': rmsprop, 'adadelta': adadelta}


# --------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------

def accuracy(classify, split, batch_size):
    """Share of `split` that `classify` labels correctly (noise off)."""
    right = 0
    for picks in length_batches(split.lengths, batch_size):
        words, mask, labels = split.minibatch(picks)
        right += int((classify(words, mask) == labels).sum())
    return right / len(split)


def run(settings):
    rng = numpy.random.RandomState(settings.seed)
    t_start = time.time()

    train_pairs = read_split('train')
    dev_pairs = read_split('dev')
    test_pairs = read_split('test')
    if settings.n_train and settings.n_train < len(train_pairs):
        chosen = rng.choice(len(train_pairs), settings.n_train, replace=False)
        train_pairs = [train_pairs[i] for i in sorted(chosen)]

    vocab = Vocabulary([tokens for tokens, _ in train_pairs],
                       min_count=settings.min_count)
    train = EncodedSplit(train_pairs, vocab, max_len=settings.max_len)
    dev = EncodedSplit(dev_pairs, vocab)
    test = EncodedSplit(test_pairs, vocab)
    print('sentences: %d train, %d dev, %d test; vocabulary %d rows'
          % (len(train), len(dev), len(test), len(vocab)))

    model = SentenceLSTM(len(vocab), settings.n_embed, settings.n_hidden, 2,
                         rng, drop_rate=settings.dropout,
                         noise_seed=settings.seed + 1)
    params = list(model.params.values())
    build = OPTIMIZERS[settings.optimizer]
    compute_gradient, take_step = build(
        [model.words, model.mask, model.targets], model.cost, params)
    classify = theano.function([model.words, model.mask], model.prediction,
                               name='classify')
    print('graphs built in %.1fs' % (time.time() - t_start))

    learning_rate = to_floatX(settings.lr)
    best_dev, best_values = -1.0, None
    for epoch in range(1, settings.epochs + 1):
        t_epoch = time.time()
        model.use_noise.set_value(to_floatX(1.0))
        costs = []
        for picks in length_batches(train.lengths, settings.batch_size, rng):
            words, mask, labels = train.minibatch(picks)
            cost = float(compute_gradient(words, mask, labels))
            if not numpy.isfinite(cost):
                sys.exit('the cost diverged (%r) in epoch %d' % (cost, epoch))
            take_step(learning_rate)
            costs.append(cost)

        model.use_noise.set_value(to_floatX(0.0))
        dev_acc = accuracy(classify, dev, settings.eval_batch_size)
        print('epoch %d: mean cost %.4f, dev accuracy %.4f (%.1fs)'
              % (epoch, numpy.mean(costs), dev_acc, time.time() - t_epoch))
        if dev_acc > best_dev:
            best_dev = dev_acc
            best_values = [p.get_value() for p in params]

    # evaluate the weights that did best on the development set
    for p, value in zip(params, best_values):
        p.set_value(value)
    model.use_noise.set_value(to_floatX(0.0))
    test_acc = accuracy(classify, test, settings.eval_batch_size)
    majority = max(numpy.mean(test.labels), 1.0 - numpy.mean(test.labels))
    print('best dev accuracy %.4f; total time %.1fs'
          % (best_dev, time.time() - t_start))
    print('Test accuracy: %.4f (chance %.4f)' % (test_acc, majority))
    return test_acc


def parse_settings(argv=None):
    parser = argparse.ArgumentParser(
        description='LSTM sentence classifier on binary SST (SST-2)')
    parser.add_argument('--quick', action='store_true',
                        help='a small, fast run (used by the test suite)')
    parser.add_argument('--optimizer', choices=sorted(OPTIMIZERS),
                        default='rmsprop',
                        help='rmsprop (default) or adadelta, which starts '
                             'more slowly and needs more epochs')
    parser.add_argument('--seed', type=int, default=1234)
    settings = parser.parse_args(argv)

    # the full run: every training sentence, four epochs (one to two minutes)
    settings.n_train = None
    settings.max_len = None       # training sentences are not truncated
    settings.min_count = 2        # words seen once share the unknown row
    settings.n_embed = 64
    settings.n_hidden = 64
    settings.batch_size = 25
    settings.eval_batch_size = 256
    settings.epochs = 4
    settings.dropout = 0.5
    settings.lr = 3e-3
    if settings.quick:
        # a few seconds of training: a random subset, small layers, big
        # batches and clipped sentences keep the scan short and cheap
        settings.n_train = 3000
        settings.max_len = 30
        settings.n_embed = 24
        settings.n_hidden = 24
        settings.batch_size = 50
        settings.epochs = 3
        settings.lr = 1e-2
    if settings.optimizer == 'adadelta':
        settings.lr = 1.0         # AdaDelta sets its own step sizes
    return settings


if __name__ == '__main__':
    run(parse_settings())
