"""NIW marginal likelihood against references computed another way, and the split/merge
Hastings ratios on obvious cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import gammaln
from scipy.stats import multivariate_t

from graphclust.assign.niw import NIWPrior, merge_log_ratio, niw_log_marginal, split_log_ratio


def _chain_rule_reference(x: np.ndarray, mu0, kappa0, nu0, psi0) -> float:
    """ln p(X) = sum_i ln p(x_i | x_<i): each factor the NIW posterior predictive, a
    multivariate Student-t (Murphy 2007, Eq. 258), updated one point at a time."""
    dim = x.shape[1]
    mu, kappa, nu, psi = mu0.copy(), kappa0, nu0, psi0.copy()
    total = 0.0
    for point in x:
        df = nu - dim + 1
        shape = psi * (kappa + 1) / (kappa * df)
        total += multivariate_t(loc=mu, shape=shape, df=df).logpdf(point)
        # conjugate update by one point
        diff = (point - mu)[:, None]
        psi = psi + kappa / (kappa + 1) * (diff @ diff.T)
        mu = (kappa * mu + point) / (kappa + 1)
        kappa, nu = kappa + 1, nu + 1
    return total


def _normal_inverse_gamma_reference(x: np.ndarray, mu0, kappa0, nu0, psi0) -> float:
    """1-D closed form: NIW(nu, psi) in one dimension is Normal-Inverse-Gamma with
    a = nu / 2, b = psi / 2 (Murphy 2007, Eq. 95)."""
    n = x.size
    a0, b0 = nu0 / 2, psi0 / 2
    kn, an = kappa0 + n, a0 + n / 2
    xbar = x.mean()
    bn = b0 + 0.5 * ((x - xbar) ** 2).sum() + kappa0 * n * (xbar - mu0) ** 2 / (2 * kn)
    return float(
        gammaln(an)
        - gammaln(a0)
        + a0 * np.log(b0)
        - an * np.log(bn)
        + 0.5 * (np.log(kappa0) - np.log(kn))
        - n / 2 * np.log(2 * np.pi)
    )


@pytest.mark.parametrize("dim", [1, 3])
def test_log_marginal_matches_the_chain_of_predictives(dim):
    rng = np.random.default_rng(dim)
    x = rng.normal(size=(12, dim)) * 0.7 + 0.3
    mu0, kappa0, nu0 = rng.normal(size=dim), 0.5, dim + 2.5
    psi0 = np.eye(dim) * 0.8 + 0.1
    prior = NIWPrior(torch.from_numpy(mu0), kappa0, nu0, torch.from_numpy(psi0))
    ours = float(niw_log_marginal(torch.from_numpy(x), prior))
    assert ours == pytest.approx(_chain_rule_reference(x, mu0, kappa0, nu0, psi0), rel=1e-9)


def test_log_marginal_matches_normal_inverse_gamma_in_one_dimension():
    x = np.array([0.3, -1.2, 0.8, 2.0, 0.1])
    prior = NIWPrior(torch.tensor([0.5]), 2.0, 3.0, torch.tensor([[1.5]]))
    ours = float(niw_log_marginal(torch.from_numpy(x)[:, None], prior))
    assert ours == pytest.approx(_normal_inverse_gamma_reference(x, 0.5, 2.0, 3.0, 1.5), rel=1e-12)


def test_gpc_prior_and_empty_set():
    prior = NIWPrior.isotropic(torch.zeros(4))
    assert prior.kappa == 1e-4 and prior.nu == 5.0
    assert torch.allclose(prior.psi, 0.005 * torch.eye(4, dtype=torch.float64))
    assert float(niw_log_marginal(torch.zeros(0, 4), prior)) == 0.0


def _blob(n, centre, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, len(centre), generator=g, dtype=torch.float64) * scale + torch.tensor(
        centre, dtype=torch.float64
    )


def test_two_far_blobs_in_one_cluster_favour_a_split():
    a, b = _blob(40, [0.0, 0.0], 0.1, 0), _blob(40, [3.0, 0.0], 0.1, 1)
    prior = NIWPrior.isotropic(torch.zeros(2, dtype=torch.float64) + 1.5)
    x = torch.cat([a, b])
    in_first = torch.arange(80) < 40
    assert split_log_ratio(x, in_first, prior) > 0
    assert merge_log_ratio(a, b, prior) < 0


def test_two_halves_of_one_blob_favour_a_merge():
    x = _blob(80, [0.0, 0.0], 0.3, 2)
    prior = NIWPrior.isotropic(torch.zeros(2, dtype=torch.float64))
    left = x[:, 0] < 0
    assert merge_log_ratio(x[left], x[~left], prior) > 0
    assert split_log_ratio(x, left, prior) == pytest.approx(
        -merge_log_ratio(x[left], x[~left], prior)
    )


def test_split_ratio_is_the_formula_of_the_parts():
    x = _blob(10, [0.0, 1.0, 2.0], 1.0, 3)
    prior = NIWPrior.isotropic(x.mean(0))
    in_first = torch.arange(10) % 3 == 0
    expected = (
        math.log(2.0)
        + math.lgamma(4)
        + float(niw_log_marginal(x[in_first], prior))
        + math.lgamma(6)
        + float(niw_log_marginal(x[~in_first], prior))
        - math.lgamma(10)
        - float(niw_log_marginal(x, prior))
    )
    assert split_log_ratio(x, in_first, prior, alpha=2.0) == pytest.approx(expected, rel=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="nu must exceed"):
        NIWPrior(torch.zeros(3), 1.0, 1.5, torch.eye(3))
    with pytest.raises(ValueError, match="positive definite"):
        NIWPrior(torch.zeros(2), 1.0, 3.0, -torch.eye(2))
    with pytest.raises(ValueError, match="kappa"):
        NIWPrior(torch.zeros(2), 0.0, 3.0, torch.eye(2))
    prior = NIWPrior.isotropic(torch.zeros(2))
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        niw_log_marginal(torch.zeros(5, 3), prior)
    with pytest.raises(ValueError, match="at least one point"):
        split_log_ratio(torch.zeros(4, 2), torch.ones(4, dtype=torch.bool), prior)
