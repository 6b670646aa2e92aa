"""Greedy modularity merging of a partition's clusters (agglomeration on blocks).

Given a graph and a partition of its nodes into ``K0`` clusters, repeatedly merge the
pair of clusters whose union raises Newman modularity the most: the Clauset-Newman-Moore
agglomeration, started from the given clusters instead of from single nodes. It stops
when no merge raises modularity, or, with ``n_clusters``, when exactly that many
clusters remain (merging on at the smallest loss once no gain is left).

With W the block matrix (W_ab = sum of A_ij over i in a, j in b), vol_a = sum_b W_ab
and 2m = sum_ab W_ab, merging a and b changes modularity by

    dQ(a, b) = 2 W_ab / 2m - 2 vol_a vol_b / (2m)^2.

Costs: one scatter over the E edges for W, then O(K0^2) memory and O(K0^2) time per
merge (K0 - K merges). Meant for a few thousand clusters at most (an over-clustering
of k-means, a community detector's partition), never for single nodes of a large graph.

A use in this toolkit: :class:`graphclust.methods.SwAV` reads out K clusters by
over-clustering its embeddings with k-means and merging the clusters on the union of
the input and embedding kNN graphs (``labels_from="merged"``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.utils import coalesce, is_undirected

from graphclust.graph.knn import knn_graph


def block_matrix(edge_index: torch.Tensor, weight: torch.Tensor, codes: torch.Tensor, k: int):
    """W [k, k] float64: the total edge weight from cluster a to cluster b."""
    flat = codes[edge_index[0]] * k + codes[edge_index[1]]
    blocks = torch.zeros(k * k, dtype=torch.float64)
    return blocks.index_add_(0, flat, weight.double()).view(k, k)


def _check_labels(labels: Any) -> tuple[torch.Tensor, int]:
    """Integer labels [N] -> (codes 0..K0-1 [N], K0), or a ValueError/TypeError."""
    labels = torch.as_tensor(labels).cpu()
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integer labels, got dtype {labels.dtype}")
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"labels must be a non-empty 1-D tensor [N], got {list(labels.shape)}")
    values, codes = torch.unique(labels, return_inverse=True)
    return codes, int(values.numel())


def _check_graph(
    edge_index: Any, edge_weight: torch.Tensor | None, n: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A symmetric graph on the N labelled nodes -> (edge_index, float64 weights)."""
    edge_index = torch.as_tensor(edge_index).cpu()
    if edge_index.dim() != 2 or edge_index.size(0) != 2 or edge_index.is_floating_point():
        raise ValueError(
            f"edge_index must be an integer tensor [2, E], got {list(edge_index.shape)}"
        )
    edge_index = edge_index.long()
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(
            f"edge_index refers to nodes outside 0..{n - 1} but labels has {n} entries; "
            "pass one label per node of the graph"
        )
    if edge_weight is None:
        weight = torch.ones(edge_index.size(1), dtype=torch.float64)
    else:
        weight = torch.as_tensor(edge_weight).cpu().double()
        if weight.shape != (edge_index.size(1),) or bool((weight < 0).any()):
            raise ValueError("edge_weight must be non-negative, one weight per edge [E]")
    if not is_undirected(edge_index, weight, num_nodes=n):
        raise ValueError(
            "edge_index must list every undirected edge in both directions (i, j) and (j, i) "
            "with equal weights; symmetrise it with torch_geometric.utils.to_undirected"
        )
    return edge_index, weight


