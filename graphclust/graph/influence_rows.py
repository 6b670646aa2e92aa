"""Rows of the influence matrix ``S = sum_{r<=R} Ahat^r`` computed on demand from the edges.

:func:`~graphclust.graph.adjacency.influence_matrix` materialises ``S`` (``nnz(S)``
entries, and a few times that while it is built); a node mini-batch reads only the rows
of its batch (:func:`~graphclust.graph.adjacency.sparse_rows`). :class:`InfluenceRows`
computes those rows from a clean ``edge_index`` (as :func:`graphclust.data.check_graph`
returns it: sorted by (row, column), coalesced, no self-loops), which it reads but never
copies, so that memory-mapped edges (:mod:`graphclust.data.memmap`) stay shared between
processes. Its own memory is ``O(N)`` (row pointer and inverse degrees); each call costs
``O(nnz of the rows asked for)`` at ``R = 1``, and the ``R``-hop neighbourhood of the
batch beyond.
"""

from __future__ import annotations

import torch

from graphclust.utils.checks import positive_int


class InfluenceRows:
    """The rows of PamC's ``S`` (``Ahat = D^-1 (A + I)``) without building ``S``.

    Args:
        edge_index: ``[2, E]`` undirected edges, sorted by (row, column) without
            duplicates or self-loops (``check_graph``'s output; not re-checked).
        num_nodes: ``N``.
        order: ``R >= 1``, the number of hops.

    :meth:`rows` returns the entries ``sparse_rows(influence_matrix(edge_index, N, R),
    index)`` returns, with columns ascending within each row: the same triplets in the
    same order at ``R = 1``; beyond, ``S``'s products store a row's columns in another
    order and the values may differ by float32 rounding.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, order: int) -> None:
        self.order = positive_int(order, "order")
        self.num_nodes = positive_int(num_nodes, "num_nodes")
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
        self.col = edge_index[1]
        device = edge_index.device
        nodes = torch.arange(self.num_nodes + 1, device=device)
        self.indptr = torch.searchsorted(edge_index[0].contiguous(), nodes)
        # Degree of A + I: the self-loop counts once, as in normalized_adjacency.
        self.inverse_degree = 1.0 / (self.indptr.diff() + 1).float()
        self.device = device

    def rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows ``index`` ``[B]`` of ``S`` as COO triplets ``(row, col, value)``.

        ``row`` holds local positions ``0..B-1`` into ``index`` (rows in the order of
        ``index``, repeats allowed), ``col`` global column ids ascending within a row,
        ``value`` float32.
        """
        index = index.to(self.device).long().flatten()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.num_nodes):
            raise ValueError(f"row ids must lie in 0..{self.num_nodes - 1}")
        row, col, value = self._ahat_rows(index)
        if self.order == 1:
            return row, col, value
        size = (index.numel(), self.num_nodes)
        power = torch.sparse_coo_tensor(torch.stack([row, col]), value, size).coalesce()
        total = power
        for _ in range(2, self.order + 1):
            power = self._times_ahat(power)
            total = (total + power).coalesce()
        row, col = total.indices()
        return row, col, total.values()

    def _ahat_rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows ``index`` of ``Ahat``: stored neighbours plus the self-loop, sorted."""
        start = self.indptr[index]
        length = self.indptr[index + 1] - start
        local = torch.arange(index.numel(), device=self.device)
        row = local.repeat_interleave(length)
        # Position inside each row: a global counter minus the offset where the row begins.
        offsets = torch.cumsum(length, 0) - length
        within = torch.arange(row.numel(), device=self.device) - offsets.repeat_interleave(length)
        col = self.col[start.repeat_interleave(length) + within]
        row, col = torch.cat([row, local]), torch.cat([col, index])
        order = torch.argsort(row * self.num_nodes + col)
        row, col = row[order], col[order]
        return row, col, self.inverse_degree[index][row]

    def _times_ahat(self, power: torch.Tensor) -> torch.Tensor:
        """``power @ Ahat`` for a sparse ``[B, N]`` ``power``, from the rows of ``Ahat``
        of the columns ``power`` uses."""
        row, col = power.indices()
        used = torch.unique(col)  # sorted
        ahat_row, ahat_col, ahat_value = self._ahat_rows(used)
        left = torch.sparse_coo_tensor(
            torch.stack([row, torch.searchsorted(used, col)]),
            power.values(),
            (power.size(0), used.numel()),
        )
        right = torch.sparse_coo_tensor(
            torch.stack([ahat_row, ahat_col]), ahat_value, (used.numel(), self.num_nodes)
        )
        return torch.sparse.mm(left, right).coalesce()


__all__ = ["InfluenceRows"]
