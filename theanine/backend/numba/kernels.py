"""Numba kernels, one code generator per op class.

A generator receives the node, the names of its input variables and of its outputs in the
generated program, and a :class:`Context`; it returns lines of Python that assign the
outputs (or None when it cannot handle this node, which then runs on the NumPy VM).
Dispatch is by op class (and its bases), never by an if-chain.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import numpy as np

from theanine.config import config
from theanine.backend.numba.scalar import expression, vectorised
from theanine.tensor.basic import Alloc, ARange
from theanine.tensor.blas import Gemm, Gemv
from theanine.tensor.elemwise import DimShuffle, Elemwise, Reduce
from theanine.tensor.join import Join
from theanine.tensor.linalg import Dot
from theanine.tensor.math import Argmax
from theanine.tensor.nnet.basic import LogSoftmax, Softmax, SoftmaxGrad
from theanine.tensor.shape import MakeVector, Rebroadcast, Reshape, Shape, SpecifyShape
from theanine.rewrite.rules.fusion import COMPUTE_BOUND, ElemwiseSumSquares, FusedSum
from theanine.scan.op import Scan
from theanine.tensor.subtensor import (
    AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, SliceLength, Subtensor,
)
from theanine.tensor.type import FLOAT_DTYPES

KERNELS: dict[type, Callable] = {}


def register(*classes: type, inline: bool = False) -> Callable:
    """Register a code generator for op ``classes``. Code with a loop becomes a kernel
    function of its own (``linker.kernel_call``) unless ``inline``: then it stays in
    its caller's body."""
    def deco(fn: Callable) -> Callable:
        for c in classes:
            KERNELS[c] = fn
        fn.inline = inline
        return fn
    return deco


def generator_for(op) -> Callable | None:
    for cls in type(op).__mro__:
        if cls in KERNELS:
            return KERNELS[cls]
    return None


class Context:
    """Names and helper functions shared by the kernels of one program."""

    def __init__(self, parent: "Context | None" = None) -> None:
        self.root = parent.root if parent else self
        self.helpers: dict[str, str] = parent.helpers if parent else {}
        # ops run by their NumPy perform (objmode)
        self.python_nodes: list[str] = parent.python_nodes if parent else []
        # the native runners of inner functions whose graphs the program contains (scan
        # steps): they need not compile while the program is in use
        self.enclosed: list = parent.enclosed if parent else []
        self._n = 0

    def local(self) -> "Context":
        """A context for one kernel function: its own names, the program's helpers."""
        return Context(self)

    def fresh(self, prefix: str = "t") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def unique(self, prefix: str) -> str:
        """A name unique in the whole program (for module-level helpers)."""
        return self.root.fresh(prefix)

    def helper(self, name: str, source: str) -> str:
        self.helpers.setdefault(name, source)
        return name


def dtype_name(dtype) -> str:
    """The NumPy scalar type for ``dtype`` as code (``np.float32``, ``np.bool_``...)."""
    d = np.dtype(dtype)
    return "np.bool_" if d.kind == "b" else f"np.{d.name}"


def _idx(names: list[str]) -> str:
    return "()" if not names else ", ".join(names) + ("," if len(names) == 1 else "")


def _loops(shape: list[str], body: list[str], var: str = "j",
           dims: list[int] | None = None) -> list[str]:
    """Nested loops ``for j<d> in range(shape[k])`` (``d`` from ``dims``, default 0..n-1)."""
    lines, ind = [], ""
    for d, s in zip(dims if dims is not None else range(len(shape)), shape):
        lines.append(f"{ind}for {var}{d} in range({s}):")
        ind += "    "
    lines += [ind + b for b in body]
    return lines


def _shape_tuple(shape: list[str]) -> str:
    return "(" + ", ".join(shape) + ("," if len(shape) == 1 else "") + ")"


# -- element-wise -------------------------------------------------------------------------

def _scalar_program(node, reads: list[str], out_dtype) -> list[str] | None:
    """Lines computing the element of the output into ``_r``."""
    op = node.op.scalar_op
    in_dtypes = [i.type.numpy_dtype for i in node.inputs]
    steps = getattr(op, "steps", None)
    if steps is None:
        e = expression(op, reads, in_dtypes, np.dtype(out_dtype), dtype_name)
        return None if e is None else [f"_r = {e}"]
    lines, values, dtypes = [], [], []
    for k, (sop, refs, dt) in enumerate(steps):
        args = [reads[r] if r >= 0 else values[-r - 1] for r in refs]
        arg_dtypes = [in_dtypes[r] if r >= 0 else dtypes[-r - 1] for r in refs]
        e = expression(sop, args, arg_dtypes, np.dtype(dt), dtype_name)
        if e is None:
            return None
        lines.append(f"_s{k} = {dtype_name(dt)}({e})")
        values.append(f"_s{k}")
        dtypes.append(np.dtype(dt))
    lines.append(f"_r = _s{len(steps) - 1}")
    return lines


def _broadcast_shape(node, ins: list[str], lines: list[str]) -> list[str]:
    """Output shape expressions, with run-time checks of non-broadcastable lengths."""
    out = node.outputs[0]
    shape = []
    for d in range(out.ndim):
        src = [k for k, i in enumerate(node.inputs) if not i.type.broadcastable[d]]
        if not src:
            shape.append("1")
            continue
        first = ins[src[0]]
        for k in src[1:]:
            lines.append(f"if {ins[k]}.shape[{d}] != {first}.shape[{d}]:")
            lines.append(f"    raise ValueError('{node.op.scalar_op.name}: input shapes do not "
                         f"match in dimension {d}')")
        shape.append(f"{first}.shape[{d}]")
    return shape


def _elemwise_parts(node, ins, o: str) -> tuple | None:
    """The pieces of an element-wise loop nest writing into ``o``: ``(checks, shape,
    allocation, element body)``; the body reads the inputs at ``j0, j1...`` and stores the
    element. None when a scalar op has no native expression."""
    out = node.outputs[0]
    reads = []
    for k, i in enumerate(node.inputs):
        idx = ["0" if b else f"j{d}" for d, b in enumerate(i.type.broadcastable)]
        reads.append(f"{ins[k]}[{_idx(idx)}]")
    body = _scalar_program(node, reads, out.type.dtype)
    if body is None:
        return None
    checks: list[str] = []
    shape = _broadcast_shape(node, ins, checks)
    alloc = (f"{o} = {ins[node.op.inplace_pattern[0][1]]}" if node.op.inplace_pattern else
             f"{o} = np.empty({_shape_tuple(shape)}, {dtype_name(out.type.dtype)})")
    oidx = _idx([f"j{d}" for d in range(out.ndim)])
    return checks, shape, alloc, body + [f"{o}[{oidx}] = {dtype_name(out.type.dtype)}(_r)"]


