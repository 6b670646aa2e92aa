"""A query-distribution regulariser that keeps prototypes apart (for MaxQuery scores).

MaxQuery flags an input as out of distribution when it is far from every query
(prototype). That works only when the prototypes spread over the inliers' clusters:
prototypes that drift together leave regions of inliers far from all of them. This loss
is the uniformity loss of Wang and Isola (ICML 2020) applied to the prototypes
themselves rather than to the embeddings:

    L(C) = log( 1 / (K (K - 1)) sum_{k != l} exp(-t |c_k - c_l|^2) ),   c = C / |C|,

minimal when the unit prototypes are spread uniformly over the sphere; it is the
stand-in here for MaxQuery's query-distribution loss, whose foreground/background split
has no counterpart in node clustering. Add ``weight * L`` to a method's loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from graphclust.utils.checks import positive_float


def prototype_uniformity_loss(prototypes: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """Uniformity of the unit-normalised prototypes ``[K, d]`` (``K >= 2``); a scalar.

    Ranges from ``-4 t`` (only reachable for ``K = 2``: two antipodal prototypes) to
    ``0`` (all prototypes equal). Differentiable in ``prototypes``.
    """
    if not isinstance(prototypes, torch.Tensor) or prototypes.dim() != 2:
        raise ValueError("prototypes must be a tensor [K, d]")
    if prototypes.size(0) < 2:
        raise ValueError("prototype_uniformity_loss needs at least 2 prototypes")
    t = positive_float(t, "t")
    c = F.normalize(prototypes, dim=1)
    # |c_k - c_l|^2 = 2 - 2 c_k . c_l for unit rows.
    sq = (2.0 - 2.0 * c @ c.t()).clamp_min(0.0)
    k = c.size(0)
    off = ~torch.eye(k, dtype=torch.bool, device=c.device)
    return torch.logsumexp(-t * sq[off], dim=0) - math.log(k * (k - 1))


__all__ = ["prototype_uniformity_loss"]
