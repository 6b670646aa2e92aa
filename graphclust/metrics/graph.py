"""Label-free graph scores of a partition: modularity, conductance, coverage.

All three are computed sparsely from ``edge_index`` with
:func:`torch_geometric.utils.scatter` in O(E + N) memory (soft modularity: one
sparse-dense product, O(E K) time and O(E + N K) memory); nothing N x N is ever built.
The symmetry check at the door sorts the edges, O(E log E).

Graph convention: ``edge_index`` [2, E] lists every undirected edge in both directions,
(i, j) and (j, i), as :func:`graphclust.data.check_graph` produces; a one-directional
list raises ``ValueError``. The scores read the adjacency matrix entry-wise: A_ij is the
weight of column (i, j) (1 without ``edge_weight``), the degree is d_i = sum_j A_ij and
2m = sum_ij A_ij. Without self-loops this is the usual undirected graph and the scores
equal networkx's. A self-loop listed once counts as A_ii (networkx counts it twice in
the degree), so remove self-loops first to compare with networkx.

Results are Python floats (or a float64 tensor for ``reduction="none"``) and carry no
gradient: they are for evaluation and label-free model selection, not for training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch_geometric.utils import scatter

from graphclust.metrics._inputs import (
    as_labels,
    check_resolution,
    check_soft_assignment,
    check_undirected_graph,
    relabel,
)


def _resolve_num_nodes(num_nodes: int | None, length: int, name: str) -> int:
    if num_nodes is not None and int(num_nodes) != length:
        raise ValueError(
            f"num_nodes={num_nodes} but {name} has {length} rows; pass one entry per node"
        )
    return length


def _degrees(edge_index: torch.Tensor, weight: torch.Tensor, num_nodes: int) -> torch.Tensor:
    return scatter(weight, edge_index[0], dim=0, dim_size=num_nodes, reduce="sum")


def _check_has_edges(two_m: float, what: str) -> None:
    if two_m <= 0.0:
        raise ValueError(
            f"{what} is undefined on a graph without edges (total edge weight 0); "
            "check edge_index or build a graph first (graphclust.graph.knn_graph)"
        )


def hard_modularity(
    edge_index: torch.Tensor,
    weight: torch.Tensor,
    codes: torch.Tensor,
    n_clusters: int,
    resolution: float,
) -> float:
    """Modularity of validated hard labels ``codes`` [N] in 0..K-1 (no input checks)."""
    row, col = edge_index
    degree = _degrees(edge_index, weight, codes.numel())
    two_m = float(weight.sum())
    _check_has_edges(two_m, "modularity")
    intra = float(weight[codes[row] == codes[col]].sum())
    return _hard_modularity_from(intra, degree, codes, n_clusters, two_m, resolution)


def _hard_modularity_from(
    intra: float,
    degree: torch.Tensor,
    codes: torch.Tensor,
    n_clusters: int,
    two_m: float,
    resolution: float,
) -> float:
    volume = scatter(degree, codes, dim=0, dim_size=n_clusters, reduce="sum")
    return intra / two_m - resolution * float((volume**2).sum()) / two_m**2


#: Edges :func:`clean_graph_modularity` reads at a time.
_SCAN_EDGES = 1 << 20


def clean_graph_modularity(edge_index: torch.Tensor, labels: Any) -> float:
    """:func:`modularity` of hard ``labels`` [N] on a graph as
    :func:`graphclust.data.check_graph` returns it (unweighted, symmetric, coalesced),
    reading ``edge_index`` [2, E] in chunks without the symmetry check: memory
    ``O(N + chunk)`` instead of several copies of the edges, so that a memory-mapped
    graph (:mod:`graphclust.data.memmap`) is scored without copying it. Equal to
    ``modularity(edge_index, labels)`` on such a graph (integer sums, exact).
    """
    codes, n_clusters = relabel(as_labels(labels, "labels"))
    degree = torch.zeros(codes.numel(), dtype=torch.float64)
    intra = 0
    for start in range(0, edge_index.size(1), _SCAN_EDGES):
        row = edge_index[0, start : start + _SCAN_EDGES]
        col = edge_index[1, start : start + _SCAN_EDGES]
        degree += torch.bincount(row, minlength=codes.numel())
        intra += int((codes[row] == codes[col]).sum())
    two_m = float(edge_index.size(1))
    _check_has_edges(two_m, "modularity")
    return _hard_modularity_from(float(intra), degree, codes, n_clusters, two_m, 1.0)


def soft_modularity(
    edge_index: torch.Tensor,
    weight: torch.Tensor,
    assignment: torch.Tensor,
    resolution: float,
) -> float:
    """Modularity of a validated soft assignment C [N, K] (float64, no input checks).

    Q = 1/(2m) [Tr(C^T A C) - resolution ||C^T d||^2 / (2m)], which is the hard formula
    when C is one-hot. Tr(C^T A C) = sum_ik C_ik (A C)_ik with A C [N, K] from one sparse
    product: O(E K) time, O(E + N K) memory.
    """
    two_m = float(weight.sum())
    _check_has_edges(two_m, "modularity")
    num_nodes = assignment.size(0)
    # The indices were range-checked at the door, so skip torch's invariant checks.
    adjacency = torch.sparse_coo_tensor(
        edge_index, weight, (num_nodes, num_nodes), check_invariants=False
    )
    trace = float((assignment * torch.sparse.mm(adjacency, assignment)).sum())
    degree = _degrees(edge_index, weight, num_nodes)
    pooled = assignment.t() @ degree  # C^T d, [K]
    return (trace - resolution * float(pooled @ pooled) / two_m) / two_m


def modularity(
    edge_index: torch.Tensor,
    assignment: Any,
    num_nodes: int | None = None,
    resolution: float = 1.0,
    edge_weight: torch.Tensor | None = None,
) -> float:
    """Newman modularity Q of a hard or soft partition, in [-1/2, 1).

    Hard labels: Q = sum_c [ L_c / m - resolution (d_c / 2m)^2 ], L_c the edge weight
    inside cluster c and d_c its total degree (networkx's definition). Soft assignment
    C [N, K]: Q = 1/(2m) [Tr(C^T A C) - resolution ||C^T d||^2 / (2m)], equal to the hard
    value for a one-hot C; rows need not sum to 1, but the bounds above hold only when
    they do.

    Args:
        edge_index: [2, E] long, both directions of every edge (see the module notes).
        assignment: hard labels [N] (integers, any values) or soft assignment [N, K]
            (floating point); tensors or numpy arrays.
        num_nodes: N; checked against ``assignment`` when given.
        resolution: gamma of the null-model term; larger values favour smaller clusters.
        edge_weight: optional non-negative weights [E], symmetric like ``edge_index``.

    Raises:
        ValueError: the graph has no edges (Q is undefined), or the inputs are malformed
            (a soft assignment with negative entries, a NaN or negative resolution).
    """
    resolution = check_resolution(resolution)
    if isinstance(assignment, np.ndarray) and np.issubdtype(assignment.dtype, np.floating):
        assignment = torch.from_numpy(assignment)
    if isinstance(assignment, torch.Tensor) and assignment.is_floating_point():
        soft = check_soft_assignment(assignment, num_nodes)
        edge_index, weight = check_undirected_graph(edge_index, soft.size(0), edge_weight)
        return soft_modularity(edge_index, weight, soft, resolution)
    labels = as_labels(assignment, "assignment")
    n = _resolve_num_nodes(num_nodes, labels.numel(), "assignment")
    edge_index, weight = check_undirected_graph(edge_index, n, edge_weight)
    codes, n_clusters = relabel(labels)
    return hard_modularity(edge_index, weight, codes, n_clusters, resolution)


def modularity_scorer(
    edge_index: torch.Tensor,
    num_nodes: int,
    edge_weight: torch.Tensor | None = None,
    resolution: float = 1.0,
) -> Callable[[Any], float]:
    """:func:`modularity` of many hard labellings of one graph, the graph checked once.

    Returns ``score(labels) -> float``, equal to ``modularity(edge_index, labels,
    num_nodes=num_nodes, edge_weight=edge_weight, resolution=resolution)``; for a search
    over K, where re-validating the graph for every candidate costs more than scoring.
    """
    resolution = check_resolution(resolution)
    edge_index, weight = check_undirected_graph(edge_index, num_nodes, edge_weight)

    def score(labels: Any) -> float:
        labels = as_labels(labels, "labels")
        if labels.numel() != num_nodes:
            raise ValueError(f"labels must hold {num_nodes} entries, got {labels.numel()}")
        codes, n_clusters = relabel(labels)
        return hard_modularity(edge_index, weight, codes, n_clusters, resolution)

    return score


def cluster_conductance(
    edge_index: torch.Tensor, weight: torch.Tensor, codes: torch.Tensor, n_clusters: int
) -> torch.Tensor:
    """Per-cluster conductance [K] of validated labels ``codes`` (no input checks)."""
    row, col = edge_index
    two_m = float(weight.sum())
    leaving = weight * (codes[row] != codes[col])
    cut = scatter(leaving, codes[row], dim=0, dim_size=n_clusters, reduce="sum")
    volume = scatter(_degrees(edge_index, weight, codes.numel()), codes, dim=0, dim_size=n_clusters)
    denominator = torch.minimum(volume, two_m - volume)
    # denominator 0 means volume 0 or the whole volume; then no edge leaves the cluster
    # (cut 0), and "no edge leaves" scores 0 like any other sealed cluster.
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, cut / safe, torch.zeros_like(cut))


def conductance(
    edge_index: torch.Tensor,
    labels: Any,
    num_nodes: int | None = None,
    reduction: str = "mean",
    edge_weight: torch.Tensor | None = None,
) -> float | torch.Tensor:
    """Conductance of each cluster, cut(S, V \\ S) / min(vol(S), vol(V \\ S)), in [0, 1].

    Lower is better. vol(S) is the total degree of S, cut(S, V \\ S) the edge weight
    leaving S (networkx's ``conductance(G, S)``). Degenerate clusters, where
    min(vol(S), 2m - vol(S)) = 0, have no leaving edge and are defined to score 0: a
    cluster of isolated nodes, and a cluster holding every edge. So the one-cluster
    partition (and any partition of an edgeless graph) scores 0; report the number of
    clusters beside it.

    Args:
        edge_index: [2, E] long, both directions of every edge (see the module notes).
        labels: hard labels [N], any integer values.
        num_nodes: N; checked against ``labels`` when given.
        reduction: "mean" (the mean over the non-empty clusters, a float) or "none"
            (a float64 tensor [K], one value per distinct label in sorted label order).
        edge_weight: optional non-negative weights [E], symmetric like ``edge_index``.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    labels = as_labels(labels, "labels")
    n = _resolve_num_nodes(num_nodes, labels.numel(), "labels")
    edge_index, weight = check_undirected_graph(edge_index, n, edge_weight)
    codes, n_clusters = relabel(labels)
    per_cluster = cluster_conductance(edge_index, weight, codes, n_clusters)
    return float(per_cluster.mean()) if reduction == "mean" else per_cluster


def intra_fraction(edge_index: torch.Tensor, weight: torch.Tensor, codes: torch.Tensor) -> float:
    """Coverage of validated labels ``codes`` [N] (no input checks)."""
    two_m = float(weight.sum())
    _check_has_edges(two_m, "coverage")
    row, col = edge_index
    return float(weight[codes[row] == codes[col]].sum()) / two_m


def coverage(
    edge_index: torch.Tensor,
    labels: Any,
    num_nodes: int | None = None,
    edge_weight: torch.Tensor | None = None,
) -> float:
    """Share of the edge weight that lies inside clusters, in [0, 1] (networkx's coverage).

    Higher is better but trivially 1 for the one-cluster partition; report the number of
    clusters beside it. Raises ``ValueError`` on a graph without edges.
    """
    labels = as_labels(labels, "labels")
    n = _resolve_num_nodes(num_nodes, labels.numel(), "labels")
    edge_index, weight = check_undirected_graph(edge_index, n, edge_weight)
    codes, _ = relabel(labels)
    return intra_fraction(edge_index, weight, codes)
