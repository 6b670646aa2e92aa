"""The one place every loaded or read graph passes through before it is returned.

Whatever the source (PyG dataset, text files, networkx, a generator), the result obeys
the same contract: ``x`` float32 [N, D] finite, ``edge_index`` long [2, E] undirected,
coalesced and free of self-loops, ``y`` long [N] with classes 0..C-1 when labels exist
(-1 marks an unlabelled node), ``num_classes`` and ``name``. Graphs without features
carry ``feature_kind`` (see :mod:`graphclust.data.features`); graphs with overlapping
ground truth carry ``y_overlap`` bool [N, C].
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import remove_self_loops, to_undirected

from graphclust.data.features import (
    DEFAULT_DIM,
    FEATURE_KINDS,
    IDENTITY_MAX_NODES,
    MAX_DEGREE_FEATURE,
    structural_features,
)
from graphclust.data.validation import GraphWarning, check_edge_index, check_features

__all__ = [
    "IDENTITY_MAX_NODES",
    "MAX_DEGREE_FEATURE",
    "default_features",
    "encode_labels",
    "finalize_graph",
]


def default_features(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Features for a graph that has none: identity when small, else one-hot degree.

    Args:
        edge_index: [2, E] undirected edges.
        num_nodes: N.

    Returns:
        float32 [N, N] identity if ``N <= IDENTITY_MAX_NODES``, else float32
        [N, MAX_DEGREE_FEATURE + 1] one-hot of ``min(degree, MAX_DEGREE_FEATURE)``.
    """
    return structural_features(edge_index, num_nodes, "auto")[0]


def _unlabelled(arr: np.ndarray) -> np.ndarray:
    """Mask of entries that mark "no label": negative numbers, NaN, None."""
    if arr.dtype == object:
        return np.array([v is None or (isinstance(v, (int, float)) and v < 0) for v in arr])
    if np.issubdtype(arr.dtype, np.floating):
        return np.isnan(arr) | (arr < 0)
    if np.issubdtype(arr.dtype, np.number):
        return arr < 0
    return np.zeros(arr.shape, dtype=bool)


def encode_labels(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Map arbitrary class values (ints, strings) to 0..C-1 in sorted order.

    A negative number (the usual -1), NaN or None marks an unlabelled node: it becomes
    -1 and is not a class.

    Returns:
        (codes int64 [N], class values in code order). Integer labels that already are
        0..C-1 come back unchanged; 1-based labels (1..C) become 0-based.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"labels must be one value per node, got shape {arr.shape}")
    missing = _unlabelled(arr)
    codes = np.full(arr.shape, -1, dtype=np.int64)
    if missing.all():
        return codes, []
    classes, known = np.unique(arr[~missing], return_inverse=True)
    codes[~missing] = known
    return codes, classes.tolist()


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


def _repair_message(edges: torch.Tensor, num_nodes: int, convention: str) -> str | None:
    """Describe what symmetrising and cleaning ``edges`` [2, E] changes, or None.

    ``convention`` is how the source lists an undirected edge: ``"edge_list"`` (once, in
    either direction: a list is called directed when some pairs appear in both
    directions and others in one only) or ``"symmetric"`` (both directions, as an
    adjacency matrix or a PyG edge_index: any one-way pair means directed input).
    """
    ei = edges.numpy().astype(np.int64)
    loops = ei[0] == ei[1]
    n_loops = int(loops.sum())
    key = ei[0, ~loops] * num_nodes + ei[1, ~loops]
    pairs = np.unique(key)
    n_dup = key.size - pairs.size
    reverse = (pairs % num_nodes) * num_nodes + pairs // num_nodes
    both = int(np.isin(pairs, reverse, assume_unique=True).sum())  # directed pairs
    one_way = pairs.size - both
    undirected = both // 2 + one_way
    directed = one_way > 0 and (convention == "symmetric" or both > 0)
    if not (n_loops or n_dup or directed):
        return None
    parts = []
    if n_loops:
        parts.append(f"dropped {n_loops:,} self-loops")
    if n_dup:
        parts.append(f"merged {n_dup:,} repeated entries")
    if directed:
        parts.append(
            f"the input is directed ({both // 2:,} pairs listed in both directions, "
            f"{one_way:,} in one only) and was made undirected"
        )
    kept = f"kept {undirected:,} undirected edges"
    return f"read {ei.shape[1]:,} edge entries: {'; '.join(parts)}; {kept}"


