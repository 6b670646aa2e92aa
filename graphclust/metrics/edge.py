"""The EDGE score (Liu et al., KDD 2024, Eq. 14-15) and the numbers that put it in context.

EDGE scores a partition on pairs of nodes whose relation is known: "intra" pairs are
known to share a community (positives), "inter" pairs known to be apart (negatives). A
partition calls a pair intra when both ends get the same label. Then

    P = |true intra & pred intra| / |pred intra|,
    R = |true intra & pred intra| / |true intra|,   EDGE = 2PR / (P + R),

the F1 of the intra class. Its blind spot: the one-cluster partition calls every pair
intra and scores 2p / (1 + p), p the share of intra pairs (0.894 on Cora). So the report
also carries that trivial score, the number of clusters, and the F1 of the inter class,
which the one-cluster partition fails (see docs/edge.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from graphclust.metrics._inputs import as_labels


@dataclass(frozen=True)
class EdgeReport:
    """EDGE and its context; all scores in [0, 1].

    Attributes:
        edge: F1 of the intra class, 2PR / (P + R) (the paper's EDGE).
        precision: share of the predicted-intra pairs that are truly intra.
        recall: share of the truly intra pairs that are predicted intra.
        inter_f1: F1 of the inter class (pairs predicted apart vs truly apart).
        balanced_f1: mean of ``edge`` and ``inter_f1``.
        n_clusters: number of distinct predicted labels over all nodes.
        trivial_edge: EDGE of the one-cluster partition on the same pairs, 2p / (1 + p)
            with p = n_intra / (n_intra + n_inter).
        n_intra: number of truly intra pairs (each unordered pair once).
        n_inter: number of truly inter pairs.
    """

    edge: float
    precision: float
    recall: float
    inter_f1: float
    balanced_f1: float
    n_clusters: int
    trivial_edge: float
    n_intra: int
    n_inter: int

    def as_dict(self) -> dict[str, float]:
        """The fields as a plain dict (counts stay ints)."""
        return asdict(self)


def _f1(hits: int, predicted: int, actual: int) -> tuple[float, float, float]:
    """(F1, precision, recall); a ratio with an empty denominator counts as 0."""
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    total = precision + recall
    return (2.0 * precision * recall / total if total else 0.0), precision, recall


def score_pairs(
    pred: torch.Tensor, left: torch.Tensor, right: torch.Tensor, true_intra: torch.Tensor
) -> EdgeReport:
    """EdgeReport of validated predicted labels ``pred`` [N] on pairs (left, right) [M].

    ``true_intra`` [M] (bool) marks the pairs known to be intra; the others are inter.
    No input checks: the public entry points validate.
    """
    if left.numel() == 0:
        raise ValueError("EDGE needs at least one pair with a known relation; got none")
    pred_intra = pred[left] == pred[right]
    n_pairs = int(left.numel())
    n_intra = int(true_intra.sum())
    n_inter = n_pairs - n_intra
    n_pred_intra = int(pred_intra.sum())
    intra_hits = int((pred_intra & true_intra).sum())
    inter_hits = int((~pred_intra & ~true_intra).sum())
    edge, precision, recall = _f1(intra_hits, n_pred_intra, n_intra)
    inter_f1, _, _ = _f1(inter_hits, n_pairs - n_pred_intra, n_inter)
    share = n_intra / n_pairs
    return EdgeReport(
        edge=edge,
        precision=precision,
        recall=recall,
        inter_f1=inter_f1,
        balanced_f1=(edge + inter_f1) / 2.0,
        n_clusters=int(torch.unique(pred).numel()),
        trivial_edge=2.0 * share / (1.0 + share),
        n_intra=n_intra,
        n_inter=n_inter,
    )


def _check_pairs(pairs: Any, num_nodes: int, name: str) -> torch.Tensor:
    """Validate node pairs [2, M]: integer indices in 0..N-1; returns a CPU LongTensor."""
    if not isinstance(pairs, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [2, M], got {type(pairs).__name__}")
    pairs = pairs.detach().cpu()
    if pairs.is_floating_point() or pairs.is_complex() or pairs.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer node indices, got dtype {pairs.dtype}")
    if pairs.dim() != 2 or pairs.size(0) != 2:
        hint = (
            f" (it looks like [M, 2]: pass {name}.t())"
            if pairs.dim() == 2 and pairs.size(1) == 2
            else ""
        )
        raise ValueError(f"{name} must have shape [2, M], got {list(pairs.shape)}{hint}")
    pairs = pairs.long()
    if pairs.numel() > 0 and (int(pairs.min()) < 0 or int(pairs.max()) >= num_nodes):
        raise ValueError(
            f"{name} holds node indices in [{int(pairs.min())}, {int(pairs.max())}] but "
            f"labels has {num_nodes} entries (valid indices 0..{num_nodes - 1})"
        )
    return pairs


def _pair_keys(pairs: Any, num_nodes: int, name: str, drop_self: bool) -> torch.Tensor:
    """Sorted unique keys min(i, j) * N + max(i, j) [M] of the unordered pairs [2, M]."""
    pairs = _check_pairs(pairs, num_nodes, name)
    low, high = torch.minimum(pairs[0], pairs[1]), torch.maximum(pairs[0], pairs[1])
    self_pair = low == high
    if bool(self_pair.any()):
        if not drop_self:
            node = int(low[self_pair][0])
            raise ValueError(
                f"{name} contains the pair ({node}, {node}); a node paired with itself "
                "carries no information, remove such pairs"
            )
        low, high = low[~self_pair], high[~self_pair]
    return torch.unique(low * num_nodes + high)


def graph_pairs(edge_index: Any, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The graph's edges as unordered pairs (i < j), each once, self-loops dropped."""
    keys = _pair_keys(edge_index, num_nodes, "edge_index", drop_self=True)
    return keys // num_nodes, keys % num_nodes


def edge_score(
    labels: Any,
    edge_index: torch.Tensor | None = None,
    y: Any = None,
    intra_pairs: torch.Tensor | None = None,
    inter_pairs: torch.Tensor | None = None,
) -> EdgeReport:
    """EDGE of a partition, with its precision, recall, inter-class F1 and trivial score.

    Give the known relations one of two ways:

    * ``edge_index`` and ``y`` (labelled graph): the pairs are the graph's edges, each
      unordered edge counted once whichever directions ``edge_index`` lists (self-loops
      dropped); a pair is intra when both ends have the same ``y``.
    * ``intra_pairs`` and ``inter_pairs`` (unlabelled graph, relations from outside
      knowledge), each [2, M] (M may be 0 for one of them). Pairs are unordered:
      (i, j) and (j, i) are the same pair, and repeats count once.

    Degenerate cases: a ratio with an empty denominator counts as 0, so a partition that
    puts no pair together (e.g. every node alone) has precision 0, recall 0 and EDGE 0;
    the one-cluster partition has recall 1, EDGE = trivial_edge and inter_f1 0; with no
    true intra pairs EDGE is 0 and trivial_edge 0.

    Args:
        labels: predicted cluster labels [N], any integer values.
        edge_index: [2, E] long, with ``y``.
        y: ground-truth labels [N], with ``edge_index``.
        intra_pairs: [2, M1] long, pairs known to share a community.
        inter_pairs: [2, M2] long, pairs known to be apart.

    Raises:
        ValueError: both or neither way given, malformed pairs, a pair (i, i) among the
            explicit pairs, a pair listed as both intra and inter, or no pair at all.
    """
    pred = as_labels(labels, "labels")
    n = pred.numel()
    by_labels = edge_index is not None or y is not None
    by_pairs = intra_pairs is not None or inter_pairs is not None
    if by_labels == by_pairs:
        raise ValueError(
            "give the known relations either as edge_index and y (labelled graph) or as "
            "intra_pairs and inter_pairs (explicit pairs), not both and not neither"
        )
    if by_labels:
        if edge_index is None or y is None:
            raise ValueError("edge_index and y must be given together")
        truth = as_labels(y, "y", num_nodes=n)
        left, right = graph_pairs(edge_index, n)
        return score_pairs(pred, left, right, truth[left] == truth[right])
    if intra_pairs is None or inter_pairs is None:
        raise ValueError(
            "intra_pairs and inter_pairs must be given together; pass an empty "
            "torch.empty(2, 0, dtype=torch.long) for a side with no known pairs"
        )
    intra = _pair_keys(intra_pairs, n, "intra_pairs", drop_self=False)
    inter = _pair_keys(inter_pairs, n, "inter_pairs", drop_self=False)
    both = intra[torch.isin(intra, inter)]
    if both.numel() > 0:
        key = int(both[0])
        raise ValueError(
            f"{both.numel()} pairs are listed as both intra and inter, e.g. "
            f"({key // n}, {key % n}); each pair must have one known relation"
        )
    keys = torch.cat([intra, inter])
    true_intra = torch.zeros(keys.numel(), dtype=torch.bool)
    true_intra[: intra.numel()] = True
    return score_pairs(pred, keys // n, keys % n, true_intra)
