"""``RandomStreams``: random variables backed by NumPy ``RandomState`` streams.

Theano's ``theano.tensor.shared_randomstreams.RandomStreams``: each draw gets its own
stream, a shared variable holding an encoded ``numpy.random.RandomState`` (see
:mod:`theanine.tensor.random.state`) seeded from the container's seed generator exactly
as Theano did (``RandomState(seed).randint(2**30)`` per stream), so that the same seed
gives Theano's numbers. The stream's ``default_update`` is the state after the draw:
every call of a compiled function using the draw advances it (unless the function is
compiled with ``no_default_updates``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theanine.graph.basic import Variable
from theanine.tensor.random import op as raw
from theanine.tensor.random.state import RandomStateSharedVariable, random_state_shared


class RandomStreams:
    """A container of random streams with an interface like ``numpy.random.RandomState``.

    Parameters
    ----------
    seed : int, optional
        Seeds the generator of the streams' seeds (``None``: from the operating system).

    Attributes
    ----------
    state_updates : list of (RandomStateSharedVariable, Variable)
        Each stream and its state after its draw.

    Examples
    --------
    >>> import theanine
    >>> srng = RandomStreams(seed=1234)
    >>> u = srng.uniform((3,))
    >>> f = theanine.function([], u)
    >>> f().round(8)   # the numbers Theano 1.0 gives for this seed
    array([0.75718064, 0.1130526 , 0.00607781])
    """

    def __init__(self, seed: int | None = None) -> None:
        self.state_updates: list[tuple[RandomStateSharedVariable, Variable]] = []
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def updates(self) -> list[tuple[RandomStateSharedVariable, Variable]]:
        """The ``(state, new state)`` pair of every stream created so far."""
        return list(self.state_updates)

    def seed(self, seed: int | None = None) -> None:
        """Re-seed every stream created so far, deterministically from ``seed``.

        Parameters
        ----------
        seed : int, optional
            Defaults to the seed the container was created with.
        """
        if seed is None:
            seed = self.default_instance_seed
        seedgen = np.random.RandomState(seed)
        for old_r, _ in self.state_updates:
            old_r.set_value(np.random.RandomState(int(seedgen.randint(2 ** 30))), borrow=True)

    def __getitem__(self, item: RandomStateSharedVariable) -> np.random.RandomState:
        """The ``RandomState`` of the stream ``item`` (a copy)."""
        return item.get_value()

    def __setitem__(self, item: RandomStateSharedVariable, val: np.random.RandomState) -> None:
        """Set the state of the stream ``item``."""
        item.set_value(val, borrow=True)

    def gen(self, builder: Callable[..., list], *args: Any, **kwargs: Any) -> Variable:
        """A draw from a new stream: ``builder(state, *args, **kwargs)`` gives (state, draw).

        The draw's ``rng`` attribute is the stream, its ``update`` the pair
        ``(stream, new state)``.
        """
        seed = int(self.gen_seedgen.randint(2 ** 30))
        state = random_state_shared(np.random.RandomState(seed))
        state.tag["is_rng"] = True
        new_state, out = builder(state, *args, **kwargs)
        out.rng = state
        out.update = (state, new_state)
        self.state_updates.append(out.update)
        state.default_update = new_state
        return out

    # -- distributions (arguments as Theano's RandomStreamsBase) -----------------------------

    def uniform(self, size: Any = None, low: Any = 0.0, high: Any = 1.0,
                ndim: int | None = None, dtype: Any = None) -> Variable:
        """Uniform on ``[low, high)``; ``size`` may be symbolic (``ndim`` when ambiguous).

        The dtype, when not given, is that of ``low`` and ``high`` but at least ``floatX``.
        """
        return self.gen(raw.uniform, size, low, high, ndim=ndim, dtype=dtype)

    def normal(self, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
               ndim: int | None = None, dtype: Any = None) -> Variable:
        """Normal of mean ``avg`` and standard deviation ``std``."""
        return self.gen(raw.normal, size, avg, std, ndim=ndim, dtype=dtype)

    def binomial(self, size: Any = None, n: Any = 1, p: Any = 0.5, ndim: int | None = None,
                 dtype: Any = "int64", prob: Any = None) -> Variable:
        """Number of successes in ``n`` trials of probability ``p`` (``prob``: old name)."""
        if prob is not None:
            p = prob
        return self.gen(raw.binomial, size, n, p, ndim=ndim, dtype=dtype)

    def random_integers(self, size: Any = None, low: Any = 0, high: Any = 1,
                        ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Integers between ``low`` and ``high``, both included."""
        return self.gen(raw.random_integers, size, low, high, ndim=ndim, dtype=dtype)

    def choice(self, size: Any = None, a: Any = 2, replace: Any = True, p: Any = None,
               ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Values of ``a`` (a vector, or ``range(a)`` for a scalar), with probabilities ``p``."""
        return self.gen(raw.choice, size, a, replace, p, ndim=ndim, dtype=dtype)

    def poisson(self, size: Any = None, lam: Any = None, ndim: int | None = None,
                dtype: Any = "int64") -> Variable:
        """Poisson counts of expectation ``lam``."""
        if lam is None:
            raise TypeError("poisson: give the expectation `lam`")
        return self.gen(raw.poisson, size, lam, ndim=ndim, dtype=dtype)

    def permutation(self, size: Any = None, n: Any = 1, ndim: int | None = None,
                    dtype: Any = "int64") -> Variable:
        """Permutations of ``range(n)``: the draw has shape ``size + (n,)``."""
        return self.gen(raw.permutation, size, n, ndim=ndim, dtype=dtype)

    def multinomial(self, size: Any = None, n: Any = 1, pvals: Any = (0.5, 0.5),
                    ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Counts of ``n`` trials of the distributions in the rows of ``pvals``."""
        return self.gen(raw.multinomial, size, n, pvals, ndim=ndim, dtype=dtype)

    def shuffle_row_elements(self, input: Any) -> Variable:  # noqa: A002 - Theano's name
        """``input`` with the elements of each row (last axis) shuffled.

        The permutation drawn is the result's ``permutation`` attribute.
        """
        from theanine.tensor.basic import as_tensor_variable

        x = as_tensor_variable(input)
        if x.ndim == 0:
            raise TypeError(f"shuffle_row_elements: the input must have at least one "
                            f"dimension, got {x.describe()}")
        if x.ndim == 1:
            perm = self.permutation(n=x.shape[0])
            shuffled = x[perm]
        else:
            from theanine.tensor.basic import arange

            perm = self.permutation(size=tuple(x.shape[d] for d in range(x.ndim - 1)),
                                    n=x.shape[-1], ndim=x.ndim - 1)
            rows = x.reshape((-1, x.shape[-1]))
            p2 = perm.reshape((-1, x.shape[-1]))
            idx = arange(rows.shape[0]).dimshuffle(0, "x")
            shuffled = rows[idx, p2].reshape(x.shape, ndim=x.ndim)
        shuffled.permutation = perm
        return shuffled


__all__ = ["RandomStreams"]
