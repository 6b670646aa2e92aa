"""The self-training loss ``KL(P || Q)`` of DEC, IDEC, SDCN, DAEGC and DEPICT.

``P`` is a sharpened target computed without gradient from the model's soft assignment
``Q`` (:func:`graphclust.assign.dec_target`, :func:`graphclust.assign.depict_target`);
the loss pulls the model towards its own confident predictions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Floor for probabilities before a log: keeps KL finite when an entry underflows to 0.
PROBABILITY_FLOOR = 1e-30


def kl_clustering_loss(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``KL(P || Q)`` averaged over rows ("batchmean"), target ``P`` detached.

    DEC's clustering loss ``sum_i sum_j p_ij log(p_ij / q_ij) / N``; also DEPICT's
    (there the roles are named the other way: target Q, prediction P). Zero entries of
    ``p`` contribute 0; entries of ``q`` are floored at 1e-30 before the log so an
    underflowed prediction gives a large finite loss, not ``inf``.

    Args:
        p: ``[N, K]`` target distribution (no gradient flows into it).
        q: ``[N, K]`` predicted distribution (the gradient flows here).

    Returns:
        Scalar loss.
    """
    if p.shape != q.shape or p.dim() != 2:
        raise ValueError(
            f"p and q must both be [N, K] with the same shape, got {tuple(p.shape)} and "
            f"{tuple(q.shape)}"
        )
    return F.kl_div(torch.log(q.clamp_min(PROBABILITY_FLOOR)), p.detach(), reduction="batchmean")


__all__ = ["kl_clustering_loss"]
