"""GDP classifier (Theano tutorial, section 11).

A re-run of Marek Rei's ``classifier.py`` from the Theano tutorial, unchanged
apart from Python 3 and theanine: an 11-5-1 sigmoid network with no biases,
trained with per-example SGD (learning rate 0.1, L2 0.001, 10 epochs) to
predict whether a country's GDP per capita is above average.

Usage::

    python examples/gdp_classifier.py                      # shipped data set
    python examples/gdp_classifier.py TRAIN_PATH TEST_PATH # files like the original

Each line of a data file is a label (1.0 or 0.0) followed by the 11
whitespace-separated features. Expected output (classic Theano)::

    Epoch: 0, Training_cost: 28.4304042768, Training_accuracy: 0.578512396694
    ...
    Epoch: 9, Training_cost: 16.315597037, Training_accuracy: 0.876033057851
    Test_cost: 5.01800578051, Test_accuracy: 0.925
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy

import theanine
import theanine.tensor as T
from theanine.datasets import load_gdp

floatX = theanine.config.floatX

Dataset = List[Tuple[float, numpy.ndarray]]


class Classifier:
    """An 11-5-1 sigmoid network with SGD ``train`` and ``test`` functions."""

    def __init__(self, n_features: int) -> None:
        # network parameters
        random_seed = 42
        hidden_layer_size = 5
        l2_regularisation = 0.001

        # random number generator
        rng = numpy.random.RandomState(random_seed)

        # setting up variables for the network
        input_vector = T.fvector("input_vector")
        target_value = T.fscalar("target_value")
        learningrate = T.fscalar("learningrate")

        # input->hidden weights
        W_hidden_vals = numpy.asarray(
            rng.normal(loc=0.0, scale=0.1, size=(n_features, hidden_layer_size)), dtype=floatX
        )
        W_hidden = theanine.shared(W_hidden_vals, "W_hidden")

        # calculating the hidden layer
        hidden = T.dot(input_vector, W_hidden)
        hidden = T.nnet.sigmoid(hidden)

        # hidden->output weights
        W_output_vals = numpy.asarray(
            rng.normal(loc=0.0, scale=0.1, size=(hidden_layer_size, 1)), dtype=floatX
        )
        W_output = theanine.shared(W_output_vals, "W_output")

        # calculating the predicted value (output)
        predicted_value = T.dot(hidden, W_output)
        predicted_value = T.nnet.sigmoid(predicted_value)

        # calculating the cost function
        cost = T.sqr(predicted_value - target_value).sum()
        cost += l2_regularisation * (T.sqr(W_hidden).sum() + T.sqr(W_output).sum())

        # calculating gradient descent updates based on the cost function
        params = [W_hidden, W_output]
        gradients = theanine.grad(cost, params)
        updates = [(p, p - (learningrate * g)) for p, g in zip(params, gradients)]

        # defining theanine functions for training and testing the network
        self.train = theanine.function(
            [input_vector, target_value, learningrate],
            [cost, predicted_value],
            updates=updates,
            allow_input_downcast=True,
        )
        self.test = theanine.function(
            [input_vector, target_value], [cost, predicted_value], allow_input_downcast=True
        )


def read_dataset(path: str) -> Dataset:
    """Read a data file: per line a label, then the whitespace-separated features."""
    dataset = []
    with open(path, "r") as f:
        for line in f:
            line_parts = line.strip().split()
            if not line_parts:
                continue
            dataset.append(
                (float(line_parts[0]), numpy.array([float(x) for x in line_parts[1:]]))
            )
    return dataset


def _from_arrays(X: numpy.ndarray, y: numpy.ndarray) -> Dataset:
    return [(float(label), vector) for label, vector in zip(y, X)]


def _is_correct(label: float, predicted_value: numpy.ndarray) -> bool:
    p = float(numpy.asarray(predicted_value).reshape(-1)[0])
    return (label == 1.0 and p >= 0.5) or (label == 0.0 and p < 0.5)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """Train and test the classifier, printing the tutorial's report lines.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (without the program name). Empty or ``None``
        uses the shipped data set; two arguments ``PATH_TRAIN PATH_TEST`` read
        those files instead.

    Returns
    -------
    dict
        ``epochs``: a list of ``(training_cost, training_accuracy)`` per epoch;
        ``test_cost`` and ``test_accuracy``: the final test-set figures.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2:
        data_train = read_dataset(argv[0])
        data_test = read_dataset(argv[1])
    elif not argv:
        gdp = load_gdp()
        data_train = _from_arrays(*gdp["train"])
        data_test = _from_arrays(*gdp["test"])
    else:
        raise SystemExit("usage: gdp_classifier.py [PATH_TRAIN PATH_TEST]")

    # training parameters
    learningrate = 0.1
    epochs = 10

    # creating the network
    n_features = len(data_train[0][1])
    classifier = Classifier(n_features)

    # training
    history = []
    for epoch in range(epochs):
        cost_sum = 0.0
        correct = 0
        for label, vector in data_train:
            cost, predicted_value = classifier.train(vector, label, learningrate)
            cost_sum += float(cost)
            if _is_correct(label, predicted_value):
                correct += 1
        accuracy = float(correct) / len(data_train)
        history.append((cost_sum, accuracy))
        print(
            "Epoch: %d, Training_cost: %.12g, Training_accuracy: %.12g"
            % (epoch, cost_sum, accuracy)
        )

    # testing
    cost_sum = 0.0
    correct = 0
    for label, vector in data_test:
        cost, predicted_value = classifier.test(vector, label)
        cost_sum += float(cost)
        if _is_correct(label, predicted_value):
            correct += 1
    accuracy = float(correct) / len(data_test)
    print("Test_cost: %.12g, Test_accuracy: %.12g" % (cost_sum, accuracy))
    return {"epochs": history, "test_cost": cost_sum, "test_accuracy": accuracy}


if __name__ == "__main__":
    main()
