"""RandomWalkSubgraphs: each sample is the subgraph induced by its nodes (vs PyG's subgraph)."""

from __future__ import annotations

import torch
from torch_geometric.utils import coalesce, stochastic_blockmodel_graph, subgraph

from graphclust.graph.sampling import RandomWalkSubgraphs


def _graph(n: int = 120) -> torch.Tensor:
    torch.manual_seed(0)
    edges = stochastic_blockmodel_graph(
        [n // 3] * 3, [[0.2, 0.02, 0.02], [0.02, 0.2, 0.02], [0.02, 0.02, 0.2]]
    )
    return coalesce(edges, num_nodes=n)


def test_random_walk_subgraph_is_induced() -> None:
    edge_index = _graph()
    torch.manual_seed(0)
    sampler = RandomWalkSubgraphs(edge_index, 120, batch_size=30)
    for _ in range(3):
        nodes, local = sampler.sample()
        assert bool((nodes[1:] > nodes[:-1]).all())
        expected, _ = subgraph(nodes, edge_index, relabel_nodes=True, num_nodes=120)
        assert {tuple(e) for e in local.t().tolist()} == {tuple(e) for e in expected.t().tolist()}
        assert local.size(1) == expected.size(1)


def test_walks_from_isolated_nodes_stay_put() -> None:
    # only 0 - 1 is an edge: every walk rooted elsewhere stays on its root
    edge_index = torch.tensor([[0, 1], [1, 0]])
    torch.manual_seed(0)
    sampler = RandomWalkSubgraphs(edge_index, 50, batch_size=60)  # 20 roots
    nodes, local = sampler.sample()
    assert nodes.numel() <= 20 + 1  # a root at 0 or 1 can add the other end
    pairs = {(int(nodes[i]), int(nodes[j])) for i, j in local.t().tolist()}
    assert pairs <= {(0, 1), (1, 0)}
    assert (0 in nodes.tolist() and 1 in nodes.tolist()) == (len(pairs) == 2)