@register(Elemwise)
def elemwise(node, ins, outs, ctx):
    out = node.outputs[0]
    nd = out.ndim
    o = outs[0]
    parts = _elemwise_parts(node, ins, o)
    if parts is None:
        return None
    lines, shape, alloc, body = parts
    loops = [alloc] + _loops(shape, body)
    if nd == 0 or out.type.dtype == "float16" or not _needs_numpy_math(node):
        return lines + loops  # memory-bound or vectorised math: one compiled pass
    # large arrays of transcendental math: NumPy's SIMD kernels, block by block (the
    # compiled loop calls scalar libm; see callbacks.py)
    key = _register_numpy_kernel(node)
    size = " * ".join(shape)
    ann = f"{np.dtype(out.type.dtype).name}[{', '.join([':'] * nd)}]"
    ctx.helper("_py_call", "from theanine.backend.numba.callbacks import call as _py_call")
    params = [f"p{k}" for k in range(len(ins))]
    # objmode in a function of its own (inside a branch of a big function it can
    # trip LLVM's dominance checks)
    ctx.helper(f"_numpy_{key}", "\n".join([
        INTERNAL,
        f"def _numpy_{key}({', '.join(params)}):",
        f"    with numba.objmode(out='{ann}'):",
        f"        out = _py_call('{key}', {', '.join(params)})",
        "    return out"]))
    return lines + [f"if {size} >= {LARGE}:", f"    {o} = _numpy_{key}({', '.join(ins)})",
                    "else:"] + ["    " + b for b in loops]


LARGE = 1 << 15  # elements from which NumPy's SIMD kernels beat compiled scalar loops


def _steps(node) -> list[tuple]:
    """``(scalar op, result dtype)`` of each step of an element-wise node."""
    so = node.op.scalar_op
    steps = getattr(so, "steps", None)
    if steps is None:
        return [(so, node.outputs[0].type.dtype)]
    return [(op, dt) for op, _, dt in steps]


def _needs_numpy_math(node) -> bool:
    """Whether some step of an element-wise node is transcendental math that a compiled
    loop computes with the C library's scalar functions (large arrays then run NumPy's
    SIMD kernels); float32 ``vmath`` functions and ``sqrt`` (an LLVM intrinsic)
    vectorise with the loop."""
    return any(op.name in COMPUTE_BOUND and op.name != "sqrt" and not vectorised(op.name, dt)
               for op, dt in _steps(node))


def _register_numpy_kernel(node) -> str:
    """Register the node's NumPy evaluation for native programs; returns its key."""
    from theanine.backend.numba.callbacks import REGISTRY

    key = hashlib.sha256(f"{node.op}|{[i.type for i in node.inputs]}".encode()).hexdigest()[:16]
    if key not in REGISTRY:
        op = node.op
        out_dtype = node.outputs[0].type.numpy_dtype

        def run(*inputs, _op=op, _node=node, _dtype=out_dtype):
            storage = [[None]]
            _op.perform(_node, list(inputs), storage)
            res = storage[0][0]
            return res if res.dtype == _dtype else res.astype(_dtype)
        REGISTRY[key] = run
    return key


# -- reductions ------------------------------------------------------------------------------

_INIT = {"sum": "0", "prod": "1", "all": "True", "any": "False"}


@register(Reduce)
def reduce(node, ins, outs, ctx):
    op = node.op
    x = node.inputs[0]
    dt = np.dtype(node.outputs[0].type.dtype)
    xn, o = ins[0], outs[0]
    kept = [d for d in range(x.ndim) if d not in op.axis]
    shape = [f"{xn}.shape[{d}]" for d in kept]
    lines = []
    if op.kind in ("max", "min"):
        init = ("-np.inf" if op.kind == "max" else "np.inf") if dt.kind == "f" else \
            str(np.iinfo(dt).min if op.kind == "max" else np.iinfo(dt).max) \
            if dt.kind in "iu" else None
        if init is None:
            return None
        for a in op.axis:
            lines.append(f"if {xn}.shape[{a}] == 0:")
            lines.append(f"    raise ValueError('{op.kind} of an empty axis')")
    else:
        init = _INIT[op.kind]
    # low-precision floats accumulate in float64 (as NumPy's pairwise sums stay accurate)
    acc_dt = np.dtype("float64") if dt.kind == "f" and dt.itemsize < 8 and \
        op.kind in ("sum", "prod") else dt
    acc = ctx.fresh("acc") if acc_dt != dt else o
    lines.append(f"{acc} = np.empty({_shape_tuple(shape)}, {dtype_name(acc_dt)})")
    oidx = _idx([f"j{d}" for d in kept])
    lines += _loops(shape, [f"{acc}[{oidx}] = {init}"], dims=kept)
    cur = f"{acc}[{oidx}]"
    v = f"{dtype_name(acc_dt)}({xn}[{_idx([f'j{d}' for d in range(x.ndim)])}])"
    upd = {"sum": f"{cur} += {v}", "prod": f"{cur} *= {v}",
           "max": f"{cur} = np.maximum({cur}, {v})", "min": f"{cur} = np.minimum({cur}, {v})",
           "all": f"{cur} = {cur} and {v}", "any": f"{cur} = {cur} or {v}"}[op.kind]
    loop_shape = [f"{xn}.shape[{d}]" for d in range(x.ndim)]
    lines += _loops(loop_shape, [upd], var="j")
    if acc != o:
        lines += cast_into(o, acc, len(kept), dt, ctx)
    return lines


# -- products -------------------------------------------------------------------------------

def _blas_ready(names: list[str], node_inputs, dt) -> list[str]:
    return [f"np.ascontiguousarray({n}.astype({dtype_name(dt)}))"
            if v.type.dtype != np.dtype(dt).name else f"np.ascontiguousarray({n})"
            for n, v in zip(names, node_inputs)]


BLAS_THREADS = "_bt"  # every generated function's last parameter (blas_kernels.py)
# the decorator of every generated function but the entry point: called only from native
# code, it needs neither a CPython nor a C wrapper (Numba builds both for each function
# otherwise: 3.7 s of W4's 27 s compile)
# NumPy's error model: a float division by zero gives inf or nan, as in NumPy, instead of
# raising ZeroDivisionError (which sent the call back to the VM), and the division has no
# branch left to keep a loop from being vectorised
ENTRY = "@numba.njit(cache=True, error_model='numpy')"
INTERNAL = ENTRY[:-1] + ", no_cpython_wrapper=True, no_cfunc_wrapper=True)"


_EXTENT = f"""{INTERNAL}
def _extent(a):
    lo = a.ctypes.data
    hi = lo + a.itemsize
    for k in range(a.ndim):
        step = (a.shape[k] - 1) * a.strides[k]
        if step < 0:
            lo += step
        else:
            hi += step
    return lo, hi"""


