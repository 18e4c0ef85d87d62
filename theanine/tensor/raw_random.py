"""Theano's ``theano.tensor.raw_random``: random-variable ops on NumPy ``RandomState`` states."""

from theanine.tensor.random.op import (  # noqa: F401
    RandomFunction, binomial, choice, multinomial, normal, permutation, poisson,
    random_integers, uniform,
)
from theanine.tensor.random.state import random_state_shared  # noqa: F401

__all__ = ["RandomFunction", "binomial", "choice", "multinomial", "normal", "permutation",
           "poisson", "random_integers", "random_state_shared", "uniform"]
