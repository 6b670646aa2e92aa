"""Readers for users' own graphs round-trip edges, labels, features and node ids."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust.data import from_edge_list, from_gml, from_networkx, from_npz
from graphclust.data.finalize import IDENTITY_MAX_NODES, MAX_DEGREE_FEATURE
from tests.data.invariants import assert_graph_invariants


def _edge_set(data) -> set[tuple[int, int]]:
    return set(map(tuple, data.edge_index.t().tolist()))


def _undirected(pairs) -> set[tuple[int, int]]:
    pairs = {(a, b) for a, b in pairs if a != b}
    return pairs | {(b, a) for a, b in pairs}


def test_networkx_with_string_ids_keeps_the_mapping() -> None:
    graph = nx.Graph()
    graph.add_node("zed", club="b", vec=[0.0, 1.0])
    graph.add_node("amy", club="a", vec=[1.0, 0.0])
    graph.add_node("bob", club="b", vec=[0.5, 0.5])
    graph.add_node("lonely", club="a", vec=[0.0, 0.0])
    graph.add_edges_from([("zed", "amy"), ("amy", "bob"), ("bob", "bob")])
    data = from_networkx(graph, label_attr="club", feature_attr="vec", name="toy")
    assert_graph_invariants(data, 4, 2, 2)
    assert data.node_ids == ["zed", "amy", "bob", "lonely"]
    ids = {v: i for i, v in enumerate(data.node_ids)}
    assert _edge_set(data) == _undirected(
        {(ids[u], ids[v]) for u, v in graph.edges()}
    )  # self-loop dropped, isolated node kept
    assert data.label_names == ["a", "b"] and data.y.tolist() == [1, 0, 1, 0]
    assert data.x[ids["bob"]].tolist() == [0.5, 0.5]


def test_networkx_directed_and_missing_attribute() -> None:
    data = from_networkx(nx.DiGraph([(0, 1), (1, 2)]))
    assert _edge_set(data) == _undirected({(0, 1), (1, 2)})
    assert torch.equal(data.x, torch.eye(3))  # identity when no features
    with pytest.raises(ValueError, match="attribute 'club' missing"):
        from_networkx(nx.path_graph(3), label_attr="club")


def test_edge_list_with_integer_ids_and_files(tmp_path: Path) -> None:
    edges = tmp_path / "g.txt"
    edges.write_text("# toy graph\n0 1\n1,2\n2 0 0.5\n0 1\n\n3 3\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("1\n1\n2\n2\n5\n")
    feats = tmp_path / "feats.csv"
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    feats.write_text("\n".join(",".join(str(v) for v in row) for row in x))
    data = from_edge_list(edges, labels=labels, features=feats, num_nodes=5)
    assert_graph_invariants(data, 5, 2, 3)
    assert data.name == "g"
    assert _edge_set(data) == _undirected({(0, 1), (1, 2), (2, 0)})
    assert data.y.tolist() == [0, 0, 1, 1, 2] and data.label_names == [1, 2, 5]
    assert torch.equal(data.x, torch.from_numpy(x))
    assert not hasattr(data, "node_ids") or data.node_ids is None


def test_edge_list_with_string_ids_and_id_keyed_files(tmp_path: Path) -> None:
    edges = tmp_path / "g.tsv"
    edges.write_text("alice\tbob\nbob\tcarol\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("carol x\nalice y\nbob x\n")
    feats = tmp_path / "feats.txt"
    feats.write_text("bob 2 2\ncarol 3 3\nalice 1 1\n")
    data = from_edge_list(edges, labels=labels, features=feats)
    assert data.node_ids == ["alice", "bob", "carol"]
    assert _edge_set(data) == _undirected({(0, 1), (1, 2)})
    assert data.y.tolist() == [1, 0, 0]
    assert data.x.tolist() == [[1, 1], [2, 2], [3, 3]]
    by_mapping = from_edge_list(edges, labels={"alice": 0, "bob": 1, "carol": 1})
    assert by_mapping.y.tolist() == [0, 1, 1]


def test_edge_list_errors(tmp_path: Path) -> None:
    path = tmp_path / "g.txt"
    path.write_text("0 1\n1 2\n")
    with pytest.raises(ValueError, match="3 labels for 3 nodes|got 2 rows for 3 nodes"):
        from_edge_list(path, labels=[0, 1])
    with pytest.raises(ValueError, match="num_nodes=2"):
        from_edge_list(path, num_nodes=2)
    path.write_text("0\n")
    with pytest.raises(ValueError, match="two node ids"):
        from_edge_list(path)


def test_gml_round_trip(tmp_path: Path) -> None:
    graph = nx.karate_club_graph()
    nx.relabel_nodes(graph, {v: f"m{v}" for v in graph}, copy=False)
    for v in graph:
        graph.nodes[v]["faction"] = graph.nodes[v].pop("club")
    path = tmp_path / "karate.gml"
    nx.write_gml(graph, path)
    data = from_gml(path, label_attr="faction")
    assert_graph_invariants(data, 34, 34, 2)
    assert data.node_ids == [f"m{v}" for v in range(34)]
    assert data.edge_index.size(1) == 2 * graph.number_of_edges()


def test_npz_round_trip_sparse_and_dense_features(tmp_path: Path) -> None:
    adj = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 1]], dtype=np.float32))
    attr = sp.csr_matrix(np.array([[1, 0], [0, 2], [3, 0]], dtype=np.float32))
    arrays = {
        "adj_data": adj.data,
        "adj_indices": adj.indices,
        "adj_indptr": adj.indptr,
        "adj_shape": np.array(adj.shape),
        "labels": np.array([2, 0, 2]),
    }
    sparse_path = tmp_path / "sparse.npz"
    np.savez(
        sparse_path,
        attr_data=attr.data,
        attr_indices=attr.indices,
        attr_indptr=attr.indptr,
        attr_shape=np.array(attr.shape),
        **arrays,
    )
    data = from_npz(sparse_path)
    assert_graph_invariants(data, 3, 2, 2)
    assert _edge_set(data) == _undirected({(0, 1), (1, 2), (2, 0)})
    assert data.x.tolist() == attr.toarray().tolist()
    assert data.y.tolist() == [1, 0, 1] and data.name == "sparse"
    dense_path = tmp_path / "dense.npz"
    np.savez(dense_path, attr_matrix=attr.toarray(), **arrays)
    assert torch.equal(from_npz(dense_path).x, data.x)
    with pytest.raises(ValueError, match="gnn-benchmark layout"):
        np.savez(tmp_path / "bad.npz", x=np.zeros(3))
        from_npz(tmp_path / "bad.npz")


def test_large_featureless_graph_gets_degree_features() -> None:
    n = IDENTITY_MAX_NODES + 1
    graph = nx.star_graph(n - 1)  # hub of degree n-1, leaves of degree 1
    data = from_networkx(graph)
    assert data.x.shape == (n, MAX_DEGREE_FEATURE + 1)
    assert data.x.sum(1).eq(1).all()
    assert data.x[0, MAX_DEGREE_FEATURE] == 1 and data.x[1, 1] == 1