def _check_overlap(y_overlap: Any, num_nodes: int, name: str) -> torch.Tensor:
    overlap = _as_tensor(y_overlap)
    if overlap.dim() != 2 or overlap.size(0) != num_nodes:
        raise ValueError(
            f"{name}: y_overlap must be a [N, C] membership matrix with N={num_nodes}, got "
            f"shape {list(overlap.shape)}"
        )
    if not bool(((overlap == 0) | (overlap == 1)).all()):
        raise ValueError(f"{name}: y_overlap must hold 0/1 memberships")
    return overlap.bool()


def finalize_graph(
    edge_index: Any,
    num_nodes: int,
    *,
    name: str,
    x: Any = None,
    y: Any = None,
    num_classes: int | None = None,
    y_overlap: Any = None,
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
    report_repairs: str | None = None,
    **extra: Any,
) -> Data:
    """Build the returned ``Data``: clean edges, float32 features, long labels.

    Args:
        edge_index: [2, E] integer node pairs (array-like or tensor); may be directed,
            hold duplicates or self-loops: they are symmetrised, merged and removed.
        num_nodes: N (isolated nodes are kept).
        name: dataset name, stored as ``data.name``.
        x: [N, D] features (dense, scipy sparse or torch sparse), or None.
        y: [N] or [N, 1] integer labels in 0..C-1 (-1: unlabelled), or None.
        num_classes: C; inferred as ``y.max() + 1`` when labels are given without it.
        y_overlap: optional [N, C] 0/1 overlapping membership, stored as bool.
        feature_kind: without ``x``, the features to build (one of
            :data:`~graphclust.data.features.FEATURE_KINDS`; None means ``"auto"``
            and warns, naming the choice); with ``x``, a marker stored as
            ``data.feature_kind`` (e.g. ``"identity"`` for a given identity matrix).
            Graphs with real attributes carry no marker.
        feature_dim: width of ``laplacian``/``randomwalk`` features.
        report_repairs: None (silent), or the source's edge convention
            (``"edge_list"`` or ``"symmetric"``, see :func:`_repair_message`): then
            dropped self-loops, merged repeats and symmetrised directed input are
            reported with counts in a :class:`GraphWarning`.
        **extra: further attributes stored as they are (masks, node_ids, ...).

    Returns:
        ``Data(x, edge_index, y, num_classes, name, **extra)`` obeying the contract in
        the module docstring.
    """
    edge_index = check_edge_index(_as_tensor(edge_index), num_nodes)
    if report_repairs is not None:
        message = _repair_message(edge_index, num_nodes, report_repairs)
        if message:
            warnings.warn(f"{name}: {message}", GraphWarning, stacklevel=3)
    edge_index, _ = remove_self_loops(edge_index)
    # to_undirected also sorts and merges duplicates, so this is the coalesce step too.
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)

    if x is None:
        kind = feature_kind or "auto"
        x, built = structural_features(edge_index, num_nodes, kind, feature_dim)
        if feature_kind is None or feature_kind == "auto":
            warnings.warn(
                f"{name}: the graph has no node features; using {built} features "
                f"[{num_nodes}, {x.size(1)}] as placeholders (chosen by size: identity up "
                f"to {IDENTITY_MAX_NODES} nodes, else one-hot degree). Pass your own "
                "features (x=/features=), or pick structural ones with "
                "feature_kind='laplacian' or 'randomwalk' (features= for load_dataset).",
                GraphWarning,
                stacklevel=3,
            )
        feature_kind = built
    elif feature_kind is not None and feature_kind not in FEATURE_KINDS:
        raise ValueError(f"feature_kind {feature_kind!r} is unknown; use one of {FEATURE_KINDS}")
    else:
        x = _as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    x = check_features(x, num_nodes).contiguous()

    data = Data(x=x, edge_index=edge_index, num_nodes=num_nodes)
    if y is not None:
        y = _as_tensor(y, torch.long).reshape(-1)
        if y.numel() != num_nodes:
            raise ValueError(f"{name}: {y.numel()} labels for {num_nodes} nodes")
        if y.numel() and int(y.min()) < -1:
            raise ValueError(
                f"{name}: labels must be >= 0, or -1 for an unlabelled node; got {int(y.min())}"
            )
        data.y = y
        if num_classes is None:
            num_classes = int(y.max()) + 1 if y.numel() else 0
    if y_overlap is not None:
        data.y_overlap = _check_overlap(y_overlap, num_nodes, name)
    if num_classes is not None:
        data.num_classes = int(num_classes)
    if feature_kind is not None:
        data.feature_kind = feature_kind
    data.name = name
    for key, value in extra.items():
        data[key] = value
    return data
