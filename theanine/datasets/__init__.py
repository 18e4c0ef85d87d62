"""Small real data sets shipped with theanine.

The data files live inside the package (``theanine/datasets/data``) and are
located with :mod:`importlib.resources`, so the loaders work from a source
checkout, an editable install and a wheel alike.

Two data sets are available:

``gdp``
    Whether a country's GDP per capita is above average, from 11 normalised
    development indicators. 121 training and 40 test countries. Used by the
    tutorial's classifier example (``examples/gdp_classifier.py``).
``sst``
    Stanford Sentiment Treebank (Socher et al., 2013), whole sentences with
    fine-grained 5-class labels (0 very negative ... 4 very positive), standard
    splits: 8,543 train, 1,101 dev and 2,210 test sentences.

This module depends only on NumPy and the standard library.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

__all__ = ["load_gdp", "load_sst", "GDP_SPLITS", "SST_SPLITS"]

#: Valid split names for :func:`load_gdp`.
GDP_SPLITS: Tuple[str, ...] = ("train", "test")
#: Valid split names for :func:`load_sst`.
SST_SPLITS: Tuple[str, ...] = ("train", "dev", "test")

#: Number of features per country in the GDP data set.
GDP_N_FEATURES = 11

GdpSplit = Tuple[np.ndarray, np.ndarray]
SstSplit = List[Tuple[int, List[str]]]


def _check_split(name: str, split: str, valid: Tuple[str, ...]) -> None:
    if split not in valid:
        raise ValueError(
            f"unknown {name} split {split!r}; valid splits are "
            + ", ".join(repr(s) for s in valid)
            + " (or None for all of them)"
        )


def _read_text(*parts: str) -> str:
    resource = files(__name__).joinpath("data")
    for part in parts:
        resource = resource.joinpath(part)
    return resource.read_text(encoding="utf-8")


def _load_gdp_split(split: str) -> GdpSplit:
    rows = [line.split() for line in _read_text("gdp", f"{split}.txt").splitlines()]
    rows = [row for row in rows if row]
    data = np.array(rows, dtype=np.float64).reshape(len(rows), GDP_N_FEATURES + 1)
    X = np.ascontiguousarray(data[:, 1:])
    y = np.ascontiguousarray(data[:, 0])
    return X, y


def load_gdp(split: Optional[str] = None) -> Union[GdpSplit, Dict[str, GdpSplit]]:
    """Load the GDP-per-capita classification data set.

    Each example is a country described by 11 development indicators
    (population density, population growth, urban population, life
    expectancy, fertility, infant mortality, tertiary enrolment,
    unemployment, control of corruption, government effectiveness, internet
    users), each already normalised to zero mean and unit variance. The label
    is 1.0 when the country's GDP per capita is above average, else 0.0.

    Parameters
    ----------
    split : {'train', 'test'} or None, optional
        Which split to load. ``None`` (the default) loads both.

    Returns
    -------
    (X, y) : tuple of numpy.ndarray
        For a named split: ``X`` is a float64 array of shape ``(n, 11)`` and
        ``y`` a float64 array of shape ``(n,)``, rows in file order
        (``n`` is 121 for 'train' and 40 for 'test').
    dict
        For ``split=None``: ``{'train': (X, y), 'test': (X, y)}``.

    Raises
    ------
    ValueError
        If `split` is not one of the valid split names.

    Examples
    --------
    >>> from theanine.datasets import load_gdp
    >>> X, y = load_gdp("train")
    >>> X.shape, y.shape
    ((121, 11), (121,))
    """
    if split is None:
        return {s: _load_gdp_split(s) for s in GDP_SPLITS}
    _check_split("gdp", split, GDP_SPLITS)
    return _load_gdp_split(split)


def _load_sst_split(split: str) -> SstSplit:
    out: SstSplit = []
    for line in _read_text("sst", f"{split}.tsv").splitlines():
        if not line.strip():
            continue
        label, _, sentence = line.partition("\t")
        out.append((int(label), sentence.split(" ")))
    return out


def load_sst(split: Optional[str] = None) -> Union[SstSplit, Dict[str, SstSplit]]:
    """Load the Stanford Sentiment Treebank (whole sentences, 5 classes).

    Parameters
    ----------
    split : {'train', 'dev', 'test'} or None, optional
        Which split to load. ``None`` (the default) loads all three.

    Returns
    -------
    list of (int, list of str)
        For a named split: one ``(label, tokens)`` pair per sentence, in file
        order. ``label`` is the fine-grained class, 0 (very negative) to 4
        (very positive); ``tokens`` are the sentence's space-separated tokens,
        unchanged (original case, brackets restored from -LRB-/-RRB-).
        'train' has 8,543 sentences, 'dev' 1,101 and 'test' 2,210.
    dict
        For ``split=None``: ``{'train': [...], 'dev': [...], 'test': [...]}``.

    Raises
    ------
    ValueError
        If `split` is not one of the valid split names.

    Examples
    --------
    >>> from theanine.datasets import load_sst
    >>> label, tokens = load_sst("dev")[0]
    >>> 0 <= label <= 4
    True
    """
    if split is None:
        return {s: _load_sst_split(s) for s in SST_SPLITS}
    _check_split("sst", split, SST_SPLITS)
    return _load_sst_split(split)
