"""Self-training targets: DEC's Student-t assignment and sharpened targets, DEPICT's.

The pattern shared by DEC, IDEC, SDCN, DAEGC and DEPICT: a soft assignment ``Q`` from
the model, a sharper, cluster-size-corrected target ``P`` computed from it without
gradient (recomputed every few steps or once per epoch), and the loss
``KL(P || Q)`` (:func:`graphclust.losses.kl_clustering_loss`) that pulls the model
towards its own confident predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from graphclust.losses.kl import PROBABILITY_FLOOR as _TINY
from graphclust.utils.checks import positive_float


def student_t_assignment(
    z: torch.Tensor, centroids: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """DEC soft assignment with a Student-t kernel.

    ``q_ij = k_ij / sum_j' k_ij'`` with ``k_ij = (1 + |z_i - mu_j|^2 / alpha)^(-(alpha+1)/2)``
    (``alpha`` = 1 in DEC: a Cauchy kernel). Squared distances use the expansion
    ``|z|^2 + |mu|^2 - 2 z.mu`` (one ``[N, K]`` matmul; no ``[N, K, d]`` tensor), clamped
    at 0 against rounding; the kernel is normalised as a softmax of its logarithm, so
    rows stay finite even when every kernel value underflows (points far from all
    centroids). Differentiable in ``z`` and ``centroids``.

    Args:
        z: ``[N, d]`` embeddings.
        centroids: ``[K, d]`` cluster centres.
        alpha: degrees of freedom of the Student-t, > 0.

    Returns:
        ``[N, K]`` rows summing to 1, in the promoted dtype of the inputs (at least
        float32; half-precision inputs are upcast because the expansion cancels).
    """
    if z.dim() != 2 or centroids.dim() != 2 or z.shape[1] != centroids.shape[1]:
        raise ValueError(
            f"z must be [N, d] and centroids [K, d] with the same d, got {tuple(z.shape)} "
            f"and {tuple(centroids.shape)}"
        )
    if centroids.shape[0] == 0:
        raise ValueError("centroids must have at least one row (K >= 1)")
    alpha = positive_float(alpha, "alpha")
    dtype = torch.promote_types(torch.promote_types(z.dtype, centroids.dtype), torch.float32)
    z = z.to(dtype)
    centroids = centroids.to(dtype)
    sq_dist = (
        z.pow(2).sum(dim=1, keepdim=True) + centroids.pow(2).sum(dim=1) - 2.0 * z @ centroids.T
    ).clamp_min(0.0)
    log_kernel = -(alpha + 1.0) / 2.0 * torch.log1p(sq_dist / alpha)
    return torch.softmax(log_kernel, dim=1)


def dec_target(q: torch.Tensor) -> torch.Tensor:
    """DEC's auxiliary target: square the assignment, divide by the soft cluster size.

    ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')`` with ``f_j = sum_i q_ij``.
    Squaring sharpens each row (more weight on confident assignments); dividing by
    ``f_j`` stops large clusters from absorbing everything. Computed as a softmax of
    ``2 log q - log f`` so tiny ``q`` cannot underflow to a 0/0 row. Without gradient.

    Args:
        q: ``[N, K]`` soft assignment, non-negative rows summing to 1.

    Returns:
        ``[N, K]`` target, rows summing to 1, detached, same dtype as ``q``.
    """
    q = _check_assignment(q, "q")
    with torch.no_grad():
        cluster_mass = q.sum(dim=0).clamp_min(_TINY)
        return torch.softmax(2.0 * torch.log(q) - torch.log(cluster_mass), dim=1)


def depict_target(
    p: torch.Tensor, prior: torch.Tensor | Sequence[float] | None = None
) -> torch.Tensor:
    """DEPICT's target: divide by the square root of the soft cluster size [paper].

    With a uniform prior (the paper's setting, ``prior=None``):
    ``q_ik = (p_ik / (sum_i' p_i'k)^(1/2)) / sum_k' (p_ik' / (sum_i' p_i'k')^(1/2))``.
    With a prior ``u`` on cluster sizes: ``q_ik ∝ p_ik (u_k / sum_i' p_i'k)^(1/2)``.

    Derivation [derived] (from the paper's objective, extended to a general ``u``):
    DEPICT minimises over the target ``Q`` (rows on the simplex)
    ``L(Q) = (1/N) sum_ik q_ik log(q_ik / p_ik) + sum_k f_k log(f_k / u_k)`` with
    ``f_k = (1/N) sum_i q_ik``, i.e. ``KL(Q || P)`` plus ``KL(f || u)``. Setting
    ``dL/dq_ik + lambda_i = 0`` (``lambda_i`` the row constraint) gives
    ``log q_ik = log p_ik + log u_k - log f_k + c_i``, i.e. ``q_ik ∝ p_ik u_k / f_k``.
    This is implicit (``f`` depends on ``Q``); treating the row normalisers ``c_i`` as
    equal, ``f_k ∝ sum_i q_ik ∝ u_k (sum_i p_ik) / f_k``, so
    ``f_k ∝ (u_k sum_i p_ik)^(1/2)`` and ``q_ik ∝ p_ik u_k / (u_k sum_i p_ik)^(1/2)
    = p_ik (u_k / sum_i p_ik)^(1/2)``. For uniform ``u`` the factor ``u_k^(1/2)`` is a
    constant that the row normalisation removes, which gives the paper's form. The
    prior thus multiplies each cluster's weight by ``sqrt(u_k)``: it pulls the target's
    cluster sizes towards ``u`` by half a power, as the ``1/sqrt(mass)`` factor does.
    (The released code uses DEC's squared form instead: use :func:`dec_target`.)

    Args:
        p: ``[N, K]`` model assignment (DEPICT: softmax head), rows summing to 1.
        prior: ``[K]`` prior on cluster sizes ``u``, positive, summing to 1; ``None``
            for uniform.

    Returns:
        ``[N, K]`` target, rows summing to 1, detached, same dtype as ``p``.
    """
    p = _check_assignment(p, "p")
    n_clusters = p.shape[1]
    with torch.no_grad():
        logits = torch.log(p) - 0.5 * torch.log(p.sum(dim=0).clamp_min(_TINY))
        if prior is not None:
            u = torch.as_tensor(prior, dtype=p.dtype, device=p.device)
            if u.shape != (n_clusters,) or not torch.isfinite(u).all() or (u <= 0).any():
                raise ValueError(
                    f"prior must be a [K] = [{n_clusters}] tensor of positive finite cluster-"
                    f"size proportions, got shape {tuple(u.shape)}"
                )
            if abs(float(u.sum()) - 1.0) > 1e-3:
                raise ValueError(
                    f"prior must sum to 1, got {float(u.sum()):.6g}; divide it by its sum"
                )
            logits = logits + 0.5 * torch.log(u)
        return torch.softmax(logits, dim=1)


def _check_assignment(q: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(q, torch.Tensor) or q.dim() != 2 or q.shape[0] == 0 or q.shape[1] == 0:
        shape = tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__
        raise ValueError(f"{name} must be a non-empty [N, K] tensor, got {shape}")
    if not q.is_floating_point():
        raise ValueError(f"{name} must be floating point, got dtype {q.dtype}")
    q = q.detach()
    if not torch.isfinite(q).all() or (q < 0).any():
        raise ValueError(f"{name} must be finite and non-negative (a soft assignment)")
    if not (q.sum(dim=1) > 0).all():
        raise ValueError(f"every row of {name} must have positive mass (rows summing to 1)")
    return q