def merge_clusters(
    edge_index: Any,
    labels: Any,
    n_clusters: int | None = None,
    edge_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Merge the clusters of ``labels`` greedily by modularity on the graph.

    Args:
        edge_index: [2, E] long, both directions of every undirected edge.
        labels: [N] integer cluster ids (any values; K0 distinct ones).
        n_clusters: None merges while some merge raises modularity; an integer K merges
            until exactly K clusters remain (1 <= K <= K0).
        edge_weight: optional non-negative weights [E], symmetric like ``edge_index``.

    Returns:
        LongTensor [N] of merged cluster ids 0..K-1, numbered by the smallest original
        cluster id (in sorted order) each merged cluster contains. Ties between equally
        good merges go to the pair that comes first in row-major order.

    Raises:
        ValueError: malformed graph or labels, or ``n_clusters`` outside [1, K0].
    """
    codes, k0 = _check_labels(labels)
    edge_index, weight = _check_graph(edge_index, edge_weight, codes.numel())
    if n_clusters is not None and not (
        isinstance(n_clusters, int) and not isinstance(n_clusters, bool) and 1 <= n_clusters <= k0
    ):
        raise ValueError(
            f"n_clusters must be None or an integer in [1, {k0}] (the number of clusters "
            f"in labels), got {n_clusters!r}"
        )
    blocks = block_matrix(edge_index, weight, codes, k0)
    two_m = float(blocks.sum())
    if two_m <= 0.0:
        raise ValueError("merge_clusters needs a graph with edges (total edge weight 0)")
    volume = blocks.sum(dim=1)
    alive = torch.ones(k0, dtype=torch.bool)
    parent = torch.arange(k0)
    target = 1 if n_clusters is None else n_clusters
    while int(alive.sum()) > target:
        gain = 2.0 * blocks / two_m - 2.0 * torch.outer(volume, volume) / two_m**2
        gain.fill_diagonal_(-torch.inf)
        gain[~alive] = -torch.inf
        gain[:, ~alive] = -torch.inf
        best = int(gain.argmax())
        a, b = divmod(best, k0)
        if n_clusters is None and float(gain[a, b]) <= 0.0:
            break
        a, b = min(a, b), max(a, b)  # the survivor keeps the smaller id
        blocks[a] += blocks[b]
        blocks[:, a] += blocks[:, b]
        blocks[b] = 0.0
        blocks[:, b] = 0.0
        volume[a] += volume[b]
        volume[b] = 0.0
        alive[b] = False
        parent[parent == b] = a
    return torch.unique(parent[codes], return_inverse=True)[1]


READOUT_VIEWS = ("input", "embedding")


def readout_graph(
    images: torch.Tensor, z: torch.Tensor, k: int, views: tuple[str, ...] = READOUT_VIEWS
) -> torch.Tensor:
    """The graph of SwAV's graph-merge read-out: the union of kNN graphs (``k``
    neighbours each) of the chosen views, ``"input"`` (the flattened images, Euclidean)
    and ``"embedding"`` (the rows of ``z``, cosine); shared edges once."""
    unknown = set(views) - set(READOUT_VIEWS)
    if not views or unknown:
        raise ValueError(f"views must be a non-empty subset of {READOUT_VIEWS}, got {views!r}")
    if images.shape[0] != z.shape[0]:
        raise ValueError(
            f"images and z must describe the same items, got {images.shape[0]} and "
            f"{z.shape[0]} rows"
        )
    graphs = []
    if "input" in views:
        graphs.append(knn_graph(images.flatten(1).float(), k, metric="euclidean"))
    if "embedding" in views:
        graphs.append(knn_graph(z.float(), k, metric="cosine"))
    return coalesce(torch.cat(graphs, dim=1), num_nodes=z.shape[0])


def graph_merge(
    images: torch.Tensor,
    z: torch.Tensor,
    overclusters: torch.Tensor,
    n_clusters: int,
    k: int,
    views: tuple[str, ...] = READOUT_VIEWS,
) -> torch.Tensor:
    """Merge an over-clustering of the embeddings down to ``n_clusters`` by modularity
    on :func:`readout_graph`. SwAV's ``"merged"`` read-out uses both views; one view
    alone is for diagnostics (experiments/swav/readouts.py)."""
    if overclusters.numel() != z.shape[0]:
        raise ValueError(
            f"overclusters must label every row of z, got {overclusters.numel()} labels "
            f"for {z.shape[0]} rows"
        )
    return merge_clusters(readout_graph(images, z, k, views), overclusters, n_clusters)


__all__ = ["READOUT_VIEWS", "block_matrix", "graph_merge", "merge_clusters", "readout_graph"]
