"""Normal-Inverse-Wishart (NIW) marginal likelihood and the split/merge Hastings ratios.

A Gaussian cluster with unknown mean and covariance under the conjugate prior
``Sigma ~ IW(nu_0, Psi_0)``, ``mu | Sigma ~ N(mu_0, Sigma / kappa_0)`` has the closed-form
marginal likelihood of its points ``X = {x_1..x_n}`` in ``R^D`` (Murphy 2007, Eq. 266):

    ln p(X) = - n D / 2 ln(pi) + D / 2 (ln kappa_0 - ln kappa_n)
              + nu_0 / 2 ln|Psi_0| - nu_n / 2 ln|Psi_n|
              + ln Gamma_D(nu_n / 2) - ln Gamma_D(nu_0 / 2),

    kappa_n = kappa_0 + n,   nu_n = nu_0 + n,
    Psi_n = Psi_0 + S + kappa_0 n / kappa_n (xbar - mu_0)(xbar - mu_0)^T,

with ``S`` the scatter matrix about the mean ``xbar`` and ``Gamma_D`` the multivariate
gamma function. GPC (and DeepDPM before it) decides whether to split a cluster ``X`` into
``X_1, X_2`` by the Hastings ratio of a Dirichlet-process mixture with concentration
``alpha``:

    H_s = ln alpha + ln Gamma(N_1) + ln p(X_1) + ln Gamma(N_2) + ln p(X_2)
          - ln Gamma(N) - ln p(X),

and whether to merge two clusters by ``H_m = -H_s`` of their union. Everything is
computed in float64: the terms are large and nearly cancel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from graphclust.utils.checks import positive_float


@dataclass(frozen=True)
class NIWPrior:
    """The NIW prior of one Gaussian cluster.

    Attributes:
        mean: ``mu_0`` [D].
        kappa: ``kappa_0 > 0``, pseudo-count of the mean.
        nu: ``nu_0 > D - 1``, degrees of freedom of the covariance.
        psi: ``Psi_0`` [D, D], symmetric positive definite scale matrix.
    """

    mean: torch.Tensor
    kappa: float
    nu: float
    psi: torch.Tensor

    def __post_init__(self) -> None:
        if self.mean.dim() != 1:
            raise ValueError(f"NIWPrior.mean must be [D], got {list(self.mean.shape)}")
        dim = self.mean.numel()
        if self.psi.shape != (dim, dim):
            raise ValueError(
                f"NIWPrior.psi must be [D, D] = [{dim}, {dim}], got {list(self.psi.shape)}"
            )
        positive_float(self.kappa, "kappa")
        if not float(self.nu) > dim - 1:
            raise ValueError(
                f"nu must exceed D - 1 = {dim - 1} for a proper prior, got {self.nu!r}"
            )
        if torch.linalg.cholesky_ex(self.psi.double())[1] != 0:
            raise ValueError("NIWPrior.psi must be symmetric positive definite")

    @property
    def dim(self) -> int:
        return self.mean.numel()

    @classmethod
    def isotropic(
        cls,
        mean: torch.Tensor,
        kappa: float = 1e-4,
        nu: float | None = None,
        psi_scale: float = 0.005,
    ) -> NIWPrior:
        """GPC's prior: ``kappa_0 = 1e-4``, ``nu_0 = D + 1``, ``Psi_0 = 0.005 I``.

        Args:
            mean: ``mu_0`` [D] (GPC and DeepDPM use the mean of the data).
            kappa, nu, psi_scale: as in the class; ``nu=None`` means ``D + 1``.
        """
        mean = mean.detach().double().flatten()
        dim = mean.numel()
        psi = positive_float(psi_scale, "psi_scale") * torch.eye(dim, dtype=torch.float64)
        return cls(mean, float(kappa), float(dim + 1 if nu is None else nu), psi.to(mean.device))


def niw_log_marginal(x: torch.Tensor, prior: NIWPrior) -> torch.Tensor:
    """``ln p(X)`` of the points ``x`` [n, D] under ``prior`` (a float64 scalar tensor).

    ``n = 0`` gives 0 (the empty set has probability 1).

    Raises:
        ValueError: ``x`` not [n, D] with the prior's D.
    """
    if x.dim() != 2 or x.size(1) != prior.dim:
        raise ValueError(f"x must be [n, {prior.dim}] (the prior's D), got {list(x.shape)}")
    x = x.detach().double()
    n, dim = x.shape
    mu0, psi0 = prior.mean.to(x.device).double(), prior.psi.to(x.device).double()
    if n == 0:
        return torch.zeros((), dtype=torch.float64, device=x.device)
    kappa_n, nu_n = prior.kappa + n, prior.nu + n
    xbar = x.mean(dim=0)
    centred = x - xbar
    diff = (xbar - mu0).unsqueeze(1)
    psi_n = psi0 + centred.T @ centred + (prior.kappa * n / kappa_n) * (diff @ diff.T)
    return (
        -0.5 * n * dim * math.log(math.pi)
        + 0.5 * dim * (math.log(prior.kappa) - math.log(kappa_n))
        + 0.5 * prior.nu * torch.linalg.slogdet(psi0)[1]
        - 0.5 * nu_n * torch.linalg.slogdet(psi_n)[1]
        + torch.special.multigammaln(torch.tensor(nu_n / 2, dtype=torch.float64), dim)
        - torch.special.multigammaln(torch.tensor(prior.nu / 2, dtype=torch.float64), dim)
    )


def split_log_ratio(
    x: torch.Tensor, in_first: torch.Tensor, prior: NIWPrior, alpha: float = 1.0
) -> float:
    """Hastings ratio ``H_s`` of splitting the points ``x`` [n, D] into
    ``x[in_first]`` and ``x[~in_first]`` (``in_first``: BoolTensor [n]).

    Positive when the two-cluster model explains the points better. Both parts must be
    non-empty (``ln Gamma(0)`` is infinite).
    """
    if in_first.dtype != torch.bool or in_first.shape != (x.size(0),):
        raise ValueError(f"in_first must be a BoolTensor [{x.size(0)}], got {in_first.dtype}")
    n1 = int(in_first.sum())
    n2 = x.size(0) - n1
    if n1 == 0 or n2 == 0:
        raise ValueError("both parts of a split must hold at least one point")
    positive_float(alpha, "alpha")
    parts = (
        math.log(alpha)
        + math.lgamma(n1)
        + float(niw_log_marginal(x[in_first], prior))
        + math.lgamma(n2)
        + float(niw_log_marginal(x[~in_first], prior))
        - math.lgamma(n1 + n2)
        - float(niw_log_marginal(x, prior))
    )
    return parts


def merge_log_ratio(
    x1: torch.Tensor, x2: torch.Tensor, prior: NIWPrior, alpha: float = 1.0
) -> float:
    """Hastings ratio ``H_m`` of merging clusters ``x1`` [n1, D] and ``x2`` [n2, D]:
    the reverse of splitting their union into them, ``-H_s``."""
    union = torch.cat([x1, x2])
    in_first = torch.zeros(union.size(0), dtype=torch.bool, device=union.device)
    in_first[: x1.size(0)] = True
    return -split_log_ratio(union, in_first, prior, alpha)


__all__ = ["NIWPrior", "merge_log_ratio", "niw_log_marginal", "split_log_ratio"]
