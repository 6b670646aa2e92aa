"""Prototypes: unit-norm rows, cosine scores, heads, freezing, detaching."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphclust.assign import Prototypes


def row_norms(protos: Prototypes) -> list[torch.Tensor]:
    return [head.weight.detach().norm(dim=1) for head in protos.heads]


def test_rows_unit_norm_at_init_and_after_step_plus_normalize() -> None:
    torch.manual_seed(0)
    protos = Prototypes(8, 5)
    for norms in row_norms(protos):
        torch.testing.assert_close(norms, torch.ones(5))
    optimizer = torch.optim.SGD(protos.parameters(), lr=0.5)
    z = torch.randn(16, 8)
    (-protos(z).max(dim=1).values.sum()).backward()
    optimizer.step()
    # The step leaves the sphere (otherwise this test would not test normalize_).
    assert (row_norms(protos)[0] - 1).abs().max() > 1e-2
    protos.normalize_()
    torch.testing.assert_close(row_norms(protos)[0], torch.ones(5))


def test_scores_are_cosines_to_prototypes() -> None:
    torch.manual_seed(1)
    protos = Prototypes(6, 4)
    z = 7.0 * torch.randn(10, 6)  # any scale: forward normalises z
    weight = protos.heads[0].weight.detach()
    expected = F.cosine_similarity(z[:, None, :], weight[None, :, :], dim=2)
    scores = protos(z)
    assert isinstance(scores, torch.Tensor)
    torch.testing.assert_close(scores, expected)
    assert scores.abs().max() <= 1 + 1e-6


def test_several_heads() -> None:
    z = torch.randn(3, 4)
    same = Prototypes(4, 7, n_heads=3)
    scores = same(z)
    assert isinstance(scores, list)
    assert [s.shape for s in scores] == [torch.Size([3, 7])] * 3
    sized = Prototypes(4, [5, 9])
    assert [s.shape for s in sized(z)] == [torch.Size([3, 5]), torch.Size([3, 9])]
    # A one-element list still means "multi-head API": a list comes back.
    assert isinstance(Prototypes(4, [5])(z), list)
    for norms in row_norms(sized):
        torch.testing.assert_close(norms, torch.ones_like(norms))


def test_freezing_clears_gradients_only_during_first_steps() -> None:
    torch.manual_seed(2)
    encoder = torch.nn.Linear(5, 4)
    protos = Prototypes(4, 3, freeze_steps=2)
    optimizer = torch.optim.SGD([*encoder.parameters(), *protos.parameters()], lr=0.1)
    x = torch.randn(8, 5)
    for step in range(4):
        optimizer.zero_grad()
        before = protos.heads[0].weight.detach().clone()
        protos(encoder(x)).logsumexp(dim=1).sum().backward()
        cancelled = protos.cancel_gradients(step)
        assert cancelled == (step < 2)
        assert encoder.weight.grad is not None and encoder.weight.grad.abs().sum() > 0
        grad = protos.heads[0].weight.grad
        if step < 2:
            assert grad is None
        else:
            assert grad is not None and grad.abs().sum() > 0
        optimizer.step()
        protos.normalize_()
        moved = not torch.allclose(protos.heads[0].weight, before)
        assert moved == (step >= 2)


def test_detached_branch_trains_encoder_but_not_prototypes() -> None:
    torch.manual_seed(3)
    protos = Prototypes(4, 3)
    z = torch.randn(5, 4, requires_grad=True)
    scores = protos(z, detach_prototypes=True)
    torch.testing.assert_close(scores, protos(z))
    scores.sum().backward()
    assert protos.heads[0].weight.grad is None
    assert z.grad is not None and z.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 5), {}, "dim"),
        ((4, 0), {}, "n_prototypes"),
        ((4, 5), {"n_heads": 0}, "n_heads"),
        ((4, [5, 6]), {"n_heads": 3}, "n_heads must be 1 or its length"),
        ((4, [5, 0]), {}, "n_prototypes"),
        ((4, 2.5), {}, "int or a list"),
        ((4, 5), {"freeze_steps": -1}, "freeze_steps"),
    ],
)
def test_invalid_construction_is_rejected(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Prototypes(*args, **kwargs)


def test_wrong_embedding_size_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[B, 4\]"):
        Prototypes(4, 3)(torch.randn(2, 5))
