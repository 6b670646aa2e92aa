"""Community readout: group-sparsity norm against a hand computation, the GCN readout
against a dense reference, and empty communities from zero columns."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.utils import to_undirected

from graphclust.nn.readout import (
    CommunityReadout,
    gcn_adjacency,
    group_sparsity,
    symmetric_propagate,
)


def test_group_sparsity_hand_computation() -> None:
    w = torch.tensor([[3.0, 0.0, 1.0], [4.0, 0.0, -1.0]])  # columns: (3,4), (0,0), (1,-1)
    assert group_sparsity(w).item() == pytest.approx(5.0 + 0.0 + math.sqrt(2.0))
    with pytest.raises(ValueError, match="matrix"):
        group_sparsity(torch.ones(3))


def _dense_gcn_norm(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    a = torch.zeros(n, n)
    a[edge_index[0], edge_index[1]] = 1.0
    a = a + torch.eye(n)
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


def test_readout_matches_dense_gcn() -> None:
    torch.manual_seed(0)
    n = 9
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 0, 4, 5, 3, 7, 8]]))
    readout = CommunityReadout(4, hidden=5, k_max=3)
    h = torch.randn(n, 4)
    c, scores = readout(h, gcn_adjacency(edge_index, n))
    a_hat = _dense_gcn_norm(edge_index, n)
    w1, b1 = readout.lin1.weight.t(), readout.bias1
    inner = torch.relu(a_hat @ h @ w1 + b1)
    expected_scores = a_hat @ inner @ readout.weight
    torch.testing.assert_close(scores, expected_scores, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c, torch.relu(expected_scores))


def test_symmetric_propagate_gradient_matches_dense() -> None:
    """The custom backward (Ahat G instead of Ahat^T G) against autograd on dense Ahat."""
    torch.manual_seed(1)
    n = 9
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 0, 4, 5, 3, 7, 8]]))
    x = torch.randn(n, 3, requires_grad=True)
    weights = torch.randn(n, 3)
    (symmetric_propagate(gcn_adjacency(edge_index, n), x) * weights).sum().backward()
    x_dense = x.detach().clone().requires_grad_(True)
    (_dense_gcn_norm(edge_index, n) @ x_dense * weights).sum().backward()
    torch.testing.assert_close(x.grad, x_dense.grad, atol=1e-6, rtol=1e-5)


def test_readout_equals_pyg_gcn_layers() -> None:
    """Same numbers as two PyG GCNConv layers holding the same weights (which project
    before they propagate)."""
    from torch_geometric.nn import GCNConv

    torch.manual_seed(1)
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3]]))
    readout = CommunityReadout(4, hidden=5, k_max=7)
    conv1, conv2 = GCNConv(4, 5), GCNConv(5, 7, bias=False)
    with torch.no_grad():
        conv1.lin.weight.copy_(readout.lin1.weight)
        conv1.bias.copy_(torch.randn(5))
        readout.bias1.copy_(conv1.bias)
        conv2.lin.weight.copy_(readout.lin2.weight)
    h = torch.randn(6, 4)
    expected = conv2(torch.relu(conv1(h, edge_index)), edge_index)
    _, scores = readout(h, gcn_adjacency(edge_index, 6))
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)


def test_zero_column_is_an_empty_community_and_softmax_rows() -> None:
    torch.manual_seed(0)
    edge_index = to_undirected(torch.tensor([[0, 1, 2], [1, 2, 3]]))
    readout = CommunityReadout(3, hidden=4, k_max=3)
    with torch.no_grad():
        readout.lin2.weight[1] = 0.0  # W[:, 1] = 0
    adjacency = gcn_adjacency(edge_index, 4)
    c, _ = readout(torch.randn(4, 3), adjacency)
    assert bool((c >= 0).all()) and bool((c[:, 1] == 0).all())
    assert readout.column_norms()[1].item() == 0.0
    soft = CommunityReadout(3, hidden=4, k_max=3, output="softmax")
    c, _ = soft(torch.randn(4, 3), adjacency)
    torch.testing.assert_close(c.sum(1), torch.ones(4))


def test_layer_input_norm_standardises_rows_and_ignores_their_scale() -> None:
    torch.manual_seed(2)
    n = 9
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 0, 4, 5, 3, 7, 8]]))
    adjacency = gcn_adjacency(edge_index, n)
    normed = CommunityReadout(4, hidden=5, k_max=3, input_norm="layer")
    plain = CommunityReadout(4, hidden=5, k_max=3)
    plain.load_state_dict(normed.state_dict())
    h = torch.randn(n, 4)
    rows = (h - h.mean(1, keepdim=True)) / h.var(1, unbiased=False, keepdim=True).add(1e-5).sqrt()
    torch.testing.assert_close(normed(h, adjacency)[1], plain(rows, adjacency)[1])
    # a row's scale no longer matters (once its variance is well above the 1e-5 floor)
    torch.testing.assert_close(
        normed(h, adjacency)[0], normed(10 * h, adjacency)[0], atol=1e-3, rtol=1e-3
    )
    with pytest.raises(ValueError, match="input_norm"):
        CommunityReadout(4, hidden=5, k_max=3, input_norm="batch")
