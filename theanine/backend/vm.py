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
from theanine.backend.schedule import Schedule, lazy_schedule


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
    thunk = special(node, ins, outs) if special is not None else None
    if thunk is None:
        thunk = perform_thunk(node, ins, outs)
    dims = _product_dims(node, ins)
    return thunk if dims is None else _blas_thread_thunk(thunk, dims)


def _product_dims(node: Apply, ins: list) -> Callable[[], tuple] | None:
    """For a BLAS product node, a function giving its ``(m, n, k)`` from the input cells."""
    from theanine.rewrite.rules.fusion import ElemwiseSumSquares
    from theanine.tensor.blas import Gemm, Gemv
    from theanine.tensor.linalg import Dot

    op = node.op
    if isinstance(op, ElemwiseSumSquares):  # a dot of the flattened input with itself
        x = ins[op.k]
        return lambda: (1, 1, x[0].size)
    if isinstance(op, Dot):
        a, b = ins

        def dot_dims() -> tuple:
            x, y = a[0], b[0]
            return (x.shape[0] if x.ndim == 2 else 1, y.shape[1] if y.ndim == 2 else 1,
                    x.shape[-1])
        return dot_dims
    if isinstance(op, Gemm):
        a, b = ins[2], ins[3]
        return lambda: (a[0].shape[0], b[0].shape[1], a[0].shape[1])
    if isinstance(op, Gemv):
        a = ins[2]
        return lambda: (a[0].shape[0], 1, a[0].shape[1])
    return None


def _blas_thread_thunk(thunk: Callable[[], None], dims: Callable[[], tuple]
                       ) -> Callable[[], None]:
    """Run a product on one OpenBLAS thread where the native programs would (see
    ``cblas.wants_one_thread``): OpenBLAS threads a 43 x 200 by 200 x 200 product, and
    its workers then spin beside the VM's next nodes (W4's step on the VM: 6.0-6.7 ms
    against 4.2-5.0 ms with one BLAS thread)."""
    from theanine.backend.numba.cblas import blas_threads, set_blas_threads, wants_one_thread

    if blas_threads() is None:  # another BLAS: leave it alone
        return thunk

    def run() -> None:
        if not wants_one_thread(*dims()):
            thunk()
            return
        before = blas_threads()
        if before == 1:
            thunk()
            return
        set_blas_threads(1)
        try:
            thunk()
        finally:
            set_blas_threads(before)
    return run


def _frees(nodes: list[Apply], storage: dict, sched: Schedule, keep: set,
           local: Callable[[Any], bool]) -> list[tuple]:
    """For each node of ``nodes``, the cells to release after it: values ``local`` to
    this sequence, not in ``keep``, after their last reader (or at once if unread)."""
    last_use: dict[Any, int] = {}
    for k, node in enumerate(nodes):
        for v in sched.reads(node):
            last_use[v] = k
    frees: list[list] = [[] for _ in nodes]
    for v, k in last_use.items():
        if v not in keep and local(v):
            frees[k].append(storage[v])
    for k, node in enumerate(nodes):
        for o in node.outputs:
            if o not in last_use and o not in keep:
                frees[k].append(storage[o])
    return [tuple(f) for f in frees]


def lazy_thunk(node: Apply, sched: Schedule, storage: dict) -> Callable[[], None]:
    """The thunk of a lazy node: test the condition, run only the chosen branch's nodes,
    then pass its values on (``IfElse``'s outputs are views of them)."""
    n = len(node.outputs)
    cond = storage[node.inputs[0]]
    outs = [storage[o] for o in node.outputs]
    branches = []
    for b, nodes in enumerate(sched.branches[node]):
        vals = node.inputs[1 + b * n:1 + (b + 1) * n]
        made = {o for m in nodes for o in m.outputs}
        frees = _frees(nodes, storage, sched, set(vals), made.__contains__)
        thunks = [lazy_thunk(m, sched, storage) if m in sched.branches else
                  make_thunk(m, [storage[v] for v in m.inputs], [storage[v] for v in m.outputs])
                  for m in nodes]
        branches.append((list(zip(thunks, frees, nodes)), [storage[v] for v in vals],
                         [storage[v] for v in dict.fromkeys(vals) if v in made]))

    def thunk() -> None:
        steps, vals, local = branches[0] if cond[0] else branches[1]
        for t, fr, m in steps:
            try:
                t()
            except Exception as exc:  # noqa: BLE001 - re-raised with the inner node
                if getattr(exc, "__theanine_context__", False):
                    raise
                try:
                    raise_with_node(m, [storage[v][0] for v in m.inputs], exc)
                except Exception as new:  # noqa: BLE001
                    new.__theanine_context__ = True
                    raise
            for c in fr:
                c[0] = None
        for o, v in zip(outs, vals):
            o[0] = v[0]
        for c in local:
            c[0] = None
    return thunk


class VM:
    """Runs the thunks of a toposorted graph over storage cells.

    Nodes needed only by one branch of a conditional run inside that conditional's
    thunk, when the branch is taken (see :mod:`theanine.backend.schedule`).
    """

    def __init__(self, fgraph: FunctionGraph, storage: dict, profile: Any = None) -> None:
        sched = lazy_schedule(fgraph)
        order = sched.main
        keep = set(fgraph.inputs) | set(fgraph.outputs)
        frees = _frees(order, storage, sched, keep,
                       lambda v: not isinstance(v, Constant) and v.owner is not None)
        self.nodes = order
        self.in_cells = [[storage[v] for v in node.inputs] for node in order]
        self.out_cells = [[storage[v] for v in node.outputs] for node in order]
        self.thunks = [lazy_thunk(n, sched, storage) if n in sched.branches else
                       make_thunk(n, i, o)
                       for n, i, o in zip(order, self.in_cells, self.out_cells)]
        self.frees = frees
        # steps: (thunk, cells to release after it) -- release lists are mostly empty
        self.steps = list(zip(self.thunks, frees))
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
        prof = self.profile
        record = prof.record_node
        live = 0
        k = 0
        try:
            for (thunk, frees), node, ins, outs in zip(self.steps, self.nodes, self.in_cells,
                                                       self.out_cells):
                c0 = prof.compile_in_nodes
                t0 = time.perf_counter()
                thunk()
                record(node, time.perf_counter() - t0 - (prof.compile_in_nodes - c0),
                       [c[0] for c in ins])
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
        if getattr(exc, "__theanine_context__", False):  # raised inside a branch
            raise exc.with_traceback(exc.__traceback__) from None
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
