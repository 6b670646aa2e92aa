"""PamC's meta-node contrastive loss (Kulatilleke et al.) and its two terms.

It takes embeddings ``z`` and the influence matrix ``S = sum_{r<=R} Ahat^r`` (positives,
:func:`graphclust.graph.influence_matrix`); ``sim`` is cosine similarity and ``tau`` an
inverse temperature. The graph operations it uses (influence matrices, meta-node
aggregation) stay in ``graphclust.graph``.

- :func:`pamc_loss`:
  ``-(1/N) sum_i log sum_j S_ij exp(tau sim(z_i, z_j))``
  ``+ (1/K') sum_k log sum_l exp(tau sim(c_k, c_l))``
  over the stored entries of ``S`` and the ``K'`` non-empty meta-nodes ``c_k``:
  ``O(nnz(S) d + N K d + K^2 d)`` time and memory.
- :func:`influence_term`: the positive term, also usable on a node batch.
- :func:`meta_node_term`: the meta-node (negative) term.

The dense Graph-MLP loss it replaces is :func:`graphclust.losses.graph_mlp_loss`.
The diagonal is kept as the formulas read (``sim(z_i, z_i) = 1``); the released codes set
the self-similarity to 0 instead, which changes a constant inside the log, not the optimum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.utils import scatter

from graphclust.graph.adjacency import csr_to_coo
from graphclust.graph.meta_nodes import cluster_mass, meta_nodes

# Norm floor for cosine similarity: a zero embedding has similarity 0 to everything.
NORM_EPS = 1e-12


def influence_term(
    z_rows: torch.Tensor,
    z_cols: torch.Tensor,
    row: torch.Tensor,
    col: torch.Tensor,
    value: torch.Tensor,
    tau: float = 1.0,
) -> torch.Tensor:
    """Positive term ``-(1/N') sum_i log sum_j S_ij exp(tau sim(z_i, z_j))``, sparse.

    The sum over ``j`` runs over the stored entries of ``S`` only. Rows without a stored
    positive entry are left out of the mean (``N'`` counts the others), so an isolated
    node never gives ``log 0``. Each row's log-sum-exp is shifted by its (detached)
    maximum, so large ``tau`` cannot overflow.

    Args:
        z_rows: ``[B, d]`` embeddings of the rows (the whole graph, or a node batch).
        z_cols: ``[M, d]`` embeddings the column ids point into (``z_rows`` itself in
            full batch; in mini-batch mode, all nodes, possibly a detached cache).
        row: ``[nnz]`` row positions into ``z_rows``.
        col: ``[nnz]`` column positions into ``z_cols``.
        value: ``[nnz]`` weights ``S_ij >= 0``.
        tau: inverse temperature.

    Returns:
        Scalar loss (0 when no row has a positive entry).
    """
    keep = value > 0
    if not bool(keep.all()):
        row, col, value = row[keep], col[keep], value[keep]
    if row.numel() == 0:
        return z_rows.sum() * 0.0
    num_rows = z_rows.size(0)
    zr = F.normalize(z_rows, dim=1, eps=NORM_EPS)
    zc = zr if z_cols is z_rows else F.normalize(z_cols, dim=1, eps=NORM_EPS)
    # index_select, not z[row]: its backward is index_add_, several times faster on CPU
    # than the accumulating index_put_ of advanced indexing.
    logits = tau * (zr.index_select(0, row) * zc.index_select(0, col)).sum(dim=1)
    row_max = scatter(logits.detach(), row, dim=0, dim_size=num_rows, reduce="max")
    weighted = value.to(logits.dtype) * torch.exp(logits - row_max.index_select(0, row))
    total = scatter(weighted, row, dim=0, dim_size=num_rows, reduce="sum")
    # A row with a stored entry has total >= its largest S_ij * exp(0) > 0.
    has_positive = total > 0
    log_pos = torch.log(total[has_positive]) + row_max[has_positive]
    return -log_pos.mean()


def meta_node_term(
    z: torch.Tensor,
    assignment: torch.Tensor,
    num_clusters: int | None = None,
    tau: float = 1.0,
    min_mass: float = 1e-6,
) -> torch.Tensor:
    """Negative term ``(1/K') sum_k log sum_l exp(tau sim(c_k, c_l))`` over meta-nodes.

    ``c = meta_nodes(z, assignment)``: sums of embeddings per cluster (hard labels) or
    ``Q^T z`` (soft). Only the ``K'`` clusters with mass above ``min_mass`` take part
    (as ``k`` and as ``l``), so an empty cluster, whose meta-node is the zero vector,
    never enters a cosine (the released code's NaN) and ``K`` is not shrunk: the term
    simply has ``K'`` rows. With ``K' = 0`` it is 0.

    Args:
        z: ``[N, d]`` embeddings (or a node batch).
        assignment: LongTensor ``[N]`` labels or FloatTensor ``[N, K]`` soft assignment;
            gradients flow into a soft assignment.
        num_clusters: ``K`` for hard labels.
        tau: inverse temperature.
        min_mass: clusters lighter than this are treated as empty.

    Returns:
        Scalar loss.
    """
    centres = meta_nodes(z, assignment, num_clusters)
    mass = cluster_mass(assignment, centres.size(0)).to(centres.device)
    alive = mass > min_mass
    if not bool(alive.any()):
        return z.sum() * 0.0
    c = F.normalize(centres[alive], dim=1, eps=NORM_EPS)
    return torch.logsumexp(tau * (c @ c.t()), dim=1).mean()


def pamc_loss(
    z: torch.Tensor,
    influence: torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    assignment: torch.Tensor,
    tau: float = 1.0,
    num_clusters: int | None = None,
    return_parts: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PamC loss: sparse positives from ``S`` plus meta-node negatives (full batch).

    ``L = -(1/N) sum_i log sum_j S_ij e^{tau sim(z_i, z_j)}
    + (1/K') sum_k log sum_l e^{tau sim(c_k, c_l)}``; see :func:`influence_term` and
    :func:`meta_node_term` for the conventions (rows without positives, empty clusters).

    Args:
        z: ``[N, d]`` embeddings.
        influence: ``S`` as an ``[N, N]`` torch sparse tensor (CSR or COO) or as
            ``(row, col, value)`` triplets.
        assignment: LongTensor ``[N]`` hard labels (released code: ``argmax Q``,
            detached) or FloatTensor ``[N, K]`` soft assignment (paper: ``c = Q^T z``).
        tau: inverse temperature (> 0).
        num_clusters: ``K`` (for hard labels, so empty trailing clusters are known).
        return_parts: also return the positive and the meta-node term.

    Returns:
        The scalar loss, or ``(loss, positive_term, meta_node_term)``.
    """
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        raise ValueError(f"z must be a tensor [N, d], got {getattr(z, 'shape', type(z))}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if isinstance(influence, tuple):
        row, col, value = influence
    else:
        if tuple(influence.shape) != (z.size(0), z.size(0)):
            raise ValueError(
                f"influence must be [N, N] = [{z.size(0)}, {z.size(0)}], got "
                f"{list(influence.shape)}"
            )
        row, col, value = csr_to_coo(influence)
    positive = influence_term(z, z, row, col, value, tau)
    negative = meta_node_term(z, assignment, num_clusters, tau)
    loss = positive + negative
    return (loss, positive, negative) if return_parts else loss


__all__ = ["influence_term", "meta_node_term", "pamc_loss"]
