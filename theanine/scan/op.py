"""The Scan op: a loop whose body is a compiled inner graph.

Outer inputs: ``[n_steps, *sequences, *initial_states, *non_sequences]``.

* a *sequence* is iterated over its first axis (taps were resolved by the API into
  separately sliced sequences, so the op only sees tap 0);
* each *recurrent output* j has taps ``info.taps[j]`` (negative ints); its initial state
  has shape ``(k_j, ...)`` with ``k_j = -min(taps)``, the values before step 0;
* *nit-sot outputs* are computed each step and not fed back;
* *non-sequences* are passed unchanged to every step.

Outer outputs: the history ``(n_steps, ...)`` of each recurrent output, then of each
nit-sot output. With an ``until`` condition (the last inner output) the loop stops
early and histories are cut to the steps done.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from theanine.graph.basic import Apply, Variable
from theanine.graph.op import Op
from theanine.tensor.type import TensorType

_ids = itertools.count()


@dataclass(frozen=True)
class ScanInfo:
    """The layout of a Scan's inputs and outputs."""

    n_seqs: int
    taps: tuple  # per recurrent output: sorted negative taps
    n_nitsot: int
    n_nonseqs: int
    until: bool = False
    name: str = "scan"
    truncate_gradient: int = -1
    check_lengths: bool = False  # n_steps came from the sequences: they must all match
    last_only: tuple = ()  # per recurrent output: keep only the last step (a ring buffer)

    @property
    def n_rec(self) -> int:
        return len(self.taps)

    @property
    def lookback(self) -> tuple:
        return tuple(-min(t) for t in self.taps)


