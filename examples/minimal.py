"""Minimal working example (Theano tutorial, section 4).

``x`` is a float32 vector, ``W`` a shared vector [0.2, 0.7]; ``f(x)`` computes
``sum(x * W)``. Calling ``f([1.0, 1.0])`` prints ``0.9``.

Run with ``python examples/minimal.py``.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import numpy

import theanine
import theanine.tensor as T


def main(argv: Optional[List[str]] = None) -> float:
    """Build and call the function; print and return its output."""
    x = T.fvector("x")
    W = theanine.shared(numpy.asarray([0.2, 0.7]), "W")
    y = (x * W).sum()

    f = theanine.function([x], y)

    output = f([1.0, 1.0])
    print("%.12g" % output)
    return float(output)


if __name__ == "__main__":
    main(sys.argv[1:])
