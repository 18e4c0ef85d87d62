"""Lazy scheduling: which nodes run only inside a branch of a conditional.

An op with a ``branch_of(input_index)`` method (``IfElse``) is *lazy*: the inputs of a
branch are needed only when that branch is taken. A node belongs to the branch
``(lazy node, b)`` when every use of its outputs is inside that branch; such nodes are
taken out of the main order and run by the lazy node itself, only when branch ``b`` is
chosen. Everything else stays in the main order, which is a valid schedule on its own.

Nodes under ordering constraints (in-place destruction) always stay in the main order,
so a reader never moves after the node overwriting what it reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from theanine.graph.basic import Apply
from theanine.graph.fg import FunctionGraph


def is_lazy(node: Apply) -> bool:
    return hasattr(node.op, "branch_of")


@dataclass
class Schedule:
    """The main order and, for each lazy node, the nodes of each of its branches."""

    main: list[Apply]
    branches: dict[Apply, tuple[list[Apply], ...]] = field(default_factory=dict)

    def reads(self, node: Apply) -> list:
        """Variables ``node`` reads when it runs, those of its branch nodes included,
        without those its branches compute themselves."""
        if node not in self.branches:
            return list(node.inputs)
        made, read = set(), list(node.inputs)
        for seg in self.branches[node]:
            for n in seg:
                made.update(n.outputs)
                read.extend(self.reads(n))
        return [v for v in dict.fromkeys(read) if v not in made]


def lazy_schedule(fgraph: FunctionGraph) -> Schedule:
    """Split ``fgraph``'s toposort into a main order and branch orders."""
    order = fgraph.toposort()
    if not any(is_lazy(n) for n in order):
        return Schedule(order)
    forced = {n for n, pre in fgraph.orderings.items() if pre}
    forced.update(p for pre in fgraph.orderings.values() for p in pre)
    unset = object()
    tag: dict[Apply, object] = {}  # node -> (lazy node, branch) or None (main)
    for node in reversed(order):
        t = unset
        if node not in forced:
            for out in node.outputs:
                for client, i in fgraph.clients.get(out, []):
                    if client == "output":
                        ct = None
                    elif is_lazy(client) and client.op.branch_of(i) is not None:
                        ct = (client, client.op.branch_of(i))
                    else:
                        ct = tag.get(client)
                    if t is unset:
                        t = ct
                    elif t != ct:
                        t = None
        tag[node] = None if t is unset else t
    sched = Schedule([n for n in order if tag[n] is None])
    for node in order:
        if is_lazy(node):
            sched.branches[node] = tuple([n for n in order if tag[n] == (node, b)]
                                         for b in (0, 1))
    return sched


__all__ = ["Schedule", "is_lazy", "lazy_schedule"]
