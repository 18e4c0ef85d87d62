"""The Numba linker: a whole FunctionGraph becomes one generated, Numba-compiled program.

The program's source is generated from the kernels of ``kernels.py``, written to the
compile cache (``config.compiledir``) under a hash of its text and of the Python, NumPy
and Numba versions, and compiled with ``numba.njit(cache=True)``, so a second run of a
script loads machine code from disk. Its helper functions (kernels, scan steps) are
modules of their own named by their text (:class:`Source`), compiled once for every
program that uses them. A function never waits for Numba: it runs on the
NumPy VM until its native program is ready: once the function is hot, a child process
compiles it into the cache and the function loads it from there (``numba_compile=
'background'``, the default: see ``background.py`` for the queue and its order; ``'thread'`` compiles in a thread of this process, which
holds the GIL; ``'blocking'`` compiles at once). If the native
program raises, the call is re-run on the VM, whose error names the failing node.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
import warnings
import weakref
from typing import Any

import numpy as np

from theanine.backend.numba.background import BLAS_CAP, QUEUE
from theanine.backend.numba.optlevel import opt_level
from theanine.backend.schedule import lazy_schedule
from theanine.backend.vm import VM
from theanine.config import config
from theanine.graph.basic import Constant
from theanine.graph.fg import FunctionGraph

_LOCK = threading.Lock()
PROFILE = "_prof"  # a profiled program's per-node nanoseconds (its last argument but one)
_INLINE_CONSTANT_SIZE = 4096  # constants up to this many elements are compiled in
# Numba's compile time grows faster than a function's length (W7 with 40 layers, a body
# of 419 nodes: 56 s in one function, 24 s cut every 48 nodes), but each cut costs too:
# a callee's code is linked, optimised and emitted again in its caller (W4, 76 nodes:
# 14.5 s in one function, 17.4 s in two; W7's 220 nodes take 12 s either way). A body
# longer than SEGMENT_MIN nodes is cut into functions of SEGMENT_NODES nodes.
SEGMENT_NODES = 48
SEGMENT_MIN = 160
_MODULES: dict[str, Any] = {}  # source hash -> loaded module (one compile per process)
def numba_version() -> str | None:
    """Numba's version, read from its installed metadata without importing it (nor
    ``importlib.metadata``, 25 ms of a cold start)."""
    import importlib.util

    spec = importlib.util.find_spec("numba")
    if spec is None or spec.origin is None:
        return None
    site = os.path.dirname(os.path.dirname(spec.origin))
    for entry in os.listdir(site):
        if entry.startswith("numba-") and entry.endswith((".dist-info", ".egg-info")):
            return entry[len("numba-"):].rsplit(".", 1)[0]
    from importlib.metadata import version  # an unusual layout

    return version("numba")


def cache_dir() -> str:
    """The folder of generated programs for this Python, NumPy and Numba, and for the
    optimisation level they are compiled at (``config.numba_opt``)."""
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    return os.path.join(config.compiledir, f"numba-{py}-np{np.__version__}-nb{numba_version()}"
                                           f"-O{config.numba_opt}")


_RUNTIME = ("vmath", "layout", "blas_kernels", "cblas", "callbacks", "random", "timing")


@functools.cache
def runtime_hash() -> str:
    """A hash of the modules generated programs call: Numba's cache of a program checks
    only the program's own file, and a program inlines these modules' functions, so
    their text is part of the program's text (and of its cache key)."""
    h = hashlib.sha256()
    for name in _RUNTIME:
        with open(os.path.join(os.path.dirname(__file__), f"{name}.py"), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def generate_function(fgraph: FunctionGraph, name: str, ctx: Any,
                      constants_as_args: bool = True, timed: list | None = None,
                      entry: bool = False, written_back: dict | None = None
                      ) -> tuple[list[str], list, list[str]]:
    """Lines of a njit function computing ``fgraph``'s outputs from its inputs.

    Constants become extra arguments (``constants_as_args``) or module globals (for inner
    programs called from a loop). With ``timed`` (a list, filled with the top-level nodes
    in program order), the function takes one more argument before the BLAS record,
    ``_prof`` (int64, one entry per node), and adds each node's nanoseconds to its entry.
    ``entry``: the program's entry point, called from Python with arrays of any layout,
    which its body sees C-typed (layout.py), and which sets BLAS's thread count
    (blas_kernels.py). ``written_back`` (entry only): output index -> input index of the
    updates computed in their own input's buffer (:func:`written_in_place`), which the
    entry does not return but leaves in that input (copied back when the body worked on a
    contiguous copy of it). Returns ``(lines, constants, unsupported ops)``.
    """
    from theanine.backend.numba.kernels import (BLAS_THREADS, ENTRY, INTERNAL, assign, generator_for,
                                                python_node)

    names: dict = {}
    args = []
    for k, v in enumerate(fgraph.inputs):
        names[v] = f"a{k}"
        args.append(names[v])
    constants: list = []
    body: list[str] = []
    unsupported: list[str] = []
    python_nodes: list[str] = ctx.python_nodes

    def constant_name(v: Constant) -> str:
        # small constants are compiled into the program (no argument to pass per call);
        # large ones are passed (the cache would hold a copy of their data)
        if constants_as_args and v.data.size > _INLINE_CONSTANT_SIZE:
            names[v] = f"c{len(constants)}"
            args.append(names[v])
            constants.append(v.data)
        else:
            data = np.array(v.data, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
            key = hashlib.sha256(data.tobytes() + repr((data.dtype, data.shape)).encode())
            gname = f"_const_{key.hexdigest()[:16]}"  # the same name in every kernel
            ctx.helper(gname, f"{gname} = np.frombuffer(bytes.fromhex('{data.tobytes().hex()}'), "
                              f"dtype=np.{data.dtype.name}).reshape({data.shape!r}).copy()")
            names[v] = gname
        return names[v]

    sched = lazy_schedule(fgraph)

    def emit(nodes: list) -> list[str]:
        lines: list[str] = []
        for node in nodes:
            for v in node.inputs[:1] if node in sched.branches else node.inputs:
                if v not in names:
                    if not isinstance(v, Constant):  # pragma: no cover - named above
                        raise ValueError(f"unnamed variable {v}")
                    constant_name(v)
            outs = [ctx.fresh("v") for _ in node.outputs]
            lines.append(f"# {node.op}")
            if node in sched.branches:  # only the branch taken runs
                n = len(outs)
                for b, seg in enumerate(sched.branches[node]):
                    lines.append(f"if {names[node.inputs[0]]}[()]:" if b == 0 else "else:")
                    inner = emit(seg)
                    vals = node.inputs[1 + b * n:1 + (b + 1) * n]
                    for v in vals:
                        if v not in names:
                            constant_name(v)
                    inner += [f"{o} = {names[v]}" for o, v in zip(outs, vals)]
                    lines += ["    " + line for line in inner]
                names.update(zip(node.outputs, outs))
                continue
            gen = generator_for(node.op)
            ins = [names[v] for v in node.inputs]
            code = kernel_call(gen, node, ins, outs, ctx) if gen else None
            if code is None and gen is not None:
                code = gen(node, ins, outs, ctx)
            names.update(zip(node.outputs, outs))
            if code is None:
                code = python_node(node, ins, outs, ctx)
                python_nodes.append(str(node.op))
            if code is None:
                unsupported.append(str(node.op))
                continue
            lines.extend(line for c in code for line in c.split("\n"))
        return lines

    def run(nodes: list) -> list[str]:
        if timed is None:
            return emit(nodes)
        lines = ["_pt = np.empty(2, np.int64)", "_t0 = _now(_pt)"]
        for node in nodes:
            lines += emit([node])
            lines.append(f"_t1 = _now(_pt); {PROFILE}[{len(timed)}] += _t1 - _t0; _t0 = _t1")
            timed.append(node)
        return lines

    last = [BLAS_THREADS] if timed is None else [PROFILE, BLAS_THREADS]
    main = sched.main
    if len(main) <= max(SEGMENT_MIN, SEGMENT_NODES):
        body = run(main)
    else:  # the body cut into functions of SEGMENT_NODES nodes, called in turn
        chunks = [main[i:i + SEGMENT_NODES] for i in range(0, len(main), SEGMENT_NODES)]
        read_after: list[set] = [set(fgraph.outputs)]  # by the chunks after chunk k
        for chunk in reversed(chunks[1:]):
            read_after.append(read_after[-1] | {v for n in chunk for v in sched.reads(n)})
        read_after.reverse()
        earlier: set = set()  # the results of earlier chunks
        body = []
        for chunk, later in zip(chunks, read_after):
            seg_body = run(chunk)  # (names constants first read here, arguments included)
            seg_in = list(dict.fromkeys(names[v] for n in chunk for v in sched.reads(n)
                                        if names[v] in earlier or names[v] in args))
            seg_out = list(dict.fromkeys(names[v] for n in chunk for v in n.outputs
                                         if v in later))
            earlier.update(seg_out)
            seg = ctx.unique("_segment")
            ctx.helper(seg, "\n".join(
                [INTERNAL, f"def {seg}({', '.join(seg_in + last)}):"]
                + ["    " + line for line in seg_body]
                + [f"    return ({', '.join(seg_out)}{',' if len(seg_out) == 1 else ''})"]))
            call = f"{seg}({', '.join(seg_in + last)})"
            body.append(f"{', '.join(seg_out)}{',' if len(seg_out) == 1 else ''} = {call}"
                        if seg_out else call)
    for v in fgraph.outputs:
        if v not in names and isinstance(v, Constant):
            constant_name(v)
    written_back = written_back or {}
    returned = [v for k, v in enumerate(fgraph.outputs) if k not in written_back]
    scalar = {p for p, _ in scalar_returns(returned)} if entry else set()
    rets = [names[v] + ("[()]" if p in scalar else "") for p, v in enumerate(returned)]
    ret = f"return ({', '.join(rets)}{',' if len(rets) == 1 else ''})"
    if not entry:
        lines = [INTERNAL, f"def {name}({', '.join(args + last)}):"]
        return lines + ["    " + line for line in body] + ["    " + ret], constants, unsupported
    # one function, not an entry calling the body: Numba links and optimises a callee
    # again in each caller (W4: 3.7 s of a 22 s compile)
    head = [f"{a} = _c(_{a})" for a in args]
    for o, i in sorted(written_back.items()):  # (updated in a contiguous copy of _a<i>)
        v, nd = names[fgraph.outputs[o]], fgraph.outputs[o].ndim
        body += [f"if _a{i}.ctypes.data != {v}.ctypes.data:",
                 "    " + assign(f"_a{i}", v, nd, nd, ctx)]
    if "_blas_kernels" in ctx.helpers:
        head.append(f"_blas_enter({BLAS_THREADS})")
        body.append(f"_blas_exit({BLAS_THREADS})")
    lines = [ENTRY, f"def {name}({', '.join([f'_{a}' for a in args] + last)}):"]
    return (lines + ["    " + line for line in head + body] + ["    " + ret], constants,
            unsupported)


# (not float16: Numba has no Python object for it)
_SCALAR_RETURNS = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                   "uint64", "float32", "float64", "complex64", "complex128"}


def scalar_returns(returned: list) -> list[tuple[int, np.dtype]]:
    """The 0-d tensors among ``returned`` (the outputs the entry returns), which it returns
    as scalars: (position in ``returned``, dtype). Returning a 0-d array from Numba costs
    about 0.39 us more than returning its value (0.53 against 0.14 us for a whole call,
    measured by hand), and ``np.array(value, dtype)`` takes 0.11 us; the conversion is
    exact (a float32 leaves as a Python float)."""
    from theanine.tensor.type import TensorType

    return [(p, np.dtype(v.type.dtype)) for p, v in enumerate(returned)
            if isinstance(v.type, TensorType) and v.type.ndim == 0
            and v.type.dtype in _SCALAR_RETURNS]


def _reboxed(res: tuple, scalars: list) -> list:
    """The program's results with the scalars it returned (:func:`scalar_returns`) as the
    0-d arrays the function returns."""
    res = list(res)
    for p, dt in scalars:
        res[p] = np.array(res[p], dt)
    return res


def written_in_place(fgraph: FunctionGraph) -> dict[int, int]:
    """The updates whose value is their shared variable's own buffer, overwritten in
    place (a chain of destroy maps back to it, or no change at all): output index ->
    input index. A native program need not return them (boxing an array costs about
    0.3 us a call), nor the function store them."""
    found = {}
    for out_idx, in_idx in fgraph.update_mapping.items():
        v, own = fgraph.outputs[out_idx], fgraph.inputs[in_idx]
        while v is not own and v.owner is not None and v.owner.op.destroy_map.get(v.index):
            v = v.owner.inputs[v.owner.op.destroy_map[v.index][0]]
        if v is own:
            found[out_idx] = in_idx
    return found


def kernel_call(gen, node, ins: list[str], outs: list[str], ctx: Any) -> list[str] | None:
    """A node whose code loops becomes a call of a kernel function of its own, named by
    a hash of its source: identical kernels (the layers of a deep network, a scan step
    and its recomputation in the gradient) are compiled once per program, and Numba
    types each small function instead of one program-sized body. None: keep it inline."""
    from theanine.backend.numba.kernels import BLAS_THREADS, INTERNAL

    if gen.inline:
        return None
    params = [f"p{k}" for k in range(len(ins))]
    rets = [f"r{k}" for k in range(len(outs))]
    code = gen(node, params, rets, ctx.local())
    if code is None:
        return None
    body = [line for c in code for line in c.split("\n")]
    if not any(line.lstrip().startswith(("for ", "while ")) for line in body):
        return None
    ret = rets[0] if len(rets) == 1 else ", ".join(rets)
    source = "\n".join(["    " + line for line in body] + [f"    return {ret}"])
    name = f"_kernel_{hashlib.sha256(source.encode()).hexdigest()[:16]}"
    ctx.helper(name, "\n".join([
        INTERNAL,
        f"def {name}({', '.join(params + [BLAS_THREADS])}):", source]))
    return [f"{', '.join(outs)} = {name}({', '.join(ins + [BLAS_THREADS])})"]


def build_source(fgraph: FunctionGraph, timed: list | None = None,
                 written_back: dict | None = None
                 ) -> tuple["Source | None", list, list[str], list[str], list]:
    """Generate the program's module source (timing each node into ``_prof`` when given
    ``timed``, leaving the updates ``written_back`` in their inputs: see
    :func:`generate_function`).

    Returns ``(source, constants, unsupported, python_nodes, enclosed)``: ``python_nodes``
    run their NumPy implementation from the program (objmode); source is None when some
    node can run in neither way (``unsupported`` names their ops); ``enclosed`` are the
    runners of the inner functions (scan steps) the program contains.
    """
    from theanine.backend.numba.kernels import Context

    ctx = Context()
    lines, constants, unsupported = generate_function(fgraph, "program", ctx, timed=timed,
                                                      entry=True, written_back=written_back)
    python_nodes = list(ctx.python_nodes)
    if unsupported:
        return None, constants, unsupported, python_nodes, []
    return Source(ctx.helpers, lines), constants, [], python_nodes, ctx.enclosed


_HEADER = ["import math", "import numba", "import numpy as np",
           "from theanine.backend.numba import vmath as _vm",
           "from theanine.backend.numba.layout import c_contiguous as _c",
           "from theanine.backend.numba.linker import helper_module as _hm"]
_TIMING = "from theanine.backend.numba.timing import now_ns as _now"


class Source:
    """A generated program as module texts: each compiled helper function (kernels, scan
    steps, segments, loops) in a module of its own named by a hash of its text, so every
    program using it shares one compiled copy, in a process and in the on-disk cache (W4's
    test function reuses the training function's kernels), then the program's module.

    A module imports the helper functions it calls from their modules and repeats the
    import lines and constants it reads. ``str(source)`` is every text, for reading.
    """

    def __init__(self, helpers: dict[str, str], program: list[str]) -> None:
        self.helpers = dict(helpers)
        self.program = list(program)

    @functools.cached_property
    def modules(self) -> list[tuple[str, str]]:
        """``(file stem, text)`` of each module, the program's last (made when first
        needed: off the first call's path, in the compiling thread)."""
        return self._split()

    @functools.cached_property
    def key(self) -> str:
        """The program module's hash."""
        return self.modules[-1][0].rsplit("_", 1)[1]

    def _split(self) -> list[tuple[str, str]]:
        import ast

        helpers, program = self.helpers, self.program
        mods: list[tuple[str, str]] = []
        owner, uses, compiled = {}, {}, {}
        for name, text in helpers.items():
            tree = ast.parse(text)
            names: set[str] = set()
            for st in tree.body:
                if isinstance(st, ast.FunctionDef):
                    names.add(st.name)
                elif isinstance(st, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in st.names)
                elif isinstance(st, ast.Assign):
                    names.update(t.id for t in st.targets if isinstance(t, ast.Name))
            compiled[name] = any(isinstance(st, ast.FunctionDef) for st in tree.body)
            uses[name] = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - names
            for n in names:
                owner[n] = name
        keys: dict[str, str] = {}

        def module(used: set[str], body: str, stem: str) -> str:
            seen: set[str] = set()
            todo = [owner[n] for n in sorted(used) if n in owner]
            while todo:  # the plain lines read, and the plain lines those read
                h = todo.pop()
                if h in seen or compiled[h]:
                    continue
                seen.add(h)
                todo += [owner[n] for n in sorted(uses[h]) if n in owner]
            calls = [(n, key_of(owner[n])) for n in sorted(used)
                     if n in owner and compiled[owner[n]]]
            imports = [f"{n} = _hm(__file__, {k!r}).{n}" for n, k in calls]
            deps = sorted({k for _, k in calls})
            text = "\n".join([f"# runtime {runtime_hash()}"] + _HEADER
                             + ([_TIMING] if "_now" in used else [])
                             + [helpers[h] for h in helpers if h in seen] + imports
                             + [f"_DEPS = {tuple(deps)!r}", "", body]) + "\n"
            key = hashlib.sha256(text.encode()).hexdigest()[:24]
            mods.append((f"{stem}_{key}", text))
            return key

        def key_of(h: str) -> str:
            if h not in keys:
                keys[h] = module(uses[h], helpers[h], "helper")
            return keys[h]

        body = "\n".join(program)
        used = {n.id for n in ast.walk(ast.parse(body)) if isinstance(n, ast.Name)}
        module(used, body, "program")
        return mods

    def __str__(self) -> str:
        return "\n".join(text for _, text in self.modules)

    def count(self, sub: str) -> int:
        """Occurrences of ``sub`` in every text."""
        return str(self).count(sub)

    def __contains__(self, sub: str) -> bool:
        return sub in str(self)


def load_program(source: Source, folder: str | None = None) -> Any:
    """Write the modules of ``source`` to the cache (``folder``, by default
    :func:`cache_dir`) atomically, each unless it is there already (a corrupt file is
    rewritten), and import the program's."""
    with _LOCK:
        if source.key in _MODULES:
            return _MODULES[source.key]
    folder = folder or cache_dir()
    os.makedirs(folder, exist_ok=True)
    for stem, text in source.modules:
        path = os.path.join(folder, f"{stem}.py")
        if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)  # atomic: concurrent writers leave one whole file
    return _import(folder, source.modules[-1][0])


