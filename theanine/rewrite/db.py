"""The rewrite registry: rules grouped in ordered phases, selected by tags.

Phases run in order of position (merge 0, canonicalize 1, stabilize 1.5, merge2 1.9,
specialize 2,
fusion 49, final merge 70, inplace 75: nothing may merge after in-place choices). A mode is a query: the rules carrying one of
the included tags and none of the excluded ones (a rule's name is also a tag).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from theanine.rewrite.engine import (
    EquilibriumRewriter, GraphPass, NodeRewriter, Rewriter, SequenceRewriter,
)


@dataclass
class _Entry:
    rule: Any
    tags: frozenset


@dataclass
class _Phase:
    name: str
    position: float
    kind: str  # "equilibrium" (node rules) or "pass" (graph passes, run in order)
    entries: list = field(default_factory=list)


class RewriteDB:
    """Rules registered into named phases with tags."""

    def __init__(self) -> None:
        self.phases: dict[str, _Phase] = {}

    def register_phase(self, name: str, position: float, kind: str = "equilibrium") -> None:
        self.phases[name] = _Phase(name, position, kind)

    def register(self, phase: str, rule: Any, *tags: str) -> Any:
        """Add ``rule`` (a NodeRewriter, or a graph pass function) to ``phase``."""
        if phase not in self.phases:
            raise KeyError(f"unknown rewrite phase {phase!r}; phases: {list(self.phases)}")
        if not isinstance(rule, (NodeRewriter, Rewriter)):
            rule = GraphPass(rule)
        all_tags = frozenset(tags) | {rule.name, phase}
        self.phases[phase].entries.append(_Entry(rule, all_tags))
        return rule

    def names(self) -> list[str]:
        return [e.rule.name for p in self.phases.values() for e in p.entries]

    def query(self, include: Sequence[str], exclude: Sequence[str] = ()) -> Rewriter:
        """The rewriter made of every rule tagged with one of ``include`` and none of
        ``exclude``."""
        inc, exc = set(include), set(exclude)
        unknown = (inc | exc) - {t for p in self.phases.values() for e in p.entries
                                 for t in e.tags} - {"fast_run", "fast_compile"}
        if unknown:
            raise ValueError(f"unknown rewrite tag(s) {sorted(unknown)}; known rules: "
                             f"{', '.join(sorted(self.names()))}")
        steps: list[Rewriter] = []
        for phase in sorted(self.phases.values(), key=lambda p: p.position):
            chosen = [e.rule for e in phase.entries if e.tags & inc and not e.tags & exc]
            if not chosen:
                continue
            if phase.kind == "equilibrium":
                steps.append(EquilibriumRewriter(chosen, name=phase.name))
            else:
                steps.extend(chosen)
        return SequenceRewriter(steps, name="+".join(sorted(inc)))


rewrites = RewriteDB()
for _name, _pos, _kind in (("merge", 0, "pass"), ("canonicalize", 1, "equilibrium"),
                           ("stabilize", 1.5, "equilibrium"), ("merge2", 1.9, "pass"),
                           ("specialize", 2, "equilibrium"), ("fusion", 49, "pass"),
                           ("final_merge", 70, "pass"), ("inplace", 75, "pass")):
    rewrites.register_phase(_name, _pos, _kind)


def register(phase: str, *tags: str) -> Callable[[Any], Any]:
    """Decorator registering a rule into ``phase`` of the default registry."""
    def deco(rule: Any) -> Any:
        return rewrites.register(phase, rule, *tags)
    return deco
