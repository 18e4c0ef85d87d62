"""The rewrite engine: node rules, pattern rules, an equilibrium driver and graph passes.

A *node rule* looks at one Apply node and returns replacements for its outputs (or
None). A *pattern rule* is declared as ``(in_pattern, out_pattern)``. The equilibrium
driver applies a set of rules until none fires. Whole-graph passes (merge, fusion,
inplace) are plain functions of the FunctionGraph. Every replacement is recorded in
``fgraph.rewrite_log`` and inherits the user's creation site of what it replaces.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from theanine.config import config
from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.fg import FunctionGraph


class Rewriter:
    """Base class: something that rewrites a FunctionGraph in place."""

    name: str = "rewriter"

    def apply(self, fgraph: FunctionGraph) -> int:
        """Rewrite ``fgraph``; return the number of changes made."""
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, fgraph: FunctionGraph) -> int:
        return self.apply(fgraph)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def log_rewrite(fgraph: FunctionGraph, name: str, what: str) -> None:
    log = getattr(fgraph, "rewrite_log", None)
    if log is None:
        log = fgraph.rewrite_log = []
    log.append((name, what))


def _compatible(old: Variable, new: Variable) -> bool:
    a, b = old.type, new.type
    if a == b:
        return True
    return (type(a) is type(b) and getattr(a, "dtype", None) == getattr(b, "dtype", None)
            and getattr(a, "ndim", None) == getattr(b, "ndim", None)
            and all(x is None or y is None or x == y
                    for x, y in zip(getattr(a, "shape", ()), getattr(b, "shape", ()))))


def replace_all(fgraph: FunctionGraph, pairs: Sequence[tuple[Variable, Variable]],
                reason: str) -> None:
    """Replace variables, checking that each replacement has a compatible type."""
    for old, new in pairs:
        if old is new:
            continue
        if not _compatible(old, new):
            raise TypeError(f"rewrite {reason} replaced {old} of type {old.type} by {new} of "
                            f"type {new.type}")
        if new.site is None:
            new.site = old.site
        if new.name is None and old.name is not None:
            new.name = old.name
        fgraph.replace(old, new, reason, check_type=False)


def handle_rewrite_error(name: str, node: Any, exc: Exception) -> None:
    """Apply ``config.on_opt_error`` to a failing rewrite."""
    if config.on_opt_error == "raise":
        raise exc
    if config.on_opt_error == "warn":
        warnings.warn(f"rewrite {name} failed on {node} and was skipped: "
                      f"{type(exc).__name__}: {exc}", stacklevel=3)


class NodeRewriter:
    """A local rule ``fn(fgraph, node) -> None | list of replacement variables``.

    Parameters
    ----------
    fn : callable
    tracks : sequence, optional
        Op classes (or Elemwise scalar op names, as strings) the rule looks at; the
        driver only calls it on such nodes.
    name : str, optional
    """

    def __init__(self, fn: Callable, tracks: Sequence | None = None,
                 name: str | None = None) -> None:
        self.fn = fn
        self.tracks = tuple(tracks) if tracks else None
        self.name = name or fn.__name__

    def matches(self, node: Apply) -> bool:
        op = node.op
        so = getattr(op, "scalar_op", None)
        found = self.static_match(type(op), None if so is None else so.name)
        if found is not None:
            return found
        return any(op == t for t in self.tracks if not isinstance(t, (str, type)))

    def static_match(self, op_type: type, scalar_name: str | None) -> bool | None:
        """Whether the rule tracks ops of class ``op_type`` (with an Elemwise scalar op
        named ``scalar_name``): True or False, or None when that depends on the instance
        (an op instance among the tracks; :meth:`matches` decides per node)."""
        if self.tracks is None:
            return True
        per_instance = False
        for t in self.tracks:
            if isinstance(t, str):
                if scalar_name == t:
                    return True
            elif isinstance(t, type):
                if issubclass(op_type, t):
                    return True
            else:
                per_instance = True
        return None if per_instance else False

    def transform(self, fgraph: FunctionGraph, node: Apply) -> Any:
        return self.fn(fgraph, node)

    def __repr__(self) -> str:
        return f"NodeRewriter({self.name})"


def node_rewriter(tracks: Sequence | None = None, name: str | None = None
                  ) -> Callable[[Callable], NodeRewriter]:
    """Decorator turning ``fn(fgraph, node)`` into a :class:`NodeRewriter`."""
    def deco(fn: Callable) -> NodeRewriter:
        return NodeRewriter(fn, tracks, name)
    return deco


# -- patterns ------------------------------------------------------------------------

class E:
    """Pattern head matching an Elemwise node of a given scalar op name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def match(self, node: Apply) -> bool:
        so = getattr(node.op, "scalar_op", None)
        return so is not None and so.name == self.name and not node.op.inplace_pattern \
            if hasattr(node.op, "inplace_pattern") else False

    def __repr__(self) -> str:
        return self.name


def _head_matches(head: Any, node: Apply) -> bool:
    if isinstance(head, E):
        return head.match(node)
    if isinstance(head, type):
        return isinstance(node.op, head)
    if callable(head) and not hasattr(head, "make_node"):
        return bool(head(node))
    return node.op == head


