"""Readers for a user's own graph: edge lists, networkx graphs, GML, npz, in-memory arrays.

All of them return a graph through :func:`~graphclust.data.finalize.finalize_graph`, so
the result obeys the same contract as a built-in dataset:

* Features: ``feature_kind`` chooses them. None/``"auto"``: the file's (or given)
  features, else placeholders (identity up to
  :data:`~graphclust.data.features.IDENTITY_MAX_NODES` nodes, else one-hot degree)
  with a :class:`~graphclust.data.validation.GraphWarning` naming the choice;
  ``"attributes"``: the file's features, an error when there are none;
  ``"identity" | "degree" | "laplacian" | "randomwalk"``: built from the graph
  (:func:`~graphclust.data.features.structural_features`), file features ignored.
  ``data.feature_kind`` marks every graph whose features were not given.
* Labels of any type (ints, strings) become 0..C-1 in sorted order, the original
  values kept in ``data.label_names``; -1 (any negative number, NaN, None) stays -1,
  "unlabelled". An [N, C] membership matrix is overlapping ground truth: see
  :func:`membership_to_labels`.
* Dropped self-loops, merged repeated edges and directed input made undirected are
  reported with their counts in a ``GraphWarning`` at read time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from graphclust.data.arrays import choose_features, from_arrays, membership_to_labels
from graphclust.data.features import DEFAULT_DIM
from graphclust.data.finalize import encode_labels, finalize_graph

__all__ = [
    "from_arrays",
    "from_edge_list",
    "from_gml",
    "from_networkx",
    "from_npz",
    "membership_to_labels",
    "read_npz_arrays",
]

PathLike = str | os.PathLike
#: Labels or features given as a file, an array (node order), or a mapping id -> value.
NodeValues = PathLike | Sequence[Any] | np.ndarray | torch.Tensor | Mapping[Hashable, Any]


def _read_rows(path: PathLike, delimiter: str | None, comments: str) -> list[list[str]]:
    """Non-empty, non-comment lines split on ``delimiter`` (default: commas or blanks)."""
    splitter = re.compile(r"[,\s]+") if delimiter is None else None
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split(comments, 1)[0].strip() if comments else line.strip()
            if line:
                rows.append(splitter.split(line) if splitter else line.split(delimiter))
    return rows


def _parse_id(token: str) -> int | str:
    try:
        return int(token)
    except ValueError:
        return token


def _per_node(
    values: NodeValues | None,
    node_ids: Sequence[Hashable] | None,
    num_nodes: int,
    what: str,
    delimiter: str | None,
    comments: str,
    parse: Any,
) -> list[Any] | None:
    """Resolve labels/features given as path, array or mapping into a list in node order.

    ``node_ids`` is None when node i is simply the integer i.
    """
    if values is None:
        return None
    if isinstance(values, (str, os.PathLike)):
        rows = _read_rows(values, delimiter, comments)
        if node_ids is not None:  # arbitrary ids: each row must say which node it is
            values = {_parse_id(r[0]): parse(r[1:]) for r in rows}
        elif what == "labels" and rows and len(rows[0]) == 2:
            values = {int(r[0]): parse(r[1:]) for r in rows}
        else:
            values = [parse(r) for r in rows]
    if isinstance(values, Mapping):
        keys = list(node_ids) if node_ids is not None else list(range(num_nodes))
        absent = [k for k in keys if k not in values]
        if absent:
            raise ValueError(f"{what} missing for {len(absent)} nodes (first: {absent[:5]})")
        return [values[k] for k in keys]
    values = values.tolist() if isinstance(values, (np.ndarray, torch.Tensor)) else list(values)
    if len(values) != num_nodes:
        raise ValueError(f"{what}: got {len(values)} rows for {num_nodes} nodes")
    return values


def _labels_to_codes(labels: list[Any] | None) -> tuple[np.ndarray | None, dict[str, Any]]:
    if labels is None:
        return None, {}
    codes, classes = encode_labels(np.asarray(labels))
    return codes, {"label_names": classes}


def from_edge_list(
    path: PathLike,
    labels: NodeValues | None = None,
    features: NodeValues | None = None,
    *,
    num_nodes: int | None = None,
    delimiter: str | None = None,
    comments: str = "#",
    name: str | None = None,
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Read a graph from an edge-list text file (plus optional labels and features).

    Edge file: one edge ``u v`` per line (extra columns such as weights are ignored),
    separated by blanks or commas (or ``delimiter``); text after ``comments`` ignored.

    Node ids: if every id is an integer, node ``i`` is id ``i`` (N = max id + 1, or
    ``num_nodes``; isolated nodes allowed). Otherwise ids are mapped to 0..N-1 in order
    of first appearance and kept in ``data.node_ids``.

    Args:
        path: the edge list.
        labels: a file with one label per line in node order or ``id label`` lines
            (required form when ids are not integers), an array in node order, or a
            mapping id -> label.
        features: a file with one row of numbers per node in node order (with the id
            first when ids are not integers), an array [N, D], or a mapping id -> row.
        num_nodes: N for integer ids, to include isolated nodes above the largest id.
        delimiter, comments: file syntax.
        name: ``data.name`` (default: the file's stem).
        feature_kind, feature_dim: features when none are given (module docstring).

    Self-loops, repeated lines and a directed list (some pairs listed in both
    directions, others in one only) are reported with counts in a ``GraphWarning``; a
    list naming each undirected edge once, in either direction, is not.
    """
    rows = _read_rows(path, delimiter, comments)
    bad = [r for r in rows if len(r) < 2]
    if bad:
        raise ValueError(f"{path}: edge lines need two node ids, got {bad[0]!r}")
    tokens = [_parse_id(t) for r in rows for t in r[:2]]
    node_ids: list[Hashable] | None
    if all(isinstance(t, int) for t in tokens):
        node_ids = None
        edges = np.asarray(tokens, dtype=np.int64).reshape(-1, 2).T
        if edges.size and edges.min() < 0:
            raise ValueError(f"{path}: negative node id {edges.min()}")
        n = int(edges.max()) + 1 if edges.size else 0
        if num_nodes is not None:
            if num_nodes < n:
                raise ValueError(f"num_nodes={num_nodes} but the edge list names node {n - 1}")
            n = num_nodes
    else:
        index = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
        node_ids = list(index)
        edges = np.asarray([index[t] for t in tokens], dtype=np.int64).reshape(-1, 2).T
        n = len(node_ids)
    label_list = _per_node(labels, node_ids, n, "labels", delimiter, comments, _first_token)
    feature_list = _per_node(features, node_ids, n, "features", delimiter, comments, _floats)
    y, extra = _labels_to_codes(label_list)
    if node_ids is not None:
        extra["node_ids"] = node_ids
    x = None if feature_list is None else np.asarray(feature_list, dtype=np.float32)
    x, kind = choose_features(x, feature_kind, str(path))
    return finalize_graph(
        edges,
        n,
        name=name or Path(path).stem,
        x=x,
        y=y,
        feature_kind=kind,
        feature_dim=feature_dim,
        report_repairs="edge_list",
        **extra,
    )


