"""Identity from declared properties: equality, hashing and printing derive from
``__props__`` (never hand-written)."""

from __future__ import annotations


class Props:
    """Mixin: two objects are equal when they have the same class and ``__props__`` values."""

    __props__: tuple[str, ...] = ()

    def _props(self) -> tuple:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._props() == other._props()  # type: ignore

    def __hash__(self) -> int:
        return hash((type(self), self._props()))
