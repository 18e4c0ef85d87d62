"""Miscellaneous utilities, as Theano's ``theano.misc`` (``pkl_utils``: saving models)."""
