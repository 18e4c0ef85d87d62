"""Theano's ``theano.sandbox.rng_mrg``: the MRG31k3p random streams."""

from theanine.tensor.random.mrg import MRG_RandomStreams, guess_n_streams  # noqa: F401
from theanine.tensor.random.mrg31k3p import (  # noqa: F401
    ChoiceFromUniform, MRGUniform, MultinomialFromUniform,
)

#: Theano's later name for the same class
MRG_RandomStream = MRG_RandomStreams
mrg_uniform = MRGUniform

__all__ = ["ChoiceFromUniform", "MRGUniform", "MRG_RandomStream", "MRG_RandomStreams",
           "MultinomialFromUniform", "guess_n_streams", "mrg_uniform"]
