"""Graph augmentations: feature-column masking and edge dropping."""

from __future__ import annotations

import pytest
import torch

from graphclust.graph.augment import drop_edges, mask_feature_columns


def test_mask_feature_columns_zeroes_whole_columns_at_the_rate() -> None:
    x = torch.rand(50, 2000, generator=torch.Generator().manual_seed(0)) + 0.1
    out = mask_feature_columns(x, 0.3, torch.Generator().manual_seed(1))
    dropped = (out == 0).all(dim=0)
    kept = (out == x).all(dim=0)
    assert bool((dropped | kept).all())  # every column is either kept or zeroed for all rows
    assert abs(float(dropped.float().mean()) - 0.3) < 0.04  # binomial sd ~0.01
    assert mask_feature_columns(x, 0.0) is x


def test_drop_edges_keeps_a_subset_in_order() -> None:
    edge_index = torch.randint(0, 100, (2, 5000), generator=torch.Generator().manual_seed(0))
    out = drop_edges(edge_index, 0.25, torch.Generator().manual_seed(2))
    keep = torch.rand(5000, generator=torch.Generator().manual_seed(2)) >= 0.25
    assert torch.equal(out, edge_index[:, keep])
    assert abs(out.shape[1] / 5000 - 0.75) < 0.03
    assert drop_edges(edge_index, 0.0) is edge_index


def test_same_generator_state_same_view() -> None:
    x = torch.rand(5, 40)
    a = mask_feature_columns(x, 0.5, torch.Generator().manual_seed(3))
    b = mask_feature_columns(x, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [1.0, -0.1, True, "0.2"])
def test_bad_rates_raise(p: object) -> None:
    with pytest.raises(ValueError, match=r"p must be a rate in \[0, 1\)"):
        mask_feature_columns(torch.rand(3, 4), p)
    with pytest.raises(ValueError, match=r"p must be a rate in \[0, 1\)"):
        drop_edges(torch.zeros(2, 3, dtype=torch.long), p)
