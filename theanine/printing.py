"""Seeing graphs: ``debugprint`` (Theano's indented form), ``pp`` (a formula), and
``pydotprint`` (an image through pydot and graphviz)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from theanine.graph.basic import Apply, Constant, Variable
from theanine.graph.op import Op


def _roots(obj: Any) -> tuple[list[Variable], Any]:
    from theanine.compile.function import Function

    if isinstance(obj, Function):
        return list(obj.maker.fgraph.outputs), obj.maker.fgraph
    if hasattr(obj, "outputs") and hasattr(obj, "toposort"):
        return list(obj.outputs), obj
    if isinstance(obj, Apply):
        return list(obj.outputs), None
    if isinstance(obj, Variable):
        return [obj], None
    if isinstance(obj, (list, tuple)):
        out: list[Variable] = []
        for o in obj:
            out.extend(_roots(o)[0])
        return out, None
    raise TypeError(f"debugprint: cannot print {obj!r}")


def debugprint(obj: Any, file: TextIO | str | None = None, print_type: bool = True,
               depth: int = -1, ids: str = "auto") -> str | None:
    """Print a graph in Theano's indented form: op, id, type and name of each variable.

    Parameters
    ----------
    obj : Variable, list of Variable, Apply, FunctionGraph or Function
        A compiled function shows its rewritten graph.
    file : file, 'str' or None
        Where to print; ``'str'`` returns the text instead.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> x = T.dvector('x')
    >>> print(debugprint(T.exp(x) * 2, file='str'))  # doctest: +SKIP
    Elemwise{mul} [id A] <TensorType(float64, shape=(?,))>
     |Elemwise{exp} [id B] <TensorType(float64, shape=(?,))>
     | |x [id C] <TensorType(float64, shape=(?,))>
     |TensorConstant{[2.]} [id D] <TensorType(float64, shape=(1,))>
    """
    roots, _ = _roots(obj)
    names: dict[int, str] = {}
    lines: list[str] = []

    def ident(v: Any) -> str:
        if id(v) not in names:
            n = len(names)
            label = ""
            while True:
                label = chr(ord("A") + n % 26) + label
                n = n // 26 - 1
                if n < 0:
                    break
            names[id(v)] = label
            return f"[id {label}]"
        return f"[id {names[id(v)]}]"

    done: set[int] = set()

    def visit(v: Variable, prefix: str, child_prefix: str, level: int) -> None:
        typ = f" <{v.type}>" if print_type else ""
        name = f" '{v.name}'" if v.name and v.owner is not None else ""
        if v.owner is None:
            label = f"TensorConstant{{{v}}}" if isinstance(v, Constant) else (v.name or
                                                                             f"<{v.type}>")
            lines.append(f"{prefix}{label} {ident(v)}{typ}")
            return
        node = v.owner
        out = f".{v.index}" if len(node.outputs) > 1 else ""
        seen = id(node) in done
        lines.append(f"{prefix}{node.op}{out} {ident(node)}{typ}{name}")
        if seen or (depth != -1 and level >= depth):
            return
        done.add(id(node))
        for k, inp in enumerate(node.inputs):
            last = k == len(node.inputs) - 1
            visit(inp, child_prefix + " |", child_prefix + ("  " if last else " |"), level + 1)

    for r in roots:
        visit(r, "", "", 0)
    text = "\n".join(lines)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return None


def pp(var: Variable) -> str:
    """A readable formula for ``var``.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> x = T.dvector('x')
    >>> pp((x * 2).sum())
    'sum((x * 2.0))'
    """
    node = var.owner
    if node is None:
        return str(var)
    op = node.op
    args = [pp(i) for i in node.inputs]
    scalar = getattr(op, "scalar_op", None)
    if scalar is not None:
        sym = getattr(scalar, "symbol", None)
        if sym and len(args) >= 2:
            return "(" + f" {sym} ".join(args) + ")"
        if sym and len(args) == 1:
            return f"{sym}{args[0]}"
        return f"{scalar.name}({', '.join(args)})"
    name = type(op).__name__
    if name == "DimShuffle":
        return args[0]
    if name == "Reduce":
        axis = "" if len(op.axis) == node.inputs[0].ndim else f", axis={list(op.axis)}"
        return f"{op.kind}({args[0]}{axis})"
    if name == "Dot":
        return f"dot({args[0]}, {args[1]})"
    return f"{op}({', '.join(args)})"


def pydotprint(fct: Any, outfile: str | None = None, format: str = "png",
               var_with_name_simple: bool = False, print_output_file: bool = True,
               return_image: bool = False) -> Any:
    """Draw the graph of a function or variable as an image (needs pydot and graphviz).

    Parameters
    ----------
    fct : Function, Variable or list of Variable
    outfile : str, optional
        Defaults to ``'theanine.pydotprint.<format>'`` in the current directory.
    format : {'png', 'svg', 'pdf', 'dot'}
    """
    try:
        import pydot
    except ImportError:
        raise ImportError("pydotprint needs the Python package pydot: "
                          "pip install pydot (and the graphviz system package, e.g. "
                          "apt-get install graphviz)") from None
    roots, _ = _roots(fct)
    from theanine.graph.basic import ancestors

    graph = pydot.Dot(graph_type="digraph", rankdir="TB")
    ids: dict[int, str] = {}

    def node_id(obj: Any) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    for v in ancestors(roots):
        label = v.name if v.name and (var_with_name_simple or v.owner is None) else str(v.type)
        if isinstance(v, Constant):
            label = f"constant {v}"
        color = "lightblue" if v in roots else ("green" if v.owner is None else "white")
        graph.add_node(pydot.Node(node_id(v), label=label.replace(":", "-"), shape="box",
                                  style="filled", fillcolor=color))
        if v.owner is not None:
            n = v.owner
            graph.add_node(pydot.Node(node_id(n), label=str(n.op).replace(":", "-"),
                                      shape="ellipse"))
            graph.add_edge(pydot.Edge(node_id(n), node_id(v)))
            for i, inp in enumerate(n.inputs):
                graph.add_edge(pydot.Edge(node_id(inp), node_id(n),
                                          label=str(i) if len(n.inputs) > 1 else ""))
    if return_image:
        return graph.create(format=format)
    outfile = outfile or f"theanine.pydotprint.{format}"
    try:
        if format == "dot":
            graph.write_raw(outfile)
        else:
            graph.write(outfile, format=format)
    except FileNotFoundError as exc:
        raise RuntimeError("pydotprint needs graphviz's `dot` program: install the graphviz "
                           "system package (e.g. apt-get install graphviz)") from exc
    if print_output_file:
        print(f"The output file is available at {outfile}")
    return None


class Print(Op):
    """Identity op that prints its input's value (or attributes) each time it is computed.

    Examples
    --------
    >>> import theanine.tensor as T
    >>> x = T.dvector('x')
    >>> y = Print('x is')(x) * 2
    """

    __props__ = ("message", "attrs")

    def __init__(self, message: str = "", attrs: tuple = ("__str__",)) -> None:
        self.message = message
        self.attrs = tuple(attrs)
        self.view_map = {0: [0]}

    def make_node(self, x: Any) -> Apply:
        from theanine.tensor.basic import as_tensor_variable

        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: list, out: list) -> None:
        x = inputs[0]
        for attr in self.attrs:
            value = getattr(x, attr)
            value = value() if callable(value) else value
            print(f"{self.message} {attr} = {value}")
        out[0][0] = x

    def infer_shape(self, node: Apply, input_shapes: list) -> list:
        return [input_shapes[0]]

    def L_op(self, inputs: list, outputs: list, output_grads: list) -> list:
        return [output_grads[0]]
