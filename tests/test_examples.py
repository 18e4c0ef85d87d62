"""End-to-end tests of the user-facing example scripts in examples/.

These reproduce the Theano tutorial's programs and compare with the figures
classic Theano printed (spec: reference-results.md).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

TRAINING_REFERENCE = [
    0.9, 8.54, 13.124, 15.8744, 17.52464, 18.514784, 19.1088704,
    19.46532224, 19.679193344, 19.8075160064,
]

# (training cost, training accuracy) per epoch, as printed by classic Theano
GDP_REFERENCE_EPOCHS = [
    (28.4304042768, 0.578512396694),
    (24.5186290354, 0.619834710744),
    (22.1283727037, 0.619834710744),
    (20.7941253329, 0.619834710744),
    (19.9641569475, 0.619834710744),
    (19.3749411377, 0.619834710744),
    (18.8899216914, 0.619834710744),
    (18.4006371608, 0.677685950413),
    (17.7210185975, 0.793388429752),
    (16.315597037, 0.876033057851),
]
GDP_REFERENCE_TEST = (5.01800578051, 0.925)
GDP_REFERENCE_OUTPUT = """\
Epoch: 0, Training_cost: 28.4304042768, Training_accuracy: 0.578512396694
Epoch: 1, Training_cost: 24.5186290354, Training_accuracy: 0.619834710744
Epoch: 2, Training_cost: 22.1283727037, Training_accuracy: 0.619834710744
Epoch: 3, Training_cost: 20.7941253329, Training_accuracy: 0.619834710744
Epoch: 4, Training_cost: 19.9641569475, Training_accuracy: 0.619834710744
Epoch: 5, Training_cost: 19.3749411377, Training_accuracy: 0.619834710744
Epoch: 6, Training_cost: 18.8899216914, Training_accuracy: 0.619834710744
Epoch: 7, Training_cost: 18.4006371608, Training_accuracy: 0.677685950413
Epoch: 8, Training_cost: 17.7210185975, Training_accuracy: 0.793388429752
Epoch: 9, Training_cost: 16.315597037, Training_accuracy: 0.876033057851
Test_cost: 5.01800578051, Test_accuracy: 0.925
"""

GDP_LINE = re.compile(
    r"^Epoch: (\d+), Training_cost: ([0-9.e+-]+), Training_accuracy: ([0-9.e+-]+)$"
)
GDP_TEST_LINE = re.compile(r"^Test_cost: ([0-9.e+-]+), Test_accuracy: ([0-9.e+-]+)$")


def load_example(name: str):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_theanine_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, *args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- minimal working example --------------------------------------------------

def test_minimal_main(capsys):
    result = load_example("minimal").main([])
    assert result == pytest.approx(0.9, rel=1e-12)
    assert capsys.readouterr().out == "0.9\n"


def test_minimal_script():
    assert run_script("minimal") == "0.9\n"


# -- minimal training example --------------------------------------------------

def test_training_main(capsys):
    values = load_example("training").main([])
    assert len(values) == 10
    np.testing.assert_allclose(values, TRAINING_REFERENCE, rtol=1e-6)
    printed = [float(line) for line in capsys.readouterr().out.split()]
    np.testing.assert_allclose(printed, TRAINING_REFERENCE, rtol=1e-6)


def test_training_script_prints_reference():
    out = run_script("training").splitlines()
    assert len(out) == 10
    # '%.12g' of the exact float64 result reproduces Theano's printout
    assert out == ["%.12g" % v for v in TRAINING_REFERENCE]


# -- GDP classifier ------------------------------------------------------------

def _check_gdp_metrics(metrics):
    assert metrics["test_accuracy"] >= 0.9
    assert metrics["test_accuracy"] == pytest.approx(GDP_REFERENCE_TEST[1], abs=1e-12)
    epochs = metrics["epochs"]
    assert len(epochs) == 10
    for (cost, acc), (ref_cost, ref_acc) in zip(epochs, GDP_REFERENCE_EPOCHS):
        assert cost == pytest.approx(ref_cost, rel=1e-6)
        assert acc == pytest.approx(ref_acc, rel=1e-9)
    assert metrics["test_cost"] == pytest.approx(GDP_REFERENCE_TEST[0], rel=1e-6)


def test_gdp_classifier_main(capsys):
    metrics = load_example("gdp_classifier").main([])
    _check_gdp_metrics(metrics)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11
    for epoch, line in enumerate(lines[:10]):
        m = GDP_LINE.match(line)
        assert m, line
        assert int(m.group(1)) == epoch
        assert float(m.group(2)) == pytest.approx(GDP_REFERENCE_EPOCHS[epoch][0], rel=1e-6)
        # accuracies are exact fractions: printed text must match Theano's
        assert m.group(3) == "%.12g" % GDP_REFERENCE_EPOCHS[epoch][1]
    m = GDP_TEST_LINE.match(lines[10])
    assert m, lines[10]
    assert m.group(2) == "0.925"


def test_gdp_classifier_from_files(tmp_path):
    """The original's command line: explicit train and test file paths."""
    from theanine.datasets import load_gdp

    paths = []
    for split, (X, y) in load_gdp().items():
        path = tmp_path / f"{split}.txt"
        with open(path, "w") as f:
            for label, row in zip(y, X):
                f.write("\t".join(repr(float(v)) for v in (label, *row)) + "\n")
        paths.append(str(path))
    metrics = load_example("gdp_classifier").main(paths)
    _check_gdp_metrics(metrics)


def test_gdp_classifier_script_output():
    """Run the script as a user would; with exact float32 input casting, the
    printout matches classic Theano's line for line."""
    out = run_script("gdp_classifier")
    lines = out.splitlines()
    assert len(lines) == 11 and all(
        GDP_LINE.match(line) for line in lines[:10]
    ) and GDP_TEST_LINE.match(lines[10]), out
    assert out == GDP_REFERENCE_OUTPUT
