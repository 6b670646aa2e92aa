"""EDGE against a hand-worked example and a per-pair brute-force reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Data
from torch_geometric.utils import homophily

from graphclust.metrics import EdgeReport, edge_score


def _both_directions(pairs: list[tuple[int, int]]) -> torch.Tensor:
    src = [i for i, j in pairs] + [j for i, j in pairs]
    dst = [j for i, j in pairs] + [i for i, j in pairs]
    return torch.tensor([src, dst])


def _f1(hits: int, predicted: int, actual: int) -> float:
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _brute_force(pred, truth_of_pair, pairs) -> dict[str, float]:
    """Per-pair Python loop over unordered pairs; truth_of_pair(i, j) -> True if intra."""
    tp = fp = fn = tn = 0
    for i, j in pairs:
        same_pred = pred[i] == pred[j]
        same_true = truth_of_pair(i, j)
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += not same_pred and same_true
        tn += not same_pred and not same_true
    p = (tp + fn) / (tp + fp + fn + tn)
    return {
        "edge": _f1(tp, tp + fp, tp + fn),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "inter_f1": _f1(tn, tn + fn, tn + fp),
        "trivial_edge": 2 * p / (1 + p),
        "n_intra": tp + fn,
        "n_inter": tn + fp,
    }


def _assert_matches(report: EdgeReport, expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert getattr(report, name) == pytest.approx(value, abs=1e-12), name
    assert report.balanced_f1 == pytest.approx((report.edge + report.inter_f1) / 2)


def test_hand_worked_six_nodes() -> None:
    # Ground truth y = [0, 0, 0, 1, 1, 1]; edges 0-1, 0-2, 1-2, 2-3, 3-4, 3-5, 4-5, 1-4.
    #   true intra: 0-1 0-2 1-2 3-4 3-5 4-5 (6); true inter: 2-3 1-4 (2); p = 6/8.
    # Prediction [0, 0, 1, 1, 1, 2] puts together 0-1, 2-3, 3-4 (3 pairs), of which
    # 0-1 and 3-4 are truly intra: P = 2/3, R = 2/6, EDGE = 2 (2/9) / 1 = 4/9.
    # Predicted apart: 0-2 1-2 3-5 4-5 1-4 (5), truly inter among them: 1-4 only:
    #   P = 1/5, R = 1/2, inter F1 = 2 (1/10) / (7/10) = 2/7.
    # Trivial (one cluster): 2 (3/4) / (7/4) = 6/7. Balanced: (4/9 + 2/7) / 2 = 23/63.
    edges = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (4, 5), (1, 4)]
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    pred = torch.tensor([0, 0, 1, 1, 1, 2])
    report = edge_score(pred, edge_index=_both_directions(edges), y=y)
    assert report.edge == pytest.approx(4 / 9)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(1 / 3)
    assert report.inter_f1 == pytest.approx(2 / 7)
    assert report.balanced_f1 == pytest.approx(23 / 63)
    assert report.trivial_edge == pytest.approx(6 / 7)
    assert (report.n_clusters, report.n_intra, report.n_inter) == (3, 6, 2)
    assert report.as_dict()["edge"] == report.edge
    assert set(report.as_dict()) == {
        "edge",
        "precision",
        "recall",
        "inter_f1",
        "balanced_f1",
        "n_clusters",
        "trivial_edge",
        "n_intra",
        "n_inter",
    }
    # The same relations given as explicit pairs (in either order) give the same report.
    intra = torch.tensor([[1, 2, 2, 4, 5, 5], [0, 0, 1, 3, 3, 4]])
    inter = torch.tensor([[2, 4], [3, 1]])
    assert edge_score(pred, intra_pairs=intra, inter_pairs=inter) == report


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_random_graphs(seed: int) -> None:
    graph = nx.gnp_random_graph(25, 0.2, seed=seed)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=25)
    pred = rng.integers(0, 4, size=25)
    expected = _brute_force(
        pred,
        lambda i, j: y[i] == y[j],
        [(i, j) for i in range(25) for j in range(i + 1, 25) if graph.has_edge(i, j)],
    )
    undirected = _both_directions(list(graph.edges))
    report = edge_score(torch.from_numpy(pred), edge_index=undirected, y=torch.from_numpy(y))
    _assert_matches(report, expected)
    # One direction only, or with self-loops and repeats: each pair still counts once.
    one_way = torch.tensor(list(graph.edges)).t()
    noisy = torch.cat([undirected, one_way, torch.tensor([[0, 3], [0, 3]])], dim=1)
    assert edge_score(pred, edge_index=one_way, y=y) == report
    assert edge_score(pred, edge_index=noisy, y=y) == report


@pytest.mark.parametrize("seed", range(3))
def test_explicit_pairs_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20
    all_pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = rng.permutation(len(all_pairs))[:60]
    intra = [all_pairs[c] for c in chosen[:35]]
    inter = [all_pairs[c] for c in chosen[35:]]
    pred = rng.integers(0, 3, size=n)
    known = dict.fromkeys(intra, True) | dict.fromkeys(inter, False)
    expected = _brute_force(pred, lambda i, j: known[(i, j)], intra + inter)
    # Listed in mixed orientation and with one repeat, which must count once.
    intra_t = torch.tensor([(j, i) if k % 2 else (i, j) for k, (i, j) in enumerate(intra)]).t()
    intra_t = torch.cat([intra_t, intra_t[:, :1]], dim=1)
    report = edge_score(pred, intra_pairs=intra_t, inter_pairs=torch.tensor(inter).t())
    _assert_matches(report, expected)


def test_one_cluster_and_all_singletons() -> None:
    graph = nx.gnp_random_graph(30, 0.15, seed=7)
    edge_index = _both_directions(list(graph.edges))
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(7))
    one = edge_score(torch.zeros(30, dtype=torch.long), edge_index=edge_index, y=y)
    assert one.edge == pytest.approx(one.trivial_edge)
    assert (one.recall, one.inter_f1, one.n_clusters) == (1.0, 0.0, 1)
    alone = edge_score(torch.arange(30), edge_index=edge_index, y=y)
    assert (alone.edge, alone.precision, alone.recall) == (0.0, 0.0, 0.0)
    p = alone.n_intra / (alone.n_intra + alone.n_inter)
    assert alone.inter_f1 == pytest.approx(2 * (1 - p) / (2 - p))  # all called apart
    assert alone.n_clusters == 30


def test_no_true_intra_pairs_scores_zero() -> None:
    report = edge_score(
        torch.tensor([0, 0, 1]),
        intra_pairs=torch.empty(2, 0, dtype=torch.long),
        inter_pairs=torch.tensor([[0, 1], [1, 2]]),
    )
    assert (report.edge, report.trivial_edge, report.n_intra, report.n_inter) == (0, 0, 0, 2)
    assert report.inter_f1 == pytest.approx(_f1(1, 1, 2))


def test_cora_trivial_score_is_the_edge_homophily_bound(cora: Data) -> None:
    # The one-cluster EDGE is 2p / (1 + p) with p PyG's edge homophily (each direction
    # counted, which gives the same share): 4,275 of 5,278 edges are intra, EDGE 0.8950.
    # docs/METHODS.md rounds this to 0.894.
    p = homophily(cora.edge_index, cora.y, method="edge")
    one = torch.zeros(cora.num_nodes, dtype=torch.long)
    report = edge_score(one, edge_index=cora.edge_index, y=cora.y)
    assert (report.n_intra, report.n_inter) == (4275, 1003)
    assert report.trivial_edge == pytest.approx(2 * p / (1 + p), abs=1e-6)
    assert report.trivial_edge == pytest.approx(0.8950, abs=5e-5)
    perfect = edge_score(cora.y, edge_index=cora.edge_index, y=cora.y)
    assert (perfect.edge, perfect.inter_f1, perfect.n_clusters) == (1.0, 1.0, 7)


_SMALL_GRAPH = _both_directions(list(nx.gnp_random_graph(15, 0.3, seed=2).edges))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=15, max_size=15),
    st.permutations(list(range(5))),
)
def test_invariant_to_renaming_labels(labels, permutation) -> None:
    edge_index = _SMALL_GRAPH
    y = torch.tensor([0, 1, 2] * 5)
    labels = torch.tensor(labels)
    renamed = torch.tensor(permutation)[labels]
    assert edge_score(renamed, edge_index=edge_index, y=y) == edge_score(
        labels, edge_index=edge_index, y=y
    )
    assert edge_score(labels, edge_index=edge_index, y=y + 7) == edge_score(
        labels, edge_index=edge_index, y=y
    )


def test_invalid_inputs_raise_clearly() -> None:
    pred = torch.tensor([0, 0, 1, 1])
    edge_index = _both_directions([(0, 1), (2, 3)])
    y = torch.tensor([0, 0, 1, 1])
    intra = torch.tensor([[0], [1]])
    inter = torch.tensor([[1], [2]])
    with pytest.raises(ValueError, match="not both"):
        edge_score(pred, edge_index=edge_index, y=y, intra_pairs=intra, inter_pairs=inter)
    with pytest.raises(ValueError, match="not neither"):
        edge_score(pred)
    with pytest.raises(ValueError, match="together"):
        edge_score(pred, edge_index=edge_index)
    with pytest.raises(ValueError, match="together"):
        edge_score(pred, intra_pairs=intra)
    with pytest.raises(ValueError, match="both intra and inter, e.g. \\(0, 1\\)"):
        edge_score(pred, intra_pairs=intra, inter_pairs=torch.tensor([[1, 2], [0, 3]]))
    with pytest.raises(ValueError, match="\\[M, 2\\]"):
        edge_score(pred, intra_pairs=torch.tensor([[0, 1], [2, 3], [1, 3]]), inter_pairs=inter)
    with pytest.raises(ValueError, match="valid indices 0..3"):
        edge_score(pred, intra_pairs=torch.tensor([[0], [4]]), inter_pairs=inter)
    with pytest.raises(ValueError, match="itself"):
        edge_score(pred, intra_pairs=torch.tensor([[2], [2]]), inter_pairs=inter)
    with pytest.raises(TypeError, match="integer node indices"):
        edge_score(pred, intra_pairs=intra.float(), inter_pairs=inter)
    with pytest.raises(ValueError, match="at least one pair"):
        empty = torch.empty(2, 0, dtype=torch.long)
        edge_score(pred, intra_pairs=empty, inter_pairs=empty)
    with pytest.raises(ValueError, match="4 were expected"):
        edge_score(pred, edge_index=edge_index, y=torch.tensor([0, 1]))
