"""The one place every loaded or read graph passes through before it is returned.

Whatever the source (PyG dataset, text files, networkx, a generator), the result obeys
the same contract: ``x`` float32 [N, D] finite, ``edge_index`` long [2, E] undirected,
coalesced and free of self-loops, ``y`` long [N] with classes 0..C-1 when labels exist,
``num_classes`` and ``name``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import degree, remove_self_loops, to_undirected

from graphclust.data.validation import check_edge_index, check_features

#: Graphs up to this many nodes get identity features when they have none; larger ones
#: get one-hot degree features (an N x N identity would not fit in memory).
IDENTITY_MAX_NODES = 2048
#: Degrees at or above this value share the last one-hot degree column.
MAX_DEGREE_FEATURE = 63


def default_features(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Features for a graph that has none: identity when small, else one-hot degree.

    Args:
        edge_index: [2, E] undirected edges.
        num_nodes: N.

    Returns:
        float32 [N, N] identity if ``N <= IDENTITY_MAX_NODES``, else float32
        [N, MAX_DEGREE_FEATURE + 1] one-hot of ``min(degree, MAX_DEGREE_FEATURE)``.
    """
    if num_nodes <= IDENTITY_MAX_NODES:
        return torch.eye(num_nodes, dtype=torch.float32)
    deg = degree(edge_index[0], num_nodes, dtype=torch.long).clamp(max=MAX_DEGREE_FEATURE)
    x = torch.zeros(num_nodes, MAX_DEGREE_FEATURE + 1, dtype=torch.float32)
    x[torch.arange(num_nodes), deg] = 1.0
    return x


def encode_labels(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Map arbitrary class values (ints, strings) to 0..C-1 in sorted order.

    Returns:
        (codes int64 [N], class values in code order). Integer labels that already are
        0..C-1 come back unchanged; 1-based labels (1..C) become 0-based.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"labels must be one value per node, got shape {arr.shape}")
    classes, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64), classes.tolist()


def _as_tensor(value: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        out = value
    elif hasattr(value, "tocoo"):  # scipy sparse
        out = torch.from_numpy(np.asarray(value.todense()))
    else:
        out = torch.as_tensor(np.asarray(value))
    if out.is_sparse:
        out = out.to_dense()
    return out if dtype is None else out.to(dtype)


def finalize_graph(
    edge_index: Any,
    num_nodes: int,
    *,
    name: str,
    x: Any = None,
    y: Any = None,
    num_classes: int | None = None,
    **extra: Any,
) -> Data:
    """Build the returned ``Data``: clean edges, float32 features, long labels.

    Args:
        edge_index: [2, E] integer node pairs (array-like or tensor); may be directed,
            hold duplicates or self-loops: they are symmetrised, merged and removed.
        num_nodes: N (isolated nodes are kept).
        name: dataset name, stored as ``data.name``.
        x: [N, D] features (dense, scipy sparse or torch sparse); None gives
            :func:`default_features`.
        y: [N] or [N, 1] integer labels in 0..C-1, or None.
        num_classes: C; inferred as ``y.max() + 1`` when labels are given without it.
        **extra: further attributes stored as they are (masks, node_ids, ...).

    Returns:
        ``Data(x, edge_index, y, num_classes, name, **extra)`` obeying the contract in
        the module docstring.
    """
    edge_index = check_edge_index(_as_tensor(edge_index), num_nodes)
    edge_index, _ = remove_self_loops(edge_index)
    # to_undirected also sorts and merges duplicates, so this is the coalesce step too.
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)

    x = default_features(edge_index, num_nodes) if x is None else _as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    x = check_features(x, num_nodes).contiguous()

    data = Data(x=x, edge_index=edge_index, num_nodes=num_nodes)
    if y is not None:
        y = _as_tensor(y, torch.long).reshape(-1)
        if y.numel() != num_nodes:
            raise ValueError(f"{name}: {y.numel()} labels for {num_nodes} nodes")
        if y.numel() and int(y.min()) < 0:
            raise ValueError(f"{name}: labels must be >= 0, got {int(y.min())}")
        data.y = y
        if num_classes is None:
            num_classes = int(y.max()) + 1 if y.numel() else 0
    if num_classes is not None:
        data.num_classes = int(num_classes)
    data.name = name
    for key, value in extra.items():
        data[key] = value
    return data
