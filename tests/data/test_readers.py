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


# -- issue 20: unlabelled nodes, NOCD npz, in-memory arrays, repairs, placeholder features
def _no_warning_matching(record, text: str) -> bool:
    return not any(text in str(w.message) for w in record)


def test_unlabelled_minus_one_stays_minus_one(tmp_path: Path) -> None:
    edges = tmp_path / "g.txt"
    edges.write_text("0 1\n1 2\n2 3\n")
    labels = tmp_path / "y.txt"
    labels.write_text("0 -1\n1 4\n2 7\n3 -1\n")
    data = from_edge_list(edges, labels=labels, feature_kind="identity")
    # -1 is "no label", not a class: the other classes keep their order, unshifted.
    assert data.y.tolist() == [-1, 0, 1, -1]
    assert data.num_classes == 2 and data.label_names == [4, 7]
    graph = nx.path_graph(3)
    nx.set_node_attributes(graph, {0: -1, 1: 0, 2: 1}, "c")
    assert from_networkx(graph, "c", feature_kind="degree").y.tolist() == [-1, 0, 1]
    from graphclust.data.arrays import from_arrays

    arrays = from_arrays(
        edge_index=torch.tensor([[0, 1], [1, 0]]), x=torch.ones(3, 1), y=[2, -1, 5]
    )
    assert arrays.y.tolist() == [0, -1, 1]
    path = tmp_path / "m.npz"
    adj = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
    np.savez(
        path,
        adj_data=adj.data,
        adj_indices=adj.indices,
        adj_indptr=adj.indptr,
        adj_shape=adj.shape,
        labels=np.array([-1, 3, 3]),
    )
    assert from_npz(path, feature_kind="identity").y.tolist() == [-1, 0, 0]


def _save_dotted(path: Path, adj: sp.csr_matrix, labels: sp.csr_matrix, attr=None) -> None:
    arrays = {
        "adj_matrix.data": adj.data,
        "adj_matrix.indices": adj.indices,
        "adj_matrix.indptr": adj.indptr,
        "adj_matrix.shape": np.array(adj.shape),
        "labels.data": labels.data,
        "labels.indices": labels.indices,
        "labels.indptr": labels.indptr,
        "labels.shape": np.array(labels.shape),
        # NOCD stores names as pickled object arrays: they must be skipped, not unpickled
        "node_names": np.array([object()] * adj.shape[0], dtype=object),
    }
    if attr is not None:
        for key in ("data", "indices", "indptr"):
            arrays[f"attr_matrix.{key}"] = getattr(attr, key)
        arrays["attr_matrix.shape"] = np.array(attr.shape)
    np.savez(path, **arrays)


def test_dotted_npz_with_overlapping_labels(tmp_path: Path) -> None:
    ring = nx.to_scipy_sparse_array(nx.cycle_graph(5), format="csr").astype(np.float32)
    # communities: c0 = {0, 1}, c1 = {1, 2, 3} (largest), c2 = {3}; node 4 in none
    member = np.zeros((5, 3), dtype=np.float32)
    member[[0, 1], 0] = 1
    member[[1, 2, 3], 1] = 1
    member[3, 2] = 1
    attr = sp.csr_matrix(np.eye(5, 2, dtype=np.float32))
    path = tmp_path / "fb.npz"
    _save_dotted(path, sp.csr_matrix(ring), sp.csr_matrix(member), attr)
    data = from_npz(path)
    assert data.y_overlap.dtype == torch.bool
    assert data.y_overlap.numpy().tolist() == (member == 1).tolist()
    # hard label: the largest community a node is in; -1 for none
    assert data.y.tolist() == [0, 1, 1, 1, -1]
    assert data.num_classes == 3
    assert data.x.tolist() == attr.toarray().tolist() and not hasattr(data, "feature_kind")
    lap = from_npz(path, feature_kind="laplacian", feature_dim=3)
    assert lap.x.shape == (5, 3) and lap.feature_kind == "laplacian"
    plain = tmp_path / "plain.npz"
    _save_dotted(plain, sp.csr_matrix(ring), sp.csr_matrix(member))
    with pytest.warns(UserWarning, match="no node features; using identity"):
        assert from_npz(plain).feature_kind == "identity"
    with pytest.raises(ValueError, match="no node features"):
        from_npz(plain, feature_kind="attributes")


def test_membership_to_labels_rule() -> None:
    from graphclust.data.arrays import membership_to_labels

    member = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 1]])
    # column sizes 2, 2, 3: column 2 ranks first, then 0 before 1 (tie: lower index)
    assert membership_to_labels(member).tolist() == [0, 2, -1, 2, 2]
    assert membership_to_labels(torch.from_numpy(member)).tolist() == [0, 2, -1, 2, 2]


