"""Metrics on drawn labelings and graphs: equal to scikit-learn / networkx / brute force,
invariant under renaming the clusters, and a clear error for every malformed input."""

from __future__ import annotations

import itertools
import warnings

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from graphclust.metrics import (
    ari,
    calinski_harabasz,
    clustering_accuracy,
    conductance,
    coverage,
    evaluate_partition,
    macro_f1,
    modularity,
    nmi,
)
from tests.property.cases import attempt
from tests.property.profiles import examples

SUPERVISED = {"nmi": nmi, "ari": ari, "acc": clustering_accuracy, "macro_f1": macro_f1}


@st.composite
def labelings(draw: st.DrawFn, max_n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Two label vectors of one length with arbitrary (negative, large, sparse) values,
    at most five distinct ones (the brute-force accuracy tries 5! maps)."""
    n = draw(st.integers(1, max_n))
    values = st.sampled_from([-7, 0, 1, 10**9, 2**62])
    a = draw(st.lists(values, min_size=n, max_size=n))
    b = draw(st.lists(values, min_size=n, max_size=n))
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def _best_accuracy(true: np.ndarray, pred: np.ndarray) -> float:
    """Brute force over every one-to-one map of clusters to classes."""
    classes, clusters = np.unique(true), np.unique(pred)
    best = 0
    slots = list(classes) + [None] * max(0, len(clusters) - len(classes))
    for perm in itertools.permutations(slots, len(clusters)):
        mapping = dict(zip(clusters, perm, strict=True))
        best = max(best, sum(mapping[p] == t for t, p in zip(true, pred, strict=True)))
    return best / true.size


@settings(max_examples=examples(60))
@given(labelings())
def test_supervised_scores_equal_their_references(pair) -> None:
    true, pred = pair
    got = {name: attempt(name, fn, true, pred) for name, fn in SUPERVISED.items()}
    assert all(o.ok for o in got.values()), got
    assert got["nmi"].value == pytest.approx(skm.normalized_mutual_info_score(true, pred), abs=1e-9)
    assert got["ari"].value == pytest.approx(skm.adjusted_rand_score(true, pred), abs=1e-9)
    assert got["acc"].value == pytest.approx(_best_accuracy(true, pred))
    assert 0.0 <= got["macro_f1"].value <= 1.0
    identical = np.array_equal(
        np.unique(true, return_inverse=True)[1], np.unique(pred, return_inverse=True)[1]
    )
    if identical:  # the same partition under other names
        assert got["macro_f1"].value == pytest.approx(1.0) and got["acc"].value == 1.0


@settings(max_examples=examples(40))
@given(labelings(), st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_cluster_names(pair, rnd) -> None:
    true, pred = pair
    values = np.unique(pred)
    renamed = dict(zip(values, rnd.sample(range(-50, 50), values.size), strict=True))
    pred2 = np.array([renamed[v] for v in pred])
    for name, fn in SUPERVISED.items():
        assert fn(true, pred2) == pytest.approx(fn(true, pred)), name
    # symmetric scores
    assert nmi(pred, true) == pytest.approx(nmi(true, pred))
    assert ari(pred, true) == pytest.approx(ari(true, pred))
    # torch, numpy and list inputs agree
    assert nmi(torch.from_numpy(true), pred.tolist()) == pytest.approx(nmi(true, pred))


BAD_LABELS = st.sampled_from(
    [
        3, np.int64(3), np.array(3), torch.tensor(3), [], np.array([]), torch.tensor([]),
        [[0, 1], [1, 0]], np.zeros((2, 2), dtype=int), torch.zeros(3, 1, dtype=torch.long),
        [0.5, 1.5], np.array([0.0, 1.0]), torch.tensor([0.0, 1.0]), ["a", "b"], None,
        [[0], [1, 2]], {0: 1}, "01", np.array([1 + 2j, 0j]), object(),
    ]
)  # fmt: skip


@settings(max_examples=examples(60))
@given(BAD_LABELS, st.sampled_from(sorted(SUPERVISED)), st.booleans())
def test_malformed_labelings_are_refused(bad, name, bad_first) -> None:
    good = np.array([0, 1])
    args = (bad, good) if bad_first else (good, bad)
    outcome = attempt(name, SUPERVISED[name], *args)
    assert not outcome.ok, f"{name} scored {bad!r}"


@settings(max_examples=examples(20))
@given(labelings(), st.integers(1, 5))
def test_labelings_of_different_lengths_are_refused(pair, extra) -> None:
    true, pred = pair
    for name, fn in SUPERVISED.items():
        outcome = attempt(name, fn, true, np.concatenate([pred, np.zeros(extra, np.int64)]))
        assert not outcome.ok and "same" in str(outcome.error)


# -- graph scores -----------------------------------------------------------------------
@st.composite
def graphs_with_labels(draw: st.DrawFn, max_n: int = 16):
    """(networkx graph without self-loops, its edge_index [2, 2E], labels [N])."""
    n = draw(st.integers(2, max_n))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=3 * n
        )
    )
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((u, v) for u, v in pairs if u != v)
    assume(graph.number_of_edges() > 0)
    edges = torch.tensor(list(graph.edges), dtype=torch.long).t()
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    labels = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return graph, edge_index, labels


def _communities(labels: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(labels == v).tolist()) for v in np.unique(labels)]


@settings(max_examples=examples(40))
@given(graphs_with_labels(), st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_graph_scores_equal_networkx(case, resolution) -> None:
    graph, edge_index, labels = case
    parts = _communities(labels)
    q = attempt("modularity", modularity, edge_index, labels, resolution=resolution)
    assert q.ok
    assert q.value == pytest.approx(nx.community.modularity(graph, parts, resolution=resolution))
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(labels)).double()
    soft = attempt("modularity (soft)", modularity, edge_index, one_hot, resolution=resolution)
    assert soft.ok and soft.value == pytest.approx(q.value)
    cov = attempt("coverage", coverage, edge_index, labels)
    assert cov.ok and cov.value == pytest.approx(nx.community.partition_quality(graph, parts)[0])
    per = attempt("conductance", conductance, edge_index, labels, reduction="none")
    assert per.ok
    two_m = 2 * graph.number_of_edges()
    for value, part in zip(per.value.tolist(), parts, strict=True):
        volume = sum(d for _, d in graph.degree(part))
        expected = nx.conductance(graph, part) if 0 < volume < two_m else 0.0
        assert value == pytest.approx(expected)


@settings(max_examples=examples(30))
@given(graphs_with_labels(), st.data())
def test_malformed_graph_inputs_are_refused(case, data) -> None:
    _, edge_index, labels = case
    n = labels.size
    defect = data.draw(
        st.sampled_from(
            ["one-directional", "out of range", "float edges", "[E, 2]", "negative soft",
             "nan soft", "nan resolution", "negative resolution", "string resolution",
             "wrong num_nodes", "negative weight", "weight shape"]
        )
    )  # fmt: skip
    args, kwargs = [edge_index, labels], {}
    if defect == "one-directional":
        args[0] = edge_index[:, : edge_index.size(1) // 2]
    elif defect == "out of range":
        args[0] = torch.cat([edge_index, torch.tensor([[0, n], [n, 0]])], dim=1)
    elif defect == "float edges":
        args[0] = edge_index.float()
    elif defect == "[E, 2]":
        args[0] = edge_index.t().contiguous()
        assume(edge_index.size(1) != 2)
    elif defect == "negative soft":
        args[1] = -torch.rand(n, 2) - 0.1
    elif defect == "nan soft":
        args[1] = torch.full((n, 2), float("nan"))
    elif defect == "nan resolution":
        kwargs["resolution"] = float("nan")
    elif defect == "negative resolution":
        kwargs["resolution"] = -1.0
    elif defect == "string resolution":
        kwargs["resolution"] = "1"
    elif defect == "wrong num_nodes":
        kwargs["num_nodes"] = n + 1
    elif defect == "negative weight":
        kwargs["edge_weight"] = -torch.ones(edge_index.size(1))
    elif defect == "weight shape":
        kwargs["edge_weight"] = torch.ones(edge_index.size(1) + 1)
    outcome = attempt("modularity", modularity, *args, **kwargs)
    assert not outcome.ok, f"modularity accepted {defect}"


@settings(max_examples=examples(30))
@given(st.integers(3, 20), st.integers(1, 4), st.integers(0, 2**16), st.integers(2, 4))
def test_calinski_harabasz_equals_scikit_learn(n, d, seed, k) -> None:
    gen = np.random.default_rng(seed)
    x = gen.normal(size=(n, d))
    labels = gen.integers(0, k, size=n)
    outcome = attempt("calinski_harabasz", calinski_harabasz, x, labels)
    assert outcome.ok
    distinct = np.unique(labels).size
    if 1 < distinct < n:
        assert outcome.value == pytest.approx(skm.calinski_harabasz_score(x, labels))
    else:
        assert outcome.value == 0.0


@settings(max_examples=examples(30))
@given(graphs_with_labels(), st.booleans())
def test_evaluate_partition_agrees_with_the_single_scores(case, with_y) -> None:
    from torch_geometric.data import Data

    graph, edge_index, labels = case
    y = torch.from_numpy(labels[::-1].copy())
    data = Data(edge_index=edge_index, num_nodes=labels.size, **({"y": y} if with_y else {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt("evaluate_partition", evaluate_partition, labels, data)
    assert outcome.ok
    scores = outcome.value
    assert scores["modularity"] == pytest.approx(modularity(edge_index, labels))
    assert scores["coverage"] == pytest.approx(coverage(edge_index, labels))
    assert scores["k"] == np.unique(labels).size
    if with_y:
        assert scores["nmi"] == pytest.approx(nmi(y, labels))
        assert scores["acc"] == pytest.approx(clustering_accuracy(y, labels))
    else:
        assert "nmi" not in scores
