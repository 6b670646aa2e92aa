"""One call that scores a partition of a graph with every metric the benchmark reports."""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from graphclust.metrics._inputs import (
    as_labels,
    check_soft_assignment,
    check_undirected_graph,
    relabel,
)
from graphclust.metrics.edge import EdgeReport, edge_score, graph_pairs, score_pairs
from graphclust.metrics.graph import (
    cluster_conductance,
    hard_modularity,
    intra_fraction,
    soft_modularity,
)
from graphclust.metrics.overlap import overlapping_f1, overlapping_nmi
from graphclust.metrics.supervised import ari, clustering_accuracy, macro_f1, nmi


def _ground_truth(data: Data, num_nodes: int) -> torch.Tensor | None:
    """data.y as labels [N] (a [N, 1] column is flattened), or None when absent."""
    y = getattr(data, "y", None)
    if y is None:
        return None
    if isinstance(y, torch.Tensor) and y.dim() == 2 and y.size(1) == 1:
        y = y.view(-1)  # OGB stores node labels as a column
    return as_labels(y, "data.y", num_nodes=num_nodes)


def _edge_report(
    codes: torch.Tensor, data: Data, edge_index: torch.Tensor, y: torch.Tensor | None
) -> EdgeReport | None:
    """EDGE from data.y over the edges, else from data.intra_pairs/inter_pairs, else None."""
    if y is not None:
        left, right = graph_pairs(edge_index, codes.numel())
        # Only pairs whose two ends are labelled carry an intra/inter annotation.
        known = (y[left] >= 0) & (y[right] >= 0)
        left, right = left[known], right[known]
        return score_pairs(codes, left, right, y[left] == y[right])
    intra = getattr(data, "intra_pairs", None)
    inter = getattr(data, "inter_pairs", None)
    if intra is not None and inter is not None:
        return edge_score(codes, intra_pairs=intra, inter_pairs=inter)
    return None


def evaluate_partition(
    labels: Any, data: Data, soft_assignments: torch.Tensor | None = None
) -> dict[str, float]:
    """Score a partition of ``data``: supervised, graph and EDGE metrics in one dict.

    Keys, in order:

    * acc, nmi, ari, f1: against ``data.y`` (only when ``data`` has ``y``; a [N, 1]
      column is accepted). Accuracy and F1 use the one-to-one matching of
      :func:`graphclust.metrics.match_labels`, so any number of clusters is fine.
      A negative ``y`` marks an unlabelled node (the usual -1): such nodes are left out
      of these scores and of EDGE, and ``n_labelled`` then reports how many were scored.
    * onmi, overlap_f1: only when ``data`` has ``y_overlap`` [N, C] (overlapping ground
      truth, e.g. the ``fb-*`` datasets): McDaid et al.'s overlapping NMI (NMI_max) and
      the average best-match F1 between the predicted partition (one community per
      cluster) and the cover, over all nodes (nodes in no true community included);
      see :mod:`graphclust.metrics.overlap`.
    * modularity, conductance (mean over clusters), coverage: label-free, from
      ``data.edge_index`` (both directions of every edge, as ``check_graph`` returns) and
      ``data.edge_weight`` when present.
    * soft_modularity: modularity of ``soft_assignments`` [N, K], only when given.
    * edge, edge_trivial, edge_inter_f1: EDGE over the graph's edges from ``data.y``;
      for a graph without ``y`` but with ``data.intra_pairs`` and ``data.inter_pairs``
      ([2, M] each), from those pairs; otherwise left out.
    * k: the number of non-empty clusters.

    Args:
        labels: predicted cluster labels [N], any integer values (tensor or numpy).
        data: a ``torch_geometric.data.Data`` with ``edge_index`` (and ``y`` for the
            supervised scores).
        soft_assignments: optional soft assignment [N, K] of the same partition.

    Returns:
        dict of Python numbers (``k`` an int, the rest floats).
    """
    if not isinstance(data, Data):
        raise TypeError(f"data must be a torch_geometric.data.Data, got {type(data).__name__}")
    if getattr(data, "edge_index", None) is None:
        raise ValueError("data.edge_index is missing; the graph metrics need the edges")
    pred = as_labels(labels, "labels", num_nodes=data.num_nodes)
    n = pred.numel()
    edge_index, weight = check_undirected_graph(
        data.edge_index, n, getattr(data, "edge_weight", None)
    )
    codes, n_clusters = relabel(pred)
    y = _ground_truth(data, n)

    scores: dict[str, float] = {}
    if y is not None:
        labelled = y >= 0
        if not bool(labelled.any()):
            raise ValueError(
                "data.y marks every node as unlabelled (negative); drop data.y to get the "
                "label-free scores only"
            )
        true, pred_labelled = y[labelled], codes[labelled]
        scores["acc"] = clustering_accuracy(true, pred_labelled)
        scores["nmi"] = nmi(true, pred_labelled)
        scores["ari"] = ari(true, pred_labelled)
        scores["f1"] = macro_f1(true, pred_labelled)
        if not bool(labelled.all()):
            scores["n_labelled"] = int(labelled.sum())
    cover = getattr(data, "y_overlap", None)
    if cover is not None:
        scores["onmi"] = overlapping_nmi(cover, codes)
        scores["overlap_f1"] = overlapping_f1(cover, codes)
    scores["modularity"] = hard_modularity(edge_index, weight, codes, n_clusters, 1.0)
    scores["conductance"] = float(cluster_conductance(edge_index, weight, codes, n_clusters).mean())
    scores["coverage"] = intra_fraction(edge_index, weight, codes)
    if soft_assignments is not None:
        soft = check_soft_assignment(soft_assignments, n)
        scores["soft_modularity"] = soft_modularity(edge_index, weight, soft, 1.0)
    report = _edge_report(codes, data, edge_index, y)
    if report is not None:
        scores["edge"] = report.edge
        scores["edge_trivial"] = report.trivial_edge
        scores["edge_inter_f1"] = report.inter_f1
    scores["k"] = n_clusters
    return scores
