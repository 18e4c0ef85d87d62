"""The reference back end: a virtual machine calling each node's NumPy ``perform``.

Nodes run in topological order over one-element storage cells; intermediates are
released as soon as their last client has run. Errors are re-raised with the node,
its input shapes and the line where the user created the failing variable.
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
    msg = (f"{exc}\n  while computing {node.op} on inputs of shapes [{shapes}]"
           f"{where}")
    try:
        new = type(exc)(msg)
    except Exception:  # pragma: no cover - exotic exception signatures
        raise exc
    new.__dict__.update(getattr(exc, "__dict__", {}))
    raise new.with_traceback(exc.__traceback__) from None


class VM:
    """Runs a toposorted list of nodes over storage cells."""

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
        self.steps = [
            (node.op.perform, node, [storage[v] for v in node.inputs],
             [storage[v] for v in node.outputs], frees[k])
            for k, node in enumerate(order)
        ]
        self.profile = profile

    def __call__(self) -> None:
        if self.profile is not None:
            return self._run_profiled()
        for perform, node, ins, outs, frees in self.steps:
            args = [c[0] for c in ins]
            try:
                perform(node, args, outs)
            except Exception as exc:  # noqa: BLE001 - re-raised with context
                self._clear()
                raise_with_node(node, args, exc)
            for c in frees:
                c[0] = None

    def _run_profiled(self) -> None:
        record = self.profile.record_node
        for perform, node, ins, outs, frees in self.steps:
            args = [c[0] for c in ins]
            t0 = time.perf_counter()
            try:
                perform(node, args, outs)
            except Exception as exc:  # noqa: BLE001
                self._clear()
                raise_with_node(node, args, exc)
            record(node, time.perf_counter() - t0, args)
            for c in frees:
                c[0] = None

    def _clear(self) -> None:
        for _, _, _, outs, _ in self.steps:
            for c in outs:
                c[0] = None


class VMLinker:
    """Links a FunctionGraph into a :class:`VM`."""

    name = "vm"

    def make_runner(self, fgraph: FunctionGraph, storage: dict,
                    profile: Any = None) -> Callable[[], None]:
        return VM(fgraph, storage, profile)


for _name in ("vm", "py", "cvm", "c|py", "auto", "c"):
    register_linker(_name, VMLinker)

__all__ = ["VM", "VMLinker", "raise_with_node"]
