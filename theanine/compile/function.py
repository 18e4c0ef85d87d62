"""``function``: compile a graph into a callable with inputs, outputs and updates."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from theanine.compile.allocator import tune_malloc
from theanine.compile.errors import MissingInputError, UnusedInputError
from theanine.compile.mode import get_mode
from theanine.compile.shared import SharedVariable
from theanine.config import config
from theanine.graph.basic import Constant, Variable, ancestors, clone_replace
from theanine.graph.fg import FunctionGraph


class In:
    """An input of a function, with options.

    Parameters
    ----------
    variable : Variable
    name : str, optional
        Keyword by which the value may be passed (defaults to the variable's name).
    value : optional
        Default value when the argument is omitted.
    update : Variable, optional
        An expression of the inputs whose value becomes this input's default after each
        call (Theano's stateful input; ``value`` is the first default). Read and set the
        current default with ``f[variable]`` or ``f[name]``.
    strict : bool
        Require exactly the input's dtype.
    allow_downcast : bool, optional
        Accept values that lose precision when converted.
    borrow, mutable : bool
        Accepted for compatibility; theanine never overwrites a value the user passed.
    """

    def __init__(self, variable: Variable, name: str | None = None, value: Any = None,
                 update: Any = None, mutable: bool = False, strict: bool = False,
                 allow_downcast: bool | None = None, autoname: bool = True,
                 implicit: bool = False, borrow: bool = False, shared: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In() takes a symbolic variable, got {variable!r}")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.has_default = value is not None
        self.update = update
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.borrow = borrow


class Out:
    """An output of a function; ``borrow=True`` allows returning internal buffers."""

    def __init__(self, variable: Variable, borrow: bool = False) -> None:
        self.variable = variable
        self.borrow = borrow


def _pairs(x: Any, what: str) -> list[tuple[Any, Any]]:
    if x is None:
        return []
    if isinstance(x, dict):
        return list(x.items())
    try:
        pairs = [tuple(p) for p in x]
    except TypeError:
        raise TypeError(f"{what} must be a dict or a list of (variable, value) pairs") from None
    for p in pairs:
        if len(p) != 2:
            raise TypeError(f"{what} must be (variable, value) pairs, got {p!r}")
    return pairs  # type: ignore[return-value]


def _check_update(var: Any, value: Any) -> Variable:
    from theanine.tensor.basic import as_tensor_variable

    if not isinstance(var, SharedVariable):
        raise TypeError(f"updates: {var.describe() if isinstance(var, Variable) else repr(var)} "
                        f"is not a shared variable; only shared variables can be updated")
    value = as_tensor_variable(value)
    t, u = var.type, value.type
    compatible = (t.dtype == u.dtype and t.ndim == u.ndim and
                  all(a is None or a == b for a, b in zip(t.shape, u.shape)))
    if not compatible:
        hint = ""
        if t.ndim == u.ndim and t.dtype != u.dtype:
            hint = (f" Cast the new value, e.g. `(W, T.cast(new_W, '{t.dtype}'))`, or make the "
                    f"expression keep {t.dtype} (a float64 learning rate or constant upcasts "
                    f"it).")
        elif t.ndim == u.ndim:
            hint = " The static shapes differ; use T.unbroadcast or specify_shape on the new value."
        raise TypeError(
            f"an update must have the same type as its shared variable: {var.describe()} has "
            f"type {t}, the new value {value.describe()} has type {u}.{hint}")
    return value


def _check_input_update(inp: In, pos: int) -> Variable:
    from theanine.tensor.basic import as_tensor_variable

    var = inp.variable
    value = as_tensor_variable(inp.update)
    t, u = var.type, value.type
    if t.dtype != u.dtype or t.ndim != u.ndim:
        raise TypeError(f"In(update=...): the update of input {pos} ({var.describe()}, type "
                        f"{t}) has type {u}; it must have the input's type (cast it)")
    return value


def _input_updates(n: int, in_updates: list) -> list:
    """The update expression of each of ``n`` inputs (None where it has none)."""
    by_pos = dict(in_updates)
    return [by_pos.get(p) for p in range(n)]


class _Source:
    """The arguments that compile a function again when it is unpickled."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def _unpickle_function(source: _Source, defaults: dict) -> Function:
    """Compile a pickled function again (see :meth:`Function.__reduce__`)."""
    outputs = source.outputs[0] if source.single else list(source.outputs)
    fn = function(source.inputs, outputs, mode=source.mode, updates=source.updates,
                  no_default_updates=True, name=source.name,
                  allow_input_downcast=source.allow_input_downcast, profile=source.profile,
                  on_unused_input="ignore", trust_input=source.trust_input)
    fn._defaults.update(defaults)
    return fn


def _may_alias(var: Variable, roots: set) -> bool:
    """Whether ``var``'s value may be a view of (or be) one of ``roots`` or a constant."""
    seen = set()
    stack = [var]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if v in roots or isinstance(v, Constant):
            return True
        if v.owner is not None:
            vm = v.owner.op.view_map.get(v.index, [])
            dm = v.owner.op.destroy_map.get(v.index, [])
            stack.extend(v.owner.inputs[i] for i in list(vm) + list(dm))
    return False


def function(inputs: Sequence[Any] = (), outputs: Any = None, mode: Any = None,
             updates: Any = None, givens: Any = None, no_default_updates: Any = False,
             accept_inplace: bool = False, name: str | None = None,
             rebuild_strict: bool = True, allow_input_downcast: bool | None = None,
             profile: Any = None, on_unused_input: str | None = None,
             trust_input: bool = False) -> Function:
    """Compile the graph from ``inputs`` to ``outputs`` into a callable.

    Parameters
    ----------
    inputs : list of Variable or In
        The arguments of the function, in order.
    outputs : Variable, list of Variable, Out, or None
        What the function returns (a single value, a list, or ``[]``).
    mode : str or Mode, optional
        ``'FAST_RUN'`` (default), ``'FAST_COMPILE'`` or a :class:`Mode`.
    updates : dict or list of (SharedVariable, Variable)
        New values of shared variables, all applied after the outputs are computed.
    givens : dict or list of (Variable, Variable)
        Substitutions made in the graph before compiling.
    allow_input_downcast : bool, optional
        Accept inputs that lose precision when cast to the input's dtype.
    on_unused_input : {'raise', 'warn', 'ignore'}
    profile : bool, optional
        Collect timings per node (see ``f.profile.summary()``).

    Examples
    --------
    >>> import numpy as np, theanine, theanine.tensor as T
    >>> x = T.fvector('x')
    >>> W = theanine.shared(np.array([0.2, 0.7]), 'W')
    >>> f = theanine.function([x], (x * W).sum())
    >>> float(f([1.0, 1.0]))
    0.9
    """
    from theanine.tensor.basic import as_tensor_variable

    t0 = time.perf_counter()
    tune_malloc()
    on_unused_input = on_unused_input or "raise"
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got "
                         f"{on_unused_input!r}")
    if isinstance(inputs, (Variable, In)):
        raise TypeError("function: inputs must be a list of variables (e.g. [x]), got a "
                        "single variable")
    ins = [i if isinstance(i, In) else In(i) for i in inputs]
    for pos, i in enumerate(ins):
        v = i.variable
        if isinstance(v, SharedVariable):
            raise TypeError(f"input {pos} ({v.describe()}) is a shared variable; shared "
                            f"variables are implicit inputs and cannot be listed explicitly")
        if isinstance(v, Constant):
            raise TypeError(f"input {pos} ({v}) is a constant; inputs must be symbolic "
                            f"variables")
    seen: set[int] = set()
    for i in ins:
        if id(i.variable) in seen:
            raise ValueError(f"the input {i.variable.describe()} is given more than once")
        seen.add(id(i.variable))

    single = False
    if outputs is None:
        outs: list = []
    elif isinstance(outputs, (Variable, Out)) or not isinstance(outputs, (list, tuple)):
        outs, single = [outputs], True
    else:
        outs = list(outputs)
    borrow_out = [isinstance(o, Out) and o.borrow for o in outs]
    out_vars = [as_tensor_variable(o.variable if isinstance(o, Out) else o) for o in outs]

    upd = _pairs(updates, "updates")
    seen_upd: set[int] = set()
    upd_pairs = []
    for var, value in upd:
        if id(var) in seen_upd:
            raise ValueError(f"updates: {var.describe()} is updated more than once")
        seen_upd.add(id(var))
        upd_pairs.append((var, _check_update(var, value)))
    in_updates = []  # (input position, new default value) of stateful inputs
    for pos, i in enumerate(ins):
        if i.update is not None:
            in_updates.append((pos, _check_input_update(i, pos)))

    # givens: substitute before compiling
    given = _pairs(givens, "givens")
    repl = {}
    for var, value in given:
        if not isinstance(var, Variable):
            raise TypeError(f"givens: keys must be symbolic variables, got {var!r}")
        value = as_tensor_variable(value)
        if value.type.dtype != var.type.dtype or value.ndim != var.ndim:
            raise TypeError(f"givens: {var.describe()} of type {var.type} cannot be "
                            f"replaced by {value.describe()} of type {value.type}")
        repl[var] = value

    # default updates of shared variables (random streams): those of the shared variables
    # of the graph after givens, with givens substituted in them too (as Theano 1.0: a
    # draw of size x.shape advances its stream by the shape of the minibatch given for x),
    # all cloned in one pass so that a draw and its stream's update stay one node
    n_o, n_u, n_i = len(out_vars), len(upd_pairs), len(in_updates)
    pre = out_vars + [v for _, v in upd_pairs] + [v for _, v in in_updates]
    defaults: list = []
    excluded = set() if no_default_updates is True else set(map(id, no_default_updates or []))
    while True:
        roots = pre + [u for _, u in defaults]
        if repl:
            roots = clone_replace(roots, repl)
        if no_default_updates is True:
            break
        found = [v for v in ancestors(roots)
                 if isinstance(v, SharedVariable) and v.default_update is not None
                 and id(v) not in seen_upd and id(v) not in excluded]
        if not found:
            break
        for v in found:
            defaults.append((v, _check_update(v, v.default_update)))
            seen_upd.add(id(v))
    out_vars = roots[:n_o]
    upd_pairs = [(s, v) for (s, _), v in zip(upd_pairs + defaults,
                                             roots[n_o:n_o + n_u] + roots[n_o + n_u + n_i:])]
    in_updates = [(p, v) for (p, _), v in zip(in_updates, roots[n_o + n_u:n_o + n_u + n_i])]
    roots = out_vars + [v for _, v in upd_pairs] + [v for _, v in in_updates]

    explicit = [i.variable for i in ins]
    used = set(map(id, ancestors(roots, explicit)))
    for pos, i in enumerate(ins):
        if id(i.variable) not in used:
            msg = (f"function: input {pos} ({i.variable.describe()}) is not used to compute the "
                   f"outputs or updates. Remove it, or pass on_unused_input='ignore' (or 'warn')")
            if on_unused_input == "raise":
                raise UnusedInputError(msg)
            if on_unused_input == "warn":
                warnings.warn(msg, stacklevel=2)
    explicit_ids = set(map(id, explicit))
    for v in ancestors(roots, explicit):
        if v.owner is None and id(v) not in explicit_ids and not isinstance(
                v, (Constant, SharedVariable)):
            raise MissingInputError(v)
    shared_vars = []
    for v in ancestors(roots, explicit):
        if isinstance(v, SharedVariable) and v not in shared_vars:
            shared_vars.append(v)
    for s, _ in upd_pairs:
        if s not in shared_vars:
            shared_vars.append(s)

    # outputs: the function's, then the shared variables' new values, then the new
    # defaults of stateful inputs
    fgraph = FunctionGraph(explicit + shared_vars, out_vars + [v for _, v in upd_pairs]
                           + [v for _, v in in_updates])
    fgraph.update_mapping = {len(out_vars) + k: len(explicit) + shared_vars.index(s)
                             for k, (s, _) in enumerate(upd_pairs)}
    mode_ = get_mode(mode)
    t_rewrite = time.perf_counter()
    rewriter = mode_.get_rewriter()
    if rewriter is not None:
        rewriter(fgraph)
    t_link = time.perf_counter()
    fn = Function(fgraph, ins, shared_vars, [s for s, _ in upd_pairs], len(out_vars), single,
                  borrow_out, mode_, name, allow_input_downcast, profile, trust_input,
                  [p for p, _ in in_updates])
    # what pickling needs to compile the function again: the graph after givens, with
    # every update made explicit (see Function.__reduce__)
    fn._source = _Source(
        inputs=[In(i.variable, name=i.name, value=i.value, update=new, mutable=i.mutable,
                   strict=i.strict, allow_downcast=i.allow_downcast, autoname=False,
                   borrow=i.borrow)
                for i, new in zip(ins, _input_updates(len(ins), in_updates))],
        outputs=[Out(v, b) for v, b in zip(out_vars, borrow_out)], single=single,
        updates=upd_pairs, mode=mode_, name=name, allow_input_downcast=allow_input_downcast,
        profile=fn.profile is not None, trust_input=trust_input)
    t_end = time.perf_counter()
    fn.compile_times = {"rewrite": t_link - t_rewrite, "link": t_end - t_link,
                        "total": t_end - t0}
    if fn.profile is not None:
        fn.profile.compile_times = fn.compile_times
        fn.profile.linker = mode_.linker
        fn.profile.native_report = getattr(fgraph, "native_report", None)
    return fn


class Function:
    """A compiled function; call it with the input values.

    Attributes
    ----------
    trust_input : bool
        Skip checking and converting inputs (they must already be arrays of the right
        dtype and rank): the fastest way to call.
    maker : object
        ``maker.fgraph`` is the compiled (rewritten) graph.
    """

    def __init__(self, fgraph: FunctionGraph, ins: list[In], shared_vars: list,
                 updated: list, n_out: int, single: bool, borrow_out: list[bool], mode: Any,
                 name: str | None, allow_input_downcast: bool | None, profile: Any,
                 trust_input: bool, updated_inputs: list[int] | None = None) -> None:
        from theanine.backend import get_linker
        from theanine.compile.profiling import ProfileStats, register_for_exit

        self.name = name
        self.ins = ins
        self.mode = mode
        self.trust_input = trust_input
        self.maker = _Maker(fgraph, ins, mode)
        n_explicit = len(ins)
        storage: dict = {}
        for v in fgraph.variables | set(fgraph.inputs) | set(fgraph.outputs):
            if isinstance(v, SharedVariable):
                storage[v] = v.storage
            elif isinstance(v, Constant):
                storage[v] = [v.data]
            else:
                storage[v] = [None]
        self.input_cells = [storage[v] for v in fgraph.inputs[:n_explicit]]
        self._filters = [self._make_filter(pos, i, allow_input_downcast)
                         for pos, i in enumerate(ins)]
        self._names = {i.name: pos for pos, i in enumerate(ins) if i.name}
        self._defaults = {pos: i.value for pos, i in enumerate(ins) if i.has_default}
        self._source: _Source | None = None
        outputs = fgraph.outputs
        protected = set(fgraph.inputs)
        upd_vars = set(outputs[n_out:])
        self._out_cells = []
        for k in range(n_out):
            v = outputs[k]
            copy = not borrow_out[k] and (_may_alias(v, protected) or v in upd_vars)
            self._out_cells.append((storage[v], copy))
        self._updates = []
        for k, (s, v) in enumerate(zip(updated, outputs[n_out:])):
            own = fgraph.inputs[fgraph.update_mapping[n_out + k]]
            # a value computed in place in its own shared variable's buffer needs no copy
            self._updates.append((s.storage, storage[v], _may_alias(v, protected - {own})
                                  or v is own))
        first = n_out + len(updated)
        # the new defaults of stateful inputs are always copied: the next call may reuse
        # the buffers they were computed in
        self._input_updates = [(pos, storage[outputs[first + k]])
                               for k, pos in enumerate(updated_inputs or [])]
        self._single = single
        if profile is None:
            profile = config.profile
        self.profile = ProfileStats(self.name) if profile else None
        if self.profile is not None:
            register_for_exit(self.profile)
        self._run = get_linker(mode.linker).make_runner(fgraph, storage, self.profile)
        # the direct path: a native program called with the values, its results used as
        # they come (no storage cells), once the runner has one (see ``_direct_call``)
        self._n_in = n_explicit
        self._direct: Any = None
        self._direct_ok = hasattr(self._run, "direct") and self.profile is None \
            and not self._input_updates
        self._out_copy = [copy for _, copy in self._out_cells]
        # where each update is in the direct path's results; an update the program leaves
        # in its own variable's buffer is not returned and needs no storing
        returned = getattr(self._run, "returned", range(len(outputs)))
        at = {o: pos for pos, o in enumerate(returned)}
        self._upd_plan = [(st, at[n_out + k], copy)
                          for k, (st, _, copy) in enumerate(self._updates) if n_out + k in at]
        self._plain = single and not self._upd_plan and not self._out_copy[0] if n_out else False

    def _make_filter(self, pos: int, inp: In, allow_input_downcast: bool | None):
        var = inp.variable
        ttype = var.type
        dtype = ttype.numpy_dtype
        ndim = ttype.ndim
        strict = inp.strict
        allow = inp.allow_downcast if inp.allow_downcast is not None else allow_input_downcast
        label = f"{var.name!r}" if var.name else f"at index {pos}"
        static = ttype.shape if any(s is not None for s in ttype.shape) else None

        # the conversions ``ttype.filter`` would make, without its checks: a Python float
        # into a float scalar (floatX only unless downcasting is allowed: Theano's rule),
        # an array of another numeric dtype when downcasting is allowed
        float_in = dtype.kind == "f" and ndim == 0 and not strict and allow is not False \
            and (allow or dtype == np.dtype(config.floatX))
        cast_in = bool(allow) and not strict
        # Python numbers and lists are converted when nothing is lost (Theano's rule)
        exact_in = not strict and not allow and static is None

        def filt(value: Any) -> Any:
            kind = type(value)
            if kind is np.ndarray and value.ndim == ndim and static is None:
                if value.dtype == dtype:
                    return value
                if cast_in and value.dtype.kind in "biufc":
                    return np.asarray(value, dtype)
            elif kind is float and float_in:
                return np.asarray(value, dtype)
            elif (kind is list or kind is float or kind is int) and exact_in:
                try:
                    converted = np.asarray(value, dtype)
                except (TypeError, ValueError, OverflowError):
                    converted = None
                if converted is not None and converted.ndim == ndim \
                        and converted.tolist() == value:
                    return converted
            try:
                return ttype.filter(value, strict=strict, allow_downcast=allow)
            except (TypeError, ValueError) as exc:
                where = f" (created at {var.site[0]}:{var.site[1]})" if var.site else ""
                fname = f" {self.name!r}" if self.name else ""
                raise type(exc)(f"bad input argument {label}{where} to theanine function"
                                f"{fname}: {exc}") from None
        return filt

    def _bind(self, args: tuple, kwargs: dict) -> list:
        n = len(self.ins)
        if len(args) > n:
            raise TypeError(f"function{' ' + repr(self.name) if self.name else ''} takes "
                            f"{n} input(s) ({self._signature()}), got {len(args)}")
        values: list = list(args) + [_MISSING] * (n - len(args))
        for key, val in kwargs.items():
            if key not in self._names:
                raise TypeError(f"unknown keyword argument {key!r}; the inputs are "
                                f"({self._signature()})")
            pos = self._names[key]
            if values[pos] is not _MISSING:
                raise TypeError(f"input {key!r} was given twice (by position and by keyword)")
            values[pos] = val
        for pos, default in self._defaults.items():
            if values[pos] is _MISSING:
                values[pos] = default
        missing = [self._label(p) for p, v in enumerate(values) if v is _MISSING]
        if missing:
            raise TypeError(f"missing input(s) {', '.join(missing)}; the function takes "
                            f"({self._signature()}), got {len(args)} positional and "
                            f"{len(kwargs)} keyword argument(s)")
        return values

    def _label(self, pos: int) -> str:
        name = self.ins[pos].name
        return repr(name) if name else f"#{pos}"

    def _signature(self) -> str:
        return ", ".join(i.name or f"<input {p}>" for p, i in enumerate(self.ins))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != self._n_in:
            args = self._bind(args, kwargs)  # type: ignore[assignment]
        if self._direct_ok:
            if not self.trust_input:
                args = [filt(a) for filt, a in zip(self._filters, args)]
            direct = self._direct or self._make_direct()
            if direct is not None:
                try:
                    res = direct(*args)
                except Exception:  # noqa: BLE001 - the path below raises it with context
                    self._run.native_failed()
                    res = None
                if res is not None:
                    if self._plain:
                        return res[0]
                    outs = [r.copy() if c else r for r, c in zip(res, self._out_copy)]
                    if self._upd_plan:
                        new = [res[k].copy() if c else res[k] for _, k, c in self._upd_plan]
                        for (storage, _, _), value in zip(self._upd_plan, new):
                            storage[0] = value
                    return outs[0] if self._single else outs
            return self._call_cells(args, True)
        return self._call_cells(args, self.trust_input)

    def _make_direct(self) -> Any:
        self._direct = self._run.direct(self._n_in)
        return self._direct

    def _call_cells(self, args: Any, trusted: bool) -> Any:
        """Run through the storage cells (the VM, a native program not ready yet, the
        profiler, stateful inputs, and errors)."""
        if trusted:
            for cell, a in zip(self.input_cells, args):
                cell[0] = a
        else:
            for cell, filt, a in zip(self.input_cells, self._filters, args):
                cell[0] = filt(a)
        if self.profile is not None:
            t0 = time.perf_counter()
            self._run()
            self.profile.record_call(time.perf_counter() - t0)
        else:
            self._run()
        outs = [c[0].copy() if copy else c[0] for c, copy in self._out_cells]
        if self._updates:
            new = [cell[0].copy() if copy else cell[0] for _, cell, copy in self._updates]
            for (storage, _, _), value in zip(self._updates, new):
                storage[0] = value
        for pos, cell in self._input_updates:
            self._defaults[pos] = np.array(cell[0], copy=True)
        if self._single:
            return outs[0]
        return outs

    # -- values of inputs with defaults (Theano's ``f[x]``) -------------------------------
    def _position(self, key: Any) -> int:
        for pos, i in enumerate(self.ins):
            if key is i.variable or (isinstance(key, str) and key == i.name):
                return pos
        raise KeyError(f"{key!r} is not an input of this function ({self._signature()})")

    def __getitem__(self, key: Any) -> Any:
        """The default value of the input ``key`` (its variable or name)."""
        pos = self._position(key)
        if pos not in self._defaults:
            raise KeyError(f"input {self._label(pos)} has no default value")
        return self._defaults[pos]

    def __setitem__(self, key: Any, value: Any) -> None:
        """Set the default value of the input ``key`` (its variable or name)."""
        pos = self._position(key)
        self._defaults[pos] = self._filters[pos](value)

    # -- pickling ---------------------------------------------------------------------------
    def __reduce__(self) -> tuple:
        """Pickle the function as its graph (after ``givens``, every update explicit), mode
        and options; unpickling compiles it again, and on the native back end reloads
        the machine code from the compile cache (or recompiles it). The shared
        variables are pickled with the graph, so those pickled together with the
        function are the ones it reads and updates after unpickling, as in Theano.

        Unpickling runs code named in the pickle: load only pickles you trust.
        """
        if self._source is None:
            raise TypeError("this function was not made by theanine.function() and cannot "
                            "be pickled")
        return (_unpickle_function, (self._source, dict(self._defaults)))

    def __repr__(self) -> str:
        return f"<theanine.Function {self.name or ''}({self._signature()})>"


class _Maker:
    def __init__(self, fgraph: FunctionGraph, ins: list[In], mode: Any) -> None:
        self.fgraph = fgraph
        self.inputs = ins
        self.mode = mode


_MISSING = object()
