"""Element-wise fusion: connected Elemwise nodes become one Elemwise over a Composite
scalar op, evaluated in one pass (block by block, in cache, for large arrays)."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theanine.config import config
from theanine.graph.fg import FunctionGraph
from theanine.rewrite.db import register
from theanine.rewrite.engine import GraphPass, log_rewrite, replace_all
from theanine.scalar import ScalarOp
from theanine.graph.basic import Apply, Constant
from theanine.graph.op import Op
from theanine.tensor.elemwise import Elemwise, Reduce

BLOCK = 1 << 16  # elements per block of large fused expressions (fits in L2 cache)
# scalar ops costly enough that a fused expression using one is bound by arithmetic, not
# memory: only those expressions are split across cores (``parallel_blocks``); a plain
# scale-and-add over a large array gains nothing from a second core and loses to the
# threads' start and to BLAS threads spinning beside them (W4's embedding update: 4.1 ms
# per step serial, 5.8 ms split)
COMPUTE_BOUND = frozenset({
    "pow", "arctan2", "sqrt", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin",
    "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "erf", "erfc", "erfinv", "erfcinv", "gamma", "gammaln", "psi", "tri_gamma",
    "sigmoid", "softplus"})


class Composite(ScalarOp):
    """A scalar op defined by a small DAG of scalar ops, compiled into one Python kernel.

    ``steps`` is a tuple of ``(scalar_op, refs, dtype)``; a ref is ``i >= 0`` for the
    i-th input or ``-(k + 1)`` for the result of step k. The last step is the output.
    ``in_dtypes`` are the input dtypes, so every cast the kernel needs is decided once.
    """

    __props__ = ("steps", "nin", "in_dtypes", "in_broadcastable")

    def __init__(self, nin: int, steps: Sequence[tuple], in_dtypes: Sequence[str],
                 in_broadcastable: Sequence[tuple] | None = None) -> None:
        self.steps = tuple(steps)
        self.nin = nin
        self.in_dtypes = tuple(np.dtype(d).name for d in in_dtypes)
        self.in_broadcastable = tuple(tuple(b) for b in in_broadcastable) \
            if in_broadcastable is not None else None
        out_dtype = np.dtype(self.steps[-1][2]).name
        self.result_dtype = np.dtype(out_dtype)
        self.compute_bound = any(op.name in COMPUTE_BOUND for op, _, _ in self.steps)
        super().__init__(self._describe(), nin, None, lambda *d: out_dtype, None)
        self.fn = self.kernel = self._generate()

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

    def _generate(self):
        """Generate the fused kernel: one line per step, casts only where NumPy's result
        dtype differs from the declared one (found by probing each step once)."""
        probes = [np.ones(1, d) for d in self.in_dtypes]
        names = [f"i{k}" for k in range(self.nin)]
        skip_second = self._second_is_redundant()
        env: dict = {"asarray": np.asarray}
        lines = [f"def kernel({', '.join(names)}):"]
        calls: list = []  # per step: (expr, ufunc call taking ``out=`` or None)
        for k, (op, refs, dtype) in enumerate(self.steps):
            dtype = np.dtype(dtype)
            args = [names[r] if r >= 0 else f"t{-r - 1}" for r in refs]
            arg_probes = [probes[r] if r >= 0 else probes[self.nin - r - 1] for r in refs]
            cast_args = op.float_args or dtype.kind in "fc"
            for a, (name, p) in enumerate(zip(list(args), arg_probes)):
                if cast_args and p.dtype != dtype and (op.float_args or p.dtype.kind not in "fc"):
                    env[f"d{k}_{a}"] = dtype
                    args[a] = f"asarray({name}, d{k}_{a})"
                    arg_probes[a] = p.astype(dtype)
            if op.name == "second" and skip_second:
                fn = _pass_second
                expr = args[1]
            elif op.nin == -1:  # variadic: nested binary calls
                fn = op.binary
                env[f"f{k}"] = fn
                expr = args[0]
                for a in args[1:]:
                    expr = f"f{k}({expr}, {a})"
            else:
                fn = op.fn
                env[f"f{k}"] = fn
                expr = f"f{k}({', '.join(args)})"
            result = np.asarray(fn(*arg_probes) if op.nin != -1 else
                                functools.reduce(fn, arg_probes))
            ufunc = _as_ufunc(fn)
            out_call = None
            if ufunc is not None and expr.endswith(")") and op.name != "second":
                env[f"f{k}"] = ufunc
                out_call = expr[:-1] + ", out={})"
            if result.dtype != dtype:
                env[f"d{k}"] = dtype
                expr = f"asarray({expr}, d{k})"
                out_call = None
            calls.append((expr, out_call))
            lines.append(f"    t{k} = {expr}")
            probes.append(np.ones(1, dtype))
        last = len(self.steps) - 1
        lines.append(f"    return t{last}")
        # a second entry point writing the result into ``out`` (in-place outputs)
        final = lines[-2].split(" = ", 1)[1]
        body = lines[1:-2]
        if final.startswith(f"f{last}(") and isinstance(env.get(f"f{last}"), np.ufunc):
            body.append(f"    return {final[:-1]}, out=out)")
        else:
            body += [lines[-2], f"    out[...] = t{last}", "    return out"]
        lines += [f"def kernel_out({', '.join(names + ['out'])}):"] + body
        lines += self._block_kernel(names, calls)
        source = "\n".join(lines)
        code = compile(source, f"<theanine fused kernel {self.name}>", "exec")
        exec(code, env)  # noqa: S102 - a generated kernel, the one kind of code in strings
        kernel = env["kernel"]
        kernel.source = source
        self.kernel_out = env["kernel_out"]
        self.kernel_blocks = env["kernel_blocks"]
        return kernel

    def _block_kernel(self, names: list[str], calls: list) -> list[str]:
        """Lines of ``kernel_blocks(inputs..., out, bufs)``: the kernel over one block of
        flat inputs (or 0-d ones) writing every intermediate into reused scratch buffers
        (``bufs``, one per entry of ``self.block_buffers``, each of BLOCK elements) and the
        result into ``out``, so evaluating a block allocates nothing. A buffer is reused
        once the step reading its value last has run (a ufunc may write over its input)."""
        last = len(self.steps) - 1
        last_read: dict[int, int] = {}
        for k, (_, refs, _) in enumerate(self.steps):
            for r in refs:
                if r < 0:
                    last_read[-r - 1] = k
        free: dict[np.dtype, list[int]] = {}
        held: dict[int, int] = {}  # step -> buffer holding its value
        dtypes: list[np.dtype] = []
        lines = [f"def kernel_blocks({', '.join(names + ['out', 'bufs'])}):",
                 "    n = out.shape[0]"]
        # steps of one element (inputs broadcastable along every axis, and steps of those
        # only) are computed once as 0-d values, not broadcast into a block buffer
        single: list[bool] = []
        for op, refs, _ in self.steps:
            single.append(self.in_broadcastable is not None and all(
                all(self.in_broadcastable[r]) if r >= 0 else single[-r - 1] for r in refs))
        for k, ((_, refs, dtype), (expr, out_call)) in enumerate(zip(self.steps, calls)):
            for r in set(refs):
                if r < 0 and last_read[-r - 1] == k and -r - 1 in held:
                    b = held.pop(-r - 1)
                    free.setdefault(dtypes[b], []).append(b)
            if k == last:
                lines.append(f"    return {out_call.format('out')}" if out_call else
                             f"    out[...] = {expr}\n    return out")
            elif out_call is None or single[k]:
                lines.append(f"    t{k} = {expr}")
            else:
                dtype = np.dtype(dtype)
                pool = free.get(dtype)
                if pool:
                    b = pool.pop()
                else:
                    b = len(dtypes)
                    dtypes.append(dtype)
                held[k] = b
                lines.append(f"    t{k} = {out_call.format(f'b{b}')}")
        self.block_buffers = tuple(dtypes)
        # at most one step over whole arrays and no costly math: one ufunc call over the
        # arrays is a single pass already, faster than blocks (W4's embedding update, a
        # scale of 8,219 x 200 float64: 0.16 against 0.28 ms)
        self.one_pass = not self.compute_bound and sum(not x for x in single) <= 1
        return lines[:2] + [f"    b{b} = bufs[{b}][:n]" for b in range(len(dtypes))] + lines[2:]

    def scratch(self) -> list[np.ndarray]:
        """Fresh scratch buffers for :attr:`kernel_blocks` (one set per thread)."""
        return [np.empty(BLOCK, d) for d in self.block_buffers]

    def _second_is_redundant(self) -> bool:
        """Whether ``second(a, b)`` steps can pass ``b`` through: true when the output's
        broadcast pattern is the same without ``a`` (so ``a`` adds no dimension)."""
        if self.in_broadcastable is None:
            return False
        true_pat: list = list(self.in_broadcastable)
        alt_pat: list = list(self.in_broadcastable)
        for op, refs, _ in self.steps:
            def pat(pats, r):
                return pats[r] if r >= 0 else pats[self.nin - r - 1]
            args_true = [pat(true_pat, r) for r in refs]
            args_alt = [pat(alt_pat, r) for r in refs]
            true_pat.append(tuple(all(c) for c in zip(*args_true)))
            if op.name == "second":
                alt_pat.append(args_alt[1])
            else:
                alt_pat.append(tuple(all(c) for c in zip(*args_alt)))
        return true_pat[-1] == alt_pat[-1]

    def evaluate_blocks(self, inputs: Sequence[np.ndarray], shape: tuple,
                        dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
        """Evaluate over ``shape`` block by block when inputs are full or scalars."""
        flats = []
        for x in inputs:
            if x.size == 1:
                flats.append(x.reshape(()))
            elif x.shape == shape and x.flags.c_contiguous:
                flats.append(x.reshape(-1))
            else:
                res = self.kernel(*inputs)
                if out is not None:
                    out[...] = res
                    return out
                return np.broadcast_to(res, shape).astype(dtype, copy=True) \
                    if res.shape != shape else res
        if out is None:
            out = np.empty(shape, dtype)
        flat_out = out.reshape(-1)
        size = flat_out.size
        kernel = self.kernel_blocks

        def run(lo: int, hi: int) -> None:
            bufs = self.scratch()
            for start in range(lo, hi, BLOCK):
                stop = min(start + BLOCK, hi)
                kernel(*[f if f.ndim == 0 else f[start:stop] for f in flats],
                       flat_out[start:stop], bufs)
        parallel_blocks(run, size, self.compute_bound)
        return out


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def parallel_blocks(run: Callable[[int, int], None], size: int, split: bool = True,
                    align: int = BLOCK, elements: int | None = None) -> None:
    """Call ``run(lo, hi)`` over ``range(size)``: at once, or split into one contiguous
    share per core (aligned to ``align``) in threads when ``split`` (the work is
    compute-bound), ``config.openmp`` is on and the work's ``elements`` (default
    ``size``) are at least ``config.openmp_elemwise_minsize``. NumPy's kernels and the
    native programs' ``nogil`` kernels release the GIL, so the shares run in parallel."""
    elements = size if elements is None else elements
    n = _cores() if split and config.openmp and elements >= config.openmp_elemwise_minsize \
        else 1
    if n <= 1:
        run(0, size)
        return
    share = -(-size // (n * align)) * align
    bounds = [(lo, min(lo + share, size)) for lo in range(0, size, share)]
    errors: list[BaseException] = []

    def guarded(lo: int, hi: int) -> None:
        try:
            run(lo, hi)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
    threads = [threading.Thread(target=guarded, args=b) for b in bounds[1:]]
    for t in threads:
        t.start()
    guarded(*bounds[0])
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _as_ufunc(fn: Any) -> Callable | None:
    """``fn`` as a NumPy ufunc (SciPy's special functions are ufuncs too) or another
    kernel taking ``out=`` (``accepts_out``), or None."""
    if isinstance(fn, np.ufunc) or getattr(fn, "accepts_out", False):
        return fn
    if fn is not None and hasattr(fn, "binary"):  # variadic: nested calls of ``binary``
        return fn.binary if isinstance(fn.binary, np.ufunc) else None
    resolve = getattr(fn, "resolve", None)
    ufunc = resolve() if resolve is not None else None
    return ufunc if isinstance(ufunc, np.ufunc) else None


def _pass_second(a, b):
    return b


class FusedElemwise(Elemwise):
    """Elemwise over a Composite: large arrays are computed block by block, in cache."""

    def perform(self, node, inputs, out):
        o = node.outputs[0]
        dtype = o.type.numpy_dtype
        if max(x.size for x in inputs) > 4 * BLOCK and not self.scalar_op.one_pass:
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
            res = self.scalar_op.evaluate_blocks(inputs, shape, dtype, target)
        else:
            try:
                target = inputs[self.inplace_pattern[0][1]] if self.inplace_pattern else None
                if target is not None and target.dtype == dtype and all(
                        x.shape == target.shape or x.size == 1 for x in inputs):
                    res = self.scalar_op.kernel_out(*inputs, target)
                else:
                    res = self.scalar_op.kernel(*inputs)
            except ValueError:
                self._check_broadcast(node, inputs, None)
                raise
            if type(res) is not np.ndarray or res.dtype != dtype:
                res = np.asarray(res, dtype)
        shape = res.shape  # every input is an ancestor of the result: it has the full shape
        for x in inputs:
            if x.shape != shape:
                self._check_broadcast(node, inputs, shape)
                break
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
                steps.append((so, tuple(refs), n.outputs[0].type.dtype))
            index[n.outputs[0]] = len(steps) - 1
        comp = Composite(len(ext_inputs), steps, [v.type.dtype for v in ext_inputs],
                         [v.type.broadcastable for v in ext_inputs])
        new = FusedElemwise(comp)(*ext_inputs)
        replace_all(fgraph, [(node.outputs[0], new)], "fusion")
        log_rewrite(fgraph, "fusion", comp.name)
        changes += 1
    return changes


register("fusion", "fast_run")(GraphPass(fuse_elemwise, "fusion"))


class FusedSum(Op):
    """``sum`` over every axis of a fused element-wise expression, in one pass.

    Large inputs are evaluated block by block, and each block is summed (in float64 for
    smaller floats) while still in cache, on every core (``config.openmp``): the full
    element-wise result is never written to memory. The inputs are those of the
    element-wise node ``FusedElemwise(scalar_op)``.
    """

    __props__ = ("scalar_op", "dtype")

    def __init__(self, scalar_op: Composite, dtype: str) -> None:
        self.scalar_op = scalar_op
        self.dtype = dtype

    def __str__(self) -> str:
        return f"FusedSum{{{self.scalar_op.name}}}"

    def elemwise_node(self, inputs: Sequence) -> Apply:
        """The element-wise node being summed."""
        return FusedElemwise(self.scalar_op).make_node(*inputs)

    def make_node(self, *inputs):
        from theanine.tensor.type import TensorType

        ew = self.elemwise_node(inputs)
        return Apply(self, ew.inputs, [TensorType(self.dtype, ())()])

    def infer_shape(self, node, input_shapes):
        return [()]

    def perform(self, node, inputs, out):
        dtype = np.dtype(self.dtype)
        size = max((x.size for x in inputs), default=1)
        if size > 4 * BLOCK and all(x.size == 1 or x.flags.c_contiguous for x in inputs):
            try:
                shape = np.broadcast_shapes(*[x.shape for x in inputs])
            except ValueError:
                shape = None
            if shape is not None and all(x.size == 1 or x.shape == shape for x in inputs):
                out[0][0] = np.asarray(self._block_sum(inputs, shape), dtype)
                return
        ew = node.__dict__.get("_summed")
        if ew is None:
            ew = node.__dict__["_summed"] = self.elemwise_node(node.inputs)
        storage = [[None]]
        ew.op.perform(ew, inputs, storage)
        out[0][0] = np.asarray(storage[0][0].sum(dtype=_acc_dtype(dtype)), dtype)

    def _block_sum(self, inputs, shape) -> float:
        flats = [x.reshape(()) if x.size == 1 else x.reshape(-1) for x in inputs]
        size = int(np.prod(shape))
        comp = self.scalar_op
        kernel = comp.kernel_blocks
        acc = _acc_dtype(np.dtype(self.dtype))
        partial: list = []

        def run(lo: int, hi: int) -> None:
            total = acc.type(0)
            bufs = comp.scratch()
            result = np.empty(BLOCK, comp.result_dtype)
            for start in range(lo, hi, BLOCK):
                stop = min(start + BLOCK, hi)
                block = kernel(*[f if f.ndim == 0 else f[start:stop] for f in flats],
                               result[:stop - start], bufs)
                total += np.add.reduce(block, dtype=acc)
            partial.append(total)
        parallel_blocks(run, size, comp.compute_bound)
        return sum(partial, acc.type(0))


def _acc_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype("float64") if dtype.kind == "f" and dtype.itemsize < 8 else dtype


def fuse_sum(fgraph: FunctionGraph) -> int:
    """``Sum{all axes}(FusedElemwise(...))`` with no other reader of the element-wise
    result becomes one :class:`FusedSum` (floating-point sums of the same dtype)."""
    changes = 0
    for node in fgraph.toposort():
        op = node.op
        if not (isinstance(op, Reduce) and op.kind == "sum" and op.acc_dtype is None):
            continue
        x = node.inputs[0]
        if x.owner is None or type(x.owner.op) is not FusedElemwise \
                or x.owner.op.inplace_pattern or len(op.axis) != x.ndim:
            continue
        out = node.outputs[0]
        if out.type.dtype != x.type.dtype or out.type.dtype not in ("float32", "float64"):
            continue
        if len(fgraph.clients.get(x, [])) != 1:
            continue
        comp = x.owner.op.scalar_op
        new = FusedSum(comp, out.type.dtype)(*x.owner.inputs)
        replace_all(fgraph, [(out, new)], "fuse_sum")
        log_rewrite(fgraph, "fuse_sum", comp.name)
        changes += 1
    return changes


register("fusion", "fast_run")(GraphPass(fuse_sum, "fuse_sum"))


class ElemwiseSumSquares(Op):
    """An element-wise node and the sum of squares of one of its inputs, in one pass:
    ``(elemwise(*inputs), sum(inputs[k] ** 2))``, the sum taken over the values the
    element-wise node reads (before it overwrites them, when it works in place).

    Made by :func:`sum_squares_into_update` from an L2 penalty's ``dot(x.ravel(),
    x.ravel())`` and the SGD update of the same parameter, which would each read it whole
    (W4's 8,219 x 200 embedding: two passes of 13 MB each step).
    """

    __props__ = ("elemwise", "k")

    def __init__(self, elemwise: Elemwise, k: int) -> None:
        self.elemwise = elemwise
        self.k = int(k)
        self.destroy_map = dict(elemwise.destroy_map)

    def __str__(self) -> str:
        return f"ElemwiseSumSquares{{{self.elemwise}, {self.k}}}"

    def elemwise_node(self, inputs: Sequence) -> Apply:
        """The element-wise node computing the first output."""
        return self.elemwise.make_node(*inputs)

    def make_node(self, *inputs):
        from theanine.tensor.type import TensorType

        ew = self.elemwise_node(inputs)
        x = ew.inputs[self.k]
        return Apply(self, ew.inputs, [ew.outputs[0].type(), TensorType(x.type.dtype, ())()])

    def infer_shape(self, node, input_shapes):
        ew = self.elemwise_node(node.inputs)
        return [self.elemwise.infer_shape(ew, input_shapes)[0], ()]

    def perform(self, node, inputs, out):
        x = inputs[self.k]
        flat = x.reshape(-1)
        total = np.dot(flat, flat)
        ew = node.__dict__.get("_elemwise")
        if ew is None:
            ew = node.__dict__["_elemwise"] = self.elemwise_node(node.inputs)
        self.elemwise.perform(ew, inputs, out[:1])  # after the sum: it may overwrite x
        out[1][0] = np.asarray(total, x.dtype)


def _flat_square_reader(fgraph: FunctionGraph, x):
    """The node computing ``dot(x.ravel(), x.ravel())`` (``sum_of_squares_to_dot``'s form)
    as the only use of that ravel, and the ravel's node (None for a vector), or None."""
    from theanine.tensor.linalg import Dot
    from theanine.tensor.shape import Reshape

    for client, _ in fgraph.clients.get(x, []):
        if client == "output":
            continue
        if isinstance(client.op, Dot) and x.ndim == 1:
            if client.inputs[0] is x and client.inputs[1] is x:
                return client, None
            continue
        if isinstance(client.op, Reshape) and client.op.ndim == 1 and x.ndim > 1 and \
                client.inputs[0] is x:
            shp = client.inputs[1]
            if not (isinstance(shp, Constant) and shp.data.tolist() == [-1]):
                continue
            flat, ravel = client.outputs[0], client
        else:
            continue
        uses = fgraph.clients.get(flat, [])
        dots = {c for c, _ in uses}
        if len(dots) != 1 or len(uses) != 2:
            continue
        (dot,) = dots
        if dot != "output" and isinstance(dot.op, Dot) and dot.inputs[0] is flat \
                and dot.inputs[1] is flat:
            return dot, ravel
    return None


def sum_squares_into_update(fgraph: FunctionGraph) -> int:
    """An in-place, memory-bound element-wise update of ``x`` and the ``dot(x.ravel(),
    x.ravel())`` of an L2 penalty on the same ``x`` become one :class:`ElemwiseSumSquares`
    node, so ``x`` is read once. (Runs after the in-place rules: the dot was one of the
    readers the update had to wait for.)"""
    from theanine.rewrite.rules.inplace import _depends_on

    changes = 0
    for node in fgraph.toposort():
        op = node.op
        so = op.scalar_op if isinstance(op, Elemwise) else None
        if so is None or len(op.inplace_pattern) != 1 or \
                getattr(so, "compute_bound", so.name in COMPUTE_BOUND):
            continue
        k = op.inplace_pattern[0][1]
        x = node.inputs[k]
        if x.type.dtype not in ("float32", "float64") or x.ndim == 0:
            continue
        found = _flat_square_reader(fgraph, x)
        if found is None:
            continue
        dot, ravel = found
        if any(_depends_on(i, dot) for i in node.inputs):
            continue  # the update needs the sum (a cycle once merged)
        new = ElemwiseSumSquares(op, k).make_node(*node.inputs)
        before = [p for p in fgraph.orderings.pop(node, []) if p is not dot and p is not ravel]
        replace_all(fgraph, [(node.outputs[0], new.outputs[0]),
                             (dot.outputs[0], new.outputs[1])], "sum_squares_into_update")
        fgraph.orderings[new] = before
        log_rewrite(fgraph, "sum_squares_into_update", str(op))
        changes += 1
    return changes
