"""Minimal training example (Theano tutorial, section 9).

Trains the two weights in ``W`` by gradient descent so that ``sum(x * W)``
moves from 0.9 towards the target 20. Each call of ``f`` returns ``y`` as it
was *before* that call's update is applied, so the first value printed is 0.9.

Run with ``python examples/training.py``.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import numpy

import theanine
import theanine.tensor as T


def main(argv: Optional[List[str]] = None) -> List[float]:
    """Run ten training steps; print and return the ten outputs."""
    x = T.fvector("x")
    target = T.fscalar("target")

    W = theanine.shared(numpy.asarray([0.2, 0.7]), "W")
    y = (x * W).sum()

    cost = T.sqr(target - y)
    gradients = theanine.grad(cost, [W])
    W_updated = W - (0.1 * gradients[0])
    updates = [(W, W_updated)]

    f = theanine.function([x, target], y, updates=updates)

    outputs = []
    for _ in range(10):
        output = f([1.0, 1.0], 20.0)
        print("%.12g" % output)
        outputs.append(float(output))
    return outputs


if __name__ == "__main__":
    main(sys.argv[1:])
