"""evaluate_partition: the same numbers as the single metrics, and the right keys."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from torch_geometric.data import Data
from torch_geometric.utils import from_networkx

from graphclust.metrics import (
    clustering_accuracy,
    conductance,
    coverage,
    edge_score,
    evaluate_partition,
    macro_f1,
    modularity,
)

SUPERVISED = ("acc", "nmi", "ari", "f1")
GRAPH = ("modularity", "conductance", "coverage")
EDGE = ("edge", "edge_trivial", "edge_inter_f1")


@pytest.fixture(scope="module")
def karate() -> Data:
    graph = nx.karate_club_graph()
    data = from_networkx(graph)
    data.y = torch.tensor([graph.nodes[i]["club"] == "Officer" for i in graph]).long()
    return Data(edge_index=data.edge_index, y=data.y, num_nodes=34)


def test_keys_and_values_agree_with_the_single_metrics(karate: Data) -> None:
    labels = torch.randint(0, 5, (34,), generator=torch.Generator().manual_seed(0)) + 100
    scores = evaluate_partition(labels, karate)
    assert list(scores) == [*SUPERVISED, *GRAPH, *EDGE, "k"]
    assert scores["acc"] == pytest.approx(clustering_accuracy(karate.y, labels))
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(karate.y, labels))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(karate.y, labels))
    assert scores["f1"] == pytest.approx(macro_f1(karate.y, labels))
    graph = nx.karate_club_graph()
    communities = [set(torch.nonzero(labels == c).flatten().tolist()) for c in labels.unique()]
    assert scores["modularity"] == pytest.approx(
        nx.community.modularity(graph, communities, weight=None)
    )
    assert scores["conductance"] == pytest.approx(conductance(karate.edge_index, labels))
    assert scores["coverage"] == pytest.approx(coverage(karate.edge_index, labels))
    report = edge_score(labels, edge_index=karate.edge_index, y=karate.y)
    assert (scores["edge"], scores["edge_trivial"], scores["edge_inter_f1"]) == (
        report.edge,
        report.trivial_edge,
        report.inter_f1,
    )
    assert scores["k"] == 5 and isinstance(scores["k"], int)
    assert all(isinstance(v, float) for k, v in scores.items() if k != "k")


def test_soft_assignments_add_soft_modularity(karate: Data) -> None:
    logits = torch.randn(34, 3, generator=torch.Generator().manual_seed(1))
    soft = torch.softmax(logits, dim=1)
    scores = evaluate_partition(soft.argmax(dim=1), karate, soft_assignments=soft)
    assert scores["soft_modularity"] == pytest.approx(modularity(karate.edge_index, soft))
    assert "soft_modularity" not in evaluate_partition(soft.argmax(dim=1), karate)
    with pytest.raises(ValueError, match="rows"):
        evaluate_partition(soft.argmax(dim=1), karate, soft_assignments=soft[:30])


def test_without_labels_only_label_free_scores(karate: Data) -> None:
    unlabelled = Data(edge_index=karate.edge_index, num_nodes=34)
    labels = torch.zeros(34, dtype=torch.long)
    scores = evaluate_partition(labels, unlabelled)
    assert list(scores) == [*GRAPH, "k"]
    assert (scores["coverage"], scores["conductance"], scores["k"]) == (1.0, 0.0, 1)
    assert scores["modularity"] == pytest.approx(0.0, abs=1e-12)


def test_negative_labels_mark_unlabelled_nodes(karate: Data) -> None:
    labels = torch.randint(0, 3, (34,), generator=torch.Generator().manual_seed(2))
    y = karate.y.clone()
    hidden = torch.arange(0, 34, 3)
    y[hidden] = -1
    keep = y >= 0
    scores = evaluate_partition(labels, Data(edge_index=karate.edge_index, y=y, num_nodes=34))
    assert scores["n_labelled"] == int(keep.sum()) == 34 - hidden.numel()
    assert scores["acc"] == pytest.approx(clustering_accuracy(y[keep], labels[keep]))
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(y[keep], labels[keep]))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(y[keep], labels[keep]))
    # EDGE from explicit pair lists: the edges whose two ends are both labelled.
    src, dst = karate.edge_index
    both = keep[src] & keep[dst] & (src < dst)
    pairs = karate.edge_index[:, both]
    same = y[pairs[0]] == y[pairs[1]]
    report = edge_score(labels, intra_pairs=pairs[:, same], inter_pairs=pairs[:, ~same])
    assert scores["edge"] == pytest.approx(report.edge)
    assert scores["edge_trivial"] == pytest.approx(report.trivial_edge)
    with pytest.raises(ValueError, match="every node as unlabelled"):
        evaluate_partition(labels, Data(edge_index=karate.edge_index, y=-torch.ones(34).long()))


def test_explicit_pairs_on_an_unlabelled_graph(karate: Data) -> None:
    intra = torch.tensor([[0, 1], [1, 2]])
    inter = torch.tensor([[0, 33], [32, 5]])
    data = Data(edge_index=karate.edge_index, num_nodes=34, intra_pairs=intra, inter_pairs=inter)
    labels = karate.y
    scores = evaluate_partition(labels, data)
    report = edge_score(labels, intra_pairs=intra, inter_pairs=inter)
    assert scores["edge"] == report.edge and scores["edge_inter_f1"] == report.inter_f1
    assert "acc" not in scores


def test_column_labels_and_weights_are_read(karate: Data) -> None:
    row, col = karate.edge_index
    weight = 1.0 + (row * col % 5).double()  # symmetric: depends on {i, j} only
    data = Data(edge_index=karate.edge_index, y=karate.y.view(-1, 1), num_nodes=34)
    data.edge_weight = weight
    scores = evaluate_partition(karate.y, data)
    assert scores["acc"] == 1.0
    assert scores["modularity"] == pytest.approx(
        modularity(karate.edge_index, karate.y, edge_weight=weight)
    )


def test_cora_ground_truth(cora: Data) -> None:
    scores = evaluate_partition(cora.y, cora)
    for key in (*SUPERVISED, "edge", "edge_inter_f1"):
        assert scores[key] == pytest.approx(1.0)
    assert scores["k"] == 7
    assert scores["edge_trivial"] == pytest.approx(0.8950, abs=5e-5)
    assert scores["modularity"] == pytest.approx(modularity(cora.edge_index, cora.y))


def test_invalid_inputs_raise_clearly(karate: Data) -> None:
    labels = torch.zeros(34, dtype=torch.long)
    with pytest.raises(TypeError, match="Data"):
        evaluate_partition(labels, {"edge_index": karate.edge_index})
    with pytest.raises(ValueError, match="34 were expected"):
        evaluate_partition(torch.zeros(10, dtype=torch.long), karate)
    one_way = karate.edge_index[:, karate.edge_index[0] < karate.edge_index[1]]
    with pytest.raises(ValueError, match="both directions"):
        evaluate_partition(labels, Data(edge_index=one_way, num_nodes=34))
    with pytest.raises(ValueError, match="edge_index is missing"):
        evaluate_partition(labels, Data(num_nodes=34))
