"""The single finalisation step repairs edges and normalises features and labels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust.data import finalize_graph
from graphclust.data.finalize import encode_labels
from tests.data.invariants import assert_graph_invariants


def test_edges_are_symmetrised_merged_and_loop_free() -> None:
    raw = np.array([[0, 1, 1, 2, 3], [1, 0, 2, 2, 1]])  # duplicate, self-loop, one-way
    data = finalize_graph(raw, 4, name="toy", y=[0, 1, 1, 0])
    assert_graph_invariants(data, 4, 4, 2)
    assert data.edge_index.tolist() == [[0, 1, 1, 1, 2, 3], [1, 0, 2, 3, 1, 1]]


def test_features_become_dense_float32() -> None:
    x = sp.csr_matrix(np.array([[1, 0], [0, 2]], dtype=np.float64))
    data = finalize_graph(torch.tensor([[0], [1]]), 2, name="toy", x=x)
    assert data.x.dtype == torch.float32 and data.x.tolist() == [[1, 0], [0, 2]]
    ints = finalize_graph(torch.tensor([[0], [1]]), 2, name="toy", x=np.eye(2, dtype=int))
    assert ints.x.dtype == torch.float32
    torch.testing.assert_close(ints.x, torch.eye(2))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="refers to node 5"):
        finalize_graph([[0], [5]], 3, name="toy")
    with pytest.raises(ValueError, match="NaN"):
        finalize_graph([[0], [1]], 2, name="toy", x=[[0.0], [float("nan")]])
    with pytest.raises(ValueError, match="2 labels for 3 nodes"):
        finalize_graph([[0], [1]], 3, name="toy", y=[0, 1])


def test_labels_are_encoded_in_sorted_order() -> None:
    codes, classes = encode_labels([3, 1, 2, 1])
    assert codes.tolist() == [2, 0, 1, 0] and classes == [1, 2, 3]
    codes, classes = encode_labels(["b", "a", "b"])
    assert codes.tolist() == [1, 0, 1] and classes == ["a", "b"]
    with pytest.raises(ValueError, match="one value per node"):
        encode_labels(np.zeros((2, 2)))
