"""The frameworks (columns of the table) and how a child process sets each one up.

Each framework has a ``family``: a workload module provides one runner per family
(``theano`` covers theanine and every PyTensor mode, which run the very same
classic-Theano code), and may override it for one framework by defining a runner
under the framework's own name.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from types import SimpleNamespace


@dataclass(frozen=True)
class Framework:
    name: str          # column name / CLI name
    family: str        # runner key in workload modules: theano, jax, torch, numpy
    label: str         # table header
    python: str        # "theanine" (repo python) or "peers" (the peers' venv)
    probe: str         # module whose import decides "installed"
    options: dict = field(default_factory=dict)


FRAMEWORKS: dict[str, Framework] = {
    f.name: f
    for f in [
        Framework("theanine", "theano", "theanine", "theanine", "theanine"),
        Framework("theanine-fast-compile", "theano", "theanine FAST_COMPILE", "theanine",
                  "theanine", {"mode": "FAST_COMPILE"}),
        Framework("pytensor", "theano", "PyTensor (Numba)", "peers", "pytensor", {"mode": "NUMBA"}),
        Framework("pytensor-cvm", "theano", "PyTensor CVM (C)", "peers", "pytensor", {"mode": "CVM"}),
        Framework("pytensor-fast-compile", "theano", "PyTensor FAST_COMPILE", "peers", "pytensor",
                  {"mode": "FAST_COMPILE"}),
        Framework("jax", "jax", "JAX jit", "peers", "jax"),
        # the spec's best peer of W4's full run: sentences padded to a few lengths by hand
        # (only workloads with a runner of that name: the others are n/a)
        Framework("jax-padded", "jax", "JAX jit, padded by hand", "peers", "jax",
                  {"own_runner": True}),
        Framework("torch", "torch", "PyTorch eager", "peers", "torch"),
        Framework("numpy", "numpy", "NumPy by hand", "peers", "numpy"),
    ]
}


def is_theanine(name: str) -> bool:
    """theanine itself or one of its modes (not a peer)."""
    return FRAMEWORKS[name].python == "theanine"


def setup(fw: Framework, quick: bool, warm_cache: bool, full: bool = False) -> SimpleNamespace:
    """Import the framework (timed) and build the context handed to a workload runner."""
    ctx = SimpleNamespace(framework=fw.name, family=fw.family, quick=quick, full=full,
                          versions={})
    t0 = time.perf_counter()
    if fw.family == "theano":
        if fw.python == "theanine":
            lib = importlib.import_module("theanine")
            T = importlib.import_module("theanine.tensor")
            ctx.sigmoid = lambda v: T.nnet.sigmoid(v)
            ctx.softmax = lambda v: T.nnet.softmax(v)
            ctx.categorical_crossentropy = T.nnet.categorical_crossentropy
            mode = fw.options.get("mode")
        else:
            lib = importlib.import_module("pytensor")
            T = importlib.import_module("pytensor.tensor")
            from pytensor.tensor.special import softmax

            ctx.sigmoid = T.sigmoid
            ctx.softmax = lambda v: softmax(v, axis=-1)
            # pytensor has no nnet module: Theano's CrossentropyCategorical1Hot, spelled out
            ctx.categorical_crossentropy = lambda p, y: -T.log(p[T.arange(y.shape[0]), y])
            mode = fw.options["mode"]
            if mode == "CVM":
                from pytensor.compile.mode import Mode

                mode = Mode(linker="cvm", optimizer="fast_run")
        # (read from the installed metadata: importing numba here would take its import
        # off theanine's timed first call)
        ctx.versions[f"numba ({fw.python})"] = _installed_version("numba")
        ctx.lib, ctx.T, ctx.mode, ctx.scan = lib, T, mode, lib.scan
        ctx.versions[fw.probe] = getattr(lib, "__version__", "?")

        def function(inputs, outputs, **kw):
            if mode is not None:
                kw.setdefault("mode", mode)
            return lib.function(inputs, outputs, **kw)

        ctx.function = function
    elif fw.family == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # W is float64, as in the Theano graphs
        if warm_cache:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        import jax.numpy as jnp

        ctx.jax, ctx.jnp = jax, jnp
        ctx.versions["jax"] = jax.__version__
    elif fw.family == "torch":
        import torch

        ctx.torch = torch
        ctx.versions["torch"] = torch.__version__
        ctx.threads = torch.get_num_threads()
    ctx.import_s = time.perf_counter() - t0
    import numpy

    ctx.versions["numpy"] = numpy.__version__
    try:  # the BLAS kernels in use: OPENBLAS_CORETYPE can select slower ones (see run.py)
        from threadpoolctl import threadpool_info

        blas = sorted({f"{i['internal_api']} {i['version']} {i.get('architecture')}"
                       for i in threadpool_info() if i["user_api"] == "blas"})
        ctx.versions[f"BLAS ({fw.python})"] = "; ".join(blas)
    except ImportError:
        ctx.versions[f"BLAS ({fw.python})"] = "unknown (threadpoolctl is not installed)"
    return ctx


def native_info(f) -> dict | None:
    """Diagnostics only: the state of a theanine function's native program (its Numba
    linker compiles in a background thread once the function is hot; until then calls run
    on the NumPy VM).  None for anything else."""
    run = getattr(f, "_run", None)
    if run is None or not hasattr(run, "state"):
        return None
    return {"state": run.state, "numba_compile_s": getattr(run, "compile_time", None),
            "vm_calls": getattr(run, "calls", None), "fallbacks": getattr(run, "fallbacks", None)}


def _installed_version(dist: str) -> str | None:
    """The version of the installed distribution ``dist``, without importing it."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
