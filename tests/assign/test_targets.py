"""DEC/DEPICT: Student-t assignment, sharpened targets, KL loss, against dense formulas."""

from __future__ import annotations

import pytest
import torch

from graphclust.assign import dec_target, depict_target, student_t_assignment


def dense_student_t(z: torch.Tensor, mu: torch.Tensor, alpha: float) -> torch.Tensor:
    """The textbook formula with an explicit [N, K, d] difference tensor."""
    sq = ((z[:, None, :] - mu[None, :, :]) ** 2).sum(dim=2)
    kernel = (1 + sq / alpha) ** (-(alpha + 1) / 2)
    return kernel / kernel.sum(dim=1, keepdim=True)


def row_entropy(p: torch.Tensor) -> torch.Tensor:
    return -(torch.special.xlogy(p, p)).sum(dim=1).mean()


def test_student_t_hand_computed() -> None:
    # z at the origin, centres at distances 1 and 2: kernels 1/2 and 1/5 (alpha = 1).
    z = torch.tensor([[0.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    q = student_t_assignment(z, mu)
    torch.testing.assert_close(q, torch.tensor([[0.5 / 0.7, 0.2 / 0.7]]))


@pytest.mark.parametrize("alpha", [1.0, 2.5, 0.3])
def test_student_t_matches_dense_formula(alpha: float) -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20, 5, generator=g, dtype=torch.float64)
    mu = torch.randn(4, 5, generator=g, dtype=torch.float64)
    q = student_t_assignment(z, mu, alpha=alpha)
    torch.testing.assert_close(q, dense_student_t(z, mu, alpha))
    torch.testing.assert_close(q.sum(dim=1), torch.ones(20, dtype=torch.float64))


def test_student_t_gradient_matches_dense_formula() -> None:
    g = torch.Generator().manual_seed(1)
    z = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    weights = torch.rand(6, 3, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((student_t_assignment(z, mu) * weights).sum(), (z, mu))
    dense = torch.autograd.grad((dense_student_t(z, mu, 1.0) * weights).sum(), (z, mu))
    for got, want in zip(grads, dense, strict=True):
        torch.testing.assert_close(got, want)


def test_student_t_far_points_stay_finite() -> None:
    # Every kernel value underflows float32 here; the log-domain softmax does not care.
    z = torch.tensor([[1e6, 0.0], [0.0, -1e6]])
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    q = student_t_assignment(z, mu, alpha=50.0)
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2))


def test_dec_target_matches_formula_and_sharpens() -> None:
    g = torch.Generator().manual_seed(2)
    q = torch.softmax(torch.randn(50, 6, generator=g), dim=1)
    f = q.sum(dim=0)
    weight = q**2 / f
    expected = weight / weight.sum(dim=1, keepdim=True)
    p = dec_target(q)
    torch.testing.assert_close(p, expected)
    assert row_entropy(p) < row_entropy(q)
    assert not p.requires_grad


def test_dec_target_is_detached_and_handles_zeros() -> None:
    q = torch.tensor([[1.0, 0.0], [0.5, 0.5]], requires_grad=True)
    p = dec_target(q)
    assert not p.requires_grad
    # f = [1.5, 0.5]; row 1: (0.25/1.5, 0.25/0.5) normalised = (1/4, 3/4).
    torch.testing.assert_close(p, torch.tensor([[1.0, 0.0], [0.25, 0.75]]))


def test_depict_target_matches_paper_formula() -> None:
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(torch.randn(40, 5, generator=g), dim=1)
    weight = p / p.sum(dim=0).sqrt()
    expected = weight / weight.sum(dim=1, keepdim=True)
    torch.testing.assert_close(depict_target(p), expected)
    torch.testing.assert_close(depict_target(p, prior=torch.full((5,), 0.2)), expected)


def test_depict_target_with_prior_matches_derived_formula() -> None:
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(40, 3, generator=g), dim=1)
    prior = torch.tensor([0.6, 0.3, 0.1])
    weight = p * (prior / p.sum(dim=0)).sqrt()
    expected = weight / weight.sum(dim=1, keepdim=True)
    torch.testing.assert_close(depict_target(p, prior=prior), expected)


def imbalanced_assignment(seed: int) -> torch.Tensor:
    # Cluster 0 takes most of the mass.
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(200, 4, generator=g)
    logits[:, 0] += 1.5
    return torch.softmax(logits, dim=1)


def kl_to(sizes: torch.Tensor, prior: torch.Tensor) -> float:
    sizes = sizes / sizes.sum()
    return float((sizes * (sizes / prior).log()).sum())


def test_depict_uniform_prior_balances_cluster_sizes() -> None:
    p = imbalanced_assignment(5)
    q = depict_target(p)
    uniform = torch.full((4,), 0.25)
    assert kl_to(q.sum(dim=0), uniform) < 0.5 * kl_to(p.sum(dim=0), uniform)


def test_depict_prior_pulls_cluster_sizes_towards_it() -> None:
    p = imbalanced_assignment(6)
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4])  # the opposite of p's imbalance
    with_prior = depict_target(p, prior=prior)
    without = depict_target(p)
    assert kl_to(with_prior.sum(dim=0), prior) < kl_to(without.sum(dim=0), prior)
    assert kl_to(without.sum(dim=0), prior) < kl_to(p.sum(dim=0), prior)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: student_t_assignment(torch.rand(3, 2), torch.rand(2, 3)), "same d"),
        (lambda: student_t_assignment(torch.rand(3, 2), torch.rand(0, 2)), "K >= 1"),
        (lambda: student_t_assignment(torch.rand(3, 2), torch.rand(2, 2), alpha=0), "alpha"),
        (lambda: dec_target(torch.rand(3)), r"\[N, K\]"),
        (lambda: dec_target(torch.tensor([[0.5, -0.5]])), "non-negative"),
        (lambda: dec_target(torch.tensor([[0.0, 0.0]])), "positive mass"),
        (lambda: depict_target(torch.full((2, 2), 0.5), prior=[0.5, 0.6]), "sum to 1"),
        (lambda: depict_target(torch.full((2, 2), 0.5), prior=[1.0]), r"\[K\]"),
    ],
)
def test_invalid_input_is_rejected(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
