"""Structural features: each kind against a dense computation done another way."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from graphclust.data.features import MAX_DEGREE_FEATURE, structural_features


def _edge_index(graph: nx.Graph) -> torch.Tensor:
    edges = np.array(graph.edges(), dtype=np.int64).T
    return torch.from_numpy(np.concatenate([edges, edges[::-1]], axis=1))


def _dense_normalised(graph: nx.Graph) -> np.ndarray:
    a = nx.to_numpy_array(graph, nodelist=range(graph.number_of_nodes()))
    deg = a.sum(1)
    inv = np.where(deg > 0, deg, 1.0) ** -0.5 * (deg > 0)
    return inv[:, None] * a * inv[None, :]


@pytest.mark.parametrize("n", [30, 120])  # dense path (n <= 64) and ARPACK path
def test_laplacian_spans_the_leading_eigenvectors(n: int) -> None:
    graph = nx.connected_watts_strogatz_graph(n, 6, 0.3, seed=1)
    x, kind = structural_features(_edge_index(graph), n, "laplacian", dim=4)
    assert kind == "laplacian" and x.shape == (n, 4) and x.dtype == torch.float32
    # networkx's normalised Laplacian, eigendecomposed densely by numpy
    lap = nx.normalized_laplacian_matrix(graph, nodelist=range(n)).toarray()
    values, vectors = np.linalg.eigh(lap)
    assert values[4] - values[3] > 1e-6  # a well-defined 4-dimensional subspace
    expected = vectors[:, :4] @ vectors[:, :4].T
    got = x.double().numpy() @ x.double().numpy().T
    np.testing.assert_allclose(got, expected, atol=1e-5)
    again, _ = structural_features(_edge_index(graph), n, "laplacian", dim=4)
    assert torch.equal(x, again)  # seeded ARPACK start: reproducible


def test_randomwalk_equals_dense_powers() -> None:
    graph = nx.karate_club_graph()
    n, dim, seed = 34, 8, 3
    x, _ = structural_features(_edge_index(graph), n, "randomwalk", dim=dim, seed=seed)
    a = nx.to_numpy_array(graph, nodelist=range(n), weight=None)
    p = a / a.sum(1, keepdims=True)
    r = np.random.default_rng(seed).standard_normal((n, dim)) / np.sqrt(dim)
    total = (p @ r + p @ p @ r + p @ p @ p @ r) / 3
    expected = (total - total.mean(0)) / total.std(0)
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-5)


def test_degree_identity_and_auto() -> None:
    graph = nx.star_graph(70)  # hub of degree 70 (capped), 70 leaves of degree 1
    ei = _edge_index(graph)
    x, kind = structural_features(ei, 71, "degree")
    assert kind == "degree" and x.shape == (71, MAX_DEGREE_FEATURE + 1)
    assert x[0, MAX_DEGREE_FEATURE] == 1 and bool((x[1:, 1] == 1).all())
    x, kind = structural_features(ei, 71, "auto")
    assert kind == "identity" and torch.equal(x, torch.eye(71))
    with pytest.raises(ValueError, match="unknown"):
        structural_features(ei, 71, "spectral")
    with pytest.raises(ValueError, match="positive integer"):
        structural_features(ei, 71, "laplacian", dim=0)


def test_laplacian_features_separate_two_cliques() -> None:
    from sklearn.cluster import KMeans

    graph = nx.barbell_graph(10, 0)  # two 10-cliques joined by one edge
    x, _ = structural_features(_edge_index(graph), 20, "laplacian", dim=2)
    labels = KMeans(2, n_init=4, random_state=0).fit_predict(x.numpy())
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1
    assert labels[0] != labels[10]
