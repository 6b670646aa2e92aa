"""Modularity, conductance and coverage against networkx and a dense formula."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Data

from graphclust.metrics import conductance, coverage, modularity


def _edge_index(graph: nx.Graph, weight: str | None = None):
    """Both directions of every edge of an undirected networkx graph on nodes 0..N-1."""
    edges = list(graph.edges(data=weight or "unused", default=1.0))
    if not edges:
        return torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=torch.float64)
    src = [u for u, v, _ in edges] + [v for u, v, _ in edges]
    dst = [v for u, v, _ in edges] + [u for u, v, _ in edges]
    weights = [w for _, _, w in edges] * 2
    return torch.tensor([src, dst]), torch.tensor(weights, dtype=torch.float64)


def _communities(labels: torch.Tensor) -> list[set[int]]:
    return [set(torch.nonzero(labels == c).flatten().tolist()) for c in labels.unique()]


def _labels(communities, n: int) -> torch.Tensor:
    labels = torch.empty(n, dtype=torch.long)
    for c, members in enumerate(communities):
        labels[list(members)] = c
    return labels


def _random_graph(n: int, p: float, seed: int, weighted: bool = False) -> nx.Graph:
    graph = nx.gnp_random_graph(n, p, seed=seed)
    if weighted:
        rng = np.random.default_rng(seed)
        for u, v in graph.edges:
            graph[u][v]["weight"] = float(rng.uniform(0.1, 3.0))
    return graph


@pytest.fixture(scope="module")
def karate() -> tuple[nx.Graph, torch.Tensor]:
    graph = nx.karate_club_graph()
    edge_index, _ = _edge_index(graph)
    return graph, edge_index


def test_modularity_matches_networkx_on_karate(karate) -> None:
    graph, edge_index = karate
    club = torch.tensor([graph.nodes[i]["club"] == "Officer" for i in graph]).long()
    louvain = _labels(nx.community.louvain_communities(graph, weight=None, seed=0), 34)
    for labels in (club, louvain, torch.zeros(34, dtype=torch.long), torch.arange(34)):
        expected = nx.community.modularity(graph, _communities(labels), weight=None)
        assert modularity(edge_index, labels) == pytest.approx(expected, abs=1e-12)


def test_modularity_matches_networkx_on_cora(cora: Data) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(range(cora.num_nodes))
    graph.add_edges_from(cora.edge_index.t().tolist())
    louvain = _labels(nx.community.louvain_communities(graph, seed=0), cora.num_nodes)
    random = torch.randint(0, 7, (cora.num_nodes,), generator=torch.Generator().manual_seed(0))
    for labels in (cora.y, louvain, random):
        expected = nx.community.modularity(graph, _communities(labels))
        assert modularity(cora.edge_index, labels) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("resolution", [0.0, 0.5, 1.0, 2.5])
def test_resolution_matches_networkx(resolution: float) -> None:
    graph = _random_graph(40, 0.12, seed=1, weighted=True)
    edge_index, weight = _edge_index(graph, "weight")
    labels = torch.randint(0, 4, (40,), generator=torch.Generator().manual_seed(1))
    expected = nx.community.modularity(graph, _communities(labels), resolution=resolution)
    value = modularity(edge_index, labels, resolution=resolution, edge_weight=weight)
    assert value == pytest.approx(expected, abs=1e-12)
    unweighted = nx.community.modularity(
        graph, _communities(labels), weight=None, resolution=resolution
    )
    assert modularity(edge_index, labels, resolution=resolution) == pytest.approx(unweighted)


@pytest.mark.parametrize("resolution", [0.5, 1.0])
def test_soft_modularity_with_one_hot_equals_hard(karate, resolution: float) -> None:
    _, edge_index = karate
    labels = torch.randint(3, 9, (34,), generator=torch.Generator().manual_seed(2))
    codes = labels.unique(return_inverse=True)[1]
    one_hot = torch.nn.functional.one_hot(codes).float()
    weight = torch.ones(edge_index.size(1)) * 2.0
    hard = modularity(edge_index, labels, resolution=resolution, edge_weight=weight)
    soft = modularity(edge_index, one_hot, resolution=resolution, edge_weight=weight)
    assert soft == pytest.approx(hard, abs=1e-12)
    from_numpy = modularity(edge_index, one_hot.numpy(), resolution=resolution, edge_weight=weight)
    assert from_numpy == pytest.approx(hard, abs=1e-12)


def _dense_soft_modularity(edge_index, weight, assignment, n, resolution) -> float:
    adjacency = torch.zeros(n, n, dtype=torch.float64)
    adjacency[edge_index[0], edge_index[1]] = weight
    c = assignment.double()
    degree = adjacency.sum(dim=1)
    two_m = adjacency.sum()
    trace = torch.trace(c.t() @ adjacency @ c)
    null = (c.t() @ degree).pow(2).sum() / two_m
    return float((trace - resolution * null) / two_m)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soft_modularity_matches_dense_formula(seed: int) -> None:
    graph = _random_graph(30, 0.2, seed=seed, weighted=True)
    edge_index, weight = _edge_index(graph, "weight")
    gen = torch.Generator().manual_seed(seed)
    assignment = torch.softmax(torch.randn(30, 5, generator=gen) * 2, dim=1)
    expected = _dense_soft_modularity(edge_index, weight, assignment, 30, 0.7)
    value = modularity(edge_index, assignment, resolution=0.7, edge_weight=weight.float())
    assert value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_conductance_and_coverage_match_networkx(seed: int, weighted: bool) -> None:
    graph = _random_graph(50, 0.08, seed=seed, weighted=weighted)
    key = "weight" if weighted else None
    edge_index, weight = _edge_index(graph, key)
    edge_weight = weight if weighted else None
    labels = torch.randint(0, 5, (50,), generator=torch.Generator().manual_seed(seed)) * 3
    per_cluster = conductance(edge_index, labels, reduction="none", edge_weight=edge_weight)
    expected = []
    for members in _communities(labels):  # sorted label order, like reduction="none"
        try:
            expected.append(nx.conductance(graph, members, weight=key))
        except ZeroDivisionError:  # networkx leaves the degenerate clusters undefined
            expected.append(0.0)
    assert per_cluster.tolist() == pytest.approx(expected, abs=1e-12)
    assert conductance(edge_index, labels, edge_weight=edge_weight) == pytest.approx(
        float(np.mean(expected)), abs=1e-12
    )
    if not weighted:  # networkx's partition_quality counts edges, not weights
        expected_coverage, _ = nx.community.partition_quality(graph, _communities(labels))
        assert coverage(edge_index, labels) == pytest.approx(expected_coverage, abs=1e-12)
    edges = list(graph.edges(data="weight", default=1.0))
    intra = sum(w for u, v, w in edges if labels[u] == labels[v])
    total = sum(w for _, _, w in edges)
    assert coverage(edge_index, labels, edge_weight=edge_weight) == pytest.approx(intra / total)


def test_conductance_degenerate_clusters_score_zero() -> None:
    # Nodes 0-1-2 form a triangle; node 3 is isolated. Cluster {3} has volume 0; in the
    # one-cluster partition the cluster holds the whole volume. Both are defined as 0.
    graph = nx.Graph([(0, 1), (1, 2), (0, 2)])
    graph.add_node(3)
    edge_index, _ = _edge_index(graph)
    split = torch.tensor([0, 0, 1, 2])
    # Cluster {0, 1}: cut 2, vol 4, 2m - vol 2 -> 1.0; {2}: cut 2, vol 2 -> 1.0; {3}: 0.
    assert conductance(edge_index, split, reduction="none").tolist() == [1.0, 1.0, 0.0]
    one = torch.zeros(4, dtype=torch.long)
    assert conductance(edge_index, one) == 0.0
    assert coverage(edge_index, one) == 1.0
    edgeless = torch.empty(2, 0, dtype=torch.long)
    assert conductance(edgeless, split) == 0.0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=12, max_size=12),
    st.permutations(list(range(6))),
)
def test_graph_scores_invariant_to_renaming_labels(labels, permutation) -> None:
    graph = _random_graph(12, 0.3, seed=4)
    edge_index, _ = _edge_index(graph)
    labels = torch.tensor(labels)
    renamed = torch.tensor(permutation)[labels]
    assert modularity(edge_index, renamed) == pytest.approx(modularity(edge_index, labels))
    assert conductance(edge_index, renamed) == pytest.approx(conductance(edge_index, labels))
    assert coverage(edge_index, renamed) == pytest.approx(coverage(edge_index, labels))
    assert -0.5 <= modularity(edge_index, labels) < 1.0


def test_invalid_graph_inputs_raise_clearly(karate) -> None:
    _, edge_index = karate
    labels = torch.zeros(34, dtype=torch.long)
    one_way = edge_index[:, edge_index[0] < edge_index[1]]
    with pytest.raises(ValueError, match="both directions"):
        modularity(one_way, labels)
    with pytest.raises(ValueError, match="both directions"):
        conductance(one_way, labels)
    with pytest.raises(ValueError, match="without edges"):
        modularity(torch.empty(2, 0, dtype=torch.long), labels)
    with pytest.raises(ValueError, match="without edges"):
        coverage(torch.empty(2, 0, dtype=torch.long), labels)
    with pytest.raises(ValueError, match="num_nodes=40"):
        modularity(edge_index, labels, num_nodes=40)
    with pytest.raises(ValueError, match="refers to node 33"):
        coverage(edge_index, torch.zeros(30, dtype=torch.long))
    with pytest.raises(ValueError, match="\\[2, E\\]"):
        modularity(edge_index.t(), labels)
    with pytest.raises(TypeError, match="integer labels"):
        conductance(edge_index, labels.float())
    with pytest.raises(ValueError, match="shape \\[N, K\\]"):
        modularity(edge_index, torch.rand(34, 2, 2))
    with pytest.raises(ValueError, match="NaN"):
        modularity(edge_index, torch.full((34, 2), float("nan")))
    with pytest.raises(ValueError, match="non-negative"):
        modularity(edge_index, labels, edge_weight=-torch.ones(edge_index.size(1)))
    with pytest.raises(ValueError, match="reduction"):
        conductance(edge_index, labels, reduction="sum")


def test_modularity_scorer_equals_modularity_for_every_labelling():
    import networkx as nx

    from graphclust.metrics import modularity
    from graphclust.metrics.graph import modularity_scorer

    graph = nx.karate_club_graph()
    edges = torch.tensor(list(graph.edges)).t()
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    score = modularity_scorer(edge_index, 34)
    gen = torch.Generator().manual_seed(0)
    for k in (1, 2, 3, 7):
        labels = torch.randint(0, k, (34,), generator=gen)
        expected = nx.community.modularity(
            graph,
            [set(torch.nonzero(labels == c).flatten().tolist()) for c in labels.unique()],
            weight=None,  # karate_club_graph carries weights; the edge list here does not
        )
        assert score(labels) == pytest.approx(modularity(edge_index, labels, num_nodes=34))
        assert score(labels) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="labels must hold 34 entries"):
        score(torch.zeros(33, dtype=torch.long))
