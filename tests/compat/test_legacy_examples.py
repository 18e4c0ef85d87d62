"""The classic-style programs of examples/legacy/ run unchanged through the alias.

Each script is run as a user would, ``python -m theanine.compat examples/legacy/X.py
--quick``, in a fresh process; the test parses its last line and asserts the model
learned: well better than chance for the classifiers, well below the mean-image
baseline for the denoising autoencoder.
"""

import os
import re

import pytest

from tests.compat.conftest import ROOT, run_python

LEGACY = os.path.join(ROOT, "examples", "legacy")
ACCURACY = re.compile(r"^Test accuracy: ([0-9.]+) \(chance ([0-9.]+)\)$")
RECONSTRUCTION = re.compile(
    r"^Test reconstruction cost: ([0-9.]+) \(mean-image baseline ([0-9.]+)\)$")

# script -> how far above chance its quick run must get (the margins observed are larger:
# logistic_sgd 0.93 against 0.65, mlp 0.58 against 0.27, lenet 0.91 against 0.27,
# lstm_sst 0.68 against 0.50)
CLASSIFIERS = {"logistic_sgd.py": 0.15, "mlp.py": 0.2, "lenet.py": 0.4, "lstm_sst.py": 0.1}


def _last_line(script):
    proc = run_python(["-m", "theanine.compat", script, "--quick"], cwd=LEGACY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    return lines[-1]


@pytest.mark.parametrize("script", sorted(CLASSIFIERS))
def test_classifier_learns(script):
    line = _last_line(script)
    m = ACCURACY.match(line)
    assert m, f"unexpected last line of {script}: {line!r}"
    accuracy, chance = float(m.group(1)), float(m.group(2))
    assert 0.0 < chance < 1.0
    assert accuracy >= chance + CLASSIFIERS[script], line


def test_denoising_autoencoder_beats_the_mean_image():
    line = _last_line("dA.py")
    m = RECONSTRUCTION.match(line)
    assert m, f"unexpected last line of dA.py: {line!r}"
    cost, baseline = float(m.group(1)), float(m.group(2))
    assert 0.0 < cost <= 0.8 * baseline, line
