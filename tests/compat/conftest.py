"""Fixtures of the compatibility tests: the alias never outlives a test."""

import os
import subprocess
import sys

import pytest

import theanine
from theanine import compat

ROOT = os.path.dirname(os.path.dirname(theanine.__file__))


@pytest.fixture(autouse=True)
def _no_alias_leak():
    assert not compat.is_installed()
    yield
    leaked = compat.is_installed()
    compat.uninstall()
    assert not leaked, "a test left the theano alias installed"
    assert not [n for n in sys.modules if n == "theano" or n.startswith("theano.")]


def run_python(args, cwd=None, **env):
    """Run ``python args...`` with theanine importable; returns the CompletedProcess."""
    environ = dict(os.environ)
    environ.pop("THEANO_FLAGS", None)
    environ.pop("THEANINE_FLAGS", None)
    environ["PYTHONPATH"] = ROOT + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=300)
