"""Per-function profiles: calls, compile and run time, time per op class and per node,
and the peak memory held by intermediate results.

With ``config.profile = True`` (or ``THEANINE_FLAGS=profile=True``) every function is
profiled and the summaries are printed when the program exits.
"""

from __future__ import annotations

import atexit
import sys
import weakref
from collections import defaultdict
from typing import Any, TextIO

_LIVE: weakref.WeakSet = weakref.WeakSet()


class ProfileStats:
    """Timings gathered while a profiled function runs."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.calls = 0
        self.native_calls = 0  # calls run by the native program (timed by its own clock)
        self.call_time = 0.0
        self.compile_times: dict[str, float] = {}
        #: seconds of blocking native compiles run inside a node of the VM (a scan step
        #: getting hot inside its loop compiles there): not counted as that node's time
        self.compile_in_nodes = 0.0
        self.node_time: dict[Any, float] = defaultdict(float)
        self.node_calls: dict[Any, int] = defaultdict(int)
        self.node_shapes: dict[Any, list] = {}
        self.peak_bytes = 0
        self.linker = ""
        self.native_report: dict | None = None

    def record_call(self, seconds: float) -> None:
        self.calls += 1
        self.call_time += seconds

    def record_node(self, node: Any, seconds: float, inputs: list) -> None:
        self.node_time[node] += seconds
        self.node_calls[node] += 1
        if node not in self.node_shapes:
            self.node_shapes[node] = [getattr(v, "shape", None) for v in inputs]

    def record_memory(self, live_bytes: int) -> None:
        if live_bytes > self.peak_bytes:
            self.peak_bytes = live_bytes

    def summary(self, file: TextIO | None = None, n_nodes: int = 20) -> None:
        """Print the profile: calls, times, the costliest op classes and nodes, memory."""
        out = file or sys.stdout
        total = sum(self.node_time.values()) or 1e-12
        print(f"Function profile: {self.name or '<unnamed>'} (linker {self.linker})", file=out)
        ct = self.compile_times
        if ct:
            print(f"  compile: {ct.get('total', 0):.4f} s (rewrites {ct.get('rewrite', 0):.4f} s, "
                  f"linking {ct.get('link', 0):.4f} s)", file=out)
        native = f" ({self.native_calls} native)" if self.native_calls else ""
        print(f"  calls: {self.calls}{native}, total time {self.call_time:.6f} s, "
              f"{self.call_time / max(self.calls, 1) * 1e6:.1f} us per call; time in nodes "
              f"{sum(self.node_time.values()):.6f} s", file=out)
        if self.compile_in_nodes:
            print(f"  (the total includes {self.compile_in_nodes:.3f} s of native compiles "
                  f"run during calls, not counted in the nodes)", file=out)
        on_vm = self.calls - self.native_calls
        if self.native_calls and not on_vm:
            print("  peak memory of intermediate results: not measured (every call ran "
                  "the native program)", file=out)
        else:
            print(f"  peak memory of intermediate results: {self.peak_bytes} bytes"
                  f"{f' (in the {on_vm} calls on the NumPy VM)' if self.native_calls else ''}",
                  file=out)
        report = self.native_report
        if report:
            if report["native"]:
                islands = report["python_nodes"]
                print(f"  native program (numba compile {ct.get('numba', 0):.3f} s); "
                      f"nodes run by NumPy inside it: {islands or 'none'}", file=out)
            else:
                print(f"  NumPy VM: no native kernel for {report['unsupported']}", file=out)
        by_op: dict[str, float] = defaultdict(float)
        op_calls: dict[str, int] = defaultdict(int)
        for node, t in self.node_time.items():
            by_op[type(node.op).__name__] += t
            op_calls[type(node.op).__name__] += self.node_calls[node]
        print("  Op classes:\n  <% time> <cumulative %> <time s> <calls> <op class>", file=out)
        cum = 0.0
        for op, t in sorted(by_op.items(), key=lambda kv: -kv[1]):
            cum += t
            print(f"  {100 * t / total:6.1f}% {100 * cum / total:6.1f}% {t:10.6f} "
                  f"{op_calls[op]:7d}  {op}", file=out)
        print("  Nodes:\n  <% time> <cumulative %> <calls> <node> <input shapes>", file=out)
        cum = 0.0
        for node, t in sorted(self.node_time.items(), key=lambda kv: -kv[1])[:n_nodes]:
            cum += t
            print(f"  {100 * t / total:6.1f}% {100 * cum / total:6.1f}% "
                  f"{self.node_calls[node]:7d}  {node.op}  {self.node_shapes.get(node)}",
                  file=out)


def register_for_exit(stats: ProfileStats) -> None:
    """Print ``stats`` when the program exits (``config.profile`` mode)."""
    _LIVE.add(stats)


@atexit.register
def _print_at_exit() -> None:
    from theanine.config import config

    if not config.profile:
        return
    for stats in list(_LIVE):
        if stats.calls:
            stats.summary(sys.stderr)
