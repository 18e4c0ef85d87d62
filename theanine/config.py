"""Typed configuration flags.

Flags are read, in increasing priority, from ``~/.theaninerc`` (``key = value`` lines
under any section), ``THEANO_FLAGS`` and ``THEANINE_FLAGS`` (comma-separated
``key=value`` pairs, as in Theano), and can be set in code (``config.floatX = 'float32'``)
or temporarily with :meth:`Config.change_flags`.

Examples
--------
>>> from theanine import config
>>> with config.change_flags(floatX="float32"):
...     config.floatX
'float32'
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class _Flag:
    name: str
    default: Any
    doc: str
    choices: tuple | None = None
    convert: Callable[[str], Any] = str


def _bool(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean (True/False), got {text!r}")


def _device(text: str) -> str:
    text = str(text)
    if text == "cpu" or text == "cuda" or text.startswith("cuda") or text.startswith("gpu"):
        return text
    raise ValueError(f"expected 'cpu', 'cuda', 'cudaN' or 'gpuN', got {text!r}")


_FLAGS = [
    _Flag("floatX", "float64", "Default float dtype of variables and constants.",
          ("float64", "float32", "float16")),
    _Flag("device", "cpu", "Where functions run: 'cpu' or 'cuda' (needs cupy).", None, _device),
    _Flag("mode", "FAST_RUN", "Default compilation mode.",
          ("FAST_RUN", "FAST_COMPILE", "DebugMode", "Mode")),
    _Flag("optimizer", "fast_run", "Default graph optimizer.",
          ("fast_run", "fast_compile", "merge", "None", "o4", "o1")),
    _Flag("linker", "auto", "Default linker: 'auto' is native code (numba) when installed.",
          ("auto", "vm", "py", "cvm", "c|py", "numba")),
    _Flag("profile", False, "Profile every compiled function.", None, _bool),
    _Flag("compiledir", os.path.join(os.path.expanduser("~"), ".cache", "theanine"),
          "Where compiled code is cached."),
    _Flag("numba_compile", "background",
          "How native code is compiled: in a child process filling the on-disk cache "
          "('background': the function runs on the NumPy VM meanwhile, at full speed), in a "
          "thread of this process ('thread': it holds the GIL and slows the VM) or at once, "
          "blocking the call that triggers it ('blocking').",
          ("background", "thread", "blocking")),
    _Flag("numba_opt", 1, "LLVM optimisation level (0-3) of native programs: 1 compiles "
          "faster than Numba's default 3, with steps as fast on theanine's benchmarks "
          "(see backend/numba/optlevel.py).", (0, 1, 2, 3), int),
    _Flag("numba_hot_calls", 3, "Calls after which a function's native program is compiled "
          "(1: at the first call).", None, int),
    _Flag("openmp", True, "Evaluate large fused element-wise expressions on every core "
          "(Theano's flag; theanine uses threads running NumPy's SIMD kernels).", None, _bool),
    _Flag("openmp_elemwise_minsize", 1_000_000, "Elements from which `openmp` splits an "
          "element-wise expression across cores.", None, int),
    _Flag("malloc_threshold", 1 << 25, "Bytes below which the C allocator (glibc) keeps "
          "freed blocks for reuse, set when the first function is compiled: arrays a call "
          "allocates then reuse warm memory, not fresh pages (0, set before the first compile: "
          "the C library's own rules).",
          None, int),
    _Flag("on_opt_error", "warn", "What a failing rewrite does.", ("warn", "raise", "ignore")),
    _Flag("exception_verbosity", "low", "Detail of runtime error messages.", ("low", "high")),
    _Flag("warn_float64", "ignore", "What creating a float64 variable does.",
          ("ignore", "warn", "raise")),
    _Flag("compute_test_value", "off", "Accepted for compatibility; test values are not used.",
          ("off", "ignore", "warn", "raise")),
    _Flag("cast_policy", "custom", "Accepted for compatibility.", ("custom", "numpy+floatX")),
]


class Config:
    """The flags of theanine; the only global state of the library."""

    def __init__(self) -> None:
        object.__setattr__(self, "_flags", {f.name: f for f in _FLAGS})
        object.__setattr__(self, "_values", {f.name: f.default for f in _FLAGS})
        self._load_environment()

    # -- reading and writing -------------------------------------------------
    def _check(self, name: str, value: Any) -> Any:
        flags = object.__getattribute__(self, "_flags")
        if name not in flags:
            raise AttributeError(
                f"unknown config flag {name!r}; valid flags are: {', '.join(sorted(flags))}"
            )
        flag = flags[name]
        try:
            value = flag.convert(value) if isinstance(value, str) or flag.convert is _bool \
                else value
        except ValueError as exc:
            raise ValueError(f"bad value for config flag {name!r}: {exc}") from None
        if flag.choices is not None and value not in flag.choices:
            raise ValueError(
                f"bad value {value!r} for config flag {name!r}; valid choices are: "
                f"{', '.join(map(str, flag.choices))}"
            )
        return value

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(
            f"unknown config flag {name!r}; valid flags are: {', '.join(sorted(values))}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__getattribute__(self, "_values")[name] = self._check(name, value)

    def __dir__(self) -> list[str]:
        return sorted(object.__getattribute__(self, "_values"))

    def __str__(self) -> str:
        values = object.__getattribute__(self, "_values")
        return "\n".join(f"{k} = {v!r}" for k, v in sorted(values.items()))

    @contextlib.contextmanager
    def change_flags(self, **kwargs: Any) -> Iterator[Config]:
        """Set flags for the duration of a ``with`` block.

        Examples
        --------
        >>> with config.change_flags(floatX="float32"):
        ...     pass
        """
        values = object.__getattribute__(self, "_values")
        checked = {k: self._check(k, v) for k, v in kwargs.items()}
        old = {k: values[k] for k in checked}
        values.update(checked)
        try:
            yield self
        finally:
            values.update(old)

    # -- sources -------------------------------------------------------------
    def _load_environment(self) -> None:
        rc = os.path.expanduser(os.environ.get("THEANINERC", "~/.theaninerc"))
        if os.path.isfile(rc):
            with open(rc, encoding="utf-8") as fh:
                for line in fh:
                    line = line.split("#", 1)[0].strip()
                    if "=" in line and not line.startswith("["):
                        key, value = (s.strip() for s in line.split("=", 1))
                        self._set_from_text(key, value, rc)
        for var in ("THEANO_FLAGS", "THEANINE_FLAGS"):
            for item in os.environ.get(var, "").split(","):
                item = item.strip()
                if not item:
                    continue
                if "=" not in item:
                    raise ValueError(f"{var}: expected key=value, got {item!r}")
                key, value = (s.strip() for s in item.split("=", 1))
                self._set_from_text(key, value, var)

    def _set_from_text(self, key: str, value: str, source: str) -> None:
        if key.startswith("gpuarray.") or key.startswith("blas.") or key.startswith("lib."):
            return  # Theano back-end tuning flags: meaningless here, accepted silently.
        try:
            setattr(self, key, value)
        except AttributeError as exc:
            if source != "THEANO_FLAGS":
                raise AttributeError(f"{source}: {exc}") from None
            # a Theano 1.0 setting (nvcc.fastmath, allow_gc, ...) that theanine has no use
            # for: Theano itself only warned about flags it did not know
            import warnings

            warnings.warn(f"THEANO_FLAGS: theanine ignores the flag {key!r} (no such setting "
                          f"in theanine)", stacklevel=3)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None


config = Config()
change_flags = config.change_flags
