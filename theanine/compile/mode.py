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
        The graph rewrites: ``'fast_run'`` (all), ``'fast_compile'`` (merge, constant
        folding, stability), ``'merge'``, ``None``, or a function rewriting a
        FunctionGraph in place.
    including, excluding : sequence of str
        Extra rewrite tags or rule names to add or remove.

    Examples
    --------
    >>> Mode(linker='vm', optimizer=None)
    Mode(linker='vm', optimizer=None)
    >>> Mode().excluding('fusion').excluding_tags
    ('fusion',)
    """

    def __init__(self, linker: str | None = None, optimizer: Any = "fast_run",
                 name: str | None = None, including: tuple = (), excluding: tuple = ()
                 ) -> None:
        from theanine.config import config

        self.linker = linker or config.linker
        self.optimizer = optimizer
        self.name = name
        self.including_tags = tuple(including)
        self.excluding_tags = tuple(excluding)

    def including(self, *tags: str) -> Mode:
        """This mode with the rewrites tagged ``tags`` added."""
        return Mode(self.linker, self.optimizer, None, self.including_tags + tags,
                    self.excluding_tags)

    def excluding(self, *tags: str) -> Mode:
        """This mode without the rewrites tagged (or named) ``tags``."""
        return Mode(self.linker, self.optimizer, None, self.including_tags,
                    self.excluding_tags + tags)

    def get_rewriter(self) -> Rewriter | None:
        opt = self.optimizer
        if callable(opt):
            return opt
        if opt in _OPTIMIZERS and _OPTIMIZERS[opt] is not None and not (
                self.including_tags or self.excluding_tags):
            return _OPTIMIZERS[opt]
        base = {"fast_run": ["fast_run"], "o4": ["fast_run"], "fast_compile": ["fast_compile"],
                "o1": ["fast_compile"], "merge": ["merge", "final_merge"], None: [],
                "None": [], "": []}
        if opt not in base:
            raise ValueError(f"unknown optimizer {opt!r}; use 'fast_run', 'fast_compile', "
                             f"'merge', None or a function")
        tags = base[opt] + list(self.including_tags)
        if not tags:
            return None
        from theanine.rewrite import rewrites

        return rewrites.query(tags, self.excluding_tags)

    def __repr__(self) -> str:
        if self.name:
            return self.name
        extra = "".join(f", including={self.including_tags}" for _ in [0]
                        if self.including_tags) + "".join(
            f", excluding={self.excluding_tags}" for _ in [0] if self.excluding_tags)
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r}{extra})"


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
