"""Calinski-Harabasz and silhouette against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, silhouette_score

import graphclust.metrics.features as feature_metrics
from graphclust.metrics import calinski_harabasz, silhouette


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(n_samples=300, centers=4, n_features=5, random_state=0)
    return x, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_calinski_harabasz_matches_sklearn(blobs, dtype) -> None:
    x, y = blobs
    x = x.astype(dtype)
    noisy = np.where(np.arange(len(y)) % 7 == 0, (y + 1) % 4, y)
    for labels in (y, noisy, y * 10 - 5):
        expected = calinski_harabasz_score(x.astype(np.float64), labels)
        assert calinski_harabasz(x, labels) == pytest.approx(expected, rel=1e-9)
        assert calinski_harabasz(torch.from_numpy(x), torch.from_numpy(labels)) == pytest.approx(
            expected, rel=1e-9
        )


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 40), st.integers(2, 6), st.integers(0, 10_000))
def test_calinski_harabasz_matches_sklearn_on_random_partitions(n, k, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    labels = rng.integers(0, k, size=n)
    n_distinct = np.unique(labels).size
    if 1 < n_distinct < n:
        expected = calinski_harabasz_score(x, labels)
        assert calinski_harabasz(x, labels) == pytest.approx(expected, rel=1e-9)
    else:  # scikit-learn rejects these; graphclust defines them as 0.0
        assert calinski_harabasz(x, labels) == 0.0


def test_calinski_harabasz_degenerate_partitions() -> None:
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    assert calinski_harabasz(x, torch.zeros(10, dtype=torch.long)) == 0.0
    assert calinski_harabasz(x, torch.arange(10)) == 0.0
    # Clusters of repeated points: zero within-cluster spread, scikit-learn's 1.0.
    repeated = torch.tensor([[0.0, 0.0]] * 3 + [[1.0, 1.0]] * 3)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    assert calinski_harabasz(repeated, labels) == calinski_harabasz_score(repeated, labels) == 1.0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_silhouette_on_the_full_set_is_sklearn_exact(blobs, metric: str) -> None:
    x, y = blobs
    expected = silhouette_score(x, y, metric=metric)
    assert silhouette(x, y, sample_size=len(y), metric=metric) == pytest.approx(expected)
    assert silhouette(x, y, sample_size=10_000, metric=metric) == pytest.approx(expected)
    assert silhouette(torch.from_numpy(x), y, sample_size=None, metric=metric) == pytest.approx(
        expected
    )


def test_silhouette_subsample_is_seeded_bounded_and_close(blobs, monkeypatch) -> None:
    x, y = blobs
    exact = silhouette_score(x, y)
    first = silhouette(x, y, sample_size=150, seed=3)
    assert silhouette(x, y, sample_size=150, seed=3) == first
    assert abs(first - exact) < 0.05  # well-separated blobs: a half sample is close
    seen: list[int] = []

    def spy(points, labels, metric):
        seen.append(len(points))
        return silhouette_score(points, labels, metric=metric)

    monkeypatch.setattr(feature_metrics, "silhouette_score", spy)
    silhouette(x, y, sample_size=100, seed=0)
    assert seen == [100]  # the pairwise work never sees more than sample_size points


def test_silhouette_degenerate_partitions() -> None:
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    assert silhouette(x, torch.zeros(20, dtype=torch.long)) == 0.0
    assert silhouette(x, torch.arange(20)) == 0.0
    # A 2-point subsample holds one label or two singletons: 0.0 rather than an error.
    labels = torch.zeros(20, dtype=torch.long)
    labels[0] = 1
    assert silhouette(x, labels, sample_size=2, seed=5) == 0.0


@pytest.mark.parametrize(
    ("x", "labels", "error", "message"),
    [
        (torch.randn(5), torch.zeros(5, dtype=torch.long), ValueError, "unsqueeze"),
        (torch.randn(5, 2), torch.zeros(4, dtype=torch.long), ValueError, "5 were expected"),
        (torch.full((3, 2), float("nan")), torch.zeros(3, dtype=torch.long), ValueError, "NaN"),
        ([[1.0, 2.0]], torch.zeros(1, dtype=torch.long), TypeError, "numpy array"),
        (torch.randn(3, 2), torch.rand(3), TypeError, "integer labels"),
    ],
)
def test_invalid_inputs_raise_clearly(x, labels, error, message) -> None:
    for score in (calinski_harabasz, silhouette):
        with pytest.raises(error, match=message):
            score(x, labels)


def test_silhouette_rejects_a_tiny_sample() -> None:
    with pytest.raises(ValueError, match="sample_size"):
        silhouette(torch.randn(5, 2), torch.tensor([0, 0, 1, 1, 1]), sample_size=1)
