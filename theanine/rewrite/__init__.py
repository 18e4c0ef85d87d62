"""Graph rewriting: the engine, the tagged registry and the rules.

Importing this package registers the rules; modes query them by tag
(``'fast_run'``, ``'fast_compile'``, ``'stabilize'``, ``'fusion'``, ``'inplace'``...).
"""

from theanine.rewrite.db import RewriteDB, register, rewrites  # noqa: F401
from theanine.rewrite.engine import (  # noqa: F401
    E, EquilibriumRewriter, GraphPass, NodeRewriter, PatternRewriter, SequenceRewriter,
    node_rewriter,
)
from theanine.rewrite.rules import basic, canonicalize, fusion, inplace, specialize, stabilize  # noqa: F401,E501


from theanine.scan import rewrites as _scan_rewrites  # noqa: F401,E402


def applied(fn) -> list[tuple[str, str]]:
    """The rewrites that fired while compiling ``fn``: ``(rule, node)`` pairs."""
    return list(getattr(fn.maker.fgraph, "rewrite_log", []))
