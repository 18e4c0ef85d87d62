"""A child process that compiles one generated program into Numba's on-disk cache.

Compiling in the parent, even in a thread, holds the GIL for most of the compilation
and slows the function running on the NumPy VM meanwhile by 5-15x. The parent starts
``python -m theanine.backend.numba.worker PROGRAM.py MODULE`` with the pickled argument
types on stdin, keeps running, and loads the machine code from the cache when this
process exits with status 0. It runs at a lower priority than the parent, so the function
keeps its speed meanwhile; the cost is a slower compile while the function keeps the cores
busy (measured 2026-12-02: at the parent's priority W4's full run took 243 s instead of
398 s, but steps before native code were 1.5-6x slower in W4, W5, W7 and W8).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys


def compile_program(path: str, module_name: str, types: tuple) -> None:
    """Import the program at ``path`` as ``module_name`` and compile it for ``types``
    (``njit(cache=True)`` writes the result to the cache next to the file)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    module.program.compile(types)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m theanine.backend.numba.worker PROGRAM.py MODULE < types.pkl",
              file=sys.stderr)
        return 2
    try:
        os.nice(10)
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    types = pickle.loads(sys.stdin.buffer.read())
    compile_program(argv[1], argv[2], types)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
