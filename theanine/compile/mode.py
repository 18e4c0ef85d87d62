"""Compilation modes: which graph rewrites run and which linker executes the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from theanine.graph.fg import FunctionGraph

Rewriter = Callable[[FunctionGraph], Any]
_OPTIMIZERS: dict[str, Rewriter | None] = {"None": None, "": None}


def register_optimizer(name: str, rewriter: Rewriter | None) -> None:
    """Make ``rewriter`` (a function that rewrites a FunctionGraph in place) selectable
    by name, e.g. ``Mode(optimizer=name)``."""
    _OPTIMIZERS[name] = rewriter


class Mode:
    """How a function is compiled.

    Parameters
    ----------
    linker : str
        The back end: ``'vm'`` (NumPy reference; also ``'py'``, ``'cvm'``, ``'auto'``).
    optimizer : str, callable or None
        The graph rewrites: ``'fast_run'``, ``'fast_compile'``, ``None``, or a function
        rewriting a FunctionGraph in place.

    Examples
    --------
    >>> Mode(linker='vm', optimizer=None)
    Mode(linker='vm', optimizer=None)
    """

    def __init__(self, linker: str | None = None, optimizer: Any = "fast_run",
                 name: str | None = None) -> None:
        from theanine.config import config

        self.linker = linker or config.linker
        self.optimizer = optimizer
        self.name = name

    def get_rewriter(self) -> Rewriter | None:
        opt = self.optimizer
        if opt is None or callable(opt):
            return opt
        if opt not in _OPTIMIZERS:
            try:
                import theanine.rewrite  # noqa: F401 - registers the rewrite pipelines
            except ImportError:
                pass
        if opt in _OPTIMIZERS:
            return _OPTIMIZERS[opt]
        if opt in ("fast_run", "fast_compile", "merge", "o4", "o1"):
            return None  # no rewrites are registered yet under this name
        raise ValueError(f"unknown optimizer {opt!r}; available: "
                         f"{', '.join(sorted(k for k in _OPTIMIZERS if k))}")

    def __repr__(self) -> str:
        if self.name:
            return self.name
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r})"


_PREDEFINED = {
    "FAST_RUN": ("auto", "fast_run"),
    "FAST_COMPILE": ("vm", "fast_compile"),
    "DebugMode": ("vm", "fast_run"),
    "Mode": ("auto", "fast_run"),
}


def get_mode(mode: Any) -> Mode:
    """Resolve ``mode`` (None, a name such as 'FAST_RUN', or a Mode) into a Mode."""
    from theanine.config import config

    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str) and mode in _PREDEFINED:
        linker, opt = _PREDEFINED[mode]
        if mode in ("FAST_RUN", "Mode") and config.optimizer != "fast_run":
            opt = config.optimizer
        if config.linker != "auto" and mode != "FAST_COMPILE":
            linker = config.linker
        return Mode(linker, opt, name=mode)
    raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(_PREDEFINED)} or a Mode")


FAST_RUN = "FAST_RUN"
FAST_COMPILE = "FAST_COMPILE"