def _import(folder: str, stem: str) -> Any:
    """Import the generated module ``stem`` of ``folder`` (once per process)."""
    key = stem.rsplit("_", 1)[1]
    with _LOCK:
        if key in _MODULES:
            return _MODULES[key]
    spec = importlib.util.spec_from_file_location(f"theanine_{stem}",
                                                  os.path.join(folder, f"{stem}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache resolves functions by module
    spec.loader.exec_module(module)
    with _LOCK:
        return _MODULES.setdefault(key, module)


def helper_module(importer: str, key: str) -> Any:
    """The helper module ``key`` in the folder of the generated module ``importer`` (the
    import line of generated code)."""
    return _import(os.path.dirname(importer), f"helper_{key}")


def _generated(module: Any) -> list:
    """``module`` and the helper modules it imports, at any depth."""
    out, todo = [], [module]
    while todo:
        m = todo.pop()
        if m not in out:
            out.append(m)
            todo += [helper_module(m.__file__, k) for k in getattr(m, "_DEPS", ())]
    return out


def clear_numba_cache(module: Any) -> None:
    """Remove Numba's on-disk entries for the program of ``module`` and its helpers', and
    the in-memory ones."""
    for m in _generated(module):
        folder = os.path.join(os.path.dirname(m.__file__), "__pycache__")
        stem = os.path.splitext(os.path.basename(m.__file__))[0]
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith(stem + "."):
                    with contextlib.suppress(OSError):  # removed by another process
                        os.remove(os.path.join(folder, name))
        for value in vars(m).values():
            if hasattr(value, "_cache") and \
                    getattr(getattr(value, "py_func", None), "__module__", None) == m.__name__:
                value._cache.flush()  # forget the index read before
                value.enable_caching()


def _in_cache(dispatcher: Any, types: tuple) -> bool:
    """Whether Numba's on-disk cache holds ``dispatcher``'s code for ``types``."""
    try:
        return dispatcher._cache.load_overload(types, dispatcher.targetctx) is not None
    except Exception:  # noqa: BLE001 - unreadable entry: treat as missing
        return False


def _signature(values: list) -> tuple:
    """Numba argument types of ``values``, arrays in any memory layout ('A'), so later
    calls with views or transposes reuse the same machine code."""
    import numba

    return tuple(t.copy(layout="A") if isinstance(t, numba.types.Array) else t
                 for t in map(numba.typeof, values))


def _declared_signature(values: list, in_types: list) -> tuple | None:
    """The signature of the values a function not called yet will take: its inputs' cells
    are still empty (None), their types are those the graph declares (None if one is not
    an array's)."""
    import numba

    from theanine.tensor.type import TensorType

    out = []
    for k, v in enumerate(values):
        if v is not None:
            out.extend(_signature([v]))
        elif k < len(in_types) and isinstance(in_types[k], TensorType):
            t = in_types[k]
            out.append(numba.types.Array(numba.from_dtype(np.dtype(t.dtype)), t.ndim, "A"))
        else:
            return None
    return tuple(out)


def _release(runners: list) -> None:
    """Let the runners of inner functions compile on their own again."""
    for r in runners:
        r.deferred = False


class NumbaRunner:
    """Runs a function natively once its program is compiled, on the VM until then."""

    def __init__(self, fgraph: FunctionGraph, storage: dict, vm: VM, source: Source,
                 constants: list, profile: Any = None, timed: list | None = None,
                 written_back: dict | None = None, enclosed: list | None = None) -> None:
        self.vm = vm
        self.source = source
        # constants are read-only arrays; the program gets writeable copies (one type each),
        # then a profiled program its per-node times (``timed``: the nodes they belong to)
        # and last the program's record of BLAS's thread count (blas_kernels.py)
        self.blas_threads = np.zeros(2, np.int64)
        self.timed = timed
        self.node_ns = np.zeros(len(timed) if timed else 0, np.int64)
        self.n_inputs = len(fgraph.inputs)
        self.in_types = [v.type for v in fgraph.inputs]
        self.arg_cells = [storage[v] for v in fgraph.inputs] + \
            [[np.array(c)] for c in constants] + \
            ([[self.node_ns]] if timed is not None else []) + [[self.blas_threads]]
        written_back = written_back or {}
        #: the indices of the outputs the program returns, in order (the others are
        #: updates it leaves in their inputs' buffers: ``written_back``)
        self.returned = [k for k in range(len(fgraph.outputs)) if k not in written_back]
        self.out_cells = [storage[fgraph.outputs[k]] for k in self.returned]
        self.scalars = scalar_returns([fgraph.outputs[k] for k in self.returned])
        self.kept_cells = [(storage[fgraph.outputs[o]], storage[fgraph.inputs[i]])
                           for o, i in written_back.items()]
        self.native = None
        self.calls = 0
        self.fallbacks = 0  # calls the native program refused (re-run on the VM)
        self.last_native_error: BaseException | None = None
        self.state = "pending"  # pending -> compiling -> ready | failed
        self.error: BaseException | None = None
        self.compile_time = 0.0
        self.profile = profile
        # the settings in force when the function was compiled
        self.hot_calls = config.numba_hot_calls
        self.compile_mode = config.numba_compile
        self.opt = config.numba_opt
        self.folder = cache_dir()
        self.child: Any = None  # the child process that compiled it (background mode)
        # the BLAS cap while the child compiles: "wanted" (set by the compile thread),
        # "held" (applied on the calling thread), then None again once native code runs
        self.blas_cap: str | None = None
        # the runners of functions whose programs contain this one's graph (a scan step's):
        # in 'background' mode the step compiles first (it is small and shares its
        # kernels with the program, and the VM calls it at every step meanwhile) unless all
        # of them are ready; otherwise it would only delay theirs, so its getting hot starts
        # their compile instead
        self.enclosing: weakref.WeakSet = weakref.WeakSet()  # (not kept alive by it)
        self.enclosed = list(enclosed or ())
        for r in self.enclosed:
            r.enclosing.add(self)
        if self.enclosed:  # once this runner is gone they may compile on their own
            weakref.finalize(self, _release, self.enclosed)
        self.deferred = False  # waiting for a program that contains this graph
        if self.compile_mode == "background":
            QUEUE.add_uncalled(self)

    def failed(self, error: BaseException) -> None:
        """The native program could not be compiled: the function stays on the VM, and the
        inner functions this program contains may compile on their own again."""
        self.error = error
        self.state = "failed"
        _release(self.enclosed)

    def _covered(self) -> bool:
        """Whether a function in use whose program contains this graph compiles, or has."""
        return any(r.state in ("compiling", "ready") or (r.state == "pending" and r.calls)
                   for r in self.enclosing)

    def useless(self) -> bool:
        """Whether compiling this program would serve nothing any more: every program
        containing its graph is ready."""
        enclosing = list(self.enclosing)
        return bool(enclosing) and all(r.state == "ready" for r in enclosing)

    def _compile(self, types: tuple) -> None:
        t0 = time.perf_counter()
        try:
            module = load_program(self.source, self.folder)
            dispatcher = module.program
            with opt_level(self.opt):
                try:
                    dispatcher.compile(types)
                except Exception:  # noqa: BLE001 - a stale or corrupt on-disk entry: rebuild
                    clear_numba_cache(module)
                    dispatcher.compile(types)
            # call the compiled code directly: the inputs were checked to have the
            # signature's dtypes and ranks, and 'A' layout takes any strides
            self.native = dispatcher.overloads[types].entry_point
            self.state = "ready"
        except Exception as exc:  # noqa: BLE001 - stay on the VM, say why once
            self.failed(exc)
            warnings.warn(f"theanine: native compilation failed, the function keeps running "
                          f"on the NumPy VM ({type(exc).__name__}: {exc})", stacklevel=2)
        self.compile_time = time.perf_counter() - t0
        if self.profile is not None:
            self.profile.compile_times["numba"] = self.compile_time

    def start(self, mode: str, then: list | None = None) -> None:
        """Compile for the types of the current arguments: ``'blocking'`` now,
        ``'thread'`` in a thread of this process, ``'background'`` in a child process
        filling the on-disk cache (a program already in the cache is loaded in a thread).
        Outside ``'blocking'`` the caller never waits, not even for ``import numba``.
        ``then``: runners (with this one's mode) to start after this one, in order (in
        'background' mode their requests follow this one's in the queue)."""
        self.state = "compiling"
        todo = [(r, [c[0] for c in r.arg_cells]) for r in [self] + list(then or ())]
        for r, _ in todo[1:]:
            r.state = "compiling"
        if mode == "blocking":
            t0 = time.perf_counter()
            for r, values in todo:
                r._compile(_signature(values))
            # (maybe inside a node of a profiled VM: a scan step got hot in its loop)
            spent = time.perf_counter() - t0
            profiles = {id(o.profile): o.profile for r, _ in todo for o in [r, *r.enclosing]
                        if o.profile is not None}
            for profile in profiles.values():
                profile.compile_in_nodes += spent
            return

        def run() -> None:
            for r, values in todo:
                r._start_in_thread(values, mode)
        # 'thread': not a daemon, so at exit Python waits and the cache entry is complete
        # (the next run of the script loads it instead of compiling); 'background': a
        # daemon, since at exit the child goes on alone and completes the cache entry
        threading.Thread(target=run, daemon=mode == "background",
                         name="theanine-numba").start()

    def _start_in_thread(self, values: list, mode: str) -> None:
        types = _signature(values)
        if mode == "background":
            try:
                module = load_program(self.source, self.folder)
                if not _in_cache(module.program, types):
                    QUEUE.submit(self, module, types, 0 if self.enclosing else 1)
                    return
            except Exception:  # noqa: BLE001 - compile in this thread instead
                pass
        self._compile(types)

    def build(self, compiler: Any, module: Any, types: tuple | None) -> None:
        """In a thread of the compile queue: have ``compiler`` (a child process) compile
        the program into the cache, then load it. Without ``module``, a function not
        called yet, for the types its graph declares."""
        t0 = time.perf_counter()
        if module is None:
            types = _declared_signature([c[0] for c in self.arg_cells], self.in_types)
            if types is None:
                self.state = "pending"
                return
            try:
                module = load_program(self.source, self.folder)
            except Exception as exc:  # noqa: BLE001 - stay on the VM, say why once
                self.failed(exc)
                warnings.warn(f"theanine: the native program could not be written or "
                              f"imported, the function keeps running on the NumPy VM "
                              f"({type(exc).__name__}: {exc})", stacklevel=2)
                return
        if not _in_cache(module.program, types):  # (or compiled by another one meanwhile)
            if self.calls:
                import threadpoolctl  # noqa: F401 - imported here, off the calling thread

                self.blas_cap = "wanted"
            error = compiler.compile(module.__file__, module.__name__, types, self.opt)
            self.child = compiler.proc
            if error is not None:
                self.failed(RuntimeError(f"native compilation failed in a child process: "
                                         f"{error}"))
                warnings.warn(f"theanine: {self.error}; the function keeps running on the "
                              f"NumPy VM", stacklevel=2)
                return
        self._compile(types)  # loads the machine code the child cached
        self.compile_time = time.perf_counter() - t0
        if self.profile is not None:
            self.profile.compile_times["numba"] = self.compile_time

    def direct(self, n_explicit: int) -> Any:
        """Once the program is ready: a callable taking the values of the first
        ``n_explicit`` program inputs and returning every output (the other inputs,
        shared values and constants, are read from their cells); None before."""
        native = self.native
        if native is None:
            return None
        if self.blas_cap is not None:
            self._lift_blas_cap()
        # shared values are read from their cells at each call; the constants, the
        # profile and BLAS records are the same arrays at every call
        cells = self.arg_cells[n_explicit:self.n_inputs]
        fixed = tuple(c[0] for c in self.arg_cells[self.n_inputs:])
        scalars = self.scalars
        if scalars and len(self.returned) == 1 and len(cells) <= 1:  # (W1-W3: one frame less)
            ((_, dt),) = scalars
            array = np.array
            if not cells:
                return lambda *a: (array(native(*a, *fixed)[0], dt),)
            (c,) = cells
            return lambda *a: (array(native(*a, c[0], *fixed)[0], dt),)
        if not cells:
            call = (lambda *a: native(*a, *fixed)) if fixed else native
        elif len(cells) == 1:
            (c,) = cells
            call = lambda *a: native(*a, c[0], *fixed)  # noqa: E731
        else:
            call = lambda *a: native(*a, *[c[0] for c in cells], *fixed)  # noqa: E731
        return (lambda *a: _reboxed(call(*a), scalars)) if scalars else call

    def native_failed(self) -> None:
        """After the native program raised: give BLAS back the thread count the program
        found (it may have stopped between a one-thread product and its end)."""
        bt = self.blas_threads
        if bt[1] != bt[0]:
            from theanine.backend.numba.cblas import set_blas_threads

            set_blas_threads(int(bt[0]))
            bt[1] = bt[0]

    def _run_profiled(self, native: Any, args: list) -> Any:
        """Run the program, recording each node's time (from the program's own clock)."""
        ns = self.node_ns
        ns[:] = 0
        res = native(*args)
        self.profile.native_calls += 1
        for node, t in zip(self.timed, ns.tolist()):  # static shapes: (None, 200)...
            self.profile.record_node(node, t * 1e-9, [v.type for v in node.inputs])
        return res

    def _lift_blas_cap(self) -> None:
        if self.blas_cap == "held":
            BLAS_CAP.release()
        self.blas_cap = None

    def __call__(self) -> None:
        native = self.native
        if self.blas_cap is not None:  # on the calling thread, between BLAS calls
            if native is not None or self.state == "failed":
                self._lift_blas_cap()
            elif self.blas_cap == "wanted":
                self.blas_cap = "held"
                BLAS_CAP.acquire()
        if native is None:
            self.calls += 1
            if self.calls == 1 and self.compile_mode == "background":
                QUEUE.prestart()  # in use: it may get hot soon
            if self.state == "pending" and self.calls >= self.hot_calls and not self.deferred:
                # a scan step: the program in use containing it compiles too, after it in
                # 'background' mode, in place of it otherwise (then no more checks at each
                # step: 3 us)
                programs = [r for r in self.enclosing if r.state == "pending" and r.calls]
                if self.compile_mode == "background" and any(
                        r.enclosing and r.state != "failed" for r in self.enclosing):
                    # a step of a loop with a program of its own (``native_nodes``): that
                    # one compiles instead, the step's would serve only meanwhile
                    self.deferred = True
                elif self.compile_mode != "background" and self._covered():
                    for r in programs:
                        r.start(r.compile_mode)
                    self.deferred = True
                else:
                    same = [r for r in programs if r.compile_mode == self.compile_mode]
                    for r in programs:
                        if r not in same:
                            r.start(r.compile_mode)
                    self.start(self.compile_mode, then=same)
                    native = self.native
            if native is None:
                return self.vm()
        args = [c[0] for c in self.arg_cells]
        try:
            if self.profile is not None:
                res = self._run_profiled(native, args)
            else:
                res = native(*args)
        except Exception as exc:  # noqa: BLE001 - the VM raises the error with its context
            self.native_failed()
            self.fallbacks += 1
            self.last_native_error = exc
            return self.vm()
        if self.scalars:
            res = _reboxed(res, self.scalars)
        for c, v in zip(self.out_cells, res):
            c[0] = v
        for c, own in self.kept_cells:
            c[0] = own[0]


class NumbaLinker:
    """Links a FunctionGraph into one native program (see the module docstring)."""

    name = "numba"

    def make_runner(self, fgraph: FunctionGraph, storage: dict, profile: Any = None):
        vm = VM(fgraph, storage, profile)
        timed: list | None = [] if profile is not None else None
        written_back = written_in_place(fgraph)
        source, constants, unsupported, python_nodes, enclosed = build_source(
            fgraph, timed, written_back)
        fgraph.native_report = {"linker": "numba", "unsupported": unsupported,
                                "native": source is not None, "python_nodes": python_nodes}
        if source is None:
            return vm
        if profile is None:  # (a profile times the VM's own nodes)
            enclosed = enclosed + native_nodes(fgraph, vm, storage)
        runner = NumbaRunner(fgraph, storage, vm, source, constants, profile, timed,
                             written_back, enclosed)
        return runner


# element-wise nodes over a shared value this large run natively on the VM as soon as
# their own small program is compiled (before the function's): W4's update of its
# 8,219 x 200 embedding and its sum of squares take one pass natively, two on NumPy
# (0.19 against 0.34 ms alone, 0.85 ms while the program compiles beside it)
NATIVE_NODE_MIN = 1 << 20


def native_nodes(fgraph: FunctionGraph, vm: VM, storage: dict) -> list:
    """Give some of ``vm``'s nodes a native program each, which the VM calls in place of
    the node's ``perform`` once it is compiled: a runner compiled before the function's
    own program, and only while that one is not ready. The nodes: large element-wise
    nodes over shared values, and scan loops in 'background' mode. A loop's program runs
    every step natively in one call, where the VM calls its step's program at each step
    (W4's two loops: 0.44 ms of a 1.25 ms step on the VM that way); its step is the same
    helper as in the function's program, compiled once for both, and the step's own
    program is not compiled at all (``NumbaRunner.__call__``)."""
    from theanine.rewrite.rules.fusion import ElemwiseSumSquares
    from theanine.scan.op import Scan
    from theanine.tensor.elemwise import Elemwise

    if len(vm.nodes) < 2:  # (a one-node function is that program already)
        return []
    big = {v for v in fgraph.inputs
           if getattr(storage[v][0], "size", 0) >= NATIVE_NODE_MIN}
    runners = []
    loops = config.numba_compile == "background"  # (elsewhere the VM's phase is short)
    for k, node in enumerate(vm.nodes):
        if not (loops and isinstance(node.op, Scan)) and not (
                isinstance(node.op, (Elemwise, ElemwiseSumSquares))
                and big.intersection(node.inputs)):
            continue
        sub = FunctionGraph([v for v in node.inputs if not isinstance(v, Constant)],
                            node.outputs)
        cells = {}
        for v in list(node.inputs) + list(node.outputs):
            copy = sub.memo[id(v)]
            cells[copy] = [copy.data] if isinstance(copy, Constant) else storage[v]
        source, constants, _, python_nodes, enclosed = build_source(sub)
        if source is None or python_nodes:
            continue
        runner = NumbaRunner(sub, cells, VM(sub, cells), source, constants,
                             enclosed=enclosed)
        # hot a call before its function: its request is in the queue before the
        # function's, and served first
        runner.hot_calls = max(1, runner.hot_calls - 1)
        vm.thunks[k] = thunk = _in_context(runner)
        vm.steps[k] = (thunk, vm.steps[k][1])
        runners.append(runner)
    return runners


def _in_context(runner: NumbaRunner) -> Any:
    """``runner`` as a thunk of the VM: an error is raised by the runner's own VM, which
    names the node already."""
    def thunk() -> None:
        try:
            runner()
        except Exception as exc:
            exc.__theanine_context__ = True
            raise
    return thunk
