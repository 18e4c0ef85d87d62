"""Background compilation: the queue of programs waiting for native code and the child
processes (``worker.py``) that compile them into Numba's on-disk cache.

A function never waits for Numba (``numba_compile='background'``): once it is hot, its
runner puts its program in the queue here, and runs on the NumPy VM until the machine
code is in the cache. A few threads (one per core but one: a core stays free for the
functions running meanwhile) each own one child process for the life of this process,
so Numba's own functions, the runtime modules and the helpers shared by several programs
are compiled once, not once per program. The queue serves, in this order:

1. hot inner functions (scan steps, and the VM's nodes with programs of their own:
   ``linker.native_nodes``; the VM calls them until the program containing them is
   ready; they are small and share their kernels with it), unless every program
   containing them is ready, the shortest source first (the sooner ready: W4's
   embedding update, 0.6 s, before its two loops, 6.3 s together);
2. hot functions, in the order they got hot;
3. once nothing hot waits, the functions not called yet, for the argument types their
   graphs declare (a test function compiled while the training function runs).
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import subprocess
import sys
import tempfile
import threading
import weakref
from typing import Any

from theanine.rewrite.rules.fusion import _cores


class BlasCap:
    """While any function's program compiles in a child process, BLAS (NumPy's and
    SciPy's OpenBLAS, through threadpoolctl) runs on one core fewer. Otherwise a BLAS
    worker thread, spinning between the VM's calls, takes the core the child needs and
    the child, niced, starves: on W4 (2 cores) the cap made the steps during the compile
    19.5 -> 16.8 ms and the compile 65 -> 52 s. Applied and lifted only on the thread
    that calls the function, between calls, never while BLAS runs; counted, so the
    first compile applies it and the last one done lifts it."""

    def __init__(self) -> None:
        self._held = 0
        self._limiter: Any = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._held += 1
            if self._held == 1 and _cores() > 1:
                from threadpoolctl import threadpool_limits  # imported by the compile thread

                self._limiter = threadpool_limits(_cores() - 1, user_api="blas")

    def release(self) -> None:
        with self._lock:
            self._held -= 1
            if self._held == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


BLAS_CAP = BlasCap()


class Compiler:
    """One child process compiling programs (``worker.py``): started at the first request,
    started again after it died."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self._log: Any = None

    def start(self) -> None:
        """Start the child process unless it runs."""
        if self.proc is None or self.proc.poll() is not None:
            self._log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "theanine.backend.numba.worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)

    def compile(self, path: str, module_name: str, types: tuple,
                opt: int | None = None) -> str | None:
        """Compile ``module_name`` (the program at ``path``) for ``types`` into the cache,
        at optimisation level ``opt`` (``optlevel.opt_level``); None once done, else why
        it failed."""
        self.start()
        proc = self.proc
        try:
            pickle.dump((path, module_name, types, opt), proc.stdin)
            proc.stdin.flush()
            # blocked in a system call: the GIL stays free for the function's calls
            ok, message = pickle.load(proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            status = proc.wait()
            self.proc = None
            self._log.seek(0)
            tail = self._log.read().decode(errors="replace").strip().splitlines()[-3:]
            return (f"the compiling child process ended (exit status {status}): "
                    f"{' | '.join(tail)}")
        return None if ok else message


def _ahead(runner: Any) -> bool:
    """Whether ``runner`` (or None) is one to compile ahead: alive, never called, not
    compiling, and not an inner function (a scan step is its program's part)."""
    return runner is not None and runner.state == "pending" and not runner.calls \
        and not runner.enclosing


class CompileQueue:
    """The programs waiting for a child process (see the module docstring)."""

    def __init__(self, workers: int | None = None) -> None:
        #: threads (each with its child process) at most; None: one per core but one
        self.workers = workers
        self._cond = threading.Condition()
        self._waiting: list = []  # heap of (rank, size, order, runner, module, types)
        self._order = itertools.count()
        self._uncalled: list = []  # weak references to runners not called yet, in order
        self._threads = 0
        self._building = 0  # requests being compiled now
        self._hot = False  # whether a function got hot: then the others compile ahead

    def busy(self) -> bool:
        """Whether a program is being compiled or waits for a child process (hot ones and
        ahead ones alike)."""
        with self._cond:
            if not self._threads:
                return False
            # (the functions not called yet wait for a hot one: none, if all came from
            # the cache)
            return bool(self._building or self._waiting or self._hot and any(
                _ahead(ref()) for ref in self._uncalled))

    def submit(self, runner: Any, module: Any, types: tuple, rank: int) -> None:
        """Compile ``module`` (``runner``'s program) for ``types``: rank 0 for a hot inner
        function, 1 for a hot function."""
        with self._cond:
            size = len(str(runner.source)) if rank == 0 else 0  # the smaller first
            heapq.heappush(self._waiting, (rank, size, next(self._order), runner, module,
                                           types))
            self._hot = True
            self._start_threads()
            self._cond.notify()

    def prestart(self) -> None:
        """Start the threads and their child processes now, without waiting (a function
        runs: it may get hot soon, and a child takes about a second to import Numba)."""
        with self._cond:
            self._start_threads()

    def _start_threads(self) -> None:
        while self._threads < (max(1, _cores() - 1) if self.workers is None
                               else self.workers):
            self._threads += 1
            threading.Thread(target=self._serve, daemon=True,
                             name="theanine-numba-compile").start()

    def add_uncalled(self, runner: Any) -> None:
        """Compile ``runner``'s program ahead, once nothing hot waits (only in a process
        that compiles something anyway: the threads start with the first submission)."""
        with self._cond:
            if len(self._uncalled) >= 256:  # (a process that never compiles anything)
                self._uncalled = [r for r in self._uncalled if r() is not None]
            self._uncalled.append(weakref.ref(runner))

    def _next(self) -> tuple:
        """The next (runner, module or None, types or None) to compile (None: ahead)."""
        with self._cond:
            while True:
                while self._waiting:
                    *_, runner, module, types = heapq.heappop(self._waiting)
                    if not runner.useless():
                        self._building += 1
                        return runner, module, types
                    runner.state, runner.deferred = "pending", True  # (see NumbaRunner)
                while self._hot and self._uncalled:
                    runner = self._uncalled.pop(0)()
                    if _ahead(runner):
                        runner.state = "compiling"
                        self._building += 1
                        return runner, None, None
                self._cond.wait()

    def _serve(self) -> None:
        compiler = Compiler()
        compiler.start()
        while True:
            runner, module, types = self._next()
            try:
                runner.build(compiler, module, types)
            finally:
                with self._cond:
                    self._building -= 1
            del runner, module  # not kept alive while waiting for the next one


QUEUE = CompileQueue()
