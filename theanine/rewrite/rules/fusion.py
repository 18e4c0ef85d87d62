"""Element-wise fusion: connected Elemwise nodes become one Elemwise over a Composite
scalar op, evaluated in one pass (block by block, in cache, for large arrays)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theanine.graph.fg import FunctionGraph
from theanine.rewrite.db import register
from theanine.rewrite.engine import GraphPass, log_rewrite, replace_all
from theanine.scalar import ScalarOp
from theanine.tensor.elemwise import Elemwise

BLOCK = 8192  # elements per block when evaluating large fused expressions


class Composite(ScalarOp):
    """A scalar op defined by a small DAG of scalar ops.

    ``steps`` is a tuple of ``(scalar_op, refs, dtype)``; a ref is ``i >= 0`` for the
    i-th input or ``-(k + 1)`` for the result of step k. The last step is the output.
    """

    __props__ = ("steps", "nin")

    def __init__(self, nin: int, steps: Sequence[tuple]) -> None:
        self.steps = tuple(steps)
        self.nin = nin
        out_dtype = self.steps[-1][2].name
        super().__init__(self._describe(), nin, self._evaluate, lambda *d: out_dtype, None)

    def _describe(self) -> str:
        exprs: list[str] = []

        def ref(r: int) -> str:
            return f"i{r}" if r >= 0 else exprs[-r - 1]

        for op, refs, _ in self.steps:
            args = [ref(r) for r in refs]
            if op.symbol and len(args) >= 2:
                exprs.append("(" + f" {op.symbol} ".join(args) + ")")
            else:
                exprs.append(f"{op.name}({', '.join(args)})")
        return f"Composite{{{exprs[-1]}}}"

    def _evaluate(self, *inputs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        values: list = []
        for op, refs, dtype in self.steps:
            args = [inputs[r] if r >= 0 else values[-r - 1] for r in refs]
            if op.float_args:
                args = [np.asarray(a, dtype) for a in args]
            elif dtype.kind in "fc":  # integers computed in the output's precision
                args = [a if a.dtype.kind in "fc" else np.asarray(a, dtype) for a in args]
            r = op.fn(*args) if len(args) != 2 or op.nin != -1 else op.binary(*args)
            if type(r) is not np.ndarray or r.dtype != dtype:
                r = np.asarray(r, dtype)
            values.append(r)
        result = values[-1]
        if out is not None:
            out[...] = result
            return out
        return result

    def evaluate_blocks(self, inputs: Sequence[np.ndarray], shape: tuple,
                        dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
        """Evaluate over ``shape`` block by block when inputs are full or scalars."""
        size = int(np.prod(shape))
        if out is None:
            out = np.empty(shape, dtype)
        flat_out = out.reshape(-1)
        flats = []
        for x in inputs:
            if x.size == 1:
                flats.append(x.reshape(()))
            elif x.shape == shape and x.flags.c_contiguous:
                flats.append(x.reshape(-1))
            else:
                return self._evaluate(*inputs, out=out)
        for start in range(0, size, BLOCK):
            stop = min(start + BLOCK, size)
            args = [f if f.ndim == 0 else f[start:stop] for f in flats]
            flat_out[start:stop] = self._evaluate(*args)
        return out


class FusedElemwise(Elemwise):
    """Elemwise over a Composite: large arrays are computed block by block."""

    def perform(self, node, inputs, out):
        o = node.outputs[0]
        dtype = o.type.numpy_dtype
        try:
            shape = np.broadcast_shapes(*[x.shape for x in inputs])
        except ValueError:
            self._check_broadcast(node, inputs, None)
            raise
        target = None
        if self.inplace_pattern:
            target = inputs[self.inplace_pattern[0][1]]
            if target.shape != shape or target.dtype != dtype:
                target = None
        if int(np.prod(shape)) > 4 * BLOCK:
            res = self.scalar_op.evaluate_blocks(inputs, shape, dtype, target)
        else:
            res = self.scalar_op._evaluate(*inputs, out=target)
            if res.shape != shape:
                res = np.broadcast_to(res, shape).copy()
        if res.dtype != dtype:
            res = res.astype(dtype)
        if len(inputs) > 1 and any(x.shape != shape for x in inputs):
            self._check_broadcast(node, inputs, shape)
        out[0][0] = res

    def make_py_thunk(self, node, ins, outs):
        return None


def _fusible(node) -> bool:
    return isinstance(node.op, Elemwise) and not node.op.inplace_pattern \
        and len(node.outputs) == 1


def fuse_elemwise(fgraph: FunctionGraph) -> int:
    """Replace each maximal tree of single-client Elemwise nodes by one fused node."""
    changes = 0
    for node in reversed(fgraph.toposort()):
        if node not in fgraph.apply_nodes or not _fusible(node):
            continue
        # grow a cluster upwards through inputs used only by the cluster
        cluster = [node]
        members = {node}
        frontier = [node]
        while frontier:
            n = frontier.pop()
            for inp in n.inputs:
                owner = inp.owner
                if owner is None or owner in members or not _fusible(owner):
                    continue
                clients = fgraph.clients.get(inp, [])
                if len(clients) != 1 or clients[0][0] is not n:
                    continue
                cluster.append(owner)
                members.add(owner)
                frontier.append(owner)
        if len(cluster) < 2:
            continue
        # order cluster nodes topologically
        order = [n for n in fgraph.toposort() if n in members]
        ext_inputs: list = []
        index: dict = {}
        steps: list[tuple] = []
        for n in order:
            refs = []
            for inp in n.inputs:
                if inp.owner in members:
                    refs.append(-(index[inp] + 1))
                else:
                    if inp not in ext_inputs:
                        ext_inputs.append(inp)
                    refs.append(ext_inputs.index(inp))
            so = n.op.scalar_op
            if isinstance(so, Composite):  # inline an earlier fusion
                base = len(steps)
                for op, r, dt in so.steps:
                    steps.append((op, tuple(refs[x] if x >= 0 else -(base + (-x - 1)) - 1
                                            for x in r), dt))
            else:
                steps.append((so, tuple(refs), n.outputs[0].type.numpy_dtype))
            index[n.outputs[0]] = len(steps) - 1
        comp = Composite(len(ext_inputs), steps)
        new = FusedElemwise(comp)(*ext_inputs)
        replace_all(fgraph, [(node.outputs[0], new)], "fusion")
        log_rewrite(fgraph, "fusion", comp.name)
        changes += 1
    return changes


register("fusion", "fast_run")(GraphPass(fuse_elemwise, "fusion"))
