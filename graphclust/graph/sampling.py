"""Subgraph samplers for training on graphs too large for one full-batch pass."""

from __future__ import annotations

import torch

# roots walk this many steps, so a subgraph of ``batch_size`` nodes has about
# batch_size / (WALK_LENGTH + 1) roots; 2 steps keep each root's neighbourhood
# connected within the subgraph for a 2-layer encoder
WALK_LENGTH = 2


class RandomWalkSubgraphs:
    """GraphSAINT-style sampler: subgraphs induced by short random walks.

    Each call draws ``batch_size // (WALK_LENGTH + 1)`` root nodes uniformly, walks
    ``WALK_LENGTH`` steps from each (a node without neighbours stays put) and returns
    the subgraph induced by the visited nodes. Work per call is O(sum of the visited
    nodes' degrees), not O(E), so it scales to graphs of millions of nodes.

    Args:
        edge_index: [2, E] coalesced (sorted by source), undirected.
        num_nodes: N.
        batch_size: about how many nodes a subgraph holds.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, batch_size: int) -> None:
        self.num_nodes = num_nodes
        self.n_roots = max(1, batch_size // (WALK_LENGTH + 1))
        self.col = edge_index[1]
        self.degree = torch.bincount(edge_index[0], minlength=num_nodes)
        self.rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        self.rowptr[1:] = torch.cumsum(self.degree, dim=0)
        self._position = torch.full((num_nodes,), -1, dtype=torch.long)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (nodes [n] ascending global ids, edge_index [2, e] in local ids)."""
        current = torch.randint(self.num_nodes, (self.n_roots,))
        visited = [current]
        for _ in range(WALK_LENGTH):
            degree = self.degree[current]
            offset = (torch.rand(current.numel()) * degree).long()
            step = self.col[(self.rowptr[current] + offset).clamp_max(self.col.numel() - 1)]
            current = torch.where(degree > 0, step, current)
            visited.append(current)
        nodes = torch.unique(torch.cat(visited))
        # gather the adjacency lists of the visited nodes and keep edges inside the set
        degree = self.degree[nodes]
        src = torch.repeat_interleave(nodes, degree)
        starts = torch.repeat_interleave(
            self.rowptr[nodes] - torch.cumsum(degree, 0) + degree, degree
        )
        dst = self.col[starts + torch.arange(src.numel())]
        self._position[nodes] = torch.arange(nodes.numel())
        local_dst = self._position[dst]
        keep = local_dst >= 0
        sub_edges = torch.stack([self._position[src[keep]], local_dst[keep]])
        self._position[nodes] = -1
        return nodes, sub_edges
