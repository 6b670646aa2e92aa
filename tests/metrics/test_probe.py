"""linear_probe_accuracy against scikit-learn called directly, and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from graphclust.metrics.probe import linear_probe_accuracy


def _blobs(separation: float):
    gen = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = gen.normal(size=(120, 4)) + separation * np.eye(3, 4)[y]
    return x, y


def test_matches_sklearn_directly():
    x, y = _blobs(1.0)
    xa, xb, ya, yb = train_test_split(x, y, train_size=0.5, random_state=3, stratify=y)
    want = LogisticRegression(max_iter=2000).fit(xa, ya).score(xb, yb)
    got = linear_probe_accuracy(torch.from_numpy(x).float(), y, seed=3, standardize=False)
    assert got == pytest.approx(want, abs=1e-2)  # float32 input vs float64


def test_separable_is_perfect_and_noise_is_chance():
    x, y = _blobs(20.0)
    assert linear_probe_accuracy(x, y) == 1.0
    noise = np.random.default_rng(1).normal(size=(600, 5))
    labels = np.arange(600) % 3
    assert linear_probe_accuracy(noise, labels) < 0.45


def test_bad_inputs():
    x, y = _blobs(1.0)
    with pytest.raises(ValueError, match="one label per row"):
        linear_probe_accuracy(x, y[:-1])
    with pytest.raises(ValueError, match="train_fraction"):
        linear_probe_accuracy(x, y, train_fraction=1.0)
    with pytest.raises(ValueError, match="finite"):
        linear_probe_accuracy(np.full((4, 2), np.nan), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="stratified"):
        linear_probe_accuracy(x[:4], [0, 0, 0, 1])
