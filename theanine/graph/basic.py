"""The graph IR: variables, constants and Apply nodes, plus traversal helpers.

A graph is a DAG of :class:`Apply` nodes, each the application of an :class:`Op` to
input :class:`Variable` objects, producing output variables. Variables remember the
user's file and line where they were created, so errors can point back at them.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from theanine.graph.op import Op
    from theanine.graph.type import Type

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_counter = itertools.count()


def user_site() -> tuple[str, int] | None:
    """Return ``(filename, lineno)`` of the innermost frame outside theanine."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and not filename.startswith("<frozen"):
            return filename, frame.f_lineno
        frame = frame.f_back
    return None


class Variable:
    """A symbolic value of a given :class:`Type`.

    Parameters
    ----------
    type : Type
        What values the variable can take.
    owner : Apply, optional
        The node computing it; ``None`` for graph inputs.
    index : int, optional
        Its position among ``owner.outputs``.
    name : str, optional
        Shown in printing and error messages.
    """

    __array_priority__ = 1000  # NumPy defers ``ndarray op Variable`` to us.

    def __init__(self, type: Type, owner: Apply | None = None, index: int | None = None,
                 name: str | None = None) -> None:
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag: dict[str, Any] = {}
        self.site = user_site()
        self.auto_name = f"auto_{next(_counter)}"

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            if len(self.owner.outputs) == 1:
                return f"{op}({', '.join(map(str, self.owner.inputs))})"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self) -> str:
        return str(self)

    def describe(self) -> str:
        """Name (or expression) and creation site, for error messages."""
        what = repr(self.name) if self.name else str(self)
        if len(what) > 80:
            what = what[:77] + "..."
        if self.site is not None:
            return f"{what} (created at {self.site[0]}:{self.site[1]})"
        return what

    def __getstate__(self) -> dict:
        # functions compiled by eval() are a cache, not part of the variable
        state = dict(self.__dict__)
        if "_eval_cache" in self.tag:
            state["tag"] = {k: v for k, v in self.tag.items() if k != "_eval_cache"}
        return state

    def clone(self) -> Variable:
        """A new input variable with the same type, name and tag."""
        cp = type(self).__new__(type(self))
        cp.__dict__.update(self.__dict__)
        cp.owner = None
        cp.index = None
        cp.tag = dict(self.tag)
        return cp

    def eval(self, inputs_to_values: dict | None = None) -> Any:
        """Compute the value of this variable.

        Parameters
        ----------
        inputs_to_values : dict, optional
            Values of the free input variables of the graph.

        Examples
        --------
        >>> import theanine.tensor as T
        >>> x = T.dscalar('x')
        >>> (x * 2).eval({x: 3.0})
        array(6.)
        """
        from theanine.compile.function import function

        inputs_to_values = inputs_to_values or {}
        keys = sorted(inputs_to_values, key=lambda v: v.auto_name)
        cache = self.tag.setdefault("_eval_cache", {})
        key = tuple(id(k) for k in keys)
        if key not in cache:
            cache[key] = function(keys, self, on_unused_input="ignore")
        return cache[key](*[inputs_to_values[k] for k in keys])


class Constant(Variable):
    """A variable with a fixed value, folded into the graph."""

    def __init__(self, type: Type, data: Any, name: str | None = None) -> None:
        super().__init__(type, None, None, name)
        self.data = type.filter(data)

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        text = str(self.data).replace("\n", "")
        return text if len(text) < 20 else text[:17] + "..."

    def signature(self) -> tuple:
        """Hashable identity of the constant's type and value (for merging)."""
        return (self.type, self.type.value_signature(self.data))

    def clone(self) -> Constant:
        return self


class Apply:
    """The application of an op to inputs, with the outputs it produces."""

    def __init__(self, op: Op, inputs: Sequence[Variable], outputs: Sequence[Variable]) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            out.owner = self
            out.index = i
        self.tag: dict[str, Any] = {}

    @property
    def out(self) -> Variable:
        """The single output (error when there are several)."""
        if len(self.outputs) != 1:
            raise ValueError(f"{self.op} has {len(self.outputs)} outputs")
        return self.outputs[0]

    def clone_with_new_inputs(self, inputs: Sequence[Variable]) -> Apply:
        """Apply the same op to new inputs (re-running type inference)."""
        node = self.op.make_node(*inputs)
        for old, new in zip(self.outputs, node.outputs):
            new.name = old.name
            new.site = old.site
        return node

    def __str__(self) -> str:
        return f"{self.op}({', '.join(map(str, self.inputs))})"

    __repr__ = __str__


# -- traversal ---------------------------------------------------------------

def ancestors(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Variable]:
    """All variables that ``outputs`` depend on (stopping at ``blockers``), outputs included."""
    blocked = set(map(id, blockers))
    seen: set[int] = set()
    order: list[Variable] = []
    stack = list(outputs)[::-1]
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        order.append(var)
        if var.owner is not None and id(var) not in blocked:
            stack.extend(reversed(var.owner.inputs))
    return order


def graph_inputs(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Variable]:
    """The owner-less variables (and blockers) that ``outputs`` depend on."""
    blocked = set(map(id, blockers))
    return [v for v in ancestors(outputs, blockers) if v.owner is None or id(v) in blocked]


def toposort(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Apply]:
    """Apply nodes computing ``outputs``, each after the nodes it depends on.

    Deterministic: the order depends only on the graph's structure.
    """
    blocked = set(map(id, blockers))
    order: list[Apply] = []
    done: set[int] = set()
    for out in outputs:
        stack: list[tuple[Apply, int]] = []
        if out.owner is not None and id(out) not in blocked and id(out.owner) not in done:
            stack.append((out.owner, 0))
        while stack:
            node, i = stack.pop()
            if id(node) in done:
                continue
            if i < len(node.inputs):
                stack.append((node, i + 1))
                inp = node.inputs[i]
                if inp.owner is not None and id(inp) not in blocked and id(inp.owner) not in done:
                    stack.append((inp.owner, 0))
            else:
                done.add(id(node))
                order.append(node)
    return order


def clone_replace(outputs: Sequence[Variable], replace: dict | None = None) -> list[Variable]:
    """Copy the graph of ``outputs`` with variables substituted by ``replace``."""
    memo: dict[int, Variable] = {id(k): v for k, v in (replace or {}).items()}
    blockers = list((replace or {}).keys())
    for node in toposort(outputs, blockers):
        inputs = [memo.get(id(i), i) for i in node.inputs]
        if all(a is b for a, b in zip(inputs, node.inputs)):
            continue
        new = node.clone_with_new_inputs(inputs)
        for old, nv in zip(node.outputs, new.outputs):
            memo[id(old)] = nv
    return [memo.get(id(o), o) for o in outputs]


def is_in_ancestors(var: Variable, targets: Iterable[Variable],
                    blockers: Iterable[Variable] = ()) -> bool:
    """Whether any of ``targets`` is an ancestor of ``var``."""
    ids = set(map(id, targets))
    return any(id(v) in ids for v in ancestors([var], blockers))