class Scan(Op):
    """A symbolic loop; see the module docstring for its interface."""

    __props__ = ("info", "uid")

    def __init__(self, inner_inputs: list[Variable], inner_outputs: list[Variable],
                 info: ScanInfo, mode: Any = None) -> None:
        self.inner_inputs = list(inner_inputs)
        self.inner_outputs = list(inner_outputs)
        self.info = info
        self.mode = mode
        self.uid = next(_ids)
        self._fn = None

    def __str__(self) -> str:
        return f"Scan{{{self.info.name}}}"

    # -- inner layout -------------------------------------------------------------------
    def inner_groups(self) -> tuple[list, list, list]:
        """Inner inputs split into (sequence slices, per-output tap lists, non-sequences)."""
        info = self.info
        seqs = self.inner_inputs[: info.n_seqs]
        k = info.n_seqs
        taps = []
        for t in info.taps:
            taps.append(self.inner_inputs[k: k + len(t)])
            k += len(t)
        return seqs, taps, self.inner_inputs[k:]

    def make_node(self, n_steps, *inputs):
        from theanine.tensor.basic import as_tensor_variable

        info = self.info
        n_steps = as_tensor_variable(n_steps)
        inputs = [as_tensor_variable(i) for i in inputs]
        seqs = inputs[: info.n_seqs]
        inits = inputs[info.n_seqs: info.n_seqs + info.n_rec]
        outs = []
        for j in range(info.n_rec):
            inner = self.inner_outputs[j]
            outs.append(TensorType(inner.type.dtype, (None,) + inner.type.shape)())
            if inits[j].ndim != inner.ndim + 1:
                raise TypeError(f"scan: the initial state of output {j} has "
                                f"{inits[j].ndim - 1} dimensions, the step returns "
                                f"{inner.ndim}")
        for j in range(info.n_nitsot):
            inner = self.inner_outputs[info.n_rec + j]
            outs.append(TensorType(inner.type.dtype, (None,) + inner.type.shape)())
        return Apply(self, [n_steps, *inputs], outs)

    # -- execution ----------------------------------------------------------------------
    def _compiled(self):
        if self._fn is None:
            from theanine.compile.function import function

            fn = function(self.inner_inputs, self.inner_outputs, mode=self.mode,
                          on_unused_input="ignore")
            fn.trust_input = True
            self._fn = fn
        return self._fn

    def perform(self, node, inputs, out):
        info = self.info
        fn = self._compiled()
        n_steps, *rest = inputs
        n_steps = int(n_steps)
        seqs = rest[: info.n_seqs]
        inits = rest[info.n_seqs: info.n_seqs + info.n_rec]
        nonseqs = rest[info.n_seqs + info.n_rec:]
        if n_steps < 0:
            raise ValueError(f"scan {info.name!r}: n_steps must be >= 0, got {n_steps}")
        if n_steps == 0 and info.check_lengths:
            raise ValueError(f"scan {info.name!r}: the sequences are empty (zero steps); "
                             f"scan needs at least one element")
        for i, s in enumerate(seqs):
            if info.check_lengths and s.shape[0] != n_steps:
                raise ValueError(
                    f"scan {info.name!r}: the sequences have different lengths: sequence 0 "
                    f"has {n_steps} elements, sequence {i} ({node.inputs[1 + i].describe()}) "
                    f"has {s.shape[0]} (after applying taps)")
            if s.shape[0] < n_steps:
                raise ValueError(f"scan {info.name!r}: sequence {i} ({node.inputs[1 + i].describe()})"
                                 f" has {s.shape[0]} elements, fewer than the {n_steps} steps")
        cells = fn.input_cells
        k = info.n_seqs
        tap_cells = []
        for t in info.taps:
            tap_cells.append(cells[k: k + len(t)])
            k += len(t)
        for c, v in zip(cells[k:], nonseqs):
            c[0] = v
        bufs, sizes = [], []
        last_only = info.last_only or (False,) * info.n_rec
        for j, init in enumerate(inits):
            lb = info.lookback[j]
            if init.shape[0] < lb:
                raise ValueError(f"scan {info.name!r}: output {j} uses taps {list(info.taps[j])}"
                                 f" and needs {lb} initial values, got {init.shape[0]}")
            size = lb + 1 if last_only[j] else lb + n_steps  # ring buffer, or the history
            buf = np.empty((size,) + init.shape[1:], dtype=init.dtype)
            buf[:lb] = init[init.shape[0] - lb:]
            bufs.append(buf)
            sizes.append(size)
        out_cells = fn._out_cells
        run = fn._run
        nit = [None] * info.n_nitsot
        seq_cells = cells[: info.n_seqs]
        done = n_steps
        n_rec = info.n_rec
        for t in range(n_steps):
            for c, s in zip(seq_cells, seqs):
                c[0] = s[t] if s.ndim > 1 else s[t:t + 1].reshape(())  # a 0-d array
            for j in range(n_rec):
                lb, size = info.lookback[j], sizes[j]
                buf = bufs[j]
                for c, tap in zip(tap_cells[j], info.taps[j]):
                    k = (lb + t + tap) % size
                    c[0] = buf[k] if buf.ndim > 1 else buf[k:k + 1].reshape(())
            run()
            for j in range(n_rec):
                value = out_cells[j][0][0]
                try:
                    bufs[j][(info.lookback[j] + t) % sizes[j]] = value
                except ValueError:
                    raise ValueError(
                        f"scan {info.name!r}: step {t} returned output {j} of shape "
                        f"{np.shape(value)}, but its state has shape {bufs[j].shape[1:]}; the "
                        f"step must return the shape of outputs_info") from None
            for j in range(info.n_nitsot):
                value = out_cells[n_rec + j][0][0]
                if nit[j] is None:
                    nit[j] = np.empty((n_steps,) + np.shape(value),
                                      dtype=node.outputs[n_rec + j].type.numpy_dtype)
                nit[j][t] = value
            if info.until and bool(out_cells[-1][0][0]):
                done = t + 1
                break
        for j in range(n_rec):
            lb = info.lookback[j]
            if last_only[j]:
                k = (lb + done - 1) % sizes[j]
                out[j][0] = bufs[j][k: k + 1].copy()
            else:
                out[j][0] = bufs[j][lb: lb + done]
        for j in range(info.n_nitsot):
            o = node.outputs[n_rec + j]
            res = nit[j]
            if res is None:  # zero steps
                shape = tuple(0 if s is None else s for s in o.type.shape)
                res = np.zeros(shape, dtype=o.type.numpy_dtype)
            out[n_rec + j][0] = res[:done]

    def infer_shape(self, node, input_shapes):
        n_steps = node.inputs[0]
        if self.info.until:
            raise NotImplementedError("the length of a scan with until is only known at run time")
        res = []
        last_only = self.info.last_only or (False,) * self.info.n_rec
        for j, o in enumerate(node.outputs):
            inner = self.inner_outputs[j]
            if any(s is None for s in inner.type.shape):
                raise NotImplementedError("inner output shape not static")
            length = 1 if j < self.info.n_rec and last_only[j] else n_steps
            res.append((length,) + tuple(inner.type.shape))
        return res

    def L_op(self, inputs, outputs, output_grads):
        from theanine.scan.gradient import scan_grad

        return scan_grad(self, inputs, outputs, output_grads)