def assign(dst: str, src: str, dst_ndim: int, src_ndim: int, ctx, fresh: bool = False,
           op: str = "=") -> str:
    """The line ``dst[...] = src`` (``op``: or ``+=``) for an array ``src`` broadcast to
    ``dst``, as a call of a generated loop nest. Numba's own array assignment compiles a
    formatted shape message (string conversion, join: about 1 s of compile per pair of
    ranks); on a mismatch the VM's re-run names the node, so the native message can be
    constant. ``fresh``: ``dst`` is a new array, which cannot overlap ``src``."""
    if src_ndim > dst_ndim:  # NumPy drops leading 1s: rare, left to Numba
        return f"{dst}[...] {op} {src}"
    if dst_ndim == 0:
        return f"{dst}[()] {op} {src}[()]"
    kind = "inc" if op == "+=" else "copy" if fresh else "assign"
    name = f"_{kind}_{dst_ndim}_{src_ndim}"
    off = dst_ndim - src_ndim
    lines = [INTERNAL, f"def {name}(d, s):"]
    for k in range(src_ndim):
        lines += [f"    if s.shape[{k}] != 1 and s.shape[{k}] != d.shape[{k + off}]:",
                  "        raise ValueError('could not broadcast a value to the shape of its "
                  "destination')"]
    if not fresh:
        ctx.helper("_extent", _EXTENT)
        ctx.helper("_any", "from theanine.backend.numba.layout import any_layout as _any")
        lines += ["    if d.size and s.size:", "        dl, dh = _extent(_any(d))",
                  "        sl, sh = _extent(_any(s))",
                  "        if dl < sh and sl < dh:  # overlapping: read a copy, as NumPy does",
                  "            s = s.copy()"]
    lines += [f"    b{k} = 0 if s.shape[{k}] == 1 else 1" for k in range(src_ndim)]
    for d in range(dst_ndim):
        lines.append("    " * (d + 1) + f"for i{d} in range(d.shape[{d}]):")
    didx = ", ".join(f"i{d}" for d in range(dst_ndim))
    sidx = ", ".join(f"i{k + off} * b{k}" for k in range(src_ndim)) or "()"
    lines.append("    " * (dst_ndim + 1) + f"d[{didx}] {op} s[{sidx}]")
    ctx.helper(name, "\n".join(lines))
    return f"{name}({dst}, {src})"


def cast_into(new: str, x: str, ndim: int, dtype, ctx) -> list[str]:
    """Lines binding ``new`` to a copy of the array ``x`` in ``dtype`` (Numba's ``astype``
    assigns through its slice assignment: see :func:`assign`)."""
    dt = dtype_name(dtype)
    if ndim == 0:
        return [f"{new} = np.empty((), {dt})", f"{new}[()] = {dt}({x}[()])"]
    return [f"{new} = np.empty({x}.shape, {dt})", assign(new, x, ndim, ndim, ctx, fresh=True)]


def _cblas(ctx) -> bool:
    """Whether products call NumPy's CBLAS (``blas_kernels.py``), imported into the program."""
    from theanine.backend.numba.cblas import numpy_cblas

    if numpy_cblas() is None:
        return False
    ctx.helper("_blas_kernels", "from theanine.backend.numba.blas_kernels import "
                                "dot_vv as _dot_vv, gemm_into as _gemm_into, "
                                "gemv_into as _gemv_into, blas_threads_enter as "
                                "_blas_enter, blas_threads_exit as _blas_exit")
    return True


def _operands(names: list[str], node_inputs, dt, ctx) -> tuple[list[str], list[str]]:
    """Lines naming ``names`` cast to ``dt`` where their dtype differs, and the names."""
    lines, out = [], []
    for n, v in zip(names, node_inputs):
        if v.type.dtype != np.dtype(dt).name:
            t = ctx.fresh()
            lines += cast_into(t, n, v.ndim, dt, ctx)
            n = t
        out.append(n)
    return lines, out


@register(Dot)
def dot(node, ins, outs, ctx):
    dt = node.outputs[0].type.dtype
    if dt not in FLOAT_DTYPES or dt == "float16":
        return None
    x, y = node.inputs
    o, T = outs[0], dtype_name(dt)
    lines = [f"if {ins[0]}.shape[{x.ndim - 1}] != {ins[1]}.shape[0]:",
             "    raise ValueError('dot: shapes are not aligned')"]
    if not _cblas(ctx):
        a, b = _blas_ready(ins, node.inputs, dt)
        if x.ndim == 1 and y.ndim == 1:
            return lines + [f"{o} = np.empty((), {T})", f"{o}[()] = np.dot({a}, {b})"]
        return lines + [f"{o} = np.dot({a}, {b})"]
    cast, (a, b) = _operands(ins, node.inputs, dt, ctx)
    lines += cast
    if x.ndim == 2 and y.ndim == 2:
        return lines + [f"{o} = _gemm_into(np.empty(({a}.shape[0], {b}.shape[1]), {T}), "
                        f"1.0, {a}, {b}, 0.0, {BLAS_THREADS})"]
    if x.ndim == 2:
        return lines + [f"{o} = _gemv_into(np.empty({a}.shape[0], {T}), 1.0, {a}, {b}, 0.0, "
                        f"{BLAS_THREADS})"]
    if y.ndim == 2:  # x @ B is B.T @ x
        return lines + [f"{o} = _gemv_into(np.empty({b}.shape[1], {T}), 1.0, {b}.T, {a}, 0.0, "
                        f"{BLAS_THREADS})"]
    return lines + [f"{o} = np.empty((), {T})", f"{o}[()] = _dot_vv({a}, {b}, {BLAS_THREADS})"]


@register(Gemm, Gemv)
def gemm(node, ins, outs, ctx):
    z, alpha, a, b, beta = ins
    dt = node.outputs[0].type.dtype
    if not _cblas(ctx):
        a_, b_ = _blas_ready([a, b], node.inputs[2:4], dt)
        if node.op.inplace:
            return [f"{z} *= {beta}[()]", f"{z} += {alpha}[()] * np.dot({a_}, {b_})",
                    f"{outs[0]} = {z}"]
        return [f"{outs[0]} = {beta}[()] * {z} + {alpha}[()] * np.dot({a_}, {b_})"]
    into = "_gemm_into" if isinstance(node.op, Gemm) else "_gemv_into"
    o = outs[0]
    if node.op.inplace:
        target = [f"{o} = {z}"]
    else:  # a new output, which beta = 0 leaves unread
        target = [f"{o} = np.empty({z}.shape, {dtype_name(dt)})",
                  f"if {beta}[()] != 0:",
                  "    " + assign(o, z, node.inputs[0].ndim, node.inputs[0].ndim, ctx)]
    return target + [f"{into}({o}, {alpha}[()], {a}, {b}, {beta}[()], {BLAS_THREADS})"]


# -- shapes and views --------------------------------------------------------------------------

