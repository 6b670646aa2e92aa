"""Meta-node aggregation against explicit per-cluster sums."""

from __future__ import annotations

import pytest
import torch

from graphclust.graph.meta_nodes import cluster_mass, meta_nodes


def _data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(10, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 2, 2, 0, 3, 3, 3, 0, 2, 0])  # cluster 1 (and 4) empty
    q = torch.softmax(torch.randn(10, 5, generator=g, dtype=torch.float64), dim=1)
    return z, labels, q


def test_hard_labels_sum_each_cluster_and_keep_empty_rows():
    z, labels, _ = _data()
    out = meta_nodes(z, labels, num_clusters=5)
    assert out.shape == (5, 3)
    for k in range(5):
        expected = sum((z[i] for i in range(10) if labels[i] == k), torch.zeros(3, dtype=z.dtype))
        torch.testing.assert_close(out[k], expected)
    assert out[1].abs().sum() == 0 and out[4].abs().sum() == 0


def test_soft_assignment_is_q_transpose_z():
    z, _, q = _data()
    out = meta_nodes(z, q)
    expected = torch.stack([sum(q[i, k] * z[i] for i in range(10)) for k in range(5)])
    torch.testing.assert_close(out, expected)


def test_one_hot_soft_assignment_equals_hard_labels():
    z, labels, _ = _data()
    one_hot = torch.nn.functional.one_hot(labels, 5).to(z.dtype)
    torch.testing.assert_close(meta_nodes(z, one_hot), meta_nodes(z, labels, 5))


def test_mean_divides_by_mass_and_empty_stays_zero():
    z, labels, _ = _data()
    out = meta_nodes(z, labels, num_clusters=5, reduce="mean")
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], z[labels == 0].mean(0))
    assert out[1].abs().sum() == 0


def test_gradients_reach_z_and_soft_assignment():
    """Reference: L = |C|^2 with C = Q^T Z has dL/dZ = 2 Q C and dL/dQ = 2 Z C^T; the
    hard-label mean is checked against finite differences."""
    z, labels, q = _data()
    z.requires_grad_(True)
    q = q.clone().requires_grad_(True)
    meta_nodes(z, q).pow(2).sum().backward()
    assert z.grad is not None and q.grad is not None
    c = (q.t() @ z).detach()
    torch.testing.assert_close(z.grad, 2 * q.detach() @ c)
    torch.testing.assert_close(q.grad, 2 * z.detach() @ c.t())
    mean = lambda z: meta_nodes(z, labels, 5, reduce="mean")  # noqa: E731
    assert torch.autograd.gradcheck(mean, (z.detach().requires_grad_(True),))


def test_cluster_mass():
    _, labels, q = _data()
    assert cluster_mass(labels, 5).tolist() == [4.0, 0.0, 3.0, 3.0, 0.0]
    torch.testing.assert_close(cluster_mass(q), q.sum(0))


def test_errors():
    z, labels, q = _data()
    with pytest.raises(ValueError, match="num_clusters"):
        meta_nodes(z, labels, num_clusters=3)
    with pytest.raises(ValueError, match="rows"):
        meta_nodes(z[:5], labels)
    with pytest.raises(ValueError, match="columns"):
        meta_nodes(z, q, num_clusters=4)
    with pytest.raises(ValueError, match="reduce"):
        meta_nodes(z, labels, reduce="max")
