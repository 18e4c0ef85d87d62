"""Run Theano 1.0 programs unchanged: the ``theano`` alias.

``python -m theanine.compat program.py [args]`` runs ``program.py`` as ``__main__`` with
``import theano`` (and ``import theano.tensor as T``, ``from theano import config``,
``theano.sandbox.rng_mrg``, ...) resolving to theanine; ``THEANO_FLAGS`` is honoured.
Inside a running process (a notebook), :func:`install` does the same and
:func:`uninstall` undoes it.

Nothing named ``theano`` is installed on disk: a real Theano installation is shadowed
only while the alias is installed.

Examples
--------
>>> import theanine.compat
>>> with theanine.compat.installed():
...     import theano, theano.tensor as T
...     x = T.dscalar('x')
...     f = theano.function([x], 2 * x)
...     float(f(3.0))
6.0
"""

from theanine.compat.alias import (  # noqa: F401
    ALIASES, CLASSIC_PATHS, TheanoAliasFinder, install, installed, is_installed, resolve,
    uninstall,
)

__all__ = ["ALIASES", "CLASSIC_PATHS", "TheanoAliasFinder", "install", "installed",
           "is_installed", "resolve", "uninstall"]
