"""Meta-nodes: one summary vector per cluster, ``c_k = sum_i a_ik z_i``.

PamC contrasts K meta-nodes instead of N^2 node pairs. With hard labels ``a_ik`` is 1
when node i is in cluster k (the released code); with a soft assignment ``Q`` it is
``q_ik``, i.e. ``C = Q^T Z`` (the paper). Both are a single sparse/scatter reduction or a
``[K, N] x [N, d]`` product: never the ``[N, K, d]`` broadcast of the released code.
"""

from __future__ import annotations

import torch
from torch_geometric.utils import scatter


def _check(z: torch.Tensor, assignment: torch.Tensor, num_clusters: int | None) -> int:
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        raise ValueError(f"z must be a tensor [N, d], got {getattr(z, 'shape', type(z))}")
    if not isinstance(assignment, torch.Tensor):
        raise TypeError("assignment must be a LongTensor [N] of labels or a FloatTensor [N, K]")
    if assignment.size(0) != z.size(0):
        raise ValueError(
            f"assignment has {assignment.size(0)} rows but z has {z.size(0)}; one per node"
        )
    if assignment.is_floating_point():
        if assignment.dim() != 2:
            raise ValueError(f"a soft assignment must be [N, K], got {list(assignment.shape)}")
        k = assignment.size(1)
        if num_clusters is not None and num_clusters != k:
            raise ValueError(f"num_clusters={num_clusters} but the soft assignment has {k} columns")
        return k
    if assignment.dim() != 1:
        raise ValueError(f"hard labels must be a LongTensor [N], got {list(assignment.shape)}")
    if assignment.numel() and int(assignment.min()) < 0:
        raise ValueError("hard labels must be non-negative cluster ids")
    seen = int(assignment.max()) + 1 if assignment.numel() else 0
    if num_clusters is None:
        return seen
    if seen > num_clusters:
        raise ValueError(f"labels go up to {seen - 1} but num_clusters={num_clusters}")
    return num_clusters


def meta_nodes(
    z: torch.Tensor,
    assignment: torch.Tensor,
    num_clusters: int | None = None,
    reduce: str = "sum",
) -> torch.Tensor:
    """Aggregate node embeddings into one vector per cluster.

    Args:
        z: ``[N, d]`` embeddings.
        assignment: hard labels (LongTensor ``[N]``, ids in ``0..K-1``) or a soft
            assignment (FloatTensor ``[N, K]``, e.g. DEC's Q).
        num_clusters: ``K``. Pass it with hard labels so that clusters with no node
            still get a (zero) row and K never shrinks; inferred when omitted.
        reduce: ``"sum"`` (``c_k = sum_i a_ik z_i``, PamC) or ``"mean"`` (divided by the
            cluster mass ``sum_i a_ik``; an empty cluster stays 0, never NaN).

    Returns:
        ``[K, d]`` meta-nodes; differentiable in ``z`` (and in a soft ``assignment``).
        An empty cluster gives a zero row: callers that normalise must skip it (see
        :func:`cluster_mass`).
    """
    if reduce not in ("sum", "mean"):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    k = _check(z, assignment, num_clusters)
    if assignment.is_floating_point():
        out = assignment.to(z.dtype).t() @ z
    else:
        out = scatter(z, assignment.long(), dim=0, dim_size=k, reduce="sum")
    if reduce == "mean":
        mass = cluster_mass(assignment, k).to(out.dtype)
        out = out / mass.clamp_min(torch.finfo(out.dtype).tiny).unsqueeze(1)
    return out


def cluster_mass(assignment: torch.Tensor, num_clusters: int | None = None) -> torch.Tensor:
    """Size of each cluster: label counts (hard) or column sums ``sum_i q_ik`` (soft).

    Args:
        assignment: LongTensor ``[N]`` or FloatTensor ``[N, K]``.
        num_clusters: ``K`` (required to count empty trailing clusters of hard labels).

    Returns:
        ``[K]`` float tensor (no gradient).
    """
    if assignment.is_floating_point():
        if assignment.dim() != 2:
            raise ValueError(f"a soft assignment must be [N, K], got {list(assignment.shape)}")
        return assignment.detach().sum(dim=0)
    if assignment.dim() != 1:
        raise ValueError(f"hard labels must be a LongTensor [N], got {list(assignment.shape)}")
    seen = int(assignment.max()) + 1 if assignment.numel() else 0
    k = seen if num_clusters is None else num_clusters
    if seen > k:
        raise ValueError(f"labels go up to {seen - 1} but num_clusters={k}")
    return torch.bincount(assignment.long(), minlength=k).to(torch.float32)


__all__ = ["cluster_mass", "meta_nodes"]
