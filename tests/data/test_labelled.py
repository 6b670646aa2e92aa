"""The labelled rows of semi-supervised fits: one check for every estimator."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphclust.data.labelled import as_row_index, labelled_rows


def _rows(y, mask, draw=None, data=None):
    return labelled_rows(data, 6, y, mask, method="M", option="opt", draw=draw)


def test_a_mask_and_its_indices_give_the_same_rows() -> None:
    y = torch.tensor([2, 0, 1, 1, 0, 2])
    mask = torch.tensor([True, False, True, False, False, True])
    index, labels = _rows(y, mask)
    assert index.tolist() == [0, 2, 5] and labels.tolist() == [2, 1, 2]
    again = _rows(torch.tensor([2, 2, 1]), torch.tensor([5, 0, 2]))  # y per labelled row
    assert again[0].tolist() == [5, 0, 2] and again[1].tolist() == [2, 2, 1]


def test_drawn_rows_come_from_data_y_and_exclude_fit_arguments() -> None:
    data = Data(y=torch.tensor([0, 1, 0, 1, 0, 1]), num_nodes=6)
    index, labels = _rows(None, None, draw=lambda y: y == 1, data=data)
    assert index.tolist() == [1, 3, 5] and labels.tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="either to fit or by opt"):
        _rows(data.y, data.y == 1, draw=lambda y: y == 1)
    with pytest.raises(ValueError, match="data has no y"):
        _rows(None, None, draw=lambda y: y == 1, data=Data(num_nodes=6))
    with pytest.raises(ValueError, match="M is semi-supervised"):
        _rows(None, None)


@pytest.mark.parametrize(
    ("y", "mask", "error", "match"),
    [
        (torch.zeros(6, dtype=torch.long), None, ValueError, "both y and labeled_mask"),
        (torch.zeros(6), torch.ones(6, dtype=torch.bool), TypeError, "integer tensor"),
        (
            torch.zeros(6, dtype=torch.bool),
            torch.ones(6, dtype=torch.bool),
            TypeError,
            "not booleans",
        ),
        (torch.zeros(4, dtype=torch.long), torch.ones(6, dtype=torch.bool), ValueError, "y has 4"),
        (torch.full((6,), -1), torch.ones(6, dtype=torch.bool), ValueError, ">= 0"),
        (torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.bool), ValueError, "no row"),
    ],
)
def test_bad_rows_are_named(y, mask, error, match) -> None:
    with pytest.raises(error, match=match):
        _rows(y, mask)


def test_row_indices_are_checked() -> None:
    with pytest.raises(ValueError, match="outside 0..5"):
        as_row_index(torch.tensor([0, 6]), 6)
    with pytest.raises(ValueError, match="twice"):
        as_row_index(torch.tensor([1, 1]), 6)
    with pytest.raises(TypeError, match="not floating point"):
        as_row_index(torch.tensor([1.0]), 6)
    with pytest.raises(TypeError, match="BoolTensor"):
        as_row_index([0, 1], 6)
    with pytest.raises(ValueError, match="5 entries, the graph 6"):
        as_row_index(torch.ones(5, dtype=torch.bool), 6)
