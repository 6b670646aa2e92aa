"""SDP k-means (Peng and Wei, 2007) and iLA-SDP (Zhuang, Chen and Yang, ICML 2023).

SDP k-means relaxes the k-means partition matrix ``Z = sum_k 1_{G_k} 1_{G_k}^T / n_k``
to the convex set of the Peng-Wei relaxation,

    max <X X^T, Z>  s.t.  Z PSD,  Z >= 0,  Z 1 = 1,  tr Z = K,

whose global solution is the ideal block matrix above under Gaussian mixtures
separated beyond the information-theoretic threshold of exact recovery: unlike Lloyd
or EM there is no start to get wrong. The labels are k-means on the top-``K``
eigenvectors of ``Z`` (rows scaled by their eigenvalues), which are exact on a block
solution.

iLA-SDP handles clusters with different covariances. With cluster means, the negative
log-likelihood of a partition under ``N(mu_k, Sigma_k)`` is, by
``sum_{i in G} (x_i - mu)^T S (x_i - mu) = (1 / 2n_k) sum_{i,j in G} (x_i - x_j)^T S
(x_i - x_j)`` and ``n_k = 1^T Z_k 1``,

    (1/2) sum_k <Z_k, B_k>,  (B_k)_ij = 1/2 (x_i - x_j)^T Sigma_k^-1 (x_i - x_j)
                                        + log det Sigma_k,

linear in one membership matrix per cluster, ``Z_k = 1_{G_k} 1_{G_k}^T / n_k``. The
likelihood-adjusted SDP (LA-SDP) relaxes it to ``Z_k`` PSD, ``Z_k >= 0``,
``tr Z_k = 1`` and ``sum_k Z_k 1 = 1`` (each point's memberships sum to one); with
``Sigma_k = I`` for all ``k`` it is the Peng-Wei problem up to a constant. iLA-SDP
alternates (a) ``Sigma_k`` = covariance of cluster ``k`` of the current partition and
(b) the LA-SDP, whose partition is ``argmax_k (Z_k 1)_i``, until the partition stops
changing. Both problems are solved by :func:`graphclust.assign.sdp.solve_block_sdp`
(ADMM with a certified duality gap).

Differences from the paper, all deliberate:

- The solver is our first-order ADMM (``graphclust.assign.sdp``), stopped at a relative
  residual ``tol`` (1e-3 by default: the partition is settled long before the
  objective's last digits); the fitted ``history_`` records residuals and the gap.
- iLA-SDP starts from the Peng-Wei partition, and each LA-SDP is warm-started from the
  block matrices of the current partition.
- ``Sigma_k`` gets a ridge ``covariance_reg x`` (mean feature variance) ``x I`` so that
  small clusters, or ``d >= n_k``, give an invertible matrix; a cluster with fewer than
  two points borrows the pooled covariance.
- Mixing proportions are left out of the likelihood (equal weights), as in the paper's
  LA-SDP objective as we read it; the sizes ``n_k`` still enter through ``log det``.
- It is O(N^2) in memory and at least O(N^2) per ADMM step by nature, so ``fit``
  refuses ``N`` beyond ``max_n`` (default 5,000 on CPU, 20,000 on CUDA; divided by
  ``sqrt(K)`` for ``covariance="cluster"``, which holds ``K`` matrices). With
  ``max_samples`` it solves the SDP on a seeded random sample and assigns the other
  points to the nearest centre (``"shared"``) or the most likely Gaussian
  (``"cluster"``): :func:`assign_to_clusters`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch_geometric.data import Data

from graphclust.assign import fit_kmeans
from graphclust.assign.sdp import EIG_MODES, sdp_embedding, sdp_kmeans, solve_block_sdp
from graphclust.data.validation import check_features, check_n_clusters
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.training import progress
from graphclust.utils import resolve_device
from graphclust.utils.checks import flag, positive_float, positive_int

COVARIANCES = ("shared", "cluster")
PRECISIONS = {"single": torch.float32, "double": torch.float64}
DEFAULT_MAX_N = {"cpu": 5000, "cuda": 20000}


def cluster_covariances(
    x: torch.Tensor, labels: torch.Tensor, n_clusters: int, reg: float
) -> torch.Tensor:
    """Per-cluster covariance matrices [K, d, d] of ``x`` [N, d] under ``labels`` [N],
    plus ``reg`` x (mean feature variance) x I; clusters of fewer than 2 points get
    the pooled covariance."""
    d = x.size(1)
    ridge = reg * float(x.var(dim=0, unbiased=False).mean().clamp_min(1e-12))
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    pooled = torch.cov(x.T, correction=0).reshape(d, d)
    covs = []
    for k in range(n_clusters):
        members = x[labels == k]
        cov = torch.cov(members.T, correction=0).reshape(d, d) if members.size(0) > 1 else pooled
        covs.append(cov + ridge * eye)
    return torch.stack(covs)


def likelihood_costs(x: torch.Tensor, covariances: torch.Tensor) -> torch.Tensor:
    """LA-SDP costs [K, N, N]: ``1/2 (x_i - x_j)^T Sigma_k^-1 (x_i - x_j) + log det
    Sigma_k`` (module docstring), for ``x`` [N, d] and ``covariances`` [K, d, d]."""
    costs = []
    for cov in covariances:
        chol = torch.linalg.cholesky(cov)
        white = torch.linalg.solve_triangular(chol, x.T, upper=False).T  # Mahalanobis
        sq = (white * white).sum(1)
        dist = (sq[:, None] + sq[None, :] - 2.0 * white @ white.T).clamp_min(0.0)
        costs.append(0.5 * dist + 2.0 * torch.log(torch.diagonal(chol)).sum())
    return torch.stack(costs)


def assign_to_clusters(
    x: torch.Tensor, centres: torch.Tensor, covariances: torch.Tensor | None = None
) -> torch.Tensor:
    """Labels [N] of ``x`` [N, d]: the nearest of ``centres`` [K, d], or, given
    ``covariances`` [K, d, d], the Gaussian with the highest log-likelihood
    (Mahalanobis distance plus log det, equal weights, as in the LA-SDP objective)."""
    if covariances is None:
        return torch.cdist(x, centres).argmin(dim=1)
    scores = []
    for centre, cov in zip(centres, covariances, strict=True):
        chol = torch.linalg.cholesky(cov)
        white = torch.linalg.solve_triangular(chol, (x - centre).T, upper=False)
        scores.append((white * white).sum(0) + 2.0 * torch.log(torch.diagonal(chol)).sum())
    return torch.stack(scores, dim=1).argmin(dim=1)


def _block_start(labels: torch.Tensor, n_clusters: int, dtype: torch.dtype) -> torch.Tensor:
    """[K, N, N] block matrices ``1_{G_k} 1_{G_k}^T / n_k`` of a partition."""
    onehot = torch.nn.functional.one_hot(labels, n_clusters).to(dtype).T  # [K, N]
    sizes = onehot.sum(1).clamp_min(1.0)
    return onehot[:, :, None] * onehot[:, None, :] / sizes[:, None, None]


def _row_masses(z: torch.Tensor, labels: torch.Tensor, n_clusters: int) -> torch.Tensor:
    """Soft assignments [N, K] from ``Z`` [N, N]: the share of row ``i``'s (clamped)
    mass that falls in each cluster."""
    onehot = torch.nn.functional.one_hot(labels, n_clusters).to(z.dtype)
    mass = z.clamp_min(0.0) @ onehot
    return mass / mass.sum(1, keepdim=True).clamp_min(1e-12)


class SDPKMeans(BaseClusterer):
    """SDP k-means (Peng-Wei relaxation) and iLA-SDP, on node features.

    Args:
        n_clusters: number of clusters ``K``.
        covariance: ``"shared"`` (Peng-Wei SDP k-means) or ``"cluster"`` (iLA-SDP,
            cluster-specific covariances).
        ila_iter: iLA-SDP alternations at most (``"cluster"`` only).
        covariance_reg: ridge of ``Sigma_k`` relative to the mean feature variance.
        max_iter: ADMM iterations per SDP at most.
        tol: ADMM relative residual tolerance. iLA-SDP needs 1e-3 or tighter: each
            LA-SDP starts at the current partition, and a loose stop (3e-3) can leave it
            there (docs/methods/sdp.md).
        eig: ``"auto"``, ``"full"`` or ``"partial"`` eigensolver in the ADMM.
        precision: ``"single"`` (float32) or ``"double"`` (float64) arithmetic.
        max_n: the largest ``N`` solved whole; ``None`` means 5,000 on CPU and 20,000
            on CUDA (divided by ``sqrt(K)`` for ``"cluster"``).
        max_samples: when ``N`` exceeds it, solve on this many random points and
            assign the rest (module docstring); ``None`` solves all points.
        n_init: k-means restarts on the SDP embedding.
        progress: show progress bars (tqdm, on stderr): over the ADMM iterations of the
            Peng-Wei solve, then over the iLA-SDP iterations.
        seed: random seed (sample, eigensolver start, k-means).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Fitted attributes, besides the base ones: ``cluster_centers_`` [K, d],
    ``covariances_`` [K, d, d] (``"cluster"``), ``sdp_result_`` (the last
    :class:`graphclust.assign.sdp.SDPResult`, ``z`` on the CPU), ``sample_indices_``
    (rows solved by the SDP, or None). ``history_`` holds per solve ``objective``,
    ``gap``, ``admm_iter``, ``primal_residual``, ``dual_residual`` and, for iLA-SDP,
    ``changed`` (points relabelled). ``soft_assignments_``: for ``"shared"`` the
    share of each row of ``Z`` per cluster, for ``"cluster"`` the memberships
    ``(Z_k 1)_i``; None when ``max_samples`` applied.
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int = 8,
        covariance: str = "shared",
        ila_iter: int = 10,
        covariance_reg: float = 1e-3,
        max_iter: int = 1000,
        tol: float = 1e-3,
        eig: str = "auto",
        precision: str = "single",
        max_n: int | None = None,
        max_samples: int | None = None,
        n_init: int = 10,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.covariance = covariance
        self.ila_iter = ila_iter
        self.covariance_reg = covariance_reg
        self.max_iter = max_iter
        self.tol = tol
        self.eig = eig
        self.precision = precision
        self.max_n = max_n
        self.max_samples = max_samples
        self.n_init = n_init
        self.progress = progress
        self.seed = seed
        self.device = device

    def _validate_input(self, data: Any) -> tuple[Any, int]:
        # the graph is not used: accept feature-only Data (no edge_index needed)
        if not isinstance(data, Data):
            raise TypeError(
                f"expected a torch_geometric.data.Data with x [N, d], got {type(data).__name__}"
            )
        x = check_features(getattr(data, "x", None))
        check_n_clusters(self.n_clusters, x.size(0))
        clean = Data(x=x, num_nodes=x.size(0))
        self._validate_params(clean)
        return clean, x.size(0)

    def _limit(self, device_type: str) -> int:
        limit = self.max_n if self.max_n is not None else DEFAULT_MAX_N.get(device_type, 5000)
        if self.covariance == "cluster":
            limit = int(limit / math.sqrt(self.n_clusters))
        return limit

    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        flag(self.progress, "progress")
        for name, value, choices in (
            ("covariance", self.covariance, COVARIANCES),
            ("eig", self.eig, EIG_MODES),
            ("precision", self.precision, tuple(PRECISIONS)),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        for name in ("ila_iter", "max_iter", "n_init"):
            positive_int(getattr(self, name), name)
        positive_float(self.covariance_reg, "covariance_reg")
        positive_float(self.tol, "tol")
        if self.max_n is not None:
            positive_int(self.max_n, "max_n", minimum=2)
        n = data.num_nodes
        limit = self._limit(resolve_device(self.device).type)
        if self.max_samples is not None:
            positive_int(self.max_samples, "max_samples", minimum=self.n_clusters)
            if self.max_samples > limit:
                raise ValueError(
                    f"max_samples={self.max_samples} exceeds the SDP size limit {limit}; "
                    f"use max_samples <= {limit} (or raise max_n if memory allows)"
                )
        elif n > limit:
            raise ValueError(
                f"SDPKMeans solves an N x N semidefinite program (O(N^2) memory, O(N^2) "
                f"to O(N^3) time per iteration) and refuses N={n} > max_n={limit}. "
                f"Pass max_samples={limit} (or fewer) to cluster a random sample with the "
                "SDP and assign every other point to the nearest cluster, or raise max_n "
                "if your memory allows (about 8 N^2 floats per covariance block)"
            )

    def _fit(self, data: Data, device: torch.device) -> None:
        dtype = PRECISIONS[self.precision]
        x_all = data.x.to(device=device, dtype=dtype)
        self.sample_indices_ = None
        x = x_all
        if self.max_samples is not None and x_all.size(0) > self.max_samples:
            generator = torch.Generator().manual_seed(self.seed)
            self.sample_indices_ = (
                torch.randperm(x_all.size(0), generator=generator)[: self.max_samples].sort().values
            )
            x = x_all[self.sample_indices_.to(device)]
        labels, soft = self._solve(x)
        k = self.n_clusters
        onehot = torch.nn.functional.one_hot(labels, k).to(dtype)
        centres = (onehot.T @ x) / onehot.sum(0).clamp_min(1.0)[:, None]
        self.cluster_centers_ = centres.float().cpu()
        if self.sample_indices_ is not None:
            covs = self.covariances_.to(device, dtype) if self.covariance == "cluster" else None
            full = assign_to_clusters(x_all, centres, covs)
            full[self.sample_indices_.to(device)] = labels
            labels, soft = full, None
        self.labels_ = labels.cpu()
        self.soft_assignments_ = None if soft is None else soft.cpu()

    def _solve(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels [n] and soft assignments [n, K] of the points ``x`` [n, d]."""
        k = self.n_clusters
        result = sdp_kmeans(
            x,
            k,
            max_iter=self.max_iter,
            tol=self.tol,
            eig=self.eig,
            seed=self.seed,
            progress=self.progress,
        )
        self._record(result)
        embedding = sdp_embedding(result.z, k)
        labels = fit_kmeans(embedding, k, n_init=self.n_init, seed=self.seed).labels
        labels = labels.to(x.device)
        soft = _row_masses(result.z, labels, k)
        if self.covariance == "cluster":
            labels, soft, result = self._iterate_la_sdp(x, labels, result)
        self.sdp_result_ = result
        result.z = result.z.cpu()
        return labels, soft

    def _iterate_la_sdp(self, x: torch.Tensor, labels: torch.Tensor, result: Any) -> tuple:
        """iLA-SDP: alternate covariance estimates and the LA-SDP (module docstring)."""
        k = self.n_clusters
        soft = None
        for _ in progress(range(self.ila_iter), self.progress, "iLA-SDP"):
            covs = cluster_covariances(x, labels, k, self.covariance_reg)
            costs = likelihood_costs(x, covs)
            result = solve_block_sdp(
                costs,
                [1.0] * k,
                max_iter=self.max_iter,
                tol=self.tol,
                eig=self.eig,
                seed=self.seed,
                start=_block_start(labels, k, x.dtype),
            )
            masses = result.z.sum(dim=2).T.clamp_min(0.0)  # [N, K]: (Z_k 1)_i
            check_finite(masses, "LA-SDP memberships")
            soft = masses / masses.sum(1, keepdim=True).clamp_min(1e-12)
            new = soft.argmax(dim=1)
            changed = int((new != labels).sum())
            self._record(result, changed=changed)
            labels = new
            if changed == 0:
                break
        self.covariances_ = cluster_covariances(x, labels, k, self.covariance_reg).float().cpu()
        return labels, soft, result

    def _record(self, result: Any, **extra: float) -> None:
        check_finite(result.z, "the SDP solution")
        self.log(
            objective=result.objective,
            gap=result.gap,
            admm_iter=result.n_iter,
            primal_residual=result.primal_residual,
            dual_residual=result.dual_residual,
            **extra,
        )


__all__ = ["SDPKMeans", "assign_to_clusters", "cluster_covariances", "likelihood_costs"]
