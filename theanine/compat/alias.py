"""The import hook that makes ``import theano`` resolve to theanine.

A :class:`TheanoAliasFinder` on ``sys.meta_path`` answers every import of ``theano`` or
``theano.X.Y`` with the module ``theanine.X.Y`` itself (the same module object, so
``theano.tensor is theanine.tensor``), or, for the Theano 1.0 paths whose theanine module
has another name, with the module named in :data:`ALIASES` (``theano.scan_module`` is
``theanine.scan``). Targets are imported only when the Theano path is imported, so a
module that does not exist gives an ``ImportError`` naming both the Theano path and the
theanine module it maps to.

The finder is the one piece of global state of theanine besides ``theanine.config``: it
is installed by :func:`install` (or ``python -m theanine.compat``) and removed by
:func:`uninstall`. Nothing named ``theano`` is ever written to disk, so a real Theano
installation is shadowed only while the alias is installed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

#: Theano 1.0 module paths whose theanine module has another name (longest prefix wins;
#: every other ``theano.X`` path maps to ``theanine.X``).
ALIASES: dict[str, str] = {
    "theano": "theanine",
    "theano.compat": "theanine.compat.python2x",
    "theano.compat.python2x": "theanine.compat.python2x",
    "theano.configparser": "theanine.config",
    "theano.compile.sharedvalue": "theanine.compile.shared",
    "theano.compile.function_module": "theanine.compile.function",
    "theano.compile.io": "theanine.compile.function",
    "theano.gof": "theanine.compat.gof",
    "theano.gof.graph": "theanine.graph.basic",
    "theano.gof.fg": "theanine.graph.fg",
    "theano.gof.op": "theanine.graph.op",
    "theano.gof.type": "theanine.graph.type",
    "theano.scan_module": "theanine.scan",
    "theano.scan_module.scan": "theanine.scan.api",
    "theano.scan_module.scan_utils": "theanine.scan.api",
    "theano.scan_module.scan_op": "theanine.scan.op",
    "theano.tensor.var": "theanine.tensor.variable",
    "theano.tensor.sharedvar": "theanine.compile.shared",
    "theano.tensor.extra_ops": "theanine.tensor.extra",
    "theano.tensor.nnet.nnet": "theanine.tensor.nnet.basic",
    "theano.tensor.nnet.sigm": "theanine.tensor.nnet.basic",
    "theano.tensor.nnet.abstract_conv": "theanine.tensor.nnet.conv",
}

#: The Theano 1.0 module paths that classic programs import (checked by the test suite).
CLASSIC_PATHS: tuple[str, ...] = (
    "theano", "theano.tensor", "theano.tensor.nnet", "theano.tensor.nnet.conv",
    "theano.tensor.nnet.bn", "theano.tensor.nnet.abstract_conv", "theano.tensor.nnet.nnet",
    "theano.tensor.signal", "theano.tensor.signal.pool", "theano.tensor.signal.downsample",
    "theano.tensor.shared_randomstreams", "theano.tensor.sharedvar", "theano.tensor.var",
    "theano.tensor.extra_ops", "theano.tensor.basic", "theano.tensor.elemwise",
    "theano.tensor.subtensor", "theano.tensor.type", "theano.sandbox",
    "theano.sandbox.rng_mrg", "theano.ifelse", "theano.printing", "theano.gradient",
    "theano.compile", "theano.compile.sharedvalue", "theano.compile.function_module",
    "theano.compile.io", "theano.compile.mode", "theano.compile.profiling",
    "theano.scan_module", "theano.scan_module.scan_utils", "theano.misc",
    "theano.misc.pkl_utils", "theano.gof", "theano.gof.graph", "theano.scalar",
    "theano.configparser", "theano.compat",
)

_PREFIX = "theano"
_TARGET = "theanine"


def resolve(name: str) -> str:
    """The theanine module that the Theano module path ``name`` maps to.

    Examples
    --------
    >>> resolve("theano.tensor.nnet")
    'theanine.tensor.nnet'
    >>> resolve("theano.scan_module.scan_utils")
    'theanine.scan.api'
    """
    if name != _PREFIX and not name.startswith(_PREFIX + "."):
        raise ValueError(f"{name!r} is not a theano module path")
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        head = ".".join(parts[:k])
        if head in ALIASES:
            return ".".join([ALIASES[head], *parts[k:]])
    raise AssertionError("unreachable: 'theano' is in ALIASES")  # pragma: no cover


def _is_alias_name(name: str) -> bool:
    return name == _PREFIX or name.startswith(_PREFIX + ".")


def _is_theanine_module(module: object) -> bool:
    name = getattr(module, "__name__", None)
    return isinstance(module, ModuleType) and isinstance(name, str) and (
        name == _TARGET or name.startswith(_TARGET + "."))


class _AliasLoader(importlib.abc.Loader):
    """Loads ``theano.X`` by importing its theanine module and putting that module in
    ``sys.modules`` under the Theano name (the import system returns what is there)."""

    def __init__(self, finder: TheanoAliasFinder, target: str) -> None:
        self.finder = finder
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder, replaced in exec_module

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        real = importlib.import_module(self.target)
        parent, _, child = name.rpartition(".")
        if parent and child != self.target.rpartition(".")[2]:
            # the import system will set ``parent.child``; a renamed path's attribute is
            # not theanine's own, so remember it for uninstall()
            holder = sys.modules.get(parent)
            if holder is not None and not hasattr(holder, child):
                self.finder._added_attributes.append((holder, child, real))
        sys.modules[name] = real
        self.finder.mirror()


class TheanoAliasFinder(importlib.abc.MetaPathFinder):
    """Meta path finder mapping ``theano`` and ``theano.X.Y`` to theanine's modules."""

    def __init__(self) -> None:
        self._added_attributes: list[tuple[ModuleType, str, ModuleType]] = []
        self._lock = threading.RLock()

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not _is_alias_name(fullname):
            return None
        real = resolve(fullname)
        try:
            spec = importlib.util.find_spec(real)
        except ModuleNotFoundError as exc:
            # a missing theanine package on the way to ``real``; any other missing module
            # is a genuine error of the target and propagates as is
            if exc.name is None or not (real == exc.name or real.startswith(exc.name + ".")):
                raise
            spec = None
        if spec is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: theanine's theano alias maps it to "
                f"{real!r}, which does not exist (it may not be implemented yet)",
                name=fullname)
        return importlib.util.spec_from_loader(
            fullname, _AliasLoader(self, real),
            is_package=spec.submodule_search_locations is not None)

    def mirror(self) -> None:
        """Register every imported theanine module under its Theano name too.

        Imports of those names are then answered from ``sys.modules`` directly, so the
        import system never sets their parent's attribute (which would replace, say, the
        function ``theanine.compile.function`` by the module of the same name).
        """
        with self._lock:
            modules = sys.modules
            for name, module in list(modules.items()):
                if module is None or not _is_theanine_module(module) or not (
                        name == _TARGET or name.startswith(_TARGET + ".")):
                    continue
                alias = _PREFIX + name[len(_TARGET):]
                if alias not in modules and resolve(alias) == name:
                    modules[alias] = module
            for alias, real in ALIASES.items():
                if alias in modules:
                    continue
                if modules.get(real) is not None:
                    modules[alias] = modules[real]
                    continue
                # a renamed path whose parent holds another object under its name (the
                # package ``theanine.compat`` for ``theano.compat``): importing it through
                # the loader would replace that attribute, so register it now
                parent, _, child = alias.rpartition(".")
                holder = modules.get(parent)
                if holder is not None and child in getattr(holder, "__dict__", {}):
                    try:
                        modules[alias] = importlib.import_module(real)
                    except ImportError:
                        pass  # imported (and reported) when the program asks for it

    def unmirror(self) -> None:
        """Remove the Theano names from ``sys.modules`` and the attributes added for them."""
        with self._lock:
            for name in [n for n in list(sys.modules) if _is_alias_name(n)]:
                if _is_theanine_module(sys.modules.get(name)):
                    del sys.modules[name]
            for holder, child, real in self._added_attributes:
                if getattr(holder, child, None) is real:
                    delattr(holder, child)
            self._added_attributes.clear()


