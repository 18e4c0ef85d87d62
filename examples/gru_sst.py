"""The tutorial's GRU sentence classifier (section 13) on the Stanford Sentiment Treebank.

Classic Theano code, unchanged but for the import: a GRU over word embeddings with
``scan``, softmax over 5 classes, per-sentence SGD. See
``../shared/spec/reference-results.md`` for the published figures.

Usage: ``python examples/gru_sst.py [--epochs N] [--limit N] [--float32]``
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time

import numpy

import theanine
import theanine.tensor as T
from theanine.datasets import load_sst

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is in the examples/test extras
    tqdm = None


class RnnClassifier:
    def __init__(self, n_words: int, n_classes: int) -> None:
        floatX = theanine.config.floatX
        random_seed = 42
        word_embedding_size = 200
        recurrent_size = 100
        l2_regularisation = 0.0001

        self.rng = numpy.random.RandomState(random_seed)
        self.params: collections.OrderedDict = collections.OrderedDict()

        input_indices = T.ivector("input_indices")
        target_class = T.iscalar("target_class")
        learningrate = T.fscalar("learningrate")

        word_embeddings = self.create_parameter_matrix(
            "word_embeddings", (n_words, word_embedding_size))
        input_vectors = word_embeddings[input_indices]

        def gru_step(x, h_prev, W_xm, W_hm, W_xh, W_hh):
            m = T.nnet.sigmoid(T.dot(x, W_xm) + T.dot(h_prev, W_hm))
            r = m[:recurrent_size]
            z = m[recurrent_size:]
            _h = T.tanh(T.dot(x, W_xh) + T.dot(r * h_prev, W_hh))
            h = z * h_prev + (1.0 - z) * _h
            return h

        W_xm = self.create_parameter_matrix("W_xm", (word_embedding_size, recurrent_size * 2))
        W_hm = self.create_parameter_matrix("W_hm", (recurrent_size, recurrent_size * 2))
        W_xh = self.create_parameter_matrix("W_xh", (word_embedding_size, recurrent_size))
        W_hh = self.create_parameter_matrix("W_hh", (recurrent_size, recurrent_size))
        initial_hidden_vector = T.alloc(numpy.array(0, dtype=floatX), recurrent_size)

        hidden_vector, _ = theanine.scan(
            gru_step,
            sequences=input_vectors,
            outputs_info=initial_hidden_vector,
            non_sequences=[W_xm, W_hm, W_xh, W_hh],
        )
        hidden_vector = hidden_vector[-1]

        W_output = self.create_parameter_matrix("W_output", (n_classes, recurrent_size))
        output = T.nnet.softmax([T.dot(W_output, hidden_vector)])[0]
        predicted_class = T.argmax(output)

        cost = -1.0 * T.log(output[target_class])
        for p in self.params.values():
            cost += l2_regularisation * (T.sqr(p).sum())

        gradients = T.grad(cost, list(self.params.values()))
        updates = [(p, p - (learningrate * g)) for p, g in zip(self.params.values(), gradients)]

        self.train = theanine.function([input_indices, target_class, learningrate],
                                       [cost, predicted_class], updates=updates,
                                       allow_input_downcast=True)
        self.test = theanine.function([input_indices, target_class], [cost, predicted_class],
                                      allow_input_downcast=True)

    def create_parameter_matrix(self, name, size):
        vals = numpy.asarray(self.rng.normal(loc=0.0, scale=0.1, size=size),
                             dtype=theanine.config.floatX)
        self.params[name] = theanine.shared(vals, name)
        return self.params[name]


def create_dictionary(sentences, min_freq):
    counter = collections.Counter()
    for sentence in sentences:
        counter.update(sentence)
    word2id = collections.OrderedDict([("<unk>", 0), ("<s>", 1), ("</s>", 2)])
    for word, count in counter.most_common():
        if count >= min_freq and word not in word2id:
            word2id[word] = len(word2id)
    return word2id


def sentence2ids(words, word2id):
    return [word2id["<s>"]] + [word2id.get(w, word2id["<unk>"]) for w in words] + \
        [word2id["</s>"]]


def _progress(items, desc, quiet):
    if tqdm is None or quiet:
        return items
    return tqdm(items, desc=desc, unit="sent", leave=False, mininterval=0.5, file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N shuffled sentences, test on N")
    parser.add_argument("--float32", action="store_true", help="floatX=float32")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.float32:
        theanine.config.floatX = "float32"

    t_start = time.perf_counter()
    lower = lambda data: [(label, [w.lower() for w in words]) for label, words in data]  # noqa
    sentences_train = lower(load_sst("train"))
    sentences_test = lower(load_sst("test"))
    word2id = create_dictionary([s for _, s in sentences_train], 2)
    data_train = [(score, sentence2ids(words, word2id)) for score, words in sentences_train]
    data_test = [(score, sentence2ids(words, word2id)) for score, words in sentences_test]
    random.seed(1)
    random.shuffle(data_train)
    if args.limit:
        data_train = data_train[: args.limit]
        data_test = data_test[: args.limit]

    t0 = time.perf_counter()
    rnn = RnnClassifier(len(word2id), 5)
    compile_time = time.perf_counter() - t0
    results = {"compile_time": compile_time, "epochs": []}
    learningrate = 0.1
    for epoch in range(args.epochs):
        cost_sum, correct = 0.0, 0
        bar = _progress(data_train, f"epoch {epoch}", args.quiet)
        for k, (target_class, sentence) in enumerate(bar):
            cost, predicted_class = rnn.train(sentence, target_class, learningrate)
            cost_sum += float(cost)
            correct += int(predicted_class == target_class)
            if tqdm is not None and not args.quiet and k % 200 == 0:
                bar.set_postfix(cost=f"{cost_sum / (k + 1):.3f}")
        acc = correct / len(data_train)
        results["epochs"].append((cost_sum, acc))
        print(f"Epoch: {epoch}\tCost: {cost_sum:.12g}\tAccuracy: {acc:.12g}", flush=True)
    cost_sum, correct = 0.0, 0
    for target_class, sentence in data_test:
        cost, predicted_class = rnn.test(sentence, target_class)
        cost_sum += float(cost)
        correct += int(predicted_class == target_class)
    results["test_cost"] = cost_sum
    results["test_accuracy"] = correct / len(data_test)
    results["wall_time"] = time.perf_counter() - t_start
    print(f"Test_cost: {cost_sum:.12g}\tTest_accuracy: {results['test_accuracy']:.12g}")
    print(f"(wall time {results['wall_time']:.1f} s, compile {compile_time:.2f} s)",
          file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
