"""The Bayesian personalised ranking (BPR) loss of DAG's affiliation edge model.

The edge model is ``p(i, j) = sigmoid(C_i . C_j)`` on non-negative affiliations C
(:class:`graphclust.nn.readout.CommunityReadout`); BPR asks every edge to score higher
than a sampled non-edge from the same source node.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_loss(
    c: torch.Tensor,
    src: torch.Tensor,
    dst: torch.Tensor,
    neg: torch.Tensor,
    reduction: str = "sum",
) -> torch.Tensor:
    """Bayesian personalised ranking loss of the affiliation edge model.

    ``-sum_e ln sigmoid(C_src . C_dst - C_src . C_neg)`` over triples e = (i, j, u): an
    edge (i, j) should score higher than the non-edge (i, u).

    Args:
        c: affiliations [N, K].
        src, dst, neg: LongTensor [E] each (e.g. from PyG's structured_negative_sampling).
        reduction: "sum" (the paper's form) or "mean" over the E triples.
    """
    if not (src.shape == dst.shape == neg.shape) or src.dim() != 1:
        raise ValueError("src, dst and neg must be 1-D index tensors of the same length")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    c_src = c.index_select(0, src)
    margin = (c_src * c.index_select(0, dst)).sum(-1) - (c_src * c.index_select(0, neg)).sum(-1)
    # logsigmoid is the numerically stable form of ln(sigmoid(.)) for large |margin|
    losses = -F.logsigmoid(margin)
    return losses.sum() if reduction == "sum" else losses.mean()


__all__ = ["bpr_loss"]
