"""Where a workload's native compile time goes.

Usage: python benchmarks/compile_breakdown.py WORKLOAD [--declare-callees] [--opt LEVEL]

Runs the workload once for theanine (``--quick``) with a fresh compile directory,
recording the requests its background compiles send to their child process, then
compiles the same programs again one after another in a fresh process with an empty
Numba cache, and prints for each: its seconds, the part spent in LLVM (Numba's own
``llvm_lock`` timer; the rest is mostly typing and lowering in Python) and the number of
functions Numba compiled for it (its helpers and Numba's own overloads).

``--declare-callees`` is a measurement, not a mode to run programs with: every callee is
linked into its caller as a declaration, resolved by the JIT to the callee's code already
loaded in the process, instead of Numba's copy that each caller optimises and emits again.
The programs compile but are not run (their cache entries, written to a temporary folder,
would not load in another process). On W4, 2026-12-03: 18.1 -> 13.1 s for its five
programs, the training program 10.2 -> 7.4 s (LLVM 5.7 -> 2.9 s).
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def capture(workload: str, out: str) -> None:
    """Run the workload, recording each compile request (in this process)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import worker
    from theanine.backend.numba import background

    requests = []
    compile_in_child = background.Compiler.compile

    def recording(self, path, module_name, types, opt=None):
        requests.append((path, module_name, types, opt))
        return compile_in_child(self, path, module_name, types, opt)
    background.Compiler.compile = recording
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            worker.main([workload, "theanine", "--quick"])
        finally:
            sys.stdout = stdout
    Path(out).write_bytes(pickle.dumps(requests))


def declare_callees() -> None:
    """Link callees as declarations (see the module docstring)."""
    import llvmlite.binding as ll
    from numba.core import codegen

    def module_for_linking(self):
        self._ensure_finalized()
        if getattr(self, "_declarations", None) is None:
            heads = []
            for fn in self._final_module.functions:
                if fn.is_declaration or fn.linkage != ll.Linkage.external:
                    continue
                line = next(t for t in str(fn).splitlines() if t.startswith("define"))
                head = line.rsplit("{", 1)[0].replace("define ", "declare ", 1)
                head = re.sub(r"#\d+|\b(local_unnamed_addr|unnamed_addr|dso_local)\b|"
                              r"personality .*$", "", head)
                heads.append(head.strip())
            mod = self._final_module
            self._declarations = ll.parse_assembly(
                f'target triple = "{mod.triple}"\ntarget datalayout = "{mod.data_layout}"\n'
                + "\n".join(heads))
        return self._declarations
    codegen.CPUCodeLibrary._get_module_for_linking = module_for_linking
    codegen.CPUCodeLibrary._verify_declare_only_symbols = lambda self: None


def replay(requests_file: str, declare: bool, level: int | None) -> None:
    """Compile the recorded programs in order (in this process), one line each, at their
    recorded optimisation level or at ``level``."""
    sys.path.insert(0, str(ROOT))
    if declare:
        declare_callees()
    from numba.core import event

    # what the compiling child imports before its first request
    import theanine.backend.numba.blas_kernels  # noqa: F401
    import theanine.backend.numba.linker  # noqa: F401
    import theanine.backend.numba.vmath  # noqa: F401
    from theanine.backend.numba.worker import compile_program

    print("| program | seconds | LLVM | typing, lowering | functions |\n|---|---|---|---|---|")
    total = 0.0
    for path, name, types, opt in pickle.loads(Path(requests_file).read_bytes()):
        opt = opt if level is None else level
        t0 = time.perf_counter()
        with event.install_recorder("numba:compile") as rec:  # (start, end) per function
            compile_program(path, name, types, opt)
        s = time.perf_counter() - t0
        compiled = [e for _, e in rec.buffer if e.is_start]
        total += s
        llvm = sys.modules[name].program.overloads[types].metadata.get("timers", {}).get(
            "llvm_lock", 0.0)
        print(f"| {name} | {s:.2f} | {llvm:.2f} | {s - llvm:.2f} | {len(compiled)} |",
              flush=True)
    print(f"| all | {total:.2f} | | | |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload")
    ap.add_argument("--declare-callees", action="store_true")
    ap.add_argument("--opt", type=int, choices=range(4), metavar="LEVEL",
                    help="compile at this Numba optimisation level, not config.numba_opt")
    ap.add_argument("--capture", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--replay", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.capture:
        capture(args.workload, args.capture)
        return 0
    if args.replay:
        replay(args.replay, args.declare_callees, args.opt)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, THEANINE_FLAGS=f"compiledir={tmp}/theanine",
                   NUMBA_CACHE_DIR=f"{tmp}/numba-capture", XDG_CACHE_HOME=f"{tmp}/xdg")
        requests = f"{tmp}/requests.pkl"
        me = [sys.executable, __file__, args.workload]
        subprocess.run(me + ["--capture", requests], env=env, check=True)
        env["NUMBA_CACHE_DIR"] = f"{tmp}/numba-replay"  # empty: every program compiles
        subprocess.run(me + ["--replay", requests]
                       + (["--declare-callees"] if args.declare_callees else [])
                       + ([f"--opt={args.opt}"] if args.opt is not None else []),
                       env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