def test_from_arrays_edge_index_and_adjacency_agree() -> None:
    from graphclust.data.arrays import from_arrays

    graph = nx.karate_club_graph()
    adj = nx.to_scipy_sparse_array(graph, format="csr")
    x = torch.randn(34, 3)
    by_adj = from_arrays(adjacency=adj, x=x)
    ei = torch.from_numpy(np.stack(adj.nonzero()).astype(np.int64))
    by_ei = from_arrays(edge_index=ei, x=x)
    dense = from_arrays(adjacency=torch.from_numpy(adj.toarray()), x=x)
    assert torch.equal(by_adj.edge_index, by_ei.edge_index)
    assert torch.equal(by_adj.edge_index, dense.edge_index)
    torch_sparse = from_arrays(adjacency=torch.from_numpy(adj.toarray()).to_sparse(), x=x)
    assert torch.equal(by_adj.edge_index, torch_sparse.edge_index)
    assert_graph_invariants(by_adj, 34, 3, labelled=False)
    with pytest.raises(ValueError, match="exactly one of"):
        from_arrays(x=x)
    with pytest.raises(ValueError, match="square"):
        from_arrays(adjacency=sp.csr_matrix((3, 4)))
    with pytest.raises(ValueError, match="pass one or the other"):
        from_arrays(adjacency=adj, x=x, feature_kind="laplacian")


def test_repairs_are_reported_with_counts(tmp_path: Path) -> None:
    # (0,1) both ways, (1,2) and (2,3) one way, a self-loop on 3, (2,3) twice
    path = tmp_path / "d.txt"
    path.write_text("0 1\n1 0\n1 2\n2 3\n2 3\n3 3\n")
    with pytest.warns(UserWarning) as record:
        data = from_edge_list(path, feature_kind="identity")
    message = " ".join(str(w.message) for w in record)
    assert "read 6 edge entries: dropped 1 self-loops; merged 1 repeated entries" in message
    assert "(1 pairs listed in both directions, 2 in one only)" in message
    assert "kept 3 undirected edges" in message and data.edge_index.size(1) == 6
    # A plain undirected list (each edge once) is not a repair.
    clean = tmp_path / "u.txt"
    clean.write_text("0 1\n1 2\n")
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        from_edge_list(clean, feature_kind="identity")
    assert _no_warning_matching(record, "edge entries")
    # A DiGraph with a one-way edge is directed.
    with pytest.warns(UserWarning, match="1 in one only"):
        from_networkx(nx.DiGraph([(0, 1), (1, 2), (2, 1)]), feature_kind="identity")


def test_featureless_graphs_warn_and_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "g.txt"
    path.write_text("0 1\n1 2\n2 0\n2 3\n")
    with pytest.warns(UserWarning, match=r"no node features; using identity features \[4, 4\]"):
        data = from_edge_list(path)
    assert data.feature_kind == "identity" and torch.equal(data.x, torch.eye(4))
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        lap = from_edge_list(path, feature_kind="laplacian", feature_dim=2)
    assert _no_warning_matching(record, "no node features")
    assert lap.feature_kind == "laplacian" and lap.x.shape == (4, 2)
    given = from_edge_list(path, features=np.ones((4, 2)))
    assert not hasattr(given, "feature_kind")
    with pytest.raises(ValueError, match="pass one or the other"):
        from_edge_list(path, features=np.ones((4, 2)), feature_kind="degree")
    with pytest.raises(ValueError, match="unknown"):
        from_edge_list(path, feature_kind="spectral")


def test_check_graph_warns_on_placeholder_features() -> None:
    import warnings

    from graphclust.data import load_dataset
    from graphclust.data.validation import check_graph
    from graphclust.methods.baselines import KMeans

    karate = load_dataset("karate")
    assert karate.feature_kind == "identity"
    with pytest.warns(UserWarning, match="placeholder identity features"):
        clean = check_graph(karate)
    assert clean.feature_kind == "identity"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_graph(karate, require_features=False)
        karate_real = karate.clone()
        del karate_real.feature_kind
        check_graph(karate_real)
    assert _no_warning_matching(record, "placeholder")
    with pytest.warns(UserWarning, match="placeholder identity features"):
        KMeans(n_clusters=2, seed=0).fit(karate)


# -- issue 24: readers name the file and line, treat ids exactly, cap memory by the
# number of distinct ids, and refuse malformed files with a clear ValueError/TypeError.
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _csr_npz(path: Path, **overrides) -> Path:
    adj = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
    arrays = {
        "adj_data": adj.data,
        "adj_indices": adj.indices,
        "adj_indptr": adj.indptr,
        "adj_shape": np.array(adj.shape),
        "labels": np.array([0, 1, 0]),
    }
    np.savez(path, **{**arrays, **overrides})
    return path


