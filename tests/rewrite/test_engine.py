"""The equilibrium driver offers each node only the rules that track its op (by class,
Elemwise scalar op name, or op instance) and gives the same graph as trying every rule."""

import theanine.tensor as T
from theanine.graph.fg import FunctionGraph
from theanine.rewrite.engine import EquilibriumRewriter, node_rewriter
from theanine.tensor.elemwise import DimShuffle, Elemwise


def _graph():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    return FunctionGraph([x, y], [T.exp(x) * y + x.T.sum(), T.log(y)])


def test_rules_see_only_the_ops_they_track():
    seen: dict[str, list[str]] = {"class": [], "name": [], "all": [], "instance": []}
    log_op = T.log(T.dscalar()).owner.op

    @node_rewriter([DimShuffle])
    def by_class(fgraph, node):
        seen["class"].append(str(node.op))

    @node_rewriter(["exp"])
    def by_name(fgraph, node):
        seen["name"].append(str(node.op))

    @node_rewriter()
    def every(fgraph, node):
        seen["all"].append(str(node.op))

    @node_rewriter([log_op])
    def by_instance(fgraph, node):
        seen["instance"].append(str(node.op))

    fg = _graph()
    EquilibriumRewriter([by_class, by_name, every, by_instance]).apply(fg)
    n_nodes = len(fg.apply_nodes)
    assert len(seen["all"]) == n_nodes
    assert seen["class"] and all("DimShuffle" in s for s in seen["class"])
    assert seen["name"] == [str(T.exp(T.dscalar()).owner.op)]
    assert seen["instance"] == [str(log_op)]
    assert by_class.static_match(DimShuffle, None) is True
    assert by_class.static_match(Elemwise, "exp") is False
    assert by_name.static_match(Elemwise, "exp") is True
    assert by_instance.static_match(Elemwise, "log") is None  # decided per node


def test_a_firing_rule_rewrites_to_the_same_graph_as_before():
    @node_rewriter(["exp"])
    def exp_to_log(fgraph, node):
        return [T.log(node.inputs[0])]

    fg = _graph()
    assert EquilibriumRewriter([exp_to_log]).apply(fg) == 1
    names = sorted(str(n.op) for n in fg.apply_nodes)
    assert not any("exp" in n for n in names)
    assert sum("log" in n for n in names) == 2


def test_nodes_a_replacement_introduces_are_rewritten_in_the_same_pass():
    """``x.shape`` of a 60-link chain resolves to the input's shape although every link
    of shape inference creates the next Shape node (one pass per link hit the cap)."""
    import numpy as np

    import theanine as th
    from theanine.rewrite.rules.basic import shape_inference
    from theanine.tensor.shape import Shape

    x = T.dmatrix("x")
    h = x
    for _ in range(60):
        h = T.tanh(h + 1.0)
    fg = FunctionGraph([x], [h.shape[0]])
    driver = EquilibriumRewriter([shape_inference], max_passes=3)
    assert driver.apply(fg) >= 60
    shapes = [n for n in fg.apply_nodes if isinstance(n.op, Shape)]
    assert [n.inputs[0] for n in shapes] == [fg.inputs[0]]
    assert not any("tanh" in str(n.op) for n in fg.apply_nodes)
    f = th.function([x], h.shape[0])
    assert f(np.zeros((4, 2))) == 4
    # in a compiled function, the chain is fused into one loop
    layers = T.dmatrix("x")
    y = layers
    for _ in range(30):
        y = T.tanh(y + 1.0)
    g = th.function([layers], [y, y.shape[0]])
    elemwise = [n for n in g.maker.fgraph.apply_nodes if isinstance(n.op, Elemwise)]
    assert len(elemwise) == 1, [str(n.op) for n in elemwise]
