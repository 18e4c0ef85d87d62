"""Per-function profiles: calls, time per call, and time per op and per node."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any, TextIO


class ProfileStats:
    """Timings gathered while a profiled function runs."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.calls = 0
        self.call_time = 0.0
        self.node_time: dict[Any, float] = defaultdict(float)
        self.node_calls: dict[Any, int] = defaultdict(int)
        self.node_shapes: dict[Any, list] = {}

    def record_call(self, seconds: float) -> None:
        self.calls += 1
        self.call_time += seconds

    def record_node(self, node: Any, seconds: float, inputs: list) -> None:
        self.node_time[node] += seconds
        self.node_calls[node] += 1
        if node not in self.node_shapes:
            self.node_shapes[node] = [getattr(v, "shape", None) for v in inputs]

    def summary(self, file: TextIO | None = None, n_nodes: int = 20) -> None:
        """Print the profile: calls, time, and the costliest op classes and nodes."""
        out = file or sys.stdout
        total = sum(self.node_time.values()) or 1e-12
        print(f"Function profile: {self.name or '<unnamed>'}", file=out)
        print(f"  calls: {self.calls}, total time {self.call_time:.6f} s, "
              f"{self.call_time / max(self.calls, 1) * 1e6:.1f} us per call", file=out)
        by_op: dict[str, float] = defaultdict(float)
        for node, t in self.node_time.items():
            by_op[type(node.op).__name__] += t
        print("  <% time> <cumulative %> <time s> <op class>", file=out)
        cum = 0.0
        for op, t in sorted(by_op.items(), key=lambda kv: -kv[1]):
            cum += t
            print(f"  {100 * t / total:6.1f}% {100 * cum / total:6.1f}% {t:10.6f}  {op}",
                  file=out)
        print("  <% time> <calls> <node> <input shapes>", file=out)
        for node, t in sorted(self.node_time.items(), key=lambda kv: -kv[1])[:n_nodes]:
            print(f"  {100 * t / total:6.1f}% {self.node_calls[node]:6d}  {node.op}  "
                  f"{self.node_shapes.get(node)}", file=out)
