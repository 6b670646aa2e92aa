"""Graph-MLP's neighbour contrastive loss (Hu et al.), dense: the reference PamC replaces.

``-(1/N) sum_i log( sum_j S_ij exp(tau s_ij) / sum_j exp(tau s_ij) )`` with ``S`` the
influence matrix (positives) and ``s`` cosine similarity. **Dense**: it builds ``N x N``
similarity matrices, ``O(N^2 d)`` time and ``O(N^2)`` memory; it is here only as the
reference the benchmark compares :func:`graphclust.losses.pamc_loss` against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from graphclust.losses.pamc import NORM_EPS


def graph_mlp_loss(z: torch.Tensor, influence: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Graph-MLP's neighbour contrastive loss, **dense**: ``O(N^2)`` memory and time.

    ``-(1/N') sum_i log( sum_j S_ij e^{tau s_ij} / sum_j e^{tau s_ij} )`` with ``s`` the
    full ``N x N`` cosine-similarity matrix and ``S`` densified; rows without a positive
    entry are left out (as in :func:`graphclust.losses.influence_term`). Computed like
    the released code (exponentials of the whole matrix, then row sums), with every
    exponent shifted by ``-tau`` (``s <= 1``), which cancels in the ratio and keeps
    ``exp`` below 1; the positive sum can underflow only for ``tau`` above ~40. About
    four ``N x N`` float32 matrices live at once (similarities, their exponentials, dense
    ``S``, the product): 0.4 GB each at N = 10,000, 3.6 GB at N = 30,000. For reference
    and benchmarks only.

    Args:
        z: ``[N, d]`` embeddings.
        influence: ``[N, N]`` sparse (or dense) ``S``.
        tau: inverse temperature.

    Returns:
        Scalar loss.
    """
    n = z.size(0)
    dense = influence.to_dense() if influence.layout != torch.strided else influence
    if tuple(dense.shape) != (n, n):
        raise ValueError(f"influence must be [N, N] = [{n}, {n}], got {list(dense.shape)}")
    zn = F.normalize(z, dim=1, eps=NORM_EPS)
    expo = torch.exp(tau * (zn @ zn.t()) - tau)
    positive = (expo * dense.to(expo.dtype)).sum(dim=1)
    has_positive = (dense > 0).any(dim=1)
    ratio = positive[has_positive] / expo.sum(dim=1)[has_positive]
    return -torch.log(ratio).mean()


__all__ = ["graph_mlp_loss"]
