"""Back ends: linkers that turn a FunctionGraph into something that runs.

``vm`` is the NumPy reference virtual machine. Back ends register per-op kernels in
their own tables, keyed by op class; ops never import back ends.
"""

from __future__ import annotations

from typing import Any

_LINKERS: dict[str, Any] = {}


def register_linker(name: str, factory: Any) -> None:
    """Make ``factory()`` available as ``Mode(linker=name)``."""
    _LINKERS[name] = factory


def numba_available() -> bool:
    """Whether the native back end can be used (numba is installed)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def get_linker(name: str) -> Any:
    """A new linker by name (``'auto'``: native code when numba is installed)."""
    if name == "auto":
        name = "numba" if numba_available() else "vm"
    if name == "numba":
        if not numba_available():
            raise ImportError("linker='numba' needs the numba package: pip install numba")
        from theanine.backend.numba import NumbaLinker

        return NumbaLinker()
    if name not in _LINKERS:
        from theanine.backend import vm  # noqa: F401 - registers the reference linkers

    if name not in _LINKERS:
        raise ValueError(f"unknown linker {name!r}; available: {', '.join(sorted(_LINKERS))}")
    return _LINKERS[name]()
