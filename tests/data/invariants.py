"""The contract every graph from graphclust.data must meet, as one assertion helper."""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, is_undirected


def assert_graph_invariants(
    data: Data,
    num_nodes: int | None = None,
    num_features: int | None = None,
    num_classes: int | None = None,
    labelled: bool = True,
) -> None:
    """x float32 2-D finite; edge_index undirected, coalesced, loop-free, in range;
    y long [N] holding exactly classes 0..num_classes-1; name a str."""
    assert isinstance(data, Data)
    n = data.num_nodes
    x = data.x
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 2
    assert x.size(0) == n and bool(torch.isfinite(x).all())
    ei = data.edge_index
    assert ei.dtype == torch.long and ei.dim() == 2 and ei.size(0) == 2
    if ei.numel():
        assert int(ei.min()) >= 0 and int(ei.max()) < n
    assert not bool((ei[0] == ei[1]).any()), "self-loops"
    assert is_undirected(ei, num_nodes=n), "directed"
    assert torch.equal(coalesce(ei, num_nodes=n), ei), "not coalesced (sorted, unique)"
    assert isinstance(data.name, str) and data.name
    if labelled:
        y = data.y
        assert y.dtype == torch.long and y.shape == (n,)
        assert isinstance(data.num_classes, int)
        assert sorted(torch.unique(y).tolist()) == list(range(data.num_classes))
    if num_nodes is not None:
        assert n == num_nodes
    if num_features is not None:
        assert x.size(1) == num_features
    if num_classes is not None:
        assert data.num_classes == num_classes
