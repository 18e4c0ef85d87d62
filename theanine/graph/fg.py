"""FunctionGraph: a private, mutable copy of a user's graph that rewrites work on."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

from theanine.graph.basic import Apply, Constant, Variable, graph_inputs, toposort


class Feature:
    """A listener attached to a FunctionGraph (e.g. to record or veto changes)."""

    def on_attach(self, fgraph: FunctionGraph) -> None:
        """Called when attached."""

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str | None) -> None:
        """Called when ``node`` enters the graph."""

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str | None) -> None:
        """Called when ``node`` leaves the graph."""

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int, old: Variable,
                        new: Variable, reason: str | None) -> None:
        """Called when input ``i`` of ``node`` ('output' for the graph outputs) changes."""


class FunctionGraph:
    """A graph with fixed inputs and outputs, tracking each variable's clients.

    Parameters
    ----------
    inputs, outputs : sequence of Variable
        The graph's boundary.
    clone : bool
        Copy the graph first so the user's variables are never modified; the map from
        original to copied variables is kept in ``memo``.
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 clone: bool = True) -> None:
        self.memo: dict[int, Variable] = {}
        if clone:
            inputs, outputs = self._clone(inputs, outputs)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.clients: dict[Variable, list[tuple[Any, int]]] = {}
        self.apply_nodes: set[Apply] = set()
        self.variables: set[Variable] = set()
        self.features: list[Feature] = []
        #: extra ordering constraints: node -> nodes that must run before it (set by
        #: in-place rewrites so that nothing reads a buffer after it was overwritten)
        self.orderings: dict[Apply, list[Apply]] = {}
        #: output index -> input index of the shared variable that output updates
        self.update_mapping: dict[int, int] = {}
        for var in self.inputs:
            self._add_variable(var)
        for node in toposort(self.outputs, self.inputs):
            self._import(node, None)
        for i, out in enumerate(self.outputs):
            self._add_variable(out)
            self.clients[out].append(("output", i))
        given = set(self.inputs)
        missing = [v for v in graph_inputs(self.outputs, self.inputs)
                   if v.owner is None and not isinstance(v, Constant) and v not in given
                   and not hasattr(v, "storage")]
        if missing:
            from theanine.compile.errors import MissingInputError

            raise MissingInputError(missing[0])

    def _clone(self, inputs, outputs):
        memo = self.memo
        for v in inputs:
            memo[id(v)] = v.clone()
        for node in toposort(outputs, inputs):
            new_inputs = []
            for v in node.inputs:
                if id(v) not in memo:
                    memo[id(v)] = v.clone()  # free variables (shared) keep identity semantics
                new_inputs.append(memo[id(v)])
            new_outputs = []
            for out in node.outputs:
                cp = type(out).__new__(type(out))
                cp.__dict__.update(out.__dict__)
                cp.tag = {k: v for k, v in out.tag.items() if k != "_eval_cache"}
                memo[id(out)] = cp
                new_outputs.append(cp)
            Apply(node.op, new_inputs, new_outputs).tag.update(node.tag)
        for v in outputs:
            if id(v) not in memo:
                memo[id(v)] = v.clone()
        return [memo[id(v)] for v in inputs], [memo[id(v)] for v in outputs]

    # -- bookkeeping -----------------------------------------------------------
    def _add_variable(self, var: Variable) -> None:
        if var not in self.variables:
            self.variables.add(var)
            self.clients[var] = []

    def _import(self, node: Apply, reason: str | None) -> None:
        if node in self.apply_nodes:
            return
        for inp in node.inputs:
            if inp.owner is not None and inp.owner not in self.apply_nodes \
                    and inp not in self.inputs:
                self._import(inp.owner, reason)
        self.apply_nodes.add(node)
        for out in node.outputs:
            self._add_variable(out)
        for i, inp in enumerate(node.inputs):
            self._add_variable(inp)
            self.clients[inp].append((node, i))
        for f in self.features:
            f.on_import(self, node, reason)

    def _prune(self, var: Variable, reason: str | None) -> None:
        node = var.owner
        if node is None or node not in self.apply_nodes:
            return
        if any(self.clients.get(o) for o in node.outputs):
            return
        self.apply_nodes.discard(node)
        for out in node.outputs:
            self.variables.discard(out)
            self.clients.pop(out, None)
        for f in self.features:
            f.on_prune(self, node, reason)
        for i, inp in enumerate(node.inputs):
            cl = self.clients.get(inp)
            if cl is not None and (node, i) in cl:
                cl.remove((node, i))
                if not cl and inp not in self.inputs and inp not in self.outputs:
                    if inp.owner is not None:
                        self._prune(inp, reason)
                    else:
                        self.variables.discard(inp)
                        self.clients.pop(inp, None)

    # -- editing -------------------------------------------------------------------
    def change_input(self, node: Any, i: int, new: Variable, reason: str | None = None) -> None:
        """Make input ``i`` of ``node`` (or output ``i`` if node is 'output') ``new``."""
        if node == "output":
            old = self.outputs[i]
            self.outputs[i] = new
        else:
            old = node.inputs[i]
            node.inputs[i] = new
        if old is new:
            return
        if new.owner is not None:
            self._import(new.owner, reason)
        self._add_variable(new)
        self.clients[new].append((node, i))
        self.clients[old].remove((node, i))
        for f in self.features:
            f.on_change_input(self, node, i, old, new, reason)
        if not self.clients[old] and old not in self.inputs:
            self._prune(old, reason)

    def replace(self, var: Variable, new: Variable, reason: str | None = None,
                check_type: bool = True) -> None:
        """Replace every use of ``var`` by ``new`` (types must agree)."""
        if check_type and var.type != new.type:
            raise TypeError(f"cannot replace {var} of type {var.type} by {new} of type {new.type}"
                            + (f" ({reason})" if reason else ""))
        if new.site is None:
            new.site = var.site
        for node, i in list(self.clients.get(var, [])):
            self.change_input(node, i, new, reason)

    def attach_feature(self, feature: Feature) -> None:
        self.features.append(feature)
        feature.on_attach(self)

    def toposort(self) -> list[Apply]:
        """Apply nodes in a deterministic dependency order.

        With ``orderings`` (set by in-place rewrites), those extra dependencies hold, and
        nodes overwriting a shared variable, with everything computed from them, run
        after all other nodes: a call that fails before them changes no shared value.
        """
        base = toposort(self.outputs, self.inputs)
        orderings = {n: [p for p in pre if p in self.apply_nodes]
                     for n, pre in self.orderings.items() if n in self.apply_nodes}
        if not any(orderings.values()):
            return base
        rank = {n: k for k, n in enumerate(base)}
        late: set = set(orderings)
        for n in base:  # descendants of the late nodes are late too
            if n not in late and any(i.owner in late for i in n.inputs):
                late.add(n)
        deps = {n: {i.owner for i in n.inputs if i.owner in rank} | set(orderings.get(n, []))
                for n in base}
        users: dict = {n: [] for n in base}
        for n, ds in deps.items():
            for d in ds:
                users[d].append(n)
        waiting = {n: len(ds) for n, ds in deps.items()}
        ready = [((n in late, rank[n]), rank[n]) for n in base if not waiting[n]]
        heapq.heapify(ready)
        order: list[Apply] = []
        while ready:
            _, r = heapq.heappop(ready)
            node = base[r]
            order.append(node)
            for u in users[node]:
                waiting[u] -= 1
                if not waiting[u]:
                    heapq.heappush(ready, ((u in late, rank[u]), rank[u]))
        if len(order) != len(base):
            raise RuntimeError("cyclic ordering constraints in the graph")
        return order

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"
