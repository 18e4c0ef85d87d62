"""Shared variables: symbolic variables with a value that persists across calls."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from theanine.graph.basic import Variable
from theanine.tensor.type import TensorType
from theanine.tensor.variable import _TensorOps


class SharedVariable(Variable):
    """A variable whose value lives in the variable itself, shared by every function using it.

    The value is kept in ``storage``, a one-element list that compiled functions read and
    write directly.
    """

    def __init__(self, type: TensorType, value: Any, name: str | None = None,
                 strict: bool = False, allow_downcast: bool | None = None) -> None:
        super().__init__(type, None, None, name)
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.storage: list[Any] = [type.filter(value, strict=strict,
                                               allow_downcast=allow_downcast)]
        self.default_update: Variable | None = None

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        """The current value (a copy unless ``borrow=True``)."""
        value = self.storage[0]
        return value if borrow else value.copy()

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value (copied unless ``borrow=True``); its type must match."""
        try:
            new = self.type.filter(value, strict=self.strict, allow_downcast=self.allow_downcast)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"set_value of shared variable {self.describe()}: {exc}") from None
        if not borrow and new is value:
            new = new.copy()
        self.storage[0] = new

    @property
    def value(self) -> Any:
        return self.get_value()

    @value.setter
    def value(self, v: Any) -> None:
        self.set_value(v)

    def clone(self) -> SharedVariable:
        return self  # a shared variable is the same object in every graph

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["tag"] = {k: v for k, v in self.tag.items() if k != "_eval_cache"}
        return state

    def eval(self, inputs_to_values: dict | None = None) -> Any:
        return self.get_value()


class TensorSharedVariable(_TensorOps, SharedVariable):
    """A shared tensor."""


def shared(value: Any, name: str | None = None, strict: bool = False,
           allow_downcast: bool | None = None, borrow: bool = False,
           broadcastable: Any = None, shape: Any = None) -> TensorSharedVariable:
    """A shared variable holding ``value``.

    Parameters
    ----------
    value : array_like
        The initial value; it fixes the dtype and number of dimensions.
    name : str, optional
    strict : bool
        Refuse later values of another dtype instead of converting them.
    borrow : bool
        Use ``value`` itself (no copy): later in-place changes by theanine are visible.
    broadcastable, shape : optional
        Static shape information (by default every dimension may change length).

    Examples
    --------
    >>> import numpy as np
    >>> W = shared(np.array([0.2, 0.7]), 'W')
    >>> W.get_value()
    array([0.2, 0.7])
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() takes a value, not the symbolic variable {value.describe()}")
    rs = sys.modules.get("numpy.random")  # not imported: value cannot be a RandomState
    if rs is not None and isinstance(value, rs.RandomState):  # a stream's state (Theano)
        from theanine.tensor.random.state import random_state_shared

        return random_state_shared(value, name=name)  # type: ignore[return-value]
    if isinstance(value, float) and not isinstance(value, np.floating):
        arr = np.asarray(value, dtype="float64")
    else:
        arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"shared() takes a numeric array, got {type(value).__name__} "
                        f"(dtype {arr.dtype})")
    if not borrow or arr is not value:
        arr = arr.copy() if arr is value or not borrow else arr
    if shape is None:
        shape = [1 if b else None for b in broadcastable] if broadcastable is not None \
            else [None] * arr.ndim
    ttype = TensorType(arr.dtype, shape)
    return TensorSharedVariable(ttype, arr, name=name, strict=strict,
                                allow_downcast=allow_downcast)
