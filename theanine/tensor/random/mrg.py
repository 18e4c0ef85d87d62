"""``MRG_RandomStreams``: Theano's ``theano.sandbox.rng_mrg.MRG_RandomStreams``.

Every draw gets a new shared int32 ``(n_streams, 6)`` state matrix of MRG31k3p
substreams (see :mod:`theanine.tensor.random.mrg31k3p`), derived from the container's
state exactly as Theano did: the substreams of a draw are ``2**72`` steps apart and the
container's state jumps ``2**134`` steps after each draw. The same seed therefore gives
Theano's numbers, in the same order of draws. Being a plain int32 tensor, the state is
updated like any shared variable (its ``default_update`` is the state after the draw) and
the sampling op has a native kernel.

The number of substreams is Theano's guess: ``min(prod(size) // 6, 60 * 256)`` for a
size of Python ints (``prod(size)`` when at most 6), ``60 * 256`` for a symbolic size.

Differences from Theano: :meth:`MRG_RandomStreams.updates` returns ``(state, new state)``
pairs (Theano returned 4-tuples that ``function`` could not take); ``binomial`` with
``n > 1``, ``choice`` with replacement and ``permutation`` are extensions (Theano raised
``NotImplementedError`` or had none).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from theanine.compile.shared import TensorSharedVariable, shared
from theanine.config import config
from theanine.graph.basic import Constant, Variable
from theanine.scalar import upcast
from theanine.tensor.basic import as_tensor_variable, constant
from theanine.tensor.random import mrg31k3p as gen
from theanine.tensor.random.op import static_shape, undefined_grad
from theanine.tensor.type import INT_DTYPES

_MAX_STREAMS = 60 * 256


def guess_n_streams(size: Any, warn: bool = False) -> int:
    """Theano's number of substreams for ``size`` (see the module docstring)."""
    if isinstance(size, (tuple, list)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in size):
        r = 1
        for s in size:
            r *= s
        if r > 6:
            r = r // 6
        return min(r, _MAX_STREAMS)
    if warn:
        warnings.warn(f"MRG_RandomStreams cannot determine the number of streams from size "
                      f"{size}; using {_MAX_STREAMS}", stacklevel=3)
    return _MAX_STREAMS


def _check_size(size: Any) -> Variable:
    """``size`` (int, tuple or list of ints and scalars, or int vector) as an int vector."""
    from theanine.tensor.join import stack

    if isinstance(size, Variable):
        if size.type.dtype not in INT_DTYPES:
            raise TypeError(f"size must be integers, got {size.describe()} of type {size.type}")
        if size.ndim == 1:
            return size
        if size.ndim == 0:
            return stack([size])
        raise ValueError(f"size must be a vector, got {size.describe()} with {size.ndim} "
                         f"dimensions")
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size,)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"size must be an int, a tuple or list of ints, or an integer vector, "
                        f"got {size!r} of type {type(size).__name__}")
    for i in size:
        if isinstance(i, Variable):
            if i.ndim != 0 or i.type.dtype not in INT_DTYPES:
                raise TypeError(f"size entries must be integer scalars, got {i.describe()} of "
                                f"type {i.type} in size {size!r}")
        elif isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if i <= 0:
                raise ValueError(f"size entries must be positive, got {i} in size {size!r}")
        else:
            raise TypeError(f"size entries must be ints or integer scalars, got {i!r} of type "
                            f"{type(i).__name__} in size {size!r}")
    if any(isinstance(i, Variable) for i in size):
        return stack([as_tensor_variable(i) for i in size])
    return constant(np.asarray(size, dtype=np.int64).reshape(len(size)))


