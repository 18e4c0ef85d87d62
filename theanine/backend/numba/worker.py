"""A child process that compiles generated programs into Numba's on-disk cache.

Compiling in the parent, even in a thread, holds the GIL for most of the compilation
and slows the function running on the NumPy VM meanwhile by 5-15x. The parent starts
``python -m theanine.backend.numba.worker`` once and keeps it for its whole life: it
writes one pickled request ``(PROGRAM.py, MODULE, types)`` at a time to the child's
stdin and reads a pickled reply ``(ok, message)`` from its stdout once the program's
machine code is in the cache (then it loads it from there). One process for every
program means Numba's own functions, the runtime modules and the helpers programs share
are compiled once (W4, 2026-12-03: its two scan steps ready 4.9 and 7.1 s after the
start, its training program 12.4 s later, then its test program in 3.1 s, against 3.9-4.4
s in a child of its own). It runs at a lower priority than the parent, so the function
keeps its speed meanwhile; the cost is a slower compile while the function keeps the
cores busy (measured 2026-12-02: at the parent's priority W4's full run took 243 s
instead of 398 s, but steps before native code were 1.5-6x slower in W4, W5, W7 and W8).
It exits when the parent closes its stdin (at the parent's exit, after the compile in
progress).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import traceback

from theanine.backend.numba.optlevel import opt_level


def compile_program(path: str, module_name: str, types: tuple,
                    opt: int | None = None) -> None:
    """Import the program at ``path`` as ``module_name`` and compile it for ``types`` at
    optimisation level ``opt`` (``njit(cache=True)`` writes the result to the cache next
    to the file)."""
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    with opt_level(opt):
        module.program.compile(types)


def serve(requests, replies) -> None:
    """Answer each request read from ``requests`` until it ends."""
    while True:
        try:
            path, module_name, types, opt = pickle.load(requests)
        except EOFError:
            return
        try:
            compile_program(path, module_name, types, opt)
            reply = (True, "")
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which goes on
            tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            reply = (False, f"{type(exc).__name__}: {tail}")
        pickle.dump(reply, replies)
        replies.flush()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m theanine.backend.numba.worker (requests on stdin)",
              file=sys.stderr)
        return 2
    try:
        os.nice(10)
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    # the replies keep the real stdout; anything printed while compiling goes to stderr
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # what every program imports, before the first request (started ahead, see
    # ``background.CompileQueue.prestart``, this process has it ready by then)
    import numba  # noqa: F401
    import theanine.backend.numba.blas_kernels  # noqa: F401
    import theanine.backend.numba.linker  # noqa: F401
    import theanine.backend.numba.vmath  # noqa: F401

    serve(sys.stdin.buffer, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
