"""PamC loss and its terms against the formulas written out with plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphclust.graph.adjacency import influence_matrix, sparse_rows
from graphclust.losses import influence_term, meta_node_term, pamc_loss

N, D, K = 9, 4, 3
# Two triangles joined by an edge, plus a pendant path 6-7-8.
_EDGES = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3), (5, 6), (6, 7), (7, 8)]


def _graph() -> torch.Tensor:
    pairs = _EDGES + [(j, i) for i, j in _EDGES]
    return torch.tensor(pairs).t()


def _dense_s(order: int) -> np.ndarray:
    a = np.eye(N)
    for i, j in _EDGES:
        a[i, j] = a[j, i] = 1.0
    ahat = a / a.sum(1, keepdims=True)
    return sum(np.linalg.matrix_power(ahat, r) for r in range(1, order + 1))


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine similarity; a zero vector has similarity 0 with everything (the
    ``F.normalize`` convention)."""
    norms = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norms) if norms > 0 else 0.0


def _reference_pamc(z: np.ndarray, s: np.ndarray, weights: np.ndarray, tau: float) -> float:
    """METHODS.md section 2, term by term; ``weights`` [N, K] (one-hot for hard labels)."""
    positive = 0.0
    for i in range(N):
        positive += math.log(sum(s[i, j] * math.exp(tau * _cos(z[i], z[j])) for j in range(N)))
    centres = [weights[:, k] @ z for k in range(weights.shape[1]) if weights[:, k].sum() > 0]
    negative = 0.0
    for ck in centres:
        negative += math.log(sum(math.exp(tau * _cos(ck, cl)) for cl in centres))
    return -positive / N + negative / len(centres)


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(N, D, generator=g, dtype=torch.float64)
    q = torch.softmax(torch.randn(N, K, generator=g, dtype=torch.float64), dim=1)
    return z, q


@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_hard_meta_nodes_match_dense_formula(order, tau):
    z, q = _inputs()
    labels = q.argmax(1)
    s = influence_matrix(_graph(), N, order)
    got = pamc_loss(z, s, labels, tau=tau, num_clusters=K)
    one_hot = np.eye(K)[labels.numpy()]
    expected = _reference_pamc(z.numpy(), _dense_s(order), one_hot, tau)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_soft_meta_nodes_match_dense_formula():
    z, q = _inputs(1)
    s = influence_matrix(_graph(), N, 2)
    got = pamc_loss(z, s, q, tau=1.0)
    expected = _reference_pamc(z.numpy(), _dense_s(2), q.numpy(), 1.0)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_hard_and_soft_differ_and_soft_passes_gradient_to_q():
    z, q = _inputs(2)
    q = q.clone().requires_grad_(True)
    s = influence_matrix(_graph(), N, 1)
    hard = pamc_loss(z, s, q.detach().argmax(1), num_clusters=K)
    soft = pamc_loss(z, s, q)
    assert float(hard.detach()) != pytest.approx(float(soft.detach()))
    soft.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0


def test_parts_add_up_and_triplets_equal_sparse_input():
    z, q = _inputs(3)
    s = influence_matrix(_graph(), N, 2)
    loss, pos, neg = pamc_loss(z, s, q, return_parts=True)
    torch.testing.assert_close(loss, pos + neg)
    coo = s.to_dense().to_sparse()
    triplets = (coo.indices()[0], coo.indices()[1], coo.values())
    torch.testing.assert_close(pamc_loss(z, triplets, q), loss)


def test_empty_cluster_gives_finite_loss_equal_to_dropping_it():
    z, _ = _inputs(4)
    z.requires_grad_(True)
    labels = torch.tensor([0, 0, 0, 2, 2, 2, 2, 0, 0])  # cluster 1 empty, K = 3
    s = influence_matrix(_graph(), N, 1)
    loss = pamc_loss(z, s, labels, num_clusters=K)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    relabelled = torch.where(labels == 2, 1, labels)  # same partition with K' = 2
    expected = pamc_loss(z.detach(), s, relabelled, num_clusters=2)
    torch.testing.assert_close(loss.detach(), expected)


def test_soft_cluster_without_mass_is_skipped():
    z, q = _inputs(5)
    q = torch.cat([q, torch.zeros(N, 1, dtype=q.dtype)], dim=1)
    full = meta_node_term(z, q, tau=1.0)
    torch.testing.assert_close(full, meta_node_term(z, q[:, :K], tau=1.0))


def test_large_tau_and_zero_embedding_stay_finite():
    """Reference: the float64 formula term by term (exp(500) still fits a float64), with
    similarity 0 for the zero embedding."""
    z, q = _inputs(6)
    z[4] = 0.0
    s = influence_matrix(_graph(), N, 2)
    got = pamc_loss(z, s, q, tau=500.0)
    assert torch.isfinite(got)
    expected = _reference_pamc(z.numpy(), _dense_s(2), q.numpy(), 500.0)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_rows_without_positives_are_left_out():
    z, _ = _inputs(7)
    row = torch.tensor([0, 0, 2])
    col = torch.tensor([0, 1, 2])
    value = torch.tensor([0.5, 0.5, 1.0], dtype=z.dtype)
    got = influence_term(z[:3], z, row, col, value, tau=1.0)
    zn = z.numpy()
    expected = -(math.log(0.5 * math.e + 0.5 * math.exp(_cos(zn[0], zn[1]))) + math.log(math.e)) / 2
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_batch_rows_with_full_columns_equal_full_batch_rows():
    """The mini-batch path (rows of S, all columns) reproduces the full-batch rows."""
    z, _ = _inputs(8)
    s = influence_matrix(_graph(), N, 2)
    batch = torch.tensor([1, 4, 8])
    row, col, value = sparse_rows(s, batch)
    got = influence_term(z[batch], z, row, col, value, tau=0.7)
    dense = _dense_s(2)
    zn = z.numpy()
    expected = -np.mean(
        [
            math.log(sum(dense[i, j] * math.exp(0.7 * _cos(zn[i], zn[j])) for j in range(N)))
            for i in batch.tolist()
        ]
    )
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_errors():
    z, q = _inputs()
    s = influence_matrix(_graph(), N, 1)
    with pytest.raises(ValueError, match="tau"):
        pamc_loss(z, s, q, tau=0.0)
    with pytest.raises(ValueError, match="influence"):
        pamc_loss(z[:4], s, q[:4])