@register(DimShuffle)
def dimshuffle(node, ins, outs, ctx):
    op = node.op
    x, o = ins[0], outs[0]
    out = node.outputs[0]
    if op.input_ndim == 0:
        return [f"{o} = np.ascontiguousarray({x}).reshape({_shape_tuple(['1'] * out.ndim)})"]
    if out.ndim == 0:
        return [f"{o} = np.empty((), {dtype_name(out.type.dtype)})",
                f"{o}[()] = {x}[{_idx(['0'] * op.input_ndim)}]"]
    lines, cur = [], x
    if op.drop:
        t = ctx.fresh()
        if len(op.drop) == op.input_ndim:  # (indexing every axis would give a scalar)
            lines.append(f"{t} = np.ascontiguousarray({cur}).reshape(())")
        else:
            keep = ['0' if d in op.drop else ':' for d in range(op.input_ndim)]
            lines.append(f"{t} = {cur}[{_idx(keep)}]")
        cur = t
    perm = op._perm_after_drop
    if perm != tuple(range(len(perm))):
        t = ctx.fresh()
        # (a reversal as ``.T``: Numba's ``transpose(axes)`` permutes through a slice
        # assignment, which compiles a formatted error message)
        lines.append(f"{t} = {cur}.T" if perm == tuple(reversed(range(len(perm)))) else
                     f"{t} = {cur}.transpose({_shape_tuple([str(p) for p in perm])})")
        cur = t
    if op.augment:
        lines.append(f"{o} = {cur}[{_idx(['np.newaxis' if d == 'x' else ':' for d in op.new_order])}]")
    else:
        lines.append(f"{o} = {cur}")
    return lines


@register(Shape)
def shape_op(node, ins, outs, ctx):
    x, o = ins[0], outs[0]
    nd = node.inputs[0].ndim
    return [f"{o} = np.empty({nd}, np.int64)"] + [f"{o}[{d}] = {x}.shape[{d}]"
                                                   for d in range(nd)]


@register(MakeVector)
def make_vector(node, ins, outs, ctx):
    o = outs[0]
    dt = dtype_name(node.op.dtype)
    return [f"{o} = np.empty({len(ins)}, {dt})"] + [f"{o}[{k}] = {dt}({v}[()])"
                                                    for k, v in enumerate(ins)]


@register(Reshape)
def reshape(node, ins, outs, ctx):
    x, s = ins
    o = outs[0]
    nd = node.op.ndim
    if nd == 0:
        return [f"{o} = np.ascontiguousarray({x}).reshape(())"]
    dims = [ctx.fresh("d") for _ in range(nd)]
    known = ctx.fresh("k")
    lines = [f"{dims[d]} = {s}[{d}]" for d in range(nd)]
    lines.append(f"{known} = 1")
    for d in dims:
        lines.append(f"if {d} != -1:")
        lines.append(f"    {known} *= {d}")
    for d in dims:
        lines.append(f"if {d} == -1:")
        lines.append(f"    {d} = {x}.size // {known} if {known} else 0")
    lines.append(f"if {' * '.join(dims)} != {x}.size:")
    lines.append("    raise ValueError('cannot reshape: sizes differ')")
    lines.append(f"{o} = np.ascontiguousarray({x}).reshape({_shape_tuple(dims)})")
    return lines


@register(SpecifyShape, Rebroadcast)
def shape_assertion(node, ins, outs, ctx):
    op = node.op
    x = ins[0]
    lines = []
    checks = (list(enumerate(op.shape)) if hasattr(op, "shape") else
              [(a, 1) for a, b in op.axis_map if b])
    for d, s in checks:
        if s is not None:
            lines.append(f"if {x}.shape[{d}] != {s}:")
            lines.append(f"    raise ValueError('a dimension does not have its declared length')")
    return lines + [f"{outs[0]} = {x}"]


@register(Join)
def join(node, ins, outs, ctx):
    """Each input copied into its slab of the output (Numba's ``np.concatenate`` compiles
    the formatted shape messages of its slice assignments)."""
    out = node.outputs[0]
    nd = out.ndim
    axis = node.op.axis % nd
    first, o = ins[0], outs[0]
    lines = []
    for x in ins[1:]:
        for d in range(nd):
            if d != axis:
                lines += [f"if {x}.shape[{d}] != {first}.shape[{d}]:",
                          "    raise ValueError('join: the inputs differ in a dimension other "
                          "than the axis')"]
    total = " + ".join(f"{x}.shape[{axis}]" for x in ins)
    dims = [total if d == axis else f"{first}.shape[{d}]" for d in range(nd)]
    off = ctx.fresh("off")
    lines += [f"{o} = np.empty({_shape_tuple(dims)}, {dtype_name(out.type.dtype)})", f"{off} = 0"]
    for x in ins:
        slab = ", ".join([":"] * axis + [f"{off}:{off} + {x}.shape[{axis}]"])
        lines += [assign(f"{o}[{slab}]", x, nd, nd, ctx, fresh=True), f"{off} += {x}.shape[{axis}]"]
    return lines


@register(Alloc)
def alloc(node, ins, outs, ctx):
    v, *shape = ins
    out = node.outputs[0]
    value = node.inputs[0]
    dims = [f"{s}[()]" for s in shape]
    pad = out.ndim - value.ndim
    o = outs[0]
    lines = [f"{o} = np.empty({_shape_tuple(dims)}, {dtype_name(out.type.dtype)})"]
    read = []
    for d in range(pad, out.ndim):
        if value.type.broadcastable[d - pad]:
            read.append("0")
            continue
        # a length known at run time: equal to the target's, or 1 (broadcast, as NumPy)
        b = ctx.fresh("_b")
        lines += [f"if {v}.shape[{d - pad}] != {dims[d]} and {v}.shape[{d - pad}] != 1:",
                  "    raise ValueError('alloc: the value does not broadcast to the shape')",
                  f"{b} = 0 if {v}.shape[{d - pad}] == 1 else 1"]
        read.append(f"j{d} * {b}")
    return lines + _loops(dims, [f"{o}[{_idx([f'j{d}' for d in range(out.ndim)])}] = "
                                 f"{v}[{_idx(read)}]"])


# -- indexing ----------------------------------------------------------------------------------

def _basic_index(node, x: str, idx: tuple, vals: list[str], lines: list[str]) -> str:
    parts, it = [], iter(vals)
    for d, entry in enumerate(idx):
        if entry[0] == "i":
            v = next(it)
            lines.append(f"if not -{x}.shape[{d}] <= {v}[()] < {x}.shape[{d}]:")
            lines.append(f"    raise IndexError('index out of bounds for axis {d}')")
            parts.append(f"{v}[()]")
        else:
            comps = ["" if c is None else f"{next(it)}[()]" for c in entry[1:]]
            parts.append(":".join(comps[:2]) + (f":{comps[2]}" if comps[2] else ""))
    return _idx(parts)