def _installed() -> TheanoAliasFinder | None:
    for finder in sys.meta_path:
        if isinstance(finder, TheanoAliasFinder):
            return finder
    return None


def is_installed() -> bool:
    """Whether the ``theano`` alias is active in this process."""
    return _installed() is not None


def install() -> None:
    """Make ``import theano`` (and every ``theano.X.Y``) resolve to theanine in this process.

    Idempotent. Raises ``RuntimeError`` when a real Theano is already imported (its
    modules cannot be replaced under the code holding them).

    Examples
    --------
    >>> import theanine.compat
    >>> theanine.compat.install()
    >>> import theano.tensor as T
    >>> import theanine.tensor
    >>> T is theanine.tensor
    True
    >>> theanine.compat.uninstall()
    """
    if _installed() is not None:
        return
    real = sys.modules.get(_PREFIX)
    if real is not None and not _is_theanine_module(real):
        raise RuntimeError(
            f"a real Theano is already imported ({getattr(real, '__file__', real)}); "
            f"install the theanine alias before anything imports theano")
    finder = TheanoAliasFinder()
    sys.meta_path.insert(0, finder)
    finder.mirror()


def uninstall() -> None:
    """Remove the alias: ``theano`` names leave ``sys.modules`` and imports of ``theano``
    find a real Theano again (if one is installed). Modules already bound by user code
    keep working. Idempotent."""
    while (finder := _installed()) is not None:
        sys.meta_path.remove(finder)
        finder.unmirror()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """The alias for the duration of a ``with`` block (uninstalled after it, unless it
    was installed before)."""
    was = is_installed()
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()
