"""Theano's ``theano.sandbox`` namespace: only what classic programs import from it."""
