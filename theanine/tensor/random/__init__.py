"""Random numbers: ``RandomStreams`` (NumPy ``RandomState`` streams, as Theano's
``theano.tensor.shared_randomstreams``) and ``MRG_RandomStreams`` (the MRG31k3p generator
of Theano's ``theano.sandbox.rng_mrg``)."""

from theanine.tensor.random.streams import RandomStreams  # noqa: F401
from theanine.tensor.random.mrg import MRG_RandomStreams  # noqa: F401

__all__ = ["MRG_RandomStreams", "RandomStreams"]
