"""Graphs from in-memory arrays, and overlapping ground truth as hard labels.

:func:`from_arrays` is the constructor for a graph already in memory (an
``edge_index``, a scipy sparse or dense adjacency, features, labels); the file readers
in :mod:`graphclust.data.readers` end in the same validation
(:func:`~graphclust.data.finalize.finalize_graph`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from graphclust.data.features import DEFAULT_DIM, FEATURE_KINDS
from graphclust.data.finalize import encode_labels, finalize_graph


def choose_features(
    x: Any, feature_kind: str | None, where: str, *, from_file: bool = False
) -> tuple[Any, str | None]:
    """Resolve a reader's ``feature_kind`` against the features it has (``x``).

    None/"auto": ``x`` if any, else placeholders (finalize_graph warns);
    "attributes": ``x``, required; a structural kind: built from the graph, so ``x``
    must not be given by the caller (``from_file=True``: ``x`` came from the file and
    is dropped).

    Returns:
        what to pass to ``finalize_graph`` as ``(x, feature_kind)``.
    """
    if feature_kind in (None, "auto"):
        return x, None if x is not None else feature_kind
    if feature_kind == "attributes":
        if x is None:
            raise ValueError(
                f"{where} has no node features, so feature_kind='attributes' cannot be "
                f"met; choose one of {FEATURE_KINDS[1:]} or pass features"
            )
        return x, None
    if feature_kind not in FEATURE_KINDS:
        raise ValueError(
            f"feature_kind={feature_kind!r} is unknown; use None, 'attributes' or one of "
            f"{FEATURE_KINDS}"
        )
    if x is not None and not from_file:
        raise ValueError(
            f"features were given and feature_kind={feature_kind!r} asks to build them: "
            "pass one or the other"
        )
    return None, feature_kind


def membership_to_labels(membership: Any) -> np.ndarray:
    """One hard label per node from an [N, C] (overlapping) membership matrix.

    Rule: a node in several communities gets the largest of them (most members; ties
    go to the lower column index), so the hard labels keep the big communities whole;
    a node in none gets -1 (unlabelled, left out of supervised scores).

    Args:
        membership: [N, C] 0/1 matrix (numpy, scipy sparse or torch).

    Returns:
        int64 [N] labels in -1..C-1.
    """
    m = sp.csr_matrix(membership.numpy() if isinstance(membership, torch.Tensor) else membership)
    m = (m != 0).astype(np.int64).tocsr()
    sizes = np.asarray(m.sum(axis=0)).ravel()
    # Rank columns by size (descending, stable so ties keep the lower index); a node
    # takes the best-ranked column it belongs to.
    rank = np.empty(sizes.size, dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(sizes.size)
    m = m.tocoo()
    # Sort memberships by (node, rank): each node's first entry is its best column.
    order = np.lexsort((rank[m.col], m.row))
    rows, cols = m.row[order], m.col[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    labels = np.full(m.shape[0], -1, dtype=np.int64)
    labels[rows[first]] = cols[first]
    return labels


def _edges_of(adjacency: Any, num_nodes: int | None) -> tuple[np.ndarray, int]:
    """Nonzero pattern of a square adjacency (scipy sparse, numpy or torch) as [2, E]."""
    if isinstance(adjacency, torch.Tensor) and adjacency.is_sparse:
        # from the indices: a sparse N x N adjacency is never made dense
        sparse = adjacency.detach().coalesce().cpu()
        (row, col), values = sparse.indices().numpy(), sparse.values().numpy()
        adjacency = sp.coo_matrix((values, (row, col)), shape=tuple(sparse.shape))
    elif isinstance(adjacency, torch.Tensor):
        adjacency = adjacency.detach().cpu().numpy()
    adj = sp.coo_matrix(adjacency)
    if adj.shape[0] != adj.shape[1]:
        raise ValueError(f"adjacency must be square [N, N], got shape {list(adj.shape)}")
    if num_nodes is not None and num_nodes != adj.shape[0]:
        raise ValueError(f"num_nodes={num_nodes} but the adjacency is {adj.shape[0]} x N")
    keep = adj.data != 0
    return np.stack([adj.row[keep], adj.col[keep]]).astype(np.int64), int(adj.shape[0])


def _labels(y: Any, num_nodes: int) -> dict[str, Any]:
    """finalize_graph keywords for labels given as [N] values or an [N, C] membership."""
    if y is None:
        return {}
    if sp.issparse(y) or (np.ndim(y) == 2 and np.shape(y)[1] > 1):
        dense = y.toarray() if sp.issparse(y) else np.asarray(y)
        membership = dense != 0
        return {
            "y": membership_to_labels(sp.csr_matrix(membership)),
            "y_overlap": torch.from_numpy(membership),
            "num_classes": membership.shape[1],
        }
    values = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    codes, classes = encode_labels(values.reshape(-1))
    if codes.size != num_nodes:
        raise ValueError(f"y has {codes.size} labels for {num_nodes} nodes")
    return {"y": codes, "label_names": classes, "num_classes": len(classes)}


def _index_array(edge_index: Any) -> Any:
    """``edge_index`` as a tensor or an int64 array; anything but integer node indices
    below 2**63 (floats, strings, ids too large for int64) is refused here, by name."""
    if isinstance(edge_index, torch.Tensor):
        return edge_index.detach().cpu()  # check_edge_index explains a wrong dtype
    try:
        edges = np.asarray(edge_index)
    except (ValueError, OverflowError) as err:
        raise ValueError(f"edge_index must be a [2, E] array of node indices ({err})") from err
    if edges.size == 0:
        return edges.astype(np.int64).reshape(2, 0) if edges.ndim < 2 else edges.astype(np.int64)
    too_big = edges.dtype == np.uint64 and int(edges.max()) > np.iinfo(np.int64).max
    if edges.dtype.kind not in "iu" or too_big:
        raise TypeError(
            f"edge_index must hold integer node indices 0..N-1 below 2**63, got dtype "
            f"{edges.dtype}; for arbitrary ids (strings, huge or sparse integers) use "
            "from_edge_list or from_networkx, which number nodes 0..N-1 and keep the ids"
        )
    return edges.astype(np.int64)


def from_arrays(
    edge_index: Any = None,
    adjacency: Any = None,
    x: Any = None,
    y: Any = None,
    *,
    num_nodes: int | None = None,
    name: str = "graph",
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Build a graph from arrays in memory, validated like every reader's output.

    Give exactly one of ``edge_index`` and ``adjacency``. Both follow the PyG
    convention that an undirected edge appears in both directions: one-way pairs are
    reported (with counts, in a ``GraphWarning``) as directed input and symmetrised,
    as are self-loops (dropped). Edge weights / adjacency values are ignored.

    Args:
        edge_index: [2, E] integer pairs (tensor or array).
        adjacency: [N, N] scipy sparse matrix, or a dense numpy/torch matrix.
        x: [N, D] features (dense or sparse), or None (see ``feature_kind``).
        y: [N] labels of any type (-1/NaN/None: unlabelled), or an [N, C] 0/1
            membership matrix (overlapping ground truth: ``data.y_overlap`` plus a
            hard ``y`` from :func:`membership_to_labels`).
        num_nodes: N; default from the adjacency, else x, else y, else max index + 1
            (indices are node numbers here: a huge index means that many nodes; for
            sparse or arbitrary ids use :func:`~graphclust.data.readers.from_edge_list`
            or :func:`~graphclust.data.readers.from_networkx`, which remap them).

    Raises:
        TypeError: ``edge_index`` does not hold integers below 2**63.
        ValueError: no nodes, a non-square adjacency, or sizes that disagree.
        name: ``data.name``.
        feature_kind: features when ``x`` is None (None/"auto": placeholders with a
            warning; "identity" | "degree" | "laplacian" | "randomwalk").
        feature_dim: width of laplacian/randomwalk features.
    """
    if (edge_index is None) == (adjacency is None):
        raise ValueError("give exactly one of edge_index= and adjacency=")
    if adjacency is not None:
        edges, num_nodes = _edges_of(adjacency, num_nodes)
    else:
        edges = _index_array(edge_index)
        if num_nodes is None:
            if x is not None:
                num_nodes = int(x.shape[0])
            elif y is not None:
                num_nodes = int(np.shape(y)[0]) if not sp.issparse(y) else y.shape[0]
            else:
                num_nodes = int(edges.max()) + 1 if edges.size else 0
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)):
        raise TypeError(f"num_nodes must be an integer, got {num_nodes!r}")
    if num_nodes < 1:
        raise ValueError(
            f"graph {name!r} has no nodes (num_nodes={num_nodes}): give a non-empty "
            "edge_index or adjacency, or x/y/num_nodes for a graph of isolated nodes"
        )
    x, kind = choose_features(x, feature_kind, f"graph {name!r}")
    return finalize_graph(
        edges,
        num_nodes,
        name=name,
        x=x,
        feature_kind=kind,
        feature_dim=feature_dim,
        report_repairs="symmetric",
        **_labels(y, num_nodes),
    )