def test_empty_files_say_the_file_is_empty(tmp_path: Path) -> None:
    for text in ("", "# only a comment\n\n   \n"):
        path = _write(tmp_path / "g.txt", text)
        with pytest.raises(ValueError, match=rf"{path}: the edge file is empty"):
            from_edge_list(path)
    edges = _write(tmp_path / "e.txt", "0 1\n1 2\n")
    labels = _write(tmp_path / "y.txt", "")
    with pytest.raises(ValueError, match=rf"{labels}: the labels file is empty"):
        from_edge_list(edges, labels=labels)
    empty = _write(tmp_path / "g.npz", "")
    with pytest.raises(ValueError, match=rf"{empty}: the file is empty"):
        from_npz(empty)
    from graphclust.data.arrays import from_arrays

    with pytest.raises(ValueError, match="has no nodes"):
        from_arrays(edge_index=np.zeros((2, 0), dtype=np.int64))


def test_integer_ids_are_exact_at_any_size(tmp_path: Path) -> None:
    big = 2**64 + 1  # beyond int64 and uint64; 2**64 + 1 and 2**64 must stay two nodes
    path = _write(tmp_path / "g.txt", f"{big} {2**64}\n{2**63} -7\n-7 {big}\n")
    labels = _write(tmp_path / "y.txt", f"{2**63} a\n-7 b\n{2**64} a\n{big} b\n")
    data = from_edge_list(path, labels=labels, feature_kind="identity")
    assert data.node_ids == [-7, 2**63, 2**64, big]  # increasing order, Python ints
    assert _edge_set(data) == _undirected({(3, 2), (1, 0), (0, 3)})
    assert data.y.tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match=rf"{path}:1: node id {big} is outside 0..9"):
        from_edge_list(path, num_nodes=10)
    from graphclust.data.arrays import from_arrays

    with pytest.raises(TypeError, match="below 2\\*\\*63"):
        from_arrays(edge_index=[[0, 1], [1, 2**64]])


def test_sparse_ids_cost_memory_by_distinct_count(tmp_path: Path) -> None:
    # one id of 5e7 used to mean N = 5e7 + 1 nodes with [N, 64] degree features (12.8 GB)
    path = _write(tmp_path / "g.txt", "0 50000000\n50000000 7\n")
    feats = _write(tmp_path / "x.txt", "1 0\n0 1\n1 1\n")  # node order = increasing id
    data = from_edge_list(path, features=feats)
    assert data.num_nodes == 3 and data.node_ids == [0, 7, 50_000_000]
    assert _edge_set(data) == _undirected({(0, 2), (2, 1)})
    assert data.x.tolist() == [[1, 0], [0, 1], [1, 1]]
    by_id = from_edge_list(path, labels={0: "a", 7: "b", 50_000_000: "a"}, feature_kind="degree")
    assert by_id.y.tolist() == [0, 1, 0]
    # dense ids 0..N-1 keep node i = id i, without node_ids
    dense = from_edge_list(_write(tmp_path / "d.txt", "2 0\n1 2\n"), feature_kind="degree")
    assert not hasattr(dense, "node_ids") and _edge_set(dense) == _undirected({(2, 0), (1, 2)})


def test_distinct_tokens_never_merge_and_the_id_type_never_switches_silently(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "g.txt", "1 01\n01 +1\n1.0 1\n")
    # int("01") == int("+1") == 1 merged three tokens into one node before
    with pytest.warns(UserWarning, match=r"read as strings because line 1 has '01'"):
        data = from_edge_list(path, feature_kind="identity")
    assert data.node_ids == ["1", "01", "+1", "1.0"]
    assert _edge_set(data) == _undirected({(0, 1), (1, 2), (3, 0)})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for text: no warning
        assert from_edge_list(path, id_type="str", feature_kind="identity").num_nodes == 4
    with pytest.raises(ValueError, match=rf"{path}:1: node id '01' is not a canonical"):
        from_edge_list(path, id_type="int")
    # a mixed file is strings throughout (before: ints and strings side by side)
    mixed = from_edge_list(_write(tmp_path / "m.txt", "a 2\n2 3\n"), id_type="str")
    assert mixed.node_ids == ["a", "2", "3"]


