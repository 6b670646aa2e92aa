"""Readers on drawn files: edge lists, label files, npz and GML archives, networkx input.

Each file ends in a graph that holds exactly what the file says (one node per distinct
id, the id kept in ``data.node_ids`` when nodes are renumbered, the listed edges and no
others) or in a clear error that names the file.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from graphclust.data.readers import from_edge_list, from_gml, from_networkx, from_npz
from tests.property.cases import attempt
from tests.property.profiles import examples

INT_TOKENS = ["0", "1", "2", "3", "5", "8", "13", "1000000", str(2**63), str(2**70), "-1", "-5"]
TEXT_TOKENS = ["a", "b", "node-x", "01", "+1", "1.0", "1_0", "1e3", "\u00e4", "NaN"]
SEPARATORS = [" ", "\t", ",", " , ", "  "]


def _undirected(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(min(u, v), max(u, v)) for u, v in edge_index.t().tolist()}


def _node_of(data) -> dict[str, int]:
    """Token -> node index, read from data.node_ids (or the identity)."""
    ids = getattr(data, "node_ids", None)
    if ids is None:
        return {str(i): i for i in range(data.num_nodes)}
    return {str(v): i for i, v in enumerate(ids)}


@st.composite
def edge_list_files(draw: st.DrawFn, tmp: Path) -> tuple[Path, list[tuple[str, str]]]:
    """An edge-list file of drawn token pairs, with comments, blanks, weights and odd
    separators; returns its path and the pairs it lists."""
    alphabet = draw(
        st.sampled_from([INT_TOKENS[:7], INT_TOKENS, INT_TOKENS + TEXT_TOKENS, TEXT_TOKENS])
    )
    tokens = st.sampled_from(alphabet)
    pairs = draw(st.lists(st.tuples(tokens, tokens), min_size=1, max_size=12))
    lines = []
    for u, v in pairs:
        sep = draw(st.sampled_from(SEPARATORS))
        weight = draw(st.sampled_from(["", " 1.5", ",2"]))
        lines.append(f"{u}{sep}{v}{weight}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "# a comment", "   ", "#0 1"])))
    path = tmp / f"edges{draw(st.integers(0, 10**9))}.txt"
    path.write_text("\n".join(lines) + draw(st.sampled_from(["", "\n"])), encoding="utf-8")
    return path, pairs


@settings(max_examples=examples(60))
@given(st.data())
def test_an_edge_list_reads_as_exactly_its_ids_and_edges(tmp_path_factory, data) -> None:
    path, pairs = data.draw(edge_list_files(tmp_path_factory.mktemp("edges")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_edge_list", from_edge_list, path)
    assert outcome.ok, outcome.error  # every drawn file is valid
    graph = outcome.value
    tokens = {t for pair in pairs for t in pair}
    assert graph.num_nodes == len(tokens)  # distinct tokens are distinct nodes, no gaps
    node = _node_of(graph)
    assert set(node) == tokens
    expected = {(min(node[u], node[v]), max(node[u], node[v])) for u, v in pairs if u != v}
    assert _undirected(graph.edge_index) == expected
    assert graph.x.shape[0] == graph.num_nodes and bool(torch.isfinite(graph.x).all())


BROKEN_EDGE_FILES = {
    "empty": b"",
    "only comments": b"# nothing\n\n   \n",
    "one token": b"0 1\n2\n",
    "not utf-8": b"0 1\n\xff\xfe 2\n",
    "binary": bytes(range(256)),
}


@settings(max_examples=examples(15))
@given(st.sampled_from(sorted(BROKEN_EDGE_FILES)), st.sampled_from(["", "0 1\n", "a b\n"]))
def test_a_broken_edge_list_is_refused_naming_the_file(tmp_path_factory, kind, prefix) -> None:
    path = tmp_path_factory.mktemp("broken") / f"broken-{kind.replace(' ', '-')}.txt"
    body = BROKEN_EDGE_FILES[kind]
    path.write_bytes((prefix.encode() + body) if kind not in ("empty", "only comments") else body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_edge_list", from_edge_list, path)
    assert not outcome.ok
    assert path.name in str(outcome.error)


@settings(max_examples=examples(30))
@given(st.data())
def test_a_labels_file_gives_one_label_per_node_or_a_clear_error(tmp_path_factory, data) -> None:
    tmp = tmp_path_factory.mktemp("labels")
    edges = tmp / "edges.txt"
    edges.write_text("0 1\n1 2\n2 3\n")
    rows = data.draw(
        st.lists(
            st.lists(
                st.sampled_from(["0", "1", "2", "3", "4", "x", "-1", "1.5"]), min_size=1, max_size=3
            ),
            min_size=0,
            max_size=6,
        )
    )
    labels = tmp / "labels.txt"
    labels.write_text("\n".join(" ".join(r) for r in rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_edge_list(labels=)", from_edge_list, edges, labels=labels)
    if outcome.ok:
        y = outcome.value.y
        assert y.shape == (4,) and int(y.min()) >= -1
        assert int(y.max()) < max(len(getattr(outcome.value, "label_names", [])), 1)
    else:
        assert "labels.txt" in str(outcome.error)


# -- npz --------------------------------------------------------------------------------
def _csr_arrays(adj: sp.csr_matrix, prefix: str = "adj", sep: str = "_") -> dict[str, np.ndarray]:
    return {
        f"{prefix}{sep}data": adj.data,
        f"{prefix}{sep}indices": adj.indices,
        f"{prefix}{sep}indptr": adj.indptr,
        f"{prefix}{sep}shape": np.array(adj.shape),
    }


@st.composite
def adjacency(draw: st.DrawFn) -> sp.csr_matrix:
    n = draw(st.integers(1, 12))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    rows = [u for u, v in pairs] + [v for u, v in pairs]
    cols = [v for u, v in pairs] + [u for u, v in pairs]
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


@settings(max_examples=examples(30))
@given(adjacency(), st.booleans(), st.booleans(), st.data())
def test_an_npz_graph_reads_as_its_matrix(tmp_path_factory, adj, dotted, with_x, data) -> None:
    n = adj.shape[0]
    arrays = _csr_arrays(adj, "adj_matrix", ".") if dotted else _csr_arrays(adj)
    if with_x:
        arrays["attr_matrix"] = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    labels = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)))
    arrays["labels"] = labels
    path = tmp_path_factory.mktemp("npz") / "graph.npz"
    np.savez(path, **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_npz", from_npz, path)
    if adj.nnz == 0 or not adj.diagonal().any() and adj.nnz == 0:
        pass
    assert outcome.ok, outcome.error
    graph = outcome.value
    assert graph.num_nodes == n
    coo = adj.tocoo()
    expected = {(min(u, v), max(u, v)) for u, v in zip(coo.row, coo.col, strict=True) if u != v}
    assert _undirected(graph.edge_index) == expected
    if with_x:
        torch.testing.assert_close(graph.x, torch.from_numpy(arrays["attr_matrix"]))
    # labels keep who is unlabelled (-1) and who shares a class
    y = graph.y.numpy()
    assert np.array_equal(y < 0, labels < 0)
    for i in range(n):
        for j in range(n):
            if labels[i] >= 0 and labels[j] >= 0:
                assert (y[i] == y[j]) == (labels[i] == labels[j])


CORRUPTIONS = (
    "indptr decreasing", "index out of range", "data too short", "shape not square",
    "indptr too short", "missing indptr", "empty file", "not a zip", "truncated zip",
    "features wrong rows", "pickled labels", "float indices", "negative shape",
)  # fmt: skip


def _corrupt(kind: str, adj: sp.csr_matrix, path: Path) -> None:
    arrays = _csr_arrays(adj)
    n = adj.shape[0]
    if kind == "indptr decreasing":
        arrays["adj_indptr"] = arrays["adj_indptr"][::-1].copy()
    elif kind == "index out of range":
        arrays["adj_indices"] = arrays["adj_indices"] + n
    elif kind == "data too short":
        arrays["adj_data"] = arrays["adj_data"][:-1]
    elif kind == "shape not square":
        arrays["adj_shape"] = np.array([n, n + 1])
    elif kind == "indptr too short":
        arrays["adj_indptr"] = arrays["adj_indptr"][:-1]
    elif kind == "missing indptr":
        del arrays["adj_indptr"]
    elif kind == "features wrong rows":
        arrays["attr_matrix"] = np.ones((n + 1, 2), dtype=np.float32)
    elif kind == "pickled labels":
        arrays["labels"] = np.array([object()] * n, dtype=object)
    elif kind == "float indices":
        arrays["adj_indices"] = arrays["adj_indices"].astype(np.float64) + 0.5
    elif kind == "negative shape":
        arrays["adj_shape"] = np.array([-n, -n])
    if kind == "empty file":
        path.write_bytes(b"")
    elif kind == "not a zip":
        path.write_bytes(b"0 1\n1 2\n")
    elif kind == "truncated zip":
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    else:
        np.savez(path, **arrays)


@settings(max_examples=examples(30))
@given(adjacency(), st.sampled_from(CORRUPTIONS))
def test_a_corrupt_npz_is_refused_naming_the_file(tmp_path_factory, adj, kind) -> None:
    assume(adj.nnz > 0)
    path = tmp_path_factory.mktemp("npz") / "corrupt.npz"
    _corrupt(kind, adj, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_npz", from_npz, path)
    assert not outcome.ok, f"from_npz accepted {kind}"
    assert "corrupt.npz" in str(outcome.error)


# -- GML and networkx -------------------------------------------------------------------
@st.composite
def nx_graphs(draw: st.DrawFn) -> nx.Graph:
    n = draw(st.integers(1, 10))
    pool = ["a", "b", "c", "x y", "1", "01", "\u00e9", "n7", "n8", "n9", "z", "q"]
    names = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=True))
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=2 * n)
    )
    graph = nx.Graph()
    for i, name in enumerate(names):
        graph.add_node(name, club=f"c{i % 2}", score=float(i))
    graph.add_edges_from((u, v) for u, v in pairs if u != v)
    return graph


def _edges_by_name(graph) -> set[tuple[str, str]]:
    return {tuple(sorted((str(u), str(v)))) for u, v in graph.edges() if u != v}


@settings(max_examples=examples(25))
@given(nx_graphs())
def test_gml_round_trip_keeps_nodes_edges_and_labels(tmp_path_factory, graph) -> None:
    path = tmp_path_factory.mktemp("gml") / "graph.gml"
    nx.write_gml(graph, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_gml", from_gml, path, label_attr="club", feature_attr="score")
    assert outcome.ok, outcome.error
    data = outcome.value
    ids = [str(v) for v in data.node_ids]
    assert sorted(ids) == sorted(str(v) for v in graph.nodes)
    got = {tuple(sorted((ids[u], ids[v]))) for u, v in data.edge_index.t().tolist()}
    assert got == _edges_by_name(graph)
    clubs = [graph.nodes[v]["club"] for v in data.node_ids]
    y = data.y.tolist()
    assert all(
        (y[i] == y[j]) == (clubs[i] == clubs[j]) for i in range(len(y)) for j in range(len(y))
    )
    torch.testing.assert_close(
        data.x.flatten(), torch.tensor([graph.nodes[v]["score"] for v in data.node_ids])
    )


@settings(max_examples=examples(25))
@given(nx_graphs(), st.floats(0.05, 0.95))
def test_a_truncated_gml_is_refused_naming_the_file(tmp_path_factory, graph, share) -> None:
    text = "".join(nx.generate_gml(graph))
    path = tmp_path_factory.mktemp("gml") / "cut.gml"
    path.write_text(text[: int(len(text) * share)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_gml", from_gml, path)
    if not outcome.ok:
        assert "cut.gml" in str(outcome.error)
    else:  # a cut that still parses can only lose nodes and edges
        assert outcome.value.num_nodes <= graph.number_of_nodes()


@settings(max_examples=examples(15))
@given(
    st.sampled_from(
        [[1, 2], [(0, 1)], {0: [1]}, None, "0 1", np.eye(3), torch.eye(3), nx.Graph, 3.0]
    )
)
def test_from_networkx_refuses_what_is_not_a_graph(thing) -> None:
    outcome = attempt("from_networkx", from_networkx, thing)
    assert not outcome.ok


@settings(max_examples=examples(20))
@given(nx_graphs(), st.booleans())
def test_from_networkx_keeps_the_graph(graph, directed) -> None:
    source = graph.to_directed() if directed else graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("from_networkx", from_networkx, source, label_attr="club")
    assert outcome.ok, outcome.error
    data = outcome.value
    ids = [str(v) for v in data.node_ids]
    assert ids == [str(v) for v in source.nodes]
    got = {tuple(sorted((ids[u], ids[v]))) for u, v in data.edge_index.t().tolist()}
    assert got == _edges_by_name(graph)
