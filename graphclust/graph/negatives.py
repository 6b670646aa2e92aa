"""Structured negative sampling: one non-neighbour per edge, terminating on every graph."""

from __future__ import annotations

import torch

#: Rejection rounds before the exact draw takes over. On a sparse graph a round rejects
#: a share deg(i) / N of the draws, so almost every edge is done after one or two; what
#: is left after this many belongs to nodes adjacent to nearly every node.
REJECTION_ROUNDS = 16


def _members(keys: torch.Tensor, sorted_keys: torch.Tensor) -> torch.Tensor:
    """Whether each of ``keys`` is in the sorted, duplicate-free ``sorted_keys``."""
    at = torch.searchsorted(sorted_keys, keys).clamp_(max=sorted_keys.numel() - 1)
    return sorted_keys[at] == keys


class NegativeSampler:
    """For every edge (i, j) of a graph, a node u != i that is not an out-neighbour of i.

    The draw is PyG's ``structured_negative_sampling(contains_neg_self_loops=False)``
    (one uniform draw per edge, rejected draws drawn again) with the same random stream
    while rejection ends within :data:`REJECTION_ROUNDS` rounds, but it terminates on any
    graph: edges still rejected after those rounds get a uniform draw among their
    source's non-neighbours, computed exactly, and edges whose source is adjacent to
    every other node (a star's hub, a complete graph) have no negative and are marked
    invalid. Memory is O(E + N): the adjacency is a sorted list of keys ``i * N + j``,
    never an N x N mask.

    Args:
        edge_index: directed edges [2, E] (on any device; the sampler works on the host).
        num_nodes: N.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int) -> None:
        self.num_nodes = n = int(num_nodes)
        self.row = edge_index[0].cpu()
        loops = torch.arange(n) * (n + 1)
        # forbidden pairs (i, u): the edges and the self-loops, as sorted unique keys
        self._forbidden = torch.cat([self.row * n + edge_index[1].cpu(), loops]).unique()
        forbidden_per_node = torch.bincount(self._forbidden // n, minlength=n)
        #: non-neighbours of each node (itself excluded): [N]
        self.free = n - forbidden_per_node
        #: whether each edge's source has a non-neighbour: [E] bool
        self.valid = self.free[self.row] > 0
        self._all_valid = bool(self.valid.all())
        # for the exact draw: key i * N + (c_k - rank of c_k among i's forbidden nodes),
        # non-decreasing, so the r-th non-neighbour of i is r + the number of keys of i
        # that are <= i * N + r (the forbidden nodes below it)
        self._start = torch.cumsum(forbidden_per_node, 0) - forbidden_per_node
        owner = self._forbidden // n
        rank = torch.arange(self._forbidden.numel()) - self._start[owner]
        self._shifted = self._forbidden - rank

    @property
    def has_negatives(self) -> bool:
        """Whether at least one edge has a negative (False on a complete graph)."""
        return bool(self.valid.any())

    def sample(self) -> torch.Tensor:
        """One negative per edge: [E] on the host, drawn with torch's global generator.

        Entries of invalid edges (``valid`` False) hold the edge's source and must be
        dropped by the caller.
        """
        row, n = self.row, self.num_nodes
        neg = torch.randint(n, (row.numel(),), dtype=torch.long)
        rejected = _members(row * n + neg, self._forbidden)
        if not self._all_valid:
            rejected &= self.valid
        rest = rejected.nonzero().view(-1)
        for _ in range(REJECTION_ROUNDS):
            if rest.numel() == 0:
                break
            draw = torch.randint(n, (rest.numel(),), dtype=torch.long)
            neg[rest] = draw
            rest = rest[_members(row[rest] * n + draw, self._forbidden)]
        if rest.numel() > 0:
            neg[rest] = self._exact(row[rest])
        if not self._all_valid:
            neg[~self.valid] = row[~self.valid]
        return neg

    def triples(self, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(i, j, u)`` for the edges with a negative: three [E'] on ``edge_index``'s device.

        ``edge_index`` is the graph the sampler was built from (possibly on another device);
        E' = E unless some source is linked to every node.
        """
        neg = self.sample().to(edge_index.device)
        src, dst = edge_index[0], edge_index[1]
        if self._all_valid:
            return src, dst, neg
        keep = self.valid.to(edge_index.device)
        return src[keep], dst[keep], neg[keep]

    def _exact(self, sources: torch.Tensor) -> torch.Tensor:
        """A uniform non-neighbour of each of ``sources`` (each has at least one)."""
        n = self.num_nodes
        r = (torch.rand(sources.numel()) * self.free[sources]).long()
        r = torch.minimum(r, self.free[sources] - 1)  # rand() * m can round up to m
        below = torch.searchsorted(self._shifted, sources * n + r, right=True)
        return r + below - self._start[sources]


__all__ = ["REJECTION_ROUNDS", "NegativeSampler"]