class MRG_RandomStreams:  # noqa: N801 - Theano's name
    """Random streams on the MRG31k3p generator, with Theano's numbers for a seed.

    Parameters
    ----------
    seed : int or sequence of 6 ints
        An int ``s`` (``0 < s < 2147462579``) means ``[s] * 6``; six ints: the first three
        below ``2**31 - 1`` and not all zero, the last three below ``2147462579`` and not
        all zero.

    Attributes
    ----------
    rstate : numpy.ndarray
        The state (6 int32) from which the next draw's substreams start.
    state_updates : list of (shared state, new state, size, nstreams)
        Every draw made so far, as Theano kept them.

    Examples
    --------
    >>> import theanine
    >>> srng = MRG_RandomStreams(seed=1234)
    >>> f = theanine.function([], srng.uniform((5,)))
    >>> f().round(8)  # Theano 1.0's numbers for this seed
    array([0.37257111, 0.65768584, 0.59250678, 0.31931473, 0.77979209])
    """

    def __init__(self, seed: Any = 12345) -> None:
        self.state_updates: list[tuple] = []
        self.default_instance_seed = seed
        self.set_rstate(seed)

    # -- state ------------------------------------------------------------------------------
    def set_rstate(self, seed: Any) -> None:
        """Set the container's state from ``seed`` (see the class docstring)."""
        self.rstate = gen.check_seed(seed)

    def seed(self, seed: Any = None) -> None:
        """Re-seed every stream created so far, deterministically from ``seed``.

        Parameters
        ----------
        seed : int or sequence of 6 ints, optional
            Defaults to the seed the container was created with.
        """
        if seed is None:
            seed = self.default_instance_seed
        self.set_rstate(seed)
        for old_r, _, size, nstreams in self.state_updates:
            if nstreams is None:
                nstreams = self.n_streams(size)
            rstates = self.get_substream_rstates(nstreams)
            old_r.set_value(rstates, borrow=True)

    def inc_rstate(self) -> None:
        """Move the container's state ``2**134`` steps on, to the next draw's start."""
        self.rstate = gen.jump(self.rstate, gen.A1P134, gen.A2P134)

    def get_substream_rstates(self, n_streams: int, dtype: str | None = None,
                              inc_rstate: bool = True) -> np.ndarray:
        """The ``(n_streams, 6)`` states of a new draw (then, by default, ``inc_rstate``)."""
        if not 0 < int(n_streams) < 2 ** 72:
            raise ValueError(f"nstreams must be positive, got {n_streams}")
        rval = gen.substream_states(self.rstate, int(n_streams))
        if inc_rstate:
            self.inc_rstate()
        return rval

    def n_streams(self, size: Any) -> int:
        """Theano's number of substreams for ``size``."""
        return guess_n_streams(size)

    def updates(self) -> list[tuple[TensorSharedVariable, Variable]]:
        """The ``(state, new state)`` pair of every draw made so far."""
        return [(old, new) for old, new, _, _ in self.state_updates]

    def pretty_return(self, node_rstate: TensorSharedVariable, new_rstate: Variable,
                      sample: Variable, size: Any, nstreams: int | None) -> Variable:
        """Record a draw: the sample's ``rstate`` and ``update``, and the default update."""
        sample.rstate = node_rstate
        sample.update = (node_rstate, new_rstate)
        self.state_updates.append((node_rstate, new_rstate, size, nstreams))
        node_rstate.default_update = new_rstate
        return sample

    # -- distributions ----------------------------------------------------------------------
    def uniform(self, size: Any, low: Any = 0.0, high: Any = 1.0, ndim: int | None = None,
                dtype: Any = None, nstreams: int | None = None, **kwargs: Any) -> Variable:
        """Uniform on ``(low, high)``, both bounds excluded.

        Parameters
        ----------
        size : tuple of ints and integer scalars, or an integer vector
        low, high : scalar or tensor
            Cast to ``dtype``; they may not broadcast the result beyond ``size``.
        ndim : int, optional
            The number of dimensions when ``size`` is a vector of unknown length.
        dtype : str, optional
            Defaults to that of ``low`` and ``high``, at least ``floatX``.
        nstreams : int, optional
            Number of substreams (default: Theano's guess from ``size``).
        """
        from theanine.tensor.math import cast
        from theanine.tensor.random.mrg31k3p import MRGUniform

        kwargs.pop("target", None)
        if kwargs:
            raise TypeError(f"uniform() got unexpected keyword arguments {sorted(kwargs)}")
        low, high = as_tensor_variable(low), as_tensor_variable(high)
        if dtype is None:
            dtype = upcast(config.floatX, low.type.dtype, high.type.dtype)
        dtype = np.dtype(config.floatX if dtype == "floatX" else dtype).name
        low = undefined_grad(cast(low, dtype))
        high = undefined_grad(cast(high, dtype))
        if isinstance(size, (tuple, list)):
            for i in size:
                if not isinstance(i, (int, np.integer, Variable)) or isinstance(i, bool):
                    raise TypeError(f"size must be a tuple of ints or integer scalars, got "
                                    f"{size!r}")
                if isinstance(i, (int, np.integer)) and i <= 0:
                    raise ValueError(f"the size {size!r} contains a dimension <= 0")
        elif not (isinstance(size, Variable) and size.ndim == 1):
            raise TypeError(f"size must be a tuple of ints or an integer vector, got {size!r} "
                            f"of type {type(size).__name__}")
        orig_nstreams = nstreams
        if nstreams is None:
            nstreams = self.n_streams(size)
        rstates = self.get_substream_rstates(nstreams)
        node_rstate = shared(rstates)
        node_rstate.tag["is_rng"] = True
        v_size = _check_size(size)
        if ndim is None:
            ndim = v_size.type.shape[0]
            if ndim is None:
                raise ValueError("uniform: the length of the symbolic size is unknown; pass "
                                 "ndim=")
        if v_size.type.shape[0] not in (None, ndim):
            raise ValueError(f"uniform: ndim={ndim} but size has {v_size.type.shape[0]} entries")
        op = MRGUniform(dtype, static_shape(v_size, ndim))
        new_rstate, u = op(node_rstate, v_size)
        u = self.pretty_return(node_rstate, new_rstate, u, size, orig_nstreams)
        r = u * (high - low) + low
        if u.type.broadcastable != r.type.broadcastable or r.ndim != u.ndim:
            raise NotImplementedError("uniform: low and high broadcast the result beyond size; "
                                      "increase the size to match their broadcasting pattern")
        if r.type.dtype != dtype:  # pragma: no cover - the arithmetic keeps dtype
            r = cast(r, dtype)
        return r

    def binomial(self, size: Any = None, n: Any = 1, p: Any = 0.5, ndim: int | None = None,
                 dtype: Any = "int64", nstreams: int | None = None, **kwargs: Any) -> Variable:
        """Successes in ``n`` trials of probability ``p`` (``n`` a Python int).

        ``n == 1`` is Theano's ``uniform < p``; ``n > 1`` (an extension) sums ``n`` such
        draws.
        """
        from theanine.tensor.math import cast

        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise TypeError(f"binomial: n must be a positive Python int, got {n!r}")
        p = undefined_grad(as_tensor_variable(p))
        if n == 1:
            x = self.uniform(size=size, ndim=ndim, nstreams=nstreams, **kwargs)
            return cast(x < p, dtype)
        v_size = _check_size(size)
        nd = ndim if ndim is not None else v_size.type.shape[0]
        from theanine.tensor.join import concatenate

        full = concatenate([constant(np.array([n], np.int64)),
                            as_tensor_variable(v_size, dtype="int64")])
        x = self.uniform(size=full, ndim=None if nd is None else nd + 1, nstreams=nstreams,
                         **kwargs)
        return cast((x < p).sum(axis=0, dtype="int64"), dtype)

    def multinomial(self, size: Any = None, n: Any = 1, pvals: Any = None,
                    ndim: int | None = None, dtype: Any = "int64", nstreams: int | None = None,
                    **kwargs: Any) -> Variable:
        """Counts of ``n`` draws from each row of the matrix ``pvals``.

        ``size`` and ``ndim`` exist for the common signature and must be None. No check
        is made that ``pvals`` holds probabilities (Theano's behaviour).
        """
        from theanine.tensor.random.mrg31k3p import MultinomialFromUniform

        if pvals is None:
            raise TypeError("multinomial: you have to specify pvals")
        pvals = undefined_grad(as_tensor_variable(pvals))
        if size is not None:
            raise ValueError("multinomial: MRG_RandomStreams.multinomial does not use the "
                             f"size argument, got size={size!r}")
        if ndim is not None:
            raise ValueError("multinomial: MRG_RandomStreams.multinomial does not use the "
                             f"ndim argument, got ndim={ndim!r}")
        if pvals.ndim != 2:
            raise NotImplementedError(f"MRG_RandomStreams.multinomial is implemented for a "
                                      f"matrix of pvals, got {pvals.ndim} dimensions")
        n_samples = as_tensor_variable(n)
        shape = pvals[:, 0].shape * n_samples
        unis = self.uniform(size=shape, ndim=1, nstreams=nstreams, **kwargs)
        return MultinomialFromUniform(dtype)(pvals, unis, n_samples)

    def choice(self, size: Any = 1, a: Any = None, replace: bool = True, p: Any = None,
               ndim: int | None = None, dtype: Any = "int64", nstreams: int | None = None,
               **kwargs: Any) -> Variable:
        """``size`` indices drawn from each row of the matrix ``p``: shape ``(p.shape[0], size)``.

        As Theano, ``a`` must be None (the values are ``0 .. p.shape[1] - 1``). Theano only
        had ``replace=False``; ``replace=True`` is an extension.
        """
        from theanine.tensor.random.mrg31k3p import ChoiceFromUniform

        if a is not None:
            raise TypeError("choice: `a` must be None for MRG_RandomStreams (the values drawn "
                            "are 0 .. p.shape[1] - 1)")
        if p is None:
            raise TypeError("choice: `p` must be given for MRG_RandomStreams")
        p = undefined_grad(as_tensor_variable(p))
        if ndim is not None:
            raise ValueError(f"choice: the ndim argument is not used, got ndim={ndim!r}")
        if p.ndim != 2:
            raise NotImplementedError(f"MRG_RandomStreams.choice is implemented for a matrix "
                                      f"p, got {p.ndim} dimensions")
        n = as_tensor_variable(size)
        shape = p[:, 0].shape * n
        unis = self.uniform(size=shape, ndim=1, nstreams=nstreams, **kwargs)
        return ChoiceFromUniform(odtype=dtype, replace=replace)(p, unis, n)

    def multinomial_wo_replacement(self, size: Any = None, n: Any = 1, pvals: Any = None,
                                   ndim: int | None = None, dtype: Any = "int64",
                                   nstreams: int | None = None, **kwargs: Any) -> Variable:
        """Deprecated (as in Theano): ``choice(size=n, p=pvals, replace=False)``."""
        warnings.warn("MRG_RandomStreams.multinomial_wo_replacement() is deprecated; use "
                      "choice() instead", DeprecationWarning, stacklevel=2)
        if size is not None:
            raise ValueError(f"multinomial_wo_replacement: size must be None, got {size!r}")
        return self.choice(size=n, a=None, replace=False, p=pvals, dtype=dtype,
                           nstreams=nstreams, ndim=ndim, **kwargs)

    def normal(self, size: Any, avg: Any = 0.0, std: Any = 1.0, ndim: int | None = None,
               dtype: Any = None, nstreams: int | None = None, truncate: bool = False,
               **kwargs: Any) -> Variable:
        """Normal samples by Theano's Box-Muller transform of MRG uniforms.

        An even number of uniforms ``u`` is drawn; with ``u1, u2`` its halves,
        ``r = sqrt(-2 log u1)``, ``theta = 2 pi u2``, the samples are the first
        ``prod(size)`` of ``[r cos theta, r sin theta]``, times ``std`` plus ``avg``.
        ``truncate=True`` redraws those beyond two standard deviations.
        """
        from theanine.tensor.extra import nonzero
        from theanine.tensor.join import join
        from theanine.tensor.math import cast, cos, log, prod, sin, sqrt
        from theanine.tensor.shape import reshape

        size = _check_size(size)
        avg = undefined_grad(as_tensor_variable(avg))
        std = undefined_grad(as_tensor_variable(std))
        if dtype is None:
            dtype = upcast(config.floatX, avg.type.dtype, std.type.dtype)
        dtype = np.dtype(config.floatX if dtype == "floatX" else dtype).name
        avg, std = cast(avg, dtype), cast(std, dtype)
        if ndim is None:
            ndim = size.type.shape[0]
            if ndim is None:
                raise ValueError("normal: the length of the symbolic size is unknown; pass "
                                 "ndim=")
        n_odd = prod(size, dtype="int64")
        n_even = n_odd + n_odd % 2
        uniform = self.uniform((n_even,), low=0.0, high=1.0, ndim=1, dtype=dtype,
                               nstreams=nstreams, **kwargs)
        u1 = uniform[:n_even // 2]
        u2 = uniform[n_even // 2:]
        r = sqrt(-2.0 * log(u1))
        theta = constant(np.array(2.0 * np.pi, dtype=dtype)) * u2
        cos_theta, sin_theta = cos(theta), sin(theta)
        z0, z1 = r * cos_theta, r * sin_theta
        if truncate:
            bad0 = (z0 < -2.0) | (z0 > 2.0)
            bad1 = (z1 < -2.0) | (z1 > 2.0)
            z0_valid = z0[nonzero(~bad0)]
            z1_valid = z1[nonzero(~bad1)]
            fix0 = nonzero(bad0)[0]
            fix1 = nonzero(bad1)[0]
            n_fix = fix0.shape[0] + fix1.shape[0]
            lower = constant(np.array(1.0 / np.e ** 2, dtype=dtype))
            u_fix = self.uniform((n_fix,), low=lower, high=1.0, ndim=1, dtype=dtype,
                                 nstreams=nstreams, **kwargs)
            r_fix = sqrt(-2.0 * log(u_fix))
            z0_fixed = r_fix[:fix0.shape[0]] * cos_theta[fix0]
            z1_fixed = r_fix[fix0.shape[0]:] * sin_theta[fix1]
            samples = join(0, z0_valid, z0_fixed, z1_valid, z1_fixed)
        else:
            samples = join(0, z0, z1)
        samples = reshape(samples[:n_odd], size, ndim=ndim)
        samples = samples * std + avg
        return cast(samples, dtype) if samples.type.dtype != dtype else samples

    def truncated_normal(self, size: Any, avg: Any = 0.0, std: Any = 1.0,
                         ndim: int | None = None, dtype: Any = None,
                         nstreams: int | None = None, **kwargs: Any) -> Variable:
        """Normal samples truncated at two standard deviations, scaled so that their
        standard deviation is ``std`` (Theano's ``truncated_normal``)."""
        std = as_tensor_variable(std) / constant(0.87962566103423978)
        return self.normal(size=size, avg=avg, std=std, truncate=True, ndim=ndim,
                           dtype=dtype, nstreams=nstreams, **kwargs)

    def permutation(self, size: Any = None, n: Any = 1, ndim: int | None = None,
                    dtype: Any = "int64", nstreams: int | None = None) -> Variable:
        """Permutations of ``range(n)`` (shape ``size + (n,)``) from sorted MRG uniforms.

        An extension (Theano's MRG streams had none).
        """
        from theanine.tensor.math import cast
        from theanine.tensor.random.mrg31k3p import ArgsortRows

        n = as_tensor_variable(n)
        if isinstance(n, Constant):
            n_entry: Any = int(n.data)
        else:
            n_entry = n
        if size is None:
            full: Any = (n_entry,)
        elif isinstance(size, (tuple, list)):
            full = tuple(size) + (n_entry,)
        else:
            from theanine.tensor.join import concatenate

            full = concatenate([as_tensor_variable(size, dtype="int64"),
                                as_tensor_variable([n_entry], dtype="int64")
                                if not isinstance(n_entry, Variable)
                                else cast(n_entry, "int64").dimshuffle("x")])
            if ndim is None:
                raise ValueError("permutation: the length of the symbolic size is unknown; "
                                 "pass ndim=")
            ndim = ndim + 1
        u = self.uniform(full, ndim=ndim if not isinstance(full, tuple) else None,
                         nstreams=nstreams)
        perm = ArgsortRows()(u)
        return cast(perm, dtype) if perm.type.dtype != dtype else perm


__all__ = ["MRG_RandomStreams", "guess_n_streams"]
