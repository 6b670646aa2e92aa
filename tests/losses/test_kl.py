"""KL(P || Q) clustering loss against the sum written out, its gradient and its checks."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.assign import dec_target
from graphclust.losses import kl_clustering_loss


def test_kl_clustering_loss_matches_manual_sum_and_only_trains_q() -> None:
    g = torch.Generator().manual_seed(7)
    q = torch.softmax(torch.randn(12, 4, generator=g), dim=1).requires_grad_(True)
    p = dec_target(q)
    p[0] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # zero entries contribute 0
    p.requires_grad_(True)
    loss = kl_clustering_loss(p, q)
    expected = (torch.special.xlogy(p, p) - p * q.log()).sum() / 12
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert p.grad is None
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert kl_clustering_loss(q.detach(), q.detach()).abs() < 1e-6


def test_underflowed_prediction_gives_a_finite_loss() -> None:
    p = torch.tensor([[0.5, 0.5]])
    q = torch.tensor([[1.0, 0.0]])
    # 0.5 ln(0.5 / 1) + 0.5 ln(0.5 / 1e-30): the zero of q is floored at 1e-30
    expected = math.log(0.5) - 0.5 * math.log(1e-30)
    assert kl_clustering_loss(p, q).item() == pytest.approx(expected, rel=1e-6)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="same shape"):
        kl_clustering_loss(torch.rand(2, 3), torch.rand(3, 2))