def match_pattern(pattern: Any, var: Variable, env: dict) -> bool:
    """Match ``var`` against ``pattern``, binding names in ``env``.

    A pattern is a string (binds any variable; the same name must bind the same
    variable), a number (a constant equal to it, any shape), a dict
    ``{'pattern': p, 'constraint': fn}``, or a tuple ``(head, *sub_patterns)`` whose
    head is an :class:`E`, an op class, an op instance or a predicate on the node.
    """
    if isinstance(pattern, dict):
        if not match_pattern(pattern["pattern"], var, env):
            return False
        return bool(pattern.get("constraint", lambda v: True)(var))
    if isinstance(pattern, str):
        if pattern in env:
            return env[pattern] is var
        env[pattern] = var
        return True
    if isinstance(pattern, (int, float)):
        if not isinstance(var, Constant):
            return False
        import numpy as np

        data = var.data
        return data.size > 0 and bool(np.all(data == pattern))
    head, *subs = pattern
    node = var.owner
    if node is None or not _head_matches(head, node):
        return False
    if len(subs) != len(node.inputs):
        # commutative binary ops: allow matching a 2-pattern against a 2-input node only
        return False
    trial = dict(env)
    if all(match_pattern(p, i, trial) for p, i in zip(subs, node.inputs)):
        env.update(trial)
        return True
    so = getattr(node.op, "scalar_op", None)
    if so is not None and so.commutative and len(subs) == 2:
        trial = dict(env)
        if all(match_pattern(p, i, trial) for p, i in zip(subs, reversed(node.inputs))):
            env.update(trial)
            return True
    return False


class PatternRewriter(NodeRewriter):
    """``in_pattern -> out``: ``out`` is a function of the bound names returning a variable
    (or None to decline)."""

    def __init__(self, in_pattern: Any, out: Callable[..., Variable | None], name: str) -> None:
        head = in_pattern[0]
        tracks = [head.name] if isinstance(head, E) else (
            [head] if isinstance(head, type) or hasattr(head, "make_node") else None)
        self.in_pattern = in_pattern
        self.out = out
        super().__init__(self._apply, tracks, name)

    def _apply(self, fgraph: FunctionGraph, node: Apply) -> Any:
        if len(node.outputs) != 1:
            return None
        env: dict = {}
        if not match_pattern(self.in_pattern, node.outputs[0], env):
            return None
        new = self.out(**env)
        return None if new is None else [new]


# -- drivers -------------------------------------------------------------------------

class EquilibriumRewriter(Rewriter):
    """Apply node rules over the graph until none fires (or ``max_passes`` is reached)."""

    def __init__(self, rules: Sequence[NodeRewriter], name: str = "equilibrium",
                 max_passes: int = 50) -> None:
        self.rules = list(rules)
        self.name = name
        self.max_passes = max_passes

    def _rules_for(self, op: Any, table: dict) -> list:
        """The rules that may fire on ``op`` as ``(rule, check per node)`` pairs, looked up
        once per op class and scalar op name (most rules track a few op classes)."""
        so = getattr(op, "scalar_op", None)
        key = (type(op), None if so is None else so.name)
        found = table.get(key)
        if found is None:
            found = table[key] = [(rule, m is None) for rule in self.rules
                                  if (m := rule.static_match(*key)) is not False]
        return found

    def apply(self, fgraph: FunctionGraph) -> int:
        total = 0
        table: dict = {}
        for _ in range(self.max_passes):
            changed = 0
            order = fgraph.toposort()
            # nodes a replacement introduces are visited next, in the same pass, so that a
            # rule that moves up a chain (shape inference through 20 layers) converges in
            # one pass, not one pass per link; the budget bounds rules that cycle
            budget = 4 * len(order) + 1000
            pending = deque(order)
            while pending:
                node = pending.popleft()
                if node not in fgraph.apply_nodes:
                    continue
                for rule, check in self._rules_for(node.op, table):
                    if check and not rule.matches(node):
                        continue
                    try:
                        new = rule.transform(fgraph, node)
                    except Exception as exc:  # noqa: BLE001 - on_opt_error decides
                        handle_rewrite_error(rule.name, node, exc)
                        continue
                    if not new:
                        continue
                    if isinstance(new, dict):
                        pairs = list(new.items())
                    else:
                        pairs = list(zip(node.outputs, new))
                    fresh = _new_nodes(fgraph, [n for _, n in pairs])
                    try:
                        replace_all(fgraph, pairs, rule.name)
                    except Exception as exc:  # noqa: BLE001
                        handle_rewrite_error(rule.name, node, exc)
                        continue
                    log_rewrite(fgraph, rule.name, str(node.op))
                    changed += 1
                    if budget > 0:
                        budget -= len(fresh)
                        pending.extendleft(reversed(fresh))
                    break
            total += changed
            if not changed:
                break
        return total


def _new_nodes(fgraph: FunctionGraph, outputs: Sequence[Variable]) -> list[Apply]:
    """The Apply nodes above ``outputs`` that are not yet in ``fgraph``, inputs first."""
    found: list[Apply] = []
    seen: set = set()
    stack = [(v.owner, False) for v in outputs if v.owner is not None]
    while stack:
        node, done = stack.pop()
        if done:
            found.append(node)
            continue
        if node in seen or node in fgraph.apply_nodes:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((i.owner, False) for i in node.inputs if i.owner is not None)
    return found


class GraphPass(Rewriter):
    """A whole-graph rewrite ``fn(fgraph) -> number of changes``."""

    def __init__(self, fn: Callable[[FunctionGraph], int], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__

    def apply(self, fgraph: FunctionGraph) -> int:
        try:
            n = self.fn(fgraph) or 0
        except Exception as exc:  # noqa: BLE001
            handle_rewrite_error(self.name, fgraph, exc)
            return 0
        return n


class SequenceRewriter(Rewriter):
    """Run rewriters one after the other."""

    def __init__(self, rewriters: Sequence[Rewriter], name: str = "sequence") -> None:
        self.rewriters = list(rewriters)
        self.name = name

    def apply(self, fgraph: FunctionGraph) -> int:
        return sum(r.apply(fgraph) for r in self.rewriters)

    def __repr__(self) -> str:
        return f"SequenceRewriter({[r.name for r in self.rewriters]})"