@register(Subtensor)
def subtensor(node, ins, outs, ctx):
    x, *vals = ins
    lines: list[str] = []
    index = _basic_index(node, x, node.op.idx, vals, lines)
    out = node.outputs[0]
    if out.ndim == 0:
        return lines + [f"{outs[0]} = np.empty((), {dtype_name(out.type.dtype)})",
                        f"{outs[0]}[()] = {x}[{index}]"]
    return lines + [f"{outs[0]} = {x}[{index}]"]


@register(IncSubtensor)
def inc_subtensor(node, ins, outs, ctx):
    if type(node.op).__name__ != "IncSubtensor":
        return None
    x, y, *vals = ins
    o = outs[0]
    lines = [f"{o} = {x}" if node.op.inplace else f"{o} = {x}.copy()"]
    index = _basic_index(node, x, node.op.idx, vals, lines)
    view_ndim = node.op._view_op().make_node(*node.inputs[:1], *node.inputs[2:]).outputs[0].ndim
    yv = f"{y}[()]" if node.inputs[1].ndim == 0 else y
    op = "=" if node.op.set_instead_of_inc else "+="
    if view_ndim == 0:
        return lines + [f"{o}[{index}] {op} {y}[{_idx(['0'] * node.inputs[1].ndim)}]"]
    t = ctx.fresh("v")
    lines.append(f"{t} = {o}[{index}]")
    if node.inputs[1].ndim == 0:  # (Numba reads no ``t[...]``: ``t += v``, not ``t[...] +=``)
        lines.append(f"{t}[...] = {yv}" if op == "=" else f"{t} += {yv}")
    else:
        lines.append(assign(t, y, view_ndim, node.inputs[1].ndim, ctx, op=op))
    return lines


def _int_vector_index(node) -> int | None:
    """Number of leading integer-vector indices, when that is all the index holds."""
    idx = node.op.idx
    if not idx or any(e != ("a",) for e in idx):
        return None
    arrays = node.inputs[1:] if type(node.op).__name__ == "AdvancedSubtensor" else node.inputs[2:]
    if any(a.ndim != 1 or a.type.dtype == "bool" for a in arrays):
        return None
    return len(idx)


@register(AdvancedSubtensor)
def advanced_subtensor(node, ins, outs, ctx):
    k = _int_vector_index(node)
    if k is None:
        return None
    x, *arrs = ins
    o = outs[0]
    out = node.outputs[0]
    n = arrs[0]
    lines = [f"if {a}.shape[0] != {n}.shape[0]:\n    raise IndexError('index arrays differ "
             f"in length')" for a in arrs[1:]]
    rest = [f"{x}.shape[{d}]" for d in range(k, node.inputs[0].ndim)]
    lines.append(f"{o} = np.empty({_shape_tuple([f'{n}.shape[0]'] + rest)}, "
                 f"{dtype_name(out.type.dtype)})")
    body, sel = _read_indices(x, arrs)
    row = node.inputs[0].ndim - k
    body.append(f"{o}[j0] = {x}[{sel}]" if row == 0
                else assign(f"{o}[j0]", f"{x}[{sel}]", row, row, ctx, fresh=True))
    return lines + _loops([f"{n}.shape[0]"], body)


def _read_indices(x: str, arrs: list[str]) -> tuple[list[str], str]:
    """Loop-body lines reading the j0-th index of each index array, bounds-checked, and
    the selection expression they form."""
    body = []
    for d, a in enumerate(arrs):
        body.append(f"_i{d} = {a}[j0]")
        body.append(f"if not -{x}.shape[{d}] <= _i{d} < {x}.shape[{d}]:")
        body.append(f"    raise IndexError('index out of bounds for axis {d}')")
    return body, ", ".join(f"_i{d}" for d in range(len(arrs)))


@register(AdvancedIncSubtensor)
def advanced_inc_subtensor(node, ins, outs, ctx):
    k = _int_vector_index(node)
    if k is None:
        return None
    x, y, *arrs = ins
    o = outs[0]
    yvar = node.inputs[1]
    sel_ndim = 1 + node.inputs[0].ndim - k
    if yvar.ndim > sel_ndim:
        return None
    n = arrs[0]
    lines = [f"if {a}.shape[0] != {n}.shape[0]:\n    raise IndexError('index arrays differ "
             f"in length')" for a in arrs[1:]]
    lines.append(f"{o} = {x}" if node.op.inplace else f"{o} = {x}.copy()")
    body, sel = _read_indices(x, arrs)
    if yvar.ndim == sel_ndim:  # one value (row) per index, or one broadcast row
        val, val_ndim = f"{y}[{'0' if yvar.type.broadcastable[0] else 'j0 * _b'}]", yvar.ndim - 1
        if not yvar.type.broadcastable[0]:  # a length known only at run time: 1 broadcasts
            lines += [f"if {y}.shape[0] != 1 and {y}.shape[0] != {n}.shape[0]:",
                      "    raise ValueError('the values do not match the number of indices')",
                      f"_b = 0 if {y}.shape[0] == 1 else 1"]
    else:
        val, val_ndim = (f"{y}[()]", 0) if yvar.ndim == 0 else (y, yvar.ndim)
    opr = "=" if node.op.set_instead_of_inc else "+="
    if sel_ndim == 1:
        body.append(f"{o}[{sel}] {opr} {val}")
    else:
        body.append(f"_v = {o}[{sel}]")
        if val_ndim:
            body.append(assign("_v", val, sel_ndim - 1, val_ndim, ctx, op=opr))
        else:
            body.append("_v[...] = " + val if opr == "=" else "_v += " + val)
    return lines + _loops([f"{n}.shape[0]"], body)


# -- softmax family and argmax -------------------------------------------------------------------

def _last_axis(node) -> bool:
    x = node.inputs[0]
    return x.ndim in (1, 2) and node.op.axis in (-1, x.ndim - 1)


_SOFTMAX = f'''
{INTERNAL}
def _softmax_rows{{suffix}}(x, out, log):
    for i in range(x.shape[0]):
        m = {{dt}}(-np.inf)  # (in the row's type: x - m stays float32 for float32 rows)
        for j in range(x.shape[1]):
            if x[i, j] > m:
                m = x[i, j]
        if m == -np.inf:
            m = {{dt}}(0.0)
        row = out[i]
        for j in range(x.shape[1]):
            row[j] = {{exp}}(x[i, j] - m)
        s = _sum_row(row)
        if log:
            ls = np.log(s)
            for j in range(x.shape[1]):
                row[j] = x[i, j] - m - ls
        else:
            for j in range(x.shape[1]):
                row[j] = row[j] / s
    return out
'''
_SOFTMAX_GRAD = f'''
{INTERNAL}
def _softmax_grad_rows(dy, sm, out):
    for i in range(dy.shape[0]):
        s = 0.0
        for j in range(dy.shape[1]):
            s += dy[i, j] * sm[i, j]
        for j in range(dy.shape[1]):
            out[i, j] = (dy[i, j] - s) * sm[i, j]
    return out
'''


def _as_rows(name: str, ndim: int) -> str:
    return f"{name}.reshape((1, {name}.shape[0]))" if ndim == 1 else name


