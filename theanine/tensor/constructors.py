"""Constructors of symbolic tensor inputs, with Theano's names (``fvector``, ``imatrix``...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from theanine.config import config
from theanine.tensor.type import TensorType
from theanine.tensor.variable import TensorVariable

_PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
             "d": "float64", "c": "complex64", "z": "complex128"}
_KINDS = {"scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
          "matrix": (None, None), "tensor3": (None,) * 3, "tensor4": (None,) * 4,
          "tensor5": (None,) * 5, "tensor6": (None,) * 6, "tensor7": (None,) * 7}


def tensor(dtype: Any = None, shape: Sequence[int | None] | None = None, name: str | None = None,
           broadcastable: Sequence[bool] | None = None) -> TensorVariable:
    """A symbolic tensor input.

    Parameters
    ----------
    dtype : str, optional
        Defaults to ``config.floatX``.
    shape : sequence of int or None
        Static shape; ``None`` marks an unknown length.
    name : str, optional
    broadcastable : sequence of bool, optional
        Theano's alternative to ``shape``.

    Examples
    --------
    >>> x = tensor('float32', shape=(None, 3), name='x')
    """
    if shape is None and broadcastable is None:
        shape = ()
    return TensorType(dtype or config.floatX, shape, broadcastable).make_variable(name)


def _make(kind: str, fixed_dtype: str | None):
    static = _KINDS[kind]

    def ctor(name: str | None = None, dtype: Any = None, shape: Sequence | None = None):
        dt = fixed_dtype or dtype or config.floatX
        return TensorType(dt, static if shape is None else shape).make_variable(name)

    prefix = {v: k for k, v in _PREFIXES.items()}.get(fixed_dtype or "", "")
    ctor.__name__ = prefix + kind
    ctor.__qualname__ = ctor.__name__
    ctor.__doc__ = (f"A symbolic {len(static)}-d input of dtype "
                    f"{fixed_dtype or 'config.floatX (or dtype=)'}; ``name`` is shown in "
                    f"printing and errors.")
    return ctor


def _make_many(single):
    """Theano's plural constructors: ``fscalars('a', 'b')``, ``matrices(3)``,
    ``scalars('xy')`` (one variable per character of a single string, as Theano)."""

    def ctor(*names: str | int, dtype: Any = None):
        if names and isinstance(names[0], int):
            made = [single(dtype=dtype) for _ in range(names[0])]
            return made[0] if names[0] == 1 else made
        seq = names[0] if len(names) == 1 else names
        if len(seq) == 1:
            return single(seq[0], dtype=dtype)
        return [single(n, dtype=dtype) for n in seq]

    plural = {"matrix": "matrices"}.get
    kind = next(k for k in _KINDS if single.__name__.endswith(k))
    ctor.__name__ = single.__name__[: -len(kind)] + (plural(kind) or kind + "s")
    ctor.__qualname__ = ctor.__name__
    ctor.__doc__ = f"Several ``{single.__name__}`` inputs: one per name (or a count)."
    return ctor


_ctors: dict[str, Any] = {}
for _kind in _KINDS:
    _ctors[_kind] = _make(_kind, None)
    for _p, _dt in _PREFIXES.items():
        _ctors[_p + _kind] = _make(_kind, _dt)
for _single in list(_ctors.values()):
    _many = _make_many(_single)
    _ctors[_many.__name__] = _many
globals().update(_ctors)

__all__ = ["tensor", *_ctors]
