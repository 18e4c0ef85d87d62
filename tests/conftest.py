"""Test-wide settings.

By default every test compiles for the NumPy VM (the reference back end); the native back
end has its own parity tests in ``tests/backend/``, which compile representative programs
once each. ``pytest --linker=numba`` runs the whole suite again with every function
compiled natively at its first call (``numba_compile='blocking'``, hot after one call):
the op and scan suites then compare the native programs with NumPy/SciPy. It takes
about as long as one Numba compilation per test, so it is not part of the default run;
CI (``.ci/run``) runs it after the default run, on both cores (``-n 2``, pytest-xdist).
"""

import pytest

from theanine import config


def pytest_addoption(parser):
    parser.addoption("--linker", default="vm", choices=("vm", "numba"),
                     help="back end every test compiles for (default: vm)")


@pytest.fixture(autouse=True, scope="session")
def _backend(request):
    linker = request.config.getoption("--linker")
    if linker == "numba":
        pytest.importorskip("numba", reason="--linker=numba needs numba")
        with config.change_flags(linker="numba", numba_compile="blocking", numba_hot_calls=1):
            yield
        return
    with config.change_flags(linker="vm"):
        yield
