"""Ops: what an Apply node computes.

An op declares its parameters in ``__props__``; equality, hashing and printing
derive from them. A concrete op defines, in one place:

* ``make_node(*inputs)``: type inference, returning an :class:`Apply`;
* ``perform(node, inputs, output_storage)``: the NumPy reference implementation;
* ``L_op(inputs, outputs, output_grads)`` (or ``grad(inputs, output_grads)``);
* ``infer_shape(node, input_shapes)``: symbolic output shapes.

Back ends register kernels for op classes in their own tables; ops never import them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from theanine.graph.basic import Apply, Variable
from theanine.graph.props import Props


class PropsMeta(type):
    """Checks ``__props__`` at class creation."""

    def __new__(mcs, name, bases, dct):
        cls = super().__new__(mcs, name, bases, dct)
        props = getattr(cls, "__props__", ())
        if not isinstance(props, tuple) or not all(isinstance(p, str) for p in props):
            raise TypeError(f"{name}.__props__ must be a tuple of attribute names")
        return cls


class Op(Props, metaclass=PropsMeta):
    """Base class of all operations."""

    __props__: tuple[str, ...] = ()
    #: output index -> input indices the output is a view of
    view_map: dict[int, list[int]] = {}
    #: output index -> input indices the op overwrites
    destroy_map: dict[int, list[int]] = {}
    #: which output ``op(x)`` returns when there are several (None: all)
    default_output: int | None = None

    def __str__(self) -> str:
        if not self.__props__:
            return type(self).__name__
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{args}}}"

    __repr__ = __str__

    # -- construction -----------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        node = self.make_node(*inputs, **kwargs)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    # -- execution --------------------------------------------------------------
    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        raise NotImplementedError(f"{type(self).__name__}.perform")  # pragma: no cover

    # -- differentiation --------------------------------------------------------
    def L_op(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
             output_grads: Sequence[Variable | None]) -> list:
        """Vector-Jacobian product: gradients of the inputs given those of the outputs.

        ``output_grads`` entries are ``None`` for outputs the cost does not depend on.
        Return one entry per input: a variable, ``None`` (disconnected / zero) or a
        :class:`theanine.gradient.GradUndefined`.
        """
        return self.grad(inputs, output_grads)

    def grad(self, inputs: Sequence[Variable], output_grads: Sequence[Variable | None]) -> list:
        from theanine.gradient import grad_not_implemented

        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    # -- shapes -----------------------------------------------------------------
    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        """Symbolic output shapes from symbolic input shapes (tuples of scalars)."""
        raise NotImplementedError(f"{type(self).__name__}.infer_shape")  # pragma: no cover
