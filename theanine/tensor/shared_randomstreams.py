"""Theano's ``theano.tensor.shared_randomstreams``: ``RandomStreams`` of NumPy
``RandomState`` generators."""

from theanine.tensor.random.state import RandomStateSharedVariable  # noqa: F401
from theanine.tensor.random.streams import RandomStreams  # noqa: F401

__all__ = ["RandomStateSharedVariable", "RandomStreams"]
