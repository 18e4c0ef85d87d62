"""Configuration flags: environment variables, rc file, change_flags, errors."""

import os
import subprocess
import sys

import pytest

import theanine
import theanine.tensor as T
from theanine import config


def test_defaults():
    assert config.floatX == "float64"
    assert config.device == "cpu"
    assert config.mode == "FAST_RUN"


def test_change_flags_restores_and_affects_constructors():
    with config.change_flags(floatX="float32"):
        assert T.vector().dtype == "float32"
        assert (T.fvector() * 0.5).dtype == "float32"
    assert T.vector().dtype == "float64"


def test_unknown_flag_and_bad_value():
    with pytest.raises(AttributeError, match="unknown config flag 'flaotX'.*floatX"):
        config.flaotX = "float32"
    with pytest.raises(ValueError, match="valid choices are: float64, float32"):
        config.floatX = "int8"
    with pytest.raises(ValueError, match="valid choices"):
        with config.change_flags(mode="SLOW"):
            pass


@pytest.mark.parametrize("var", ["THEANO_FLAGS", "THEANINE_FLAGS"])
def test_flags_from_environment(var, tmp_path):
    env = dict(os.environ, **{var: "floatX=float32,profile=True"},
               PYTHONPATH=os.path.dirname(os.path.dirname(theanine.__file__)))
    out = subprocess.run([sys.executable, "-c",
                          "import theanine; print(theanine.config.floatX, "
                          "theanine.config.profile)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["float32", "True"]


def test_bad_flag_in_environment_is_a_clear_error():
    env = dict(os.environ, THEANINE_FLAGS="floatX=float31",
               PYTHONPATH=os.path.dirname(os.path.dirname(theanine.__file__)))
    out = subprocess.run([sys.executable, "-c", "import theanine"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "THEANINE_FLAGS" in out.stderr and "floatX" in out.stderr


def test_rc_file(tmp_path):
    rc = tmp_path / "rc"
    rc.write_text("[global]\nfloatX = float32\n")
    env = dict(os.environ, THEANINERC=str(rc),
               PYTHONPATH=os.path.dirname(os.path.dirname(theanine.__file__)))
    env.pop("THEANINE_FLAGS", None)
    env.pop("THEANO_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", "import theanine; print(theanine.config.floatX)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "float32"
