"""``python -m theanine.compat``: run a Theano program on theanine.

Usage::

    python -m theanine.compat program.py [args...]
    python -m theanine.compat -m module [args...]
    python -m theanine.compat -c "code" [args...]

The program runs as ``__main__`` with ``sys.argv`` and ``sys.path[0]`` as Python sets
them, exits with its own status, and its uncaught exceptions are reported by
``sys.excepthook`` without this runner's frames, as Python would.
"""

from __future__ import annotations

import os
import runpy
import sys
import types

from theanine.compat.alias import install

USAGE = """usage: python -m theanine.compat program.py [args...]
       python -m theanine.compat -m module [args...]
       python -m theanine.compat -c "code" [args...]

Runs a Theano 1.0 program with `import theano` resolving to theanine
(THEANO_FLAGS and THEANINE_FLAGS are honoured)."""


def _internal(frame: types.FrameType) -> bool:
    filename = frame.f_code.co_filename
    return filename in (__file__, runpy.__file__) or filename.endswith("runpy>")


def _report(exc: BaseException) -> None:
    """Report an uncaught exception as Python does, minus the runner's frames."""
    tb = exc.__traceback__
    while tb is not None and _internal(tb.tb_frame):
        tb = tb.tb_next
    exc.with_traceback(tb)  # the default hook prints the exception's own traceback
    sys.excepthook(type(exc), exc, tb)


def _run_code(code: str) -> None:
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    exec(compile(code, "<string>", "exec"), module.__dict__)  # noqa: S102 - the user's code


def main(argv: list[str] | None = None) -> int:
    """Run the program named by ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        ``[program.py, args...]``, ``['-m', module, args...]`` or ``['-c', code, args...]``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] in ("-c", "-m") and len(argv) < 2:
        print(f"Argument expected for the {argv[0]} option\n{USAGE}", file=sys.stderr)
        return 2
    install()
    try:
        if argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            sys.path[0] = ""
            _run_code(argv[1])
        elif argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]  # runpy puts the module's file in argv[0]
            sys.path[0] = os.getcwd()
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            program = argv[0]
            if not os.path.exists(program):
                print(f"{sys.executable}: can't open file {os.path.abspath(program)!r}: "
                      f"[Errno 2] No such file or directory", file=sys.stderr)
                return 2
            sys.argv = argv
            sys.path[0] = os.path.dirname(os.path.abspath(program))
            runpy.run_path(program, run_name="__main__")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported as Python reports it
        _report(exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
