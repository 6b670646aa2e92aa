"""The prototype uniformity regulariser against hand-worked values and a loop formula."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.losses import prototype_uniformity_loss


def test_hand_worked_values() -> None:
    antipodal = torch.tensor([[1.0, 0.0], [-3.0, 0.0]])  # |c1 - c2|^2 = 4 after normalising
    assert float(prototype_uniformity_loss(antipodal, t=2.0)) == pytest.approx(-8.0)
    same = torch.tensor([[1.0, 1.0], [2.0, 2.0], [0.5, 0.5]])
    assert float(prototype_uniformity_loss(same)) == pytest.approx(0.0, abs=1e-6)


def test_matches_a_loop_over_pairs() -> None:
    gen = torch.Generator().manual_seed(0)
    c = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    unit = c / c.norm(dim=1, keepdim=True)
    terms = [
        math.exp(-1.5 * float((unit[i] - unit[j]).square().sum()))
        for i in range(5)
        for j in range(5)
        if i != j
    ]
    expected = math.log(sum(terms) / len(terms))
    assert float(prototype_uniformity_loss(c, t=1.5)) == pytest.approx(expected, rel=1e-9)


def test_gradient_steps_spread_the_prototypes() -> None:
    gen = torch.Generator().manual_seed(1)
    c = (torch.tensor([1.0, 0.0, 0.0]) + 0.05 * torch.randn(4, 3, generator=gen)).requires_grad_()
    optimizer = torch.optim.SGD([c], lr=0.1)

    def min_distance() -> float:
        unit = torch.nn.functional.normalize(c.detach(), dim=1)
        d = torch.cdist(unit, unit) + 10 * torch.eye(4)
        return float(d.min())

    before = min_distance()
    for _ in range(100):
        optimizer.zero_grad()
        prototype_uniformity_loss(c).backward()
        optimizer.step()
    assert min_distance() > before + 0.5


@pytest.mark.parametrize(
    ("prototypes", "t", "match"),
    [
        (torch.ones(1, 3), 2.0, "at least 2"),
        (torch.ones(3), 2.0, r"\[K, d\]"),
        (torch.ones(2, 3), 0.0, "t must be"),
    ],
)
def test_bad_inputs(prototypes: torch.Tensor, t: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        prototype_uniformity_loss(prototypes, t=t)
