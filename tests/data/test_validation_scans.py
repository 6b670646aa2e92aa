"""check_graph's read-only scans: chunked feature checks and the clean-edge test agree
with the whole-tensor computations they replace, and a clean graph is not copied."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from graphclust.data import validation
from graphclust.data.validation import check_features, check_graph


def _repaired(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """What the repairs make of ``edge_index`` (the reference, whole tensors)."""
    edges, _ = remove_self_loops(edge_index)
    return to_undirected(coalesce(edges, num_nodes=n), num_nodes=n)


@pytest.mark.parametrize("scan_edges", [3, 1 << 20])
def test_is_clean_holds_exactly_when_the_repairs_change_nothing(monkeypatch, scan_edges):
    monkeypatch.setattr(validation, "_SCAN_EDGES", scan_edges)  # chunk borders inside
    generator = torch.Generator().manual_seed(0)
    seen = {True: 0, False: 0}
    for _ in range(300):
        n = int(torch.randint(1, 9, (1,), generator=generator))
        size = (2, int(torch.randint(0, 14, (1,), generator=generator)))
        edges = torch.randint(0, n, size, generator=generator)
        for candidate in (edges, _repaired(edges, n), _repaired(edges, n)[:, 1:]):
            expected = torch.equal(candidate, _repaired(candidate, n))
            assert validation._is_clean(candidate, n) == expected, candidate
            seen[expected] += 1
    assert min(seen.values()) > 50  # both outcomes exercised


def test_chunked_feature_scans_match_whole_tensor_results(monkeypatch):
    monkeypatch.setattr(validation, "_SCAN_ENTRIES", 7)  # chunks of 2 rows of 3
    x = torch.randn(11, 3)
    x[[2, 3, 9], [0, 2, 1]] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    assert torch.equal(validation._non_finite_rows(x), torch.tensor([2, 3, 9]))
    with pytest.raises(ValueError, match=r"NaN or inf in 3 rows \(first: \[2, 3, 9\]\)"):
        check_features(x)
    y = torch.randn(11, 3)
    y[10, 2] = -4e15  # the extreme entry sits in the last, short chunk
    assert validation._abs_max(y) == float(y.abs().max())
    with pytest.raises(ValueError, match="values up to 4e"):
        check_features(y)


def test_a_clean_graph_keeps_its_tensors_and_a_dirty_one_is_repaired():
    n = 6
    edges = torch.tensor([[0, 1, 1, 2, 4, 4], [1, 0, 2, 1, 4, 5]])  # a loop, a one-way edge
    x = torch.randn(n, 2)
    clean = check_graph(_data(x, _repaired(edges, n)))
    again = check_graph(clean)
    assert again.edge_index.data_ptr() == clean.edge_index.data_ptr()
    assert again.x.data_ptr() == clean.x.data_ptr()
    with pytest.warns(validation.GraphWarning):
        repaired = check_graph(_data(x, edges))
    assert torch.equal(repaired.edge_index, _repaired(edges, n))


def _data(x, edge_index):
    from torch_geometric.data import Data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Data(x=x, edge_index=edge_index)
