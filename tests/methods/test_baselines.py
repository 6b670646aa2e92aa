"""Baselines against the libraries they wrap or an independent implementation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import SpectralClustering as SkSpectral
from sklearn.metrics import adjusted_rand_score
from torch_geometric.data import Data
from torch_geometric.utils import from_networkx

from graphclust.methods import KMeans, Louvain, SpectralClustering


def _planted_graph(sizes=(40, 40, 40), p_in=0.3, p_out=0.01, seed=0) -> tuple[Data, np.ndarray]:
    probs = [[p_in if i == j else p_out for j in range(len(sizes))] for i in range(len(sizes))]
    graph = nx.stochastic_block_model(list(sizes), probs, seed=seed)
    data = from_networkx(graph)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    gen = torch.Generator().manual_seed(seed)
    data.x = torch.randn(sum(sizes), 4, generator=gen) + 3 * torch.from_numpy(truth)[:, None]
    data.edge_index = data.edge_index.long()
    return data, truth


def test_kmeans_matches_scikit_learn() -> None:
    data, _ = _planted_graph()
    ours = KMeans(n_clusters=3, seed=7).fit(data)
    ref = SkKMeans(n_clusters=3, n_init=10, random_state=7).fit(data.x.numpy())
    assert np.array_equal(ours.labels_.numpy(), ref.labels_)
    assert np.allclose(ours.cluster_centers_.numpy(), ref.cluster_centers_, atol=1e-5)


def test_spectral_recovers_planted_partition_and_agrees_with_scikit_learn() -> None:
    data, truth = _planted_graph()
    ours = SpectralClustering(n_clusters=3, seed=0).fit(data)
    assert adjusted_rand_score(truth, ours.labels_.numpy()) > 0.95
    edges = nx.from_edgelist(data.edge_index.t().tolist())
    adjacency = nx.to_scipy_sparse_array(edges, nodelist=range(120)).tocsr()
    adjacency.indices = adjacency.indices.astype(np.int32)
    adjacency.indptr = adjacency.indptr.astype(np.int32)
    ref = SkSpectral(n_clusters=3, affinity="precomputed", random_state=0).fit(adjacency)
    assert adjusted_rand_score(ref.labels_, ours.labels_.numpy()) > 0.95
    assert ours.embeddings_.shape == (120, 3)
    # Row-normalised spectral embedding (Ng-Jordan-Weiss).
    assert torch.allclose(ours.embeddings_.norm(dim=1), torch.ones(120), atol=1e-5)


def test_spectral_sparse_solver_on_a_larger_graph() -> None:
    data, truth = _planted_graph(sizes=(300, 300, 300, 300), p_in=0.05, p_out=0.002)
    labels = SpectralClustering(n_clusters=4, seed=1).fit_predict(data)
    assert adjusted_rand_score(truth, labels.numpy()) > 0.9


def test_louvain_matches_networkx() -> None:
    data, truth = _planted_graph()
    model = Louvain(seed=3).fit(data)
    graph = nx.Graph(data.edge_index.t().tolist())
    graph.add_nodes_from(range(120))
    ref = nx.community.louvain_communities(graph, seed=3)
    ours = [set(np.flatnonzero(model.labels_.numpy() == k)) for k in range(model.n_clusters_)]
    assert sorted(map(sorted, ours)) == sorted(map(sorted, ref))
    assert model.n_clusters_ == len(ref)
    # Ids are ordered by community size, largest first.
    sizes = torch.bincount(model.labels_)
    assert torch.all(sizes[:-1] >= sizes[1:])
    assert adjusted_rand_score(truth, model.labels_.numpy()) > 0.9


def test_regularised_operator_equals_the_dense_formula() -> None:
    data, _ = _planted_graph(sizes=(10, 12), p_in=0.4, p_out=0.05)
    data.x = None
    from graphclust.data import check_graph

    clean = check_graph(data, require_features=False)
    n = 22
    adjacency = np.zeros((n, n))
    adjacency[clean.edge_index[0], clean.edge_index[1]] = 1.0
    for reg, tau in (("auto", adjacency.sum() / n), (0.7, 0.7)):
        dense = adjacency + tau / n
        scale = 1.0 / np.sqrt(adjacency.sum(1) + tau)
        expected = scale[:, None] * dense * scale[None, :]
        operator = SpectralClustering(n_clusters=2, regularization=reg)._operator(clean)
        assert np.allclose(operator @ np.eye(n), expected, atol=1e-12)
    plain = SpectralClustering(n_clusters=2, regularization=None)._operator(clean)
    with_loops = adjacency + np.eye(n)
    scale = 1.0 / np.sqrt(with_loops.sum(1))
    assert np.allclose(plain @ np.eye(n), scale[:, None] * with_loops * scale[None, :])
