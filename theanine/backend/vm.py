"""The reference back end: a virtual machine calling each node's NumPy ``perform``.

Each node becomes a *thunk*, a closure reading its inputs from one-element storage
cells and writing its outputs into others. Ops may provide a faster specialised thunk
(``Op.make_py_thunk``); otherwise ``perform`` is called. Nodes run in topological order;
intermediates are released after their last reader has run. Errors are re-raised with
the node, its input shapes and the line where the user created the failing variable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from theanine.backend import register_linker
from theanine.graph.basic import Apply, Constant
from theanine.graph.fg import FunctionGraph


def _shape_of(v: Any) -> str:
    return str(getattr(v, "shape", type(v).__name__))


def raise_with_node(node: Apply, inputs: list, exc: BaseException) -> None:
    """Re-raise ``exc`` (same class) with the failing node and the user's line."""
    out = node.outputs[0]
    where = ""
    site = out.site or next((i.site for i in node.inputs if i.site), None)
    if site is not None:
        where = f"\n  The failing expression was created at {site[0]}:{site[1]}"
    shapes = ", ".join(_shape_of(v) for v in inputs)
    msg = f"{exc}\n  while computing {node.op} on inputs of shapes [{shapes}]{where}"
    try:
        new = type(exc)(msg)
    except Exception:  # pragma: no cover - exotic exception signatures
        raise exc from None
    raise new.with_traceback(exc.__traceback__) from None


def perform_thunk(node: Apply, ins: list, outs: list) -> Callable[[], None]:
    """The generic thunk: gather inputs, call ``perform``."""
    perform = node.op.perform
    if len(ins) == 1:
        (a,) = ins

        def thunk1() -> None:
            perform(node, [a[0]], outs)
        return thunk1
    if len(ins) == 2:
        a, b = ins

        def thunk2() -> None:
            perform(node, [a[0], b[0]], outs)
        return thunk2

    def thunk() -> None:
        perform(node, [c[0] for c in ins], outs)
    return thunk


def make_thunk(node: Apply, ins: list, outs: list) -> Callable[[], None]:
    """A thunk for ``node``: the op's own specialised one if it has one."""
    special = getattr(node.op, "make_py_thunk", None)
    if special is not None:
        thunk = special(node, ins, outs)
        if thunk is not None:
            return thunk
    return perform_thunk(node, ins, outs)


class VM:
    """Runs the thunks of a toposorted graph over storage cells."""

    def __init__(self, fgraph: FunctionGraph, storage: dict, profile: Any = None) -> None:
        order = fgraph.toposort()
        keep = set(fgraph.inputs) | set(fgraph.outputs)
        last_use: dict[Any, int] = {}
        for k, node in enumerate(order):
            for v in node.inputs:
                last_use[v] = k
        frees: list[list] = [[] for _ in order]
        for v, k in last_use.items():
            if v not in keep and not isinstance(v, Constant) and v.owner is not None:
                frees[k].append(storage[v])
        for k, node in enumerate(order):  # outputs nobody reads
            for o in node.outputs:
                if o not in last_use and o not in keep:
                    frees[k].append(storage[o])
        self.nodes = order
        self.in_cells = [[storage[v] for v in node.inputs] for node in order]
        self.out_cells = [[storage[v] for v in node.outputs] for node in order]
        self.thunks = [make_thunk(n, i, o) for n, i, o in zip(order, self.in_cells,
                                                              self.out_cells)]
        self.frees = frees
        # steps: (thunk, cells to release after it) -- release lists are mostly empty
        self.steps = [(t, tuple(f)) for t, f in zip(self.thunks, frees)]
        self.profile = profile

    def __call__(self) -> None:
        if self.profile is not None:
            return self._run_profiled()
        k = 0
        try:
            for thunk, frees in self.steps:
                thunk()
                for c in frees:
                    c[0] = None
                k += 1
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            self._fail(k, exc)

    def _run_profiled(self) -> None:
        record = self.profile.record_node
        live = 0
        k = 0
        try:
            for (thunk, frees), node, ins, outs in zip(self.steps, self.nodes, self.in_cells,
                                                       self.out_cells):
                t0 = time.perf_counter()
                thunk()
                record(node, time.perf_counter() - t0, [c[0] for c in ins])
                live += sum(getattr(c[0], "nbytes", 0) for c in outs)
                self.profile.record_memory(live)
                for c in frees:
                    live -= getattr(c[0], "nbytes", 0)
                    c[0] = None
                k += 1
        except Exception as exc:  # noqa: BLE001
            self._fail(k, exc)

    def _fail(self, k: int, exc: BaseException) -> None:
        args = [c[0] for c in self.in_cells[k]]
        for outs in self.out_cells:
            for c in outs:
                c[0] = None
        raise_with_node(self.nodes[k], args, exc)


class VMLinker:
    """Links a FunctionGraph into a :class:`VM`."""

    name = "vm"

    def make_runner(self, fgraph: FunctionGraph, storage: dict,
                    profile: Any = None) -> Callable[[], None]:
        return VM(fgraph, storage, profile)


for _name in ("vm", "py", "cvm", "c|py", "c"):
    register_linker(_name, VMLinker)

__all__ = ["VM", "VMLinker", "make_thunk", "perform_thunk", "raise_with_node"]
