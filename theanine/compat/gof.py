"""Theano 1.0's ``theano.gof``: the graph types, under their Theano names.

Under the alias, ``from theano.gof import Op, Apply, Variable`` reads this module;
``theano.gof.graph``, ``theano.gof.fg``, ``theano.gof.op`` and ``theano.gof.type`` are
theanine's ``theanine.graph.basic``, ``.fg``, ``.op`` and ``.type``.
"""

from theanine.graph import basic as graph  # noqa: F401
from theanine.graph import fg, op, type  # noqa: F401,A004
from theanine.graph.basic import (  # noqa: F401
    Apply, Constant, Variable, ancestors, clone_replace, graph_inputs, toposort,
)
from theanine.graph.fg import Feature, FunctionGraph  # noqa: F401
from theanine.graph.op import Op  # noqa: F401
from theanine.graph.type import Type  # noqa: F401

inputs = graph_inputs
