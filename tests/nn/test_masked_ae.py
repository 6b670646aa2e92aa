"""Masked attribute reconstruction: the scaled cosine error against a hand formula, the
mask sampler, and the [MASK] / re-mask behaviour of the autoencoder."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

from graphclust.nn.masked_ae import (
    MaskedGraphAutoencoder,
    mask_features,
    sample_mask,
    scaled_cosine_error,
)


def _sce_by_hand(x: list[list[float]], z: list[list[float]], gamma: float) -> float:
    total = 0.0
    for a, b in zip(x, z, strict=True):
        dot = sum(p * q for p, q in zip(a, b, strict=True))
        norm = math.sqrt(sum(p * p for p in a)) * math.sqrt(sum(q * q for q in b))
        total += (1.0 - dot / norm) ** gamma
    return total / len(x)


def test_sce_matches_hand_formula() -> None:
    x = [[1.0, 0.0, 2.0], [0.5, -1.0, 0.0], [3.0, 3.0, 3.0]]
    z = [[0.0, 1.0, 2.0], [-0.5, 1.0, 0.1], [1.0, 1.0, 1.0]]
    for gamma in (1.0, 2.0, 3.0):
        got = scaled_cosine_error(torch.tensor(x), torch.tensor(z), gamma)
        assert got.item() == pytest.approx(_sce_by_hand(x, z, gamma), rel=1e-6)


def test_sce_range_and_degenerate_rows() -> None:
    x = torch.tensor([[1.0, 2.0], [1.0, 0.0], [1.0, 1.0]])
    assert scaled_cosine_error(x, 3 * x).item() == pytest.approx(0.0, abs=1e-6)
    assert scaled_cosine_error(x, -x).item() == pytest.approx(8.0, rel=1e-6)  # (1+1)^3
    zero = torch.zeros(1, 2)
    assert scaled_cosine_error(zero, torch.ones(1, 2)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        scaled_cosine_error(x, x[:2])


def test_sample_mask_size_and_seed() -> None:
    torch.manual_seed(3)
    first = sample_mask(10, 0.5)
    torch.manual_seed(3)
    assert torch.equal(first, sample_mask(10, 0.5))
    assert first.numel() == 5 and first.unique().numel() == 5
    assert sample_mask(3, 0.1).numel() == 1  # never empty
    with pytest.raises(ValueError, match="mask_rate"):
        sample_mask(10, 1.0)


def _graph() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    edge_index = torch.randint(0, 10, (2, 30), generator=g)
    return to_undirected(edge_index[:, edge_index[0] != edge_index[1]], num_nodes=10)


@pytest.mark.parametrize("remask", ["zero", "token"])
def test_masked_nodes_features_are_hidden(remask: str) -> None:
    """Masked rows are replaced by the token: changing their features changes nothing."""
    torch.manual_seed(0)
    model = MaskedGraphAutoencoder(5, hidden=8, heads=2, remask=remask).eval()
    x, edge_index = torch.randn(10, 5), _graph()
    mask = torch.tensor([1, 4, 7])
    out = model(x, edge_index, mask)
    altered = x.clone()
    altered[mask] = torch.randn(3, 5)
    torch.testing.assert_close(model(altered, edge_index, mask).embeddings, out.embeddings)
    assert out.embeddings.shape == (10, 8)


def test_loss_is_sce_over_masked_rows_of_the_reconstruction() -> None:
    torch.manual_seed(0)
    model = MaskedGraphAutoencoder(5, hidden=8, heads=2).eval()
    x, edge_index = torch.randn(10, 5), _graph()
    mask = torch.tensor([0, 2, 9])
    out = model(x, edge_index, mask)
    corrupted = torch.cat([x, torch.zeros(10, 1)], 1)
    corrupted[mask] = 0.0
    corrupted[mask, -1] = 1.0  # the [MASK] indicator column
    rep = model.to_decoder(model.encoder(corrupted, edge_index))
    rep[mask] = 0.0  # GraphMAE's re-mask
    z = model.decoder(rep, edge_index)
    expected = scaled_cosine_error(x[mask], z[mask], 3.0)
    torch.testing.assert_close(out.loss, expected)


def test_mask_token_gets_gradient() -> None:
    torch.manual_seed(0)
    model = MaskedGraphAutoencoder(5, hidden=8, heads=2)
    out = model(torch.randn(10, 5), _graph(), torch.tensor([1, 2, 3]))
    out.loss.backward()
    token_grad = model.encoder.convs[0].lin.weight.grad[:, -1]
    assert bool(token_grad.abs().sum() > 0)
    assert bool((model.mask_token == 0).all())  # zero-initialised, as in GraphMAE


def test_mask_features_dense_and_sparse_agree() -> None:
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([2, 3])
    expected = torch.tensor(
        [[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
    )
    torch.testing.assert_close(mask_features(x, mask), expected)
    sparse = mask_features(x.to_sparse(), mask)
    assert sparse.layout == torch.sparse_csr
    torch.testing.assert_close(sparse.to_dense(), expected)


def test_sparse_features_give_the_dense_result() -> None:
    torch.manual_seed(0)
    model = MaskedGraphAutoencoder(6, hidden=8, heads=2).eval()
    x = torch.randn(10, 6) * (torch.rand(10, 6) < 0.3)
    edge_index, mask = _graph(), torch.tensor([0, 3, 4])
    dense, sparse = model(x, edge_index, mask), model(x.to_sparse(), edge_index, mask)
    torch.testing.assert_close(sparse.embeddings, dense.embeddings, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sparse.loss, dense.loss, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(model.embed(x.to_sparse(), edge_index), model.embed(x, edge_index))


@pytest.mark.parametrize("sparse", [False, True])
def test_chunked_embedding_equals_full_forward(sparse: bool) -> None:
    """Layer-wise inference over destination chunks (3 nodes, so chunks split the
    neighbourhoods of a 10-node graph) gives the full forward's embeddings."""
    torch.manual_seed(0)
    edge_index = coalesce(to_undirected(torch.randint(0, 10, (2, 30))))
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    x = (torch.rand(10, 6) < 0.4).float() * torch.rand(10, 6)
    model = MaskedGraphAutoencoder(6, hidden=8, heads=2).eval()
    full = model.embed(x.to_sparse() if sparse else x, edge_index)
    chunked = model.embed(x.to_sparse() if sparse else x, edge_index, chunk_size=3)
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)
    with pytest.raises(RuntimeError, match="eval"):
        model.train().embed(x, edge_index, chunk_size=3)
