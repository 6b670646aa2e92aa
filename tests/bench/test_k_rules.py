"""graphclust.bench.k_rules: the per-K scores are those of kmeans_k_search and of
scikit-learn, the rules pick as kmeans_k_search does, and the summary of the picks is
the one computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

from graphclust.assign import fit_kmeans
from graphclust.bench.k_rules import K_RULES, at_k, pick_k, scores_over_k, summarize_picks
from graphclust.methods.ksearch import kmeans_k_search
from graphclust.metrics import edge_score


def _graph() -> Data:
    torch.manual_seed(0)
    probs = torch.full((3, 3), 0.02)
    probs.fill_diagonal_(0.3)
    edge_index = to_undirected(stochastic_blockmodel_graph([30, 30, 30], probs))
    y = torch.arange(3).repeat_interleave(30)
    gen = torch.Generator().manual_seed(0)
    x = 2.0 * torch.randn(3, 12, generator=gen)[y] + torch.randn(90, 12, generator=gen)
    return Data(x=x, edge_index=edge_index, y=y)


def test_scores_are_those_of_the_k_search_and_of_sklearn() -> None:
    data = _graph()
    h = torch.randn(90, 6, generator=torch.Generator().manual_seed(1)) + data.x[:, :6]
    rows = scores_over_k(h, data, k_max=6, seed=0)
    search = kmeans_k_search(h, data.edge_index, range(2, 7), seed=0)
    rule = K_RULES["Q x CH(H)"]
    assert [row["k"] for row in rows] == [2, 3, 4, 5, 6]
    for row in rows:
        assert rule(row) == pytest.approx(search.scores[row["k"]], rel=1e-9)
        assert row["q"] == pytest.approx(search.modularity[row["k"]], rel=1e-9)
    assert pick_k(rows, rule)["k"] == search.n_clusters
    y = data.y.numpy()
    for row in rows:
        labels = fit_kmeans(h.double(), row["k"], n_init=5, seed=0, backend="sklearn").labels
        assert row["nmi"] == pytest.approx(normalized_mutual_info_score(y, labels.numpy()))
        assert row["ari"] == pytest.approx(adjusted_rand_score(y, labels.numpy()))
        assert row["silhouette"] == pytest.approx(
            silhouette_score(h.double().numpy(), labels.numpy()), rel=1e-9
        )
        assert row["edge"] == edge_score(labels, edge_index=data.edge_index, y=data.y).edge
    one_cluster = torch.zeros(90, dtype=torch.long)
    trivial = edge_score(one_cluster, edge_index=data.edge_index, y=data.y).edge
    assert {row["edge_trivial"] for row in rows} == {trivial}


def test_rules_and_lookups() -> None:
    rows = [
        {"k": 2, "q": 0.3, "ch_h": 10.0, "ch_x": 1.0, "silhouette": 0.5},
        {"k": 3, "q": 0.5, "ch_h": 6.0, "ch_x": 2.0, "silhouette": 0.5},
        {"k": 4, "q": 0.6, "ch_h": 4.0, "ch_x": 2.0, "silhouette": 0.2},
    ]
    # Q x CH(H): 3.0, 3.0, 2.4 -> the tie goes to the smaller K
    assert pick_k(rows, K_RULES["Q x CH(H)"])["k"] == 2
    assert pick_k(rows, K_RULES["Q x CH(X)"])["k"] == 4  # 0.3, 1.0, 1.2
    assert pick_k(rows, K_RULES["modularity Q"])["k"] == 4
    assert pick_k(rows, K_RULES["silhouette(H)"])["k"] == 2
    one = {"k": 1, "q": 0.0, "ch_h": 1.0, "ch_x": 1.0, "silhouette": -1.0}
    assert K_RULES["Q x CH(H)"](one) == -math.inf  # one cluster is never preferred
    assert at_k(rows, 3) is rows[1]
    with pytest.raises(ValueError, match="no row has k = 7"):
        at_k(rows, 7)
    with pytest.raises(ValueError, match="empty"):
        pick_k([], K_RULES["modularity Q"])


def test_summary_of_picks_by_hand() -> None:
    picks = [
        {"k": 7, "nmi": 0.5, "ari": 0.4, "edge": 0.90, "edge_trivial": 0.85},
        {"k": 6, "nmi": 0.4, "ari": 0.2, "edge": 0.88, "edge_trivial": 0.85},
        {"k": 4, "nmi": 0.3, "ari": 0.0, "edge": 0.80, "edge_trivial": 0.85},
    ]
    found = summarize_picks(picks, true_k=7)
    assert found["k_mean"] == pytest.approx(17 / 3)
    assert (found["exact"], found["within_one"]) == (1, 2)
    assert found["mean_abs_dk"] == pytest.approx((0 + 1 + 3) / 3)
    nmi_std = math.sqrt(((0.1) ** 2 + 0 + (0.1) ** 2) / 3)  # population std
    assert found["nmi"] == pytest.approx((0.4, nmi_std))
    assert found["ari"] == pytest.approx((0.2, math.sqrt(0.08 / 3)))
    gains = [0.05, 0.03, -0.05]
    mean = sum(gains) / 3
    std = math.sqrt(sum((g - mean) ** 2 for g in gains) / 3)
    assert found["edge_gain"] == pytest.approx((mean, std))
    older = [{"k": 7, "nmi": 0.5}]  # records from before ARI and EDGE were logged
    assert set(summarize_picks(older, 7)) == {"k_mean", "exact", "within_one", "mean_abs_dk", "nmi"}


def test_refusals_name_the_argument() -> None:
    data = _graph()
    with pytest.raises(ValueError, match="k_max must be at most N - 1 = 89"):
        scores_over_k(data.x, data, k_max=90)
    with pytest.raises(ValueError, match="k_max"):
        scores_over_k(data.x, data, k_max=1)
    with pytest.raises(ValueError, match="embeddings must be"):
        scores_over_k(data.x[:10], data, k_max=3)
    with pytest.raises(ValueError, match="true_k"):
        summarize_picks([{"k": 2, "nmi": 0.1}], 0)
