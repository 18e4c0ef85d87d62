"""Tests for theanine.datasets (the shipped GDP and SST data sets)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from theanine.datasets import load_gdp, load_sst

DATASETS_SRC = Path(__file__).resolve().parents[1] / "theanine" / "datasets" / "__init__.py"


@pytest.mark.parametrize("split, n", [("train", 121), ("test", 40)])
def test_gdp_split_shapes(split, n):
    X, y = load_gdp(split)
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    assert X.shape == (n, 11)
    assert y.shape == (n,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert np.all(np.isfinite(X))


def test_gdp_file_order_and_values():
    X, y = load_gdp("train")
    # first line of train.txt
    assert y[0] == 0.0
    np.testing.assert_array_equal(
        X[0, :3], [-0.114714355829, -1.20030635059, -0.344372962348]
    )
    assert X[0, -1] == 0.0475281561873
    assert y[2] == 1.0


def test_gdp_features_roughly_normalised():
    d = load_gdp()
    X = np.concatenate([d["train"][0], d["test"][0]])
    assert np.all(np.abs(X.mean(axis=0)) < 0.5)
    assert np.all((X.std(axis=0) > 0.5) & (X.std(axis=0) < 1.5))


def test_gdp_all_splits():
    d = load_gdp()
    assert isinstance(d, dict) and set(d) == {"train", "test"}
    for split in ("train", "test"):
        X, y = d[split]
        X1, y1 = load_gdp(split)
        np.testing.assert_array_equal(X, X1)
        np.testing.assert_array_equal(y, y1)


@pytest.mark.parametrize("split, n", [("train", 8543), ("dev", 1101), ("test", 2210)])
def test_sst_split_counts(split, n):
    data = load_sst(split)
    assert isinstance(data, list)
    assert len(data) == n
    for label, tokens in data:
        assert type(label) is int and 0 <= label <= 4
        assert isinstance(tokens, list) and tokens
        assert all(isinstance(t, str) and t and " " not in t and "\t" not in t for t in tokens)
    # every class occurs
    assert {label for label, _ in data} == {0, 1, 2, 3, 4}


def test_sst_file_order_and_tokens_unchanged():
    label, tokens = load_sst("train")[0]
    assert label == 3
    assert tokens[:4] == ["The", "Rock", "is", "destined"]
    assert "``" in tokens and "'s" in tokens
    label, tokens = load_sst("dev")[0]
    assert label == 3
    assert tokens == "It 's a lovely film with lovely performances by Buy and Accorsi .".split(" ")


def test_sst_all_splits():
    d = load_sst()
    assert isinstance(d, dict) and set(d) == {"train", "dev", "test"}
    assert [len(d[s]) for s in ("train", "dev", "test")] == [8543, 1101, 2210]
    assert d["dev"] == load_sst("dev")


@pytest.mark.parametrize("loader, valid", [(load_gdp, ["train", "test"]),
                                           (load_sst, ["train", "dev", "test"])])
@pytest.mark.parametrize("bad", ["valid", "TRAIN", "", "training"])
def test_unknown_split_raises(loader, valid, bad):
    with pytest.raises(ValueError) as info:
        loader(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in valid:
        assert repr(name) in message


def test_datasets_module_imports_only_numpy_and_stdlib():
    tree = ast.parse(DATASETS_SRC.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports (would pull in theanine)"
            roots.add(node.module.split(".")[0])
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | {"__future__"}
    extra = {r for r in roots if r not in stdlib}
    assert extra <= {"numpy"}, extra