def test_label_and_feature_rows_of_mixed_width_name_file_and_line(tmp_path: Path) -> None:
    edges = _write(tmp_path / "e.txt", "0 1\n1 2\n")
    labels = _write(tmp_path / "y.txt", "0 a\n1\n2 b\n")
    with pytest.raises(ValueError, match=rf"{labels}:2: 1 columns, but line 1 has 2"):
        from_edge_list(edges, labels=labels)
    feats = _write(tmp_path / "x.txt", "1 2\n3 4 5\n6 7\n")
    with pytest.raises(ValueError, match=rf"{feats}:2: 3 columns"):
        from_edge_list(edges, features=feats)
    feats = _write(tmp_path / "x.txt", "1 2\n3 oops\n6 7\n")
    with pytest.raises(ValueError, match=rf"{feats}:2: features must be numbers"):
        from_edge_list(edges, features=feats)


def test_id_keyed_files_name_unknown_and_repeated_ids(tmp_path: Path) -> None:
    edges = _write(tmp_path / "e.txt", "a b\nb c\n")
    labels = _write(tmp_path / "y.txt", "a 1\nb 2\nzed 1\nc 2\n")
    with pytest.raises(ValueError, match=rf"{labels}:3: node 'zed' is not a node of"):
        from_edge_list(edges, labels=labels)
    labels = _write(tmp_path / "y.txt", "a 1\nb 2\na 1\n")
    with pytest.raises(ValueError, match=rf"{labels}:3: a second labels row .* line 1"):
        from_edge_list(edges, labels=labels)
    labels = _write(tmp_path / "y.txt", "a 1\nb 2\n")
    with pytest.raises(ValueError, match=rf"{labels}: labels missing for 1 of 3 nodes"):
        from_edge_list(edges, labels=labels)
    short = _write(tmp_path / "s.txt", "0 1\n2\n")
    with pytest.raises(ValueError, match=rf"{short}:2: an edge line needs two node ids"):
        from_edge_list(short)
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"0 1\n1 2\n\xff\xfe 3\n")
    with pytest.raises(ValueError, match=rf"{binary}:3: not UTF-8 text"):
        from_edge_list(binary)


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"adj_indptr": np.array([0, 1, 3])}, "indptr has 3 entries for 3 rows"),
        ({"adj_indices": np.array([1, 0, 5, 1])}, "column index lies outside 0..2"),
        ({"adj_indptr": np.array([0, 1, 3, 3])}, "indptr ends at 3 but there are 4"),
        ({"adj_indptr": np.array([0, 3, 1, 4])}, "never decrease"),
        ({"adj_shape": np.array([3, 3, 1])}, "shape must be two non-negative"),
        ({"adj_indices": np.array([1.0, 0.0, 2.0, 1.0])}, "must be integers"),
    ],
)
def test_npz_with_an_inconsistent_csr_is_refused(tmp_path: Path, override, why) -> None:
    path = _csr_npz(tmp_path / "g.npz", **override)
    with pytest.raises(ValueError, match=rf"{path}: adj is not a valid CSR matrix: .*{why}"):
        from_npz(path)


def test_npz_labels_must_match_the_nodes(tmp_path: Path) -> None:
    path = _csr_npz(tmp_path / "g.npz", labels=np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"{path}: labels of shape \[2\] for 3 nodes"):
        from_npz(path, feature_kind="identity")


def test_files_that_are_not_npz_are_refused_without_unpickling(tmp_path: Path) -> None:
    text = _write(tmp_path / "text.npz", "0 1\n1 2\n")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    pickled = tmp_path / "obj.npz"
    import pickle

    pickled.write_bytes(pickle.dumps({"adj_data": [1]}))
    for path in (text, npy, pickled):
        with pytest.raises(ValueError, match=rf"{path}: not an npz archive"):
            from_npz(path)


def test_from_networkx_refuses_what_is_not_a_graph() -> None:
    for value in ([(0, 1), (1, 2)], {0: [1]}, None):
        with pytest.raises(TypeError, match="graph must be a networkx Graph"):
            from_networkx(value)
    with pytest.raises(ValueError, match="has no nodes"):
        from_networkx(nx.Graph())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "input contains no graph"),
        ('graph [ node [ id 0 label "a" ] node [ id 1 label "a" ] ]', "duplicated"),
        ('graph [ node [ id 0 label "a" ] edge [ source 0 target 5 ] ]', "undefined target"),
        ("graph [ node [ id 0 ", "expected"),
    ],
)
def test_gml_errors_are_value_errors_naming_the_file(tmp_path: Path, text, why) -> None:
    path = _write(tmp_path / "g.gml", text)
    with pytest.raises(ValueError, match=rf"{path}: not a valid GML graph: .*{why}"):
        from_gml(path)


def test_gml_attribute_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "g.gml"
    nx.write_gml(nx.path_graph(3), path)
    with pytest.raises(ValueError, match=rf"{path}: .*attribute 'club' missing"):
        from_gml(path, label_attr="club")
