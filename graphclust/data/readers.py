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
* Bad input ends in a ``ValueError`` naming the file, and the line where one is at
  fault (``path:line: ...``); a wrong argument type in a ``TypeError``. Node ids are
  read exactly and memory follows the number of distinct ids, never the largest id
  (:mod:`graphclust.data.text_files`); npz files are checked before use
  (:mod:`graphclust.data.npz_files`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.data.arrays import choose_features, from_arrays, membership_to_labels
from graphclust.data.features import DEFAULT_DIM
from graphclust.data.finalize import encode_labels, finalize_graph
from graphclust.data.npz_files import read_npz_arrays
from graphclust.data.text_files import (
    edge_ids,
    id_lookup,
    number_nodes,
    read_rows,
    values_from_file,
)

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


def _per_node(
    values: NodeValues | None,
    what: str,
    n: int,
    node_ids: Sequence[Hashable] | None,
    read: Callable[[PathLike], list[Any]],
) -> list[Any] | None:
    """Labels/features given as a file (``read``), an array in node order or a mapping
    id -> value, as a list in node order (``node_ids`` None: node i is id i)."""
    if values is None:
        return None
    if isinstance(values, (str, os.PathLike)):
        return read(values)
    if isinstance(values, Mapping):
        keys = list(node_ids) if node_ids is not None else list(range(n))
        absent = [k for k in keys if k not in values]
        if absent:
            raise ValueError(f"{what} missing for {len(absent)} nodes (first: {absent[:5]})")
        return [values[k] for k in keys]
    values = values.tolist() if isinstance(values, (np.ndarray, torch.Tensor)) else list(values)
    if len(values) != n:
        raise ValueError(f"{what}: got {len(values)} rows for {n} nodes")
    return values


@contextmanager
def _naming(path: PathLike) -> Iterator[None]:
    """Prefix the file to a ValueError raised while building its graph (finalize_graph
    and friends do not know where their input came from)."""
    try:
        yield
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: {err}") from err


def _labels_to_codes(labels: list[Any] | None) -> tuple[np.ndarray | None, dict[str, Any]]:
    if labels is None:
        return None, {}
    try:
        values = np.asarray(labels)
    except (OverflowError, ValueError):  # ints beyond 64 bits, or ints mixed with None
        values = np.array(labels, dtype=object)
    if values.dtype == object and any(isinstance(v, str) for v in labels):
        # strings with the None of unlabelled nodes: np.unique cannot order both
        values = np.array(labels, dtype=object)
    codes, classes = encode_labels(values)
    return codes, {"label_names": classes}


def from_edge_list(
    path: PathLike,
    labels: NodeValues | None = None,
    features: NodeValues | None = None,
    *,
    num_nodes: int | None = None,
    id_type: str = "auto",
    delimiter: str | None = None,
    comments: str = "#",
    name: str | None = None,
    feature_kind: str | None = None,
    feature_dim: int = DEFAULT_DIM,
) -> Data:
    """Read a graph from an edge-list text file (plus optional labels and features).

    Edge file: one edge ``u v`` per line (extra columns such as weights are ignored),
    separated by blanks or commas (or ``delimiter``); text after ``comments`` ignored.
    An empty file (nothing but blanks and comments) is an error.

    Node ids (exact rule in :mod:`graphclust.data.text_files`): integers when every id
    is a canonical integer (any size), else strings (the tokens, so ``1`` and ``01``
    differ; a warning says so when numeric-looking tokens are read as text); force one
    with ``id_type="int"``/``"str"``. Node ``i`` is id ``i`` when the ids are exactly
    0..N-1 or ``num_nodes`` is given; otherwise (string ids, gaps, huge or negative
    ids) nodes are numbered 0..N-1 -- integers in increasing order, strings in order of
    first appearance -- with N the number of distinct ids and ``data.node_ids[i]`` the
    id of node ``i``.

    Args:
        path: the edge list.
        labels: a file with ``id label`` lines (or, for integer ids, one label per line
            in node order), an array in node order, or a mapping id -> label. Labels
            are ints when every one is a canonical integer, else strings; a negative
            integer marks an unlabelled node.
        features: a file with one row of numbers per node -- in node order for integer
            ids, with the id first for string ids --, an array [N, D], or a mapping
            id -> row.
        num_nodes: number nodes by integer id, 0..num_nodes-1 (isolated nodes allowed).
        id_type: ``"auto"``, ``"int"`` or ``"str"`` (see above).
        delimiter, comments: file syntax.
        name: ``data.name`` (default: the file's stem).
        feature_kind, feature_dim: features when none are given (module docstring).

    Raises:
        ValueError: naming the file, and the line where one is at fault.

    Self-loops, repeated lines and a directed list (some pairs listed in both
    directions, others in one only) are reported with counts in a ``GraphWarning``; a
    list naming each undirected edge once, in either direction, is not.
    """
    if num_nodes is not None and (
        isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 1
    ):
        raise ValueError(f"num_nodes must be a positive integer or None, got {num_nodes!r}")
    rows = read_rows(path, delimiter, comments, "edge")
    ids, lines, is_int = edge_ids(rows, path, id_type)
    index, n, node_ids = number_nodes(ids, lines, is_int, num_nodes, path)

    def reader(what: str, keyed: bool | None) -> Callable[[PathLike], list[Any]]:
        def read(file: PathLike) -> list[Any]:
            lookup = id_lookup(file, path, is_int, n, node_ids)
            return values_from_file(file, what, n, lookup, keyed, delimiter, comments, node_ids)

        return read

    label_list = _per_node(
        labels, "labels", n, node_ids, reader("labels", None if is_int else True)
    )
    feature_list = _per_node(features, "features", n, node_ids, reader("features", not is_int))
    with _naming(path):
        y, extra = _labels_to_codes(label_list)
        if node_ids is not None:
            extra["node_ids"] = node_ids
        x = None if feature_list is None else np.asarray(feature_list, dtype=np.float32)
        x, kind = choose_features(x, feature_kind, str(path))
        return finalize_graph(
            index.reshape(-1, 2).T,
            n,
            name=name or Path(path).stem,
            x=x,
            y=y,
            feature_kind=kind,
            feature_dim=feature_dim,
            report_repairs="edge_list",
            **extra,
        )


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
        graph: a networkx (Di/Multi)Graph with at least one node.
        label_attr: node attribute holding the class (any type).
        feature_attr: node attribute holding a feature vector (or a scalar).
        name: ``data.name``.
        feature_kind, feature_dim: features when none are given (module docstring).

    Raises:
        TypeError: ``graph`` is not a networkx graph.
        ValueError: no nodes, a missing attribute, or feature vectors of unequal length.
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(
            f"graph must be a networkx Graph, DiGraph, MultiGraph or MultiDiGraph, got "
            f"{type(graph).__name__}; for edges in memory use from_arrays(edge_index=...), "
            "for a file from_edge_list/from_gml/from_npz"
        )
    for arg, value in (("label_attr", label_attr), ("feature_attr", feature_attr)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{arg} must be a node attribute name (str), got {value!r}")
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{name}: the graph has no nodes")
    node_ids = list(graph.nodes)
    index = {v: i for i, v in enumerate(node_ids)}
    edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64)
    edges = edges.reshape(-1, 2).T

    def attribute(attr: str) -> list[Any]:
        missing = [v for v in node_ids if attr not in graph.nodes[v]]
        if missing:
            raise ValueError(
                f"{name}: node attribute {attr!r} missing on {len(missing)} nodes, e.g. "
                f"{missing[:5]}"
            )
        return [graph.nodes[v][attr] for v in node_ids]

    y, extra = _labels_to_codes(attribute(label_attr) if label_attr else None)
    x = None
    if feature_attr:
        try:
            x = np.asarray(attribute(feature_attr), dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{name}: node attribute {feature_attr!r} must be a number or a vector of "
                f"numbers of one length on every node ({err})"
            ) from err
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

    Raises:
        ValueError: the file is not valid GML (networkx's reason, with its (line,
            column) where it gives one), or the graph cannot be converted; the message
            names the file.
    """
    if node_key not in ("label", "id"):
        raise ValueError(f"node_key must be 'label' or 'id', got {node_key!r}")
    try:
        graph = nx.read_gml(path, label=node_key)
    except (nx.NetworkXError, ValueError, UnicodeDecodeError) as err:
        hint = " (pass node_key='id')" if "label" in str(err) else ""
        raise ValueError(f"{path}: not a valid GML graph: {err}{hint}") from err
    with _naming(path):
        return from_networkx(
            graph,
            label_attr,
            feature_attr,
            name=name or Path(path).stem,
            feature_kind=feature_kind,
            feature_dim=feature_dim,
        )


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
    with _naming(path):
        return from_arrays(
            adjacency=adj,
            x=x,
            y=labels,
            name=name or Path(path).stem,
            feature_kind=kind,
            feature_dim=feature_dim,
        )
