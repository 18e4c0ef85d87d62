"""Errors raised when a function is built or called."""

from __future__ import annotations

from theanine.graph.basic import Variable


class MissingInputError(ValueError):
    """An output depends on a variable that is neither an input nor shared nor constant."""

    def __init__(self, var: Variable) -> None:
        self.variable = var
        super().__init__(
            f"the graph depends on the input {var.describe()}, which was not given in the "
            f"list of inputs to function() (nor through givens)")


class UnusedInputError(ValueError):
    """An input of a function is not used to compute its outputs or updates."""
