"""The state of a NumPy ``RandomState`` stream as a tensor, and the shared variable holding it.

Why a tensor and not a ``RandomState`` object in the graph
-----------------------------------------------------------
Theano kept a ``numpy.random.RandomState`` object in a shared variable of a special
``RandomStateType``. theanine keeps the same generator (MT19937, NumPy's legacy
``RandomState``, so that a seed gives Theano's numbers) but stores its *state* as a
``uint32`` vector of :data:`STATE_LENGTH` words:

* every part of the compiler already handles tensors: ``function``'s update checks and
  all-or-nothing updates, aliasing copies, the rewriter, ``scan`` (a stream used in a
  step becomes a recurrent state whose buffers are arrays), and the native back end
  (which passes arrays to the ops it runs as Python islands);
* a state is a plain value: an op never mutates its input state (it decodes it into a
  fresh generator and encodes the advanced state into a new array), so a failed call
  changes nothing and two functions sharing a stream see each other's updates.

The layout is ``key[0:624], pos, has_gauss, cached_gaussian (2 words, float64 bits)``,
i.e. exactly ``RandomState.get_state()``.

For Theano compatibility, :class:`RandomStateSharedVariable` converts at its boundary:
``get_value()`` returns a ``RandomState`` (``return_internal_type=True`` gives the
array), and ``set_value`` accepts a ``RandomState`` or a state vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theanine.compile.shared import TensorSharedVariable
from theanine.tensor.type import TensorType

#: number of uint32 words of an encoded MT19937 ``RandomState`` state
STATE_LENGTH = 628
_KEY = 624

#: the type of state vectors (any length statically, so that scan's placeholders match)
state_type = TensorType("uint32", (None,))


def encode_state(rs: np.random.RandomState) -> np.ndarray:
    """The state of ``rs`` as a ``uint32`` vector of :data:`STATE_LENGTH` words."""
    if not isinstance(rs, np.random.RandomState):
        raise TypeError(f"expected a numpy.random.RandomState, got {type(rs).__name__}")
    name, key, pos, has_gauss, gauss = rs.get_state()
    if name != "MT19937":
        raise ValueError(f"only MT19937 RandomState objects can be stored, got {name}")
    out = np.empty(STATE_LENGTH, np.uint32)
    out[:_KEY] = key
    out[_KEY] = pos
    out[_KEY + 1] = has_gauss
    out[_KEY + 2:] = np.array([gauss], np.float64).view(np.uint32)
    return out


def check_state(value: Any, what: str = "random state") -> np.ndarray:
    """``value`` as a state vector, or a ``ValueError``/``TypeError`` naming ``what``."""
    arr = np.asarray(value)
    if arr.dtype != np.uint32 or arr.shape != (STATE_LENGTH,):
        raise ValueError(f"{what}: expected a uint32 vector of {STATE_LENGTH} words (an encoded "
                         f"RandomState), got an array of dtype {arr.dtype} and shape {arr.shape}")
    if arr[_KEY] > _KEY:
        raise ValueError(f"{what}: corrupt state (position {int(arr[_KEY])} > {_KEY})")
    return arr


def decode_state(state: np.ndarray, into: np.random.RandomState | None = None
                 ) -> np.random.RandomState:
    """A ``RandomState`` in the encoded ``state`` (``into`` is reused when given)."""
    state = check_state(state)
    rs = into if into is not None else np.random.RandomState(0)
    gauss = float(np.ascontiguousarray(state[_KEY + 2:]).view(np.float64)[0])
    rs.set_state(("MT19937", state[:_KEY], int(state[_KEY]), int(state[_KEY + 1]), gauss))
    return rs


def seed_state(seed: int | None) -> np.ndarray:
    """The encoded state of ``numpy.random.RandomState(seed)``."""
    return encode_state(np.random.RandomState(seed))


class RandomStateSharedVariable(TensorSharedVariable):
    """A shared variable holding an encoded ``RandomState`` (see the module docstring).

    ``get_value()`` returns a new ``numpy.random.RandomState`` in the stored state, as
    Theano's did (changing that object does not change the stream: use ``set_value``);
    ``get_value(return_internal_type=True)`` returns the state vector.
    """

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        if return_internal_type:
            return super().get_value(borrow=borrow)
        return decode_state(self.storage[0])

    def set_value(self, value: Any, borrow: bool = False) -> None:
        if isinstance(value, np.random.RandomState):
            value = encode_state(value)
        else:
            try:
                value = check_state(value)
            except ValueError as exc:
                raise ValueError(f"set_value of shared variable {self.describe()}: expected a "
                                 f"numpy.random.RandomState or {exc}") from None
            if not borrow:
                value = value.copy()
        super().set_value(value, borrow=True)


def random_state_shared(value: np.random.RandomState | np.ndarray | None = None,
                        name: str | None = None, borrow: bool = False
                        ) -> RandomStateSharedVariable:
    """A shared variable holding a ``RandomState`` stream's state.

    Parameters
    ----------
    value : numpy.random.RandomState or state vector, optional
        The initial state (a fresh, OS-seeded ``RandomState`` when None). It is copied:
        later use of ``value`` does not affect the shared variable.
    name : str, optional
    borrow : bool
        Accepted for compatibility (the state is always copied).

    Examples
    --------
    >>> import numpy as np
    >>> r = random_state_shared(np.random.RandomState(3))
    >>> float(r.get_value().uniform()) == float(np.random.RandomState(3).uniform())
    True
    """
    if value is None:
        value = np.random.RandomState()
    data = encode_state(value) if isinstance(value, np.random.RandomState) \
        else check_state(value, "random_state_shared").copy()
    return RandomStateSharedVariable(state_type, data, name=name)


__all__ = ["STATE_LENGTH", "RandomStateSharedVariable", "check_state", "decode_state",
           "encode_state", "random_state_shared", "seed_state", "state_type"]