def _first_token(row: Sequence[str]) -> int | str:
    return _parse_id(row[0])


def _floats(row: Sequence[str]) -> list[float]:
    return [float(v) for v in row]


def from_networkx(
    graph: nx.Graph,
    label_attr: str | None = None,
    feature_attr: str | None = None,
    *,
    name: str = "networkx",
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Convert a networkx graph; node ids may be anything hashable.

    Nodes are numbered 0..N-1 in ``graph.nodes`` order and the original ids kept in
    ``data.node_ids``. Directed graphs are made undirected (reported with counts, as
    are self-loops and multi-edges); edge attributes are ignored.

    Args:
        graph: a networkx (Di/Multi)Graph.
        label_attr: node attribute holding the class (any type).
        feature_attr: node attribute holding a feature vector (or a scalar).
        name: ``data.name``.
        feature_kind, feature_dim: features when none are given (module docstring).
    """
    node_ids = list(graph.nodes)
    index = {v: i for i, v in enumerate(node_ids)}
    edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64)
    edges = edges.reshape(-1, 2).T

    def attribute(attr: str) -> list[Any]:
        missing = [v for v in node_ids if attr not in graph.nodes[v]]
        if missing:
            raise ValueError(
                f"node attribute {attr!r} missing on {len(missing)} nodes, e.g. {missing[:5]}"
            )
        return [graph.nodes[v][attr] for v in node_ids]

    y, extra = _labels_to_codes(attribute(label_attr) if label_attr else None)
    x = None
    if feature_attr:
        x = np.asarray(attribute(feature_attr), dtype=np.float32)
        x = x.reshape(len(node_ids), -1)
    x, kind = choose_features(x, feature_kind, f"networkx graph {name!r}")
    return finalize_graph(
        edges,
        len(node_ids),
        name=name,
        x=x,
        y=y,
        feature_kind=kind,
        feature_dim=feature_dim,
        # A DiGraph lists (u, v) and (v, u) separately: any one-way pair is directed.
        report_repairs="symmetric" if graph.is_directed() else "edge_list",
        node_ids=node_ids,
        **extra,
    )


def from_gml(
    path: PathLike,
    label_attr: str | None = None,
    feature_attr: str | None = None,
    *,
    node_key: str = "label",
    name: str | None = None,
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Read a GML file (networkx.read_gml) and convert it with :func:`from_networkx`.

    Args:
        node_key: GML node field used as node id (``"label"`` as in networkx, or
            ``"id"`` when labels are missing or not unique).
        label_attr, feature_attr: node fields for class and features.
        feature_kind, feature_dim: features when none are given (module docstring).
    """
    graph = nx.read_gml(path, label=node_key)
    return from_networkx(
        graph,
        label_attr,
        feature_attr,
        name=name or Path(path).stem,
        feature_kind=feature_kind,
        feature_dim=feature_dim,
    )


def _sparse(z: Mapping[str, np.ndarray], prefix: str, sep: str) -> sp.csr_matrix:
    return sp.csr_matrix(
        (z[f"{prefix}{sep}data"], z[f"{prefix}{sep}indices"], z[f"{prefix}{sep}indptr"]),
        shape=tuple(int(v) for v in z[f"{prefix}{sep}shape"]),
    )


def _matrix(z: Any, keys: set[str], stem: str, sep: str) -> Any:
    """``<stem><sep>data/indices/indptr/shape`` as CSR, a dense ``<stem>`` array, or None."""
    if f"{stem}{sep}data" in keys:
        return _sparse(z, stem, sep)
    if stem in keys:
        try:
            return z[stem]
        except ValueError as err:  # a pickled object array: never unpickled
            raise ValueError(f"{stem!r} is stored as pickled objects; not read") from err
    return None


def read_npz_arrays(path: PathLike) -> tuple[sp.csr_matrix, Any, Any]:
    """Adjacency (CSR), features (CSR, dense or None) and labels of an npz graph file.

    Two layouts are read (only numeric arrays are loaded; pickled entries such as
    ``node_names`` are skipped, never unpickled):

    * gnn-benchmark / nettack: ``adj_data, adj_indices, adj_indptr, adj_shape``;
      features ``attr_data/...`` or a dense ``attr_matrix``; ``labels`` [N].
    * "dotted" (NOCD, newer gnn-benchmark): ``adj_matrix.data/.indices/.indptr/.shape``;
      features ``attr_matrix.*`` (sparse) or dense ``attr_matrix``; labels ``labels.*``,
      a sparse [N, C] (possibly overlapping) membership, or dense ``labels``.

    Returns:
        (adjacency CSR [N, N], features or None, labels [N] / membership [N, C] or None).
    """
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        if {"adj_data", "adj_indices", "adj_indptr", "adj_shape"} <= keys:
            adj, sep, names = _sparse(z, "adj", "_"), "_", ("attr", "labels")
        elif {"adj_matrix.data", "adj_matrix.indices", "adj_matrix.indptr"} <= keys:
            adj, sep, names = _sparse(z, "adj_matrix", "."), ".", ("attr_matrix", "labels")
        else:
            raise ValueError(
                f"{path}: not in the gnn-benchmark layout (expected adj_data, adj_indices, "
                f"adj_indptr, adj_shape, or the dotted adj_matrix.data/.indices/.indptr/"
                f".shape; found {sorted(keys)})"
            )
        x = _matrix(z, keys, names[0], sep)
        if x is None and sep == "_":
            x = _matrix(z, keys, "attr_matrix", sep)
        labels = _matrix(z, keys, names[1], sep)
    if x is not None and x.shape[0] != adj.shape[0]:
        raise ValueError(f"{path}: {x.shape[0]} feature rows for {adj.shape[0]} nodes")
    return adj, x, labels


def from_npz(
    path: PathLike,
    *,
    name: str | None = None,
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Read a graph stored as npz: gnn-benchmark or NOCD "dotted" layout.

    See :func:`read_npz_arrays` for the keys. Features are densified. Labels ``[N]``
    become ``y`` (classes 0..C-1, -1 unlabelled); an [N, C] membership matrix (NOCD's
    overlapping communities) becomes ``data.y_overlap`` (bool [N, C]) plus a hard ``y``
    from :func:`membership_to_labels`, with ``num_classes = C``. The adjacency should be
    symmetric: an asymmetric one is reported as directed and symmetrised.

    Args:
        feature_kind: None/"auto" uses the file's features (placeholders when it has
            none); "attributes" requires them; a structural kind ignores them.
    """
    adj, x, labels = read_npz_arrays(path)
    x, kind = choose_features(x, feature_kind, str(path), from_file=True)
    return from_arrays(
        adjacency=adj,
        x=x,
        y=labels,
        name=name or Path(path).stem,
        feature_kind=kind,
        feature_dim=feature_dim,
    )
