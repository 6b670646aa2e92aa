"""InfluenceRows against the materialised influence matrix and dense matrix powers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphclust.data import check_graph
from graphclust.data.synthetic import load_sbm
from graphclust.graph.adjacency import influence_matrix, sparse_rows
from graphclust.graph.influence_rows import InfluenceRows


@pytest.fixture(scope="module")
def graph():
    # Isolated nodes included (p_out = 0 and a sparse block), so empty rows are covered.
    return check_graph(load_sbm(120, 4, p_in=0.04, p_out=0.0, feature_dim=2, seed=3))


def _sorted(triplets, n):
    row, col, value = triplets
    order = torch.argsort(row * n + col)
    return row[order], col[order], value[order]


def test_first_order_rows_equal_sparse_rows_of_the_matrix(graph):
    n = graph.num_nodes
    index = torch.tensor([7, 0, n - 1, 7, 42, 3])  # a repeat and both ends
    expected = sparse_rows(influence_matrix(graph.edge_index, n, 1), index)
    found = InfluenceRows(graph.edge_index, n, 1).rows(index)
    for want, got in zip(expected, found, strict=True):
        assert torch.equal(want, got)  # same entries, same order, same values


@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_rows_are_the_rows_of_dense_powers(graph, order):
    n = graph.num_nodes
    a = np.zeros((n, n))
    a[graph.edge_index[0].numpy(), graph.edge_index[1].numpy()] = 1.0
    a += np.eye(n)
    ahat = a / a.sum(1, keepdims=True)
    dense = sum(np.linalg.matrix_power(ahat, r) for r in range(1, order + 1))
    index = torch.tensor([5, 99, 5, 0])
    row, col, value = InfluenceRows(graph.edge_index, n, order).rows(index)
    rebuilt = np.zeros((index.numel(), n))
    rebuilt[row.numpy(), col.numpy()] = value.numpy()
    np.testing.assert_allclose(rebuilt, dense[index.numpy()], atol=1e-6)
    assert bool((row.diff() >= 0).all())  # rows in the order of index
    keys = row * n + col
    assert bool((keys.diff() > 0).all())  # columns ascending within a row
    reference = _sorted(sparse_rows(influence_matrix(graph.edge_index, n, order), index), n)
    assert torch.equal(reference[1], col)
    torch.testing.assert_close(reference[2], value)


def test_row_ids_outside_the_graph_are_refused(graph):
    rows = InfluenceRows(graph.edge_index, graph.num_nodes, 1)
    with pytest.raises(ValueError, match="row ids must lie in 0..119"):
        rows.rows(torch.tensor([120]))


def test_order_is_checked(graph):
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        InfluenceRows(graph.edge_index, graph.num_nodes, 0)
