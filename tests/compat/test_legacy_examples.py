"""The classic-style programs of examples/legacy/ run unchanged through the alias.

Each script is run as a user would run it, ``python -m theanine.compat
examples/legacy/<name>.py --quick`` from the repository root, in a fresh process.  The
scripts import one another (``from logistic_sgd import load_data``), which works because
the script's folder comes first on ``sys.path``, as with plain ``python``.  The last line
of stdout is parsed and the test asserts that the model learned something: a test
accuracy well above the majority-class rate for the classifiers, a reconstruction cost
well below that of the mean training image for the denoising autoencoder.
"""

import re

import pytest

from tests.compat.conftest import ROOT, run_python

ACCURACY = re.compile(r"^Test accuracy: (\d+\.\d{4}) \(chance (\d+\.\d{4})\)$")
RECONSTRUCTION = re.compile(
    r"^Test reconstruction cost: (\d+(?:\.\d+)?) \(mean-image baseline (\d+(?:\.\d+)?)\)$")


def _above_chance(margin):
    def check(accuracy, chance):
        return accuracy >= chance + margin
    check.describe = f"accuracy >= chance + {margin}"
    return check


def _at_least(threshold):
    def check(accuracy, chance):
        return accuracy >= threshold
    check.describe = f"accuracy >= {threshold}"
    return check


def _below_baseline(ratio):
    def check(cost, baseline):
        return 0.0 < cost <= ratio * baseline
    check.describe = f"0 < cost <= {ratio} x baseline"
    return check


# script -> (pattern of its last line, the check of the two numbers in it).  What quick
# runs printed when the thresholds were set: logistic_sgd 0.9250 (chance 0.6500); mlp
# 0.6640 (chance 0.2680); lenet 0.9070 (chance 0.2680); dA 73.6 (baseline 114.1, 0.65 of
# it); lstm_sst about 0.68 (chance about 0.5).
SCRIPTS = {
    "logistic_sgd": (ACCURACY, _above_chance(0.15)),   # GDP: 40 test countries
    "mlp": (ACCURACY, _above_chance(0.2)),             # the shapes pictures, from here on
    "lenet": (ACCURACY, _above_chance(0.2)),
    "dA": (RECONSTRUCTION, _below_baseline(0.75)),
    "lstm_sst": (ACCURACY, _at_least(0.62)),           # SST-2
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_legacy_example_learns(name):
    pattern, check = SCRIPTS[name]
    # One BLAS thread: on a small machine that is busy with other processes (pytest-xdist,
    # parallel builds) OpenBLAS's threaded kernels can take 100 times longer on these
    # small matrices than single-threaded ones, plain NumPy included.
    proc = run_python(["-m", "theanine.compat", f"examples/legacy/{name}.py", "--quick"],
                      cwd=ROOT, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.rstrip("\n").splitlines()
    assert lines, f"{name}.py printed nothing; stderr:\n{proc.stderr[-3000:]}"
    match = pattern.match(lines[-1])
    assert match, f"unexpected last line of {name}.py: {lines[-1]!r}"
    value, reference = float(match.group(1)), float(match.group(2))
    assert check(value, reference), f"{name}.py: {lines[-1]!r} fails {check.describe}"
