"""Normalised adjacency and influence matrices against dense NumPy formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphclust.graph.adjacency import (
    csr_to_coo,
    influence_matrix,
    normalized_adjacency,
    sparse_rows,
)

# A path 0-1-2-3, a triangle 4-5-6 and an isolated node 7 (both directions listed).
_EDGES = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (4, 6)]
N = 8


def _edge_index() -> torch.Tensor:
    pairs = _EDGES + [(j, i) for i, j in _EDGES]
    return torch.tensor(pairs, dtype=torch.long).t()


def _dense_adjacency() -> np.ndarray:
    a = np.zeros((N, N))
    for i, j in _EDGES:
        a[i, j] = a[j, i] = 1.0
    return a


def test_random_walk_matches_dense_formula():
    a = _dense_adjacency() + np.eye(N)
    expected = a / a.sum(axis=1, keepdims=True)
    out = normalized_adjacency(_edge_index(), N, kind="rw")
    assert out.layout == torch.sparse_csr
    np.testing.assert_allclose(out.to_dense().numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out.to_dense().sum(1).numpy(), np.ones(N), atol=1e-6)


def test_symmetric_matches_dense_formula():
    a = _dense_adjacency() + np.eye(N)
    d = a.sum(axis=1) ** -0.5
    expected = d[:, None] * a * d[None, :]
    out = normalized_adjacency(_edge_index(), N, kind="sym")
    np.testing.assert_allclose(out.to_dense().numpy(), expected, atol=1e-6)


def test_without_self_loops_isolated_row_is_zero_not_nan():
    out = normalized_adjacency(_edge_index(), N, add_self_loops=False).to_dense()
    assert torch.isfinite(out).all()
    assert out[7].abs().sum() == 0
    a = _dense_adjacency()
    np.testing.assert_allclose(out[:7].numpy(), a[:7] / a[:7].sum(1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_influence_matrix_is_sum_of_dense_powers(order):
    a = _dense_adjacency() + np.eye(N)
    ahat = a / a.sum(axis=1, keepdims=True)
    expected = sum(np.linalg.matrix_power(ahat, r) for r in range(1, order + 1))
    s = influence_matrix(_edge_index(), N, order)
    np.testing.assert_allclose(s.to_dense().numpy(), expected, atol=1e-5)
    # Rows of a sum of R row-stochastic matrices sum to R; the support is the R-hop ball.
    np.testing.assert_allclose(s.to_dense().sum(1).numpy(), np.full(N, order), atol=1e-5)
    assert s._nnz() == int((expected > 0).sum())


def test_influence_matrix_refuses_before_exceeding_max_nnz():
    with pytest.raises(MemoryError, match="max_nnz"):
        influence_matrix(_edge_index(), N, order=3, max_nnz=10)


def test_sparse_rows_match_dense_rows():
    s = influence_matrix(_edge_index(), N, 2)
    dense = s.to_dense()
    index = torch.tensor([5, 0, 7, 5])
    row, col, value = sparse_rows(s, index)
    rebuilt = torch.zeros(index.numel(), N)
    rebuilt[row, col] = value
    torch.testing.assert_close(rebuilt, dense[index])


def test_sparse_rows_of_empty_batch():
    """An empty batch gives empty triplets of the same kinds as a full one, so that they
    index and concatenate like any batch's: a batch split in an empty and a full part
    gives back the full part's triplets."""
    s = influence_matrix(_edge_index(), N, 1)
    row, col, value = sparse_rows(s, torch.tensor([], dtype=torch.long))
    assert row.numel() == col.numel() == value.numel() == 0
    full = sparse_rows(s, torch.tensor([5, 0]))
    for empty, part in zip((row, col, value), full, strict=True):
        assert empty.dtype == part.dtype and empty.shape == (0,)
        torch.testing.assert_close(torch.cat([empty, part]), part)
    rebuilt = torch.zeros(0, N, dtype=value.dtype)
    rebuilt[row, col] = value
    torch.testing.assert_close(rebuilt, s.to_dense()[:0])


def test_csr_to_coo_round_trip():
    s = influence_matrix(_edge_index(), N, 2)
    row, col, value = csr_to_coo(s)
    rebuilt = torch.zeros(N, N)
    rebuilt[row, col] = value
    torch.testing.assert_close(rebuilt, s.to_dense())
    row2, col2, value2 = csr_to_coo(s.to_dense().to_sparse())
    torch.testing.assert_close(value2, value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 0}, "order"),
        ({"order": 1, "num_nodes": 3}, "outside"),
        ({"order": 1, "kind": "left"}, "kind"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, match):
    num_nodes = kwargs.pop("num_nodes", N)
    with pytest.raises(ValueError, match=match):
        influence_matrix(_edge_index(), num_nodes, **kwargs)
