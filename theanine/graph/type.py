"""Types: the set of values a variable may hold, and how to check them."""

from __future__ import annotations

from typing import Any

from theanine.graph.basic import Variable
from theanine.graph.props import Props


class Type(Props):
    """Base class of variable types; identity derives from ``__props__``."""

    __props__: tuple[str, ...] = ()
    variable_type: type = Variable
    constant_type: type | None = None

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None) -> Any:
        """Return ``value`` converted to this type, or raise ``TypeError``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def is_valid_value(self, value: Any) -> bool:
        try:
            self.filter(value, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def value_signature(self, value: Any) -> Any:
        """A hashable summary of ``value`` (for merging equal constants)."""
        return value

    def make_variable(self, name: str | None = None) -> Variable:
        return self.variable_type(self, None, None, name)

    def __call__(self, name: str | None = None) -> Variable:
        return self.make_variable(name)
