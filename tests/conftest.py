"""Test-wide settings: the op suite runs on the NumPy VM (the reference back end);
the native back end has its own parity tests in tests/backend/, which compile
representative programs once each (compiling every test's function natively would
take hours)."""

import pytest

from theanine import config


@pytest.fixture(autouse=True, scope="session")
def _reference_backend():
    with config.change_flags(linker="vm"):
        yield