@register(Softmax, LogSoftmax)
def softmax(node, ins, outs, ctx):
    if not _last_axis(node):
        return None
    # the exponentials written into the output (a loop that vectorises, with vmath's
    # exp), then summed by _sum_row
    dtype = node.outputs[0].type.dtype
    suffix = {"float32": "_f32", "float64": "_f64"}.get(dtype, "")
    exp = {"float32": "_vm.exp", "float64": "_vm.exp64"}.get(dtype, "np.exp")
    dt = dtype_name(dtype)
    ctx.helper("_sum_row", _SUM_ROW)
    ctx.helper(f"softmax{suffix}", _SOFTMAX.format(suffix=suffix, exp=exp, dt=dt))
    x = node.inputs[0]
    log = type(node.op).__name__ == "LogSoftmax"
    xr = _as_rows(f"np.ascontiguousarray({ins[0]})", x.ndim)
    o = outs[0]
    return [f"{o} = np.empty({ins[0]}.shape, {dt})",
            f"_softmax_rows{suffix}({xr}, {_as_rows(o, x.ndim)}, {log})"]


@register(SoftmaxGrad)
def softmax_grad(node, ins, outs, ctx):
    if not _last_axis(node):
        return None
    ctx.helper("softmax_grad", _SOFTMAX_GRAD)
    nd = node.inputs[1].ndim
    dt = dtype_name(node.outputs[0].type.dtype)
    o = outs[0]
    dy = _as_rows(f"np.ascontiguousarray({ins[0]})", nd)
    sm = _as_rows(f"np.ascontiguousarray({ins[1]})", nd)
    return [f"{o} = np.empty({ins[1]}.shape, {dt})",
            f"_softmax_grad_rows({dy}, {sm}, {_as_rows(o, nd)})"]


@register(Argmax)
def argmax(node, ins, outs, ctx):
    x = node.inputs[0]
    if x.ndim != 1:
        return None
    fn = "argmax" if node.op.kind == "max" else "argmin"
    return [f"if {ins[0]}.shape[0] == 0:", "    raise ValueError('argmax of an empty sequence')",
            f"{outs[0]} = np.empty((), np.int64)", f"{outs[0]}[()] = np.{fn}({ins[0]})"]


@register(ARange)
def arange(node, ins, outs, ctx):
    start, stop, step = (f"{v}[()]" for v in ins)
    dt = dtype_name(node.outputs[0].type.dtype)
    t = ctx.fresh("t")
    return [f"if {step} == 0:", "    raise ValueError('arange: step must not be zero')",
            f"{t} = np.arange({start}, {stop}, {step})",
            *cast_into(outs[0], t, 1, node.outputs[0].type.dtype, ctx)]


_SLICE_LENGTH = f'''
{INTERNAL}
def _slice_length(n, start, stop, step):
    none = -(2 ** 62)
    if step == none:
        step = 1
    if step > 0:
        lo = 0 if start == none else (start + n if start < 0 else start)
        hi = n if stop == none else (stop + n if stop < 0 else stop)
        lo = min(max(lo, 0), n)
        hi = min(max(hi, 0), n)
        return max(0, (hi - lo + step - 1) // step)
    lo = n - 1 if start == none else (start + n if start < 0 else start)
    hi = -1 if stop == none else (stop + n if stop < 0 else stop)
    lo = min(max(lo, -1), n - 1)
    hi = min(max(hi, -1), n - 1)
    return max(0, (lo - hi - step - 1) // (-step))
'''


@register(SliceLength)
def slice_length(node, ins, outs, ctx):
    ctx.helper("_slice_length", _SLICE_LENGTH)
    return [f"{outs[0]} = np.empty((), np.int64)",
            f"{outs[0]}[()] = _slice_length({', '.join(f'{v}[()]' for v in ins)})"]


def _scalar_view(expr: str, dtype, ndim: int, ctx) -> tuple[list[str], str]:
    """``expr`` as an array: 0-d values are boxed into a fresh 0-d array."""
    if ndim:
        return [], expr
    t = ctx.fresh("s")
    return [f"{t} = np.empty((), {dtype_name(dtype)})", f"{t}[()] = {expr}"], t


