"""Workload registry.

To add a workload: write ``wN_name.py`` here with

* ``NAME`` (e.g. ``"W4"``) and ``TITLE``;
* ``METRICS``: a list of :class:`Metric` (the rows of the table, in order);
* one runner per framework family, ``def theano(ctx)``, ``def jax(ctx)``,
  ``def torch(ctx)``, ``def numpy(ctx)`` (a runner named after one framework,
  e.g. ``def pytensor_cvm(ctx)``, overrides its family's runner); each returns a
  dict ``{metric key: value}`` (times in seconds; a missing key shows as "-");

then list the module in ``_MODULES`` below.  ``ctx`` is built by
``benchmarks.frameworks.setup``: ``ctx.quick``, ``ctx.function`` / ``ctx.lib`` /
``ctx.T`` / ``ctx.sigmoid`` / ``ctx.softmax`` / ``ctx.categorical_crossentropy`` /
``ctx.scan`` for the Theano family, ``ctx.jax`` / ``ctx.jnp``, ``ctx.torch``;
``ctx.full`` is set by ``--full`` (metrics marked ``full=True`` are measured only then).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

_MODULES = {
    "W1": "w1_call_latency",
    "W2": "w2_train_step",
    "W3": "w3_gdp_classifier",
    "W4": "w4_gru_sst",
    "W5": "w5_mlp_step",
    "W6": "w6_elementwise",
    "W7": "w7_deep_mlp",
    "W8": "w8_lenet",
}

DATA_DIR = Path(__file__).resolve().parents[2] / "theanine" / "datasets" / "data"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str = "us"          # us, ms, s (values stored in seconds), "x" (a multiple),
    #                           or "value" / "text"
    better: str | None = "lower"  # "lower", "higher" or None (no ratio)
    compile: bool = False     # a compile-time row: also measured warm with --warm
    full: bool = False        # measured only with --full (slow): shown only then
    warm_twin: bool = False   # with --warm, also show the warm process's value (e.g. the
    #                           steady-state step time of a JIT that compiles in the background)


def names() -> list[str]:
    return list(_MODULES)


def load(name: str):
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")


def runner_for(module, framework: str, family: str, own_only: bool = False):
    """The workload's runner for ``framework``: its own, else its family's (unless
    ``own_only``); None if neither."""
    own = getattr(module, framework.replace("-", "_"), None)
    return own if own is not None or own_only else getattr(module, family, None)
