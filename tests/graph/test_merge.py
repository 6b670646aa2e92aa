"""merge_clusters: greedy modularity agglomeration, against networkx's Clauset-Newman-Moore
implementation (started from single nodes), a brute-force stop check and a hand case."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest
import torch
from torch_geometric.utils import to_undirected

from graphclust.graph.merge import block_matrix, merge_clusters
from graphclust.metrics import modularity


def _karate() -> tuple[nx.Graph, torch.Tensor]:
    graph = nx.karate_club_graph()
    edges = torch.tensor(list(graph.edges())).t()
    return graph, to_undirected(edges, num_nodes=graph.number_of_nodes())


def _as_sets(labels: torch.Tensor) -> set[frozenset[int]]:
    return {frozenset(torch.nonzero(labels == c).view(-1).tolist()) for c in labels.unique()}


def test_from_single_nodes_equals_networkx_greedy_modularity() -> None:
    graph, edge_index = _karate()
    n = graph.number_of_nodes()
    ours = merge_clusters(edge_index, torch.arange(n))
    theirs = nx.community.greedy_modularity_communities(graph)
    assert _as_sets(ours) == {frozenset(c) for c in theirs}
    expected = nx.community.modularity(graph, theirs, weight=None)  # karate has weights
    assert modularity(edge_index, ours) == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_down_to_k_equals_networkx_with_cutoff_and_best_n(k: int) -> None:
    graph, edge_index = _karate()
    ours = merge_clusters(edge_index, torch.arange(graph.number_of_nodes()), n_clusters=k)
    theirs = nx.community.greedy_modularity_communities(graph, cutoff=k, best_n=k)
    assert ours.unique().numel() == k
    assert _as_sets(ours) == {frozenset(c) for c in theirs}


def test_stops_where_no_merge_raises_modularity() -> None:
    # start from a random over-clustering: after the merge no pair of the final clusters
    # can be joined with a gain (brute force over all pairs), and the score only rose
    _, edge_index = _karate()
    start = torch.randint(0, 12, (34,), generator=torch.Generator().manual_seed(0))
    merged = merge_clusters(edge_index, start)
    q = modularity(edge_index, merged)
    assert q >= modularity(edge_index, start)
    for a, b in itertools.combinations(merged.unique().tolist(), 2):
        joined = torch.where(merged == b, a, merged)
        assert modularity(edge_index, joined) <= q + 1e-12
    # every merged cluster is a union of starting clusters
    for c in start.unique():
        assert merged[start == c].unique().numel() == 1


def test_hand_worked_two_triangles() -> None:
    # two triangles joined by one edge, each split in two starting clusters: the gain of
    # joining {0} with {1, 2} is 2*2/14 - 2*2*5/14^2 > 0, so each triangle is rebuilt,
    # and joining the two triangles (gain 2/14 - 2*7*7/196 < 0) is not done
    edges = torch.tensor([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5], [2, 3]]).t()
    edge_index = to_undirected(edges)
    labels = torch.tensor([7, 3, 3, 9, 9, 5])
    blocks = block_matrix(
        edge_index, torch.ones(edge_index.size(1)), torch.tensor([3, 0, 0, 2, 2, 1]), 4
    )
    assert blocks.sum() == 14 and blocks[0, 3] == 2  # {1, 2} -> {0}: edges (1,0), (2,0)
    merged = merge_clusters(edge_index, labels)
    assert merged.tolist() == [0, 0, 0, 1, 1, 1]
    assert merge_clusters(edge_index, labels, n_clusters=1).tolist() == [0] * 6
    weights = torch.ones(edge_index.size(1), dtype=torch.float64)
    assert merge_clusters(edge_index, labels, edge_weight=weights).tolist() == [0, 0, 0, 1, 1, 1]


def test_bad_input_is_refused_with_the_fix() -> None:
    _, edge_index = _karate()
    labels = torch.arange(34) % 4
    with pytest.raises(ValueError, match=r"n_clusters must be None or an integer in \[1, 4\]"):
        merge_clusters(edge_index, labels, n_clusters=5)
    with pytest.raises(ValueError, match="both directions"):
        merge_clusters(edge_index[:, edge_index[0] < edge_index[1]], labels)
    with pytest.raises(TypeError, match="integer labels"):
        merge_clusters(edge_index, labels.float())
    with pytest.raises(ValueError, match="labels has 10 entries"):
        merge_clusters(edge_index, labels[:10])
