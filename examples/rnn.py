"""The tutorial's section 12: a simple RNN over word vectors with ``scan``.

Each step combines the current word vector with the previous hidden state; the output
holds the hidden state after every word, and ``context[-1]`` is the last one.
"""

from __future__ import annotations

import numpy

import theanine
import theanine.tensor as T


def main(argv=None):
    rng = numpy.random.RandomState(42)
    floatX = theanine.config.floatX
    word_vector_size, recurrent_size = 5, 3

    def create_parameter_matrix(name, size):
        return theanine.shared(numpy.asarray(rng.normal(0.0, 0.1, size), dtype=floatX), name)

    input_vectors = T.matrix("input_vectors")
    W_xh = create_parameter_matrix("W_xh", (word_vector_size, recurrent_size))
    W_hh = create_parameter_matrix("W_hh", (recurrent_size, recurrent_size))

    def rnn_step(x, h_prev, W_xh, W_hh):
        return T.tanh(T.dot(x, W_xh) + T.dot(h_prev, W_hh))

    context_vector, other_info = theanine.scan(
        rnn_step,
        sequences=input_vectors,
        outputs_info=numpy.zeros(recurrent_size, dtype=floatX),
        non_sequences=[W_xh, W_hh],
    )
    context_vector = context_vector[-1]
    f = theanine.function([input_vectors], context_vector)
    words = numpy.asarray(rng.normal(0.0, 1.0, (4, word_vector_size)), dtype=floatX)
    result = f(words)
    print("context vector after 4 words:", result)
    return result


if __name__ == "__main__":
    main()
