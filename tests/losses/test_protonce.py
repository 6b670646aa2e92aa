"""ProtoNCE prototype term and concentrations against loop-written references."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.losses import protonce_loss, prototype_concentration


def test_loss_matches_the_sum_written_out():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(7, 3, generator=g, dtype=torch.float64)
    c = torch.randn(3, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 2])
    phi = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    expected = 0.0
    for i in range(7):
        terms = [math.exp(float(z[i] @ c[k]) / float(phi[k])) for k in range(3)]
        expected -= math.log(terms[int(labels[i])] / sum(terms))
    assert float(protonce_loss(z, c, labels, phi)) == pytest.approx(expected / 7, rel=1e-10)


def test_concentration_formula_and_mean():
    z = torch.tensor(
        [[0.0], [2.0], [10.0], [14.0], [30.0], [31.0], [32.0], [5.0]], dtype=torch.float64
    )
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])
    c = torch.tensor([[1.0], [12.0], [31.0], [5.0]], dtype=torch.float64)
    raw = [2 / (2 * math.log(12)), 4 / (2 * math.log(12)), 2 / (3 * math.log(13))]
    raw.append(max(raw))  # the singleton takes the largest
    raw = torch.tensor(raw, dtype=torch.float64)
    raw = raw.clamp(torch.quantile(raw, 0.1), torch.quantile(raw, 0.9))
    expected = 0.1 * raw / raw.mean()
    assert torch.allclose(prototype_concentration(z, c, labels, 0.1), expected)


def test_bad_shapes():
    with pytest.raises(ValueError, match="share d"):
        protonce_loss(
            torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), torch.ones(2)
        )
    with pytest.raises(ValueError, match="positive"):
        protonce_loss(
            torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.zeros(2)
        )