# inline: a kernel around the loop would be one more level of linking (Numba optimises
# and emits a callee's code again in each caller; W4's compile: 21-25 -> 18-21 s)
@register(Scan, inline=True)
def scan(node, ins, outs, ctx):
    """The loop of a Scan, with its step as a native function (a helper)."""
    from theanine.backend.numba.linker import generate_function

    op = node.op
    info = op.info
    inner_fn = op._compiled()
    inner_fg = inner_fn.maker.fgraph
    if hasattr(inner_fn._run, "enclosing"):
        ctx.enclosed.append(inner_fn._run)
    lines_inner, _, unsupported = generate_function(inner_fg, "scan_step", ctx,
                                                    constants_as_args=False)
    if unsupported:
        return None
    # named by its text: the same step in another program (a test function's) is the
    # same helper, compiled once
    text = "\n".join(lines_inner)
    inner = f"scan_step_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    ctx.helper(inner, text.replace("def scan_step(", f"def {inner}(", 1))
    S, R, K = info.n_seqs, info.n_rec, info.n_nitsot
    n_steps, *rest = ins
    seqs, inits, nonseqs = rest[:S], rest[S:S + R], rest[S + R:]
    last_only = info.last_only or (False,) * R
    n = ctx.fresh("n")
    lines = [f"{n} = {n_steps}[()]"]
    if info.check_lengths:
        lines += [f"if {n} == 0:", "    raise ValueError('scan: the sequences are empty')"]
    for s in seqs:
        cmp = "!=" if info.check_lengths else "<"
        lines += [f"if {s}.shape[0] {cmp} {n}:",
                  "    raise ValueError('scan: a sequence does not have the number of steps')"]
    bufs, sizes = [], []
    for j, init in enumerate(inits):
        lb = info.lookback[j]
        b, size = ctx.fresh("buf"), ctx.fresh("size")
        dt = dtype_name(node.inputs[1 + S + j].type.dtype)
        lines += [f"{size} = {lb + 1} if {last_only[j]} else {lb} + {n}",
                  f"if {init}.shape[0] < {lb}:",
                  "    raise ValueError('scan: not enough initial values for the taps')",
                  f"{b} = np.empty(({size},) + {init}.shape[1:], {dt})",
                  assign(f"{b}[:{lb}]", f"{init}[{init}.shape[0] - {lb}:]",
                         node.inputs[1 + S + j].ndim, node.inputs[1 + S + j].ndim, ctx)]
        bufs.append(b)
        sizes.append(size)
    nits = []
    for k in range(K):
        o = node.outputs[R + k]
        t = ctx.fresh("nit")
        lines.append(f"{t} = np.empty({_shape_tuple(['0'] * o.ndim)}, {dtype_name(o.type.dtype)})")
        nits.append(t)
    done = ctx.fresh("done")
    lines.append(f"{done} = {n}")
    body: list[str] = []
    call_args = []
    seq_in, tap_in, _ = op.inner_groups()
    # a step's sequence rows as C arrays (the rows of a reversed sequence are contiguous,
    # typed 'A'): its kernels get the types they have in the step compiled on its own, so
    # they compile once, and their loops vectorise (W4's backward step: 11.4 -> 10.3 us)
    for s, v in zip(seqs, seq_in):
        pre, name = _scalar_view(f"{s}[t]", v.type.dtype, v.ndim, ctx)
        body += pre
        call_args.append(f"_c({name})" if v.ndim else name)
    for j in range(R):
        lb = info.lookback[j]
        for tap, v in zip(info.taps[j], tap_in[j]):
            pre, name = _scalar_view(f"{bufs[j]}[({lb} + t + {tap}) % {sizes[j]}]",
                                     v.type.dtype, v.ndim, ctx)
            body += pre
            call_args.append(name)
    call_args += nonseqs
    r = ctx.fresh("r")
    body.append(f"{r} = {inner}({', '.join(call_args + [BLAS_THREADS])})")
    for j in range(R):
        slot, nd = f"{bufs[j]}[({info.lookback[j]} + t) % {sizes[j]}]", op.inner_outputs[j].ndim
        body.append(f"{slot} = {r}[{j}][()]" if nd == 0 else assign(slot, f"{r}[{j}]", nd, nd, ctx))
    for k in range(K):
        inner_out = op.inner_outputs[R + k]
        dt = dtype_name(node.outputs[R + k].type.dtype)
        body += [f"if t == 0:", f"    {nits[k]} = np.empty(({n},) + {r}[{R + k}].shape, {dt})"]
        nd = inner_out.ndim
        body.append(f"{nits[k]}[t] = {r}[{R + k}][()]" if nd == 0
                    else assign(f"{nits[k]}[t]", f"{r}[{R + k}]", nd, nd, ctx))
    if info.until:
        body += [f"if {r}[{R + K}][()]:", f"    {done} = t + 1", "    break"]
    lines += ["for t in range(" + n + "):"] + ["    " + b for b in body]
    for j in range(R):
        lb = info.lookback[j]
        if last_only[j]:
            k = ctx.fresh("k")
            lines += [f"{k} = ({lb} + {done} - 1) % {sizes[j]}",
                      f"{outs[j]} = {bufs[j]}[{k}:{k} + 1].copy()"]
        else:
            lines.append(f"{outs[j]} = {bufs[j]}[{lb}:{lb} + {done}]")
    for k in range(K):
        lines.append(f"{outs[R + k]} = {nits[k]}[:{done}]")
    return lines


_SUM_ROW = f"""{INTERNAL[:-1]}, fastmath={{'reassoc'}})
def _sum_row(r):
    s = 0.0
    for i in range(r.shape[0]):
        s += np.float64(r[i])
    return s"""
SUM_BLOCK = 4096  # elements summed at once, from a buffer that stays in L1


def _blocked_sum(ew, ins, out: str, out_dtype, ctx) -> list[str] | None:
    """The sum of a float element-wise expression, its innermost axis cut into blocks:
    each block is computed into a small buffer by a loop LLVM vectorises (no reduction
    in it, so no reassociation of the math) and summed in float64 by ``_sum_row``. The
    block loop reads row slices from index 0 (an index ``b + k`` makes Numba's negative
    index check, and LLVM's loads gathers).

    The sum over a range ``lo:hi`` of the outermost axis is a ``nogil`` function of its
    own; large compute-bound sums split that axis across the cores, in threads
    (``callbacks.parallel_sum``), as ``FusedSum.perform`` does with NumPy's kernels."""
    nd = ew.outputs[0].ndim
    if nd == 0:
        return None
    last = nd - 1
    params = [f"p{i}" for i in range(len(ins))]
    rows, reads = [], []
    for name, var in zip(params, ew.inputs):
        outer = ["0" if bc else f"j{d}" for d, bc in enumerate(var.type.broadcastable[:-1])]
        if var.type.broadcastable[last]:
            reads.append(f"{name}[{_idx(outer + ['0'])}]")
            continue
        rows.append(f"row{len(rows)} = {name}[{', '.join(outer + ['b:b + m'])}]")
        reads.append(f"row{len(rows) - 1}[k]")
    body = _scalar_program(ew, reads, ew.outputs[0].type.dtype)
    if body is None:
        return None
    # the range function: total of lo:hi of the outermost axis
    fshape = _broadcast_shape(ew, params, [])
    start, stop = ("lo", "hi") if nd == 1 else ("0", fshape[last])
    block = [f"m = min({SUM_BLOCK}, {stop} - b)"] + rows + ["for k in range(m):"]
    dt = dtype_name(ew.outputs[0].type.dtype)
    block += ["    " + x for x in body] + [f"    buf[k] = {dt}(_r)",
                                            "total += _sum_row(buf[:m])"]
    loops = [f"for b in range({start}, {stop}, {SUM_BLOCK}):"] + ["    " + x for x in block]
    if nd > 1:
        loops = _loops(fshape[1:-1], loops, dims=list(range(1, last)))
        loops = ["for j0 in range(lo, hi):"] + ["    " + x for x in loops]
    fn = ["total = 0.0", f"buf = np.empty({SUM_BLOCK}, {dt})"] + loops + ["return total"]
    source = "\n".join([f"{ENTRY[:-1]}, nogil=True)", f"def _psum({', '.join(params)}, lo, hi):"]
                       + ["    " + x for x in fn])
    name = f"_psum_{hashlib.sha256(source.encode()).hexdigest()[:16]}"
    ctx.helper("_sum_row", _SUM_ROW)
    ctx.helper(name, source.replace("def _psum(", f"def {name}(", 1))
    # the call: split across the cores from openmp_elemwise_minsize elements
    lines: list[str] = []
    shape = _broadcast_shape(ew, ins, lines)
    acc, args, size = ctx.fresh("acc"), ", ".join(ins), shape[0]
    serial = f"{acc} = {name}({args}, 0, {size})"
    if _splits(ew):
        ctx.helper("_py_parallel_sum",
                   "from theanine.backend.numba.callbacks import parallel_sum as _py_parallel_sum")
        par, elements = f"_par{name}", " * ".join(shape)
        ctx.helper(par, "\n".join([
            INTERNAL, f"def {par}({', '.join(params)}, n, elements):",
            "    with numba.objmode(s='float64'):",
            f"        s = _py_parallel_sum({name}, n, {SUM_BLOCK if nd == 1 else 1}, elements, "
            f"{', '.join(params)})",
            "    return s"]))
        lines += [f"if {elements} >= {config.openmp_elemwise_minsize}:",
                  f"    {acc} = {par}({args}, {size}, {elements})", "else:", "    " + serial]
    else:
        lines.append(serial)
    dt = dtype_name(out_dtype)
    return lines + [f"{out} = np.empty((), {dt})", f"{out}[()] = {dt}({acc})"]


def _splits(ew) -> bool:
    """Whether large sums of ``ew`` are split across the cores (compute-bound math)."""
    return config.openmp and any(op.name in COMPUTE_BOUND for op, _ in _steps(ew))


@register(FusedSum)
def fused_sum(node, ins, outs, ctx):
    """Math that vectorises (float32, float64): the blocked sum, at every size. Otherwise, small
    inputs: the element-wise loop nest, then the sum; large ones: NumPy's kernels block
    by block on every core, summed in cache (``FusedSum.perform``)."""
    ew = node.op.elemwise_node(node.inputs)
    if ew.outputs[0].type.dtype in ("float32", "float64") and not _needs_numpy_math(ew):
        code = _blocked_sum(ew, ins, outs[0], node.outputs[0].type.dtype, ctx)
        if code is not None:
            return code
    red = Reduce("sum", tuple(range(ew.outputs[0].ndim))).make_node(ew.outputs[0])
    tmp = ctx.fresh("v")
    small = elemwise(ew, ins, [tmp], ctx)
    rest = reduce(red, [tmp], outs, ctx) if small is not None else None
    big = python_node(node, ins, outs, ctx)
    if small is None or rest is None or big is None:
        return None
    sizes = ", ".join(f"{v}.size" for v in ins)
    cond = f"max({sizes}, 0) >= {LARGE}" if len(ins) > 1 else f"{ins[0]}.size >= {LARGE}"
    return ([f"if {cond}:"] + ["    " + x for c in big for x in c.split("\n")] + ["else:"]
            + ["    " + x for c in small + rest for x in c.split("\n")])


_SQ_ACC = f"""{INTERNAL[:-1]}, fastmath={{'reassoc'}})
def _sq_acc(acc, v):
    v = np.float64(v)
    return acc + v * v"""


@register(ElemwiseSumSquares)
def elemwise_sum_squares(node, ins, outs, ctx):
    """The element-wise loop nest, each element of ``x`` squared and summed just before
    the element is computed (and, in place, overwritten), into one float64 total per
    innermost row. Only that sum may be reassociated: ``_sq_acc`` is compiled with
    ``fastmath={'reassoc'}``, a flag its add keeps once inlined, so the loop vectorises
    while the element-wise values are computed exactly as by :func:`elemwise`. (W4's
    embedding update, 8,219 x 200 float64: 140 against 195 us with each row summed by a
    loop of its own before the loop over it.)"""
    ew = node.op.elemwise_node(node.inputs)
    nd = ew.outputs[0].ndim
    o, total = outs
    parts = _elemwise_parts(ew, ins, o)
    if parts is None:
        return None
    lines, shape, alloc, body = parts
    ctx.helper("_sq_acc", _SQ_ACC)
    x = ins[node.op.k]  # the in-place target: it has the output's shape
    acc, row = ctx.fresh("acc"), ctx.fresh("racc")
    element = f"{x}[{_idx([f'j{d}' for d in range(nd)])}]"
    inner = _loops(shape[-1:], [f"{row} = _sq_acc({row}, {element})"] + body, dims=[nd - 1])
    lines += [alloc, f"{acc} = 0.0"]
    lines += _loops(shape[:-1], [f"{row} = 0.0"] + inner + [f"{acc} += {row}"],
                    dims=list(range(nd - 1)))
    dt = dtype_name(node.outputs[1].type.dtype)
    return lines + [f"{total} = np.empty((), {dt})", f"{total}[()] = {dt}({acc})"]


def python_node(node, ins, outs, ctx):
    """A node without a native kernel, run by its NumPy ``perform`` from the native program
    (``numba.objmode``): the program stays whole, with a Python island."""
    from theanine.tensor.type import TensorType

    if not all(isinstance(v.type, TensorType) and v.type.dtype != "float16"
               for v in node.inputs + node.outputs):
        return None  # Numba has no float16 arrays: the function stays on the VM
    key = _register_perform(node)
    ctx.helper("_py_call", "from theanine.backend.numba.callbacks import call as _py_call")
    anns = []
    for k, o in enumerate(node.outputs):
        tname = f"_T_{key}_{k}"
        dt = "bool_" if o.type.dtype == "bool" else o.type.dtype
        ctx.helper(tname, f"{tname} = numba.types.Array(numba.{dt}, {o.ndim}, 'A')")
        anns.append(f"r{k}={tname}")
    params = [f"p{k}" for k in range(len(ins))]
    rets = [f"r{k}" for k in range(len(outs))]
    ctx.helper(f"_perform_{key}", "\n".join([
        INTERNAL,
        f"def _perform_{key}({', '.join(params)}):",
        f"    with numba.objmode({', '.join(anns)}):",
        f"        {', '.join(rets)}{',' if len(rets) == 1 else ''} = _py_call('{key}', "
        f"{', '.join(params)})",
        f"    return ({', '.join(rets)},)"]))
    r = ctx.fresh("py")
    return [f"{r} = _perform_{key}({', '.join(ins)})"] + [f"{o} = {r}[{k}]"
                                                          for k, o in enumerate(outs)]


_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.generic, np.dtype)


def _stable(value) -> str | None:
    """A description of an op (or one of its properties) that is the same in every
    process, or None: an op is described by its class and ``__props__``."""
    if isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, (tuple, list)):
        parts = [_stable(v) for v in value]
        return None if None in parts else f"({','.join(parts)})"
    props = getattr(type(value), "__props__", None)
    if props is None:
        return None
    parts = [_stable(getattr(value, p, None)) for p in props]
    return None if None in parts else \
        f"{type(value).__module__}.{type(value).__qualname__}({','.join(parts)})"


def _register_perform(node) -> str:
    """The key of ``node``'s perform in the callback registry. An op whose properties are
    not plain values (an inner graph: MapIndex) gets a key of its own, valid in this
    process only (two such ops print alike, and must not share one)."""
    from theanine.backend.numba.callbacks import REGISTRY

    desc = _stable(node.op)
    if desc is None:
        desc = node.op.__dict__.get("_perform_token")
        if desc is None:
            desc = node.op.__dict__["_perform_token"] = uuid.uuid4().hex
    key = hashlib.sha256(f"perform|{desc}|{[i.type for i in node.inputs]}|"
                         f"{[o.type for o in node.outputs]}".encode()).hexdigest()[:16]
    if key not in REGISTRY:
        def run(*inputs, _node=node):
            storage = [[None] for _ in _node.outputs]
            _node.op.perform(_node, list(inputs), storage)
            return tuple(np.asarray(c[0], dtype=o.type.numpy_dtype)
                         for c, o in zip(storage, _node.outputs))
        REGISTRY[key] = run
    return key


from theanine.backend.numba import random as _random  # noqa: E402,F401 - registers its kernels
