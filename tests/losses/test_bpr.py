"""BPR loss of the affiliation edge model against a hand computation, and its stability."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.losses import bpr_loss


def test_bpr_loss_hand_formula() -> None:
    c = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 2.0], [1.0, 1.0]])
    src, dst, neg = torch.tensor([0, 1, 3]), torch.tensor([1, 3, 2]), torch.tensor([2, 2, 0])
    expected = 0.0
    for i, j, u in zip(src.tolist(), dst.tolist(), neg.tolist(), strict=True):
        margin = float(c[i] @ c[j] - c[i] @ c[u])
        expected += -math.log(1.0 / (1.0 + math.exp(-margin)))
    assert bpr_loss(c, src, dst, neg).item() == pytest.approx(expected, rel=1e-6)
    assert bpr_loss(c, src, dst, neg, reduction="mean").item() == pytest.approx(expected / 3)


def test_bpr_loss_is_stable_for_large_margins() -> None:
    c = torch.tensor([[100.0], [100.0], [0.0]])
    one = torch.tensor([0])
    assert bpr_loss(c, one, torch.tensor([1]), torch.tensor([2])).item() == 0.0
    far = bpr_loss(c, one, torch.tensor([2]), torch.tensor([1])).item()
    assert far == pytest.approx(1e4, rel=1e-6)  # -ln sigmoid(-1e4), no inf
